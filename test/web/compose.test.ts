// The composer's logic in Node (web/state/compose.ts): text validation, the fair-posting hold
// (the corpus both ways), location precision in words, what cleaning removed said plainly, the
// progress through a send's phases.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import {
  areaWords, distanceWords, exifDetails, FAIR_POSTING_LIMITS, fairHold, fairPostingApplies, overallProgress, postLocation, precisionChoices,
  removedWords, textProblem
} from '../../web/state/compose.ts'
import { RESIDENT_KINDS } from '../../web/state/labels.ts'
import { HELD, PASSED } from '../helpers/fair-corpus.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { geohashBounds } from '../../protocol/geohash.ts'
import { makeJpeg, makePng } from '../helpers/media.ts'

describe('the composer', () => {
  it('refuses empty and too long text, counting UTF-8 bytes as the post does', () => {
    expect(textProblem('  \n ')).toBe('Write what happened before sending.')
    expect(textProblem('a'.repeat(2000))).toBeUndefined()
    expect(textProblem('é'.repeat(1001))).toBe('Too long: 2002 bytes, a post holds at most 2000. Shorten it by 2.')
  })

  it('holds every post of the fair-posting corpus that must be held, saying why and what is missing', () => {
    for (const p of HELD) {
      const hold = fairHold(p.kind, p.text)
      expect(hold, p.text).toBeDefined()
      expect(hold!.missing, p.text).toMatch(/^Missing: .+\.$/)
      if (p.missing!.includes('action')) expect(hold!.missing, p.text).toMatch(/^Missing: what the person did/)
      if (p.missing!.includes('descriptors')) expect(hold!.explanation, p.text).toMatch(/Race alone puts every neighbor who looks alike under suspicion/)
    }
  })

  it('lets every near miss of the corpus through', () => {
    for (const p of PASSED) expect(fairHold(p.kind, p.text), p.text).toBeUndefined()
  })

  it('shows the check\'s limits for the kinds it applies to among those a resident picks', () => {
    expect(RESIDENT_KINDS.filter(k => fairPostingApplies(k.kind)).map(k => k.kind).sort()).toEqual(['crime', 'safety', 'suspicious'])
    expect(FAIR_POSTING_LIMITS).toMatch(/word list.*cannot judge intent/)
  })

  it('says distances as people do', () => {
    expect([distanceWords(19.1), distanceWords(153), distanceWords(660.4), distanceWords(1234), distanceWords(4890), distanceWords(39_100)])
      .toEqual(['19 m', '150 m', '660 m', '1.2 km', '4.9 km', '39 km'])
  })

  it('offers the area (needing no position) then each finer cell down to precision 8, coarsest first', () => {
    const c = precisionChoices('u4pru')
    expect(c.map(x => x.precision)).toEqual([5, 6, 7, 8])
    expect(c.map(x => x.needsPosition)).toEqual([false, true, true, true])
    expect(c[0]!.label).toBe(`The neighborhood's area (${areaWords('u4pru', 5)})`)
    // At 57.6° N a cell is about half as wide as at the equator.
    expect(areaWords('u4pru', 7)).toBe('about 82 m × 150 m')
    expect(areaWords('s0000', 7)).toBe('about 150 m × 150 m')
  })

  it('shares a finer cell only with a position inside the area; otherwise the area, and says why', () => {
    fc.assert(fc.property(fc.integer({ min: 6, max: 8 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), (precision, fy, fx) => {
      const b = geohashBounds('u4pru')
      const inside = postLocation('u4pru', precision, { lat: b.south + fy * (b.north - b.south), lon: b.west + fx * (b.east - b.west) })
      expect(inside.geohash).toHaveLength(precision)
      expect(inside.geohash.startsWith('u4pru')).toBe(true)
      expect(inside.note).toBeUndefined()
    }), { numRuns: runs(50) })
    expect(postLocation('u4pru', 5)).toEqual({ geohash: 'u4pru', precision: 5 })
    expect(postLocation('u4pru', 7).note).toMatch(/not available/)
    expect(postLocation('u4pru', 7, { lat: 0, lon: 0 })).toMatchObject({ geohash: 'u4pru', precision: 5, note: expect.stringMatching(/outside/) })
  })

  it('names what cleaning removed: the EXIF details found first, then the rest by kind', () => {
    const photo = makeJpeg().bytes
    expect(exifDetails(photo)).toEqual(['GPS position', 'camera make', 'camera model', 'software', 'date taken and camera settings'])
    const words = removedWords(stripMetadata(photo).removed, exifDetails(photo))
    expect(words.slice(0, 2)).toEqual(['GPS position', 'camera make'])
    expect(words).toContain('hidden data after the image')
    expect(exifDetails(makePng().bytes)).toEqual([])
    expect(removedWords(['APP1 Exif'])).toEqual(['EXIF data (camera details, date, possibly GPS position)'])
  })

  it('moves the progress bar forward through the phases', () => {
    const seq = [
      overallProgress({ phase: 'clean', done: 1, total: 1 }),
      overallProgress({ phase: 'encrypt', done: 5, total: 10 }),
      overallProgress({ phase: 'upload', done: 10, total: 10 }),
      overallProgress({ phase: 'send', done: 1, total: 1 })
    ]
    expect([...seq].sort((a, b) => a - b)).toEqual(seq)
    expect(seq[3]).toBe(1)
  })
})
