import { describe, expect, it } from 'vitest'
import { stripMetadata, stripMetadataInPlace } from '../../protocol/clip/strip.ts'
import { planMp4 } from '../../protocol/clip/mp4.ts'
import type { BoxNode, Mp4Options } from '../helpers/media.ts'
import { box, boxPaths, concat, latin1, leakedSecrets, makeMp4, parseBoxTree, toLatin1 } from '../helpers/media.ts'
import { outcomeSync } from '../helpers/protocol-fixtures.ts'

const codeOf = (fn: () => unknown): string => outcomeSync(fn, 'OK')

function find (nodes: BoxNode[], path: string): BoxNode[] {
  const [head, ...rest] = path.split('/')
  const here = nodes.filter(n => n.type === head)
  return rest.length === 0 ? here : here.flatMap(n => find(n.children ?? [], rest.join('/')))
}

const u32at = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset).getUint32(o)

const VARIANTS: Array<[string, Mp4Options]> = [
  ['32-bit stco, mdat before moov', {}],
  ['co64 and a 64-bit largesize mdat', { co64: true, largeMdat: true }],
  ['moov first, mdat with size 0 (to end of file)', { mdatToEnd: true, co64: true }],
  ['QuickTime brand', { brand: 'qt  ' }]
]

describe('MP4 / MOV', () => {
  for (const [name, opts] of VARIANTS) {
    it(`blanks metadata in place, same length, audio/video samples untouched: ${name}`, () => {
      const f = makeMp4(opts)
      expect(leakedSecrets(f.bytes).length).toBeGreaterThan(8)
      const out = stripMetadata(f.bytes)
      expect(out.mime).toBe(opts.brand === 'qt  ' ? 'video/quicktime' : 'video/mp4')
      expect(out.bytes.length).toBe(f.bytes.length)
      expect(leakedSecrets(out.bytes)).toEqual([])

      for (const [s, e] of f.keptRanges) expect(out.bytes.subarray(s, e)).toEqual(f.bytes.subarray(s, e))
      for (const [s, e] of f.metaRanges) expect(out.bytes.subarray(s, e).every(b => b === 0)).toBe(true)
      // mdat: every byte either unchanged or, for the GPS track, zero.
      const [ms, me] = f.mdatPayload
      const metaByte = (i: number): boolean => f.metaRanges.some(([s, e]) => i >= s && i < e)
      for (let i = ms; i < me; i++) if (!metaByte(i)) expect(out.bytes[i]).toBe(f.bytes[i])

      const tree = parseBoxTree(out.bytes)
      const paths = boxPaths(tree)
      expect(paths).not.toContain('moov/udta')
      expect(paths).not.toContain('moov/meta')
      expect(paths).not.toContain('moov/trak/udta')
      expect(paths).not.toContain('uuid')
      const before = parseBoxTree(f.bytes)
      expect(tree.map(n => n.start)).toEqual(before.map(n => n.start)) // top-level layout unchanged
      expect(find(tree, 'mdat')).toHaveLength(1)

      // Two tracks left, video and audio; their sample tables unchanged.
      const traks = find(tree, 'moov/trak')
      expect(traks).toHaveLength(2)
      const handlers = find(tree, 'moov/trak/mdia/hdlr').map(h => toLatin1(out.bytes.subarray(h.start + 16, h.start + 20)))
      expect(handlers).toEqual(['vide', 'soun'])
      for (const t of ['stsz', 'stsc', 'stco', 'co64', 'stts']) {
        for (const n of find(tree, `moov/trak/mdia/minf/stbl/${t}`)) expect(out.bytes.subarray(n.start, n.end)).toEqual(f.bytes.subarray(n.start, n.end))
      }

      // Creation/modification times zeroed.
      const [mvhd] = find(tree, 'moov/mvhd')
      expect(u32at(out.bytes, mvhd!.start + 12)).toBe(0)
      expect(u32at(out.bytes, mvhd!.start + 16)).toBe(0)
      expect(u32at(out.bytes, mvhd!.start + 20)).toBe(1000) // timescale kept
      for (const m of find(tree, 'moov/trak/mdia/mdhd')) expect(out.bytes.subarray(m.start + 12, m.start + 20).every(b => b === 0)).toBe(true)
      for (const t of find(tree, 'moov/trak/tkhd')) {
        expect(out.bytes.subarray(t.start + 12, t.start + 28).every(b => b === 0)).toBe(true)
        expect(u32at(out.bytes, t.start + 28)).toBeGreaterThan(0) // track id kept
      }

      expect(out.removed).toEqual(expect.arrayContaining([
        'uuid', 'creation/modification times', 'handler names', 'udta', 'meta', "track 'meta'", 'free space', 'compressor names'
      ]))
      // Idempotent: a second pass finds nothing left to remove.
      expect(stripMetadata(out.bytes).removed).toEqual([])
      expect(stripMetadata(out.bytes).bytes).toEqual(out.bytes)
    })
  }

  it('stripMetadata leaves the input untouched, a Buffer too (whose slice() is a view)', () => {
    const f = makeMp4()
    const input = Buffer.from(f.bytes)
    const out = stripMetadata(input)
    expect(out.removed.length).toBeGreaterThan(0)
    expect(input.equals(Buffer.from(f.bytes))).toBe(true)
  })

  it('stripMetadataInPlace edits the caller buffer and matches stripMetadata', () => {
    const f = makeMp4()
    const copy = f.bytes.slice()
    const expected = stripMetadata(f.bytes)
    const res = stripMetadataInPlace(copy)
    expect(res.bytes).toBe(copy)
    expect(copy).toEqual(expected.bytes)
    expect(res.removed).toEqual(expected.removed)
  })

  it('a refused file is left untouched by the in-place variant', () => {
    const f = makeMp4()
    // Point the GPS track's first chunk outside mdat: detected only after the whole walk.
    const b = f.bytes.slice()
    const tree = parseBoxTree(b)
    const gpsStco = find(tree, 'moov/trak/mdia/minf/stbl/stco')[2]!
    new DataView(b.buffer).setUint32(gpsStco.start + 16, 4)
    const before = b.slice()
    expect(codeOf(() => stripMetadataInPlace(b))).toBe('MALFORMED')
    expect(b).toEqual(before)
  })

  it('refuses what it cannot clean safely', () => {
    const f = makeMp4()
    const tree = parseBoxTree(f.bytes)
    // External data reference (dref 'url ' without the self-contained flag).
    const ext = f.bytes.slice()
    const drefs = find(tree, 'moov/trak/mdia/minf/dinf')
    ext[drefs[0]!.start + 8 + 16 + 11] = 0
    expect(codeOf(() => stripMetadata(ext))).toBe('UNSUPPORTED')
    // No moov.
    const [ftyp] = find(tree, 'ftyp')
    const [mdat] = find(tree, 'mdat')
    expect(codeOf(() => stripMetadata(concat(f.bytes.subarray(0, ftyp!.end), f.bytes.subarray(mdat!.start, mdat!.end))))).toBe('UNSUPPORTED')
    // Two moovs.
    const [moov] = find(tree, 'moov')
    expect(codeOf(() => stripMetadata(concat(f.bytes, f.bytes.subarray(moov!.start, moov!.end))))).toBe('MALFORMED')
    // Fragmented file carrying a timed-metadata track.
    expect(codeOf(() => stripMetadata(concat(f.bytes, box('moof', box('mfhd', new Uint8Array(8))))))).toBe('UNSUPPORTED')
    // Compressed movie header.
    const cmov = concat(f.bytes.subarray(0, ftyp!.end), box('moov', box('cmov', new Uint8Array(4))))
    expect(codeOf(() => stripMetadata(cmov))).toBe('UNSUPPORTED')
    // Only a metadata track: nothing worth keeping.
    const onlyMeta = f.bytes.slice()
    for (const m of find(tree, 'moov/trak/mdia/hdlr').slice(0, 2)) onlyMeta.set(latin1('text'), m.start + 16)
    expect(codeOf(() => stripMetadata(onlyMeta))).toBe('UNSUPPORTED')
  })

  it('refuses broken box sizes', () => {
    const f = makeMp4()
    const tree = parseBoxTree(f.bytes)
    const [moov] = find(tree, 'moov')
    const dv = (b: Uint8Array): DataView => new DataView(b.buffer)
    const big = f.bytes.slice()
    dv(big).setUint32(moov!.start, moov!.end - moov!.start + 1) // runs past the end
    expect(codeOf(() => stripMetadata(big))).toBe('MALFORMED')
    const small = f.bytes.slice()
    const [trak] = find(tree, 'moov/trak')
    dv(small).setUint32(trak!.start, 4) // smaller than its header
    expect(codeOf(() => stripMetadata(small))).toBe('MALFORMED')
    const nestedZero = f.bytes.slice()
    dv(nestedZero).setUint32(trak!.start, 0) // size 0 below top level
    expect(codeOf(() => stripMetadata(nestedZero))).toBe('MALFORMED')
    const huge = f.bytes.slice()
    dv(huge).setUint32(trak!.start, 1) // largesize read from the next 8 bytes: nonsense
    expect(codeOf(() => stripMetadata(huge))).toBe('MALFORMED')
    const trailing = concat(f.bytes, Uint8Array.of(0, 0, 0))
    expect(codeOf(() => stripMetadata(trailing))).toBe('MALFORMED')
  })

  it('plans without modifying the input', () => {
    const f = makeMp4({ co64: true })
    const before = f.bytes.slice()
    const plan = planMp4(f.bytes)
    expect(plan.blank.length).toBeGreaterThan(0)
    expect(f.bytes).toEqual(before)
  })
})
