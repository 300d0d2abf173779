/**
 * Metadata removal for clips, the first step of the clip pipeline (strip, then encrypt with
 * `stream-aead.ts`). Pure Uint8Array code for Node and the browser.
 *
 * The type comes from the magic bytes (`sniff.ts`), never from a name or declared MIME type.
 * Each format has a strict cleaner that rebuilds or overwrites the file from what it
 * understands; it refuses rather than passes through what it cannot parse:
 * 'UNSUPPORTED' for a type or feature it does not handle, 'MALFORMED' for broken structure,
 * 'TOO_LARGE' beyond the limits below. What each format keeps and drops is documented in
 * `jpeg.ts`, `png.ts`, `webp.ts` and `mp4.ts`.
 */
import { fail } from '../errors.ts'
import { stripJpeg } from './jpeg.ts'
import { stripMp4, stripMp4InPlace } from './mp4.ts'
import { stripPng } from './png.ts'
import { sniffClip } from './sniff.ts'
import type { ClipMime } from './sniff.ts'
import { stripWebp } from './webp.ts'

/**
 * Largest clip accepted: 512 MiB. The cleaners work on the whole file in memory (images are
 * rebuilt, so input + output; an MP4 is copied once and edited in place, or edited in the
 * caller's buffer by `stripMetadataInPlace`).
 */
export const MAX_CLIP_BYTES = 512 * 1024 * 1024

export interface StrippedClip {
  readonly bytes: Uint8Array
  readonly mime: ClipMime
  /** What was removed or blanked, by name ('APP1 Exif', 'tEXt', 'udta', "track 'meta'"...). */
  readonly removed: string[]
}

/** Returns a cleaned copy of `bytes`; the input is not modified. */
export function stripMetadata (bytes: Uint8Array): StrippedClip {
  const type = sniffChecked(bytes)
  switch (type.kind) {
    case 'jpeg': return { mime: type.mime, ...stripJpeg(bytes) }
    case 'png': return { mime: type.mime, ...stripPng(bytes) }
    case 'webp': return { mime: type.mime, ...stripWebp(bytes) }
    case 'mp4': return { mime: type.mime, ...stripMp4(bytes) }
  }
}

/**
 * Like `stripMetadata`, but an MP4/MOV is cleaned inside `bytes` itself (no copy of a large
 * video); images are rebuilt and returned as a new array. If it throws, `bytes` is unchanged.
 */
export function stripMetadataInPlace (bytes: Uint8Array): StrippedClip {
  const type = sniffChecked(bytes)
  if (type.kind !== 'mp4') return stripMetadata(bytes)
  return { bytes, mime: type.mime, removed: stripMp4InPlace(bytes) }
}

function sniffChecked (bytes: Uint8Array): ReturnType<typeof sniffClip> {
  if (!(bytes instanceof Uint8Array)) fail('BAD_ARGUMENT', 'clip: expected a Uint8Array')
  if (bytes.length > MAX_CLIP_BYTES) fail('TOO_LARGE', `clip: over ${MAX_CLIP_BYTES} bytes`)
  return sniffClip(bytes)
}
