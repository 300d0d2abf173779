#!/usr/bin/env node
// Compiles the CLI into dist/ (gitignored): `npm run build`, and `prepare` on npm ci / npm install.
// esbuild bundles our TypeScript (dependencies stay imports of node_modules) and splits it at
// the dynamic imports, so `porchlight --help` or `id show` load a small entry chunk and only
// commands that use the network load the chunk with libp2p, Helia and LevelDB (node/cli/stack.ts).
// The test setup runs this too (test/build.ts), so no test runs a stale build. About a second.
import { build } from 'esbuild'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const outdir = `${root}dist`

/**
 * Dependencies compiled into the build rather than loaded from node_modules at run time: small,
 * pure functions, used by the commands that start in a blink (id show, hood …). Node's module
 * loader spends more resolving and reading their ~40 files than running them.
 */
const BUNDLED = new Set(['@noble/curves', '@noble/hashes', '@noble/ciphers', 'cborg', 'unicode-confusables'])

/** Builds dist/porchlight.js and its chunks; returns esbuild's metafile (what each output holds). */
export async function buildCli () {
  const result = await build({
    absWorkingDir: root,
    entryPoints: { porchlight: 'node/cli/entry.ts' },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.11',
    // Every other dependency stays an import (libp2p and its kin, level with its native addon).
    external: Object.keys(JSON.parse(readFileSync(`${root}package.json`, 'utf8')).dependencies)
      .filter(name => !BUNDLED.has(name)).flatMap(name => [name, `${name}/*`]),
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning'
  })
  writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile))
  // Chunks of earlier builds go only now (names carry a content hash): a porchlight started
  // before this build, e.g. by a test run beside this one, still finds the chunks it loads.
  const written = new Set(Object.keys(result.metafile.outputs).map(f => f.replace(/^dist\/chunks\//, '')))
  for (const f of readdirSync(`${outdir}/chunks`)) if (!written.has(f)) rmSync(`${outdir}/chunks/${f}`)
  return result.metafile
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  await buildCli()
  console.log(`built dist/porchlight.js in ${Math.round(performance.now() - started)} ms`)
}
