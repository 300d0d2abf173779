/**
 * A street map under the neighborhood map, if a relay's operator offers one: a tile URL
 * template (Leaflet's {z}/{x}/{y}) and its attribution, given to the relay (`--map-tiles`) and
 * passed to pages in /relay.json. Checked on both sides: a page takes only a well-formed
 * http(s) template with the three placeholders, and plain-text attribution.
 */
import { fail } from './errors.ts'

export interface MapTiles {
  /** e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png */
  url: string
  /** Shown on the map, e.g. "© OpenStreetMap contributors". */
  attribution?: string
}

export const MAX_TILE_URL_CHARS = 512
export const MAX_ATTRIBUTION_CHARS = 200

/** The tiles as given, checked; BAD_ARGUMENT naming what is wrong. */
export function checkMapTiles (value: unknown): MapTiles {
  if (typeof value !== 'object' || value === null) fail('BAD_ARGUMENT', 'map tiles: expected { url, attribution? }')
  const { url, attribution } = value as Record<string, unknown>
  if (typeof url !== 'string' || url.length > MAX_TILE_URL_CHARS) fail('BAD_ARGUMENT', `map tiles: the URL must be text of at most ${MAX_TILE_URL_CHARS} characters`)
  let parsed: URL
  try {
    parsed = new URL(url.replace(/\{[a-z]\}/g, '0'))
  } catch {
    fail('BAD_ARGUMENT', 'map tiles: not a URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') fail('BAD_ARGUMENT', 'map tiles: the URL must be http(s)')
  for (const p of ['{z}', '{x}', '{y}']) if (!url.includes(p)) fail('BAD_ARGUMENT', `map tiles: the URL needs ${p} (a Leaflet tile template)`)
  if (/[\s"'<>\\]/.test(url)) fail('BAD_ARGUMENT', 'map tiles: the URL has spaces, quotes or angle brackets')
  if (attribution !== undefined && (typeof attribution !== 'string' || attribution.length > MAX_ATTRIBUTION_CHARS || /[<>]/.test(attribution))) {
    fail('BAD_ARGUMENT', `map tiles: the attribution is plain text of at most ${MAX_ATTRIBUTION_CHARS} characters`)
  }
  return { url, ...(attribution !== undefined && attribution !== '' ? { attribution } : {}) }
}

/** The host a page would fetch tiles from (said to the resident before any is fetched). */
export function tileHost (tiles: MapTiles): string {
  return new URL(tiles.url.replace(/\{[a-z]\}/g, '0')).host
}
