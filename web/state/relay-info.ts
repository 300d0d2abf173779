/** The relay that served the page: its `/relay.json` (node/relay/relay.ts webInfo). */
import { checkMapTiles, type MapTiles } from '../../protocol/map-tiles.ts'

export interface RelayInfo { peerId: string, ws: string[], mapTiles?: MapTiles }

/** The WebSocket address to use from a page on `pageHost`: one on the same host, else the first. */
export function pickRelayAddr (info: RelayInfo, pageHost: string): string | undefined {
  const host = pageHost.replace(/^\[|\]$/g, '')
  return info.ws.find(a => a.split('/')[2] === host) ?? info.ws[0]
}

/**
 * The page's relay's /relay.json, or undefined when the page was not served by a relay. Street
 * map tiles it offers are kept only if well formed (protocol/map-tiles.ts).
 */
export async function fetchRelayInfo (fetchFn: typeof fetch): Promise<RelayInfo | undefined> {
  try {
    const res = await fetchFn('/relay.json', { cache: 'no-store' })
    if (!res.ok) return undefined
    const info = await res.json() as Record<string, unknown>
    if (!Array.isArray(info.ws) || !info.ws.every(a => typeof a === 'string')) return undefined
    let mapTiles: MapTiles | undefined
    try { mapTiles = info.mapTiles !== undefined ? checkMapTiles(info.mapTiles) : undefined } catch { mapTiles = undefined }
    return { peerId: String(info.peerId), ws: info.ws as string[], ...(mapTiles !== undefined ? { mapTiles } : {}) }
  } catch {
    return undefined
  }
}

/** The page's relay address, or undefined when the page was not served by a relay. */
export async function fetchPageRelay (fetchFn: typeof fetch, pageHost: string): Promise<string | undefined> {
  const info = await fetchRelayInfo(fetchFn)
  return info === undefined ? undefined : pickRelayAddr(info, pageHost)
}
