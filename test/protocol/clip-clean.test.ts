// protocol/clip/clean.ts on an in-memory source (as a browser's File would be read): the same
// cleaning as for files on disk, the video streamed in pieces, and a source that changed while
// it streamed fails at the end.
import { describe, it, expect } from 'vitest'
import { isPorchlightError } from '../../protocol/errors.ts'
import { cleanClip, MAX_PHOTO_BYTES, type ClipSource } from '../../protocol/clip/clean.ts'
import { concat, leakedSecrets, makeJpeg, makeMp4 } from '../helpers/media.ts'

function memorySource (bytes: Uint8Array, opts: { piece?: number, changed?: () => boolean } = {}): ClipSource {
  return {
    name: 'clip.bin',
    size: bytes.length,
    readAt: async (offset, length) => bytes.slice(offset, offset + length),
    stream: async function * () {
      const piece = opts.piece ?? 1000
      for (let o = 0; o < bytes.length; o += piece) yield bytes.subarray(o, o + piece)
    },
    ...(opts.changed !== undefined ? { checkUnchanged: async () => { if (opts.changed!()) throw Object.assign(new Error('changed'), { code: 'IO' }) } } : {})
  }
}

async function all (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return concat(...parts)
}

async function codeOf (fn: () => Promise<unknown>): Promise<string> {
  try { await fn() } catch (err) { return isPorchlightError(err) ? err.code : `THROW ${(err as Error).message}` }
  return 'OK'
}

describe('cleanClip', () => {
  it('cleans a photo whole', async () => {
    const { bytes } = makeJpeg()
    expect(leakedSecrets(bytes)).not.toEqual([])
    const clip = await cleanClip(memorySource(bytes))
    expect(clip.mime).toBe('image/jpeg')
    const out = await all(clip.stream())
    expect(out.length).toBe(clip.size)
    expect(leakedSecrets(out)).toEqual([])
  })

  it('streams a video with its edits, in whatever pieces the source gives', async () => {
    const { bytes } = makeMp4()
    expect(leakedSecrets(bytes)).not.toEqual([])
    const clip = await cleanClip(memorySource(bytes, { piece: 7 }))
    expect(clip.mime).toBe('video/mp4')
    expect(clip.size).toBe(bytes.length)
    const out = await all(clip.stream())
    expect(out.length).toBe(bytes.length)
    expect(leakedSecrets(out)).toEqual([])
    expect(await all(clip.stream())).toEqual(out)
  })

  it('fails a video whose source changed while it streamed', async () => {
    const { bytes } = makeMp4()
    let streamed = false
    const clip = await cleanClip(memorySource(bytes, { changed: () => streamed }))
    streamed = true
    const err = await all(clip.stream()).catch((e: unknown) => e)
    expect((err as Error).message).toBe('changed')
  })

  it('refuses what it cannot clean', async () => {
    expect(await codeOf(async () => cleanClip(memorySource(new TextEncoder().encode('not a clip at all'))))).toBe('UNSUPPORTED')
    const big = makeJpeg().bytes
    expect(await codeOf(async () => cleanClip({ ...memorySource(big), size: MAX_PHOTO_BYTES + 1 }))).toBe('TOO_LARGE')
  })
})
