/** How many of the engine's relays the page is connected to, as they connect and drop. */
import type { ResidentPeer } from '../../protocol/peer/resident.ts'

export interface RelayConnections { relaysConnected: number, connection: 'connected' | 'connecting' }

/** Calls `onChange` now and at every connect or disconnect; returns a stop function. */
export function watchRelayConnections (engine: Pick<ResidentPeer, 'node' | 'relays'>, onChange: (c: RelayConnections) => void): () => void {
  const node = engine.node()
  const relayIds = new Set(engine.relays().map(r => r.split('/p2p/')[1]).filter((x): x is string => x !== undefined))
  const update = (): void => {
    const n = node.getConnections().filter(c => relayIds.has(c.remotePeer.toString())).length
    onChange({ relaysConnected: n, connection: n > 0 ? 'connected' : 'connecting' })
  }
  node.addEventListener('peer:connect', update)
  node.addEventListener('peer:disconnect', update)
  update()
  return () => {
    node.removeEventListener('peer:connect', update)
    node.removeEventListener('peer:disconnect', update)
  }
}
