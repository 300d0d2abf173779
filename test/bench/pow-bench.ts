/**
 * What the proof of work on public posts (protocol/pow.ts) costs a browser: protocol/pow.ts
 * bundled with esbuild, served on 127.0.0.1 (WebCrypto needs a secure context) and run in
 * headless Chromium (playwright-core; PORCHLIGHT_CHROMIUM or /usr/bin/chromium), each figure
 * beside a baseline measured in the same page in the same run:
 *   - minting one proof at PUBLIC_POST_POW_BITS: expected time (2^bits attempts at the measured
 *     search rate, over several real mints) vs 1,000 WebCrypto SHA-256 digests of the same
 *     52-byte input, and vs one WebCrypto (native) Ed25519 sign;
 *   - the measured mean of those mints (noisy: the attempts needed are geometric);
 *   - search rates: the one-block miner and noble's sha256 vs WebCrypto's digest, one promise
 *     per hash (why the miner is plain JavaScript).
 * DevTools CPU throttling (Emulation.setCPUThrottlingRate) did not slow this synchronous loop in
 * headless Chromium 156 here, so a phone's cost is estimated from these figures instead: see
 * PUBLIC_POST_POW_BITS. Run alone: `npm run bench -- --only pow`.
 */
import { createServer, type Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import { PUBLIC_POST_POW_BITS } from '../../protocol/public-post.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'
import type { PageFigures } from './pow-page.ts'

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'
]
/** Real mints per measurement: the search rate comes from their total attempts. */
const MINTS = 24
/** Length of each rate slice in the page. */
const SLICE_MS = 400

function chromiumPath (): string {
  return process.env.PORCHLIGHT_CHROMIUM ?? '/usr/bin/chromium'
}

async function bundle (): Promise<string> {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const out = await build({
    stdin: {
      contents: "export { measureInPage } from './test/bench/pow-page.ts'\n",
      resolveDir: root,
      loader: 'ts'
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent'
  })
  return out.outputFiles[0]!.text
}

async function serve (js: string): Promise<{ server: Server, url: string }> {
  const html = '<!doctype html><meta charset="utf-8"><script type="module">import * as pow from "/pow.js"; window.pow = pow; window.ready = true</script>'
  const server = createServer((req, res) => {
    if (req.url === '/pow.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(js); return }
    res.writeHead(200, { 'content-type': 'text/html' }); res.end(html)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const addr = server.address() as { port: number }
  return { server, url: `http://127.0.0.1:${addr.port}/` }
}

export async function measurePow (bits = PUBLIC_POST_POW_BITS): Promise<{ normal: PageFigures, chromium: string }> {
  const { server, url } = await serve(await bundle())
  const profile = await mkdtemp(join(tmpdir(), 'pl-chromium-'))
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS })
  try {
    const page = await context.newPage()
    await page.goto(url)
    await page.waitForFunction(() => (globalThis as any).ready === true)
    const normal = await page.evaluate(async (args) => (globalThis as any).pow.measureInPage(args) as Promise<PageFigures>, { bits, mints: MINTS, sliceMs: SLICE_MS })
    return { normal, chromium: context.browser()?.version() ?? 'chromium' }
  } finally {
    await context.close()
    await new Promise(resolve => server.close(resolve))
    await rm(profile, { recursive: true, force: true })
  }
}

export async function benchPow (): Promise<Workload[]> {
  const bits = PUBLIC_POST_POW_BITS
  const { normal } = await measurePow(bits)
  const expected = (f: PageFigures): number => f.msPerAttempt * 2 ** bits
  const rows = [
    costWorkload(`pow: mint a public-post proof (${bits} bits), Chromium`, expected(normal), 'ms, expected (2^bits attempts); baseline 1,000 WebCrypto SHA-256', normal.thousandDigestsMs),
    costWorkload(`pow: mint a public-post proof (${bits} bits), Chromium, measured mean of ${MINTS}`, normal.meanMintMs, 'ms; baseline 1,000 WebCrypto SHA-256', normal.thousandDigestsMs),
    rateWorkload('pow: search, one-block JS miner, Chromium', normal.minerRate, 'hashes/s; baseline WebCrypto digest, one promise per hash', normal.webCryptoRate),
    rateWorkload('pow: search, noble sha256, Chromium', normal.nobleRate, 'hashes/s; baseline WebCrypto digest, one promise per hash', normal.webCryptoRate)
  ]
  if (Number.isFinite(normal.ed25519SignMs)) {
    rows.splice(1, 0, costWorkload(`pow: mint a public-post proof (${bits} bits), Chromium, vs one Ed25519 sign`, expected(normal), 'ms, expected; baseline one WebCrypto Ed25519 sign (512 B)', normal.ed25519SignMs))
  }
  return rows
}
