# Slides (Marp). The main Makefile includes this file at its end: `include slides.mk`
# (at the end, so that its first target stays the default goal).
# Every rule calls an npm script from package.json; the options live in .marprc.yml.

.PHONY: slides slides-pdf

# Node dependencies (Marp CLI and puppeteer-core, pinned in package-lock.json).
# No browser is downloaded: PDF/PPTX and the overflow check use Debian's chromium.
node_modules: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch node_modules

# HTML for every deck into slides/build/ (no browser needed).
slides: node_modules
	npm run slides

# PDF for every deck into slides/build/ (needs chromium: sudo apt-get install chromium).
slides-pdf: node_modules
	npm run slides:pdf

# tests/test_slides.py builds the decks with these Node packages.
test: node_modules
