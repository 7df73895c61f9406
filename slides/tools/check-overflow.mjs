// Renders every built deck (slides/build/*.html, or the files given) in headless Chromium and
// lists the slides whose content does not fit the 1280x720 frame.
//   node slides/tools/check-overflow.mjs [slides/build/NN_deck.html ...]
// Exit status: 0 all slides fit, 1 some overflow (or a page failed), 2 no browser found.
//
// A slide overflows when its <section> scrolls (scrollHeight > clientHeight, or the same in
// width: content runs into the bottom/right padding or past the frame), or when a box inside it
// scrolls or clips (a wide table). Marp shrinks code blocks that are too wide instead of
// letting them overflow; a block shrunk below MIN_CODE_SCALE is reported too (unreadable).
//
// The bespoke HTML hides inactive slides with `content-visibility: hidden`, and Marp lays code
// blocks out asynchronously (<marp-pre> custom elements) only once they are rendered: the check
// makes every slide visible, then measures when the layout has stopped changing.
import { readdirSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import puppeteer from 'puppeteer-core'
import { requireBrowser } from './browser.mjs'

const BUILD = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'build')
const TOLERANCE = 1 // px: sub-pixel rounding is not a cut-off slide
const SHOW_ALL_SLIDES = 'svg.bespoke-marp-slide { content-visibility: visible !important; }'
const MIN_CODE_SCALE = 0.8 // a code block shrunk below 80 % is too small to read in class

// Chromium flags: no sandbox as root, and nothing that phones home (the machine may be offline).
const ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
]

// Runs in the page: resolves once two snapshots of every slide's size, 50 ms apart, agree.
async function settle() {
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
  const pause = (ms) => new Promise((r) => setTimeout(r, ms))
  await document.fonts.ready
  await Promise.race([customElements.whenDefined('marp-pre'), pause(2000)])
  const snapshot = () =>
    [...document.querySelectorAll('section')].map((s) => `${s.scrollWidth}x${s.scrollHeight}`).join()
  let previous = null
  for (let i = 0; i < 60; i++) {
    await frame()
    await pause(50)
    const current = snapshot()
    if (current === previous) return true
    previous = current
  }
  return false
}

function measure({ tolerance, minCodeScale }) {
  const sections = document.querySelectorAll('svg[data-marpit-svg] > foreignObject > section')
  return [...sections].map((section, index) => {
    const heading = section.querySelector('h1, h2, h3')
    const problems = []
    const dy = section.scrollHeight - section.clientHeight
    const dx = section.scrollWidth - section.clientWidth
    if (dy > tolerance) problems.push(`${dy} px de alto`)
    if (dx > tolerance) problems.push(`${dx} px de ancho`)
    for (const el of section.querySelectorAll('*')) {
      const style = getComputedStyle(el)
      if (style.position === 'absolute' || style.position === 'fixed') continue
      const clipsX = style.overflowX !== 'visible'
      const clipsY = style.overflowY !== 'visible'
      const ix = el.scrollWidth - el.clientWidth
      const iy = el.scrollHeight - el.clientHeight
      const tag = el.tagName.toLowerCase()
      if (clipsX && el.clientWidth > 0 && ix > tolerance) problems.push(`<${tag}> ${ix} px de ancho`)
      if (clipsY && el.clientHeight > 0 && iy > tolerance) problems.push(`<${tag}> ${iy} px de alto`)
    }
    // Code blocks: <marp-pre> scales its content down (an SVG viewBox) when it is too wide.
    const pageScale = section.getBoundingClientRect().width / section.offsetWidth
    for (const pre of section.querySelectorAll('marp-pre')) {
      const scaler = pre.shadowRoot?.querySelector('marp-auto-scaling')
      const svg = scaler?.shadowRoot?.querySelector('svg')
      const natural = svg?.viewBox?.baseVal?.width
      if (!natural) continue
      const scale = svg.getBoundingClientRect().width / pageScale / natural
      if (scale < minCodeScale) problems.push(`código reducido al ${Math.round(scale * 100)} %`)
    }
    return {
      slide: index + 1,
      heading: heading ? heading.textContent.trim() : '(sin título)',
      problems: [...new Set(problems)],
    }
  })
}

async function main(argv) {
  const files = argv.length
    ? argv.map((f) => resolve(f))
    : readdirSync(BUILD)
        .filter((f) => f.endsWith('.html'))
        .sort()
        .map((f) => join(BUILD, f))
  if (!files.length) {
    console.error(`No hay HTML en ${BUILD}: ejecuta antes \`npm run slides\`.`)
    return 1
  }

  const browser = await puppeteer.launch({
    executablePath: requireBrowser(),
    headless: true,
    args: ARGS,
  })
  let slides = 0
  const bad = []
  try {
    const page = await browser.newPage()
    await page.setViewport({ width: 1280, height: 720 })
    for (const file of files) {
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 60_000 })
      await page.addStyleTag({ content: SHOW_ALL_SLIDES })
      if (!(await page.evaluate(settle))) {
        bad.push(`${basename(file)}: la maquetación no se estabilizó (¿animación?)`)
        continue
      }
      const results = await page.evaluate(measure, {
        tolerance: TOLERANCE,
        minCodeScale: MIN_CODE_SCALE,
      })
      if (!results.length) {
        bad.push(`${basename(file)}: ninguna diapositiva encontrada (¿no es HTML de Marp?)`)
        continue
      }
      slides += results.length
      for (const r of results) {
        if (r.problems.length) {
          bad.push(`${basename(file)} #${r.slide} «${r.heading}»: ${r.problems.join('; ')}`)
        }
      }
    }
  } finally {
    await browser.close()
  }

  if (bad.length) {
    console.error(`Diapositivas que no caben en 1280x720 (${bad.length}):`)
    for (const line of bad) console.error(`  ${line}`)
    return 1
  }
  console.log(`OK: ${slides} diapositivas en ${files.length} barajas caben en 1280x720.`)
  return 0
}

process.exitCode = await main(process.argv.slice(2))
