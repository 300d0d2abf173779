/** The relay that served the page: its `/relay.json` (node/relay/relay.ts webInfo). */

export interface RelayInfo { peerId: string, ws: string[] }

/** The WebSocket address to use from a page on `pageHost`: one on the same host, else the first. */
export function pickRelayAddr (info: RelayInfo, pageHost: string): string | undefined {
  const host = pageHost.replace(/^\[|\]$/g, '')
  return info.ws.find(a => a.split('/')[2] === host) ?? info.ws[0]
}

/** The page's relay address, or undefined when the page was not served by a relay. */
export async function fetchPageRelay (fetchFn: typeof fetch, pageHost: string): Promise<string | undefined> {
  try {
    const res = await fetchFn('/relay.json', { cache: 'no-store' })
    if (!res.ok) return undefined
    const info = await res.json() as RelayInfo
    if (!Array.isArray(info.ws)) return undefined
    return pickRelayAddr(info, pageHost)
  } catch {
    return undefined
  }
}
