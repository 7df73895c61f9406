// Builds every deck slides/NN_*.md into slides/build/ with the options of .marprc.yml.
//   node slides/tools/build.mjs html|pdf|pptx|png [slides/NN_deck.md ...]
// html needs no browser; pdf, pptx and png need Chromium/Chrome (see browser.mjs).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { requireBrowser } from './browser.mjs'

const SLIDES = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ROOT = resolve(SLIDES, '..')
const BUILD = join(SLIDES, 'build')
const DECK_NAME = /^\d\d_[a-z0-9_]+\.md$/

const FORMATS = {
  html: { ext: 'html', args: [], browser: false },
  pdf: { ext: 'pdf', args: ['--pdf'], browser: true },
  pptx: { ext: 'pptx', args: ['--pptx'], browser: true },
  png: { ext: 'png', args: ['--images', 'png'], browser: true, subdir: 'png' },
}

export function listDecks() {
  return readdirSync(SLIDES)
    .filter((name) => DECK_NAME.test(name))
    .sort()
    .map((name) => join(SLIDES, name))
}

async function main(argv) {
  const [format = 'html', ...files] = argv
  const spec = FORMATS[format]
  if (!spec) {
    console.error(`Formato desconocido: ${format} (usa: ${Object.keys(FORMATS).join(', ')})`)
    return 64
  }
  const decks = files.length ? files.map((f) => resolve(f)) : listDecks()
  if (!decks.length) {
    console.error(`No hay barajas slides/NN_*.md en ${SLIDES}`)
    return 1
  }

  if (spec.browser) process.env.CHROME_PATH = requireBrowser()

  const outDir = spec.subdir ? join(BUILD, spec.subdir) : BUILD
  mkdirSync(outDir, { recursive: true })
  // HTML keeps relative image paths (assets/...), so the assets travel with it.
  cpSync(join(SLIDES, 'assets'), join(BUILD, 'assets'), { recursive: true })

  let tmp = null
  if (spec.browser) {
    // Marp leaves a browser profile per export in the temp dir: keep them in one we delete.
    tmp = mkdtempSync(join(tmpdir(), 'slides-build-'))
    process.env.TMPDIR = tmp
  }

  const { marpCli } = await import('@marp-team/marp-cli')
  const started = Date.now()
  const failed = []
  try {
    for (const deck of decks) {
      const out = join(outDir, basename(deck).replace(/\.md$/, `.${spec.ext}`))
      const code = await marpCli(
        [deck, '--no-stdin', '--config-file', join(ROOT, '.marprc.yml'), '-o', out, ...spec.args],
        {},
      )
      if (code !== 0) failed.push(relative(ROOT, deck))
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (failed.length) {
    console.error(`\nFallaron ${failed.length} de ${decks.length} barajas: ${failed.join(', ')}`)
    return 1
  }
  console.log(`\n${decks.length} barajas -> ${relative(ROOT, outDir)}/ (${format}, ${seconds} s)`)
  return 0
}

process.exitCode = await main(process.argv.slice(2))
