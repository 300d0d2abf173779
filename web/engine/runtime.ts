/**
 * The browser's runtime for the peer engine (protocol/peer/resident.ts): IndexedDB storage
 * (db.ts, dexie-storage.ts, home.ts), a libp2p node over WebSockets whose key is kept in
 * IndexedDB, and the clip store (clips.ts), loaded only when a clip is attached or opened.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import { RECONNECT_MAX_MS, RECONNECT_MIN_MS, ResidentPeer, type PeerInit, type PeerRuntime } from '../../protocol/peer/resident.ts'
import { PorchlightDb } from './db.ts'
import { DexieBackend, DexieLocalStore } from './dexie-storage.ts'
import { createBrowserNode } from './libp2p.ts'
import type { BrowserHome } from './home.ts'
import { guardOutbox, REFUSED_SECTION, type Refusal } from './outbox-view.ts'
import { BrowserClips } from './clips.ts'

export type BrowserPeer = ResidentPeer<BrowserClips>

const NODE_KEY = 'node-key'

async function nodeKey (db: PorchlightDb): Promise<PrivateKey> {
  const saved = await db.secrets.get(NODE_KEY)
  if (saved !== undefined) return privateKeyFromProtobuf(saved)
  const key = await generateKeyPair('Ed25519')
  await db.secrets.put(privateKeyToProtobuf(key), NODE_KEY)
  return key
}

export interface BrowserRuntimeInit {
  home: BrowserHome
  /** The relay that served the page (always allowed by the gater), if known. */
  pageRelay?: string
  pageHost: string
  dbName?: string
}

/** A runtime on its own database connections (the engine closes them when it stops). */
export async function browserRuntime (init: BrowserRuntimeInit): Promise<PeerRuntime<BrowserClips>> {
  const db = new PorchlightDb(init.dbName)
  await db.open()
  const policy = {
    pageHost: init.pageHost,
    relays: () => [...(init.pageRelay !== undefined ? [init.pageRelay] : []), ...allowed]
  }
  // The relays of every neighborhood (and an agency's), read when the node is made (the gater asks synchronously).
  let allowed: string[] = []
  // An agency's: the relays it follows its areas through.
  const refresh = async (): Promise<void> => { allowed = [...(await init.home.hoods()).flatMap(h => [...h.relays]), ...(await init.home.agency())?.relays ?? []] }
  return {
    home: init.home,
    messages: await MessageStore.open(new DexieBackend(db)),
    local: new DexieLocalStore(db),
    createNode: async () => { await refresh(); return await createBrowserNode(policy, await nodeKey(db)) },
    // A fresh peer id each time: public copies are not linked to this peer (public-copy.ts);
    // no reservation, no WebRTC: the copy leaves through the relays and the node stops.
    createPublicNode: async () => { await refresh(); return await createBrowserNode(policy, undefined, { webrtc: false }) },
    // A runtime on its own database keeps its clips apart too.
    openClips: async (node) => new BrowserClips(node, init.dbName !== undefined ? { blocks: `${init.dbName}-clip-blocks`, data: `${init.dbName}-clip-data` } : undefined)
  }
}

/**
 * Opens the engine in the page (not started). Its outbox flushes one at a time and keeps
 * refusals for the UI (outbox-view.ts), and its stayConnected() also dials, with the same
 * backoff, the relays that were down when it started (the engine's redials only relays it lost).
 */
export async function openBrowserPeer (init: BrowserRuntimeInit, peerInit: PeerInit = {}): Promise<BrowserPeer> {
  const runtime = await browserRuntime(init)
  const peer = await ResidentPeer.open(runtime, peerInit)
  guardOutbox(peer, runtime.local.section<Refusal>(REFUSED_SECTION))
  const stay = peer.stayConnected.bind(peer)
  peer.stayConnected = (onChange = () => {}) => {
    const stopStaying = stay(onChange)
    const stopReaching = reachRelays(peer, onChange)
    return () => { stopStaying(); stopReaching() }
  }
  return peer
}

/**
 * Dials each relay not connected now, with backoff, until it answers; then sends the outbox
 * and catches up, as the engine does for a relay that came back. Returns a stop function.
 */
export function reachRelays (peer: BrowserPeer, onChange: (event: 'lost' | 'regained', relay: string) => void): () => void {
  const node = peer.node()
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let stopped = false
  const connected = (relay: string): boolean => {
    const id = multiaddr(relay).getComponents().find(c => c.name === 'p2p')?.value
    return node.getConnections().some(c => c.remotePeer.toString() === id)
  }
  const attempt = (relay: string, delay: number): void => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      void (async () => {
        if (stopped || connected(relay)) return
        try {
          await node.dial(multiaddr(relay), { signal: AbortSignal.timeout(5000) })
        } catch {
          if (!stopped) attempt(relay, Math.min(delay * 2, RECONNECT_MAX_MS))
          return
        }
        if (stopped) return
        await peer.flushOutbox().catch(() => undefined)
        await peer.sync().catch(() => undefined)
        if (!stopped) onChange('regained', relay)
      })()
    }, delay)
    timers.add(timer)
  }
  for (const relay of peer.relays()) if (!connected(relay)) attempt(relay, RECONNECT_MIN_MS)
  return () => {
    stopped = true
    for (const t of timers) clearTimeout(t)
  }
}
