/**
 * The resident's (or agency's) Node peer: joins the gossip of its neighborhoods and
 * followed areas through their relays, keeps every message it accepts (for sync), keeps
 * decrypted posts in a local feed, and sends its own posts with an acknowledged push,
 * holding them in an outbox until a relay has them.
 */
import { join } from 'node:path'
import { Level } from 'level'
import { multiaddr } from '@multiformats/multiaddr'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fail, isPorchlightError } from '../protocol/errors.ts'
import { peekDomain, toHex, toBase64Url, fromBase64Url } from '../protocol/encoding.ts'
import { sha256 } from '../protocol/crypto.ts'
import type { Identity } from '../protocol/identity.ts'
import { areaTopic, isAreaTopic, isPrivateTopic, privateTopic } from '../protocol/neighborhood.ts'
import { createPost, MAX_TTL_MS, type Post, type PostInput } from '../protocol/post.ts'
import { decodeEnvelope, openEnvelope, innerDomain, openSignedPost, sealEnvelope, encodeSignedPost } from '../protocol/envelope.ts'
import { openPublicPost, sealPublicPost } from '../protocol/public-post.ts'
import { createJoin, openJoin } from '../protocol/membership.ts'
import { createRekey, decodeRekey, openRekey, rekeyTimes, relayNextTagKey } from '../protocol/rekey.ts'
import { openRfa } from '../protocol/agency.ts'
import { encodeGeohash, DEFAULT_POST_PRECISION } from '../protocol/geohash.ts'
import type { Result } from '../protocol/wire.ts'
import { createNode, loadOrCreateNodeKey, type PorchlightNode } from './libp2p.ts'
import { ClipStore } from './clips.ts'
import { MessageStore } from './store.ts'
import { PushSession } from './push.ts'
import { syncTopic, type SyncStats } from './sync.ts'
import { currentEpochKeys, epochKeys, withEpoch, withMember, withoutMember, type Home, type HoodState } from './home.ts'

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
  mine: boolean
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
  /** The relay that acknowledged it. */
  ackedBy?: string
  result: Result
}

export interface PeerInit {
  /** Extra relays to use (agencies, or residents overriding the hood's list). */
  relays?: string[]
  log?: (line: string) => void
  now?: () => number
}

const NOT_SENDERS_FAULT = new Set(['UNKNOWN_EPOCH', 'NOT_FOUND', 'IO', 'UNAVAILABLE', 'OVER_QUOTA'])
/** Posts held while waiting for the rekey that opens their epoch. */
const MAX_AHEAD_OF_EPOCH = 256

export class ResidentPeer {
  private libp2p: PorchlightNode | undefined
  private clipStore: ClipStore | undefined
  private readonly listeners = new Set<(post: FeedPost) => void>()
  private readonly topics = new Map<string, { hood?: HoodState, area?: string }>()
  private me: Identity | undefined
  private readonly aheadOfEpoch = new Map<string, { topic: string, bytes: Uint8Array }>()

  private constructor (
    readonly home: Home,
    readonly messages: MessageStore,
    private readonly local: Level<string, unknown>,
    private readonly init: PeerInit,
    private readonly now: () => number
  ) {}

  static async open (home: Home, init: PeerInit = {}): Promise<ResidentPeer> {
    await home.ensure()
    const messages = await MessageStore.open(join(home.dataDir, 'messages'))
    const local = new Level<string, unknown>(join(home.dataDir, 'local'), { valueEncoding: 'json' })
    await local.open()
    const peer = new ResidentPeer(home, messages, local, init, init.now ?? Date.now)
    peer.me = await home.identity()
    await peer.loadTopics()
    return peer
  }

  private get posts () { return this.local.sublevel<string, FeedPost>('posts', { valueEncoding: 'json' }) }
  private get outbox () { return this.local.sublevel<string, { topic: string, bytes: string }>('outbox', { valueEncoding: 'json' }) }

  private async loadTopics (): Promise<void> {
    this.topics.clear()
    for (const h of await this.home.hoods()) {
      this.topics.set(privateTopic(h.hood.id), { hood: h })
      this.topics.set(areaTopic(h.hood.area), { area: h.hood.area })
    }
    for (const area of (await this.home.agency())?.areas ?? []) this.topics.set(areaTopic(area), { area })
  }

  relays (): string[] {
    const all = new Set<string>(this.init.relays ?? [])
    for (const t of this.topics.values()) for (const r of t.hood?.relays ?? []) all.add(r)
    return [...all]
  }

  /** Starts libp2p, subscribes, and connects to the relays. */
  async start (): Promise<void> {
    if (this.libp2p !== undefined) return
    this.libp2p = await createNode({ privateKey: await loadOrCreateNodeKey(join(this.home.root, 'node-key')) })
    this.clipStore = await ClipStore.open(this.libp2p, join(this.home.dataDir, 'clips'))
    const pubsub = this.libp2p.services.pubsub
    // The validator is where gossip is taken in: it runs the protocol checks and stores the
    // message, and its verdict steers gossipsub (REJECT lowers the sender's score).
    for (const topic of this.topics.keys()) {
      pubsub.topicValidators.set(topic, async (_peer, msg) => {
        const id = sha256(msg.data)
        if (this.messages.has(id)) return TopicValidatorResult.Ignore
        try {
          await this.ingest(topic, msg.data, id)
          return TopicValidatorResult.Accept
        } catch (err) {
          // Not the sender's fault: a post ahead of its rekey, or trouble on our side.
          if (isPorchlightError(err) && NOT_SENDERS_FAULT.has(err.code)) return TopicValidatorResult.Ignore
          return TopicValidatorResult.Reject
        }
      })
      pubsub.subscribe(topic)
    }
    await this.connect()
  }

  /** Dials every known relay; resolves when at least one answered (or all failed). */
  async connect (): Promise<number> {
    const node = this.requireNode()
    const results = await Promise.allSettled(this.relays().map(async r => node.dial(multiaddr(r), { signal: AbortSignal.timeout(5000) })))
    return results.filter(r => r.status === 'fulfilled').length
  }

  /** The running libp2p node. */
  node (): PorchlightNode { return this.requireNode() }

  /** Encrypted clips (Helia with bitswap on this peer's node); see clips.ts and clip-post.ts. */
  clips (): ClipStore {
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

  onPost (listener: (post: FeedPost) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Validates, stores and (where we hold the keys) decrypts one message from the network.
   * Returns the feed post it produced, if any. Throws PorchlightError for invalid input.
   */
  async ingest (topic: string, bytes: Uint8Array, id = sha256(bytes)): Promise<FeedPost | undefined> {
    const t = this.topics.get(topic) ?? fail('NOT_FOUND', 'not subscribed to that topic')
    if (this.messages.has(id)) return undefined
    const now = this.now()
    const domain = peekDomain(bytes)
    let feed: FeedPost | undefined
    let ts: number
    let exp: number
    if (isPrivateTopic(topic) && t.hood !== undefined) {
      if (domain === 'pl/rekey') {
        ;({ ts, exp } = rekeyTimes(bytes, now))
        const learned = await this.applyRekey(t.hood, bytes)
        if (learned) {
          await this.messages.put({ topic, id, ts, exp, bytes })
          await this.retryAheadOfEpoch(topic)
          return undefined
        }
      } else {
        const env = decodeEnvelope(bytes)
        if (env.topic !== topic) fail('WRONG_TOPIC', 'envelope names another topic')
        const hood = (await this.home.hoodById(t.hood.hood.id)) ?? t.hood
        const keys = epochKeys(hood, env.epoch)
        if (keys === undefined) {
          // Possibly a post that overtook its epoch's rekey: keep it for when the rekey comes.
          this.aheadOfEpoch.set(toHex(id), { topic, bytes })
          if (this.aheadOfEpoch.size > MAX_AHEAD_OF_EPOCH) this.aheadOfEpoch.delete(this.aheadOfEpoch.keys().next().value!)
          fail('UNKNOWN_EPOCH', `no keys for epoch ${env.epoch}`)
        }
        const inner = openEnvelope(env, keys, topic) // checks the membership tag too
        const innerType = innerDomain(inner)
        ts = env.ts
        exp = env.exp
        if (innerType === 'pl/signed-post') {
          const p = await openSignedPost(inner, topic, now)
          if (p.post.created !== env.ts || p.post.expires !== env.exp) fail('OUT_OF_RANGE', 'envelope times differ from the post')
          feed = this.feedPost(toHex(id), 'private', topic, p.post, toHex(p.author), p.authorName, { hood: hood.hood.name })
        } else if (innerType === 'pl/join') {
          const j = await openJoin(inner, topic, now)
          await this.home.updateHood(hood.hood.id, (cur) => withMember(cur ?? hood, j.member))
        } else {
          fail('BAD_DOMAIN', `unexpected ${innerType.slice(0, 32)} in an envelope`)
        }
      }
    } else if (isAreaTopic(topic)) {
      const opened = domain === 'pl/rfa' ? await openRfa(bytes, now) : await openPublicPost(bytes, now)
      if (opened.topic !== topic) fail('WRONG_TOPIC', 'message is for another area')
      ts = opened.post.created
      exp = opened.post.expires
      const author = 'pseudonym' in opened ? opened.pseudonym : (opened as { agency: { signKey: Uint8Array } }).agency.signKey
      const name = 'name' in opened ? opened.name as string | undefined : (opened as { agency?: { name: string } }).agency?.name
      feed = this.feedPost(toHex(id), domain === 'pl/rfa' ? 'rfa' : 'public', topic, opened.post, toHex(author), name, { area: opened.area })
    } else {
      fail('WRONG_TOPIC', 'not a Porchlight topic')
    }
    await this.messages.put({ topic, id, ts, exp, bytes })
    if (feed !== undefined) {
      await this.posts.put(`${feed.created.toString(16).padStart(14, '0')}!${feed.id}`, feed)
      for (const l of this.listeners) l(feed)
    }
    return feed
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
      mine
    }
  }

  /**
   * Applies a rekey. True if it gave us a new epoch. A genuine rekey that leaves us out (we
   * were removed) is kept as seen, so sync does not fetch it again, and gives nothing.
   */
  private async applyRekey (state: HoodState, bytes: Uint8Array): Promise<boolean> {
    const w = decodeRekey(bytes)
    const hood = (await this.home.hoodById(state.hood.id)) ?? state
    if (epochKeys(hood, w.e) !== undefined) return false
    const old = epochKeys(hood, w.pe) ?? fail('UNKNOWN_EPOCH', `no keys for epoch ${w.pe}`)
    let next
    try {
      next = await openRekey(bytes, this.requireMe(), hood.hood, old)
    } catch (err) {
      if (!isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      // Not for us (removed): genuine only if it opens under the old tag key, as relays check.
      relayNextTagKey(bytes, old.tagKey)
      return false
    }
    await this.home.updateHood(hood.hood.id, (cur) => withEpoch(cur ?? hood, next.epoch, next.secret))
    return true
  }

  /** Re-takes the posts of a topic that arrived before their epoch's rekey. */
  private async retryAheadOfEpoch (topic: string): Promise<void> {
    for (const [key, m] of [...this.aheadOfEpoch]) {
      if (m.topic !== topic) continue
      this.aheadOfEpoch.delete(key)
      await this.ingest(m.topic, m.bytes).catch(() => undefined)
    }
  }

  /** Seals a post (and its public copy if asked), keeps it in the outbox, pushes it to a relay. */
  async post (opts: PostOptions): Promise<PostOutcome> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(opts.hood)
    const topic = privateTopic(state.hood.id)
    const precision = opts.precision ?? DEFAULT_POST_PRECISION
    const location = opts.geohash?.slice(0, precision) ??
      (opts.lat !== undefined && opts.lon !== undefined ? encodeGeohash(opts.lat, opts.lon, precision) : undefined)
    const post = createPost({ ...opts, ...(location !== undefined ? { location } : {}), now: opts.now ?? this.now() })
    const keys = currentEpochKeys(state)
    const bytes = sealEnvelope(keys, topic, await encodeSignedPost(me, topic, post), { ts: post.created, exp: post.expires })
    const outgoing: Array<{ topic: string, bytes: Uint8Array }> = [{ topic, bytes }]
    let publicId: string | undefined
    if (opts.public === true) {
      const pub = await sealPublicPost(me, state.hood.area, post, { showName: opts.showName === true })
      publicId = toHex(pub.id)
      outgoing.push({ topic: areaTopic(state.hood.area), bytes: pub.bytes })
    }
    for (const o of outgoing) {
      await this.outbox.put(toHex(sha256(o.bytes)), { topic: o.topic, bytes: toBase64Url(o.bytes) })
      await this.ingest(o.topic, o.bytes).catch(() => undefined)
    }
    const sent = await this.flushOutbox()
    const id = toHex(sha256(bytes))
    const mine = sent.get(id)
    return {
      id,
      ...(publicId !== undefined ? { publicId } : {}),
      ...(mine?.relay !== undefined ? { ackedBy: mine.relay } : {}),
      result: mine?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
    }
  }

  /** Announces this member in a neighborhood (after `hood join`), through a relay. */
  async announceJoin (hoodRef?: string): Promise<Result> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    const topic = privateTopic(state.hood.id)
    const now = this.now()
    const bytes = sealEnvelope(currentEpochKeys(state), topic, await createJoin(me, topic, now), { ts: now, exp: now + MAX_TTL_MS })
    const id = toHex(sha256(bytes))
    await this.outbox.put(id, { topic, bytes: toBase64Url(bytes) })
    const sent = await this.flushOutbox()
    return sent.get(id)?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
  }

  /** Admin: removes a member by starting a new epoch sealed to everyone else. */
  async removeMember (memberRef: string, hoodRef?: string): Promise<{ epoch: number, remaining: number, result: Result }> {
    const me = this.requireMe()
    const state = await this.home.resolveHood(hoodRef)
    const target = state.members.find(m => toHex(m.signKey).startsWith(memberRef.toLowerCase()) || m.name === memberRef) ??
      fail('NOT_FOUND', `no member "${memberRef}" in ${state.hood.name}`)
    const remaining = state.members.filter(m => m !== target)
    const { bytes, newKeys } = await createRekey(me, state.hood, currentEpochKeys(state), remaining, this.now())
    await this.home.updateHood(state.hood.id, (cur) => withoutMember(withEpoch(cur ?? state, newKeys.epoch, newKeys.secret), target.signKey))
    const topic = privateTopic(state.hood.id)
    const id = sha256(bytes)
    await this.outbox.put(toHex(id), { topic, bytes: toBase64Url(bytes) })
    await this.messages.put({ topic, id, ...rekeyTimes(bytes, this.now()), bytes })
    const sent = await this.flushOutbox()
    return { epoch: newKeys.epoch, remaining: remaining.length, result: sent.get(toHex(id))?.result ?? { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' } }
  }

  /**
   * Pushes everything in the outbox, pipelined on one stream per relay; each message leaves
   * the outbox once a relay acknowledged it. An unreachable relay hands its messages to the
   * next; a refusal is final for that message (it stays in the outbox with its reason).
   */
  async flushOutbox (): Promise<Map<string, { result: Result, relay?: string }>> {
    const node = this.requireNode()
    const out = new Map<string, { result: Result, relay?: string }>()
    let todo: Array<{ id: string, topic: string, bytes: Uint8Array }> = []
    for await (const [id, value] of this.outbox.iterator()) todo.push({ id, topic: value.topic, bytes: fromBase64Url(value.bytes) })
    for (const m of todo) out.set(m.id, { result: { ok: false, code: 'UNAVAILABLE', message: 'no relay known for this neighborhood' } })
    for (const relay of this.relays()) {
      if (todo.length === 0) break
      let session: PushSession
      try {
        session = await PushSession.open(node, multiaddr(relay))
      } catch (err) {
        for (const m of todo) out.set(m.id, { result: { ok: false, code: 'UNAVAILABLE', message: `relay unreachable: ${(err as Error).message}` } })
        continue
      }
      const results = await Promise.all(todo.map(async m => session.push(m.topic, m.bytes)))
      await session.close().catch(() => {})
      const retry: typeof todo = []
      for (const [i, m] of todo.entries()) {
        const result = results[i]!
        if (result.ok) {
          out.set(m.id, { result, relay })
          await this.outbox.del(m.id)
        } else {
          out.set(m.id, { result })
          if (result.code === 'UNAVAILABLE' || result.code === 'TIMEOUT') retry.push(m)
        }
      }
      todo = retry
    }
    return out
  }

  async outboxSize (): Promise<number> {
    let n = 0
    for await (const _ of this.outbox.keys()) n++
    return n
  }

  /** Catches up on every topic from the first relay that answers. */
  async sync (): Promise<SyncStats[]> {
    const node = this.requireNode()
    const all: SyncStats[] = []
    for (const topic of this.topics.keys()) {
      for (const relay of this.relays()) {
        // Sync delivers in (ts, id) order, so a post dated (by a slow clock) before the rekey
        // that opens its epoch arrives first: keep it and retry once the session is done.
        const later: Uint8Array[] = []
        try {
          all.push(await syncTopic(node, multiaddr(relay), topic, this.messages.items(topic), {
            getLocal: async (id) => (await this.messages.get(id))?.bytes,
            onMessage: async (msg) => {
              await this.ingest(topic, msg).catch((err: unknown) => { if (isPorchlightError(err, 'UNKNOWN_EPOCH')) later.push(msg) })
            }
          }))
          for (const msg of later) await this.ingest(topic, msg).catch(() => undefined)
          break
        } catch (err) {
          if (isPorchlightError(err, 'NOT_FOUND')) break
        }
      }
    }
    return all
  }

  /** The local feed, newest first, without expired posts. */
  async feed (filter: { kind?: string, since?: number, channel?: FeedPost['channel'] } = {}): Promise<FeedPost[]> {
    const now = this.now()
    const out: FeedPost[] = []
    for await (const value of this.posts.values({ reverse: true })) {
      const p = value as FeedPost
      if (p.expires <= now) continue
      if (filter.kind !== undefined && p.kind !== filter.kind) continue
      if (filter.since !== undefined && p.created < filter.since) continue
      if (filter.channel !== undefined && p.channel !== filter.channel) continue
      out.push(p)
    }
    return out
  }

  /** Deletes expired messages and posts. */
  async sweep (): Promise<number> {
    const now = this.now()
    const gone = await this.messages.sweep(now)
    const stale: string[] = []
    for await (const [key, value] of this.posts.iterator()) if ((value as FeedPost).expires <= now) stale.push(key)
    await this.posts.batch(stale.map(key => ({ type: 'del' as const, key })))
    const clips = await this.clipStore?.sweep(now) ?? 0
    return gone.length + stale.length + clips
  }

  async stop (): Promise<void> {
    await this.clipStore?.stop()
    this.clipStore = undefined
    await this.libp2p?.stop()
    this.libp2p = undefined
    await this.messages.close()
    await this.local.close()
  }
}

