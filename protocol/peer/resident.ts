/**
 * The resident's (or agency's) peer engine, the same in Node and in the browser: joins the
 * gossip of its neighborhoods and followed areas through their relays, keeps every message it
 * accepts (for sync), keeps decrypted posts in a local feed, and sends its own posts with an
 * acknowledged push, holding them in an outbox until a relay has them.
 *
 * Group trust, as this peer applies it (protocol/rekey.ts, membership.ts, admins.ts):
 *  - only rekeys signed by an admin of the founder's chain change epochs; a genuine rekey
 *    with no slot for us means we were removed (or our invite predates it): `ended`;
 *  - an epoch is closed to new posts once we learn the next one (plus a short grace for
 *    posts in flight), judged on arrival; a removed member's posts dated after the removal
 *    are never shown;
 *  - only joins with an admin's admission for the current epoch, or an admin's approval,
 *    put someone on the list the next rekey is sealed to;
 *  - our own posts never go out in a closed epoch: the outbox re-seals them under the
 *    current one, and a relay's STALE_EPOCH makes us catch up first.
 *
 * Storage and the libp2p node come from the runtime (PeerRuntime): node/resident.ts builds
 * Node's (LevelDB, the home folder, TCP and WebSockets); a browser supplies its own.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fail, isPorchlightError } from '../errors.ts'
import { equalBytes, fromHex, peekDomain, toHex, toBase64Url, fromBase64Url } from '../encoding.ts'
import { sha256 } from '../crypto.ts'
import { fingerprint, type Identity, type PublicIdentity } from '../identity.ts'
import { type AdminCert, areaTopic, type EpochKeys, isAdmin, isAreaTopic, isPrivateTopic, neighborhoodOf, privateTopic } from '../neighborhood.ts'
import { createPost, DEFAULT_TTL_MS, type MediaRef, MAX_TTL_MS, type Post, type PostInput } from '../post.ts'
import { checkPostTimes, decodeEnvelope, envelopeTimes, openEnvelope, innerDomain, openSignedPost, sealEnvelope, encodeSignedPost, type PrivateEnvelope } from '../envelope.ts'
import { DOMAIN_RETRACT, encodeRetraction, retractCommitment, retractSecret } from '../retract.ts'
import { openPublicPost, sealPublicPost } from '../public-post.ts'
import { createAdmit, createJoin, createLeave, createRoster, openAdmit, openJoin, openLeave, openRoster } from '../membership.ts'
import { type Admission, verifyAdmission } from '../invite.ts'
import { addAdmin } from '../admins.ts'
import { createRekey, decodeRekey, openRekey, rekeyTimes } from '../rekey.ts'
import { createHoodSettings, openHoodSettings, withAnnouncedSettings } from '../hood-settings.ts'
import { attestationCovers, createRevocation, MAX_RFA_ATTESTATIONS, openRevocation, openRfa, rfaAgencyKey, sealRfa, verifyAttestation } from '../agency.ts'
import { decodeSealedReply, DOMAIN_SEALED_REPLY, openSealedReply, sealReply } from '../sealed-reply.ts'
import { MAX_CLOCK_SKEW_MS } from '../time.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger, PeerId } from '@libp2p/interface'
import { SILENT_LOGGER } from './log.ts'
import { lookAlikeKeys } from '../names.ts'
import { checkEpochOpen, checkTombstone, gossipVerdict, validateRetraction } from './intake.ts'
import { checkPostArea, encodeGeohash } from '../geohash.ts'
import { errorMessage, PROTOCOLS, toResult, type Result } from '../wire.ts'
import type { PorchlightNode } from './gossip.ts'
import { PushSession } from './push.ts'
import { sendPublicCopies } from './public-copy.ts'
import { isRetiredFormat, STORE_FORMAT } from './store-format.ts'
import { proveKey, syncTopic, type SyncStats } from './sync.ts'
import type { KeyValue, LocalStore, Messages, PeerHome } from './storage.ts'
import { counted, KEPT_WEEKS, WEEK_COUNTS_SECTION, parseWeekKey, WEEK_MS, weekContext, weekKey, weekStart, withCount, type WeekContext, type WeekCounts } from '../week-counts.ts'
import {
  admittedBy, allEpochKeys, joinsBefore, currentEpochKeys, epochKeys, removalOf, supersededAt, winningSecret, withAdmission, withEpoch, withoutEnded, withMember, withoutRemoval,
  hoodSettings, withRemoved, withRevoked, type HoodSettings, type HoodState, type Member
} from '../hood-state.ts'
import { settingsAfter } from './admin-actions.ts'

/** One post in the local feed, as shown and as printed by `feed --json`. */
export interface FeedPost {
  id: string
  /** 'private' (a neighborhood's), 'public' (an area's public channel) or 'rfa' (agency request). */
  channel: 'private' | 'public' | 'rfa'
  topic: string
  hood?: string
  area?: string
  kind: string
  text: string
  location?: string
  created: number
  expires: number
  media: Array<{ cid: string, key: string, mime: string, size: number, hash: string }>
  replyTo?: string
  /** Hex signing key: the member's identity key (private), the area pseudonym (public) or the agency key (rfa). */
  author: string
  authorName?: string
  /** Fingerprint of `author` (as `id show` prints it): shown beside names that look alike. */
  authorFingerprint: string
  /** The author's name looks like another identity's (UTS #39 skeleton): show the fingerprint. */
  lookAlike?: boolean
  /** The author's name before a recent rename (shown beside the new one for RENAME_NOTICE_MS). */
  authorFormerName?: string
  mine: boolean
  /**
   * Agency requests: fingerprints of the admins of this home's neighborhoods who vouched for
   * the agency key (unrevoked, unexpired attestations covering the area); empty = unverified.
   */
  vouchedBy?: string[]
  /** Agency requests: the attestations the request carried (admin key, attestation id, expiry), for vouchedBy. */
  attestations?: Array<{ admin: string, id: string, expires: number, name: string }>
  /** This home's own private post: the id of its public copy, shown with it rather than as a second post. */
  publicId?: string
}

export interface PostOptions extends Omit<PostInput, 'location'> {
  hood?: string
  /** Also publish to the area's public channel, signed with the author's area pseudonym. */
  public?: boolean
  /** Show the author's name on the public copy. */
  showName?: boolean
  lat?: number
  lon?: number
  geohash?: string
  precision?: number
}

export interface PostOutcome {
  id: string
  publicId?: string
  /** What became of the public copy: ok only once a relay acknowledged it (a relay may not serve the area). */
  publicResult?: Result
  /** The relay that acknowledged the public copy. */
  publicAckedBy?: string
  /** The relay that acknowledged it. */
  ackedBy?: string
  result: Result
}

/** How a resident answers a post: in its neighborhood, on the area's public channel, or sealed to the requesting agency. */
export type ReplyMode = 'private' | 'public' | 'sealed'

/** Who will be able to read a reply, said before it is sent. */
export interface ReplyAudience {
  mode: ReplyMode
  /** private: the neighborhood whose members read it. */
  hood?: string
  /** public and sealed: the area channel it travels on. */
  area?: string
  /** sealed: the one agency that can open it (its name as it signs, and fingerprint). */
  agency?: { name: string, fingerprint: string }
}

export interface ReplyOptions {
  /** The post answered: its whole id (hex), as in the feed. */
  to: string
  text: string
  mode: ReplyMode
  /** Clips already pinned (clip-flows.ts attachClip, on the replyHood's relays). */
  media?: MediaRef[]
  now?: number
}

export interface ReplyOutcome {
  /** The reply's id: the private post's, the public post's, or the sealed box's. */
  id: string
  audience: ReplyAudience
  result: Result
  relay?: string
}

/** A reply sealed to this agency, as `agency replies` prints it. */
export interface AgencyReplyEntry {
  /** Id (hex) of the sealed message it came in. */
  id: string
  /** The request it answers (hex). */
  rfa: string
  text: string
  /** What `clip get` needs: cid, key (base64url), mime, size (plaintext bytes), hash (hex). */
  clips: FeedPost['media']
  created: number
  expires: number
  /** Only if the resident chose to sign it (the CLI never does). */
  author?: { name: string, fingerprint: string }
}

/**
 * The resident's own switches. `rfa`: agency requests for this home's areas are shown (and
 * notified) unless it is false. Undefined (never chosen) means the neighborhoods' default for
 * new members, set by their admins (HoodSettings.rfasForNewMembers): hidden if any neighborhood
 * this home is in says hidden, else shown. The resident's own choice always wins.
 */
export interface PeerSettings {
  rfa?: boolean
}

export interface PeerInit {
  /** Extra relays to use (agencies, or residents overriding the hood's list). */
  relays?: string[]
  now?: () => number
  /** How long an epoch stays open to posts in flight after we learn the next one. @default EPOCH_GRACE_MS */
  epochGraceMs?: number
  /** The delay before a public copy goes out (ms). @default a random 0..MAX_PUBLIC_DELAY_MS (public-copy.ts); tests inject 0 */
  publicDelayMs?: () => number
}

/** How a message reached us: live gossip is judged on arrival; sync brings what relays stored. */
export type Arrival = 'gossip' | 'sync' | 'local'

/** How long a renamed member is shown with the former name too. */
export const RENAME_NOTICE_MS = 30 * 24 * 3600_000

/** Posts held while waiting for the rekey that opens their epoch. */
const MAX_AHEAD_OF_EPOCH = 256
/** Older epochs a sync tries, newest first, with a relay that does not know the current one. */
const MAX_OLDER_EPOCH_TRIES = 4
/** Outcomes of sent outbox messages kept for a post() whose message another flush sent first: far more than posts made at once. */
const SENT_LATELY = 256
/**
 * Topics a catch-up syncs at once. Each session is a few round trips and a store commit: one
 * topic after another, an agency following a city's 500 areas spent its catch-up waiting on
 * them (test/bench/scale-agency-bench.ts). Four leave room, under the 8 streams a relay always
 * keeps for an address holding few (stream-budget.ts), for a push and a clip or two.
 */
export const SYNC_TOPICS_AT_ONCE = 4
/** Backoff of a long-running peer redialling a lost relay: from 1 s, doubling, to 30 s. */
export const RECONNECT_MIN_MS = 1000
export const RECONNECT_MAX_MS = 30_000
/** How often a home sends its join again (a join envelope is kept DEFAULT_TTL_MS, 7 days). */
export const REANNOUNCE_JOIN_MS = 5 * 24 * 3_600_000

/** What the engine calls on the runtime's clip store (clip-store.ts's ClipStore). */
export interface PeerClips {
  /** Drops clips past their keep-until time; returns how many. */
  sweep: (now: number) => Promise<number>
  stop: () => Promise<void>
}

/**
 * What a runtime gives the engine: storage already open, and how to make libp2p nodes. The
 * engine closes `messages` and `local` when it stops.
 */
export interface PeerRuntime<C extends PeerClips = PeerClips> {
  readonly home: PeerHome
  readonly messages: Messages
  readonly local: LocalStore
  /** The peer's persistent node (its own lasting peer id; no listener). */
  createNode: () => Promise<PorchlightNode>
  /** A fresh short-lived node (new peer id) for public copies (public-copy.ts); stopped after use. */
  createPublicNode: () => Promise<PorchlightNode>
  /** The clip store on the started node. */
  openClips: (node: PorchlightNode) => Promise<C>
}

interface OutboxEntry {
  topic: string
  /** base64url of the wire bytes. */
  bytes: string
  /** base64url of the signed inner message, for private posts (re-sealed if the epoch closes). */
  inner?: string
}

interface JoinEntry { inner: string, at: number, sent: number }

/**
 * The retraction secret of one of this home's posts (retract.ts), by post id: only this home
 * ever holds it. A private post's entry names its public copy, which has its own secret.
 */
interface SecretEntry {
  topic: string
  /** base64url, 32 bytes. */
  secret: string
  /** The post's clear times, as a retraction repeats them. */
  ts: number
  exp: number
  publicId?: string
}

/** What `retract` did, for the post and its public copy. */
export interface RetractOutcome {
  id: string
  /** ok once a relay acknowledged the retraction (or the post had never left: it was only taken out of the outbox). */
  result: Result
  relay?: string
  publicId?: string
  publicResult?: Result
  publicRelay?: string
}

export class ResidentPeer<C extends PeerClips = PeerClips> {
  private libp2p: PorchlightNode | undefined
  private clipStore: C | undefined
  private readonly listeners = new Set<(post: FeedPost, via: Arrival) => void>()
  private readonly retractListeners = new Set<(id: string) => void>()
  private readonly topics = new Map<string, { hood?: HoodState, area?: string }>()
  private me: Identity | undefined
  private readonly aheadOfEpoch = new Map<string, { topic: string, bytes: Uint8Array }>()

  readonly home: PeerHome
  readonly messages: Messages
  private readonly local: LocalStore
  private readonly posts: KeyValue<FeedPost>
  /** Private posts keep their signed inner bytes, so they can be re-sealed if their epoch closes before a relay takes them. */
  private readonly outbox: KeyValue<OutboxEntry>
  /** This home's own joins, by neighborhood id, to send again while they may still be missed (reannounceJoins). */
  private readonly joins: KeyValue<JoinEntry>
  /**
   * Public copies no relay has acknowledged yet. Kept apart from the outbox (which the
   * persistent node flushes) and out of the message store (which sync offers to relays), so
   * they only ever leave from a short-lived node (public-copy.ts).
   */
  private readonly publicOutbox: KeyValue<OutboxEntry>
  /** Retraction secrets of this home's own posts ('retract-secrets'). */
  private readonly secrets: KeyValue<SecretEntry>
  /** Posts per neighborhood, week and kind (numbers only: they outlive the posts). */
  private readonly weekCounts: KeyValue<WeekCounts>
  private weeks: Promise<Map<string, WeekCounts>> | undefined
  /** An agency's replies sealed to it ('agency-replies'), by message id. */
  private readonly sealedReplies: KeyValue<AgencyReplyEntry>
  /** The resident's switches ('settings', one key 'home'). */
  private readonly settingsStore: KeyValue<PeerSettings>
  private current: PeerSettings = {}
  /** Set for an agency home: it tries its box secret on sealed replies. */
  private isAgency = false

  private constructor (
    private readonly runtime: PeerRuntime<C>,
    private readonly init: PeerInit,
    private readonly now: () => number
  ) {
    this.home = runtime.home
    this.messages = runtime.messages
    this.local = runtime.local
    this.posts = this.local.section<FeedPost>('posts')
    // What no relay could give back after a crash is written durably; the feed is rebuilt by sync.
    const durable = { durable: true }
    this.outbox = this.local.section<OutboxEntry>('outbox', durable)
    this.joins = this.local.section<JoinEntry>('joins', durable)
    this.publicOutbox = this.local.section<OutboxEntry>('public-outbox', durable)
    // Every write to the secrets makes ownPublicCopies read them again.
    const secrets = this.local.section<SecretEntry>('retract-secrets', durable)
    const changing = async <T>(write: Promise<T>): Promise<T> => {
      this.secretsChanged++
      try { return await write } finally { this.secretsChanged++ }
    }
    this.secrets = {
      ...secrets,
      put: async (key, value) => { await changing(secrets.put(key, value)) },
      del: async (key) => { await changing(secrets.del(key)) },
      delMany: async (keys) => { await changing(secrets.delMany(keys)) }
    }
    this.weekCounts = this.local.section<WeekCounts>(WEEK_COUNTS_SECTION)
    this.sealedReplies = this.local.section<AgencyReplyEntry>('agency-replies')
    this.settingsStore = this.local.section<PeerSettings>('settings', durable)
  }

  /** Opens the engine on a runtime's storage (which it closes on stop, or if opening fails). */
  static async open<C extends PeerClips> (runtime: PeerRuntime<C>, init: PeerInit = {}): Promise<ResidentPeer<C>> {
    const now = init.now ?? Date.now
    try {
      // Messages of an earlier release's format would be offered to relays at every sync, and refused.
      await runtime.messages.migrate(STORE_FORMAT, async bytes => await isRetiredFormat(bytes, now()))
      const peer = new ResidentPeer(runtime, init, now)
      peer.me = await runtime.home.identity()
      for await (const [key, value] of peer.settingsStore.entries()) if (key === 'home') peer.current = value
      await peer.loadTopics()
      return peer
    } catch (err) {
      // The open's error says what went wrong; a close that fails too adds nothing to it.
      await runtime.messages.close().catch(() => undefined)
      await runtime.local.close().catch(() => undefined)
      throw err
    }
  }

  private async loadTopics (): Promise<void> {
    this.topics.clear()
    for (const h of await this.home.hoods()) {
      this.topics.set(privateTopic(h.hood.id), { hood: h })
      this.topics.set(areaTopic(h.hood.area), { area: h.hood.area })
    }
    const agency = await this.home.agency()
    this.isAgency = agency !== undefined
    for (const area of agency?.areas ?? []) this.topics.set(areaTopic(area), { area })
    this.agencyRelays = agency?.relays ?? []
  }

  /** The relays an agency named with `agency follow --relay`. */
  private agencyRelays: readonly string[] = []

  relays (): string[] {
    const all = new Set<string>(this.init.relays ?? [])
    for (const r of this.agencyRelays) all.add(r)
    for (const t of this.topics.values()) for (const r of t.hood?.relays ?? []) all.add(r)
    return [...all]
  }

  /** Starts libp2p, subscribes, and connects to the relays. */
  async start (): Promise<void> {
    if (this.libp2p !== undefined) return
    this.libp2p = await this.runtime.createNode()
    this.log = this.libp2p.logger.forComponent('porchlight:resident')
    this.clipStore = await this.runtime.openClips(this.libp2p)
    const pubsub = this.libp2p.services.pubsub
    // The validator is where gossip is taken in: it runs the protocol checks and stores the
    // message, and its verdict steers gossipsub (REJECT lowers the sender's score).
    for (const topic of this.topics.keys()) {
      pubsub.topicValidators.set(topic, async (_peer, msg) => {
        const id = sha256(msg.data)
        if (this.messages.has(id)) return TopicValidatorResult.Ignore
        try {
          await this.ingest(topic, msg.data, id, 'gossip')
          return TopicValidatorResult.Accept
        } catch (err) {
          // The relays' verdict for the same refusal (intake.ts): a post ahead of its rekey, or
          // trouble on our side, is IGNOREd; an invalid message is REJECTed.
          return gossipVerdict(err)
        }
      })
      pubsub.subscribe(topic)
    }
    // Relays let a peer into a neighborhood's gossip once it has proven the tag key in a sync,
    // on each connection: prove (and catch up) now, and again whenever a relay comes back.
    this.libp2p.addEventListener('peer:identify', (evt) => {
      if (this.started && evt.detail.protocols.includes(PROTOCOLS.sync)) this.reproveSoon()
    })
    await this.connect()
    await this.proveToRelays()
    await this.reannounceJoins().catch((err: unknown) => { this.log.error('cannot re-announce joins - %e', err) })
    this.started = true
  }

  /** Proves each neighborhood's current tag key to every connected relay, in parallel (refusals are the relay's to log). */
  private async proveToRelays (topics: readonly string[] = [...this.topics.keys()].filter(isPrivateTopic)): Promise<void> {
    const node = this.requireNode()
    const relays = this.relays().map(r => multiaddr(r)).filter(a => {
      const id = a.getComponents().find(c => c.name === 'p2p')?.value
      return id !== undefined && node.getConnections().some(c => c.remotePeer.toString() === id)
    })
    await Promise.all(topics.flatMap(topic => relays.map(async relay => {
      const auth = await this.syncAuth(topic)
      if (auth !== undefined) await proveKey(node, relay, topic, auth).catch((err: unknown) => { this.log('proving the key of %s to %a failed - %e', topic, relay, err) })
    })))
  }

  /** Set once start() has made its first sync; later relay connections re-prove in the background. */
  private started = false

  /** Dials every known relay; resolves when at least one answered (or all failed). */
  async connect (): Promise<number> {
    const node = this.requireNode()
    const results = await Promise.allSettled(this.relays().map(async r => node.dial(multiaddr(r), { signal: AbortSignal.timeout(5000) })))
    return results.filter(r => r.status === 'fulfilled').length
  }

  /** The running libp2p node. */
  node (): PorchlightNode { return this.requireNode() }

  /** Encrypted clips (Helia with bitswap on this peer's node); see clip-store.ts and clip-flows.ts. */
  clips (): C {
    if (this.clipStore === undefined) fail('UNAVAILABLE', 'peer is not started')
    return this.clipStore
  }

  private requireNode (): PorchlightNode {
    if (this.libp2p === undefined) fail('UNAVAILABLE', 'peer is not started')
    return this.libp2p
  }

  private requireMe (): Identity {
    if (this.me === undefined) fail('NOT_FOUND', 'no identity here: run `porchlight id create --name NAME` first')
    return this.me
  }

  /** Hears each post as the feed shows it, and how it came (live gossip, a sync, or this home's own). */
  onPost (listener: (post: FeedPost, via: Arrival) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Hears the id (hex) of each post a retraction took out of the feed (this home's own, or another's as it arrives). */
  onRetract (listener: (id: string) => void): () => void {
    this.retractListeners.add(listener)
    return () => { this.retractListeners.delete(listener) }
  }

  /**
   * Validates, stores and (where we hold the keys) decrypts one message from the network.
   * Returns the feed post it produced, if any. Throws PorchlightError for invalid input.
   * `via` says how it came: live gossip is judged by when it arrives (an epoch closed by a
   * rekey takes no more posts); sync brings what relays stored, having judged it so.
   */
  async ingest (topic: string, bytes: Uint8Array, id = sha256(bytes), via: Arrival = 'sync'): Promise<FeedPost | undefined> {
    const t = this.topics.get(topic) ?? fail('NOT_FOUND', 'not subscribed to that topic')
    if (this.messages.has(id)) return undefined
    const now = this.now()
    const domain = peekDomain(bytes)
    if (domain === DOMAIN_RETRACT && (isAreaTopic(topic) || t.hood !== undefined)) {
      // A retraction for a post we do not hold (yet) is kept as a pending tombstone (bounded per topic by the store).
      const v = await validateRetraction(topic, bytes, id, now, this.messages, true)
      await this.messages.put(v.message)
      if (v.retracts !== undefined) await this.dropPost(v.retracts)
      return undefined
    }
    let feed: FeedPost | undefined
    let ts: number
    let exp: number
    if (isPrivateTopic(topic) && t.hood !== undefined) {
      if (domain === 'pl/rekey') {
        ;({ ts, exp } = rekeyTimes(bytes, now))
        await this.applyRekey(t.hood, bytes, id)
        await this.messages.put({ topic, id, ts, exp, bytes })
        await this.retryAheadOfEpoch(topic)
        // Relays let a peer stay in a topic's gossip only under the open epoch's key: prove it.
        if (via === 'gossip') this.reproveSoon([topic])
        return undefined
      }
      const env = decodeEnvelope(bytes)
      if (env.topic !== topic) fail('WRONG_TOPIC', 'envelope names another topic')
      const hood = (await this.home.hoodById(t.hood.hood.id)) ?? t.hood
      const { inner } = this.openWithAny(hood, env, bytes, id, topic)
      if (via === 'gossip') checkEpochOpen(env.epoch, supersededAt(hood, env.epoch), now, this.init.epochGraceMs)
      const innerType = innerDomain(inner)
      ts = env.ts
      exp = env.exp
      if (innerType === 'pl/signed-post') {
        const p = await openSignedPost(inner, topic, now)
        checkPostTimes(env, p.post)
        const removal = removalOf(hood, p.author)
        // A removed member's posts from after the removal are never shown, whatever the route.
        if (removal !== undefined && (via === 'gossip' || p.post.created >= removal.at)) fail('NOT_MEMBER', 'author was removed from this neighborhood')
        feed = this.feedPost(toHex(id), 'private', topic, p.post, toHex(p.author), p.authorName, { hood: hood.hood.name })
      } else {
        await this.applyAnnouncement(hood, inner, innerType, topic, env.epoch, now)
      }
    } else if (isAreaTopic(topic) && domain === DOMAIN_SEALED_REPLY) {
      // Opaque to everyone but the agency it was sealed to: kept for sync, tried by an agency.
      ;({ ts, exp } = decodeSealedReply(bytes, now))
      if (this.isAgency) await this.keepSealedReply(id, bytes, now)
    } else if (isAreaTopic(topic)) {
      const opened = domain === 'pl/rfa' ? await openRfa(bytes, now) : await openPublicPost(bytes, now)
      if (opened.topic !== topic) fail('WRONG_TOPIC', 'message is for another area')
      ts = opened.post.created
      exp = opened.post.expires
      const author = 'pseudonym' in opened ? opened.pseudonym : (opened as { agency: { signKey: Uint8Array } }).agency.signKey
      const name = 'name' in opened ? opened.name as string | undefined : (opened as { agency?: { name: string } }).agency?.name
      feed = this.feedPost(toHex(id), domain === 'pl/rfa' ? 'rfa' : 'public', topic, opened.post, toHex(author), name, { area: opened.area })
      if (domain === 'pl/rfa') feed.attestations = await rfaAttestations(bytes, now)
    } else {
      fail('WRONG_TOPIC', 'not a Porchlight topic')
    }
    // A post its author retracted never shows (RETRACTED); a tombstone that does not match it was junk.
    const junk = await checkTombstone(this.messages, { topic, id, ts, exp, bytes })
    if (junk !== undefined) await this.messages.delete(junk)
    // What came from the network is kept without an fsync: its relays hold it, and a copy lost
    // in a crash comes back by sync. fsyncs queue when many peers share a disk (scale:delivery's
    // engines receive ~500 posts a second on one, near its fsync rate). This home's own stay durable.
    await this.messages.put({ topic, id, ts, exp, bytes }, { durable: via === 'local' })
    if (feed !== undefined) {
      const key = `${feed.created.toString(16).padStart(14, '0')}!${feed.id}`
      // The feed entry may have outlived its message in a crash (the two stores are apart, and
      // neither write is synced): the post fetched again by sync is counted once.
      const counted = await this.posts.get(key) !== undefined
      await this.posts.put(key, feed)
      if (t.hood !== undefined && !counted) await this.count(toHex(t.hood.hood.id), feed, 1)
      // This home's own public copy is shown with its private post, not a second time; requests
      // are not shown at all when the resident switched them off.
      if (this.listeners.size > 0 && (feed.channel !== 'rfa' || await this.showsRequests()) && !(await this.ownPublicCopies()).has(feed.id)) {
        const [shown] = await this.decorate([feed])
        for (const l of this.listeners) l(shown!, via)
      }
    }
    return feed
  }

  /** Opens an envelope under whichever secret of its epoch we hold (several after concurrent rekeys). */
  private openWithAny (hood: HoodState, env: PrivateEnvelope, bytes: Uint8Array, id: Uint8Array, topic: string): { inner: Uint8Array, keys: EpochKeys } {
    const candidates = allEpochKeys(hood, env.epoch)
    if (candidates.length === 0) {
      // Possibly a post that overtook its epoch's rekey: keep it for when the rekey comes.
      this.aheadOfEpoch.set(toHex(id), { topic, bytes })
      if (this.aheadOfEpoch.size > MAX_AHEAD_OF_EPOCH) this.aheadOfEpoch.delete(this.aheadOfEpoch.keys().next().value!)
      fail('UNKNOWN_EPOCH', `no keys for epoch ${env.epoch}`)
    }
    let last: unknown
    for (const keys of candidates) {
      try {
        return { inner: openEnvelope(env, keys, topic), keys } // checks the membership tag too
      } catch (err) {
        last = err
        if (!isPorchlightError(err, 'BAD_TAG') && !isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      }
    }
    throw last
  }

  /** Join, approval, leave, agency revocation and settings, as sealed into the private topic. */
  private async applyAnnouncement (hood: HoodState, inner: Uint8Array, innerType: string, topic: string, epoch: number, now: number): Promise<void> {
    const id = hood.hood.id
    if (innerType === 'pl/join') {
      const j = await openJoin(inner, topic, now)
      const valid = j.admission !== undefined && await this.admits(hood, j.admission, epoch, j.at)
      // Checked inside the update: announcements of one sync page are applied concurrently.
      await this.home.updateHood(id, cur => {
        let s = cur ?? hood
        // An admission admits one identity, and only while its epoch is open here: a second
        // identity on the same invite (a removed member's sock puppet), or a join sealed in an
        // epoch we have seen closed, stays pending until an admin approves it.
        const use = valid ? admittedBy(s, j.admission!.key) : undefined
        const first = use === undefined || equalBytes(use.member, j.member.signKey) || joinsBefore(j.member.signKey, j.at, use)
        const admitted = valid && supersededAt(s, epoch) === undefined && first
        const removal = removalOf(s, j.member.signKey)
        // An old join (or an invite from before the removal) never puts a removed member back.
        if (removal !== undefined && !(admitted && j.admission!.epoch > removal.epoch)) return s
        if (admitted) s = withAdmission(s, j.admission!.key, j.member.signKey, j.at)
        return withMember(withoutRemoval(s, j.member.signKey), j.member, { admitted, ...(j.via !== undefined ? { via: j.via } : {}), now })
      })
    } else if (innerType === 'pl/admit') {
      const a = await openAdmit(inner, topic, now)
      if (!isAdmin(hood.hood, a.by)) fail('NOT_ADMIN', 'approval signed by someone who is not an admin')
      await this.home.updateHood(id, cur => {
        const s = cur ?? hood
        const removal = removalOf(s, a.member.signKey)
        if (removal !== undefined && a.at < removal.at) return s
        return withMember(withoutRemoval(s, a.member.signKey), a.member, { admitted: true, now })
      })
    } else if (innerType === 'pl/roster') {
      const r = await openRoster(inner, topic, now, key => isAdmin(hood.hood, key))
      await this.home.updateHood(id, cur => {
        let s = cur ?? hood
        // A removal stands until an admin admits the member again by an admission or approval.
        for (const m of r.members) if (removalOf(s, m.signKey) === undefined) s = withMember(s, m, { admitted: true, now })
        return s
      })
    } else if (innerType === 'pl/leave') {
      const l = await openLeave(inner, topic, now)
      // Off the list the next rekey is sealed to; until an admin rekeys, the leaver's keys still open new posts.
      await this.home.updateHood(id, cur => withRemoved(cur ?? hood, [l.member], l.at, currentEpochKeys(cur ?? hood).epoch))
    } else if (innerType === 'pl/agency-revoke') {
      const r = await openRevocation(inner, topic, now)
      if (!isAdmin(hood.hood, r.by)) fail('NOT_ADMIN', 'revocation signed by someone who is not an admin')
      await this.home.updateHood(id, cur => withRevoked(cur ?? hood, r.attestation))
    } else if (innerType === 'pl/hood-settings') {
      const m = await openHoodSettings(inner, topic, now)
      // Judged against the admins as this home knows them now (the admin chain only grows).
      if (!isAdmin(hood.hood, m.by)) fail('NOT_ADMIN', 'settings signed by someone who is not an admin')
      await this.home.updateHood(id, cur => withAnnouncedSettings(cur ?? hood, m))
    } else {
      fail('BAD_DOMAIN', `unexpected ${innerType.slice(0, 32)} in an envelope`)
    }
  }

  /** Does an admission admit a join sealed in `epoch` at `at`? (An admin's, for this epoch, unexpired then.) */
  private async admits (hood: HoodState, admission: Admission, epoch: number, at: number): Promise<boolean> {
    try {
      await verifyAdmission(hood.hood, admission)
    } catch (err) {
      if (isPorchlightError(err, 'NOT_ADMIN') || isPorchlightError(err, 'BAD_SIGNATURE')) return false
      throw err
    }
    return admission.epoch === epoch && at <= admission.expires + MAX_CLOCK_SKEW_MS
  }

  private feedPost (id: string, channel: FeedPost['channel'], topic: string, post: Post, author: string, authorName: string | undefined, where: { hood?: string, area?: string }): FeedPost {
    const mine = this.me !== undefined && author === toHex(this.me.public.signKey)
    return {
      id,
      channel,
      topic,
      ...where,
      kind: post.kind,
      text: post.text,
      ...(post.location !== undefined ? { location: post.location } : {}),
      created: post.created,
      expires: post.expires,
      media: post.media.map(m => ({ cid: m.cid, key: toBase64Url(m.key), mime: m.mime, size: m.size, hash: toHex(m.hash) })),
      ...(post.replyTo !== undefined ? { replyTo: toHex(post.replyTo) } : {}),
      author,
      ...(authorName !== undefined ? { authorName } : {}),
      authorFingerprint: fingerprint(fromHex(author)),
      mine
    }
  }

  /**
   * Applies a rekey that an admin of the neighborhood signed (anything else throws: NOT_ADMIN,
   * BAD_SIGNATURE). A genuine rekey with no slot for us, to an epoch we do not hold, means we
   * are out: the hood is marked ended. Of two rekeys to one epoch, the lower id wins; an
   * admin whose own rekey lost re-applies its removals on top of the winner.
   */
  private async applyRekey (state: HoodState, bytes: Uint8Array, id: Uint8Array): Promise<void> {
    const me = this.requireMe()
    const w = decodeRekey(bytes)
    const hood = (await this.home.hoodById(state.hood.id)) ?? state
    if (hood.epochs.some(e => e.epoch === w.e && e.rekey !== undefined && equalBytes(e.rekey.id, id))) return
    let opened
    try {
      opened = await openRekey(bytes, me, hood.hood)
    } catch (err) {
      if (!isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      // Genuine (the signature verified first) but not for us.
      const current = currentEpochKeys(hood).epoch
      if (w.e > current && hood.ended === undefined) {
        await this.home.updateHood(hood.hood.id, cur => ({ ...(cur ?? hood), ended: { reason: 'removed', at: w.ts, epoch: w.e } }))
      }
      return
    }
    const rekey = { id, by: opened.by, removed: opened.removed }
    await this.home.updateHood(hood.hood.id, cur => {
      let s = withEpoch(cur ?? hood, opened.keys.epoch, opened.keys.secret, { learned: this.now(), rekey })
      s = withRemoved(s, opened.removed, opened.ts, opened.keys.epoch)
      // Admin changes travel in rekeys, and the chain of the rekey that leads the newest epoch is
      // the neighborhood's: two admins adding admins at once end with one chain everywhere. An
      // admin we added whom that chain lacks is added again on top (runFollowUps).
      const newest = s.epochs[s.epochs.length - 1]!.epoch
      const leads = equalBytes(winningSecret(s, newest)?.rekey?.id ?? new Uint8Array(), id)
      if (leads && !sameChain(s.hood.adminCerts, opened.adminCerts)) {
        for (const [i, c] of s.hood.adminCerts.entries()) {
          const mine = equalBytes(s.hood.admins[c.by]!, me.public.signKey)
          if (mine && !opened.adminCerts.some(o => equalBytes(o.key, c.key))) this.lostAdmins.push({ hood: s.hood.id, key: s.hood.admins[i + 1]! })
        }
        s = { ...s, hood: neighborhoodOf({ ...s.hood, adminCerts: opened.adminCerts }) }
      }
      if (s.ended?.reason === 'removed' && s.ended.epoch <= opened.keys.epoch) s = withoutEnded(s)
      return s
    })
  }

  /** Admins we certified whose certificate lost to a concurrent chain: certified again on the next sync. */
  private readonly lostAdmins: Array<{ hood: Uint8Array, key: Uint8Array }> = []

  /**
   * Re-applies removals of our own rekeys that lost to a concurrent one: worked out from the
   * stored epochs each time (so a restart between losing and catching up loses nothing). A
   * removal is done once a winning rekey at that epoch or later named it. Returns rekeys sent.
   */
  async runFollowUps (): Promise<number> {
    const me = this.requireMe()
    let n = 0
    for (const lost of this.lostAdmins.splice(0)) {
      const state = await this.home.hoodById(lost.hood)
      if (state === undefined || state.ended !== undefined || !isAdmin(state.hood, me.public.signKey) || isAdmin(state.hood, lost.key)) continue
      const member = state.members.find(m => equalBytes(m.signKey, lost.key))
      if (member === undefined || !member.admitted) continue
      await this.addAdmin(toHex(lost.key), toHex(state.hood.id))
      n++
    }
    for (const state of await this.home.hoods()) {
      if (state.ended !== undefined || !isAdmin(state.hood, me.public.signKey)) continue
      const missing = lostRemovals(state, me.public.signKey)
      if (missing.length === 0) continue
      await this.rekey(state, missing)
      n++
    }
    return n
  }

  /** Re-takes the posts of a topic that arrived before their epoch's rekey. */
  private async retryAheadOfEpoch (topic: string): Promise<void> {
    for (const [key, m] of [...this.aheadOfEpoch]) {
      if (m.topic !== topic) continue
      this.aheadOfEpoch.delete(key)
      await this.ingest(m.topic, m.bytes).catch((err: unknown) => { this.log('a post held for its rekey is still refused - %e', err) })
    }
  }

  /** NOT_MEMBER with the reason when this home was removed from, or left, the hood. */
  private checkStillMember (state: HoodState): void {
    if (state.ended === undefined) return
    const when = new Date(state.ended.at).toISOString()
    if (state.ended.reason === 'left') fail('NOT_MEMBER', `you left ${state.hood.name} on ${when}`)
    fail('NOT_MEMBER', `you were removed from ${state.hood.name} on ${when}: an admin started epoch ${state.ended.epoch} without you ` +
      '(if you just joined, your invite was made before that: ask for a new one)')
  }

  // ---- settings ----

  /** The resident's switches (PeerSettings). */
  settings (): PeerSettings { return { ...this.current } }

  /** Changes switches; they hold from the next post shown (a running watch included). */
  async updateSettings (patch: PeerSettings): Promise<PeerSettings> {
    this.current = { ...this.current, ...patch }
    await this.settingsStore.put('home', this.current)
    return this.settings()
  }

  /**
   * Whether agency requests are shown here: the resident's switch, or when never set, the
   * default of the neighborhoods this home is in (hidden if any of them hides them).
   */
  async showsRequests (): Promise<boolean> {
    if (this.current.rfa !== undefined) return this.current.rfa
    return (await this.home.hoods()).every(h => h.ended !== undefined || hoodSettings(h).rfasForNewMembers)
  }

  /** Whether a post is shown here, given showsRequests(). */
  private shows (p: FeedPost, requests: boolean): boolean {
    return p.channel !== 'rfa' || requests
  }

  // ---- replies ----

  /**
   * What a reply to `ref` (an id prefix of 8+ hex digits, as the feed prints it) would be and
   * who would read it, without sending anything: the post answered, and the neighborhood the
   * reply goes through (private replies; the relays that pin its clips). NOT_FOUND for no such
   * post, BAD_ARGUMENT for a prefix several posts share, REFUSED for a mode the post cannot take.
   */
  async replyTarget (ref: string, mode: ReplyMode): Promise<{ post: FeedPost, hood: HoodState, audience: ReplyAudience }> {
    const prefix = ref.toLowerCase()
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) fail('BAD_ARGUMENT', 'a post id is 8 to 64 hex characters (as `porchlight feed` prints it)')
    const found = (await this.feed()).filter(p => p.id.startsWith(prefix))
    if (found.length > 1) fail('BAD_ARGUMENT', `${found.length} posts start with ${prefix}: give more of the id`)
    const post = found[0] ?? fail('NOT_FOUND', `no post ${prefix.slice(0, 16)} in your feed`)
    const hoods = (await this.home.hoods()).filter(h => h.ended === undefined)
    const hood = post.channel === 'private'
      ? hoods.find(h => privateTopic(h.hood.id) === post.topic)
      : hoods.find(h => areaTopic(h.hood.area) === post.topic)
    if (hood === undefined) fail('NOT_MEMBER', 'you are in no neighborhood of that post\'s area: only residents reply')
    if (mode === 'sealed' && post.channel !== 'rfa') fail('REFUSED', 'only an agency\'s request can take a sealed reply: reply in the neighborhood or with --public')
    // A public reply naming a private post would point at its envelope (the id is its hash).
    if (mode === 'public' && post.channel === 'private') fail('REFUSED', 'a private post cannot be answered in public: that would point at it; reply in the neighborhood')
    const area = post.area ?? hood.hood.area
    const audience: ReplyAudience = mode === 'private'
      ? { mode, hood: hood.hood.name }
      : mode === 'public'
        ? { mode, area }
        : { mode, area, agency: { name: post.authorName ?? '?', fingerprint: post.authorFingerprint } }
    return { post, hood, audience }
  }

  /**
   * Replies to a post of the feed, only as asked, one post at a time: privately in the
   * neighborhood (a sealed post with replyTo, kind 'reply'), publicly on the area channel (a
   * public post signed with the area pseudonym, sent like a public copy), or sealed to the agency
   * whose request it answers (sealed-reply.ts: the key is the verified request's, never the
   * caller's; sent like a public copy, from a one-time peer id after the random delay).
   */
  async reply (opts: ReplyOptions): Promise<ReplyOutcome> {
    const { post: target, hood, audience } = await this.replyTarget(opts.to, opts.mode)
    const now = opts.now ?? this.now()
    const post = createPost({ kind: 'reply', text: opts.text, replyTo: fromHex(target.id), now, ...(opts.media !== undefined ? { media: opts.media } : {}) })
    if (opts.mode === 'private') {
      const out = await this.post({ kind: 'reply', text: opts.text, replyTo: post.replyTo!, hood: toHex(hood.hood.id), now, ...(opts.media !== undefined ? { media: opts.media } : {}) })
      return { id: out.id, audience, result: out.result, ...(out.ackedBy !== undefined ? { relay: out.ackedBy } : {}) }
    }
    if (opts.mode === 'public') {
      const out = await this.sendPublicCopy(audience.area!, post, false)
      return { id: out.id, audience, result: out.result, ...(out.relay !== undefined ? { relay: out.relay } : {}) }
    }
    const stored = await this.messages.get(fromHex(target.id)) ?? fail('NOT_FOUND', 'the request is no longer stored here')
    const rfa = await openRfa(stored.bytes, now)
    const topic = rfa.topic
    let box: { bytes: Uint8Array, id: Uint8Array } | undefined
    const { results } = await sendPublicCopies(async () => {
      // Dated when it goes out, like a public copy (the delay is not in its times).
      const sentAt = this.now()
      box = await sealReply(rfa, { ...post, created: sentAt, expires: sentAt + (post.expires - post.created) })
      return [{ topic, bytes: box.bytes }]
    }, { relays: this.relays(), createNode: this.runtime.createPublicNode, ...(this.init.publicDelayMs !== undefined ? { delayMs: this.init.publicDelayMs() } : {}) })
    const r = results[0]!
    if (r.result.ok && box !== undefined) await this.ingest(topic, box.bytes, box.id, 'local').catch(this.localCopyFailed)
    return { id: box !== undefined ? toHex(box.id) : '', audience, result: r.result, ...(r.relay !== undefined ? { relay: r.relay } : {}) }
  }

  /** Agency: opens a sealed reply if it was sealed to this agency, and keeps it (anything else stays opaque). */
  private async keepSealedReply (id: Uint8Array, bytes: Uint8Array, now: number): Promise<void> {
    const me = this.requireMe()
    let reply
    try {
      reply = await openSealedReply(me, bytes, now)
    } catch (err) {
      // Sealed to another agency (or not a box at all: junk with a valid proof): not ours to read.
      if (isPorchlightError(err, 'DECRYPT_FAILED')) return
      throw err
    }
    const p = reply.post
    await this.sealedReplies.put(toHex(id), {
      id: toHex(id),
      rfa: toHex(reply.rfaId),
      text: p.text,
      clips: p.media.map(m => ({ cid: m.cid, key: toBase64Url(m.key), mime: m.mime, size: m.size, hash: toHex(m.hash) })),
      created: p.created,
      expires: p.expires,
      ...(reply.author !== undefined ? { author: { name: reply.author.name, fingerprint: fingerprint(reply.author.signKey) } } : {})
    })
  }

  /**
   * Agency: the replies sealed to it, newest first, unexpired. A reply naming a request this
   * home holds from another agency is left out (the sealer chose the id it names; only requests
   * of this agency, or ones not held here, are shown with it).
   */
  async agencyReplies (): Promise<AgencyReplyEntry[]> {
    const me = this.requireMe()
    const now = this.now()
    const out: AgencyReplyEntry[] = []
    for await (const [, r] of this.sealedReplies.entries()) {
      if (r.expires <= now) continue
      const rfa = await this.messages.get(fromHex(r.rfa))
      // A stored request was verified on arrival; one that no longer decodes names no agency, so not this one.
      if (rfa !== undefined && !equalBytes(await rfaAgencyKey(rfa.bytes).catch(() => new Uint8Array(0)), me.public.signKey)) continue
      out.push(r)
    }
    return out.sort((a, b) => b.created - a.created)
  }

  /**
   * Agency: publishes a request for assistance to `area` (agency.ts sealRfa, signed by the
   * identity key: on the record), carrying the kept attestations that are valid now and cover
   * the area (at most MAX_RFA_ATTESTATIONS). It goes through the outbox like a post, so one no
   * relay took waits for the next flush; a followed area shows it in this home's feed at once.
   */
  async rfa (opts: { area: string, text: string, ttlMs?: number, location?: string, now?: number }): Promise<{ id: string, result: Result, relay?: string }> {
    const me = this.requireMe()
    const agency = (await this.home.agency()) ?? fail('REFUSED', 'not an agency identity: only an agency posts requests')
    const now = opts.now ?? this.now()
    const attestations: Uint8Array[] = []
    for (const bytes of agency.attestations ?? []) {
      // Expired (or otherwise no longer valid) ones are left off: sealRfa would refuse them.
      const att = await verifyAttestation(bytes, now).catch(() => undefined)
      if (att !== undefined && attestationCovers(att, opts.area) && attestations.length < MAX_RFA_ATTESTATIONS) attestations.push(bytes)
    }
    const { bytes } = await sealRfa(me, opts.area, opts.text, now, opts.ttlMs, {
      attestations, ...(opts.location !== undefined ? { location: opts.location } : {})
    })
    const topic = areaTopic(opts.area)
    const id = await this.putOutbox({ topic, bytes })
    if (this.topics.has(topic)) await this.ingest(topic, bytes, sha256(bytes), 'local').catch(this.localCopyFailed)
    const sent = (await this.flushOutbox()).get(id)
    return { id, result: sent?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }, ...(sent?.relay !== undefined ? { relay: sent.relay } : {}) }
  }

  /** Seals a post (and its public copy if asked), keeps it in the outbox, pushes it to a relay. */
  async post (opts: PostOptions): Promise<PostOutcome> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(opts.hood)
    this.checkStillMember(state)
    const topic = privateTopic(state.hood.id)
    // Unless the poster chose, as precise as the neighborhood's admins set (`hood settings`).
    const precision = opts.precision ?? hoodSettings(state).precision
    const location = opts.geohash?.slice(0, precision) ??
      (opts.lat !== undefined && opts.lon !== undefined ? encodeGeohash(opts.lat, opts.lon, precision) : undefined)
    const post = createPost({ ...opts, ...(location !== undefined ? { location } : {}), now: opts.now ?? this.now() })
    // The public copy is signed later: refuse now what it would refuse then, before anything is sent.
    if (opts.public === true) checkPostArea(state.hood.area, post.location, 'public post')
    const inner = await encodeSignedPost(me, topic, post)
    const secret = retractSecret()
    const bytes = sealEnvelope(currentEpochKeys(state), topic, inner, { ts: post.created, exp: post.expires, rc: retractCommitment(secret) })
    await this.keepSecret(toHex(sha256(bytes)), topic, secret, envelopeTimes(post.created, post.expires))
    await this.putOutbox({ topic, bytes, inner })
    await this.ingest(topic, bytes, sha256(bytes), 'local').catch(this.localCopyFailed)
    let id = toHex(sha256(bytes))
    let sent = await this.flushOutbox()
    let mine = sent.get(id)
    if (mine?.resealedAs !== undefined) id = mine.resealedAs
    if (mine?.result.code === 'STALE_EPOCH') {
      // A relay knows a newer epoch than we do: catch up (learning the rekey), re-seal, send again.
      await this.sync([topic])
      sent = await this.flushOutbox()
      mine = sent.get(id)
      if (mine?.resealedAs !== undefined) id = mine.resealedAs
      this.checkStillMember((await this.home.hoodById(state.hood.id)) ?? state)
    }
    this.publishToDirectPeers(topic, bytes)
    // The public copy, only now: after a delay, with its own time, from a short-lived peer id.
    const pub = opts.public === true ? await this.sendPublicCopy(state.hood.area, post, opts.showName === true) : undefined
    if (pub !== undefined && pub.id !== '') {
      // Retracting the post retracts its public copy too: the link stays in this home only.
      for await (const [key, e] of this.secrets.entries()) if (key === id) await this.secrets.put(key, { ...e, publicId: pub.id })
    }
    return {
      id,
      ...(pub !== undefined ? { publicId: pub.id, publicResult: pub.result, ...(pub.relay !== undefined ? { publicAckedBy: pub.relay } : {}) } : {}),
      ...(mine?.relay !== undefined ? { ackedBy: mine.relay } : {}),
      result: mine?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
    }
  }

  /**
   * Signs the public copy of `post` for `area` when it goes out, dated then (same lifetime),
   * and sends it with any earlier copies no relay took, from a short-lived node after the
   * delay (public-copy.ts). A copy a relay acknowledged joins our own feed and store; one
   * that none took waits in the public outbox for the next public post.
   */
  private async sendPublicCopy (area: string, post: Post, showName: boolean): Promise<{ id: string, result: Result, relay?: string }> {
    const me = this.requireMe()
    const topic = areaTopic(area)
    let id = ''
    const pending: Array<{ key: string, topic: string, bytes: Uint8Array }> = []
    const { results } = await sendPublicCopies(async () => {
      const now = this.now()
      const expires = now + (post.expires - post.created)
      // Its own secret, independent of the private copy's: the two reveals link nothing.
      const secret = retractSecret()
      const copy = await sealPublicPost(me, area, { ...post, created: now, expires }, { showName, rc: retractCommitment(secret) })
      id = toHex(copy.id)
      await this.keepSecret(id, topic, secret, { ts: now, exp: expires })
      await this.publicOutbox.put(id, { topic, bytes: toBase64Url(copy.bytes) })
      for await (const [key, value] of this.publicOutbox.entries()) pending.push({ key, topic: value.topic, bytes: fromBase64Url(value.bytes) })
      return pending
    }, { relays: this.relays(), createNode: this.runtime.createPublicNode, ...(this.init.publicDelayMs !== undefined ? { delayMs: this.init.publicDelayMs() } : {}) })
    let mine: { result: Result, relay?: string } = { result: { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' } }
    for (const [i, m] of pending.entries()) {
      const r = results[i]!
      if (m.key === id) mine = r
      // An old copy past its expiry is never going to be taken: drop it.
      if (r.result.code === 'EXPIRED') await this.publicOutbox.del(m.key)
      if (!r.result.ok) continue
      await this.publicOutbox.del(m.key)
      await this.ingest(m.topic, m.bytes, sha256(m.bytes), 'local').catch(this.localCopyFailed)
    }
    return { id, ...mine }
  }

  /**
   * Publishes a post of ours on gossipsub too when a peer other than a relay is subscribed to
   * its topic here (a neighbor's browser over WebRTC, web/engine/webrtc.ts): with the relays
   * gone (a restart, an outage) the neighbors still hear it. The relays' copy has the same
   * message id (protocol/peer/gossip.ts), so every peer takes it once.
   */
  private publishToDirectPeers (topic: string, bytes: Uint8Array): void {
    const pubsub = this.libp2p?.services.pubsub
    if (pubsub === undefined) return
    const relays = new Set(this.relays().map(r => multiaddr(r).getComponents().find(c => c.name === 'p2p')?.value))
    if (!pubsub.getSubscribers(topic).some(p => !relays.has(p.toString()))) return
    pubsub.publish(topic, bytes).catch((err: unknown) => { this.log('publishing to direct peers failed - %e', err) })
  }

  private async putOutbox (o: OutboxItem): Promise<string> {
    const id = toHex(sha256(o.bytes))
    await this.outbox.put(id, { topic: o.topic, bytes: toBase64Url(o.bytes), ...(o.inner !== undefined ? { inner: toBase64Url(o.inner) } : {}) })
    return id
  }

  /** Announces this member in a neighborhood (after `hood join`), through a relay; with the admission of an admin's invite. */
  async announceJoin (hoodRef?: string, opts: { admission?: Admission, inviteKey?: Uint8Array, via?: Uint8Array } = {}): Promise<Result> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    this.checkStillMember(state)
    const topic = privateTopic(state.hood.id)
    const now = this.now()
    const inner = await createJoin(me, topic, now, opts)
    await this.joins.put(toHex(state.hood.id), { inner: toHex(inner), at: now, sent: now })
    return this.sendAnnouncement(state, inner)
  }

  /**
   * Sends this home's join again, the same signed bytes in a fresh envelope, every
   * REANNOUNCE_JOIN_MS for MAX_TTL_MS after joining. A join envelope is kept only as long as an
   * everyday post (so it does not stand out), yet an admin who is away for weeks must still
   * find it; the join keeps its first time, so the earliest join still wins an admission.
   */
  private async reannounceJoins (): Promise<void> {
    const now = this.now()
    for await (const [hood, j] of this.joins.entries()) {
      if (now - j.at > MAX_TTL_MS) { await this.joins.del(hood); continue }
      if (now - j.sent < REANNOUNCE_JOIN_MS) continue
      const state = await this.home.hoodById(fromHex(hood))
      if (state === undefined || state.ended !== undefined) { await this.joins.del(hood); continue }
      const r = await this.sendAnnouncement(state, fromHex(j.inner))
      if (r.ok) await this.joins.put(hood, { ...j, sent: now })
    }
  }

  /**
   * Seals an announcement into the current epoch, sends it, and applies it here too. Joins,
   * leaves, approvals and rosters live as long as an everyday post (DEFAULT_TTL_MS), so they
   * do not stand out by their expiry (they used to be kept 30 days); a revocation is kept
   * MAX_TTL_MS, since a member who misses it would go on trusting the agency.
   */
  private async sendAnnouncement (state: HoodState, inner: Uint8Array, ttlMs = DEFAULT_TTL_MS): Promise<Result> {
    const topic = privateTopic(state.hood.id)
    const now = this.now()
    const bytes = sealEnvelope(currentEpochKeys(state), topic, inner, { ts: now, exp: now + ttlMs })
    const id = await this.putOutbox({ topic, bytes })
    await this.ingest(topic, bytes, sha256(bytes), 'local').catch(this.localCopyFailed)
    const sent = await this.flushOutbox()
    return sent.get(id)?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
  }

  /** Admin: approves a member who joined from a member's invite, so the next rekey includes them (and sends them the roster and settings). */
  async approveMember (memberRef: string, hoodRef?: string): Promise<{ member: Member, result: Result }> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    if (!isAdmin(state.hood, me.public.signKey)) fail('NOT_ADMIN', `only an admin of "${state.hood.name}" can approve members`)
    const member = findMemberRef(state, memberRef)
    const result = await this.sendAnnouncement(state, await createAdmit(me, member, privateTopic(state.hood.id), this.now()))
    // The newcomer could not read the joins before theirs: tell them who is in.
    await this.sendRoster(state.hood.id)
    const updated = await this.home.hoodById(state.hood.id)
    return { member: updated?.members.find(m => equalBytes(m.signKey, member.signKey)) ?? { ...member, admitted: true }, result }
  }

  /** Leaves a neighborhood: stops posting here at once and asks admins (by a leave announcement) to rekey. */
  async leave (hoodRef?: string): Promise<Result> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    this.checkStillMember(state)
    if (isAdmin(state.hood, me.public.signKey) && state.hood.admins.length === 1) {
      fail('REFUSED', `you are the only admin of "${state.hood.name}": make another member an admin first (porchlight hood add-admin MEMBER)`)
    }
    const now = this.now()
    const result = await this.sendAnnouncement(state, await createLeave(me, privateTopic(state.hood.id), now))
    await this.home.updateHood(state.hood.id, cur => ({ ...(cur ?? state), ended: { reason: 'left', at: now, epoch: currentEpochKeys(cur ?? state).epoch } }))
    return result
  }

  /** Admin: withdraws an attestation this neighborhood's admins gave (by attestation id hex prefix). */
  async revokeAttestation (attestation: Uint8Array, hoodRef?: string): Promise<Result> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    const bytes = await createRevocation(me, state.hood, privateTopic(state.hood.id), attestation, this.now())
    return this.sendAnnouncement(state, bytes, MAX_TTL_MS)
  }

  /**
   * Admin: changes the neighborhood settings (hood-state.ts HoodSettings; `patch`'s undefined
   * fields stay as they are) and announces the whole settings to every member in a signed
   * 'pl/hood-settings' message, kept MAX_TTL_MS like a revocation. Applied here at once; the
   * result says whether a relay took it.
   */
  async changeHoodSettings (patch: HoodSettings, hoodRef?: string): Promise<{ state: HoodState, result: Result }> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    this.checkStillMember(state)
    const next = settingsAfter(me, state, patch)
    // Later than any settings this home holds, so the change wins here and wherever they were seen.
    const at = Math.max(this.now(), (state.settingsFrom?.at ?? -1) + 1)
    const inner = await createHoodSettings(me, state.hood, privateTopic(state.hood.id), next, at)
    const m = await openHoodSettings(inner, privateTopic(state.hood.id), at)
    await this.home.updateHood(state.hood.id, cur => withAnnouncedSettings(cur ?? state, m))
    const result = await this.sendAnnouncement(state, inner, MAX_TTL_MS)
    return { state: (await this.home.hoodById(state.hood.id)) ?? state, result }
  }

  /** Admin: removes a member by starting a new epoch sealed to every other admitted member. */
  async removeMember (memberRef: string, hoodRef?: string): Promise<{ epoch: number, remaining: number, result: Result }> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    if (!isAdmin(state.hood, me.public.signKey)) fail('NOT_ADMIN', `only an admin of "${state.hood.name}" can remove members`)
    const target = findMemberRef(state, memberRef)
    if (equalBytes(target.signKey, me.public.signKey)) {
      fail('REFUSED', state.hood.admins.length === 1
        ? `you are the last admin of "${state.hood.name}" and cannot remove yourself`
        : 'an admin cannot remove herself (she would still hold the new key): use `porchlight hood leave`, and another admin completes it')
    }
    if (isAdmin(state.hood, target.signKey)) fail('REFUSED', 'removing an admin is not supported yet: re-found the neighborhood instead')
    return this.rekey(state, [target.signKey])
  }

  /** Admin: makes a member an admin; the new admin chain reaches everyone (and every relay) in a rekey. */
  async addAdmin (memberRef: string, hoodRef?: string): Promise<{ epoch: number, remaining: number, result: Result }> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    const target = findMemberRef(state, memberRef)
    if (!target.admitted) fail('REFUSED', `${target.name} is not admitted yet: approve them first (porchlight hood approve)`)
    const hood = await addAdmin(me, state.hood, target.signKey)
    const updated = await this.home.updateHood(state.hood.id, cur => ({ ...(cur ?? state), hood }))
    return this.rekey(updated, [])
  }

  /** Starts the next epoch for the admitted members minus `removed`, sealing its tag key to the hood's relays. */
  private async rekey (state: HoodState, removed: readonly Uint8Array[]): Promise<{ epoch: number, remaining: number, result: Result }> {
    const me = this.requireMe()
    const gone = (k: Uint8Array): boolean => removed.some(r => equalBytes(r, k)) || removalOf(state, k) !== undefined
    const remaining: PublicIdentity[] = state.members.filter(m => m.admitted && !gone(m.signKey))
    if (!remaining.some(m => equalBytes(m.signKey, me.public.signKey))) remaining.push(me.public)
    const now = this.now()
    const { bytes, newKeys } = await createRekey(me, state.hood, currentEpochKeys(state), remaining, now, {
      relays: relayKeys(this.relays()), removed: [...removed]
    })
    const id = sha256(bytes)
    // The removal dates from the rekey's clear ts (a whole minute), as every other member reads it.
    const { ts } = rekeyTimes(bytes, now)
    await this.home.updateHood(state.hood.id, cur => withRemoved(
      withEpoch(cur ?? state, newKeys.epoch, newKeys.secret, { learned: now, rekey: { id, by: me.public.signKey, removed: [...removed] } }),
      removed, ts, newKeys.epoch))
    const topic = privateTopic(state.hood.id)
    await this.outbox.put(toHex(id), { topic, bytes: toBase64Url(bytes) })
    await this.messages.put({ topic, id, ...rekeyTimes(bytes, now), bytes })
    const sent = await this.flushOutbox()
    const result = sent.get(toHex(id))?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
    // Members who joined after earlier epochs learn from this who the next rekey must include.
    await this.sendRoster(state.hood.id)
    return { epoch: newKeys.epoch, remaining: remaining.length, result }
  }

  /** Admin: sends the roster of admitted members, sealed in the current epoch. */
  private async sendRoster (hoodId: Uint8Array): Promise<void> {
    const me = this.requireMe()
    const state = await this.home.hoodById(hoodId)
    if (state === undefined || !isAdmin(state.hood, me.public.signKey)) return
    const admitted = state.members.filter(m => m.admitted && removalOf(state, m.signKey) === undefined)
    if (admitted.length === 0) return
    for (const bytes of await createRoster(me, admitted, privateTopic(hoodId), this.now())) await this.sendAnnouncement(state, bytes)
    // The settings as well, still dated when they were chosen (a newer change from another admin
    // still wins): a member cannot read the epochs before theirs, where they were announced.
    if (state.settings !== undefined) {
      const inner = await createHoodSettings(me, state.hood, privateTopic(hoodId), state.settings, state.settingsFrom?.at ?? this.now())
      await this.sendAnnouncement(state, inner, MAX_TTL_MS)
    }
  }

  /**
   * Pushes everything in the outbox, pipelined on one stream per relay; each message leaves
   * the outbox once a relay acknowledged it. A private post sealed in an epoch we have since
   * seen closed is re-sealed under the current one first (its new id is `resealedAs`), so a
   * client that has seen a rekey never sends in the old epoch. An unreachable relay hands its
   * messages to the next; a refusal is final for that message (it stays in the outbox with
   * its reason). The map also has what other flushes sent lately: two posts made close
   * together each flush, and the first may send (and take out of the outbox) the second's.
   */
  async flushOutbox (): Promise<Map<string, { result: Result, relay?: string, resealedAs?: string }>> {
    const node = this.requireNode()
    const out = new Map<string, { result: Result, relay?: string, resealedAs?: string }>()
    let todo: Array<{ id: string, topic: string, bytes: Uint8Array, original: string }> = []
    for await (const [id, value] of this.outbox.entries()) {
      const m = await this.resealIfClosed(id, value)
      todo.push({ ...m, original: id })
    }
    const record = (m: { id: string, original: string }, r: { result: Result, relay?: string }): void => {
      out.set(m.original, m.id !== m.original ? { ...r, resealedAs: m.id } : r)
      if (m.id !== m.original) out.set(m.id, r)
    }
    for (const m of todo) record(m, { result: { ok: false, code: 'UNAVAILABLE', message: 'no relay known for this neighborhood' } })
    for (const relay of this.relays()) {
      if (todo.length === 0) break
      let session: PushSession
      try {
        session = await PushSession.open(node, multiaddr(relay))
      } catch (err) {
        for (const m of todo) record(m, { result: toResult(err, { code: 'UNAVAILABLE', message: `relay unreachable: ${errorMessage(err)}` }) })
        continue
      }
      const results = await Promise.all(todo.map(async m => session.push(m.topic, m.bytes)))
      // The answers are in: a half-close that fails (the stream already broke) loses nothing.
      await session.close().catch(() => {})
      const retry: typeof todo = []
      for (const [i, m] of todo.entries()) {
        const result = results[i]!
        if (result.ok) {
          record(m, { result, relay })
          this.sentLately.set(m.original, out.get(m.original)!)
          if (this.sentLately.size > SENT_LATELY) this.sentLately.delete(this.sentLately.keys().next().value!)
          await this.outbox.del(m.id)
        } else {
          record(m, { result })
          if (result.code === 'UNAVAILABLE' || result.code === 'TIMEOUT') retry.push(m)
        }
      }
      todo = retry
    }
    for (const [id, r] of this.sentLately) if (!out.has(id)) out.set(id, r)
    return out
  }

  /** Outcomes of the messages flushes sent lately (oldest first), at most SENT_LATELY: see flushOutbox. */
  private readonly sentLately = new Map<string, { result: Result, relay?: string, resealedAs?: string }>()

  /** Re-seals an outbox post whose epoch we have seen closed; returns what to send. */
  private async resealIfClosed (id: string, value: OutboxEntry): Promise<{ id: string, topic: string, bytes: Uint8Array }> {
    const bytes = fromBase64Url(value.bytes)
    const t = this.topics.get(value.topic)
    if (value.inner === undefined || t?.hood === undefined) return { id, topic: value.topic, bytes }
    const state = (await this.home.hoodById(t.hood.hood.id)) ?? t.hood
    const env = decodeEnvelope(bytes)
    const keys = currentEpochKeys(state)
    if (env.epoch >= keys.epoch && equalBytes(winningSecret(state, env.epoch)?.secret ?? new Uint8Array(), keys.secret)) return { id, topic: value.topic, bytes }
    if (state.ended !== undefined) return { id, topic: value.topic, bytes }
    const inner = fromBase64Url(value.inner)
    const secret = retractSecret()
    const resealed = sealEnvelope(keys, value.topic, inner, { ts: env.ts, exp: env.exp, rc: retractCommitment(secret) })
    const newId = await this.putOutbox({ topic: value.topic, bytes: resealed, inner })
    // A new envelope, a new secret; the link to the public copy moves with it.
    let publicId: string | undefined
    for await (const [key, e] of this.secrets.entries()) if (key === id) publicId = e.publicId
    await this.secrets.del(id)
    await this.keepSecret(newId, value.topic, secret, { ts: env.ts, exp: env.exp }, publicId)
    await this.outbox.del(id)
    // The old copy goes: it would show twice here, and sync would offer relays a closed epoch.
    await this.messages.delete(fromHex(id))
    // Feed entries are keyed by the post's exact created time, which only the inner message has.
    const created = await openSignedPost(inner, value.topic, this.now()).then(p => p.post.created, () => undefined)
    if (created !== undefined) await this.posts.del(`${created.toString(16).padStart(14, '0')}!${id}`)
    await this.ingest(value.topic, resealed, sha256(resealed), 'local').catch(this.localCopyFailed)
    return { id: newId, topic: value.topic, bytes: resealed }
  }

  private async keepSecret (id: string, topic: string, secret: Uint8Array, times: { ts: number, exp: number }, publicId?: string): Promise<void> {
    await this.secrets.put(id, { topic, secret: toBase64Url(secret), ts: times.ts, exp: times.exp, ...(publicId !== undefined ? { publicId } : {}) })
  }

  /** Deletes a post from the store and the feed (a retraction took it back). */
  private async dropPost (id: Uint8Array): Promise<void> {
    await this.messages.delete(id)
    const suffix = `!${toHex(id)}`
    const keys: string[] = []
    const dropped: FeedPost[] = []
    for await (const [key, post] of this.posts.entries()) if (key.endsWith(suffix)) { keys.push(key); dropped.push(post) }
    await this.posts.delMany(keys)
    for (const post of dropped) {
      const hood = this.topics.get(post.topic)?.hood
      if (hood !== undefined) await this.count(toHex(hood.hood.id), post, -1)
    }
    if (keys.length > 0) for (const l of this.retractListeners) l(toHex(id))
  }

  /**
   * Retracts one of this home's posts (by id, or a unique prefix of 8 or more hex digits, as
   * the feed prints it) and its public copy: reveals each one's secret in a retraction
   * (retract.ts), drops the post here, and sends the retraction through the outbox like a
   * post; the public one goes like a public copy (after the delay, from a short-lived node),
   * so that the two cannot be matched. A post no relay took yet just leaves the outbox.
   * NOT_FOUND for a post that is not this home's (or whose secret is gone: expired, or sealed
   * before retractions).
   */
  async retract (ref: string): Promise<RetractOutcome> {
    const wanted = ref.toLowerCase()
    if (!/^[0-9a-f]{8,64}$/.test(wanted)) fail('BAD_ARGUMENT', 'a post id is 8 to 64 hex digits')
    const matches: Array<[string, SecretEntry]> = []
    for await (const [key, e] of this.secrets.entries()) if (key.startsWith(wanted)) matches.push([key, e])
    if (matches.length > 1) fail('BAD_ARGUMENT', `${wanted} names ${matches.length} posts: give more digits`)
    const [id, entry] = matches[0] ?? fail('NOT_FOUND', `no post of yours ${wanted.slice(0, 16)} here that can be retracted`)
    const now = this.now()
    if (entry.exp <= now) fail('EXPIRED', 'the post has expired already')
    const sealed = (key: string, e: SecretEntry): { topic: string, bytes: Uint8Array } => ({
      topic: e.topic,
      bytes: encodeRetraction({ topic: e.topic, post: fromHex(key), ts: e.ts, exp: e.exp, secret: fromBase64Url(e.secret) })
    })
    const out: RetractOutcome = { id, result: { ok: true } }
    const priv = sealed(id, entry)
    // Taken back here first: the feed no longer shows it, whatever the relays answer.
    await this.ingest(priv.topic, priv.bytes, sha256(priv.bytes), 'local').catch(this.localCopyFailed)
    let unsent = false
    for await (const [key] of this.outbox.entries()) if (key === id) unsent = true
    if (unsent) {
      await this.outbox.del(id)
    } else {
      const rid = await this.putOutbox(priv)
      const sent = (await this.flushOutbox()).get(rid)
      out.result = sent?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
      if (sent?.relay !== undefined) out.relay = sent.relay
    }
    if (out.result.ok) await this.secrets.del(id)
    if (entry.publicId !== undefined) {
      out.publicId = entry.publicId
      let pubEntry: SecretEntry | undefined
      for await (const [key, e] of this.secrets.entries()) if (key === entry.publicId) pubEntry = e
      let unsentPublic = false
      for await (const [key] of this.publicOutbox.entries()) if (key === entry.publicId) unsentPublic = true
      if (pubEntry === undefined) {
        out.publicResult = { ok: false, code: 'NOT_FOUND', message: 'the public copy\'s secret is gone' }
      } else if (unsentPublic) {
        await this.publicOutbox.del(entry.publicId)
        await this.secrets.del(entry.publicId)
        out.publicResult = { ok: true }
      } else {
        const pub = sealed(entry.publicId, pubEntry)
        await this.ingest(pub.topic, pub.bytes, sha256(pub.bytes), 'local').catch(this.localCopyFailed)
        const { results } = await sendPublicCopies(async () => [pub], {
          relays: this.relays(), createNode: this.runtime.createPublicNode, ...(this.init.publicDelayMs !== undefined ? { delayMs: this.init.publicDelayMs() } : {})
        })
        const r = results[0]!
        out.publicResult = r.result
        if (r.relay !== undefined) out.publicRelay = r.relay
        if (r.result.ok) await this.secrets.del(entry.publicId)
      }
    }
    return out
  }

  async outboxSize (): Promise<number> {
    let n = 0
    for await (const _ of this.outbox.entries()) n++
    return n
  }

  /**
   * Catches up on every topic (or those given), each from the first relay that answers,
   * SYNC_TOPICS_AT_ONCE topics at a time; then runs follow-up rekeys.
   */
  async sync (topics: readonly string[] = [...this.topics.keys()]): Promise<SyncStats[]> {
    const all: SyncStats[] = []
    let next = 0
    const lane = async (): Promise<void> => {
      while (next < topics.length) all.push(...await this.catchUpTopic(topics[next++]!))
    }
    await Promise.all(Array.from({ length: Math.min(SYNC_TOPICS_AT_ONCE, topics.length) }, lane))
    await this.runFollowUps()
    return all
  }

  /** Catches up on one topic from the first relay that answers (no relay serving it: nothing). */
  private async catchUpTopic (topic: string): Promise<SyncStats[]> {
    const out: SyncStats[] = []
    for (const relay of this.relays()) {
      try {
        let stats = await this.syncWith(relay, topic)
        // Our epoch was closed: that session brought only the rekeys. Opened, they hold the
        // current keys: once more, under those, for the rest.
        if (stats.scope === 'rekeys' && (await this.syncAuth(topic))?.epoch !== stats.epoch) {
          out.push(stats)
          stats = await this.syncWith(relay, topic)
        }
        out.push(stats)
        break
      } catch (err) {
        if (isPorchlightError(err, 'NOT_FOUND')) break
        // The next relay is asked; with none left the topic waits for the next catch-up.
        this.log('catching up on %s from %s failed - %e', topic, relay, err)
      }
    }
    return out
  }

  private reproving: Promise<void> | undefined

  /**
   * Developer log (DEBUG=porchlight:resident), from the libp2p node once start() made it;
   * silent before. What a user must see is returned or thrown, not logged.
   */
  private log: Logger = SILENT_LOGGER

  /**
   * A message of this home kept here as it leaves: its copy in the outbox is what matters, so
   * the send goes on; a refusal here (a bug) or a storage failure is worth a developer's look.
   */
  private readonly localCopyFailed = (err: unknown): void => { this.log.error('cannot keep this home\'s own message here - %e', err) }

  /** Proves the keys again soon (after a live rekey, or a relay reconnecting), one round at a time. */
  private reproveSoon (topics?: readonly string[]): void {
    if (this.libp2p === undefined) return
    const after = this.reproving ?? Promise.resolve()
    const next = after.then(async () => { await new Promise(resolve => setTimeout(resolve, 0)); await this.proveToRelays(topics) })
    this.reproving = next.catch((err: unknown) => { this.log.error('proving the keys again failed - %e', err) }).finally(() => { if (this.reproving === next) this.reproving = undefined })
  }

  /**
   * The epoch and tag key this home proves when it syncs a neighborhood's topic (area topics:
   * none): the current epoch's, or with `below` the newest one before that epoch.
   */
  private async syncAuth (topic: string, below?: number): Promise<{ epoch: number, tagKey: Uint8Array } | undefined> {
    const t = this.topics.get(topic)
    if (t?.hood === undefined) return undefined
    const state = (await this.home.hoodById(t.hood.hood.id)) ?? t.hood
    if (below === undefined) {
      const keys = currentEpochKeys(state)
      return { epoch: keys.epoch, tagKey: keys.tagKey }
    }
    const older = state.epochs.map(e => e.epoch).filter(e => e < below)
    if (older.length === 0) return undefined
    const keys = epochKeys(state, Math.max(...older))
    return keys === undefined ? undefined : { epoch: keys.epoch, tagKey: keys.tagKey }
  }

  private async syncWith (relay: string, topic: string): Promise<SyncStats & { epoch?: number }> {
    let auth = await this.syncAuth(topic)
    for (let tries = 1; ; tries++) {
      try {
        return await this.syncOnce(relay, topic, auth)
      } catch (err) {
        // A relay that missed rekeys knows only an older epoch: prove that one, and give it what it lacks.
        if (auth === undefined || tries >= MAX_OLDER_EPOCH_TRIES || !isPorchlightError(err, 'UNKNOWN_EPOCH')) throw err
        auth = await this.syncAuth(topic, auth.epoch)
        if (auth === undefined) throw err
      }
    }
  }

  private async syncOnce (relay: string, topic: string, auth: { epoch: number, tagKey: Uint8Array } | undefined): Promise<SyncStats & { epoch?: number }> {
    // Sync delivers in (ts, id) order, and clear times are whole minutes: a post dated (by a
    // slow clock) before the rekey that opens its epoch can come first. Keep those and retry
    // them once the session is done, for as long as a round takes any in.
    let later: Uint8Array[] = []
    const defer = (msg: Uint8Array) => (err: unknown): void => {
      if (isPorchlightError(err, 'UNKNOWN_EPOCH') && later.length < MAX_AHEAD_OF_EPOCH) later.push(msg)
    }
    const stats = await syncTopic(this.requireNode(), multiaddr(relay), topic, this.messages.items(topic), {
      ...(auth !== undefined ? { auth } : {}),
      getLocal: async (id) => (await this.messages.get(id))?.bytes,
      onMessage: async (msg) => { await this.ingest(topic, msg).catch(defer(msg)) }
    })
    while (later.length > 0) {
      const round = later
      later = []
      for (const msg of round) await this.ingest(topic, msg).catch(defer(msg))
      if (later.length === round.length) break // nothing more came in
    }
    return { ...stats, ...(auth !== undefined ? { epoch: auth.epoch } : {}) }
  }

  /** Whether this home was removed from (or left) each neighborhood, for the CLI to say so. */
  async ended (): Promise<Array<{ hood: string, reason: 'removed' | 'left', at: number, epoch: number }>> {
    return (await this.home.hoods()).flatMap(h => h.ended === undefined ? [] : [{ hood: h.hood.name, ...h.ended }])
  }

  /**
   * Posts as shown, from one read of this home's neighborhoods: names that look like another
   * identity's (members and the authors in `posts`) marked, a private author's recent former
   * name, and for agency requests `vouchedBy` from the current admins and revocations.
   */
  private async decorate (posts: FeedPost[]): Promise<FeedPost[]> {
    const hoods = await this.home.hoods()
    const members = new Map(hoods.flatMap(h => h.members).map(m => [toHex(m.signKey), m]))
    const named = [
      ...[...members].map(([key, m]) => ({ key, name: m.name })),
      ...posts.filter(p => p.authorName !== undefined && p.channel !== 'public').map(p => ({ key: p.author, name: p.authorName! }))
    ]
    const alike = lookAlikeKeys(named)
    const now = this.now()
    return posts.map(p => {
      const m = p.channel === 'private' ? members.get(p.author) : undefined
      const former = m?.formerName !== undefined && now - (m.renamedAt ?? 0) < RENAME_NOTICE_MS ? m.formerName : undefined
      return {
        ...p,
        lookAlike: alike.has(p.author),
        ...(former !== undefined ? { authorFormerName: former } : {}),
        ...(p.channel === 'rfa' ? { vouchedBy: vouchers(p, hoods, now) } : {})
      }
    })
  }

  /**
   * This home's own public copies: public id → the private post's id (from the retraction
   * secrets kept for both). Asked for every post received: read once, and again only after
   * the secrets changed (a scan begun before a change is not kept).
   */
  private async ownPublicCopies (): Promise<ReadonlyMap<string, string>> {
    if (this.publicCopies?.at === this.secretsChanged) return await this.publicCopies.copies
    const at = this.secretsChanged
    const copies = (async () => {
      const out = new Map<string, string>()
      for await (const [id, e] of this.secrets.entries()) if (e.publicId !== undefined) out.set(e.publicId, id)
      return out
    })()
    this.publicCopies = { at, copies }
    copies.catch(() => { if (this.publicCopies?.copies === copies) this.publicCopies = undefined })
    return await copies
  }

  private publicCopies: { at: number, copies: Promise<Map<string, string>> } | undefined
  /** Counts writes to the secrets (twice each: as it starts and as it ends). */
  private secretsChanged = 0

  /** Adds (or, for a retraction, takes back) a neighborhood's post in its week's counts. */
  private async count (hood: string, post: Pick<FeedPost, 'kind' | 'created'>, delta: 1 | -1): Promise<void> {
    if (!counted(post.kind)) return
    const weeks = await this.loadWeeks()
    const key = weekKey(hood, weekStart(post.created))
    const next = withCount(weeks.get(key), post.kind, delta)
    weeks.set(key, next)
    await this.weekCounts.put(key, next)
  }

  private async loadWeeks (): Promise<Map<string, WeekCounts>> {
    this.weeks ??= (async () => {
      const m = new Map<string, WeekCounts>()
      for await (const [k, v] of this.weekCounts.entries()) m.set(k, v)
      return m
    })()
    return await this.weeks
  }

  /**
   * This week's posts by kind in a neighborhood (name or id; the only one if omitted) beside
   * its usual week, as far as this home has counted since it joined.
   */
  async weekContext (ref?: string): Promise<WeekContext> {
    const state = await this.home.resolveHood(ref)
    const hood = toHex(state.hood.id)
    const weeks = new Map<number, WeekCounts>()
    for (const [k, v] of await this.loadWeeks()) {
      const w = parseWeekKey(k)
      if (w?.hood === hood) weeks.set(w.week, v)
    }
    return weekContext(weeks, state.joined, this.now())
  }

  /**
   * The local feed, newest first, without expired posts. This home's own public copy is not a
   * second post: its private post carries `publicId` (filtered by channel 'public', it shows).
   */
  async feed (filter: { kind?: string, since?: number, channel?: FeedPost['channel'] } = {}): Promise<FeedPost[]> {
    const now = this.now()
    const copies = await this.ownPublicCopies()
    const publicOf = new Map([...copies].map(([pub, priv]) => [priv, pub]))
    const requests = await this.showsRequests()
    const out: FeedPost[] = []
    for await (const [, stored] of this.posts.entries({ reverse: true })) {
      const pub = publicOf.get(stored.id)
      const p = pub !== undefined ? { ...stored, publicId: pub } : stored
      if (p.expires <= now) continue
      if (copies.has(p.id) && filter.channel !== 'public') continue
      if (filter.kind !== undefined && p.kind !== filter.kind) continue
      if (filter.since !== undefined && p.created < filter.since) continue
      if (filter.channel !== undefined && p.channel !== filter.channel) continue
      if (!this.shows(p, requests)) continue
      out.push(p)
    }
    return this.decorate(out)
  }

  /** Deletes expired messages and posts. */
  async sweep (): Promise<number> {
    const now = this.now()
    const gone = await this.messages.sweep(now)
    const stale: string[] = []
    for await (const [key, value] of this.posts.entries()) if (value.expires <= now) stale.push(key)
    await this.posts.delMany(stale)
    // Counts of weeks no context reads any more.
    const weeks = await this.loadWeeks()
    const old = [...weeks.keys()].filter(k => (parseWeekKey(k)?.week ?? 0) < weekStart(now) - KEPT_WEEKS * WEEK_MS)
    for (const k of old) weeks.delete(k)
    await this.weekCounts.delMany(old)
    const spent: string[] = []
    for await (const [key, value] of this.secrets.entries()) if (value.exp <= now) spent.push(key)
    await this.secrets.delMany(spent)
    const read: string[] = []
    for await (const [key, value] of this.sealedReplies.entries()) if (value.expires <= now) read.push(key)
    await this.sealedReplies.delMany(read)
    const clips = await this.clipStore?.sweep(now) ?? 0
    return gone.length + stale.length + clips
  }

  /**
   * Keeps the relays connected while a long-running command lives: a relay lost is redialled
   * with backoff (RECONNECT_MIN_MS doubling to RECONNECT_MAX_MS), and once back this peer
   * catches up by sync and sends its outbox (it proves its keys again on connecting).
   * `onChange` hears each loss and each return. Returns a function that stops it.
   */
  stayConnected (onChange: (event: 'lost' | 'regained', relay: string) => void = () => {}): () => void {
    const node = this.requireNode()
    const byPeer = new Map<string, string>()
    for (const r of this.relays()) {
      const id = multiaddr(r).getComponents().find(c => c.name === 'p2p')?.value
      if (id !== undefined) byPeer.set(id, r)
    }
    const retrying = new Map<string, ReturnType<typeof setTimeout>>()
    let stopped = false
    const redial = (id: string, relay: string, delay: number): void => {
      const timer = setTimeout(() => {
        void (async () => {
          if (stopped) return
          if (node.getConnections().some(c => c.remotePeer.toString() === id)) { retrying.delete(id); return }
          try {
            await node.dial(multiaddr(relay), { signal: AbortSignal.timeout(5000) })
          } catch {
            redial(id, relay, Math.min(delay * 2, RECONNECT_MAX_MS))
            return
          }
          retrying.delete(id)
          if (stopped) return
          await this.flushOutbox().catch((err: unknown) => { this.log.error('sending the outbox after %s came back failed - %e', relay, err) })
          await this.sync().catch((err: unknown) => { this.log.error('catching up after %s came back failed - %e', relay, err) })
          if (!stopped) onChange('regained', relay)
        })()
      }, delay)
      // Node: the timer does not keep the process alive (browsers have no unref).
      ;(timer as { unref?: () => void }).unref?.()
      retrying.set(id, timer)
    }
    const onDisconnect = (evt: CustomEvent<PeerId>): void => {
      const id = evt.detail.toString()
      const relay = byPeer.get(id)
      if (relay === undefined || stopped || retrying.has(id)) return
      onChange('lost', relay)
      redial(id, relay, RECONNECT_MIN_MS)
    }
    node.addEventListener('peer:disconnect', onDisconnect)
    const stop = (): void => {
      stopped = true
      node.removeEventListener('peer:disconnect', onDisconnect)
      for (const t of retrying.values()) clearTimeout(t)
    }
    this.stopStayingConnected.push(stop)
    return stop
  }

  private readonly stopStayingConnected: Array<() => void> = []

  async stop (): Promise<void> {
    for (const stop of this.stopStayingConnected.splice(0)) stop()
    await this.clipStore?.stop()
    this.clipStore = undefined
    await this.libp2p?.stop()
    this.libp2p = undefined
    await this.messages.close()
    await this.local.close()
  }
}


interface OutboxItem { topic: string, bytes: Uint8Array, inner?: Uint8Array }

/** Fingerprints of the admins of `hoods` whose unrevoked, unexpired attestation in `p` names the agency as it signs. */
function vouchers (p: FeedPost, hoods: readonly HoodState[], now: number): string[] {
  const out: string[] = []
  for (const a of p.attestations ?? []) {
    // An admin vouched for a key under a name: the agency is vouched for only under that name.
    if (a.expires <= now || a.name !== p.authorName) continue
    const admin = fromHex(a.admin)
    const by = hoods.some(h => isAdmin(h.hood, admin) && !h.revoked.some(r => toHex(r) === a.id))
    if (by && !out.includes(fingerprint(admin))) out.push(fingerprint(admin))
  }
  return out
}

/** A member by exact name, fingerprint (as `hood members` prints it) or signing-key hex prefix (NOT_FOUND; BAD_ARGUMENT when several match). */
function findMemberRef (state: HoodState, ref: string): Member {
  const lower = ref.toLowerCase()
  const byName = state.members.filter(m => m.name === ref)
  const byKey = /^[0-9a-f]{4,64}$/.test(lower) ? state.members.filter(m => toHex(m.signKey).startsWith(lower)) : []
  const byFingerprint = state.members.filter(m => fingerprint(m.signKey) === ref.toUpperCase())
  const found = byName.length > 0 ? byName : byFingerprint.length > 0 ? byFingerprint : byKey
  if (found.length === 0) fail('NOT_FOUND', `no member "${ref.slice(0, 64)}" in ${state.hood.name}`)
  if (found.length > 1) fail('BAD_ARGUMENT', `${found.length} members match "${ref.slice(0, 64)}": give a key prefix (see porchlight hood members)`)
  return found[0]!
}

/** Ed25519 keys of the relays (from the /p2p/ part of their addresses) that a rekey seals the next tag key to. */
function relayKeys (relays: readonly string[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const r of relays) {
    const id = multiaddr(r).getComponents().find(c => c.name === 'p2p')?.value
    if (id === undefined) continue
    try {
      const key = peerIdFromString(id).publicKey
      if (key?.type === 'Ed25519' && !out.some(k => equalBytes(k, key.raw))) out.push(key.raw)
    } catch { /* not a peer id we can seal to */ }
  }
  return out.slice(0, 8)
}

function sameChain (a: readonly AdminCert[], b: readonly AdminCert[]): boolean {
  return a.length === b.length && a.every((c, i) => equalBytes(c.key, b[i]!.key) && c.by === b[i]!.by && equalBytes(c.sig, b[i]!.sig))
}

/** Sign keys that our own losing rekeys removed and no winning rekey (at that epoch or later) has. */
function lostRemovals (state: HoodState, me: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const e of state.epochs) {
    if (e.rekey === undefined || !equalBytes(e.rekey.by, me)) continue
    const win = winningSecret(state, e.epoch)
    if (win === e) continue
    const handled = state.epochs.filter(x => x.epoch >= e.epoch && winningSecret(state, x.epoch) === x).flatMap(x => x.rekey?.removed ?? [])
    for (const k of e.rekey.removed) {
      if (!handled.some(h => equalBytes(h, k)) && !out.some(o => equalBytes(o, k))) out.push(k)
    }
  }
  return out
}

/** The attestations an RFA carried, for vouchedBy. */
async function rfaAttestations (bytes: Uint8Array, now: number): Promise<NonNullable<FeedPost['attestations']>> {
  const rfa = await openRfa(bytes, now)
  const out: NonNullable<FeedPost['attestations']> = []
  for (const att of rfa.attestations) {
    if (!attestationCovers(att, rfa.area)) continue
    out.push({ admin: toHex(att.hoodAdmin), id: toHex(att.id), expires: att.expires, name: att.name })
  }
  return out
}
