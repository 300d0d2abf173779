/**
 * MP4 / QuickTime metadata removal (ISO/IEC 14496-12 box structure, QuickTime File Format).
 *
 * Sample data is addressed by absolute file offsets (stco/co64), so nothing may move: every
 * edit keeps the file length and overwrites in place. Two passes: `planMp4` walks the box
 * tree, validates it and lists the edits without touching the bytes, then `applyMp4Plan`
 * writes them. A refused file is therefore never half-edited, even with `stripMp4InPlace`.
 *
 * Edits:
 * - blanked (type rewritten to 'free', payload zeroed, size kept): every `udta` (©xyz
 *   location, ©mak/©mod camera, ©day date, loci, XMP_...), every `meta` (Apple mdta keys:
 *   com.apple.quicktime.location.ISO6709, make, model, creation date), every `uuid` box (XMP
 *   and vendor blobs), top-level boxes outside the allow-list (prft wall-clock time, emsg,
 *   pnot, unknown), unknown children of the containers we walk;
 * - tracks other than video ('vide') and audio ('soun') are blanked and their sample bytes in
 *   mdat are zeroed: timed metadata (GPS tracks of phones, GoPro GPMF, dashcams), subtitles,
 *   chapters, timecode (time of day), hint tracks. Fragmented files with such a track are
 *   'UNSUPPORTED' (their samples live in moof/trun runs, not handled);
 * - zeroed fields: creation and modification times of mvhd, tkhd, mdhd; hdlr component
 *   manufacturer and name ("Core Media Video", encoder names); the vendor code and
 *   compressor name of each video/audio sample entry; leftover bytes inside free/skip boxes
 *   (editors park old metadata there); data-reference entry payloads.
 * Kept unchanged: ftyp/styp, mdat, sample tables, edit lists, track references, moof/traf
 * timing and sample-run boxes, sidx/ssix/mfra indexes.
 * Not inspected: bytes inside mdat that no track references, and metadata inside the codec
 * bitstream itself (H.264/HEVC SEI user data).
 *
 * Refused: external data references ('UNSUPPORTED'), compressed or reference movies
 * (cmov, rmra), no audio/video track, any structural inconsistency ('MALFORMED').
 * A box with size 0 ("to the end of the file") is allowed only at top level; 64-bit sizes
 * (size 1 + largesize) are allowed anywhere up to 2^53.
 */
import { fail } from '../errors.ts'
import { fourcc, need, note, u16be, u32be, u64be } from './_bytes.ts'
import type { StripResult } from './types.ts'

/** Boxes read in one file: sample tables are single boxes, so real files stay far below. */
export const MP4_MAX_BOXES = 100_000
/** Nesting depth we descend to: moov/trak/mdia/minf/stbl/stsd/entry is 7. */
export const MP4_MAX_DEPTH = 10
/** Tracks in one movie. */
export const MP4_MAX_TRACKS = 64

const BOX_HEADER_BYTES = 8
const LARGESIZE_BYTES = 8
const UUID_BYTES = 16
/** version (1) + flags (3) of a FullBox. */
const FULLBOX_BYTES = 4
/** VisualSampleEntry: compressorname (32 bytes) starts 50 bytes into the entry. */
const VISUAL_COMPRESSORNAME_OFFSET = 50
const VISUAL_COMPRESSORNAME_BYTES = 32
/** QuickTime sample descriptions: 4-byte vendor code 20 bytes into the entry (reserved in ISO). */
const SAMPLE_ENTRY_VENDOR_OFFSET = 20
const KEPT_HANDLERS = new Set(['vide', 'soun'])

export interface Box {
  readonly type: string
  readonly start: number
  /** Header bytes: 8, +8 for a 64-bit size, +16 for a uuid user type. */
  readonly header: number
  /** True when the size field was 1 and a 64-bit largesize follows the type. */
  readonly large: boolean
  readonly end: number
}

export interface Mp4Plan {
  /** Boxes to turn into 'free' with a zeroed payload. */
  readonly blank: readonly Box[]
  /** Byte ranges [start, end) to overwrite with zeros. */
  readonly zero: ReadonlyArray<readonly [number, number]>
  readonly removed: string[]
}

type Rule = 'keep' | 'descend' | 'times' | 'hdlr' | 'stsd' | 'dref' | 'trak'

/** Allow-lists per container we walk; a child not listed is blanked. */
const RULES: Readonly<Record<string, Readonly<Record<string, Rule>>>> = {
  moov: { mvhd: 'times', trak: 'trak', mvex: 'descend', iods: 'keep' },
  mvex: { mehd: 'keep', trex: 'keep', leva: 'keep' },
  trak: { tkhd: 'times', tref: 'keep', edts: 'keep', mdia: 'descend', trgr: 'keep', load: 'keep', tapt: 'keep' },
  mdia: { mdhd: 'times', hdlr: 'hdlr', minf: 'descend', elng: 'keep' },
  minf: { vmhd: 'keep', smhd: 'keep', hmhd: 'keep', nmhd: 'keep', sthd: 'keep', gmhd: 'keep', hdlr: 'hdlr', dinf: 'descend', stbl: 'descend' },
  dinf: { dref: 'dref' },
  stbl: {
    stsd: 'stsd', stts: 'keep', ctts: 'keep', cslg: 'keep', stss: 'keep', stps: 'keep', stsh: 'keep',
    stsz: 'keep', stz2: 'keep', stsc: 'keep', stco: 'keep', co64: 'keep', padb: 'keep', stdp: 'keep',
    sdtp: 'keep', sbgp: 'keep', sgpd: 'keep', subs: 'keep', saiz: 'keep', saio: 'keep'
  },
  moof: { mfhd: 'keep', traf: 'descend' },
  traf: { tfhd: 'keep', tfdt: 'keep', trun: 'keep', sbgp: 'keep', sgpd: 'keep', subs: 'keep', saiz: 'keep', saio: 'keep', senc: 'keep' },
  '': { ftyp: 'keep', styp: 'keep', mdat: 'keep', moov: 'descend', moof: 'descend', sidx: 'keep', ssix: 'keep', mfra: 'keep', pdin: 'keep' }
}

/** Blanked wherever they appear, without looking inside. */
const ALWAYS_BLANK = new Set(['udta', 'meta', 'uuid'])
/** Free space: kept as free space, but its leftover bytes are zeroed. */
const FREE_SPACE = new Set(['free', 'skip', 'wide'])
/** Movie-level boxes that hide the real structure from us. */
const REFUSED = new Set(['cmov', 'rmra'])

interface Walk {
  /** The bytes being walked: the whole file, or one top-level box read on its own. */
  bytes: Uint8Array
  /** Absolute file offset of bytes[0]; plan entries are recorded as absolute offsets. */
  base: number
  readonly plan: { blank: Box[], zero: Array<[number, number]>, removed: string[] }
  readonly mdats: Box[]
  readonly dropped: Array<[number, number]>
  boxes: number
  tracks: number
  keptTracks: number
  droppedTracks: number
  fragments: number
}

/** Reads the boxes in `[start, end)`; `toEnd` allows a size-0 box (top level only). */
export function readBoxes (bytes: Uint8Array, start: number, end: number, toEnd = false, counter?: { boxes: number }): Box[] {
  const boxes: Box[] = []
  let pos = start
  while (pos < end) {
    if (counter !== undefined && ++counter.boxes > MP4_MAX_BOXES) fail('TOO_LARGE', 'mp4: too many boxes')
    need(bytes, pos, BOX_HEADER_BYTES, 'mp4: box header', end)
    let size = u32be(bytes, pos)
    const type = fourcc(bytes, pos + 4)
    let header = BOX_HEADER_BYTES
    const large = size === 1
    if (large) {
      need(bytes, pos, BOX_HEADER_BYTES + LARGESIZE_BYTES, 'mp4: largesize', end)
      size = u64be(bytes, pos + BOX_HEADER_BYTES)
      header += LARGESIZE_BYTES
    } else if (size === 0) {
      if (!toEnd) fail('MALFORMED', `mp4: size-0 box '${type}' below top level`)
      size = end - pos
    }
    if (type === 'uuid') header += UUID_BYTES
    if (size < header) fail('MALFORMED', `mp4: box '${type}' smaller than its header`)
    if (pos + size > end) fail('MALFORMED', `mp4: box '${type}' runs past its parent`)
    boxes.push({ type, start: pos, header, large, end: pos + size })
    pos += size
  }
  return boxes
}

/** Validates the file and lists the edits; never modifies `bytes`. */
export function planMp4 (bytes: Uint8Array): Mp4Plan {
  const counter = { boxes: 0 }
  const top = readBoxes(bytes, 0, bytes.length, true, counter)
  const planner = createMp4Planner(top)
  for (const box of top) planner.visit(box, bytes.subarray(box.start, box.end))
  return planner.finish()
}

/**
 * Planning one top-level box at a time, for files read with random access instead of held
 * whole (`mp4-stream.ts`): give it the top-level boxes (absolute offsets), then `visit` each
 * in order with its bytes when `mp4NeedsBytes(box)` says the walk looks inside (moov, moof,
 * small free space), and `finish` for the plan. Same checks and same plan as `planMp4`.
 */
export interface Mp4Planner {
  /** `bytes`: the whole box (box.start..box.end), or undefined when not needed. */
  visit (box: Box, bytes?: Uint8Array): void
  finish (): Mp4Plan
}

/** Free space up to this size is read and zeroed only if dirty; larger is zeroed unread. */
export const MP4_FREE_READ_BYTES = 1 << 20

/** Whether the walk reads inside this top-level box. */
export function mp4NeedsBytes (box: Box): boolean {
  if (FREE_SPACE.has(box.type)) return box.end - box.start <= MP4_FREE_READ_BYTES
  return !ALWAYS_BLANK.has(box.type) && RULES['']![box.type] === 'descend'
}

export function createMp4Planner (top: readonly Box[]): Mp4Planner {
  const w: Walk = {
    bytes: new Uint8Array(0),
    base: 0,
    plan: { blank: [], zero: [], removed: [] },
    mdats: [],
    dropped: [],
    boxes: top.length,
    tracks: 0,
    keptTracks: 0,
    droppedTracks: 0,
    fragments: 0
  }
  if (w.boxes > MP4_MAX_BOXES) fail('TOO_LARGE', 'mp4: too many boxes')
  const moovs = top.filter(b => b.type === 'moov').length
  if (moovs !== 1) fail(moovs === 0 ? 'UNSUPPORTED' : 'MALFORMED', `mp4: ${moovs} moov boxes`)
  const ftyp = top.findIndex(b => b.type === 'ftyp')
  if (ftyp > 0 || top.filter(b => b.type === 'ftyp').length > 1) fail('MALFORMED', 'mp4: ftyp not first or repeated')
  for (const b of top) if (b.type === 'mdat') w.mdats.push(b)
  return {
    visit (box, bytes) {
      const size = box.end - box.start
      if (bytes !== undefined && bytes.length !== size) fail('BAD_ARGUMENT', `mp4: ${bytes.length} bytes given for a ${size}-byte box`)
      if (bytes === undefined && mp4NeedsBytes(box)) {
        if (!FREE_SPACE.has(box.type)) fail('BAD_ARGUMENT', `mp4: the bytes of '${box.type}' are needed`)
        // Large free space is zeroed without looking: cheaper than reading it.
        w.plan.zero.push([box.start + box.header, box.end])
        note(w.plan.removed, 'free space')
        return
      }
      w.bytes = bytes ?? new Uint8Array(0)
      w.base = box.start
      walkChildren(w, [{ ...box, start: 0, end: size }], '', 0)
      w.bytes = new Uint8Array(0)
    },
    finish () {
      if (w.keptTracks === 0) fail('UNSUPPORTED', 'mp4: no video or audio track')
      if (w.droppedTracks > 0 && w.fragments > 0) fail('UNSUPPORTED', 'mp4: fragmented file with a non-audio/video track')
      for (const [s, e] of w.dropped) {
        if (!w.mdats.some(m => s >= m.start + m.header && e <= m.end)) fail('MALFORMED', 'mp4: sample data outside mdat')
        w.plan.zero.push([s, e])
      }
      return w.plan
    }
  }
}

/** Writes a plan made by `planMp4` for these same bytes. */
export function applyMp4Plan (bytes: Uint8Array, plan: Mp4Plan): void {
  for (const b of plan.blank) {
    bytes.set([0x66, 0x72, 0x65, 0x65], b.start + 4) // 'free'
    // A uuid's user type becomes payload of the free box and is zeroed with it.
    bytes.fill(0, b.start + BOX_HEADER_BYTES + (b.large ? LARGESIZE_BYTES : 0), b.end)
  }
  for (const [s, e] of plan.zero) bytes.fill(0, s, e)
}

/** Cleans a copy; the input is untouched. One copy of the file, mdat included. */
export function stripMp4 (bytes: Uint8Array): StripResult {
  const plan = planMp4(bytes)
  const out = new Uint8Array(bytes) // a copy (a Buffer's slice() would be a view of the input)
  applyMp4Plan(out, plan)
  return { bytes: out, removed: plan.removed }
}

/** Cleans `bytes` itself, for callers that own a large buffer; unchanged if it throws. */
export function stripMp4InPlace (bytes: Uint8Array): string[] {
  const plan = planMp4(bytes)
  applyMp4Plan(bytes, plan)
  return plan.removed
}

function walkChildren (w: Walk, children: readonly Box[], parent: string, depth: number): void {
  if (depth > MP4_MAX_DEPTH) fail('TOO_LARGE', 'mp4: boxes nested too deep')
  const rules = RULES[parent]!
  for (const box of children) {
    if (REFUSED.has(box.type)) fail('UNSUPPORTED', `mp4: '${box.type}' box`)
    if (FREE_SPACE.has(box.type)) {
      zeroIfDirty(w, box.start + box.header, box.end, 'free space')
      continue
    }
    const rule = ALWAYS_BLANK.has(box.type) ? undefined : rules[box.type]
    if (rule === undefined) {
      blank(w, box)
      continue
    }
    switch (rule) {
      case 'keep': break
      case 'descend':
        if (box.type === 'moof') w.fragments++
        walkChildren(w, readBoxes(w.bytes, box.start + box.header, box.end, false, w), box.type, depth + 1)
        break
      case 'times': zeroTimes(w, box); break
      case 'hdlr': zeroHandlerName(w, box); break
      case 'dref': cleanDref(w, box); break
      case 'stsd': break // handled by 'trak', which knows the handler type
      case 'trak': walkTrak(w, box, depth + 1); break
    }
  }
}

function blank (w: Walk, box: Box): void {
  w.plan.blank.push({ ...box, start: box.start + w.base, end: box.end + w.base })
  note(w.plan.removed, box.type)
}

function zeroIfDirty (w: Walk, start: number, end: number, what: string): void {
  if (!allZero(w.bytes, start, end)) {
    w.plan.zero.push([start + w.base, end + w.base])
    note(w.plan.removed, what)
  }
}

function allZero (b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i] !== 0) return false
  return true
}

function child (w: Walk, parent: Box, type: string): Box | undefined {
  const found = readBoxes(w.bytes, parent.start + parent.header, parent.end).filter(b => b.type === type)
  if (found.length > 1) fail('MALFORMED', `mp4: more than one '${type}' in '${parent.type}'`)
  return found[0]
}

function walkTrak (w: Walk, trak: Box, depth: number): void {
  if (++w.tracks > MP4_MAX_TRACKS) fail('TOO_LARGE', 'mp4: too many tracks')
  const mdia = child(w, trak, 'mdia')
  const hdlr = mdia === undefined ? undefined : child(w, mdia, 'hdlr')
  if (mdia === undefined || hdlr === undefined) fail('MALFORMED', 'mp4: trak without mdia/hdlr')
  need(w.bytes, hdlr.start + hdlr.header, FULLBOX_BYTES + 8, 'mp4: hdlr', hdlr.end)
  const handler = fourcc(w.bytes, hdlr.start + hdlr.header + FULLBOX_BYTES + 4)

  const minf = child(w, mdia, 'minf')
  const stbl = minf === undefined ? undefined : child(w, minf, 'stbl')
  if (stbl === undefined) fail('MALFORMED', 'mp4: trak without minf/stbl')

  if (!KEPT_HANDLERS.has(handler)) {
    w.droppedTracks++
    for (const range of sampleRanges(w.bytes, stbl)) w.dropped.push(range)
    blank(w, trak)
    note(w.plan.removed, `track '${handler}'`)
    return
  }
  w.keptTracks++
  walkChildren(w, readBoxes(w.bytes, trak.start + trak.header, trak.end, false, w), 'trak', depth)
  const stsd = child(w, stbl, 'stsd')
  if (stsd === undefined) fail('MALFORMED', 'mp4: stbl without stsd')
  cleanStsd(w, stsd, handler)
}

/** mvhd, tkhd, mdhd: version 0 has 4-byte creation + modification times, version 1 8-byte. */
function zeroTimes (w: Walk, box: Box): void {
  const p = box.start + box.header
  need(w.bytes, p, 1, `mp4: ${box.type}`, box.end)
  const version = w.bytes[p]!
  if (version > 1) fail('UNSUPPORTED', `mp4: ${box.type} version ${version}`)
  const bytes = version === 1 ? 16 : 8
  need(w.bytes, p + FULLBOX_BYTES, bytes, `mp4: ${box.type}`, box.end)
  zeroIfDirty(w, p + FULLBOX_BYTES, p + FULLBOX_BYTES + bytes, 'creation/modification times')
}

/**
 * hdlr: FullBox, pre_defined (QuickTime component type) 4, handler_type 4, reserved 12
 * (QuickTime manufacturer + flags), name. Keeps the two type fields, zeroes the rest.
 */
function zeroHandlerName (w: Walk, box: Box): void {
  const p = box.start + box.header + FULLBOX_BYTES + 8
  need(w.bytes, p, 0, 'mp4: hdlr', box.end)
  zeroIfDirty(w, p, box.end, 'handler names')
}

/** dref entries must point into this file (flag 1); any location payload they carry is zeroed. */
function cleanDref (w: Walk, dref: Box): void {
  const p = dref.start + dref.header
  need(w.bytes, p, FULLBOX_BYTES + 4, 'mp4: dref', dref.end)
  const count = u32be(w.bytes, p + FULLBOX_BYTES)
  const entries = readBoxes(w.bytes, p + FULLBOX_BYTES + 4, dref.end, false, w)
  if (entries.length !== count) fail('MALFORMED', 'mp4: dref entry count')
  for (const e of entries) {
    need(w.bytes, e.start + e.header, FULLBOX_BYTES, 'mp4: dref entry', e.end)
    if ((w.bytes[e.start + e.header + 3]! & 1) === 0) fail('UNSUPPORTED', 'mp4: media data in another file')
    zeroIfDirty(w, e.start + e.header + FULLBOX_BYTES, e.end, 'data reference locations')
  }
}

/** stsd of a kept track: zeroes each entry's vendor code, and a video entry's compressor name. */
function cleanStsd (w: Walk, stsd: Box, handler: string): void {
  const p = stsd.start + stsd.header
  need(w.bytes, p, FULLBOX_BYTES + 4, 'mp4: stsd', stsd.end)
  const count = u32be(w.bytes, p + FULLBOX_BYTES)
  const entries = readBoxes(w.bytes, p + FULLBOX_BYTES + 4, stsd.end, false, w)
  if (entries.length !== count || count === 0) fail('MALFORMED', 'mp4: stsd entry count')
  for (const e of entries) {
    if (e.header !== BOX_HEADER_BYTES) fail('MALFORMED', 'mp4: sample entry with extended header')
    if (e.start + SAMPLE_ENTRY_VENDOR_OFFSET + 4 <= e.end) {
      zeroIfDirty(w, e.start + SAMPLE_ENTRY_VENDOR_OFFSET, e.start + SAMPLE_ENTRY_VENDOR_OFFSET + 4, 'sample entry vendor')
    }
    const name = e.start + VISUAL_COMPRESSORNAME_OFFSET
    if (handler === 'vide' && name + VISUAL_COMPRESSORNAME_BYTES <= e.end) {
      zeroIfDirty(w, name, name + VISUAL_COMPRESSORNAME_BYTES, 'compressor names')
    }
  }
}

/**
 * Absolute byte ranges of every sample of a track, from stsz/stz2 (sizes), stsc (samples per
 * chunk) and stco/co64 (chunk offsets). Strict: tables must agree on the sample count.
 */
function sampleRanges (b: Uint8Array, stbl: Box): Array<[number, number]> {
  const boxes = readBoxes(b, stbl.start + stbl.header, stbl.end)
  const find = (t: string): Box | undefined => boxes.find(x => x.type === t)
  const stsz = find('stsz') ?? find('stz2')
  const stsc = find('stsc')
  const stco = find('stco') ?? find('co64')
  if (stsz === undefined || stsc === undefined || stco === undefined) fail('MALFORMED', 'mp4: sample tables missing')

  // Sample sizes.
  let p = stsz.start + stsz.header + FULLBOX_BYTES
  let sampleCount: number
  let sizeOf: (i: number) => number
  need(b, p, 8, `mp4: ${stsz.type}`, stsz.end)
  if (stsz.type === 'stsz') {
    const uniform = u32be(b, p)
    sampleCount = u32be(b, p + 4)
    const table = p + 8
    if (uniform === 0) need(b, table, sampleCount * 4, 'mp4: stsz', stsz.end)
    sizeOf = uniform !== 0 ? () => uniform : i => u32be(b, table + 4 * i)
  } else {
    const field = b[p + 3]!
    sampleCount = u32be(b, p + 4)
    const table = p + 8
    if (field !== 4 && field !== 8 && field !== 16) fail('MALFORMED', 'mp4: stz2 field size')
    need(b, table, Math.ceil(sampleCount * field / 8), 'mp4: stz2', stsz.end)
    sizeOf = field === 16
      ? i => u16be(b, table + 2 * i)
      : field === 8 ? i => b[table + i]! : i => (b[table + (i >> 1)]! >> ((i & 1) === 0 ? 4 : 0)) & 0x0f
  }

  // Chunk offsets.
  p = stco.start + stco.header + FULLBOX_BYTES
  need(b, p, 4, `mp4: ${stco.type}`, stco.end)
  const chunkCount = u32be(b, p)
  const wide = stco.type === 'co64' ? 8 : 4
  need(b, p + 4, chunkCount * wide, `mp4: ${stco.type}`, stco.end)
  const offsetOf = (c: number): number => wide === 8 ? u64be(b, p + 4 + 8 * c) : u32be(b, p + 4 + 4 * c)

  // Sample-to-chunk runs: (first_chunk 1-based, samples_per_chunk, description index).
  const q = stsc.start + stsc.header + FULLBOX_BYTES
  need(b, q, 4, 'mp4: stsc', stsc.end)
  const runs = u32be(b, q)
  need(b, q + 4, runs * 12, 'mp4: stsc', stsc.end)
  const ranges: Array<[number, number]> = []
  let sample = 0
  for (let r = 0; r < runs; r++) {
    const first = u32be(b, q + 4 + 12 * r)
    const perChunk = u32be(b, q + 8 + 12 * r)
    const next = r + 1 < runs ? u32be(b, q + 16 + 12 * r) : chunkCount + 1
    if ((r === 0 && first !== 1) || next <= first || next > chunkCount + 1 || perChunk === 0) fail('MALFORMED', 'mp4: stsc run')
    for (let c = first; c < next; c++) {
      const start = offsetOf(c - 1)
      let length = 0
      for (let k = 0; k < perChunk; k++) {
        if (sample >= sampleCount) fail('MALFORMED', 'mp4: stsc names more samples than stsz')
        length += sizeOf(sample++)
      }
      if (length > 0) ranges.push([start, start + length])
    }
  }
  if (sample !== sampleCount) fail('MALFORMED', 'mp4: stsc and stsz disagree')
  return ranges
}
