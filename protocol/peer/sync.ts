/**
 * `/porchlight/sync/2`: range-based set reconciliation (protocol/reconcile/sync.ts) over the
 * (timestamp, id) items of one topic, then the transfer of exactly the difference in both
 * directions. Bytes exchanged grow with the difference, not with the stored history.
 *
 * Frames: responder → sync-hello {challenge}; initiator → sync-open {topic, nonce, and on a
 * private topic epoch + proof of that epoch's tag key}; responder → sync-ready {scope, its own
 * proof} or a refusal (protocol/sync-auth.ts: outsiders get nothing of a private topic, and a
 * peer that answers without the key gets nothing given). Then initiator → sync-rec; responder
 * → sync-rec; ... until the initiator's reconciler is done; then initiator → sync-want {ids,
 * give} pages, answered with sync-envs frames (`more` until the page is complete); an empty
 * want ends the session and the responder answers with a Result.
 */
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  PROTOCOLS, RETIRED_PROTOCOLS, MAX_FRAME_BYTES, MAX_IDS_PER_FRAME, MAX_ENVELOPES_PER_FRAME,
  encodeSyncHello, decodeSyncHello, encodeSyncOpen, decodeSyncOpen, encodeSyncReady, decodeSyncReady,
  encodeSyncRec, decodeSyncRec, encodeSyncWant, decodeSyncWant,
  encodeSyncEnvelopes, decodeSyncEnvelopes, encodeResult, decodeResult, toResult
} from '../wire.ts'
import { equalBytes, peekDomain, toHex } from '../encoding.ts'
import { randomBytes, sha256 } from '../crypto.ts'
import { fail, isPorchlightError, PorchlightError } from '../errors.ts'
import { isPrivateTopic } from '../neighborhood.ts'
import { decodeRekey } from '../rekey.ts'
import { matchSyncProof, SYNC_NONCE_BYTES, syncProof, type SyncScope, type SyncSession } from '../sync-auth.ts'
import { Reconciler, SyncItemSet } from '../reconcile/sync.ts'
import { Frames, FRAME_TIMEOUT_MS } from './frames.ts'
import type { PorchlightNode } from './gossip.ts'
import type { AcceptMessage } from './push.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'

/** Room left in a frame for the CBOR around the messages. */
const FRAME_PAYLOAD_BUDGET = MAX_FRAME_BYTES - 4096
/** A 32-byte id as CBOR (2-byte header), with a byte to spare. */
const ENCODED_ID_BYTES = 35
/** Reconciliation rounds one session may take before the responder gives up. */
const MAX_ROUNDS = 64
/**
 * Longest a whole session may last, on either side: every frame arriving within its own
 * timeout must not let a peer hold a session (and a relay's resync round) forever.
 */
export const MAX_SESSION_MS = 10 * 60_000
/** Given messages of a not-yet-known epoch the responder holds for a retry at session end. */
const MAX_DEFERRED = MAX_ENVELOPES_PER_FRAME

export interface SyncSource {
  /** Whether this peer serves a topic. */
  serves (topic: string): boolean
  /** The item set a session of this scope reconciles (only called for served topics). */
  items (topic: string, scope: SyncScope): SyncItemSet
  /**
   * The tag keys of a private topic's epoch and the scope a proof under them earns, or
   * undefined if this peer knows no tag key for that epoch.
   */
  epochKeys (topic: string, epoch: number): { tagKeys: Uint8Array[], scope: SyncScope } | undefined
  /** A stored message of `topic` by id (undefined if absent or of another topic). */
  get (topic: string, id: Uint8Array): Promise<Uint8Array | undefined>
  accept: AcceptMessage
  /** A peer proved a private topic's tag key in a session (relays let it into that topic's gossip). */
  onProof?: (peer: PeerId, topic: string, epoch: number, scope: SyncScope) => void
  /**
   * 'not-served': the peer asked for a topic this relay does not serve (an answer, not a
   * failure); 'unproven': it did not prove a tag key of a private topic.
   */
  onSession?: (outcome: 'ok' | 'not-served' | 'unproven' | 'error') => void
}

/** Refusal codes of the open that are answers, not failures of this side. */
function sessionOutcome (err: unknown): 'not-served' | 'unproven' | 'error' {
  if (isPorchlightError(err, 'NOT_FOUND')) return 'not-served'
  if (isPorchlightError(err, 'NOT_MEMBER') || isPorchlightError(err, 'UNKNOWN_EPOCH')) return 'unproven'
  return 'error'
}

/** Streams of the retired sync protocol one connection may have open (each only hears why not). */
const RETIRED_SYNC_MAX_INBOUND_STREAMS = 4
/** Sync sessions one connection may have open at once: 32. */
export const SYNC_MAX_INBOUND_STREAMS = 32

export interface SyncServerInit {
  /** @default UNMETERED */
  budget?: InboundBudget
  /** @default SYNC_MAX_INBOUND_STREAMS (32) */
  maxInboundStreams?: number
}

/** What the sync server uses of the libp2p node. */
export type SyncServerComponents = Pick<Libp2p, 'handle' | 'unhandle' | 'logger' | 'peerId'>

/**
 * The responder's side of `/porchlight/sync/2` (and the answer to the retired `/sync/1`):
 * start() registers both handlers, stop() removes them. `budget` admits each stream and
 * counts what it buffers (a relay's caps, stream-budget.ts).
 */
export class SyncServer implements Startable {
  private readonly log: Logger
  private readonly budget: InboundBudget
  private readonly maxInboundStreams: number

  constructor (private readonly components: SyncServerComponents, private readonly source: SyncSource, init: SyncServerInit = {}) {
    this.log = components.logger.forComponent('porchlight:sync')
    this.budget = init.budget ?? UNMETERED
    this.maxInboundStreams = init.maxInboundStreams ?? SYNC_MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    // A peer of the release before asks by the old protocol id: tell it why nothing comes.
    await this.components.handle(RETIRED_PROTOCOLS.sync, async (stream: Stream) => {
      const frames = new Frames(stream)
      try {
        await frames.write(encodeResult({ ok: false, code: 'BAD_VERSION', message: `this peer speaks ${PROTOCOLS.sync}, not ${RETIRED_PROTOCOLS.sync}: update Porchlight` }))
        await frames.close()
      } catch {
        frames.abort('sync version refused')
      }
    }, { maxInboundStreams: RETIRED_SYNC_MAX_INBOUND_STREAMS })
    await this.components.handle(PROTOCOLS.sync, async (stream: Stream, connection: Connection) => { await this.serve(stream, connection) }, { maxInboundStreams: this.maxInboundStreams })
  }

  async stop (): Promise<void> {
    await this.components.unhandle(RETIRED_PROTOCOLS.sync)
    await this.components.unhandle(PROTOCOLS.sync)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lease = this.budget.admit(stream, connection, 'sync')
    if (lease === undefined) return
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, lease)
    try {
      await serveSession(frames, this.source, this.components.peerId.toMultihash().bytes, connection)
      this.source.onSession?.('ok')
      await frames.close()
    } catch (err) {
      const outcome = sessionOutcome(err)
      this.source.onSession?.(outcome)
      if (outcome === 'error') this.log('sync session with %p failed - %e', connection.remotePeer, err)
      try {
        await frames.write(encodeResult(toResult(err)))
        await frames.close()
      } catch {
        frames.abort('sync failed')
      }
    }
  }
}

async function serveSession (frames: Frames, source: SyncSource, local: Uint8Array, connection: Connection): Promise<void> {
  const from = connection.remotePeer
  const challenge = randomBytes(SYNC_NONCE_BYTES)
  await frames.write(encodeSyncHello(challenge))
  const open = decodeSyncOpen(await frames.read())
  if (!source.serves(open.topic)) fail('NOT_FOUND', 'this relay does not serve that topic')
  let scope: SyncScope = 'all'
  let proof: Uint8Array | undefined
  if (isPrivateTopic(open.topic)) {
    if (open.epoch === undefined || open.proof === undefined) fail('NOT_MEMBER', 'a neighborhood topic is synced only with proof of its tag key')
    const known = source.epochKeys(open.topic, open.epoch) ?? fail('UNKNOWN_EPOCH', `epoch ${open.epoch} is not known here`)
    const session: SyncSession = { topic: open.topic, epoch: open.epoch, challenge, nonce: open.nonce, initiator: from.toMultihash().bytes, responder: local }
    const key = matchSyncProof(known.tagKeys, 'initiator', session, open.proof) ?? fail('NOT_MEMBER', 'the proof of the tag key does not verify')
    scope = known.scope
    proof = syncProof(key, 'responder', session)
    source.onProof?.(from, open.topic, open.epoch, scope)
  }
  await frames.write(encodeSyncReady({ scope, ...(proof !== undefined ? { proof } : {}) }))
  const items = source.items(open.topic, scope)
  const reconciler = new Reconciler(items)
  // Gives come in (ts, id) order, so a post dated (by a slow clock) before the rekey that opens
  // its epoch comes first: retry those once everything given has been seen.
  const later: Uint8Array[] = []
  const deadline = Date.now() + MAX_SESSION_MS
  for (let rounds = 1; ; rounds++) {
    if (Date.now() > deadline) fail('TIMEOUT', 'the sync session went on too long')
    const frame = await frames.read()
    const domain = peekDomain(frame, MAX_FRAME_BYTES)
    if (domain === 'pl/sync-rec') {
      if (rounds > MAX_ROUNDS) fail('REFUSED', 'too many reconciliation rounds')
      await frames.write(encodeSyncRec(reconciler.respond(decodeSyncRec(frame))))
      continue
    }
    const want = decodeSyncWant(frame)
    if (want.ids.length === 0 && want.give.length === 0) {
      for (const msg of later) await source.accept(open.topic, msg, from, connection)
      await frames.write(encodeResult({ ok: true }))
      return
    }
    // What was given is stored a page at a time (one fsync for the page, not one per message),
    // while the wanted messages go out: the client is storing those meanwhile.
    const given = handlePage(want.give, async (msg) => {
      const r = await source.accept(open.topic, msg, from, connection)
      if (!r.ok && r.code === 'UNKNOWN_EPOCH' && later.length < MAX_DEFERRED) later.push(msg)
    }).then(() => undefined, (err: unknown) => err ?? new Error('accept failed'))
    await sendMessages(frames, want.ids, async id => scope === 'all' || hasItem(items, id) ? await source.get(open.topic, id) : undefined)
    const failed = await given
    if (failed !== undefined) throw failed
  }
}

/** Whether a (small, scoped) item set holds an id: a limited session gets only what it reconciled. */
function hasItem (items: SyncItemSet, id: Uint8Array): boolean {
  for (let i = 0; i < items.size; i++) if (equalBytes(items.at(i).id, id)) return true
  return false
}

/** Messages read from storage at once while a page is filled. */
const READ_AHEAD = 64

/** `get` of each id, in order, READ_AHEAD reads in flight at a time. */
async function * prefetched (ids: readonly Uint8Array[], get: (id: Uint8Array) => Promise<Uint8Array | undefined>): AsyncGenerator<Uint8Array | undefined> {
  for (let i = 0; i < ids.length; i += READ_AHEAD) {
    yield * await Promise.all(ids.slice(i, i + READ_AHEAD).map(async id => await get(id)))
  }
}

async function sendMessages (frames: Frames, ids: Uint8Array[], get: (id: Uint8Array) => Promise<Uint8Array | undefined>): Promise<void> {
  let batch: Uint8Array[] = []
  let size = 0
  for await (const msg of prefetched(ids, get)) {
    if (msg === undefined) continue // expired or deleted since reconciliation, or not the session's to have
    if (batch.length > 0 && (size + msg.length > FRAME_PAYLOAD_BUDGET || batch.length >= MAX_ENVELOPES_PER_FRAME)) {
      await frames.write(encodeSyncEnvelopes(batch, true))
      batch = []
      size = 0
    }
    batch.push(msg)
    size += msg.length + 8
  }
  await frames.write(encodeSyncEnvelopes(batch, false))
}

export interface SyncStats {
  topic: string
  /** What the responder let this session fetch. */
  scope: SyncScope
  roundTrips: number
  received: number
  sent: number
  bytesIn: number
  bytesOut: number
}

/** Longest a sync client waits for the dial and for each frame: 30 s. */
export const SYNC_TIMEOUT_MS = 30_000

/** `signal` ends the session: it then throws 'TIMEOUT' (the dial, libp2p's AbortError). */
export interface SyncClientOptions extends AbortOptions {
  /** Local copy of a message the responder lacks (to give it), or undefined. */
  getLocal (id: Uint8Array): Promise<Uint8Array | undefined>
  /** Called for every message received; the caller validates and stores it. */
  onMessage (msg: Uint8Array): Promise<void>
  /** Required on a private topic: the epoch and tag key to prove (and to hear the peer prove back). */
  auth?: { epoch: number, tagKey: Uint8Array }
  /** Only prove the key (which lets this peer into the topic's gossip on a relay): reconcile nothing. */
  proveOnly?: boolean
  /** Longest the whole session may take. @default MAX_SESSION_MS */
  sessionTimeoutMs?: number
  /** Ids not to ask for although the peer has them (messages this peer cannot verify yet). */
  skip?: (id: Uint8Array) => boolean
  /** Longest wait for the dial and for each frame. @default SYNC_TIMEOUT_MS (30 s) */
  timeoutMs?: number
}

/** A peer without the current protocol: a clear version error instead of libp2p's. */
function versionError (err: unknown): unknown {
  return (err as Error)?.name === 'UnsupportedProtocolError'
    ? new PorchlightError('BAD_VERSION', `the peer does not speak ${PROTOCOLS.sync} (another Porchlight release): update the older side`, { cause: err })
    : err
}

/** Reconciles one topic with a peer and transfers the difference both ways. */
export async function syncTopic (node: PorchlightNode, peer: PeerId | Multiaddr | Multiaddr[], topic: string, items: SyncItemSet, opts: SyncClientOptions): Promise<SyncStats> {
  const timeoutMs = opts.timeoutMs ?? SYNC_TIMEOUT_MS
  if (isPrivateTopic(topic) && opts.auth === undefined) fail('BAD_ARGUMENT', 'a neighborhood topic needs a tag key to sync')
  opts.signal?.throwIfAborted()
  const signal = opts.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([opts.signal, AbortSignal.timeout(timeoutMs)])
  const connection = await node.dial(peer, { signal })
  const stream = await connection.newStream(PROTOCOLS.sync, { signal }).catch((err: unknown) => { throw versionError(err) })
  const frames = new Frames(stream, timeoutMs)
  const onAbort = (): void => { frames.abort('sync aborted') }
  opts.signal?.addEventListener('abort', onAbort, { once: true })
  // An abort while the stream was opening came before the listener.
  if (opts.signal?.aborted === true) onAbort()
  const stats: SyncStats = { topic, scope: 'all', roundTrips: 0, received: 0, sent: 0, bytesIn: 0, bytesOut: 0 }
  const send = async (frame: Uint8Array): Promise<void> => { stats.bytesOut += frame.length; await frames.write(frame) }
  const deadline = Date.now() + (opts.sessionTimeoutMs ?? MAX_SESSION_MS)
  const receive = async (): Promise<Uint8Array> => {
    if (Date.now() > deadline) fail('TIMEOUT', 'the sync session went on too long')
    const frame = await frames.read()
    stats.bytesIn += frame.length
    if (peekDomain(frame, MAX_FRAME_BYTES) === 'pl/result') {
      const r = decodeResult(frame)
      if (!r.ok) fail(r.code ?? 'REFUSED', r.message ?? 'sync refused')
    }
    return frame
  }
  try {
    const challenge = decodeSyncHello(await receive())
    const nonce = randomBytes(SYNC_NONCE_BYTES)
    const session: SyncSession | undefined = opts.auth === undefined
      ? undefined
      : { topic, epoch: opts.auth.epoch, challenge, nonce, initiator: node.peerId.toMultihash().bytes, responder: connection.remotePeer.toMultihash().bytes }
    await send(encodeSyncOpen({
      topic, nonce, ...(session !== undefined ? { epoch: session.epoch, proof: syncProof(opts.auth!.tagKey, 'initiator', session) } : {})
    }))
    const ready = decodeSyncReady(await receive())
    // Nothing is reconciled or given to a peer that has not shown it holds the key.
    if (session !== undefined && (ready.proof === undefined || matchSyncProof([opts.auth!.tagKey], 'responder', session, ready.proof) === undefined)) {
      fail('NOT_MEMBER', 'the peer did not prove it holds the neighborhood\'s tag key')
    }
    stats.scope = ready.scope
    // A session limited to rekeys reconciles against the responder's rekeys only: everything
    // else here would look missing there. It fetches; it gives nothing (it would all be duplicates).
    const gives = ready.scope === 'all'
    if (opts.proveOnly !== true) {
      const reconciler = new Reconciler(items)
      const need: Uint8Array[] = []
      const have: Uint8Array[] = []
      await send(encodeSyncRec(reconciler.initiate()))
      for (;;) {
        const reply = decodeSyncRec(await receive())
        stats.roundTrips++
        const r = reconciler.reconcile(reply)
        need.push(...(opts.skip === undefined ? r.need : r.need.filter(id => !opts.skip!(id))))
        if (gives) have.push(...r.have)
        if (r.next === null) break
        await send(encodeSyncRec(r.next))
      }
      while (need.length > 0 || have.length > 0) {
        const ids = need.splice(0, MAX_IDS_PER_FRAME)
        const give: Uint8Array[] = []
        // The wanted ids share the frame with what is given: both count against its bound.
        let size = ids.length * ENCODED_ID_BYTES
        // Read ahead concurrently (one storage read at a time was one round trip each).
        let full = false
        while (!full && have.length > 0) {
          const ahead = await Promise.all(have.slice(0, READ_AHEAD).map(async id => await opts.getLocal(id)))
          for (const msg of ahead) {
            full = give.length >= MAX_ENVELOPES_PER_FRAME || (msg !== undefined && give.length > 0 && size + msg.length > FRAME_PAYLOAD_BUDGET)
            if (full) break
            have.shift()
            if (msg !== undefined) { give.push(msg); size += msg.length + 8 }
          }
        }
        await send(encodeSyncWant(ids, give))
        stats.sent += give.length
        // Only what was asked for, each at most once: a responder cannot push other messages.
        const wanted = new Set(ids.map(toHex))
        for (;;) {
          const page = decodeSyncEnvelopes(await receive())
          for (const msg of page.msgs) {
            if (!wanted.delete(toHex(sha256(msg)))) fail('REFUSED', 'the peer sent a message that was not asked for')
          }
          // A page that brings nothing yet says more follows would be a loop without end.
          if (page.more && page.msgs.length === 0) fail('MALFORMED', 'an empty page that says more follows')
          await handlePage(page.msgs, opts.onMessage)
          stats.received += page.msgs.length
          if (!page.more) break
        }
      }
    }
    await send(encodeSyncWant([], []))
    const done = decodeResult(await receive())
    if (!done.ok) fail(done.code ?? 'REFUSED', done.message ?? 'sync failed')
    await frames.close()
    return stats
  } catch (err) {
    frames.abort('sync failed')
    if (opts.signal?.aborted === true && !isPorchlightError(err, 'TIMEOUT')) throw new PorchlightError('TIMEOUT', 'sync aborted', { cause: err })
    throw err
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Hands one page's messages (at most MAX_ENVELOPES_PER_FRAME) to `onMessage` concurrently, so
 * a store's group commit writes them with one fsync instead of one each (a 10,000-post
 * catch-up took ~1 ms of fsync wait per post). A rekey is handled alone, after what precedes
 * it, since what follows may need its keys.
 */
async function handlePage (msgs: Uint8Array[], onMessage: (msg: Uint8Array) => Promise<void>): Promise<void> {
  let running: Array<Promise<void>> = []
  for (const msg of rekeysInEpochOrder(msgs)) {
    if (isRekey(msg)) {
      await Promise.all(running)
      running = []
      await onMessage(msg)
    } else {
      running.push(onMessage(msg))
    }
  }
  await Promise.all(running)
}

function isRekey (msg: Uint8Array): boolean {
  try { return peekDomain(msg, MAX_FRAME_BYTES) === 'pl/rekey' } catch { return false }
}

/**
 * The page with its rekeys, in the places rekeys hold, sorted by the epoch they start (stable).
 * Clear times are whole minutes, so rekeys made within one minute sort by id: a member who
 * missed them would open a later epoch's rekey before an earlier one's (one that removes them
 * noted, then undone by an earlier rekey that includes them).
 */
export function rekeysInEpochOrder (msgs: readonly Uint8Array[]): Uint8Array[] {
  const at: number[] = []
  const rekeys: Array<{ msg: Uint8Array, epoch: number }> = []
  for (const [i, msg] of msgs.entries()) {
    if (!isRekey(msg)) continue
    at.push(i)
    let epoch = Number.POSITIVE_INFINITY // undecodable: last, where it is refused anyway
    try { epoch = decodeRekey(msg).e } catch {}
    rekeys.push({ msg, epoch })
  }
  const out = [...msgs]
  rekeys.sort((a, b) => a.epoch === b.epoch ? 0 : a.epoch < b.epoch ? -1 : 1).forEach((r, j) => { out[at[j]!] = r.msg })
  return out
}


/** Proves a neighborhood's tag key to a relay (a sync session that reconciles nothing): the relay then lets this peer into the topic's gossip. */
export async function proveKey (node: PorchlightNode, peer: PeerId | Multiaddr | Multiaddr[], topic: string, auth: { epoch: number, tagKey: Uint8Array }, timeoutMs?: number): Promise<SyncStats> {
  return await syncTopic(node, peer, topic, new SyncItemSet(), {
    auth, proveOnly: true, getLocal: async () => undefined, onMessage: async () => {}, ...(timeoutMs !== undefined ? { timeoutMs } : {})
  })
}
