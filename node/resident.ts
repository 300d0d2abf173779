/**
 * The resident's (or agency's) peer in Node: the engine (protocol/peer/resident.ts) on the
 * home folder, LevelDB (the messages, and the local feed and outboxes, under the home's db/),
 * a libp2p node with TCP and WebSockets whose key lives in <home>/node-key, and the clip store
 * in db/clips.
 */
import { join } from 'node:path'
import { ResidentPeer as Engine, type PeerInit, type PeerRuntime } from '../protocol/peer/resident.ts'
import { createNode, loadOrCreateNodeKey } from './libp2p.ts'
import type { ClipStore } from '../protocol/peer/clip-store.ts'
import { openNodeClipStore } from './storage/clips.ts'
import { openMessageStore } from './storage/level-messages.ts'
import { LevelLocalStore } from './storage/level-local.ts'
import type { Home } from './storage/home-dir.ts'

export {
  RECONNECT_MAX_MS, RECONNECT_MIN_MS, REANNOUNCE_JOIN_MS, RENAME_NOTICE_MS,
  type AgencyReplyEntry, type Arrival, type FeedPost, type PeerInit, type PeerSettings, type PostOptions, type PostOutcome, type ReplyAudience, type ReplyMode, type ReplyOutcome
} from '../protocol/peer/resident.ts'

/** The engine with Node's clip store. */
export type ResidentPeer = Engine<ClipStore>

/** How the runtime's nodes reach the network. */
export interface NodeRuntimeInit {
  /** Local address the node's TCP dials leave from (a multi-homed host; a bench's household on its own loopback address). */
  dialFrom?: string
}

/** Node's runtime for the engine, on `home` (created if missing): storage open, nodes not yet made. */
export async function nodeRuntime (home: Home, init: NodeRuntimeInit = {}): Promise<PeerRuntime<ClipStore>> {
  await home.ensure()
  const messages = await openMessageStore(join(home.dataDir, 'messages'))
  let local: LevelLocalStore
  try {
    local = await LevelLocalStore.open(join(home.dataDir, 'local'))
  } catch (err) {
    await messages.close()
    throw err
  }
  const dial = init.dialFrom !== undefined ? { dialFrom: init.dialFrom } : {}
  return {
    home,
    messages,
    local,
    createNode: async () => createNode({ privateKey: await loadOrCreateNodeKey(join(home.root, 'node-key')), ...dial }),
    // A fresh peer id each time: public copies are not linked to this peer (public-copy.ts).
    createPublicNode: async () => createNode(dial),
    openClips: async (node) => await openNodeClipStore(node, join(home.dataDir, 'clips'))
  }
}

/** Opens the peer of the home at `home` (not started: see ResidentPeer.start). */
export async function openResidentPeer (home: Home, init: PeerInit = {}, runtime: NodeRuntimeInit = {}): Promise<ResidentPeer> {
  return Engine.open(await nodeRuntime(home, runtime), init)
}
