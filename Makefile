# The two commands of the README: `make lab` (students) and `make test` (everyone, and CI).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
KERNEL := lab-server
# The test run never reads a personal .env, never reaches a real service, and keeps
# its database and files out of the student's .lab folder.
TEST_ENV := LAB_ENV_FILE=none LAB_SANDBOX=1 LAB_PORT=0 LAB_DATA_DIR=$(CURDIR)/build/test-data

.PHONY: lab test lint format bench book clean notebooks grade

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes, so a second `make test` starts in seconds.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,notebooks]'
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/python -m ipykernel install --user --name $(KERNEL) --display-name "Python (lab-server)"
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	rm -rf build/test-data
	$(TEST_ENV) $(BIN)/pytest --nbmake --nbmake-kernel=python3 --nbmake-timeout=180 tests notebooks

# Student notebooks from the instructor's sources (docs/exercises.md).
notebooks: $(STAMP)
	$(BIN)/python -m lab_server.grading assign

# Grade a folder of submitted notebooks: make grade SUBMISSIONS=carpeta
GRADE_TIMEOUT ?= 300
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "Uso: make grade SUBMISSIONS=carpeta_con_notebooks"; exit 2; }
	$(BIN)/python -m lab_server.grading grade "$(SUBMISSIONS)" --out build/grades --timeout $(GRADE_TIMEOUT)

bench: $(STAMP)
	$(BIN)/python bench/webhook.py
	$(BIN)/python bench/deadline.py
	$(BIN)/python bench/outage.py
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/publish.py

# Every notebook executed in the sandbox, as static HTML with an index: build/book/index.html.
book: $(STAMP)
	$(BIN)/python tools/book.py --out build/book

clean:
	rm -rf build slides/build .pytest_cache .ruff_cache

# Slides: make slides, make slides-pdf (and the Node packages make test needs).
include slides.mk
