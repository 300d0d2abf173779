#!/usr/bin/env node
// Entry point of the `porchlight` command: runs the compiled CLI in dist/, which `npm ci` and
// `npm install` build (the `prepare` script; `npm run build` after changing the sources).
// node/bin/porchlight-dev.js runs the TypeScript sources instead, compiled on the fly.
try {
  await import('../../dist/porchlight.js')
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/porchlight.js')) throw err
  process.stderr.write('porchlight: not built yet: run `npm run build` (or node node/bin/porchlight-dev.js to run the sources)\n')
  process.exitCode = 1
}
