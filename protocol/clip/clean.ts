/**
 * A clip cleaned of metadata before anything else reads it: the first step of posting a clip
 * (clean, then encrypt and add: protocol/peer/clip-store.ts). Isomorphic: the runtime supplies
 * random reads and a sequential stream of the original (Node: a file, node/storage/clip-file.ts;
 * a browser: a File, through Blob.slice).
 *
 * - MP4/MOV: planned from random reads (box headers, then moov/moof; mp4-stream.ts) and
 *   streamed with the edits applied: memory stays at the moov plus a few pieces whatever the
 *   video's length (up to MAX_CLIP_FILE_BYTES).
 * - JPEG, PNG, WebP: read whole and rebuilt by the strict cleaners (strip.ts), so at most
 *   MAX_PHOTO_BYTES in and about as much out; photos are far smaller than that.
 * Anything else is 'UNSUPPORTED'. The type comes from the bytes, never the file name.
 */
import { fail } from '../errors.ts'
import { MAX_MEDIA_SIZE } from '../post.ts'
import { sniffClip, type ClipMime } from './sniff.ts'
import { stripMetadata } from './strip.ts'
import { applyMp4Edits, mp4Edits, planMp4At } from './mp4-stream.ts'

/** Largest photo read whole: 32 MiB (input and rebuilt output are both in memory). */
export const MAX_PHOTO_BYTES = 32 * 1024 * 1024
/** Largest video: the largest clip a post may reference (4 GiB). */
export const MAX_CLIP_FILE_BYTES = MAX_MEDIA_SIZE
/** Piece size when a cleaned photo is streamed: 1 MiB. */
export const CLEAN_PIECE_BYTES = 1024 * 1024
/** Bytes read to recognise the type (an ftyp box with its brands fits easily). */
const SNIFF_BYTES = 4096

/** A clip cleaned of its metadata, ready to encrypt. */
export interface CleanClip {
  readonly mime: ClipMime
  /** Size of the cleaned clip: the same as the original for videos (edits keep every offset). */
  readonly size: number
  /** What the cleaner removed or blanked, by name. */
  readonly removed: readonly string[]
  /** The cleaned bytes, from the start; each call reads the source again. */
  stream (): AsyncIterable<Uint8Array>
}

/** The original clip as a runtime reads it. */
export interface ClipSource {
  /** For messages: a path, a file name. */
  readonly name: string
  readonly size: number
  /** `length` bytes from `offset` (fewer only at the end). */
  readAt (offset: number, length: number): Promise<Uint8Array>
  /** All bytes from the start, in pieces of any size, read again at each call (videos only). */
  stream (): AsyncIterable<Uint8Array>
  /** Fails ('IO') if the original changed since it was opened; run after a video streamed. @default no check */
  checkUnchanged? (): Promise<void>
}

/** Recognises the clip and plans its cleaning (photos are cleaned here, whole). Throws PorchlightError. */
export async function cleanClip (source: ClipSource): Promise<CleanClip> {
  const { name, size } = source
  if (size > MAX_CLIP_FILE_BYTES) fail('TOO_LARGE', `${name}: clips are at most ${MAX_CLIP_FILE_BYTES} bytes`)
  const type = sniffClip(await source.readAt(0, Math.min(size, SNIFF_BYTES)))
  if (type.kind === 'mp4') {
    const edits = mp4Edits(await planMp4At(size, async (offset, length) => source.readAt(offset, length)))
    return {
      mime: type.mime,
      size,
      removed: edits.removed,
      stream: async function * () {
        yield * applyMp4Edits(edits, size, source.stream())
        await source.checkUnchanged?.()
      }
    }
  }
  if (size > MAX_PHOTO_BYTES) fail('TOO_LARGE', `${name}: photos are at most ${MAX_PHOTO_BYTES} bytes`)
  const cleaned = stripMetadata(await source.readAt(0, size))
  const bytes = cleaned.bytes
  return {
    mime: cleaned.mime,
    size: bytes.length,
    removed: cleaned.removed,
    stream: async function * () {
      for (let o = 0; o < bytes.length; o += CLEAN_PIECE_BYTES) yield bytes.subarray(o, o + CLEAN_PIECE_BYTES)
    }
  }
}
