/**
 * An in-memory runtime for the peer engine (protocol/peer/resident.ts): no files, no LevelDB,
 * no network. Enough to open a ResidentPeer and ingest messages without starting it; start()
 * fails (it has no libp2p node to make).
 */
import { fail } from '../../protocol/errors.ts'
import { equalBytes, toHex } from '../../protocol/encoding.ts'
import type { Identity } from '../../protocol/identity.ts'
import { resolveHood, type AgencyState, type HoodState } from '../../protocol/hood-state.ts'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import type { PeerClips, PeerRuntime } from '../../protocol/peer/resident.ts'
import type { BackendOp, KeyRange, KeyValue, LocalStore, MessageBackend, PeerHome } from '../../protocol/peer/storage.ts'

const inRange = (key: string, r: KeyRange): boolean =>
  key >= r.gte && (r.lt === undefined || key < r.lt) && (r.lte === undefined || key <= r.lte)

/** Ordered keys in a Map (sorted on each read: fine for tests). */
export class MemoryBackend implements MessageBackend {
  readonly data = new Map<string, Uint8Array>()
  async batch (ops: readonly BackendOp[]): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.data.set(op.key, op.value)
      else this.data.delete(op.key)
    }
  }

  async get (key: string): Promise<Uint8Array | undefined> { return this.data.get(key) }
  async * entries (range: KeyRange): AsyncIterable<[string, Uint8Array]> {
    for (const key of [...this.data.keys()].sort()) if (inRange(key, range)) yield [key, this.data.get(key)!]
  }

  async * keys (range: KeyRange): AsyncIterable<string> {
    for await (const [key] of this.entries(range)) yield key
  }

  async close (): Promise<void> {}
}

/**
 * A memory backend whose batches can be held (hold/release) or made to fail once (failNext),
 * counting them and saying whether each asked for an fsync: for tests of group commit.
 */
export class GatedBackend extends MemoryBackend {
  gate: Promise<void> | undefined
  private open: (() => void) | undefined
  failNext = false
  batches = 0
  syncs: boolean[] = []

  hold (): void { this.gate = new Promise(resolve => { this.open = resolve }) }
  release (): void { this.open?.(); this.gate = undefined }

  override async batch (ops: readonly BackendOp[], options: { readonly sync?: boolean } = {}): Promise<void> {
    this.batches++
    this.syncs.push(options.sync !== false)
    const gate = this.gate
    if (gate !== undefined) await gate
    if (this.failNext) { this.failNext = false; throw new Error('disk full') }
    await super.batch(ops)
  }
}

export class MemoryLocalStore implements LocalStore {
  private readonly sections = new Map<string, Map<string, unknown>>()
  section<V> (name: string): KeyValue<V> {
    let m = this.sections.get(name)
    if (m === undefined) { m = new Map(); this.sections.set(name, m) }
    const map = m as Map<string, V>
    return {
      get: async (key) => structuredClone(map.get(key)),
      put: async (key, value) => { map.set(key, structuredClone(value)) },
      del: async (key) => { map.delete(key) },
      delMany: async (keys) => { for (const k of keys) map.delete(k) },
      entries: async function * (opts = {}) {
        const keys = [...map.keys()].sort()
        if (opts.reverse === true) keys.reverse()
        for (const k of keys) if (map.has(k)) yield [k, map.get(k)!] as [string, V]
      }
    }
  }

  async close (): Promise<void> {}
}

export class MemoryHome implements PeerHome {
  private readonly byId = new Map<string, HoodState>()
  constructor (private readonly me: Identity | undefined, hoods: readonly HoodState[] = [], private readonly agencyState?: AgencyState) {
    for (const h of hoods) this.byId.set(toHex(h.hood.id), h)
  }

  async identity (): Promise<Identity | undefined> { return this.me }
  async agency (): Promise<AgencyState | undefined> { return this.agencyState }
  async hoods (): Promise<HoodState[]> { return [...this.byId.values()] }
  async hoodById (id: Uint8Array): Promise<HoodState | undefined> { return this.byId.get(toHex(id)) }
  async resolveHood (ref?: string): Promise<HoodState> { return resolveHood(await this.hoods(), ref, 'memory') }
  async updateHood (id: Uint8Array, change: (current: HoodState | undefined) => HoodState | Promise<HoodState>): Promise<HoodState> {
    const updated = await change(this.byId.get(toHex(id)))
    if (!equalBytes(updated.hood.id, id)) fail('BAD_ARGUMENT', 'updateHood: the hood id must not change')
    this.byId.set(toHex(id), updated)
    return updated
  }
}

/** A runtime on memory; its nodes cannot be made (the peer is used unstarted). */
export async function memoryRuntime (home: PeerHome): Promise<PeerRuntime<PeerClips>> {
  const noNode = async (): Promise<never> => fail('UNAVAILABLE', 'the memory runtime has no libp2p node')
  return {
    home,
    messages: await MessageStore.open(new MemoryBackend()),
    local: new MemoryLocalStore(),
    createNode: noNode,
    createPublicNode: noNode,
    openClips: noNode
  }
}
