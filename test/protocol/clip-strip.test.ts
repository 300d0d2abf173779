import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { decode as decodeJpeg } from 'jpeg-js'
import { PNG } from 'pngjs'
import { MAX_CLIP_BYTES, stripMetadata } from '../../protocol/clip/strip.ts'
import { sniffClip } from '../../protocol/clip/sniff.ts'
import {
  SECRETS, concat, indexOfBytes, latin1, leakedSecrets, makeJpeg, makeMp4, makePng, makeWebp, piexif,
  pngChunk, riff, riffChunk, toLatin1, vp8lSolid
} from '../helpers/media.ts'
import { outcomeSync } from '../helpers/protocol-fixtures.ts'

const codeOf = (fn: () => unknown): string => outcomeSync(fn, 'OK')

/** Marker codes of a JPEG's segments up to the first SOS (independent of the code under test). */
function jpegMarkers (b: Uint8Array): number[] {
  const out: number[] = []
  let pos = 2
  for (;;) {
    const marker = b[pos + 1]!
    out.push(marker)
    if (marker === 0xda) return out
    pos += 2 + ((b[pos + 2]! << 8) | b[pos + 3]!)
  }
}

function pngChunkTypes (b: Uint8Array): string[] {
  const out: string[] = []
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let pos = 8; pos < b.length;) {
    const len = dv.getUint32(pos)
    out.push(toLatin1(b.subarray(pos + 4, pos + 8)))
    pos += 12 + len
  }
  return out
}

function riffChunks (b: Uint8Array): Array<{ type: string, payload: Uint8Array }> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const out: Array<{ type: string, payload: Uint8Array }> = []
  for (let pos = 12; pos < 8 + dv.getUint32(4, true);) {
    const size = dv.getUint32(pos + 4, true)
    out.push({ type: toLatin1(b.subarray(pos, pos + 4)), payload: b.subarray(pos + 8, pos + 8 + size) })
    pos += 8 + size + (size & 1)
  }
  return out
}

describe('sniffClip', () => {
  it('recognises the supported containers from magic bytes', () => {
    expect(sniffClip(makeJpeg().bytes)).toEqual({ kind: 'jpeg', mime: 'image/jpeg' })
    expect(sniffClip(makePng().bytes)).toEqual({ kind: 'png', mime: 'image/png' })
    expect(sniffClip(makeWebp().bytes)).toEqual({ kind: 'webp', mime: 'image/webp' })
    expect(sniffClip(makeMp4().bytes)).toEqual({ kind: 'mp4', mime: 'video/mp4' })
    expect(sniffClip(makeMp4({ brand: 'qt  ' }).bytes)).toEqual({ kind: 'mp4', mime: 'video/quicktime' })
  })

  it('refuses other types, including HEIF/AVIF stills in ISO BMFF', () => {
    expect(codeOf(() => sniffClip(latin1('GIF89a\x01\x00\x01\x00')))).toBe('UNSUPPORTED')
    expect(codeOf(() => sniffClip(new Uint8Array(0)))).toBe('UNSUPPORTED')
    expect(codeOf(() => sniffClip(latin1('%PDF-1.7 hello')))).toBe('UNSUPPORTED')
    expect(codeOf(() => sniffClip(makeMp4({ brand: 'heic' }).bytes))).toBe('UNSUPPORTED')
    expect(codeOf(() => sniffClip(makeMp4({ brand: 'avif' }).bytes))).toBe('UNSUPPORTED')
  })

  it('refuses clips over MAX_CLIP_BYTES before parsing', () => {
    const huge = new Uint8Array(MAX_CLIP_BYTES + 1)
    huge.set([0xff, 0xd8, 0xff])
    expect(codeOf(() => stripMetadata(huge))).toBe('TOO_LARGE')
  })
})

describe('JPEG', () => {
  it('removes EXIF (GPS, make, model), XMP, IPTC, ICC, COM, the JFIF thumbnail and trailing data', () => {
    const { bytes, plain } = makeJpeg({ orientation: 6 })
    expect(leakedSecrets(bytes).length).toBeGreaterThan(10) // the fixture really carries them
    const out = stripMetadata(bytes)
    expect(out.mime).toBe('image/jpeg')
    expect(leakedSecrets(out.bytes)).toEqual([])
    expect(out.removed).toEqual(expect.arrayContaining([
      'APP1 Exif', 'APP1 XMP', 'APP13 Photoshop 3.0', 'APP2 ICC_PROFILE', 'COM', 'APP0 JFIF thumbnail', 'data after EOI'
    ]))
    // Same pixels as the JPEG before any metadata was added.
    const want = decodeJpeg(plain, { useTArray: true })
    const got = decodeJpeg(out.bytes, { useTArray: true })
    expect(got.width).toBe(want.width)
    expect(Buffer.from(got.data).equals(Buffer.from(want.data))).toBe(true)
  })

  it('keeps a rotated photo upright: a minimal EXIF with only Orientation', () => {
    const out = stripMetadata(makeJpeg({ orientation: 6 }).bytes).bytes
    expect(jpegMarkers(out).filter(m => m >= 0xe0 && m <= 0xef)).toEqual([0xe0, 0xe1]) // JFIF, EXIF
    const exif = piexif.load(toLatin1(out))
    expect(exif['0th']).toEqual({ [piexif.ImageIFD.Orientation!]: 6 })
    expect(exif.GPS ?? {}).toEqual({})
    expect(exif.Exif ?? {}).toEqual({})
    // jpeg-js (untyped field) finds the EXIF block too.
    expect((decodeJpeg(out, { useTArray: true }) as { exifBuffer?: Uint8Array }).exifBuffer).toBeDefined()
  })

  it('leaves no EXIF when Orientation is 1 or absent', () => {
    for (const orientation of [1, undefined]) {
      const out = stripMetadata(makeJpeg({ orientation }).bytes).bytes
      expect(indexOfBytes(out, latin1('Exif\0\0'))).toBe(-1)
      expect(jpegMarkers(out).filter(m => m >= 0xe0 && m <= 0xef)).toEqual([0xe0])
    }
  })

  it('reads Orientation from little-endian EXIF too, and ignores a malformed tag', () => {
    const { plain } = makeJpeg()
    const tiff = (type: number, value: number): Uint8Array => Uint8Array.of(
      0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, // 'II', 42, IFD0 at 8
      2, 0, // two entries
      0x0f, 0x01, 2, 0, 4, 0, 0, 0, 0x41, 0x63, 0x6d, 0x65, // Make 'Acme' (ASCII, inline)
      0x12, 0x01, type, 0, 1, 0, 0, 0, value, 0, 0, 0, // Orientation
      0, 0, 0, 0)
    const withExif = (t: Uint8Array): Uint8Array => concat(plain.subarray(0, 2), Uint8Array.of(0xff, 0xe1, 0, 8 + t.length), latin1('Exif\0\0'), t, plain.subarray(2))
    const rotated = stripMetadata(withExif(tiff(3, 8))).bytes
    expect(piexif.load(toLatin1(rotated))['0th']).toEqual({ [piexif.ImageIFD.Orientation!]: 8 })
    expect(indexOfBytes(rotated, latin1('Acme'))).toBe(-1)
    const wrongType = stripMetadata(withExif(tiff(4, 8))).bytes // LONG instead of SHORT
    expect(indexOfBytes(wrongType, latin1('Exif'))).toBe(-1)
    const outOfRange = stripMetadata(withExif(tiff(3, 9))).bytes
    expect(indexOfBytes(outOfRange, latin1('Exif'))).toBe(-1)
  })

  it('keeps the Adobe APP14 colour-transform segment', () => {
    const out = stripMetadata(makeJpeg({ adobe: true }).bytes).bytes
    expect(jpegMarkers(out)).toContain(0xee)
    expect(indexOfBytes(out, latin1('Adobe'))).toBeGreaterThan(0)
  })

  it('is idempotent and passes a clean encoder output through unchanged in content', () => {
    const once = stripMetadata(makeJpeg({ orientation: 3 }).bytes).bytes
    expect(stripMetadata(once).bytes).toEqual(once)
    const { plain } = makeJpeg()
    const clean = stripMetadata(plain)
    expect(clean.removed).toEqual([])
    expect(clean.bytes).toEqual(plain)
  })

  it('copies entropy-coded data verbatim: stuffed bytes, RSTn, fill bytes before a marker', () => {
    const { plain } = makeJpeg()
    const sos = indexOfBytes(plain, Uint8Array.of(0xff, 0xda))
    const scan = sos + 2 + ((plain[sos + 2]! << 8) | plain[sos + 3]!)
    const mid = scan + 20
    // RST0 and a stuffed FF00 inside the scan, two fill bytes before EOI.
    const tricky = concat(plain.subarray(0, mid), Uint8Array.of(0xff, 0xd0, 0xff, 0x00), plain.subarray(mid, plain.length - 2), Uint8Array.of(0xff, 0xff, 0xff, 0xd9))
    const out = stripMetadata(tricky)
    expect(out.removed).toEqual([])
    expect(out.bytes).toEqual(tricky) // fill bytes are legal (and only ever 0xFF): kept with the scan
  })

  it('refuses markers it does not understand and broken structure', () => {
    const { plain } = makeJpeg()
    const jpegLs = concat(plain.subarray(0, 2), Uint8Array.of(0xff, 0xf7, 0, 4, 0, 0), plain.subarray(2))
    expect(codeOf(() => stripMetadata(jpegLs))).toBe('UNSUPPORTED')
    const sof = indexOfBytes(plain, Uint8Array.of(0xff, 0xc0))
    const sofLen = (plain[sof + 2]! << 8) | plain[sof + 3]!
    const twoFrames = concat(plain.subarray(0, sof + 2 + sofLen), plain.subarray(sof, sof + 2 + sofLen), plain.subarray(sof + 2 + sofLen))
    expect(codeOf(() => stripMetadata(twoFrames))).toBe('UNSUPPORTED')
    expect(codeOf(() => stripMetadata(plain.subarray(0, plain.length - 2)))).toBe('MALFORMED') // no EOI
    const badDqt = plain.slice()
    const dqt = indexOfBytes(badDqt, Uint8Array.of(0xff, 0xdb))
    badDqt[dqt + 4] = 0x27 // precision 2
    expect(codeOf(() => stripMetadata(badDqt))).toBe('MALFORMED')
  })
})

describe('PNG', () => {
  it('drops text, XMP, EXIF, time, ICC, unknown chunks and data after IEND; pixels unchanged', () => {
    const { bytes, pixels } = makePng()
    expect(leakedSecrets(bytes).length).toBeGreaterThan(5)
    const out = stripMetadata(bytes)
    expect(out.mime).toBe('image/png')
    expect(leakedSecrets(out.bytes)).toEqual([])
    expect(out.removed).toEqual(['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME', 'iCCP', 'prVt', 'data after IEND'])
    expect(pngChunkTypes(out.bytes)).toEqual(['IHDR', 'gAMA', 'pHYs', 'IDAT', 'IEND'])
    const decoded = PNG.sync.read(Buffer.from(out.bytes))
    expect(Buffer.from(decoded.data).equals(Buffer.from(pixels))).toBe(true)
  })

  it('refuses bad CRCs, unknown critical chunks and broken chunk order', () => {
    const { plain } = makePng()
    const badCrc = plain.slice()
    badCrc[40] = badCrc[40]! ^ 1 // inside the first IDAT
    expect(codeOf(() => stripMetadata(badCrc))).toBe('MALFORMED')
    const ihdrEnd = 33
    const critical = concat(plain.subarray(0, ihdrEnd), pngChunk('ABCD', latin1('x')), plain.subarray(ihdrEnd))
    expect(codeOf(() => stripMetadata(critical))).toBe('UNSUPPORTED')
    const noIend = plain.subarray(0, plain.length - 12)
    expect(codeOf(() => stripMetadata(noIend))).toBe('MALFORMED')
    const idat = plain.subarray(ihdrEnd, plain.length - 12)
    const split = concat(plain.subarray(0, ihdrEnd), idat, pngChunk('tEXt', latin1('a\0b')), idat, plain.subarray(plain.length - 12))
    expect(codeOf(() => stripMetadata(split))).toBe('MALFORMED')
  })
})

describe('WebP', () => {
  it('drops EXIF, XMP, ICCP and unknown chunks, clears their VP8X flags and fixes the RIFF size', () => {
    const { bytes, image } = makeWebp()
    expect(leakedSecrets(bytes).length).toBeGreaterThan(3)
    const out = stripMetadata(bytes)
    expect(out.mime).toBe('image/webp')
    expect(leakedSecrets(out.bytes)).toEqual([])
    expect(out.removed).toEqual(['data after RIFF', 'VP8X metadata flags', 'ICCP', 'EXIF', 'XMP', 'ZZZZ'])
    const chunks = riffChunks(out.bytes)
    expect(chunks.map(c => c.type)).toEqual(['VP8X', 'VP8L'])
    expect(chunks[0]!.payload[0]).toBe(0x10) // alpha kept; ICC, EXIF, XMP cleared
    expect(new DataView(out.bytes.buffer, out.bytes.byteOffset).getUint32(4, true)).toBe(out.bytes.length - 8)
    expect(indexOfBytes(out.bytes, image)).toBeGreaterThan(0) // bitstream byte-identical
  })

  it('filters the sub-chunks of animation frames', () => {
    const frame = concat(new Uint8Array(16), riffChunk('VP8L', vp8lSolid(2, 2, [255, 9, 9, 9])), riffChunk('XMP ', latin1(SECRETS.xmp)))
    const vp8x = Uint8Array.of(0x02 | 0x04, 0, 0, 0, 1, 0, 0, 1, 0, 0) // animation + XMP, 2x2
    const anim = riff([riffChunk('VP8X', vp8x), riffChunk('ANIM', new Uint8Array(6)), riffChunk('ANMF', frame), riffChunk('ANMF', frame)])
    const out = stripMetadata(anim)
    expect(leakedSecrets(out.bytes)).toEqual([])
    expect(out.removed).toEqual(['VP8X metadata flags', 'ANMF/XMP'])
    const chunks = riffChunks(out.bytes)
    expect(chunks.map(c => c.type)).toEqual(['VP8X', 'ANIM', 'ANMF', 'ANMF'])
    expect(chunks[0]!.payload[0]).toBe(0x02)
    expect(chunks[2]!.payload).toEqual(frame.subarray(0, 16 + riffChunk('VP8L', vp8lSolid(2, 2, [255, 9, 9, 9])).length))
    // An animation flag without frames, or a frame without the flag, is refused.
    expect(codeOf(() => stripMetadata(riff([riffChunk('VP8X', vp8x), riffChunk('ANIM', new Uint8Array(6))])))).toBe('MALFORMED')
    expect(codeOf(() => stripMetadata(riff([riffChunk('VP8X', new Uint8Array(10)), riffChunk('ANMF', frame)])))).toBe('MALFORMED')
  })

  it('passes a simple lossless file through unchanged', () => {
    const simple = riff([concat(latin1('VP8L'), Uint8Array.of(8, 0, 0, 0), vp8lSolid(3, 3, [255, 1, 2, 3]).subarray(0, 8))])
    const out = stripMetadata(simple)
    expect(out.removed).toEqual([])
    expect(out.bytes).toEqual(simple)
  })

  it('refuses truncated RIFF and bad bitstream signatures', () => {
    const { bytes } = makeWebp()
    const riffEnd = 8 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true)
    expect(codeOf(() => stripMetadata(bytes.subarray(0, riffEnd - 1)))).toBe('MALFORMED')
    const bad = bytes.slice()
    bad[indexOfBytes(bad, latin1('VP8L')) + 8] = 0x2e
    expect(codeOf(() => stripMetadata(bad))).toBe('MALFORMED')
  })
})

describe('strict parsing (property tests)', () => {
  const fixtures = (): Array<{ name: string, bytes: Uint8Array, essential: number }> => {
    const jpeg = makeJpeg({ orientation: 6 }).bytes
    const png = makePng().bytes
    const webp = makeWebp().bytes
    return [
      { name: 'jpeg', bytes: jpeg, essential: jpeg.length - SECRETS.trailer.length },
      { name: 'png', bytes: png, essential: png.length - SECRETS.trailer.length },
      { name: 'webp', bytes: webp, essential: webp.length - SECRETS.trailer.length },
      { name: 'mp4', bytes: makeMp4().bytes, essential: makeMp4().bytes.length },
      { name: 'mp4 co64/largesize', bytes: makeMp4({ co64: true, largeMdat: true }).bytes, essential: makeMp4({ co64: true, largeMdat: true }).bytes.length }
    ]
  }

  it('random bytes give only PorchlightError', () => {
    const prefixes = [Uint8Array.of(0xff, 0xd8, 0xff), latin1('\x89PNG\r\n\x1a\n'), latin1('RIFF\0\0\0\0WEBP'), latin1('\0\0\0\x18ftypisom'), new Uint8Array(0)]
    fc.assert(fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 600 }), (prefix, tail) => {
      const code = codeOf(() => stripMetadata(concat(prefix, tail)))
      return code !== 'OK'
    }), { numRuns: runs(500) })
  })

  it('every truncation of a valid file is refused with a PorchlightError', () => {
    for (const f of fixtures()) {
      fc.assert(fc.property(fc.integer({ min: 0, max: f.essential - 1 }), cut => {
        expect(['MALFORMED', 'UNSUPPORTED'], `${f.name} cut at ${cut}`).toContain(codeOf(() => stripMetadata(f.bytes.subarray(0, cut))))
      }), { numRuns: runs(75) })
    }
  })

  it('corrupted files either clean or fail with a PorchlightError, never another exception', () => {
    for (const f of fixtures()) {
      fc.assert(fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), flips => {
        const b = f.bytes.slice()
        for (const [at, x] of flips) b[at % b.length]! ^= x
        codeOf(() => stripMetadata(b))
      }), { numRuns: runs(125) })
    }
  })
})
