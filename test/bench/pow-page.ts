/**
 * The page half of pow-bench.ts: bundled for Chromium with protocol/pow.ts, so what runs is
 * exactly what a browser peer runs.
 */
import * as pow from '../../protocol/pow.ts'
import { sha256 } from '../../protocol/crypto.ts'

export interface PageFigures {
  /** Measured mean ms per attempt of the one-block miner, over MINTS real mints. */
  msPerAttempt: number
  /** Mean ms of those mints (noisy: the attempts needed are geometric). */
  meanMintMs: number
  minerRate: number
  nobleRate: number
  webCryptoRate: number
  /** ms for 1,000 WebCrypto SHA-256 digests of the 52-byte input. */
  thousandDigestsMs: number
  /** ms for one WebCrypto Ed25519 sign of 512 bytes (NaN if this Chromium lacks it). */
  ed25519SignMs: number
}

/** Runs in the page: everything measured with performance.now(), slices interleaved. */
export async function measureInPage (args: { bits: number, mints: number, sliceMs: number }): Promise<PageFigures> {
  const rnd = (n: number): Uint8Array<ArrayBuffer> => crypto.getRandomValues(new Uint8Array(n))
  const input = new Uint8Array(pow.powInput(rnd(32), new Uint8Array(8)))
  // Correctness first: a mined nonce must check with noble's hash.
  const d0 = rnd(32)
  if (pow.proofBits(d0, pow.mineProofSync(d0, 12)) < 12) throw new Error('the miner and the checker disagree')
  const rate = async (fn: () => unknown, ms: number): Promise<number> => {
    const start = performance.now()
    let n = 0
    let now = start
    while (now - start < ms) { for (let i = 0; i < 16; i++) await fn(); n += 16; now = performance.now() }
    return n / ((now - start) / 1000)
  }
  const rateSync = (fn: () => unknown, ms: number): number => {
    const start = performance.now()
    let n = 0
    let now = start
    while (now - start < ms) { for (let i = 0; i < 256; i++) fn(); n += 256; now = performance.now() }
    return n / ((now - start) / 1000)
  }
  const nonce = new Uint8Array(8)
  let k = 0
  const noble = (): void => { nonce[7] = k++; sha256(pow.powInput(input.subarray(12, 44), nonce)) }
  const web = async (): Promise<unknown> => crypto.subtle.digest('SHA-256', input)
  let attempts = 0
  let mintMs = 0
  const rates = { noble: [] as number[], web: [] as number[], thousand: [] as number[] }
  for (let i = 0; i < args.mints; i++) {
    const d = rnd(32)
    const t = performance.now()
    const found = pow.mineProofSync(d, args.bits)
    mintMs += performance.now() - t
    const view = new DataView(found.buffer)
    attempts += view.getUint32(0) * 2 ** 32 + view.getUint32(4) + 1
    if (i % 8 === 0) {
      rates.noble.push(rateSync(noble, args.sliceMs))
      rates.web.push(await rate(web, args.sliceMs))
      const t0 = performance.now()
      for (let j = 0; j < 1000; j++) await crypto.subtle.digest('SHA-256', input)
      rates.thousand.push(performance.now() - t0)
    }
  }
  let ed25519SignMs = Number.NaN
  try {
    const key = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
    const msg = rnd(512)
    const signs = await rate(async () => crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, msg), args.sliceMs * 2)
    ed25519SignMs = 1000 / signs
  } catch {}
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
  const msPerAttempt = mintMs / attempts
  return {
    msPerAttempt,
    meanMintMs: mintMs / args.mints,
    minerRate: 1000 / msPerAttempt,
    nobleRate: mean(rates.noble),
    webCryptoRate: mean(rates.web),
    thousandDigestsMs: mean(rates.thousand),
    ed25519SignMs
  }
}

