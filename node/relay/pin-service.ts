/**
 * `/porchlight/pin/1`, the relay's side: a member asks a relay to keep an encrypted clip until
 * its post expires (the member's side and the exchange's frames: protocol/peer/pin.ts).
 *
 * The request carries a membership tag over its fields (protocol/wire.ts), checked with the
 * tag key of the neighborhood's epoch, the only key a relay holds: non-members are refused
 * before anything is fetched. The relay then fetches the clip's blocks from the requester (who
 * is connected, and holds them) as one block stream, over bitswap if that fails, within the
 * neighborhood's quota, reporting progress, and pins them with Helia; the answer comes once
 * they are pinned. Every failure
 * (bad tag, over quota, unknown CID, a size that does not match, a requester that stops
 * sending) is a Result with a stable code, and deletes whatever this attempt fetched.
 *
 * The ledger (neighborhood topic, size, expiry per clip) lives in the Helia pin's metadata,
 * so pins and ledger cannot disagree. The relay's sweeper calls `sweep`: expired entries are
 * dropped, and a clip with none left is unpinned and its blocks deleted. Blocks that no pin
 * holds (a crash mid-fetch) are garbage-collected once at start, before any fetch runs.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { fail, isPorchlightError, PorchlightError, type ErrorCode } from '../../protocol/errors.ts'
import { MAX_CLOCK_SKEW_MS, MAX_TTL_MS } from '../../protocol/post.ts'
import { errorMessage, MAX_FRAME_BYTES, toResult, type Result } from '../../protocol/wire.ts'
import { PIN_PROTOCOL, PIN_PROGRESS_INTERVAL_MS, checkPinTag, decodePinRequest, encodePinProgress, encodeResult, type PinRequest } from '../../protocol/peer/pin.ts'
import { parseCid, type ClipStore, type ClipStoreInit } from '../../protocol/peer/clip-store.ts'
import { openNodeClipStore } from '../storage/clips.ts'
import { Frames, FRAME_TIMEOUT_MS } from '../../protocol/peer/frames.ts'
import { UNMETERED, type InboundBudget, type StreamLease } from '../../protocol/peer/stream-budget.ts'
import type { Metrics } from './metrics.ts'
import type { PorchlightNode } from '../libp2p.ts'
import type { ServedTopics } from '../../protocol/peer/intake.ts'

export const PIN_DEFAULTS = {
  /** Clip bytes (ciphertext) one neighborhood may keep on a relay: 2 GiB. */
  quotaBytesPerTopic: 2 * 1024 * 1024 * 1024,
  /** Time to get the clip's root block from the requester: an unknown CID fails after this. */
  rootTimeoutMs: 10_000,
  /** The fetch fails when no block arrived for this long. */
  idleTimeoutMs: 20_000,
  /** Pins fetched at once; more are refused with RATE_LIMITED. */
  maxConcurrent: 4,
  /** A request older than this (by its ts) is refused: 10 minutes. */
  maxRequestAgeMs: 10 * 60_000,
  /** Progress frames at most this often. */
  progressIntervalMs: PIN_PROGRESS_INTERVAL_MS
} as const

/** Smallest average block size accepted: bounds the blocks a pin may make the relay store. */
const MIN_AVG_BLOCK_BYTES = 16 * 1024
/** Bytes a block may take beyond its share of the clip: a dag-pb node's links (~40 bytes each, no names). */
const MAX_NODE_OVERHEAD_BYTES = 4096
const LEDGER_KEY = 'porchlight'

export interface PinInit {
  /** @default 2 GiB */
  quotaBytesPerTopic?: number
  /** @default 10 s */
  rootTimeoutMs?: number
  /** @default 20 s */
  idleTimeoutMs?: number
  /** @default 4 */
  maxConcurrent?: number
  clipStore?: ClipStoreInit
}

export interface PinServiceInit extends PinInit {
  /** Folder for the clip store (blocks and datastore). */
  dir: string
  served: ServedTopics
  now: () => number
  log: (line: string) => void
  metrics?: Metrics
  /** Admits pin and block streams and counts what they buffer (a relay's caps). @default UNMETERED */
  budget?: InboundBudget
}

/** One neighborhood's claim on a pinned clip. */
interface LedgerEntry { topic: string, size: number, exp: number }

export class PinService {
  private readonly ledger = new Map<string, LedgerEntry[]>()
  private readonly inFlight = new Map<string, { topic: string, size: number }>()
  private readonly quota: number
  private stopped = false

  private constructor (
    readonly clips: ClipStore,
    private readonly node: PorchlightNode,
    private readonly init: PinServiceInit
  ) {
    this.quota = init.quotaBytesPerTopic ?? PIN_DEFAULTS.quotaBytesPerTopic
    const m = init.metrics
    if (m !== undefined) {
      m.counter('porchlight_pins_total', 'Pin requests, by outcome')
      m.counter('porchlight_pins_expired_total', 'Clips unpinned and deleted at expiry')
      m.gauge('porchlight_pinned_clips', 'Clips pinned', () => this.ledger.size)
      m.gauge('porchlight_pinned_bytes', 'Bytes of clips pinned (ciphertext)', () => this.totalBytes())
    }
  }

  /** Opens the clip store on `node`, loads the ledger, collects orphaned blocks, serves the protocol. */
  static async start (node: PorchlightNode, init: PinServiceInit): Promise<PinService> {
    const budget = init.budget ?? UNMETERED
    const clips = await openNodeClipStore(node, init.dir, { ...init.clipStore, inboundBudget: budget })
    const service = new PinService(clips, node, init)
    try {
      for await (const pin of clips.helia.pins.ls()) {
        service.ledger.set(pin.cid.toString(), parseLedger(pin.metadata[LEDGER_KEY]))
      }
      await clips.helia.gc()
      await node.handle(PIN_PROTOCOL, async (stream: Stream, connection: Connection) => {
        const lease = budget.admit(stream, connection, 'pin')
        if (lease !== undefined) await service.serve(stream, connection.remotePeer, lease)
      }, { maxInboundStreams: 16 })
    } catch (err) {
      await clips.stop()
      throw err
    }
    return service
  }

  /** Bytes pinned for one neighborhood (its quota use). */
  usage (topic: string): number {
    let n = 0
    for (const entries of this.ledger.values()) for (const e of entries) if (e.topic === topic) n += e.size
    for (const f of this.inFlight.values()) if (f.topic === topic) n += f.size
    return n
  }

  /** Pinned clips, for health and tests: cid, total size, latest expiry. */
  pinned (): Array<{ cid: string, size: number, exp: number }> {
    return [...this.ledger].map(([cid, es]) => ({ cid, size: es[0]?.size ?? 0, exp: Math.max(...es.map(e => e.exp)) }))
  }

  private totalBytes (): number {
    let n = 0
    for (const es of this.ledger.values()) n += es[0]?.size ?? 0
    return n
  }

  private async serve (stream: Stream, from: PeerId, lease: StreamLease): Promise<void> {
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_FRAME_BYTES, lease)
    let result: Result
    try {
      const req = decodePinRequest(await frames.read())
      let last = 0
      result = await this.pin(req, from, (n) => {
        const t = Date.now()
        if (t - last < PIN_DEFAULTS.progressIntervalMs) return
        last = t
        // Progress is a courtesy: if the stream broke, writing the answer says so below.
        void frames.write(encodePinProgress(n)).catch(() => {})
      })
    } catch (err) {
      result = toResult(err)
    }
    this.init.metrics?.inc('porchlight_pins_total', { outcome: result.ok ? 'ok' : result.code ?? 'IO' })
    if (!result.ok && result.code !== 'BAD_TAG') this.init.log(`refused a pin: ${result.code ?? ''} ${result.message ?? ''}`)
    try {
      await frames.write(encodeResult(result))
      await frames.close()
    } catch {
      frames.abort('pin reply failed')
    }
  }

  /**
   * Checks, fetches and pins one clip. Returns the outcome; never throws for expected
   * refusals. `progress` gets the ciphertext bytes fetched so far.
   */
  async pin (req: PinRequest, from: PeerId, progress: (bytes: number) => void = () => {}): Promise<Result> {
    try {
      if (this.stopped) fail('UNAVAILABLE', 'relay is stopping')
      const hood = this.init.served.private.get(req.topic) ?? fail('NOT_FOUND', 'this relay does not serve that neighborhood')
      const tagKeys = hood.epochs.get(req.epoch)?.tagKeys ?? fail('UNKNOWN_EPOCH', `epoch ${req.epoch} is not known here`)
      if (!tagKeys.some(k => checkPinTag(req, k))) fail('BAD_TAG', 'membership tag does not verify')
      const now = this.init.now()
      if (req.ts > now + MAX_CLOCK_SKEW_MS) fail('FUTURE_DATED', 'pin request is dated in the future')
      if (req.ts < now - PIN_DEFAULTS.maxRequestAgeMs) fail('EXPIRED', 'pin request is too old')
      if (req.exp <= now) fail('EXPIRED', 'the clip has already expired')
      if (req.exp > now + MAX_TTL_MS + MAX_CLOCK_SKEW_MS) fail('OUT_OF_RANGE', `clips are kept at most ${MAX_TTL_MS / 86_400_000} days`)
      const cid = parseCid(req.cid)
      const key = cid.toString()
      const entries = this.ledger.get(key)
      const mine = entries?.find(e => e.topic === req.topic)
      if (mine !== undefined) {
        // Already pinned for this neighborhood: never past the first expiry it was granted (else
        // pinning again with a later `exp` kept a clip of a 1-hour post for months).
        return { ok: true, count: mine.size }
      }
      if (entries !== undefined && entries[0]!.size !== req.size) fail('BAD_ARGUMENT', 'that clip is pinned here with another size')
      const used = this.usage(req.topic)
      if (used + req.size > this.quota) {
        fail('OVER_QUOTA', `over quota: this neighborhood's clips would use ${mib(used + req.size)} of its ${mib(this.quota)} quota on this relay`)
      }
      if (this.inFlight.has(key)) fail('RATE_LIMITED', 'that clip is being pinned already; try again shortly')
      if (this.inFlight.size >= (this.init.maxConcurrent ?? PIN_DEFAULTS.maxConcurrent)) fail('RATE_LIMITED', 'too many pins in progress; try again shortly')
      this.inFlight.set(key, { topic: req.topic, size: req.size })
      try {
        if (entries === undefined) await this.fetchAndPin(cid, req, from, progress)
        this.ledger.set(key, [...(entries ?? []), { topic: req.topic, size: req.size, exp: req.exp }])
        await this.saveLedger(cid)
      } finally {
        this.inFlight.delete(key)
      }
      this.init.log(`pinned a clip of ${mib(req.size)} until ${new Date(req.exp).toISOString()}`)
      return { ok: true, count: req.size }
    } catch (err) {
      if (!isPorchlightError(err)) this.init.log(`internal error pinning a clip: ${errorMessage(err)}`)
      return toResult(err)
    }
  }

  /**
   * Fetches every block of the clip, then pins it; on failure deletes what it fetched.
   * First as one block stream from the requester (who holds the clip); if it does not serve
   * streams, or the stream breaks, over bitswap: the root within rootTimeoutMs (else an
   * unknown CID), its UnixFS size checked against the request, then the rest. Either way the
   * blocks stored are bounded by the declared size.
   */
  private async fetchAndPin (cid: CID, req: PinRequest, from: PeerId, progress: (bytes: number) => void): Promise<void> {
    const helia = this.clips.helia
    const fetched: CID[] = []
    const maxBlocks = Math.ceil(req.size / MIN_AVG_BLOCK_BYTES) + 16
    // Stored bytes, not just blocks, count: the declared size plus a dag-pb node allowance per
    // block (a node's links; long link names do not fit), so a declared 1-byte clip stays tiny.
    const maxBytes = req.size + maxBlocks * MAX_NODE_OVERHEAD_BYTES
    let stored = 0
    const abort = new AbortController()
    const onStored = (c: CID, bytes: number): void => {
      fetched.push(c)
      stored += bytes
      if (fetched.length > maxBlocks) abort.abort(new PorchlightError('TOO_LARGE', 'the clip has too many blocks for its size'))
      if (stored > maxBytes) abort.abort(new PorchlightError('TOO_LARGE', `the clip's blocks take more bytes than its size (${req.size})`))
    }
    let stage = 'stream'
    let idleFired = false
    let idle: ReturnType<typeof setTimeout> | undefined
    const idleMs = this.init.idleTimeoutMs ?? PIN_DEFAULTS.idleTimeoutMs
    const touch = (): void => {
      clearTimeout(idle)
      idle = setTimeout(() => { idleFired = true; abort.abort(new Error('idle')) }, idleMs)
      idle.unref()
    }
    let n = 0
    try {
      touch()
      try {
        for await (const piece of this.clips.streamFrom(from, cid, req.size, { signal: abort.signal, onStored, onPiece: touch })) {
          n += piece.length
          progress(n)
        }
      } catch (err) {
        if (abort.signal.aborted) throw err
        // The requester says it does not have the clip: there is nothing to pin.
        if (isPorchlightError(err, 'NOT_FOUND') && n === 0) fail('NOT_FOUND', `could not fetch clip ${req.cid.slice(0, 16)}… from you (unknown CID?)`, err)
        stage = 'root'
        // A timer of our own: on Node 20, AbortSignal.any over an AbortSignal.timeout nobody
        // else references can be collected before it fires, and the fetch then never ends.
        const rootTimer = setTimeout(() => { abort.abort(new Error('root timeout')) }, this.init.rootTimeoutMs ?? PIN_DEFAULTS.rootTimeoutMs)
        let stat: { type: string, size: bigint }
        try {
          // The root may come over bitswap here (a stream that failed before storing it): count it
          // as fetched, so a failure after this deletes it too.
          const onProgress = (evt: { type: string, detail: unknown }): void => {
            if (evt.type === 'blocks:get:blockstore:put') onStored(evt.detail as CID, 0)
          }
          stat = await this.clips.fs.stat(cid, { signal: abort.signal, onProgress } as never)
        } finally {
          clearTimeout(rootTimer)
        }
        if (stat.type !== 'file' && stat.type !== 'raw') fail('MALFORMED', 'that CID is not a clip')
        if (Number(stat.size) !== req.size) fail('BAD_ARGUMENT', `the clip is ${stat.size} bytes, the request says ${req.size}`)
        stage = 'blocks'
        touch()
        for await (const piece of this.clips.cipher(cid, req.size, { signal: abort.signal, onStored, onPiece: touch, from: n })) {
          n += piece.length
          progress(n)
        }
      }
      clearTimeout(idle)
      // Sizes the bitswap path reads back may still be on their way: count them all now.
      let total = 0
      for (const c of fetched) total += await this.clips.blockBytes(c)
      if (total > maxBytes) fail('TOO_LARGE', `the clip's blocks take more bytes than its size (${req.size})`)
      stage = 'pin'
      for await (const _ of helia.pins.add(cid, { metadata: { [LEDGER_KEY]: '[]' } })) { /* walk */ }
    } catch (err) {
      clearTimeout(idle)
      await this.deleteUnpinned(fetched)
      if (isPorchlightError(err)) throw err
      const reason = abort.signal.reason
      if (isPorchlightError(reason)) throw reason
      if (stage === 'root') fail('NOT_FOUND', `could not fetch clip ${req.cid.slice(0, 16)}… from you (unknown CID?)`, err)
      if (idleFired) fail('UNAVAILABLE', `the clip stopped arriving (nothing for ${idleMs / 1000} s)`, err)
      fail('IO', `fetching the clip failed: ${(err as Error).message}`, err)
    }
  }

  private async deleteUnpinned (cids: CID[]): Promise<void> {
    const helia = this.clips.helia
    for (const c of cids) {
      // Unsure means pinned: a block kept too long costs space, a pinned one deleted loses a clip.
      if (await helia.pins.isPinned(c).catch(() => true)) continue
      try { await helia.blockstore.delete(c) } catch { /* already gone */ }
    }
  }

  private async saveLedger (cid: CID): Promise<void> {
    await this.clips.helia.pins.setMetadata(cid, { [LEDGER_KEY]: JSON.stringify(this.ledger.get(cid.toString()) ?? []) })
  }

  /** Drops expired entries; clips nobody keeps any more are unpinned and deleted. Returns clips deleted. */
  async sweep (now: number): Promise<number> {
    let deleted = 0
    for (const [key, entries] of [...this.ledger]) {
      if (this.inFlight.has(key)) continue
      const left = entries.filter(e => e.exp > now)
      if (left.length === entries.length) continue
      const cid = parseCid(key)
      if (left.length > 0) {
        this.ledger.set(key, left)
        await this.saveLedger(cid)
        continue
      }
      for await (const _ of this.clips.helia.pins.rm(cid)) { /* walk */ }
      await this.clips.remove(key)
      this.ledger.delete(key)
      deleted++
    }
    if (deleted > 0) {
      this.init.metrics?.inc('porchlight_pins_expired_total', {}, deleted)
      this.init.log(`unpinned and deleted ${deleted} expired clip${deleted > 1 ? 's' : ''}`)
    }
    return deleted
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    // The node may be stopping already, which unregisters every handler.
    await this.node.unhandle(PIN_PROTOCOL).catch(() => {})
    await this.clips.stop()
  }
}

function parseLedger (value: unknown): LedgerEntry[] {
  try {
    const list = JSON.parse(String(value)) as LedgerEntry[]
    if (Array.isArray(list)) return list.filter(e => typeof e.topic === 'string' && Number.isSafeInteger(e.size) && Number.isSafeInteger(e.exp))
  } catch { /* an unreadable ledger entry keeps nothing */ }
  return []
}

/** A size for the operator's log: KiB below a MiB, so a small clip does not read "0.0 MiB". */
function mib (bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export type { ErrorCode }
