/**
 * A clip file on disk, cleaned of metadata before anything else reads it: the first step of
 * posting a clip (strip, then encrypt and add: protocol/peer/clip-store.ts).
 *
 * - MP4/MOV: planned from random reads (box headers, then moov/moof; mp4-stream.ts) and
 *   streamed with the edits applied, in READ_PIECE_BYTES pieces: memory stays at the moov
 *   plus a few pieces whatever the video's length (up to MAX_CLIP_FILE_BYTES).
 * - JPEG, PNG, WebP: read whole and rebuilt by the strict cleaners (strip.ts), so at most
 *   MAX_PHOTO_BYTES in and about as much out; photos are far smaller than that.
 * Anything else is 'UNSUPPORTED'. The type comes from the bytes, never the file name.
 */
import { open, stat, type FileHandle } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { fail, isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { sniffClip } from '../../protocol/clip/sniff.ts'
import type { CleanClip } from '../../protocol/peer/clip-flows.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { applyMp4Edits, mp4Edits, planMp4At, type Mp4Edits } from '../../protocol/clip/mp4-stream.ts'
import { MAX_MEDIA_SIZE } from '../../protocol/post.ts'

/** Largest photo read whole: 32 MiB (input and rebuilt output are both in memory). */
export const MAX_PHOTO_BYTES = 32 * 1024 * 1024
/** Largest video: the largest clip a post may reference (4 GiB). */
export const MAX_CLIP_FILE_BYTES = MAX_MEDIA_SIZE
/** Read size when streaming a video: 1 MiB. */
export const READ_PIECE_BYTES = 1024 * 1024
/** Bytes read to recognise the type (an ftyp box with its brands fits easily). */
const SNIFF_BYTES = 4096

/** A clip file on disk, cleaned as it is read (the CleanClip that attachClip takes, with its path). */
export interface ClipFile extends CleanClip {
  readonly path: string
}

/** Opens, recognises and plans the cleaning of a clip file. Throws PorchlightError. */
export async function openClipFile (path: string): Promise<ClipFile> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw fsError(err, path)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) fail('BAD_ARGUMENT', `${path} is not a file`)
    const size = st.size
    if (size > MAX_CLIP_FILE_BYTES) fail('TOO_LARGE', `${path}: clips are at most ${MAX_CLIP_FILE_BYTES} bytes`)
    const readAt = async (offset: number, length: number): Promise<Uint8Array> => readFully(fh, offset, length)
    const type = sniffClip(await readAt(0, Math.min(size, SNIFF_BYTES)))
    if (type.kind === 'mp4') {
      const edits = mp4Edits(await planMp4At(size, readAt))
      return {
        path,
        mime: type.mime,
        size,
        removed: edits.removed,
        stream: () => streamVideo(path, size, st.mtimeMs, edits)
      }
    }
    if (size > MAX_PHOTO_BYTES) fail('TOO_LARGE', `${path}: photos are at most ${MAX_PHOTO_BYTES} bytes`)
    const cleaned = stripMetadata(await readAt(0, size))
    const bytes = cleaned.bytes
    return {
      path,
      mime: cleaned.mime,
      size: bytes.length,
      removed: cleaned.removed,
      stream: async function * () {
        for (let o = 0; o < bytes.length; o += READ_PIECE_BYTES) yield bytes.subarray(o, o + READ_PIECE_BYTES)
      }
    }
  } catch (err) {
    throw isPorchlightError(err) ? err : fsError(err, path)
  } finally {
    await fh.close().catch(() => {})
  }
}

/** The video with the edits written in; 'IO' if the file changed since it was planned. */
async function * streamVideo (path: string, size: number, mtimeMs: number, edits: Mp4Edits): AsyncGenerator<Uint8Array> {
  const pieces = size === 0 ? [] : createReadStream(path, { start: 0, end: size - 1, highWaterMark: READ_PIECE_BYTES })
  try {
    yield * applyMp4Edits(edits, size, pieces as AsyncIterable<Uint8Array>)
  } catch (err) {
    throw isPorchlightError(err) ? err : fsError(err, path)
  }
  const after = await stat(path).catch((err: unknown) => { throw fsError(err, path) })
  if (after.size !== size || after.mtimeMs !== mtimeMs) fail('IO', `${path} changed while it was being read`)
}

async function readFully (fh: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await fh.read(out, filled, length - filled, offset + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === length ? out : out.subarray(0, filled)
}

function fsError (err: unknown, path: string): PorchlightError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new PorchlightError('NOT_FOUND', `no such file: ${path}`, { cause: err })
  if (code === 'EISDIR') return new PorchlightError('BAD_ARGUMENT', `${path} is a folder, not a file`, { cause: err })
  if (code === 'EACCES' || code === 'EPERM') return new PorchlightError('REFUSED', `cannot read ${path}: permission denied`, { cause: err })
  return new PorchlightError('IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
}
