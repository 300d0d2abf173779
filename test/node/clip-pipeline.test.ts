// The posting pipeline on real files: clean (clip-file.ts) -> encrypt and add (protocol/peer/clip-store.ts) ->
// read back and decrypt. Photos and a video made in the test with GPS and camera metadata
// come out with none of it, and still decode; what is stored is ciphertext.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { writeFile, open, readdir, readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode as decodeJpeg } from 'jpeg-js'
import { PNG } from 'pngjs'
import { isPorchlightError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import type { ClipStore } from '../../protocol/peer/clip-store.ts'
import { nativeAesGcm, openNodeClipStore } from '../../node/storage/clips.ts'
import { decryptClip, encryptClip, generateClipKey, type ClipCipherOptions } from '../../protocol/clip/stream-aead.ts'
import { randomBytes as nodeRandom } from 'node:crypto'
import { MAX_PHOTO_BYTES, openClipFile } from '../../node/storage/clip-file.ts'
import { concat, leakedSecrets, makeJpeg, makeMp4, makePng, makeWebp, SECRETS, latin1, indexOfBytes } from '../helpers/media.ts'

let dir: string
let node: PorchlightNode
let store: ClipStore

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pl-pipeline-'))
  node = await createNode({})
  store = await openNodeClipStore(node, join(dir, 'store'))
})

afterAll(async () => {
  await store.stop()
  await node.stop()
  await rm(dir, { recursive: true, force: true })
})

async function collect (it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return concat(...parts)
}

/** The pipeline as `post --clip` runs it, then the reader's side: returns what a member gets. */
async function throughPipeline (name: string, bytes: Uint8Array): Promise<{ out: Uint8Array, mime: string, removed: readonly string[] }> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  const clip = await openClipFile(path)
  const added = await store.add(clip.stream())
  expect(added.size).toBe(clip.size)
  const out = await collect(store.read(added, { offline: true }))
  return { out, mime: clip.mime, removed: clip.removed }
}

async function codeOf (fn: () => Promise<unknown>): Promise<string> {
  try { await fn() } catch (err) { return isPorchlightError(err) ? err.code : `THROW ${(err as Error).message}` }
  return 'OK'
}

describe('post pipeline: metadata removed, media intact', () => {
  it('JPEG: no EXIF/GPS/XMP/IPTC/comments, still decodes to the same size', async () => {
    const f = makeJpeg({ width: 48, height: 32 })
    expect(leakedSecrets(f.bytes).length).toBeGreaterThan(5)
    const { out, mime, removed } = await throughPipeline('photo.jpg', f.bytes)
    expect(mime).toBe('image/jpeg')
    expect(leakedSecrets(out)).toEqual([])
    expect(removed).toEqual(expect.arrayContaining(['APP1 Exif']))
    const img = decodeJpeg(out, { useTArray: true })
    expect([img.width, img.height]).toEqual([48, 32])
    // Same pixels as the photo without any metadata.
    const plain = decodeJpeg(f.plain, { useTArray: true })
    expect(sha256(img.data)).toEqual(sha256(plain.data))
  })

  it('PNG: no text, eXIf, time or private chunks, same pixels', async () => {
    const f = makePng(20, 12)
    expect(leakedSecrets(f.bytes).length).toBeGreaterThan(3)
    const { out, mime } = await throughPipeline('photo.png', f.bytes)
    expect(mime).toBe('image/png')
    expect(leakedSecrets(out)).toEqual([])
    const img = PNG.sync.read(Buffer.from(out))
    expect([img.width, img.height]).toEqual([20, 12])
    expect(new Uint8Array(img.data)).toEqual(f.pixels)
  })

  it('WebP: no EXIF, XMP or ICC', async () => {
    const f = makeWebp()
    const { out, mime } = await throughPipeline('photo.webp', f.bytes)
    expect(mime).toBe('image/webp')
    expect(leakedSecrets(out)).toEqual([])
    expect(indexOfBytes(out, f.image)).toBeGreaterThan(0) // the image chunk, unchanged
  })

  it('MP4: no location, camera, dates or GPS track; audio and video samples unchanged', async () => {
    for (const opts of [{}, { mdatToEnd: true, co64: true }, { largeMdat: true }]) {
      const f = makeMp4(opts)
      expect(leakedSecrets(f.bytes).length).toBeGreaterThan(8)
      const { out, mime, removed } = await throughPipeline('clip.mp4', f.bytes)
      expect(mime).toBe('video/mp4')
      expect(leakedSecrets(out)).toEqual([])
      expect(removed).toEqual(expect.arrayContaining(['udta', 'meta', "track 'meta'"]))
      for (const [s, e] of f.keptRanges) expect(out.subarray(s, e)).toEqual(f.bytes.subarray(s, e))
      // The streamed cleaning gives exactly the in-memory cleaner's bytes.
      expect(out).toEqual(stripMetadata(f.bytes).bytes)
    }
  })

  it('stores only ciphertext', async () => {
    await throughPipeline('again.jpg', makeJpeg().bytes)
    const blocks = join(dir, 'store', 'blocks')
    for (const name of await readdir(blocks, { recursive: true })) {
      if (!name.endsWith('.data')) continue
      const bytes = new Uint8Array(await readFile(join(blocks, name)))
      expect(indexOfBytes(bytes, latin1('JFIF'))).toBe(-1)
      expect(indexOfBytes(bytes, latin1(SECRETS.make))).toBe(-1)
    }
  })
})

describe('clip files refused', () => {
  it('with stable codes', async () => {
    const text = join(dir, 'notes.txt')
    await writeFile(text, 'not a photo')
    expect(await codeOf(async () => openClipFile(text))).toBe('UNSUPPORTED')
    expect(await codeOf(async () => openClipFile(join(dir, 'missing.jpg')))).toBe('NOT_FOUND')
    expect(await codeOf(async () => openClipFile(dir))).toBe('BAD_ARGUMENT')
    const empty = join(dir, 'empty.mp4')
    await writeFile(empty, new Uint8Array(0))
    expect(await codeOf(async () => openClipFile(empty))).toBe('UNSUPPORTED')
    // A photo over the bound (a sparse file: JPEG magic, then zeros).
    const big = join(dir, 'huge.jpg')
    const fh = await open(big, 'w')
    await fh.write(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0))
    await fh.truncate(MAX_PHOTO_BYTES + 1)
    await fh.close()
    expect(await codeOf(async () => openClipFile(big))).toBe('TOO_LARGE')
    // A broken video is refused, not passed through.
    const broken = join(dir, 'broken.mp4')
    await writeFile(broken, makeMp4().bytes.subarray(0, 500))
    expect(await codeOf(async () => openClipFile(broken))).toBe('MALFORMED')
  })

  it('a video that changes after it was planned is refused', async () => {
    const path = join(dir, 'changing.mp4')
    const f = makeMp4()
    await writeFile(path, f.bytes)
    const clip = await openClipFile(path)
    await writeFile(path, concat(f.bytes, new Uint8Array(10)))
    expect(await codeOf(async () => collect(clip.stream()))).toBe('IO')
  })
})

describe('native AES-256-GCM for clips', () => {
  const backends: Array<[string, ClipCipherOptions]> = [['native', { aesGcm: nativeAesGcm }], ['webcrypto', { backend: 'webcrypto' }], ['noble', { backend: 'noble' }]]

  it('is byte-compatible with WebCrypto and noble, both ways', async () => {
    const plain = new Uint8Array(nodeRandom(3 * 65536 + 1234))
    const key = generateClipKey()
    for (const [from, encOpts] of backends) {
      const sealed = await collect(encryptClip(key, [plain], encOpts))
      for (const [to, decOpts] of backends) {
        const opened = await collect(decryptClip(key, [sealed], decOpts))
        expect(sha256(opened), `${from} -> ${to}`).toEqual(sha256(plain))
      }
    }
  })

  it('detects a flipped bit, a dropped chunk and truncation', async () => {
    const plain = new Uint8Array(nodeRandom(3 * 65536))
    const key = generateClipKey()
    const sealed = await collect(encryptClip(key, [plain], { aesGcm: nativeAesGcm }))
    const flipped = sealed.slice()
    flipped[70_000]! ^= 0x80
    const chunk = 65536 + 16
    const dropped = concat(sealed.subarray(0, 8 + chunk), sealed.subarray(8 + 2 * chunk))
    for (const bad of [flipped, dropped, sealed.subarray(0, sealed.length - 1)]) {
      expect(await codeOf(async () => collect(decryptClip(key, [bad], { aesGcm: nativeAesGcm })))).toBe('DECRYPT_FAILED')
    }
  })
})
