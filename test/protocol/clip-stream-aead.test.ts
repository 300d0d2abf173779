import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import {
  CLIP_CHUNK_SIZE, CLIP_HEADER_BYTES, CLIP_PIPELINE_DEPTH, CLIP_TAG_BYTES, decryptClip, encryptClip, encryptedClipSize, generateClipKey
} from '../../protocol/clip/stream-aead.ts'
import type { AesGcmFactory, ClipCipherBackend } from '../../protocol/clip/stream-aead.ts'
import { hashClip, hashTap } from '../../protocol/clip/hash.ts'
import { outcome } from '../helpers/protocol-fixtures.ts'

const SEALED = CLIP_CHUNK_SIZE + CLIP_TAG_BYTES

function data (n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, clamped). */
function* pieces (bytes: Uint8Array, cuts: number[] = []): Generator<Uint8Array> {
  let prev = 0
  for (const c of [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    yield bytes.subarray(prev, c)
    prev = c
  }
  yield bytes.subarray(prev)
}

async function collect (gen: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of gen) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

async function encrypt (key: Uint8Array, pt: Uint8Array, backend?: ClipCipherBackend, cuts?: number[]): Promise<Uint8Array> {
  return collect(encryptClip(key, pieces(pt, cuts), backend === undefined ? {} : { backend }))
}

async function decrypt (key: Uint8Array, ct: Iterable<Uint8Array> | Uint8Array, backend?: ClipCipherBackend): Promise<Uint8Array> {
  return collect(decryptClip(key, ct instanceof Uint8Array ? [ct] : ct, backend === undefined ? {} : { backend }))
}

/** Byte equality without vitest's element-wise deep compare (slow on MiB-sized arrays). */
function expectSame (got: Uint8Array, want: Uint8Array, what?: string): void {
  expect(got.length, what).toBe(want.length)
  expect(Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(want.buffer, want.byteOffset, want.length)), what).toBe(true)
}

const failure = async (p: Promise<unknown>): Promise<string> => outcome(() => p, 'OK')

/** The ciphertext split into header and sealed chunks. */
function split (ct: Uint8Array): { header: Uint8Array, chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = []
  for (let o = CLIP_HEADER_BYTES; o < ct.length; o += SEALED) chunks.push(ct.subarray(o, Math.min(o + SEALED, ct.length)))
  return { header: ct.subarray(0, CLIP_HEADER_BYTES), chunks }
}

const SIZES = [0, 1, CLIP_CHUNK_SIZE - 1, CLIP_CHUNK_SIZE, CLIP_CHUNK_SIZE + 1, 3 * CLIP_CHUNK_SIZE, 5 * 1024 * 1024 + 123]

describe('clip stream AEAD', () => {
  for (const backend of ['webcrypto', 'noble'] as const) {
    it(`round-trips sizes ${SIZES.join(', ')} (${backend})`, async () => {
      const key = generateClipKey()
      for (const n of SIZES) {
        const pt = data(n, n)
        const ct = await encrypt(key, pt, backend)
        expect(ct.length).toBe(encryptedClipSize(n))
        expectSame(await decrypt(key, ct, backend), pt)
      }
    })
  }

  it('both backends speak the same format (AES-256-GCM, checked against node:crypto)', async () => {
    const key = generateClipKey()
    const pt = data(2 * CLIP_CHUNK_SIZE + 77)
    const web = await encrypt(key, pt, 'webcrypto')
    const noble = await encrypt(key, pt, 'noble')
    expectSame(await decrypt(key, web, 'noble'), pt)
    expectSame(await decrypt(key, noble, 'webcrypto'), pt)
    // Chunk 1 recomputed independently: nonce = prefix || 00000001 || 00, aad = header.
    const { header, chunks } = split(web)
    const nonce = Buffer.concat([header.subarray(1), Buffer.from([0, 0, 0, 1, 0])])
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(header)
    const want = Buffer.concat([c.update(pt.subarray(CLIP_CHUNK_SIZE, 2 * CLIP_CHUNK_SIZE)), c.final(), c.getAuthTag()])
    expect(Buffer.from(chunks[1]!).equals(want)).toBe(true)
    expect(header[0]).toBe(1)
  })

  it('pipelined, gives the bytes of a one-chunk-at-a-time reference at every size, whatever order chunks finish in', async () => {
    // The format computed chunk after chunk with node:crypto from the stream's own header.
    const reference = (key: Uint8Array, header: Uint8Array, pt: Uint8Array): Uint8Array => {
      const out: Uint8Array[] = [header]
      const count = Math.max(1, Math.ceil(pt.length / CLIP_CHUNK_SIZE))
      for (let i = 0; i < count; i++) {
        const nonce = Buffer.alloc(12)
        nonce.set(header.subarray(1), 0)
        nonce.writeUInt32BE(i, 7)
        nonce[11] = i === count - 1 ? 1 : 0
        const c = createCipheriv('aes-256-gcm', key, nonce)
        c.setAAD(header)
        out.push(c.update(pt.subarray(i * CLIP_CHUNK_SIZE, (i + 1) * CLIP_CHUNK_SIZE)), c.final(), c.getAuthTag())
      }
      return new Uint8Array(Buffer.concat(out))
    }
    // A cipher whose chunks finish in a scrambled order (each after a random delay), counting how many are in flight.
    let inFlight = 0
    let most = 0
    const inFlightAWhile = async (): Promise<void> => {
      most = Math.max(most, ++inFlight)
      await new Promise(resolve => setTimeout(resolve, Math.floor(Math.random() * 3)))
      inFlight--
    }
    const scrambled: AesGcmFactory = (k, aad) => ({
      async seal (nonce, plaintext) {
        await inFlightAWhile()
        const c = createCipheriv('aes-256-gcm', k, nonce)
        c.setAAD(aad)
        return new Uint8Array(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]))
      },
      async open (nonce, sealed) {
        await inFlightAWhile()
        const d = createDecipheriv('aes-256-gcm', k, nonce)
        d.setAAD(aad)
        d.setAuthTag(sealed.subarray(sealed.length - CLIP_TAG_BYTES))
        return new Uint8Array(Buffer.concat([d.update(sealed.subarray(0, sealed.length - CLIP_TAG_BYTES)), d.final()]))
      }
    })
    const key = generateClipKey()
    const D = CLIP_PIPELINE_DEPTH * CLIP_CHUNK_SIZE
    for (const n of [0, 1, CLIP_CHUNK_SIZE - 1, CLIP_CHUNK_SIZE, CLIP_CHUNK_SIZE + 1, D - 1, D, D + 1, D + CLIP_CHUNK_SIZE, 2 * D + 5]) {
      const pt = data(n, n + 3)
      for (const [what, options] of [['webcrypto', { backend: 'webcrypto' }], ['noble', { backend: 'noble' }], ['scrambled', { aesGcm: scrambled }]] as const) {
        if (what === 'noble' && n > D + 1) continue // slow, and the same code path as webcrypto
        // Input in 1 MiB pieces (as a file read gives them) and in odd ones.
        for (const cuts of [[], Array.from({ length: Math.floor(n / 100_003) }, (_, i) => (i + 1) * 100_003)]) {
          const ct = await collect(encryptClip(key, pieces(pt, cuts), options))
          expectSame(ct, reference(key, ct.subarray(0, CLIP_HEADER_BYTES), pt), `${what}, ${n} bytes`)
          expectSame(await collect(decryptClip(key, pieces(ct, cuts), options)), pt, `${what}, ${n} bytes back`)
        }
      }
    }
    // A leaf's worth of chunks in flight, and never more.
    expect(most).toBe(CLIP_PIPELINE_DEPTH)
    expect(CLIP_PIPELINE_DEPTH * CLIP_CHUNK_SIZE).toBe(1024 * 1024)
  })

  it('re-chunks input and ciphertext pieces of any size (property)', async () => {
    const key = generateClipKey()
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 0, max: 4 * CLIP_CHUNK_SIZE + 10 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (n, cutsIn, cutsOut) => {
        const pt = data(n, n + 7)
        const ct = await encrypt(key, pt, undefined, cutsIn)
        expect(ct.length).toBe(encryptedClipSize(n))
        expectSame(await decrypt(key, pieces(ct, cutsOut)), pt)
      }), { numRuns: runs(20) })
  })

  it('detects any flipped bit (property)', async () => {
    const key = generateClipKey()
    const pt = data(CLIP_CHUNK_SIZE * 2 + 500)
    const ct = await encrypt(key, pt)
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: ct.length - 1 }), fc.integer({ min: 0, max: 7 }), async (at, bit) => {
      const bad = ct.slice()
      bad[at]! ^= 1 << bit
      const code = await failure(decrypt(key, bad))
      expect(at === 0 ? ['BAD_VERSION'] : ['DECRYPT_FAILED']).toContain(code)
    }), { numRuns: runs(50) })
  })

  it('detects dropped, swapped, duplicated, appended and spliced chunks, and truncation', async () => {
    const key = generateClipKey()
    const pt = data(CLIP_CHUNK_SIZE * 3 + 100)
    const ct = await encrypt(key, pt)
    const { header, chunks } = split(ct)
    expect(chunks).toHaveLength(4)
    const [c0, c1, c2, c3] = chunks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    const cases: Record<string, Uint8Array[]> = {
      'drop middle chunk': [header, c0, c2, c3],
      'drop first chunk': [header, c1, c2, c3],
      'swap chunks': [header, c1, c0, c2, c3],
      'duplicate a chunk': [header, c0, c0, c1, c2, c3],
      'append a chunk after the last': [header, c0, c1, c2, c3, c0],
      'truncate at a chunk boundary': [header, c0, c1, c2],
      'truncate inside the last chunk': [header, c0, c1, c2, c3.subarray(0, c3.length - 1)]
    }
    // Chunks of another clip under the same key (reused by mistake) do not splice in.
    const other = split(await encrypt(key, data(CLIP_CHUNK_SIZE * 3 + 100, 9)))
    cases['splice a chunk from another stream'] = [header, c0, other.chunks[1]!, c2, c3]
    cases['another stream header'] = [other.header, c0, c1, c2, c3]
    for (const [name, parts] of Object.entries(cases)) {
      expect(await failure(decrypt(key, parts)), name).toBe('DECRYPT_FAILED')
    }
    expect(await failure(decrypt(key, [header, c0, c1, c2, c3.subarray(0, CLIP_TAG_BYTES - 1)]))).toBe('MALFORMED')
    expect(await failure(decrypt(key, [header]))).toBe('MALFORMED')
    expect(await failure(decrypt(key, [header.subarray(0, 5)]))).toBe('MALFORMED')
    expect(await failure(decrypt(key, []))).toBe('MALFORMED')
    expectSame(await decrypt(key, [header, c0, c1, c2, c3]), pt)
  })

  it('an empty clip is one empty final chunk and cannot be extended or cut', async () => {
    const key = generateClipKey()
    const ct = await encrypt(key, new Uint8Array(0))
    expect(ct.length).toBe(CLIP_HEADER_BYTES + CLIP_TAG_BYTES)
    expectSame(await decrypt(key, ct), new Uint8Array(0))
    expect(await failure(decrypt(key, ct.subarray(0, ct.length - 1)))).toBe('MALFORMED')
    const one = split(await encrypt(key, data(CLIP_CHUNK_SIZE + 1)))
    // A non-final chunk presented as the final one fails.
    expect(await failure(decrypt(key, [one.header, one.chunks[0]!]))).toBe('DECRYPT_FAILED')
  })

  it('fails with the wrong key, and checks key and piece types', async () => {
    const ct = await encrypt(generateClipKey(), data(1000))
    expect(await failure(decrypt(generateClipKey(), ct))).toBe('DECRYPT_FAILED')
    expect(await failure(encrypt(new Uint8Array(16), data(10)))).toBe('BAD_ARGUMENT')
    expect(await failure(collect(encryptClip(generateClipKey(), ['text' as unknown as Uint8Array])))).toBe('BAD_ARGUMENT')
  })

  it('releases no plaintext of a chunk before its tag verified', async () => {
    const key = generateClipKey()
    const pt = data(CLIP_CHUNK_SIZE * 6)
    const ct = await encrypt(key, pt)
    for (const k of [0, 1, 5]) {
      const bad = ct.slice()
      bad[CLIP_HEADER_BYTES + k * SEALED + 10]! ^= 1
      const got: Uint8Array[] = []
      let code = 'OK'
      try {
        for await (const p of decryptClip(key, [bad])) got.push(p)
      } catch (err) {
        code = isPorchlightError(err) ? err.code : 'other'
      }
      expect(code).toBe('DECRYPT_FAILED')
      // Exactly the chunks before the tampered one, all genuine.
      expectSame(new Uint8Array(Buffer.concat(got)), pt.subarray(0, k * CLIP_CHUNK_SIZE))
    }
  })

  it('opens whole chunks straight from the input, without copying them', async () => {
    const key = generateClipKey()
    const pt = data(CLIP_CHUNK_SIZE * 6 + 5)
    const ct = await encrypt(key, pt)
    let views = 0
    let opened = 0
    const aesGcm: AesGcmFactory = (k, aad) => ({
      seal () { throw new Error('not used') },
      open (nonce, sealed) {
        opened++
        if (sealed.buffer === ct.buffer) views++
        const d = createDecipheriv('aes-256-gcm', k, nonce)
        d.setAAD(aad)
        d.setAuthTag(sealed.subarray(sealed.length - CLIP_TAG_BYTES))
        const plain = d.update(sealed.subarray(0, sealed.length - CLIP_TAG_BYTES))
        d.final()
        return new Uint8Array(plain)
      }
    })
    expectSame(await collect(decryptClip(key, [ct], { aesGcm })), pt)
    expect(opened).toBe(7)
    // All but the last chunk (only the end of the input says a chunk is the last).
    expect(views).toBe(6)
  })

  it('keeps memory bounded: 128 MiB through encrypt and decrypt', async () => {
    const key = generateClipKey()
    const total = 128 * 1024 * 1024
    const piece = data(100_000) // odd size: exercises re-chunking
    async function * source (): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < total; sent += piece.length) yield piece.subarray(0, Math.min(piece.length, total - sent))
    }
    const base = process.memoryUsage().arrayBuffers
    let peak = 0
    let n = 0
    let i = 0
    for await (const p of decryptClip(key, encryptClip(key, source()))) {
      n += p.length
      if ((i++ & 63) === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - base)
    }
    expect(n).toBe(total)
    // Bounded, not buffered: a stream held whole would be 128 MiB (and its ciphertext more).
    // Typically under 32 MiB; the garbage collector lags on a busy machine (39 MiB was seen).
    expect(peak).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('clip plaintext hash', () => {
  it('hashes a stream in passing, same as one-shot SHA-256; a native hash can be injected', async () => {
    const pt = data(300_001)
    const want = createHash('sha256').update(pt).digest()
    const tap = hashTap(pieces(pt, [1, 70_000, 200_000]))
    expect(() => tap.digest()).toThrow()
    const through = await collect(tap.stream)
    expectSame(through, pt)
    expect(Buffer.from(tap.digest()).equals(want)).toBe(true)
    const native = await hashClip(pieces(pt, [5]), () => createHash('sha256'))
    expect(Buffer.from(native).equals(want)).toBe(true)
    expect(Buffer.from(await hashClip([])).toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('composes with encryption in one pass', async () => {
    const key = generateClipKey()
    const pt = data(3 * CLIP_CHUNK_SIZE + 5)
    const tap = hashTap([pt])
    const ct = await collect(encryptClip(key, tap.stream))
    expect(Buffer.from(tap.digest()).equals(createHash('sha256').update(pt).digest())).toBe(true)
    expectSame(await decrypt(key, ct), pt)
  })
})
