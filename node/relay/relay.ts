/**
 * The community relay: an always-on peer that keeps a neighborhood's gossip mesh alive,
 * stores the ciphertext members send it (it holds tag keys, never content keys), serves
 * pushes and sync, reconciles with the other relays of the same neighborhoods, deletes
 * expired messages, and reports health and metrics over HTTP.
 */
import { join } from 'node:path'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, Logger, PeerId } from '@libp2p/interface'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Server } from 'node:http'
import { isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { equalBytes, toHex, fromHex, peekDomain } from '../../protocol/encoding.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { parseRelayToken, type RelayToken } from '../../protocol/relay-token.ts'
import { decodeRekey, relayBoxSecret } from '../../protocol/rekey.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import { PROTOCOLS, type Result } from '../../protocol/wire.ts'
import { createNode, loadOrCreateNodeKey, type PorchlightNode } from '../libp2p.ts'
import { openMessageStore, type MessageStore } from '../storage/level-messages.ts'
import { PushServer } from '../../protocol/peer/push.ts'
import { SyncServer, syncTopic, type SyncStats } from '../../protocol/peer/sync.ts'
import { EPOCH_GRACE_MS, gossipVerdict, MAX_TAG_KEYS_PER_EPOCH, ServedTopics, validateMessage } from '../../protocol/peer/intake.ts'
import { Metrics } from './metrics.ts'
import { RateLimiter, type RateInit } from '../../protocol/peer/rate-limit.ts'
import { addressKey, AreaLimits, type AreaLimitsInit, type Reservation } from './ip-limits.ts'
import { isAreaTopic, TOPIC_PREFIX } from '../../protocol/neighborhood.ts'
import { startHttp } from './http.ts'
import { PrivateTopicGuard } from './topic-guard.ts'
import { serveNeighbors } from './neighbors.ts'
import { isPrivateTopic } from '../../protocol/neighborhood.ts'
import { PinService, type PinInit } from './pin-service.ts'
import { isRetiredFormat, STORE_FORMAT } from '../../protocol/peer/store-format.ts'
import { remoteIpKey } from '../../protocol/peer/remote-ip.ts'
import { historyPeers, opensSyncOnMeeting, UnverifiableIds } from './mirror.ts'
import { RelayCaps, type CapsInit } from './caps.ts'
import { RfaRecord, type RfaRecordInit, type VerifiedRfa } from './rfa-record.ts'
import type { MapTiles } from '../../protocol/map-tiles.ts'
import { TransparencyServer } from '../../protocol/peer/transparency.ts'
import { areasOverlap, transparencyRfa, type TransparencyReport } from '../../protocol/transparency.ts'

/** Refusals that are not the forwarder's fault: gossip IGNOREs them (no score penalty), as residents do. */
/** A port already taken, said with the port and the flag that changes it; other listen errors as they are. */
function listenError (err: unknown, init: RelayInit): PorchlightError {
  const text = (err as Error).message ?? String(err)
  // libp2p reports the addresses it could not listen on as one UnsupportedListenAddressesError
  // whose message lists each address with its error's text; the Node errors themselves (code
  // 'EADDRINUSE') are not attached, so the port is read from that text.
  const taken = (err as Error).name === 'UnsupportedListenAddressesError'
    ? /\/tcp\/(\d+)(\/(?:tls\/)?ws)?: Error: listen EADDRINUSE/.exec(text)
    : null
  if (taken !== null) {
    const [flag, what] = taken[2] !== undefined ? ['--ws', 'WebSockets'] : ['--tcp', 'TCP']
    return new PorchlightError('UNAVAILABLE', `port ${taken[1]} (${what}) on ${init.host ?? RELAY_DEFAULTS.host} is already in use: ` +
      `stop the program using it, or choose another port with ${flag} PORT (0 picks a free one)`, { cause: err })
  }
  return new PorchlightError('UNAVAILABLE', `cannot listen: ${text.split('\n')[0]!.slice(0, 300)}`, { cause: err })
}

/** One log line per kind of refusal in this long at most. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000

/** Control and format characters (newlines, bidi overrides…) written as \u{…} escapes. */
export function escapeForLog (line: string): string {
  return line.replace(/[\p{Cc}\p{Cf}]/gu, c => `\\u{${c.codePointAt(0)!.toString(16)}}`)
}

/** Rekeys a relay stores leading to one epoch: one per admin (the most that can rekey at once). */
export const MAX_REKEYS_PER_EPOCH = MAX_TAG_KEYS_PER_EPOCH

/** Circuit relay reservations one IP (IPv6 /64) may hold. */
export const MAX_RESERVATIONS_PER_IP = 4

/** Sessions one topic's reconciliation with another relay may take (older epochs, then the newest). */
const MAX_SYNC_TRIES = 4

/** Messages of a sync session kept to retry once its rekeys are in (a bound against a hostile peer). */
const MAX_RETRIED_AFTER_SYNC = 1024

export const RELAY_DEFAULTS = {
  dataDir: './data',
  host: '127.0.0.1',
  tcpPort: 4001,
  wsPort: 4002,
  httpPort: 8080,
  sweepIntervalMs: 60_000,
  resyncIntervalMs: 60_000,
  redialIntervalMs: 10_000,
  quotaBytesPerTopic: 256 * 1024 * 1024,
  peerRate: { perSecond: 50, burst: 200 } as RateInit
} as const

export interface RelayInit {
  /** @default './data' */
  dataDir?: string
  /** @default '127.0.0.1' */
  host?: string
  /** @default 4001 (0 picks a free port) */
  tcpPort?: number
  /** @default 4002 */
  wsPort?: number
  /** @default 8080 */
  httpPort?: number
  /** Relay tokens (`plrelay:...`) of the neighborhoods to serve. */
  tokens?: string[]
  /** Public area channels (geohash prefixes) to serve, besides the areas named in tokens. */
  areas?: string[]
  /**
   * Other relays to stay connected to (multiaddrs with /p2p/ peer ids). This relay mirrors
   * them: what their sync brings of an epoch a rekey closed is history, not a new post (mirror.ts).
   */
  peers?: string[]
  quotaBytesPerTopic?: number
  peerRate?: RateInit
  /** Limits per address on the public area channels (ip-limits.ts). */
  areaLimits?: AreaLimitsInit
  sweepIntervalMs?: number
  resyncIntervalMs?: number
  /** Folder with the built web app to serve over HTTP. */
  webDir?: string
  log?: (line: string) => void
  /** Clock, for tests. */
  now?: () => number
  /** Clip pinning (`/porchlight/pin/1`): quota per neighborhood, timeouts. */
  pins?: PinInit
  /** How long a rekey leaves the epoch before it open to posts in flight. @default EPOCH_GRACE_MS */
  epochGraceMs?: number
  /** What one IP, and all peers together, may make the relay hold (caps.ts). @default CAPS_DEFAULTS */
  caps?: CapsInit
  /** PEM certificate and key (tls.ts, loadTls): HTTPS on the HTTP port, WSS (/tls/ws) on the WebSockets port. */
  tls?: { cert: string, key: string }
  /**
   * Public multiaddrs to announce instead of the listening ones (libp2p `addresses.announce`):
   * what `addresses()`, /health and identify give, and what members put in `hood create --relay`.
   */
  announce?: string[]
  /** Where browsers open the web app (`https://porch.example.org`): in /health, and the base of invite links. */
  webOrigin?: string
  /** A street map's tiles for the web app's map (protocol/map-tiles.ts), passed on in /relay.json. */
  mapTiles?: MapTiles
  /** Bounds of the public record of requests for assistance (rfa-record.ts). */
  rfaRecord?: RfaRecordInit
}

/** served.json: version 2 (v1 held bare tag keys, with no admin root to check rekeys against). */
interface SavedState {
  version: 2
  /** tagKey null: an epoch known from a rekey that sealed no tag key to this relay. */
  hoods: Array<{ topic: string, founder: string, salt: string, epochs: Array<{ epoch: number, tagKey: string | null, learnedAt: number }> }>
  areas: string[]
}
const SAVED_STATE_VERSION = 2

export class Relay {
  readonly metrics = new Metrics()
  private readonly served = new ServedTopics()
  private readonly peerLimiter: RateLimiter
  private readonly areaLimits: AreaLimits
  /**
   * Relays named with --peer: their area messages skip the per-address limits, their sync
   * gives the per-peer one, and what they sync of an epoch a rekey closed is history (mirror.ts).
   */
  private readonly trustedPeers: ReadonlySet<string>
  private readonly timers: NodeJS.Timeout[] = []
  private readonly syncing = new Set<string>()
  private readonly startedAt = Date.now()
  private http: Server | undefined
  httpUrl = ''
  private stopping = false
  /** Pinned clips (Helia + bitswap on this node); see pin.ts. */
  pins: PinService | undefined
  /** Lets into a private topic's gossip only peers that proved its tag key (topic-guard.ts). */
  private guard!: PrivateTopicGuard
  /** X25519 secret from this relay's libp2p key: opens the tag-key boxes admins seal to it in rekeys. */
  private readonly boxSecret: Uint8Array
  /** Mirroring (mirror.ts): messages not verifiable yet. */
  private readonly unverifiable = new UnverifiableIds()

  private constructor (
    readonly node: PorchlightNode,
    readonly store: MessageStore,
    private readonly init: RelayInit,
    private readonly now: () => number,
    private readonly log: (line: string) => void,
    nodeSeed: Uint8Array,
    private readonly caps: RelayCaps
  ) {
    this.boxSecret = relayBoxSecret(nodeSeed)
    this.debug = node.logger.forComponent('porchlight:relay')
    caps.report(this.metrics)
    this.peerLimiter = new RateLimiter(init.peerRate ?? RELAY_DEFAULTS.peerRate)
    this.areaLimits = new AreaLimits(init.areaLimits)
    this.trustedPeers = historyPeers(init.peers ?? [])
    const m = this.metrics
    m.counter('porchlight_messages_accepted_total', 'Messages stored, by how they arrived')
    m.counter('porchlight_messages_rejected_total', 'Messages refused, by reason')
    m.counter('porchlight_ip_refusals_total', 'Area messages refused by the per-address limits, by route')
    m.counter('porchlight_messages_duplicate_total', 'Messages already stored')
    m.counter('porchlight_pushes_total', 'Push requests, by outcome')
    m.counter('porchlight_sync_sessions_total', 'Sync sessions, by role and outcome')
    m.counter('porchlight_expired_total', 'Messages deleted at expiry')
    m.counter('porchlight_messages_retracted_total', 'Posts deleted by their author\'s retraction')
    m.counter('porchlight_gossip_proofs_expired_total', 'Peers let go from a private topic\'s gossip: they had proven only an epoch a rekey closed')
    m.gauge('porchlight_connections', 'Open connections', () => node.getConnections().length)
    m.gauge('porchlight_max_connections', 'Connections the relay holds at most (--max-connections): libp2p refuses inbound ones past it', () => caps.maxConnections)
    m.gauge('porchlight_peers', 'Connected peers', () => node.getPeers().length)
    m.gauge('porchlight_topics', 'Topics served', () => this.served.all().length)
    m.gauge('porchlight_stored_messages', 'Messages stored', () => store.stats().messages)
    m.gauge('porchlight_stored_bytes', 'Bytes of messages stored', () => store.stats().bytes)
    m.gauge('porchlight_unverifiable_messages', 'Messages sync offered in an epoch this relay has no tag key for (a newer token lets it mirror them)', () => this.unverifiable.size)
    m.gauge('porchlight_uptime_seconds', 'Seconds since start', () => Math.round((Date.now() - this.startedAt) / 1000))
  }

  static async start (init: RelayInit = {}): Promise<Relay> {
    const dataDir = init.dataDir ?? RELAY_DEFAULTS.dataDir
    const write = init.log ?? ((line: string) => { process.stderr.write(`${new Date().toISOString()} ${line}\n`) })
    // Lines carry strings that peers chose (topics, decoder messages): never let one forge a line.
    const log = (line: string): void => { write(escapeForLog(line)) }
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
    const store = await openMessageStore(join(dataDir, 'messages'), {
      quotaBytesPerTopic: init.quotaBytesPerTopic ?? RELAY_DEFAULTS.quotaBytesPerTopic,
      // Rekeys get their own sync set: a member proving a closed epoch's key fetches only them.
      kindOf: (bytes) => { try { return peekDomain(bytes) === 'pl/rekey' ? 'rekey' : undefined } catch { return undefined } }
    })
    let node: PorchlightNode
    const privateKey = await loadOrCreateNodeKey(join(dataDir, 'node-key'))
    const caps = new RelayCaps(init.caps)
    try {
      node = await createNode({
        privateKey,
        connectionGater: caps.connections.gater,
        maxConnections: caps.maxConnections,
        host: init.host ?? RELAY_DEFAULTS.host,
        tcpPort: init.tcpPort ?? RELAY_DEFAULTS.tcpPort,
        wsPort: init.wsPort ?? RELAY_DEFAULTS.wsPort,
        relayServer: true,
        ...(init.tls !== undefined ? { wsTls: init.tls } : {}),
        ...(init.announce !== undefined ? { announce: init.announce } : {})
      })
    } catch (err) {
      caps.stop()
      await store.close()
      throw listenError(err, init)
    }
    const relay = new Relay(node, store, init, init.now ?? Date.now, log, privateKey.raw.subarray(0, 32), caps)
    try {
      await relay.setUp(dataDir)
    } catch (err) {
      await relay.stop()
      throw err
    }
    return relay
  }

  private async setUp (dataDir: string): Promise<void> {
    this.guard = new PrivateTopicGuard(this.node.services.pubsub)
    const saved = await this.loadState(dataDir)
    for (const h of saved.hoods) {
      this.served.addHood(h.topic, fromHex(h.founder), fromHex(h.salt))
      for (const e of h.epochs) this.served.addPrivate(h.topic, e.epoch, e.tagKey === null ? undefined : fromHex(e.tagKey), e.learnedAt)
    }
    for (const a of saved.areas) this.served.addArea(a)
    for (const token of this.init.tokens ?? []) this.addToken(parseRelayToken(token))
    for (const a of this.init.areas ?? []) this.served.addArea(checkGeohash(a, MAX_AREA_PRECISION, 'area'))
    await this.saveState()
    const retired = await this.store.migrate(STORE_FORMAT, async bytes => await isRetiredFormat(bytes, this.now()))
    if (retired > 0) this.log(`deleted ${retired} stored messages in an earlier release's format (no current peer reads them)`)
    await this.countRekeys()
    this.records = await RfaRecord.open(this.store, this.now, this.init.rfaRecord)

    for (const topic of this.served.all()) this.serveTopic(topic)

    const accept = async (topic: string, msg: Uint8Array, from: PeerId, connection?: Connection): Promise<Result> => this.accept(topic, msg, from, 'push', true, connection)
    this.pushServer = new PushServer(this.node, {
      accept: async (topic, msg, from, connection) => {
        const r = await accept(topic, msg, from, connection)
        this.metrics.inc('porchlight_pushes_total', { outcome: r.ok ? 'ok' : 'refused' })
        return r
      },
      refuse: (r) => {
        this.metrics.inc('porchlight_pushes_total', { outcome: 'refused' })
        return this.refuse(r.code ?? 'MALFORMED', r.message ?? 'bad push request', 'push')
      },
      budget: this.caps.streams
    })
    await this.pushServer.start()
    this.pins = await PinService.start(this.node, {
      ...this.init.pins, dir: join(dataDir, 'clips'), served: this.served, now: this.now, log: this.log, metrics: this.metrics, budget: this.caps.streams
    })
    this.syncServer = new SyncServer(this.node, {
      serves: (topic) => this.served.serves(topic),
      items: (topic, scope) => this.store.items(topic, scope === 'rekeys' ? 'rekey' : undefined),
      epochKeys: (topic, epoch) => this.served.syncKeys(topic, epoch, this.now(), this.graceMs()),
      get: async (topic, id) => this.store.topicOf(id) === topic ? (await this.store.get(id))?.bytes : undefined,
      accept: async (topic, msg, from, connection) => this.accept(topic, msg, from, 'sync', false, connection),
      onProof: (peer, topic, epoch, scope) => { if (scope === 'all') this.guard.prove(peer, topic, epoch) },
      onSession: (outcome) => { this.metrics.inc('porchlight_sync_sessions_total', { role: 'server', outcome }) }
    }, { budget: this.caps.streams })
    await this.syncServer.start()
    this.transparencyServer = new TransparencyServer(this.node, { report: async (area) => await this.transparency(area), budget: this.caps.streams })
    await this.transparencyServer.start()

    // Relays of the same neighborhood reconcile whenever they meet, and periodically. Only
    // with --peer relays: a sync open names the topic and epoch, which no stranger may hear.
    this.node.addEventListener('peer:identify', (evt) => {
      const peer = evt.detail.peerId
      if (evt.detail.protocols.includes(PROTOCOLS.sync) && this.trustedPeers.has(peer.toString()) &&
        opensSyncOnMeeting(evt.detail.connection.direction)) {
        void this.syncWith(peer)
      }
    })
    this.limitRelayReservations()
    // Browsers of one neighborhood find each other here to connect over WebRTC (neighbors.ts).
    const reservations = (this.node.services.relay as { reservations?: { keys: () => Iterable<PeerId> } } | undefined)?.reservations
    if (reservations !== undefined) await serveNeighbors(this.node, this.guard, () => reservations.keys())
    this.every(this.init.resyncIntervalMs ?? RELAY_DEFAULTS.resyncIntervalMs, async () => { await this.syncWithRelays() })
    this.every(this.init.sweepIntervalMs ?? RELAY_DEFAULTS.sweepIntervalMs, async () => { await this.sweep() })
    const peers = (this.init.peers ?? []).map(p => multiaddr(p))
    if (peers.length > 0) {
      const redial = async (): Promise<void> => {
        for (const addr of peers) {
          const id = addr.getComponents().find(c => c.name === 'p2p')?.value
          if (id !== undefined && this.node.getPeers().some(p => p.toString() === id)) continue
          await this.node.dial(addr, { signal: AbortSignal.timeout(5000) }).catch((err: unknown) => { this.debug('redial of %a failed - %e', addr, err) })
        }
      }
      void redial()
      this.every(RELAY_DEFAULTS.redialIntervalMs, redial)
    }

    const http = await startHttp({
      port: this.init.httpPort ?? RELAY_DEFAULTS.httpPort,
      host: this.init.host ?? RELAY_DEFAULTS.host,
      health: () => this.health(),
      metrics: () => this.metrics.render(),
      routes: { '/addresses': () => this.node.getMultiaddrs().map(String), '/relay.json': () => this.webInfo() },
      queries: { '/transparency': async (params) => await this.transparencyJson(params.get('area') ?? '') },
      ...(this.init.webDir !== undefined ? { staticDir: this.init.webDir } : {}),
      ...(this.init.tls !== undefined ? { tls: this.init.tls } : {})
    })
    this.http = http.server
    this.httpUrl = http.url
  }

  /** Starts serving a neighborhood (and its area, if the token names it) while running. */
  async serve (token: string): Promise<void> {
    const t = parseRelayToken(token)
    const before = new Set(this.served.all())
    this.addToken(t)
    for (const topic of this.served.all()) if (!before.has(topic)) this.serveTopic(topic)
    await this.saveState()
    // Other relays of the neighborhood hear of it now (the sync proves the key both ways), not at the next resync.
    void this.syncWithRelays().catch((err: unknown) => { this.debug.error('sync with the other relays after serve() failed - %e', err) })
  }

  /** Starts serving a public area channel while running. */
  async serveArea (area: string): Promise<void> {
    const before = new Set(this.served.all())
    this.served.addArea(checkGeohash(area, MAX_AREA_PRECISION, 'area'))
    for (const topic of this.served.all()) if (!before.has(topic)) this.serveTopic(topic)
    await this.saveState()
  }

  private addToken (t: RelayToken): void {
    const hood = this.served.addHood(t.topic, t.founder, t.salt)
    // A token for a topic already served under another founder would be a collision of SHA-256.
    if (!equalBytes(hood.founder, t.founder)) throw new PorchlightError('REFUSED', 'token names another founder for a served neighborhood')
    let learned = this.served.addPrivate(t.topic, t.epoch, t.tagKey, this.now())
    // Older epochs' keys let it verify (and so mirror) their unexpired history.
    for (const o of t.older) learned = this.served.addPrivate(t.topic, o.epoch, o.tagKey, this.now()) || learned
    if (learned) this.unverifiable.forget(t.topic)
    if (t.area !== undefined) this.served.addArea(t.area)
  }

  private serveTopic (topic: string): void {
    const pubsub = this.node.services.pubsub
    pubsub.topicValidators.set(topic, async (peer, message) => {
      const result = await this.accept(topic, message.data, peer, 'gossip', false)
      if (result.ok) return TopicValidatorResult.Accept
      // Duplicates, overload, and posts ahead of (or just behind) a rekey are not the forwarder's
      // fault, and a resident gives the same verdict (intake.ts); invalid messages are.
      return gossipVerdict(result)
    })
    pubsub.subscribe(topic)
  }

  /**
   * Validates and stores one message. Returns ok only once it is on disk. `publish` pushes
   * it to the mesh as well (push requests); gossip has already been forwarded by gossipsub.
   */
  private async accept (
    topic: string, bytes: Uint8Array, from: PeerId, via: 'push' | 'gossip' | 'sync', publish = via === 'push', connection?: Connection
  ): Promise<Result> {
    const id = sha256(bytes)
    if (this.store.has(id)) {
      this.metrics.inc('porchlight_messages_duplicate_total')
      // Already durable: a retried push is acknowledged again.
      return via === 'gossip' ? { ok: false, code: 'REFUSED', message: 'duplicate' } : { ok: true }
    }
    // Anyone may write to an area, so sync gives there are limited like pushes; private topics
    // take only tag-key holders' messages, and relay-to-relay sync there stays unlimited.
    const area = isAreaTopic(topic) && !this.trustedPeers.has(from.toString())
    if ((via !== 'sync' || area) && !this.peerLimiter.take(from.toString(), this.now())) return this.refuse('RATE_LIMITED', 'too many messages from this peer', via)
    let share: Reservation | undefined
    if (area) {
      const address = addressKey((connection ?? this.node.getConnections(from)[0])?.remoteAddr)
      const r = this.areaLimits.reserve(address, topic, bytes.length, this.store.quotaBytesPerTopic, this.now())
      if (typeof r === 'string') {
        this.metrics.inc('porchlight_ip_refusals_total', { via })
        return r === 'IP_SHARE'
          ? this.refuse('OVER_QUOTA', 'this address holds its share of the area', via, r)
          : this.refuse('RATE_LIMITED', 'too many messages from this address', via, r)
      }
      share = r
    }
    // Refused already, and counted and logged then: sync offers it again every round.
    if (via === 'sync' && this.unverifiable.has(topic, id)) { share?.cancel(); return { ok: false, code: 'UNKNOWN_EPOCH', message: 'no tag key here for its epoch' } }
    try {
      const v = await validateMessage(topic, bytes, this.served, this.now(), id, {
        boxSecret: this.boxSecret,
        epochGraceMs: this.init.epochGraceMs ?? EPOCH_GRACE_MS,
        history: via === 'sync' && this.trustedPeers.has(from.toString()),
        store: this.store
      })
      if (v.rekey !== undefined) {
        // Only admins rekey, and concurrent rekeys to one epoch are rare: a bound keeps an
        // admin's key (or a leaked one) from parking 64 KiB after 64 KiB for 90 days each.
        const count = this.rekeyCount(v.rekey.topic, v.rekey.epoch)
        if (count >= MAX_REKEYS_PER_EPOCH) return this.refuse('REFUSED', `epoch ${v.rekey.epoch} already has ${count} rekeys`, via)
        // Without a tag key for us the new epoch still closes the one before (a removed member
        // must not find a relay that keeps taking the old epoch).
        if (this.served.addPrivate(v.rekey.topic, v.rekey.epoch, v.rekey.tagKey, this.now())) {
          this.expireProofsAfterGrace(v.rekey.topic)
          if (v.rekey.tagKey !== undefined) this.unverifiable.forget(v.rekey.topic)
          await this.saveState()
          this.log(v.rekey.tagKey === undefined
            ? `a rekey to epoch ${v.rekey.epoch} of a served neighborhood has no tag key for this relay: it closed the epoch before; ask a member for a new token`
            : `learned epoch ${v.rekey.epoch} of a served neighborhood from an admin's rekey`)
        }
      }
      if (v.junkTombstone !== undefined && await this.store.delete(v.junkTombstone)) this.areaLimits.release([toHex(v.junkTombstone)])
      // On the public record first: a request this relay carries is always on its record.
      if (v.rfa !== undefined) await this.records.keep(topic, v.rfa, bytes, area ? addressKey((connection ?? this.node.getConnections(from)[0])?.remoteAddr) : undefined)
      if (await this.store.put(v.message)) share?.keep(toHex(id))
      else share?.cancel()
      share = undefined
      // A verified retraction: its tombstone is stored (sync carries it, and keeps the post away), the post goes.
      if (v.retracts !== undefined && await this.store.delete(v.retracts)) {
        this.areaLimits.release([toHex(v.retracts)])
        this.metrics.inc('porchlight_messages_retracted_total')
      }
      // A public reply changes a report's counts: they follow within REPORT_CACHE_MS. A new
      // request (records.keep) makes the report again at once; a stream of posts must not.
      if (v.rekey !== undefined) this.rekeysPerEpoch.set(`${v.rekey.epoch} ${v.rekey.topic}`, this.rekeyCount(v.rekey.topic, v.rekey.epoch) + 1)
      this.metrics.inc('porchlight_messages_accepted_total', { via })
      // Stored, so acknowledged: the other relays and members get it by sync if gossip fails.
      if (publish) await this.node.services.pubsub.publish(topic, bytes).catch((err: unknown) => { this.debug.error('publishing on %s failed - %e', topic, err) })
      return { ok: true }
    } catch (err) {
      if (isPorchlightError(err, 'UNKNOWN_EPOCH') && via === 'sync') this.unverifiable.add(topic, id, this.now())
      if (isPorchlightError(err)) return this.refuse(err.code, err.message, via)
      this.log(`internal error accepting a message: ${(err as Error).message}`)
      return this.refuse('IO', 'internal error', via)
    } finally {
      share?.cancel()
    }
  }

  /**
   * Counts a refusal, and logs it unless the same kind (route and code) was logged in the last
   * REFUSAL_LOG_INTERVAL_MS: a flood costs the operator one line per kind per interval, with
   * the number held back (metrics count every one).
   */
  private refuse (code: PorchlightError['code'], message: string, via: string, reason: string = code): Result {
    this.metrics.inc('porchlight_messages_rejected_total', { reason })
    const key = `${via} ${reason}`
    const now = Date.now()
    const last = this.refusalLog.get(key)
    if (last === undefined || now - last.at >= REFUSAL_LOG_INTERVAL_MS) {
      const held = last !== undefined && last.held > 0 ? ` (${last.held} more like it held back)` : ''
      this.log(`refused a message (${via}): ${code} ${message.slice(0, 200)}${held}`)
      this.refusalLog.set(key, { at: now, held: 0 })
      if (this.refusalLog.size > 256) this.refusalLog.delete(this.refusalLog.keys().next().value!)
    } else {
      last.held++
    }
    return { ok: false, code, message }
  }

  private readonly refusalLog = new Map<string, { at: number, held: number }>()

  /** Rekeys stored per epoch of each neighborhood (counted at start from the store). */
  private readonly rekeysPerEpoch = new Map<string, number>()

  private rekeyCount (topic: string, epoch: number): number { return this.rekeysPerEpoch.get(`${epoch} ${topic}`) ?? 0 }

  private async countRekeys (): Promise<void> {
    for (const topic of this.served.private.keys()) {
      const rekeys = this.store.items(topic, 'rekey')
      for (let i = 0; i < rekeys.size; i++) {
        const bytes = (await this.store.get(rekeys.at(i).id))?.bytes
        if (bytes === undefined) continue
        const epoch = decodeRekey(bytes).e
        this.rekeysPerEpoch.set(`${epoch} ${topic}`, this.rekeyCount(topic, epoch) + 1)
      }
    }
  }

  private graceMs (): number { return this.init.epochGraceMs ?? EPOCH_GRACE_MS }

  /**
   * Once the grace after a rekey has passed, peers that proved only the closed epoch's key
   * leave the topic's gossip (members re-sync with the new key; a removed one cannot).
   */
  private expireProofsAfterGrace (topic: string): void {
    const timer = setTimeout(() => { this.expireProofs(topic) }, this.graceMs() + 1000)
    timer.unref()
  }

  private expireProofs (topic: string): void {
    if (this.stopping) return
    const n = this.guard.expire(topic, epoch => this.served.syncKeys(topic, epoch, this.now(), this.graceMs())?.scope === 'all')
    // Counted, not logged: a sibling relay a rekey left without a key does this every resync.
    if (n > 0) this.metrics.inc('porchlight_gossip_proofs_expired_total', {}, n)
  }

  /** Reconciles with every connected --peer relay. */
  private async syncWithRelays (): Promise<void> {
    for (const peer of this.node.getPeers()) {
      if (this.trustedPeers.has(peer.toString())) await this.syncWith(peer)
    }
  }

  /**
   * Circuit relay reservations (browsers reach each other through them): at most
   * MAX_RESERVATIONS_PER_IP per IP, and dropped when their peer leaves, so no one address holds
   * the pool.
   */
  private limitRelayReservations (): void {
    const relay = this.node.services.relay as { reservations?: { keys: () => Iterable<PeerId>, delete: (p: PeerId) => void } } | undefined
    if (relay?.reservations === undefined) return
    const reservations = relay.reservations
    const ipOf = (peer: PeerId): string | undefined => {
      const addr = this.node.getConnections(peer)[0]?.remoteAddr
      return addr === undefined ? undefined : remoteIpKey(addr)
    }
    this.caps.connections.denyReservation = (peer) => {
      const ip = ipOf(peer)
      if (ip === undefined) return true
      let held = 0
      for (const p of reservations.keys()) if (!p.equals(peer) && ipOf(p) === ip) held++
      return held >= MAX_RESERVATIONS_PER_IP
    }
    this.node.addEventListener('peer:disconnect', (evt) => { reservations.delete(evt.detail) })
  }

  /** Reconciles every served topic with another relay. */
  async syncWith (peer: PeerId): Promise<void> {
    const key = peer.toString()
    if (this.syncing.has(key) || this.stopping) return
    this.syncing.add(key)
    try {
      for (const topic of this.served.all()) {
        try {
          await this.syncTopicWith(peer, topic)
        } catch (err) {
          const outcome = isPorchlightError(err, 'NOT_FOUND') ? 'not-served' : isPorchlightError(err, 'NOT_MEMBER') || isPorchlightError(err, 'UNKNOWN_EPOCH') ? 'unproven' : 'error'
          this.metrics.inc('porchlight_sync_sessions_total', { role: 'client', outcome })
          if (outcome === 'error') this.log(`sync with a relay failed: ${(err as Error).message}`)
        }
      }
    } finally {
      this.syncing.delete(key)
    }
  }

  /**
   * Reconciles one topic with another relay, under proof of the newest tag key held here. If
   * the other relay has not heard of that epoch (it missed the rekey), the newest epoch before
   * it, so that it gets the rekey; if that session brought only rekeys (ours was the closed
   * epoch), once more under the key they taught us.
   */
  private async syncTopicWith (peer: PeerId, topic: string): Promise<void> {
    let auth = isPrivateTopic(topic) ? this.served.newestTagKey(topic) : undefined
    if (isPrivateTopic(topic) && auth === undefined) return // no tag key here (none sealed to this relay yet)
    for (let tries = 1; ; tries++) {
      try {
        const stats = await this.syncSession(peer, topic, auth)
        const newest = isPrivateTopic(topic) ? this.served.newestTagKey(topic) : undefined
        if (stats.scope === 'rekeys' && newest !== undefined && auth !== undefined && newest.epoch > auth.epoch && tries < MAX_SYNC_TRIES) {
          auth = newest
          continue
        }
        return
      } catch (err) {
        if (auth === undefined || tries >= MAX_SYNC_TRIES || !isPorchlightError(err, 'UNKNOWN_EPOCH')) throw err
        auth = this.served.newestTagKey(topic, auth.epoch) ?? (() => { throw err })()
      }
    }
  }

  private async syncSession (peer: PeerId, topic: string, auth: { epoch: number, tagKey: Uint8Array } | undefined): Promise<SyncStats> {
    // Sync delivers in (ts, id) order, so a post dated (by a slow clock) before the rekey
    // that opens its epoch arrives first: retry those once the session is done.
    const later: Uint8Array[] = []
    const stats = await syncTopic(this.node, peer, topic, this.store.items(topic), {
      ...(auth !== undefined ? { auth } : {}),
      getLocal: async (id) => (await this.store.get(id))?.bytes,
      skip: (id) => this.unverifiable.has(topic, id),
      onMessage: async (msg) => {
        const r = await this.accept(topic, msg, peer, 'sync')
        if (!r.ok && r.code === 'UNKNOWN_EPOCH' && later.length < MAX_RETRIED_AFTER_SYNC) later.push(msg)
      }
    })
    for (const msg of later) await this.accept(topic, msg, peer, 'sync')
    // The other relay proved the key back: it may join this topic's gossip here.
    if (auth !== undefined && stats.scope === 'all') this.guard.prove(peer, topic, auth.epoch)
    this.metrics.inc('porchlight_sync_sessions_total', { role: 'client', outcome: 'ok' })
    if (stats.received + stats.sent > 0) this.log(`synced with a relay: received ${stats.received}, gave ${stats.sent}`)
    return stats
  }

  async sweep (): Promise<number> {
    const gone = await this.store.sweep(this.now())
    this.areaLimits.release(gone.map(toHex))
    this.records.swept(gone)
    this.unverifiable.sweep(this.now())
    if (gone.length > 0) {
      this.metrics.inc('porchlight_expired_total', {}, gone.length)
      this.log(`deleted ${gone.length} expired messages`)
    }
    await this.pins?.sweep(this.now())
    for (const topic of this.served.private.keys()) this.expireProofs(topic)
    return gone.length
  }

  /**
   * Every RFA this relay keeps on the record for the served areas overlapping `area` (newest
   * first, each verified, with its public reply count); NOT_FOUND when none overlaps.
   */
  async transparency (area: string): Promise<VerifiedRfa[] | Result & { ok: false }> {
    const prefix = `${TOPIC_PREFIX}area/`
    const topics = [...this.served.areas].filter(t => areasOverlap(t.slice(prefix.length), area)).sort()
    if (topics.length === 0) return { ok: false, code: 'NOT_FOUND', message: `this relay serves no area overlapping ${area}` }
    return await this.records.report(area, topics)
  }

  /** `GET /transparency?area=GEOHASH`: the report as `porchlight transparency --json` prints it. */
  private async transparencyJson (area: string): Promise<{ status: number, body: TransparencyReport | { error: { code: string, message: string } } }> {
    try {
      checkGeohash(area, MAX_AREA_PRECISION, 'area')
    } catch (err) {
      return { status: 400, body: { error: { code: 'BAD_GEOHASH', message: (err as Error).message } } }
    }
    const report = await this.transparency(area)
    if (!Array.isArray(report)) return { status: 404, body: { error: { code: report.code ?? 'NOT_FOUND', message: report.message ?? 'not found' } } }
    return { status: 200, body: { area, rfas: report.map(x => transparencyRfa(x.opened, x.replies)) } }
  }

  health (): Record<string, unknown> {
    const stats = this.store.stats()
    return {
      status: 'ok',
      peerId: this.node.peerId.toString(),
      peers: this.node.getPeers().length,
      connections: this.node.getConnections().length,
      maxConnections: this.caps.maxConnections,
      topics: this.served.all().length,
      storedMessages: stats.messages,
      storedBytes: stats.bytes,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      addresses: this.node.getMultiaddrs().map(String),
      ...(this.init.webOrigin !== undefined ? { webOrigin: this.init.webOrigin } : {})
    }
  }

  /** The addresses peers are given: the announced ones (--announce) if any, else those listened on. */
  addresses (): Multiaddr[] { return this.node.getMultiaddrs() }

  /** The addresses the transports listen on, announced or not. */
  listening (): Multiaddr[] {
    return (this.node as unknown as { components: { transportManager: { getAddrs: () => Multiaddr[] } } }).components.transportManager.getAddrs()
  }

  /**
   * What the web app asks the relay that served it (`/relay.json`): the relay's peer id and
   * its WebSocket addresses (with /p2p/), the only transport a page can dial.
   */
  webInfo (): { peerId: string, ws: string[], mapTiles?: MapTiles } {
    const ws = this.node.getMultiaddrs().map(String).filter(a => /\/(ws|wss|tls\/ws)(\/|$)/.test(a))
    return { peerId: this.node.peerId.toString(), ws, ...(this.init.mapTiles !== undefined ? { mapTiles: this.init.mapTiles } : {}) }
  }

  private every (ms: number, task: () => Promise<void>): void {
    let running = false
    const timer = setInterval(() => {
      if (running || this.stopping) return
      running = true
      task().catch((err) => { this.log(`background task failed: ${(err as Error).message}`) }).finally(() => { running = false })
    }, ms)
    timer.unref()
    this.timers.push(timer)
  }

  private statePath (dataDir = this.init.dataDir ?? RELAY_DEFAULTS.dataDir): string { return join(dataDir, 'served.json') }

  private async loadState (dataDir: string): Promise<SavedState> {
    const path = this.statePath(dataDir)
    let s: SavedState
    try {
      s = JSON.parse(await readFile(path, 'utf8')) as SavedState
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: SAVED_STATE_VERSION, hoods: [], areas: [] }
      throw new PorchlightError('IO', `cannot read ${path}: ${(err as Error).message}`)
    }
    if (s.version !== SAVED_STATE_VERSION) {
      throw new PorchlightError('BAD_VERSION', `${path} is from an older Porchlight relay (its tokens cannot check who may rekey): ` +
        'move it aside and start the relay with new tokens from members (porchlight hood relay-token; --serve TOKEN)')
    }
    if (!Array.isArray(s.hoods) || !Array.isArray(s.areas)) throw new PorchlightError('IO', `cannot read ${path}: bad shape`)
    return s
  }

  /** Tag keys learned from tokens and rekeys survive restarts (they let nobody read anything). */
  private async saveState (): Promise<void> {
    const state: SavedState = { version: SAVED_STATE_VERSION, hoods: [], areas: [] }
    for (const [topic, hood] of this.served.private) {
      const epochs: SavedState['hoods'][number]['epochs'] = []
      for (const [epoch, e] of hood.epochs) {
        if (e.tagKeys.length === 0) epochs.push({ epoch, tagKey: null, learnedAt: e.learnedAt })
        for (const tagKey of e.tagKeys) epochs.push({ epoch, tagKey: toHex(tagKey), learnedAt: e.learnedAt })
      }
      state.hoods.push({ topic, founder: toHex(hood.founder), salt: toHex(hood.salt), epochs })
    }
    for (const a of this.served.areas) state.areas.push(a.slice(a.lastIndexOf('/') + 1))
    const path = this.statePath()
    // Saves are chained: two rekeys learned at once must not race on the file.
    const write = async (): Promise<void> => {
      const tmp = `${path}.tmp-${process.pid}-${toHex(randomBytes(6))}`
      await writeFile(tmp, JSON.stringify(state, null, 1), { mode: 0o600, flag: 'wx' })
      await rename(tmp, path)
    }
    const next = this.saving.then(write, write)
    // The caller hears of a failed save (await next); the chain only must not stay rejected.
    this.saving = next.catch(() => undefined)
    await next
  }

  private saving: Promise<void> = Promise.resolve()
  /** What a developer may want to hear (DEBUG=porchlight:relay); what an operator must see goes to `log`. */
  private readonly debug: Logger
  private pushServer: PushServer | undefined
  private syncServer: SyncServer | undefined
  private transparencyServer: TransparencyServer | undefined
  /** The public record of requests for assistance (rfa-record.ts). */
  records!: RfaRecord

  async stop (): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    for (const t of this.timers) clearInterval(t)
    // Close keep-alive connections first: server.close() waits for every connection to end.
    const closed = new Promise<void>(resolve => { if (this.http === undefined) resolve(); else this.http.close(() => { resolve() }) })
    this.http?.closeAllConnections()
    await closed
    await this.pushServer?.stop()
    await this.syncServer?.stop()
    await this.transparencyServer?.stop()
    await this.pins?.stop()
    await this.node.stop()
    this.caps.stop()
    await this.store.close()
  }
}
