/**
 * Geohash (base32 "0123456789bcdefghjkmnpqrstuvwxyz"): locations at the precision the
 * author chooses. Precision 5 is about 4.9 km x 4.9 km, 6 about 1.2 km x 0.6 km, 7 about
 * 150 m; Porchlight defaults to 6 for posts and allows at most 8 (about 38 m x 19 m) so a
 * post can never pin a front door.
 */
import { fail } from './errors.ts'

export const GEOHASH_ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz'
export const MAX_AREA_PRECISION = 6
export const MAX_POST_PRECISION = 8
export const DEFAULT_POST_PRECISION = 6
/** Decoders read an area field of up to this many bytes, then check it as a geohash (BAD_GEOHASH). */
export const MAX_AREA_FIELD_BYTES = 16

const VALID = /^[0-9b-hjkmnp-z]+$/

/** Throws BAD_GEOHASH unless `hash` is a geohash of 1..maxLength characters. */
export function checkGeohash (hash: string, maxLength: number, where = 'geohash'): string {
  if (typeof hash !== 'string' || hash.length === 0 || hash.length > maxLength || !VALID.test(hash)) {
    fail('BAD_GEOHASH', `${where}: "${String(hash).slice(0, 16)}" is not a geohash of 1 to ${maxLength} characters`)
  }
  return hash
}

export function encodeGeohash (lat: number, lon: number, precision = DEFAULT_POST_PRECISION): string {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180) {
    fail('BAD_ARGUMENT', 'latitude must be in [-90, 90] and longitude in [-180, 180]')
  }
  if (!Number.isInteger(precision) || precision < 1 || precision > 12) fail('BAD_ARGUMENT', 'precision must be 1..12')
  let latLo = -90; let latHi = 90; let lonLo = -180; let lonHi = 180
  let out = ''
  let bit = 0; let ch = 0; let even = true
  while (out.length < precision) {
    if (even) {
      const mid = (lonLo + lonHi) / 2
      if (lon >= mid) { ch = (ch << 1) | 1; lonLo = mid } else { ch <<= 1; lonHi = mid }
    } else {
      const mid = (latLo + latHi) / 2
      if (lat >= mid) { ch = (ch << 1) | 1; latLo = mid } else { ch <<= 1; latHi = mid }
    }
    even = !even
    if (++bit === 5) { out += GEOHASH_ALPHABET[ch]; bit = 0; ch = 0 }
  }
  return out
}

export interface GeoBounds { south: number, west: number, north: number, east: number }

export function geohashBounds (hash: string): GeoBounds {
  checkGeohash(hash, 12)
  let latLo = -90; let latHi = 90; let lonLo = -180; let lonHi = 180
  let even = true
  for (const c of hash) {
    const v = GEOHASH_ALPHABET.indexOf(c)
    for (let b = 4; b >= 0; b--) {
      const on = ((v >> b) & 1) === 1
      if (even) { const mid = (lonLo + lonHi) / 2; if (on) lonLo = mid; else lonHi = mid } else { const mid = (latLo + latHi) / 2; if (on) latLo = mid; else latHi = mid }
      even = !even
    }
  }
  return { south: latLo, west: lonLo, north: latHi, east: lonHi }
}

/** Is `hash` inside `area` (a shorter geohash prefix)? */
export function inArea (hash: string, area: string): boolean {
  return hash.startsWith(area)
}

/**
 * The area of a post on an area channel (public posts, RFAs): BAD_GEOHASH unless `area` is a
 * geohash of 1..MAX_AREA_PRECISION characters and the post's `location`, if any, lies inside it.
 */
export function checkPostArea (area: string, location: string | undefined, what: string): void {
  checkGeohash(area, MAX_AREA_PRECISION, `${what} area`)
  if (location !== undefined && !inArea(location, area)) fail('BAD_GEOHASH', `${what} location is outside its area`)
}
