/**
 * The browser's runtime for the peer engine (protocol/peer/resident.ts): IndexedDB storage
 * (db.ts, dexie-storage.ts, home.ts), a libp2p node over WebSockets whose key is kept in
 * IndexedDB, and the clip store (clips.ts), loaded only when a clip is attached or opened.
 */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import { ResidentPeer, type PeerInit, type PeerRuntime } from '../../protocol/peer/resident.ts'
import { PorchlightDb } from './db.ts'
import { DexieBackend, DexieLocalStore } from './dexie-storage.ts'
import { createBrowserNode } from './libp2p.ts'
import type { BrowserHome } from './home.ts'
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
  // The relays of every neighborhood, read when the node is made (the gater asks synchronously).
  let allowed: string[] = []
  const refresh = async (): Promise<void> => { allowed = (await init.home.hoods()).flatMap(h => [...h.relays]) }
  return {
    home: init.home,
    messages: await MessageStore.open(new DexieBackend(db)),
    local: new DexieLocalStore(db),
    createNode: async () => { await refresh(); return await createBrowserNode(policy, await nodeKey(db)) },
    // A fresh peer id each time: public copies are not linked to this peer (public-copy.ts).
    createPublicNode: async () => { await refresh(); return await createBrowserNode(policy) },
    // A runtime on its own database keeps its clips apart too.
    openClips: async (node) => new BrowserClips(node, init.dbName !== undefined ? { blocks: `${init.dbName}-clip-blocks`, data: `${init.dbName}-clip-data` } : undefined)
  }
}

/** Opens the engine in the page (not started). */
export async function openBrowserPeer (init: BrowserRuntimeInit, peerInit: PeerInit = {}): Promise<BrowserPeer> {
  return await ResidentPeer.open(await browserRuntime(init), peerInit)
}
