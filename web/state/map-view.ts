/**
 * The map's logic, outside the component (pl-map.ts): posts as the geohash cells their
 * authors chose to share, never anything finer. A post shows as its own cell (its location,
 * at the precision it was sent with); a post without one as the neighborhood's whole area.
 * Drawn over a plain grid of the area (no tiles, so it works without internet).
 */
import { GEOHASH_ALPHABET, geohashBounds, type GeoBounds } from '../../protocol/geohash.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { areaWords } from './compose.ts'
import { kindLabel } from './feed-view.ts'

export interface MapCell {
  /** The cell as the posts carry it: exactly their location (or the area). */
  geohash: string
  bounds: GeoBounds
  count: number
  /** Posts per kind in this cell, most first. */
  kinds: Array<{ kind: string, count: number }>
  /** "about 150 m × 150 m" */
  size: string
}

export interface MapView {
  area: string
  /** What the picture spans: the area and every cell. */
  frame: GeoBounds
  /** The area's 32 sub-cells, the plain grid drawn under the posts. */
  grid: GeoBounds[]
  /** Largest first (so smaller cells are drawn over them). */
  cells: MapCell[]
}

/** The map of `posts` (replies belong to their posts and are left out) in a neighborhood of `area`. */
export function mapView (posts: readonly FeedPost[], area: string): MapView {
  const byCell = new Map<string, Map<string, number>>()
  for (const p of posts) {
    if (p.kind === 'reply') continue
    const cell = p.location ?? p.area ?? area
    const kinds = byCell.get(cell) ?? new Map<string, number>()
    kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1)
    byCell.set(cell, kinds)
  }
  const cells: MapCell[] = [...byCell].map(([geohash, kinds]) => ({
    geohash,
    bounds: geohashBounds(geohash),
    count: [...kinds.values()].reduce((a, b) => a + b, 0),
    kinds: [...kinds].map(([kind, count]) => ({ kind, count })).sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind)),
    size: areaWords(geohash, geohash.length)
  }))
  cells.sort((a, b) => a.geohash.length - b.geohash.length || b.count - a.count || a.geohash.localeCompare(b.geohash))
  const areaBounds = geohashBounds(area)
  return { area, frame: union([areaBounds, ...cells.map(c => c.bounds)]), grid: [...GEOHASH_ALPHABET].map(c => geohashBounds(area + c)), cells }
}

function union (bs: readonly GeoBounds[]): GeoBounds {
  return {
    south: Math.min(...bs.map(b => b.south)),
    west: Math.min(...bs.map(b => b.west)),
    north: Math.max(...bs.map(b => b.north)),
    east: Math.max(...bs.map(b => b.east))
  }
}

export interface Box { x: number, y: number, width: number, height: number }

/**
 * Places `b` in a picture of `frame` that is `width` units wide (equirectangular, longitude
 * scaled by the cosine of the frame's middle latitude, so cells keep their shape); the
 * picture's height is `pictureHeight(frame, width)`.
 */
export function place (b: GeoBounds, frame: GeoBounds, width: number): Box {
  const k = width / ((frame.east - frame.west) * lonScale(frame))
  return {
    x: (b.west - frame.west) * lonScale(frame) * k,
    y: (frame.north - b.north) * k,
    width: (b.east - b.west) * lonScale(frame) * k,
    height: (b.north - b.south) * k
  }
}

export function pictureHeight (frame: GeoBounds, width: number): number {
  return width * (frame.north - frame.south) / ((frame.east - frame.west) * lonScale(frame))
}

function lonScale (frame: GeoBounds): number {
  return Math.cos(((frame.north + frame.south) / 2) * Math.PI / 180)
}

/** A cell in words, for the list beside the picture: "3 posts: Crime 2, Lost or found pet 1". */
export function cellWords (c: MapCell): string {
  return `${c.count} post${c.count === 1 ? '' : 's'}: ${c.kinds.map(k => `${kindLabel(k.kind)} ${k.count}`).join(', ')}`
}
