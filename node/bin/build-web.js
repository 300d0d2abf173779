#!/usr/bin/env node
// Builds the web app (web/) into web/dist with Vite: `npm run build`, `prepare` on npm ci /
// npm install, and the test setup (test/build-cli.ts), so relays and browser tests never serve
// a stale build. About two seconds. Vite is a dev dependency: an install without dev
// dependencies skips the build (the relay then serves no web app) instead of failing.
import { fileURLToPath } from 'node:url'

export async function buildWeb () {
  const { build } = await import('vite')
  const configFile = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url))
  // The app, then the transparency page (the public record of agency requests: no identity,
  // no engine) beside it: apart, so that neither splits the other's scripts into shared chunks.
  await build({ configFile, logLevel: 'warn' })
  const transparency = fileURLToPath(new URL('../../web/transparency.html', import.meta.url))
  await build({ configFile, logLevel: 'warn', build: { emptyOutDir: false, rollupOptions: { input: { transparency } } } })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  try {
    await buildWeb()
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes("'vite'")) throw err
    console.log('vite is not installed (an install without dev dependencies): web/dist not built')
    process.exit(0)
  }
  console.log(`built web/dist in ${Math.round(performance.now() - started)} ms`)
}
