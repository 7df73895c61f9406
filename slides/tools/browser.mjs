// Finds the Chromium/Chrome executable used for PDF, PPTX, PNG and the overflow check.
// Order: CHROME_PATH, BROWSER_PATH, then chromium / chromium-browser / google-chrome on PATH.
// No browser is ever downloaded.
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']

export const NO_BROWSER_MESSAGE = `
No se encontró un navegador Chromium/Chrome (no browser found).
Para exportar PDF/PPTX/PNG y para la comprobación de desbordes hace falta uno:
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install chromium
  Otro sistema:   instala Chrome o Chromium y exporta su ruta, p. ej.
                  export CHROME_PATH=/ruta/a/chrome
El HTML (npm run slides) no necesita navegador.
`.trim()

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

export function findBrowser(env = process.env) {
  for (const name of ['CHROME_PATH', 'BROWSER_PATH']) {
    const value = env[name]
    if (value && isExecutable(value)) return value
  }
  for (const dir of (env.PATH || '').split(delimiter)) {
    if (!dir) continue
    for (const name of CANDIDATES) {
      const path = join(dir, name)
      if (isExecutable(path)) return path
    }
  }
  return null
}

// Returns the browser path, or prints the install instructions and exits with status 2.
export function requireBrowser(env = process.env) {
  for (const name of ['CHROME_PATH', 'BROWSER_PATH']) {
    if (env[name] && !isExecutable(env[name])) {
      console.error(`Aviso: ${name}=${env[name]} no es un ejecutable; se ignora.`)
    }
  }
  const path = findBrowser(env)
  if (!path) {
    console.error(NO_BROWSER_MESSAGE)
    process.exit(2)
  }
  return path
}

// `node slides/tools/browser.mjs` prints the browser it would use.
if (import.meta.url === `file://${process.argv[1]}`) console.log(requireBrowser())
