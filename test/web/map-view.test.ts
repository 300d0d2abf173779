// The map's logic: each post is drawn as exactly the cell it carries (never finer), a post
// without a location as the neighborhood's area; cells are placed inside the picture.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { GEOHASH_ALPHABET, geohashBounds, MAX_POST_PRECISION } from '../../protocol/geohash.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { cellWords, mapView, pictureHeight, place } from '../../web/state/map-view.ts'

const AREA = 'u4pru'

function post (i: number, kind: string, location?: string): FeedPost {
  return {
    id: i.toString(16).padStart(64, '0'), channel: 'private', topic: 't', hood: 'Maple Street', kind, text: `post ${i}`,
    created: 1_700_000_000_000 + i, expires: 1_800_000_000_000, media: [], author: 'a'.repeat(64), authorFingerprint: 'AAAA-AAAA-AAAA-AAAA', mine: false,
    ...(location !== undefined ? { location } : {})
  }
}

const cellIn = (area: string) => fc.array(fc.constantFrom(...GEOHASH_ALPHABET), { minLength: 0, maxLength: MAX_POST_PRECISION - area.length })
  .map(cs => area + cs.join(''))

describe('the map', () => {
  it('draws each post as the very cell it carries, and one without a location as the area; replies are left out', () => {
    const v = mapView([post(1, 'crime', 'u4pruyd'), post(2, 'pet', 'u4pruyd'), post(3, 'info'), post(4, 'reply', 'u4pruyq'), post(5, 'fire', 'u4pruydq')], AREA)
    expect(v.cells.map(c => [c.geohash, c.count])).toEqual([[AREA, 1], ['u4pruyd', 2], ['u4pruydq', 1]])
    expect(v.cells[1]!.bounds).toEqual(geohashBounds('u4pruyd'))
    expect(cellWords(v.cells[1]!)).toBe('2 posts: Crime 1, Lost or found pet 1')
    expect(v.grid).toHaveLength(32)
    expect(v.frame).toEqual(geohashBounds(AREA))
  })

  it('never has a cell finer than a post\'s own location, and places every cell inside the picture', () => {
    fc.assert(fc.property(fc.array(fc.option(cellIn(AREA), { nil: undefined }), { maxLength: 30 }), locations => {
      const posts = locations.map((l, i) => post(i, 'info', l))
      const v = mapView(posts, AREA)
      const carried = new Set(locations.map(l => l ?? AREA))
      for (const c of v.cells) {
        expect(carried.has(c.geohash)).toBe(true)
        expect(c.bounds).toEqual(geohashBounds(c.geohash))
        const r = place(c.bounds, v.frame, 360)
        expect(r.x).toBeGreaterThanOrEqual(-1e-9)
        expect(r.y).toBeGreaterThanOrEqual(-1e-9)
        expect(r.x + r.width).toBeLessThanOrEqual(360 + 1e-9)
        expect(r.y + r.height).toBeLessThanOrEqual(pictureHeight(v.frame, 360) + 1e-9)
      }
      expect(v.cells.reduce((n, c) => n + c.count, 0)).toBe(posts.length)
    }), { numRuns: runs(100) })
  })
})
