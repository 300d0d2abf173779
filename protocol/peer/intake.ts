/**
 * What a relay checks before it stores or forwards a message, without any content key:
 * private topics carry envelopes whose membership tag must verify under a tag key the relay
 * was given (or learned from a rekey), whose times are sane, and whose epoch is still open
 * (judged on arrival: a rekey closes the epoch before it after EPOCH_GRACE_MS; history that a
 * relay this one mirrors brings by sync was judged so where it arrived: mirror.ts); and rekeys,
 * which must be signed by an admin of the chain rooted at the founder named in the relay's
 * token. Public area topics carry signed public posts and agency requests, which anyone can
 * verify, and replies sealed to an agency (sealed-reply.ts), of which a relay checks the shape,
 * size bucket, times and proof of work: nothing else is readable.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { fail, isPorchlightError } from '../errors.ts'
import { equalBytes, peekDomain } from '../encoding.ts'
import { sha256 } from '../crypto.ts'
import { checkEnvelopeTag, checkEnvelopeTime, decodeEnvelope } from '../envelope.ts'
import { openPublicPost } from '../public-post.ts'
import { isAreaTopic, isPrivateTopic, MAX_ADMINS, TOPIC_PREFIX } from '../neighborhood.ts'
import { MAX_MESSAGE_BYTES, type Result } from '../wire.ts'
import { relayOpenRekey, rekeyTimes } from '../rekey.ts'
import { openRfa, type OpenedRfa } from '../agency.ts'
import { decodeSealedReply, DOMAIN_SEALED_REPLY } from '../sealed-reply.ts'
import { commitmentOf, decodeRetraction, DOMAIN_RETRACT, openRetraction, verifyRetraction } from '../retract.ts'
import type { Messages, StoredMessage } from './storage.ts'

/**
 * Tag keys a relay keeps for one epoch: only an admin-signed rekey adds one, so more than one
 * means admins rekeyed at once (each stays valid: nothing posted under either is lost).
 */
export const MAX_TAG_KEYS_PER_EPOCH = MAX_ADMINS
/**
 * How long after a relay (or peer) learns a new epoch it still takes posts in the epoch
 * before: posts already in flight. Later ones are STALE_EPOCH, which tells a member's client
 * to catch up and re-seal, and shuts out a removed member, whatever date their post claims.
 */
export const EPOCH_GRACE_MS = 10_000

/**
 * One gossip verdict for relays and residents alike: refusals that are not the sender's
 * fault (a duplicate, overload, trouble on our side, a post ahead of its rekey or just behind
 * one) are IGNOREd, with no score penalty for an honest forwarder; anything else is REJECTed.
 */
const NOT_SENDERS_FAULT: ReadonlySet<string> = new Set([
  'REFUSED', 'RATE_LIMITED', 'OVER_QUOTA', 'IO', 'UNAVAILABLE', 'NOT_FOUND', 'UNKNOWN_EPOCH', 'STALE_EPOCH', 'RETRACTED'
])

/**
 * The arrival rule, on relays and residents alike: STALE_EPOCH once a later epoch has been
 * known (since `closedAt`) for longer than the grace.
 */
export function checkEpochOpen (epoch: number, closedAt: number | undefined, now: number, graceMs = EPOCH_GRACE_MS): void {
  if (closedAt !== undefined && now > closedAt + graceMs) {
    fail('STALE_EPOCH', `epoch ${epoch} was closed by a rekey: catch up and re-seal under the new epoch`)
  }
}

export function notSendersFault (code: string): boolean {
  return NOT_SENDERS_FAULT.has(code)
}

/**
 * The gossip verdict on a message refused with `refusal`, the same on a relay (which turns
 * refusals into a Result) and on a resident (which throws): IGNORE when it is not the sender's
 * fault (notSendersFault), REJECT, lowering the forwarder's score, otherwise. A post ahead of
 * a rekey this peer has not seen yet (UNKNOWN_EPOCH) is IGNOREd on both: an honest forwarder
 * that saw the rekey first did nothing wrong. An error that is not a PorchlightError is
 * trouble on this side (IO), never the sender's fault.
 */
export function gossipVerdict (refusal: unknown): TopicValidatorResult {
  let code: string
  if (isPorchlightError(refusal)) code = refusal.code
  else if (isResult(refusal)) code = refusal.code ?? ''
  else code = 'IO'
  return notSendersFault(code) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
}

function isResult (x: unknown): x is Result {
  return typeof x === 'object' && x !== null && !(x instanceof Error) && (x as { ok?: unknown }).ok === false
}

/** One served neighborhood: its admin root (from the token) and tag keys by epoch. */
export interface ServedHood {
  readonly founder: Uint8Array
  readonly salt: Uint8Array
  /** Tag keys of each epoch and when this relay first learned the epoch. */
  readonly epochs: Map<number, { tagKeys: Uint8Array[], learnedAt: number }>
}

/** The neighborhoods and areas this relay serves. */
export class ServedTopics {
  readonly private = new Map<string, ServedHood>()
  readonly areas = new Set<string>()

  addHood (topic: string, founder: Uint8Array, salt: Uint8Array): ServedHood {
    let hood = this.private.get(topic)
    if (hood === undefined) { hood = { founder, salt, epochs: new Map() }; this.private.set(topic, hood) }
    return hood
  }

  /**
   * Adds a tag key to a served neighborhood; false if it was already known (or the epoch is
   * full). Without a tag key it only records that the epoch exists (a genuine rekey that sealed
   * none to this relay): that still closes the epoch before it.
   */
  addPrivate (topic: string, epoch: number, tagKey: Uint8Array | undefined, learnedAt: number): boolean {
    const hood = this.private.get(topic)
    if (hood === undefined) return false
    const e = hood.epochs.get(epoch)
    if (tagKey === undefined) {
      if (e !== undefined) return false
      hood.epochs.set(epoch, { tagKeys: [], learnedAt })
      return true
    }
    const known = e ?? { tagKeys: [], learnedAt }
    if (known.tagKeys.some(k => equalBytes(k, tagKey)) || known.tagKeys.length >= MAX_TAG_KEYS_PER_EPOCH) return false
    hood.epochs.set(epoch, { tagKeys: [...known.tagKeys, tagKey], learnedAt: Math.min(known.learnedAt, learnedAt) })
    return true
  }

  /** When this relay first learned an epoch after `epoch` of `topic`, if it has. */
  supersededAt (topic: string, epoch: number): number | undefined {
    let at: number | undefined
    for (const [e, v] of this.private.get(topic)?.epochs ?? []) if (e > epoch && (at === undefined || v.learnedAt < at)) at = v.learnedAt
    return at
  }

  addArea (area: string): void { this.areas.add(`${TOPIC_PREFIX}area/${area}`) }

  serves (topic: string): boolean { return this.private.has(topic) || this.areas.has(topic) }

  /**
   * The tag keys of an epoch, and what a sync proof under them earns: everything while the
   * epoch is open (the newest, or closed less than the grace ago), only the rekeys after that
   * (a returning member catches up on them; a removed one gets nothing posted since).
   */
  syncKeys (topic: string, epoch: number, now: number, graceMs = EPOCH_GRACE_MS): { tagKeys: Uint8Array[], scope: 'all' | 'rekeys' } | undefined {
    const e = this.private.get(topic)?.epochs.get(epoch)
    if (e === undefined || e.tagKeys.length === 0) return undefined
    const closedAt = this.supersededAt(topic, epoch)
    return { tagKeys: e.tagKeys, scope: closedAt === undefined || now <= closedAt + graceMs ? 'all' : 'rekeys' }
  }

  /**
   * The newest epoch of a neighborhood (before `below`, if given) this relay holds a tag key
   * for: what it proves to other relays.
   */
  newestTagKey (topic: string, below = Infinity): { epoch: number, tagKey: Uint8Array } | undefined {
    let best: { epoch: number, tagKey: Uint8Array } | undefined
    for (const [epoch, e] of this.private.get(topic)?.epochs ?? []) {
      if (e.tagKeys.length > 0 && epoch < below && (best === undefined || epoch > best.epoch)) best = { epoch, tagKey: e.tagKeys[0]! }
    }
    return best
  }

  all (): string[] { return [...this.private.keys(), ...this.areas] }
}

export interface Validated {
  message: StoredMessage
  /** A retraction that verified against a stored post: the id of the post to delete. */
  retracts?: Uint8Array
  /** A post whose stored tombstone did not match its commitment (junk): the tombstone's id, to delete. */
  junkTombstone?: Uint8Array
  /** A genuine rekey: its new epoch, and the tag key if the admin sealed one to this relay. */
  rekey?: { topic: string, epoch: number, tagKey?: Uint8Array }
  /** A verified request for assistance (a relay keeps it on the public record). */
  rfa?: OpenedRfa
}

export interface ValidateOptions {
  /** This relay's X25519 secret for its box in rekeys (from its libp2p key). */
  boxSecret?: Uint8Array
  /** @default EPOCH_GRACE_MS */
  epochGraceMs?: number
  /**
   * The message comes as history: by sync from a relay this one mirrors, which judged it on
   * arrival (node/relay/mirror.ts). A closed epoch does not refuse it; its tag and times must still
   * verify. @default false
   */
  history?: boolean
  /**
   * The store, for retractions (checked against the stored post they name) and for posts
   * (refused as RETRACTED when a tombstone holds their id). Without it a retraction is
   * NOT_FOUND.
   */
  store?: Pick<Messages, 'get' | 'tombstoneFor'>
}

/** What a retraction is checked against: the message it names, if stored on the same topic. */
async function retractionTarget (store: Pick<Messages, 'get'> | undefined, topic: string, post: Uint8Array): Promise<StoredMessage | undefined> {
  const m = await store?.get(post)
  return m !== undefined && m.topic === topic ? m : undefined
}

/**
 * Checks a retraction: decoded, current, for this topic, and either verified against the
 * stored post it names (`retracts` is that post's id) or, with `pendingOk`, kept as a pending
 * tombstone for a post not held here. NOT_FOUND otherwise; the codes of verifyRetraction.
 */
export async function validateRetraction (
  topic: string, bytes: Uint8Array, id: Uint8Array, now: number, store: Pick<Messages, 'get'> | undefined, pendingOk: boolean
): Promise<Validated> {
  const r = openRetraction(bytes, now)
  if (r.topic !== topic) fail('WRONG_TOPIC', 'retraction is for another topic')
  const message = { topic, id, ts: r.ts, exp: r.exp, bytes }
  const post = await retractionTarget(store, topic, r.post)
  if (post === undefined) {
    if (!pendingOk) fail('NOT_FOUND', 'retraction names a post not held here')
    return { message }
  }
  verifyRetraction(r, { topic, id: post.id, ts: post.ts, exp: post.exp, commitment: commitmentOf(post.bytes) })
  return { message, retracts: post.id }
}

/**
 * A post arriving where a tombstone holds its id: RETRACTED if the tombstone's secret opens
 * the post's commitment (the post never shows); otherwise the tombstone was junk, and its id
 * is returned for the caller to delete. undefined when there is no tombstone.
 */
export async function checkTombstone (
  store: Pick<Messages, 'get' | 'tombstoneFor'> | undefined, post: StoredMessage
): Promise<Uint8Array | undefined> {
  const tid = store?.tombstoneFor(post.id)
  if (tid === undefined) return undefined
  const t = await store!.get(tid)
  if (t === undefined) return undefined
  try {
    verifyRetraction(decodeRetraction(t.bytes), { topic: post.topic, id: post.id, ts: post.ts, exp: post.exp, commitment: commitmentOf(post.bytes) })
  } catch {
    return tid
  }
  fail('RETRACTED', 'this post was retracted by its author')
}

/** The validated post, unless a tombstone retracts it (RETRACTED), noting a junk tombstone to delete. */
async function unlessRetracted (v: Validated, store: ValidateOptions['store']): Promise<Validated> {
  const junk = await checkTombstone(store, v.message)
  return junk !== undefined ? { ...v, junkTombstone: junk } : v
}

/**
 * Throws PorchlightError with the reason; returns what to store otherwise. `id` is the
 * message's SHA-256, passed in when the caller already computed it for its duplicate check.
 */
export async function validateMessage (
  topic: string, bytes: Uint8Array, served: ServedTopics, now: number, id = sha256(bytes), opts: ValidateOptions = {}
): Promise<Validated> {
  if (bytes.length > MAX_MESSAGE_BYTES) fail('TOO_LARGE', `message exceeds ${MAX_MESSAGE_BYTES} bytes`)
  if (!served.serves(topic)) fail('NOT_FOUND', 'topic not served here')
  const domain = peekDomain(bytes, MAX_MESSAGE_BYTES)
  if (isPrivateTopic(topic)) {
    const hood = served.private.get(topic)!
    if (domain === 'pl/env') {
      const env = decodeEnvelope(bytes)
      if (env.topic !== topic) fail('WRONG_TOPIC', 'envelope names another topic')
      const epoch = hood.epochs.get(env.epoch) ?? fail('UNKNOWN_EPOCH', [...hood.epochs.keys()].some(e => e > env.epoch)
        ? `epoch ${env.epoch} is older than this relay's token: a new token from a member (porchlight hood relay-token) carries the keys of the epochs that still hold unexpired posts`
        : `epoch ${env.epoch} is not known here`)
      if (epoch.tagKeys.length === 0) fail('UNKNOWN_EPOCH', `epoch ${env.epoch}: no tag key here (this relay needs a new token)`)
      if (!epoch.tagKeys.some(k => checkEnvelopeTag(env, k))) fail('BAD_TAG', 'membership tag does not verify')
      checkEnvelopeTime(env, now)
      if (opts.history !== true) checkEpochOpen(env.epoch, served.supersededAt(topic, env.epoch), now, opts.epochGraceMs)
      return unlessRetracted({ message: { topic, id, ts: env.ts, exp: env.exp, bytes } }, opts.store)
    }
    // Anyone holding the secret may retract: the relay needs no author (retract.ts).
    if (domain === DOMAIN_RETRACT) return validateRetraction(topic, bytes, id, now, opts.store, opts.history === true)
    if (domain === 'pl/rekey') {
      const r = await relayOpenRekey(bytes, hood, opts.boxSecret, topic)
      // Its own clear-text time orders it the same way on every relay (sync needs that).
      const times = rekeyTimes(bytes, now)
      return {
        message: { topic, id, ts: times.ts, exp: times.exp, bytes },
        rekey: { topic, epoch: r.epoch, ...(r.tagKey !== undefined ? { tagKey: r.tagKey } : {}) }
      }
    }
    fail('BAD_DOMAIN', `unexpected ${domain.slice(0, 32)} on a private topic`)
  }
  if (isAreaTopic(topic)) {
    if (domain === 'pl/public-post') {
      const p = await openPublicPost(bytes, now)
      if (p.topic !== topic) fail('WRONG_TOPIC', 'public post is for another area')
      return unlessRetracted({ message: { topic, id, ts: p.post.created, exp: p.post.expires, bytes } }, opts.store)
    }
    if (domain === DOMAIN_RETRACT) return validateRetraction(topic, bytes, id, now, opts.store, opts.history === true)
    if (domain === 'pl/rfa') {
      const r = await openRfa(bytes, now)
      if (r.topic !== topic) fail('WRONG_TOPIC', 'request is for another area')
      return { message: { topic, id, ts: r.post.created, exp: r.post.expires, bytes }, rfa: r }
    }
    if (domain === DOMAIN_SEALED_REPLY) {
      const w = decodeSealedReply(bytes, now)
      return { message: { topic, id, ts: w.ts, exp: w.exp, bytes } }
    }
    fail('BAD_DOMAIN', `unexpected ${domain.slice(0, 32)} on an area topic`)
  }
  fail('WRONG_TOPIC', 'not a Porchlight topic')
}
