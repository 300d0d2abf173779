/**
 * What the peer engine keeps, and the storage each runtime supplies (LevelDB and the home
 * folder in Node, IndexedDB in the browser). Types only: no runtime here.
 */
import type { Identity } from '../identity.ts'
import type { AgencyState, HoodState } from '../hood-state.ts'
import type { SyncItemSet } from '../reconcile/sync.ts'

/** One message as stored and offered to sync. */
export interface StoredMessage {
  readonly topic: string
  /** 32-byte id: SHA-256 of the message bytes. */
  readonly id: Uint8Array
  /** Creation time, ms. */
  readonly ts: number
  /** Expiry time, ms. */
  readonly exp: number
  readonly bytes: Uint8Array
}

/**
 * Every message a peer keeps, by topic and time, with the sync item sets (one per topic, and
 * per kind of message) that set reconciliation reads. protocol/peer/message-store.ts is the
 * one implementation, over a runtime's MessageBackend.
 */
export interface Messages {
  has: (id: Uint8Array) => boolean
  /**
   * Stores a message, durably unless `durable` is false. Resolves true if new, false if
   * already stored; OVER_QUOTA past the topic's quota.
   */
  put: (msg: StoredMessage, options?: PutOptions) => Promise<boolean>
  get: (id: Uint8Array) => Promise<StoredMessage | undefined>
  /** Messages of a topic in (ts, id) order, optionally from a time on. */
  list: (topic: string, since?: number) => AsyncGenerator<StoredMessage>
  /** The sync item set of a topic, or of one kind of its messages (live view; do not mutate). */
  items: (topic: string, kind?: string) => SyncItemSet
  /** The topic a stored message belongs to, if it is stored. */
  topicOf: (id: Uint8Array) => string | undefined
  topicNames: () => string[]
  /** Deletes every message whose expiry is at or before `now`. Returns the ids deleted. */
  sweep: (now: number) => Promise<Uint8Array[]>
  /** Deletes one message. False if absent. */
  delete: (id: Uint8Array) => Promise<boolean>
  /** The stored tombstone (a retraction, retract.ts) naming post `id`, if any: its message id. */
  tombstoneFor: (id: Uint8Array) => Uint8Array | undefined
  /** How many tombstones a topic holds (bounded per topic: OVER_QUOTA past the bound). */
  tombstones: (topic: string) => number
  /** Deletes, once per format, the messages `retired` says no current peer reads. Returns how many. */
  migrate: (format: number, retired: (bytes: Uint8Array) => Promise<boolean>) => Promise<number>
  readonly quotaBytesPerTopic: number
  stats: () => { messages: number, bytes: number, topics: Record<string, { messages: number, bytes: number }> }
  close: () => Promise<void>
}

export interface PutOptions {
  /**
   * false: the write may still be lost in a crash or power cut (no fsync), for a message that
   * a relay holds and sync fetches again (what a peer receives); its own stay durable.
   * @default true
   */
  readonly durable?: boolean
}

/** A key range of a MessageBackend, in key order: from `gte`, up to `lt` (exclusive) or `lte` (inclusive). */
export interface KeyRange {
  readonly gte: string
  readonly lt?: string
  readonly lte?: string
}

export type BackendOp = { readonly type: 'put', readonly key: string, readonly value: Uint8Array } | { readonly type: 'del', readonly key: string }

/**
 * The durable, ordered byte store a MessageStore runs on (LevelDB in Node: node/storage/
 * level-messages.ts). Keys are strings compared as such.
 */
export interface MessageBackend {
  /**
   * Applies the operations atomically; resolves only once they are durable (fsync), unless
   * `sync` is false (a backend may still make it durable).
   */
  batch: (ops: readonly BackendOp[], options?: { readonly sync?: boolean }) => Promise<void>
  get: (key: string) => Promise<Uint8Array | undefined>
  /** Entries in the range, in key order. */
  entries: (range: KeyRange) => AsyncIterable<[string, Uint8Array]>
  /** Keys in the range, in key order. */
  keys: (range: KeyRange) => AsyncIterable<string>
  close: () => Promise<void>
}

/** One named section of the peer's local state: JSON-like values by string key, in key order. */
export interface KeyValue<V> {
  /** The value at `key`, or undefined. */
  get: (key: string) => Promise<V | undefined>
  put: (key: string, value: V) => Promise<void>
  del: (key: string) => Promise<void>
  /** Deletes several keys at once. */
  delMany: (keys: readonly string[]) => Promise<void>
  /** Entries in key order (descending with `reverse`). */
  entries: (opts?: { reverse?: boolean }) => AsyncIterable<[string, V]>
}

/** How a section of the local store writes. */
export interface SectionOptions {
  /**
   * Each write is on disk when it resolves (fsync): for what no relay can give back after a
   * crash (the outbox of posts not yet acknowledged, retraction secrets, joins to send again).
   * Other sections (the feed, week counts) are rebuilt by sync and are written without it.
   */
  durable?: boolean
}

/**
 * The peer's own local state, apart from the messages it keeps for sync: its feed ('posts'),
 * outboxes ('outbox', 'public-outbox') and its joins to send again ('joins').
 */
export interface LocalStore {
  section: <V>(name: string, options?: SectionOptions) => KeyValue<V>
  close: () => Promise<void>
}

/** What the engine reads and writes of a home: the identity, neighborhoods and agency state. */
export interface PeerHome {
  /** The identity stored here, or undefined if there is none yet. */
  identity: () => Promise<Identity | undefined>
  /** The agency state, for an agency identity. */
  agency: () => Promise<AgencyState | undefined>
  /** Every neighborhood stored here. */
  hoods: () => Promise<HoodState[]>
  hoodById: (id: Uint8Array) => Promise<HoodState | undefined>
  /** The hood named by `ref`, or without `ref` the only one (hood-state.ts resolveHood). */
  resolveHood: (ref?: string) => Promise<HoodState>
  /**
   * Read-modify-write of one hood, serialised (within the runtime): `change` gets the current
   * state (undefined if new) and returns the new one, which is saved.
   */
  updateHood: (id: Uint8Array, change: (current: HoodState | undefined) => HoodState | Promise<HoodState>) => Promise<HoodState>
}
