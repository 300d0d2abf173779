import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import {
  checkGeohash, DEFAULT_POST_PRECISION, encodeGeohash, GEOHASH_ALPHABET, geohashBounds, inArea, MAX_POST_PRECISION
} from '../../protocol/geohash.ts'
import { rejectionSync as codeOf } from '../helpers/protocol-fixtures.ts'

const lat = fc.double({ min: -90, max: 90, noNaN: true })
const lon = fc.double({ min: -180, max: 180, noNaN: true })
const precision = fc.integer({ min: 1, max: 12 })
const geohash = fc.string({ unit: fc.constantFrom(...GEOHASH_ALPHABET), minLength: 1, maxLength: 12 })

describe('geohash', () => {
  it('known values (Wikipedia examples)', () => {
    expect(encodeGeohash(57.64911, 10.40744, 11)).toBe('u4pruydqqvj')
    expect(encodeGeohash(42.6, -5.6, 5)).toBe('ezs42')
    expect(encodeGeohash(57.64911, 10.40744)).toBe('u4pruy')
    expect(encodeGeohash(57.64911, 10.40744).length).toBe(DEFAULT_POST_PRECISION)
    const b = geohashBounds('ezs42')
    expect(b.south).toBeCloseTo(42.583, 3)
    expect(b.north).toBeCloseTo(42.627, 3)
    expect(b.west).toBeCloseTo(-5.625, 3)
    expect(b.east).toBeCloseTo(-5.581, 3)
  })

  it('corners of the world', () => {
    expect(encodeGeohash(-90, -180, 4)).toBe('0000')
    expect(encodeGeohash(90, 180, 4)).toBe('zzzz')
    expect(geohashBounds('0')).toEqual({ south: -90, west: -180, north: -45, east: -135 })
    expect(geohashBounds('z')).toEqual({ south: 45, west: 135, north: 90, east: 180 })
  })

  it('the bounds of a point\'s geohash contain the point, and longer hashes refine shorter ones', () => {
    fc.assert(fc.property(lat, lon, precision, (la, lo, p) => {
      const h = encodeGeohash(la, lo, p)
      expect(h).toHaveLength(p)
      const b = geohashBounds(h)
      expect(b.south).toBeLessThanOrEqual(la)
      expect(la).toBeLessThanOrEqual(b.north)
      expect(b.west).toBeLessThanOrEqual(lo)
      expect(lo).toBeLessThanOrEqual(b.east)
      expect(encodeGeohash(la, lo, 12).startsWith(h)).toBe(true)
      expect(inArea(encodeGeohash(la, lo, 12), h)).toBe(true)
    }), { numRuns: runs(250) })
  })

  it('cell sizes halve with each bit: 5 characters is 360/2^13 by 180/2^12 degrees', () => {
    fc.assert(fc.property(geohash, h => {
      const b = geohashBounds(h)
      const bits = h.length * 5
      const lonBits = Math.ceil(bits / 2)
      expect(b.east - b.west).toBeCloseTo(360 / 2 ** lonBits, 12)
      expect(b.north - b.south).toBeCloseTo(180 / 2 ** (bits - lonBits), 12)
    }), { numRuns: runs(25) })
  })

  it('the centre of a cell encodes back to that cell', () => {
    fc.assert(fc.property(geohash, h => {
      const b = geohashBounds(h)
      expect(encodeGeohash((b.south + b.north) / 2, (b.west + b.east) / 2, h.length)).toBe(h)
    }), { numRuns: runs(125) })
  })

  it('rejects characters outside the alphabet (a, i, l, o, upper case, others) with BAD_GEOHASH', () => {
    for (const bad of ['a', 'u4pa', 'i', 'l', 'o', 'U4PR', 'u4 p', 'u4-p', '', 'ü', 'u4pr\n']) {
      expect(codeOf(() => checkGeohash(bad, 12))).toBe('BAD_GEOHASH')
      expect(codeOf(() => geohashBounds(bad))).toBe('BAD_GEOHASH')
    }
    expect(codeOf(() => checkGeohash(42 as never, 12))).toBe('BAD_GEOHASH')
  })

  it('checkGeohash enforces the maximum precision', () => {
    expect(checkGeohash('u4pruydq', MAX_POST_PRECISION)).toBe('u4pruydq')
    expect(codeOf(() => checkGeohash('u4pruydqq', MAX_POST_PRECISION))).toBe('BAD_GEOHASH')
    expect(codeOf(() => geohashBounds('u4pruydqqvjx0'))).toBe('BAD_GEOHASH')
  })

  it('encodeGeohash refuses impossible coordinates and precisions with BAD_ARGUMENT', () => {
    for (const [la, lo] of [[90.1, 0], [-90.1, 0], [0, 180.1], [0, -181], [NaN, 0], [0, Infinity]] as const) {
      expect(codeOf(() => encodeGeohash(la, lo))).toBe('BAD_ARGUMENT')
    }
    for (const p of [0, 13, 1.5, -1]) expect(codeOf(() => encodeGeohash(0, 0, p))).toBe('BAD_ARGUMENT')
  })

  it('inArea is a prefix test', () => {
    expect(inArea('u4pruy', 'u4pr')).toBe(true)
    expect(inArea('u4pruy', 'u4pruy')).toBe(true)
    expect(inArea('u4pr', 'u4pruy')).toBe(false)
    expect(inArea('u4pruy', 'u4ps')).toBe(false)
  })
})
