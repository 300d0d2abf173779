/**
 * MP4 / QuickTime metadata removal for files too large to hold: the plan comes from random
 * reads (the top-level box headers, then the whole of each box the walk looks inside: moov,
 * moof, small free space), and the cleaned copy is produced by streaming the file once more
 * through `applyMp4Edits`, which writes the plan's edits into the pieces as they pass.
 *
 * The plan is exactly `planMp4`'s (`mp4.ts` documents what is kept and blanked); only the way
 * the bytes are reached differs. Memory: the largest box read whole (at most
 * MP4_MAX_REGION_BYTES, moov is typically well under 1 MiB per minute of video) plus the
 * plan (two numbers per edit), never the sample data.
 *
 * The caller must stream the same bytes it planned from: `applyMp4Edits` checks the length,
 * and a host that can (Node: size and mtime) should check the file did not change between.
 */
import { fail } from '../errors.ts'
import { fourcc, latin1, u32be, u64be } from './_bytes.ts'
import { createMp4Planner, MP4_MAX_BOXES, mp4NeedsBytes, type Box, type Mp4Plan } from './mp4.ts'

/** Largest single box read into memory to plan (moov, one moof): 32 MiB. */
export const MP4_MAX_REGION_BYTES = 32 * 1024 * 1024
/** size (4) + type (4) + largesize (8) + uuid user type (16). */
const HEADER_PROBE_BYTES = 32
const BOX_HEADER_BYTES = 8
const LARGESIZE_BYTES = 8
const UUID_BYTES = 16
const FREE = latin1('free')

/**
 * Reads `length` bytes at absolute `offset`; returns fewer only at the end of the file.
 * (Node: a FileHandle read; browser: `file.slice(offset, offset + length).arrayBuffer()`.)
 */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>

/** Edits in file order: disjoint zeroed ranges, and 4-byte type rewrites of blanked boxes. */
export interface Mp4Edits {
  /** Sorted, disjoint, non-empty [start, end) ranges. */
  readonly zero: ReadonlyArray<readonly [number, number]>
  /** Sorted by offset; each writes `bytes` at `at`. */
  readonly writes: ReadonlyArray<{ readonly at: number, readonly bytes: Uint8Array }>
  readonly removed: readonly string[]
}

/** The top-level boxes of a file of `size` bytes, from their headers only. */
export async function readTopBoxes (size: number, readAt: ReadAt): Promise<Box[]> {
  if (!Number.isSafeInteger(size) || size < 0) fail('BAD_ARGUMENT', 'mp4: file size must be a non-negative integer')
  const boxes: Box[] = []
  let pos = 0
  while (pos < size) {
    if (boxes.length >= MP4_MAX_BOXES) fail('TOO_LARGE', 'mp4: too many boxes')
    const h = await readAt(pos, Math.min(HEADER_PROBE_BYTES, size - pos))
    if (h.length < BOX_HEADER_BYTES) fail('MALFORMED', 'mp4: box header: truncated')
    let boxSize = u32be(h, 0)
    const type = fourcc(h, 4)
    let header = BOX_HEADER_BYTES
    const large = boxSize === 1
    if (large) {
      if (h.length < BOX_HEADER_BYTES + LARGESIZE_BYTES) fail('MALFORMED', 'mp4: largesize: truncated')
      boxSize = u64be(h, BOX_HEADER_BYTES)
      header += LARGESIZE_BYTES
    } else if (boxSize === 0) {
      boxSize = size - pos
    }
    if (type === 'uuid') header += UUID_BYTES
    if (boxSize < header) fail('MALFORMED', `mp4: box '${type}' smaller than its header`)
    if (pos + boxSize > size) fail('MALFORMED', `mp4: box '${type}' runs past its parent`)
    boxes.push({ type, start: pos, header, large, end: pos + boxSize })
    pos += boxSize
  }
  return boxes
}

/** Plans the cleaning of a file through random reads; the same plan `planMp4` makes. */
export async function planMp4At (size: number, readAt: ReadAt): Promise<Mp4Plan> {
  const top = await readTopBoxes(size, readAt)
  const planner = createMp4Planner(top)
  for (const box of top) {
    if (!mp4NeedsBytes(box)) {
      planner.visit(box)
      continue
    }
    const length = box.end - box.start
    if (length > MP4_MAX_REGION_BYTES) fail('TOO_LARGE', `mp4: '${box.type}' box over ${MP4_MAX_REGION_BYTES} bytes`)
    const bytes = await readAt(box.start, length)
    if (bytes.length !== length) fail('MALFORMED', `mp4: '${box.type}' box: truncated`)
    planner.visit(box, bytes)
  }
  return planner.finish()
}

/** Turns a plan into sorted, merged edits for `applyMp4Edits`. */
export function mp4Edits (plan: Mp4Plan): Mp4Edits {
  const ranges: Array<[number, number]> = plan.zero.map(([s, e]) => [s, e])
  const writes: Array<{ at: number, bytes: Uint8Array }> = []
  for (const b of plan.blank) {
    writes.push({ at: b.start + 4, bytes: FREE })
    // As applyMp4Plan: a uuid's user type becomes payload of the free box and is zeroed with it.
    ranges.push([b.start + BOX_HEADER_BYTES + (b.large ? LARGESIZE_BYTES : 0), b.end])
  }
  ranges.sort((a, b) => a[0] - b[0])
  const zero: Array<[number, number]> = []
  for (const [s, e] of ranges) {
    if (e <= s) continue
    const last = zero[zero.length - 1]
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e)
    else zero.push([s, e])
  }
  writes.sort((a, b) => a.at - b.at)
  return { zero, writes, removed: plan.removed }
}

/**
 * Streams `source` (the planned file from its first byte) with the edits written in. Pieces
 * no edit touches pass through as they are; touched pieces are copied, never modified.
 * 'MALFORMED' if the stream is not exactly `size` bytes long.
 */
export async function * applyMp4Edits (edits: Mp4Edits, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const { zero, writes } = edits
  let zi = 0
  let wi = 0
  let pos = 0
  for await (const piece of source) {
    if (!(piece instanceof Uint8Array)) fail('BAD_ARGUMENT', 'mp4 stream: expected Uint8Array pieces')
    const end = pos + piece.length
    if (end > size) fail('MALFORMED', 'mp4: file is longer than when it was planned')
    let out = piece
    const own = (): Uint8Array => { if (out === piece) out = new Uint8Array(piece); return out }
    while (zi < zero.length && zero[zi]![1] <= pos) zi++
    for (let k = zi; k < zero.length && zero[k]![0] < end; k++) {
      const [s, e] = zero[k]!
      own().fill(0, Math.max(s, pos) - pos, Math.min(e, end) - pos)
    }
    while (wi < writes.length && writes[wi]!.at + writes[wi]!.bytes.length <= pos) wi++
    for (let k = wi; k < writes.length && writes[k]!.at < end; k++) {
      const w = writes[k]!
      for (let j = 0; j < w.bytes.length; j++) {
        const at = w.at + j
        if (at >= pos && at < end) own()[at - pos] = w.bytes[j]!
      }
    }
    pos = end
    if (out.length > 0) yield out
  }
  if (pos !== size) fail('MALFORMED', 'mp4: file is shorter than when it was planned')
}
