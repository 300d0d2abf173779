// MP4 cleaning from random reads and a stream: the same plan and the same bytes as the
// in-memory cleaner, whatever the piece sizes, and the same refusals.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { planMp4 } from '../../protocol/clip/mp4.ts'
import { applyMp4Edits, mp4Edits, planMp4At, readTopBoxes, type ReadAt } from '../../protocol/clip/mp4-stream.ts'
import { box, concat, latin1, leakedSecrets, makeMp4, SECRETS, type Mp4Options } from '../helpers/media.ts'
import { outcome } from '../helpers/protocol-fixtures.ts'

const reader = (bytes: Uint8Array, log?: Array<[number, number]>): ReadAt => async (offset, length) => {
  log?.push([offset, length])
  return bytes.slice(offset, offset + length)
}

function pieces (bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  let o = 0
  let i = 0
  while (o < bytes.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]!)
    out.push(bytes.slice(o, o + n))
    o += n
  }
  return out
}

async function collect (it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of it) parts.push(p)
  return concat(...parts)
}

const codeOf = async (fn: () => Promise<unknown>): Promise<string> => outcome(fn, 'OK')

async function streamStrip (bytes: Uint8Array, sizes = [4096]): Promise<Uint8Array> {
  const edits = mp4Edits(await planMp4At(bytes.length, reader(bytes)))
  return collect(applyMp4Edits(edits, bytes.length, pieces(bytes, sizes)))
}

const VARIANTS: Array<[string, Mp4Options]> = [
  ['mdat before moov', {}],
  ['co64 and a 64-bit largesize mdat', { co64: true, largeMdat: true }],
  ['moov first, mdat with size 0', { mdatToEnd: true, co64: true }],
  ['QuickTime brand', { brand: 'qt  ' }]
]

describe('MP4 cleaning from random reads', () => {
  for (const [name, opts] of VARIANTS) {
    it(`plans as planMp4 does and streams the same bytes as stripMetadata: ${name}`, async () => {
      const f = makeMp4(opts)
      const log: Array<[number, number]> = []
      const plan = await planMp4At(f.bytes.length, reader(f.bytes, log))
      expect(plan).toEqual(planMp4(f.bytes))
      // Never reads mdat's payload.
      const [ms, me] = f.mdatPayload
      for (const [o, n] of log) expect(o + n <= ms || o >= me || n <= 32, `read ${o}+${n}`).toBe(true)
      const expected = stripMetadata(f.bytes).bytes
      const out = await streamStrip(f.bytes, [1, 7, 100, 4096])
      expect(out).toEqual(expected)
      expect(leakedSecrets(out)).toEqual([])
    })
  }

  it('any piece sizes give the same output', async () => {
    const f = makeMp4({ co64: true })
    const expected = stripMetadata(f.bytes).bytes
    const edits = mp4Edits(await planMp4At(f.bytes.length, reader(f.bytes)))
    await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 20 }), async (sizes) => {
      const input = pieces(f.bytes, sizes)
      const copies = input.map(p => p.slice())
      expect(await collect(applyMp4Edits(edits, f.bytes.length, input))).toEqual(expected)
      expect(input).toEqual(copies) // the input pieces are never modified
    }), { numRuns: runs(20) })
  })

  it('zeroes a large top-level free box without reading it', async () => {
    const f = makeMp4()
    const big = new Uint8Array((1 << 20) + 100)
    big.set(latin1(SECRETS.free), 5000)
    const bytes = concat(f.bytes, box('free', big))
    const log: Array<[number, number]> = []
    const plan = await planMp4At(bytes.length, reader(bytes, log))
    expect(log.every(([, n]) => n < 1 << 20)).toBe(true)
    expect(plan.removed).toContain('free space')
    const out = await streamStrip(bytes, [65536])
    expect(leakedSecrets(out)).toEqual([])
    expect(out.length).toBe(bytes.length)
  })

  it('refuses what planMp4 refuses, with the same codes', async () => {
    const f = makeMp4()
    const top = await readTopBoxes(f.bytes.length, reader(f.bytes))
    const moov = top.find(b => b.type === 'moov')!
    const cases: Uint8Array[] = [
      concat(f.bytes, Uint8Array.of(0, 0, 0)), // trailing bytes
      concat(f.bytes, f.bytes.subarray(moov.start, moov.end)), // two moovs
      concat(f.bytes, box('moof', box('mfhd', new Uint8Array(8)))), // fragmented with a GPS track
      f.bytes.subarray(0, f.bytes.length - 1) // truncated
    ]
    for (const bytes of cases) {
      let expected = 'OK'
      try { planMp4(bytes) } catch (err) { expected = isPorchlightError(err) ? err.code : 'THROW' }
      expect(expected).not.toBe('OK')
      expect(await codeOf(async () => planMp4At(bytes.length, reader(bytes)))).toBe(expected)
    }
  })

  it('refuses a stream that is not the planned length', async () => {
    const f = makeMp4()
    const edits = mp4Edits(await planMp4At(f.bytes.length, reader(f.bytes)))
    expect(await codeOf(async () => collect(applyMp4Edits(edits, f.bytes.length, [f.bytes.subarray(0, 100)])))).toBe('MALFORMED')
    expect(await codeOf(async () => collect(applyMp4Edits(edits, f.bytes.length, [f.bytes, Uint8Array.of(1)])))).toBe('MALFORMED')
  })
})
