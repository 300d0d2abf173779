/**
 * `/porchlight/sync/1`: range-based set reconciliation (protocol/sync.ts) over the
 * (timestamp, id) items of one topic, then the transfer of exactly the difference in both
 * directions. Bytes exchanged grow with the difference, not with the stored history.
 *
 * Frames: initiator → sync-open {topic, rec}; responder → sync-rec; ... until the
 * initiator's reconciler is done; then initiator → sync-want {ids, give} pages, answered
 * with sync-envs frames (`more` until the page is complete); an empty want ends the
 * session and the responder answers with a Result.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  PROTOCOLS, MAX_FRAME_BYTES, MAX_IDS_PER_FRAME, MAX_ENVELOPES_PER_FRAME,
  encodeSyncOpen, decodeSyncOpen, encodeSyncRec, decodeSyncRec, encodeSyncWant, decodeSyncWant,
  encodeSyncEnvelopes, decodeSyncEnvelopes, encodeResult, decodeResult
} from '../protocol/wire.ts'
import { peekDomain, toHex } from '../protocol/encoding.ts'
import { sha256 } from '../protocol/crypto.ts'
import { fail, isPorchlightError } from '../protocol/errors.ts'
import { Reconciler, type SyncItemSet } from '../protocol/sync.ts'
import { Frames, FRAME_TIMEOUT_MS } from './frames.ts'
import type { PorchlightNode } from './libp2p.ts'
import type { AcceptMessage } from './push.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'

/** Room left in a frame for the CBOR around the messages. */
const FRAME_PAYLOAD_BUDGET = MAX_FRAME_BYTES - 4096
/** A 32-byte id as CBOR (2-byte header), with a byte to spare. */
const ENCODED_ID_BYTES = 35
/** Reconciliation rounds one session may take before the responder gives up. */
const MAX_ROUNDS = 64
/** Given messages of a not-yet-known epoch the responder holds for a retry at session end. */
const MAX_DEFERRED = MAX_ENVELOPES_PER_FRAME

export interface SyncSource {
  /** The item set of a topic this peer serves, or undefined if it does not serve it. */
  items (topic: string): SyncItemSet | undefined
  get (id: Uint8Array): Promise<Uint8Array | undefined>
  accept: AcceptMessage
  /** 'not-served': the peer asked for a topic this relay does not serve (an answer, not a failure). */
  onSession?: (outcome: 'ok' | 'not-served' | 'error') => void
}

/** `budget` admits each stream and counts what it buffers (a relay's caps, stream-budget.ts). */
export async function handleSync (node: PorchlightNode, source: SyncSource, budget: InboundBudget = UNMETERED): Promise<void> {
  await node.handle(PROTOCOLS.sync, async (stream: Stream, connection: Connection) => {
    const lease = budget.admit(stream, connection, 'sync')
    if (lease === undefined) return
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, lease)
    try {
      await serveSession(frames, source, connection.remotePeer)
      source.onSession?.('ok')
      await frames.close()
    } catch (err) {
      source.onSession?.(isPorchlightError(err, 'NOT_FOUND') ? 'not-served' : 'error')
      try {
        await frames.write(encodeResult(isPorchlightError(err)
          ? { ok: false, code: err.code, message: err.message }
          : { ok: false, code: 'IO', message: 'internal error' }))
        await frames.close()
      } catch {
        frames.abort('sync failed')
      }
    }
  }, { maxInboundStreams: 32 })
}

async function serveSession (frames: Frames, source: SyncSource, from: PeerId): Promise<void> {
  const open = decodeSyncOpen(await frames.read())
  const items = source.items(open.topic)
  if (items === undefined) fail('NOT_FOUND', 'this relay does not serve that topic')
  const reconciler = new Reconciler(items)
  await frames.write(encodeSyncRec(reconciler.respond(open.rec)))
  // Gives come in (ts, id) order, so a post dated (by a slow clock) before the rekey that opens
  // its epoch comes first: retry those once everything given has been seen.
  const later: Uint8Array[] = []
  for (let rounds = 1; ; rounds++) {
    const frame = await frames.read()
    const domain = peekDomain(frame, MAX_FRAME_BYTES)
    if (domain === 'pl/sync-rec') {
      if (rounds > MAX_ROUNDS) fail('REFUSED', 'too many reconciliation rounds')
      await frames.write(encodeSyncRec(reconciler.respond(decodeSyncRec(frame))))
      continue
    }
    const want = decodeSyncWant(frame)
    if (want.ids.length === 0 && want.give.length === 0) {
      for (const msg of later) await source.accept(open.topic, msg, from)
      await frames.write(encodeResult({ ok: true }))
      return
    }
    for (const msg of want.give) {
      const r = await source.accept(open.topic, msg, from)
      if (!r.ok && r.code === 'UNKNOWN_EPOCH' && later.length < MAX_DEFERRED) later.push(msg)
    }
    await sendMessages(frames, source, want.ids)
  }
}

async function sendMessages (frames: Frames, source: SyncSource, ids: Uint8Array[]): Promise<void> {
  let batch: Uint8Array[] = []
  let size = 0
  for (const id of ids) {
    const msg = await source.get(id)
    if (msg === undefined) continue // expired or deleted since reconciliation
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
  roundTrips: number
  received: number
  sent: number
  bytesIn: number
  bytesOut: number
}

export interface SyncClientOptions {
  /** Local copy of a message the responder lacks (to give it), or undefined. */
  getLocal (id: Uint8Array): Promise<Uint8Array | undefined>
  /** Called for every message received; the caller validates and stores it. */
  onMessage (msg: Uint8Array): Promise<void>
  timeoutMs?: number
}

/** Reconciles one topic with a peer and transfers the difference both ways. */
export async function syncTopic (node: PorchlightNode, peer: PeerId | Multiaddr | Multiaddr[], topic: string, items: SyncItemSet, opts: SyncClientOptions): Promise<SyncStats> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const stream = await node.dialProtocol(peer, PROTOCOLS.sync, { signal: AbortSignal.timeout(timeoutMs) })
  const frames = new Frames(stream, timeoutMs)
  const stats: SyncStats = { topic, roundTrips: 0, received: 0, sent: 0, bytesIn: 0, bytesOut: 0 }
  const send = async (frame: Uint8Array): Promise<void> => { stats.bytesOut += frame.length; await frames.write(frame) }
  const receive = async (): Promise<Uint8Array> => {
    const frame = await frames.read()
    stats.bytesIn += frame.length
    if (peekDomain(frame, MAX_FRAME_BYTES) === 'pl/result') {
      const r = decodeResult(frame)
      if (!r.ok) fail(r.code ?? 'REFUSED', r.message ?? 'sync refused')
    }
    return frame
  }
  try {
    const reconciler = new Reconciler(items)
    const need: Uint8Array[] = []
    const have: Uint8Array[] = []
    await send(encodeSyncOpen(topic, reconciler.initiate()))
    for (;;) {
      const reply = decodeSyncRec(await receive())
      stats.roundTrips++
      const r = reconciler.reconcile(reply)
      need.push(...r.need)
      have.push(...r.have)
      if (r.next === null) break
      await send(encodeSyncRec(r.next))
    }
    while (need.length > 0 || have.length > 0) {
      const ids = need.splice(0, MAX_IDS_PER_FRAME)
      const give: Uint8Array[] = []
      // The wanted ids share the frame with what is given: both count against its bound.
      let size = ids.length * ENCODED_ID_BYTES
      while (have.length > 0 && give.length < MAX_ENVELOPES_PER_FRAME) {
        const msg = await opts.getLocal(have[0]!)
        if (msg !== undefined && give.length > 0 && size + msg.length > FRAME_PAYLOAD_BUDGET) break
        have.shift()
        if (msg !== undefined) { give.push(msg); size += msg.length + 8 }
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
        await handlePage(page.msgs, opts.onMessage)
        stats.received += page.msgs.length
        if (!page.more) break
      }
    }
    await send(encodeSyncWant([], []))
    const done = decodeResult(await receive())
    if (!done.ok) fail(done.code ?? 'REFUSED', done.message ?? 'sync failed')
    await frames.close()
    return stats
  } catch (err) {
    frames.abort('sync failed')
    throw err
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
  for (const msg of msgs) {
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

