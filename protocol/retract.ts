/**
 * Retractions (issue 11): the author takes a post back before it expires, its public copy too.
 *
 * The problem: relays must delete the post, but a relay cannot see who wrote a private post
 * (the author and the signature are inside the ciphertext), and a public post is signed by a
 * per-area pseudonym that must not be linked to the member. So what a relay checks cannot be
 * "is this the author?"; it is "does this person know what only the author knows?".
 *
 * Design: a hash commitment in the clear part of each post.
 *  - Sealing a post, the author draws a fresh 32-byte random secret s (retractSecret) and
 *    puts C = SHA-256("porchlight/retract/v1" || 0x00 || s) (retractCommitment) in the part
 *    a relay reads: the envelope's `rc` field (authenticated: it is in the AEAD's associated
 *    data and under the membership tag, so a non-member can neither strip nor replace it), and
 *    the public post's `rc` (inside the signed body and under the proof of work, so nobody can
 *    make a copy with their own commitment and another id). Only the author keeps s (local
 *    state, beside the post).
 *  - Retraction 'pl/retract' v1 (at most MAX_RETRACTION_BYTES):
 *      { topic, post: 32-byte id (SHA-256 of the post's bytes), ts, exp, secret: 32 bytes }
 *    ts and exp are the post's clear times (envelope minutes; a public post's created and
 *    expires), so every relay files the retraction at the same place for sync and keeps it
 *    exactly as long as the post would have lived. A relay holding the post checks topic,
 *    ts, exp and SHA-256(domain || secret) == C (verifyRetraction), deletes the post, keeps
 *    the retraction as a tombstone until the post's expiry (so sync never brings the post
 *    back, and peers that missed the retraction get it by sync), and forwards it.
 *  - No signature. The secret is the authorization: it is 256 random bits that only the
 *    sealer ever held, and it is bound to one post id (the commitment is inside the bytes the
 *    id hashes), so a revealed secret retracts that post and nothing else, and replaying a
 *    retraction only repeats it (same bytes, same id, a duplicate). A signature would add
 *    nothing a relay could check (it cannot see the author), and members would only learn
 *    again what the reveal proves; it would also turn each retraction into a transferable,
 *    signed statement "this key retracted that post", which a bare reveal is not.
 *  - Unlinkable: each post gets its own secret, drawn independently, and so does its public
 *    copy; C is random-looking and per post, so neither the commitments nor the reveals link a
 *    private post to its public copy, or two posts of one author. The public retraction goes
 *    out like the public copy (public-copy.ts: after a random delay, from a short-lived node).
 *
 * Limits: one retraction message per post (its bytes are determined by the post), so a topic
 * holds at most one tombstone per post that existed; a message store also caps tombstones per
 * topic (MAX_TOMBSTONES_PER_TOPIC) and counts their bytes against the topic's quota. A relay
 * takes a retraction only for a post it holds (NOT_FOUND otherwise, which is not the sender's
 * fault), or as history from a relay it mirrors (which checked it). A resident keeps a
 * retraction for a post it has not seen as a pending tombstone: when the post comes, the
 * tombstone is checked against its commitment, and either the post never shows (RETRACTED) or
 * the tombstone was junk and goes.
 *
 * Versions: the commitment is an optional field of envelope v2 and public post v2 (and of the
 * signed public-post body v1). Messages without one stay valid and simply cannot be retracted
 * (UNSUPPORTED); no stored format is retired (store-format.ts unchanged).
 *
 * What a retraction shows a relay: that the post with this id was taken back, and when. It
 * already saw the post's metadata; the secret is random and tells nothing about the author.
 */
import { fail } from './errors.ts'
import { concatBytes, decodeStruct, encodeStruct, peekDomain, type StructSpec, utf8Bytes } from './encoding.ts'
import { constantTimeEqual, randomBytes, sha256 } from './crypto.ts'
import { decodeEnvelope } from './envelope.ts'
import { isAreaTopic, isPrivateTopic, MAX_TOPIC_BYTES } from './neighborhood.ts'
import { publicPostCommitment } from './public-post.ts'
import { MAX_TTL_MS } from './post.ts'
import { checkCurrent, checkLifetime } from './time.ts'

export const DOMAIN_RETRACT = 'pl/retract'
export const RETRACT_VERSION = 1
export const RETRACT_SECRET_BYTES = 32
export const RETRACT_COMMITMENT_BYTES = 32
/** A retraction is ~150 bytes; this bounds what a decoder reads. */
export const MAX_RETRACTION_BYTES = 320
/** Tombstones (retractions) one topic of a message store may hold; more are OVER_QUOTA. */
export const MAX_TOMBSTONES_PER_TOPIC = 4096

/** Domain separation of the commitment hash (NUL-terminated, so no secret can extend it). */
const COMMIT_DOMAIN = utf8Bytes('porchlight/retract/v1\u0000')

const RETRACT: StructSpec = {
  domain: DOMAIN_RETRACT, version: RETRACT_VERSION, required: ['topic', 'post', 'ts', 'exp', 'secret'], maxBytes: MAX_RETRACTION_BYTES
}

export interface Retraction {
  /** The post's topic (a private topic or an area topic). */
  readonly topic: string
  /** The post's id: SHA-256 of its bytes, 32 bytes. */
  readonly post: Uint8Array
  /** The post's clear times (ms). */
  readonly ts: number
  readonly exp: number
  /** The revealed secret, 32 bytes. */
  readonly secret: Uint8Array
}

/** A fresh random retraction secret (32 bytes from the CSPRNG); one per post, never reused. */
export function retractSecret (): Uint8Array {
  return randomBytes(RETRACT_SECRET_BYTES)
}

/** C = SHA-256("porchlight/retract/v1" || 0x00 || secret): what a post carries in the clear. */
export function retractCommitment (secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length !== RETRACT_SECRET_BYTES) fail('BAD_ARGUMENT', `a retraction secret is ${RETRACT_SECRET_BYTES} bytes`)
  return sha256(concatBytes(COMMIT_DOMAIN, secret))
}

function checkRetractTopic (topic: string): void {
  if (!isPrivateTopic(topic) && !isAreaTopic(topic)) fail('WRONG_TOPIC', 'a retraction names a neighborhood or area topic')
}

/** The retraction bytes of a post (clock-free). */
export function encodeRetraction (r: Retraction): Uint8Array {
  checkRetractTopic(r.topic)
  if (!(r.post instanceof Uint8Array) || r.post.length !== 32) fail('BAD_ARGUMENT', 'post id must be 32 bytes')
  if (!(r.secret instanceof Uint8Array) || r.secret.length !== RETRACT_SECRET_BYTES) fail('BAD_ARGUMENT', `secret must be ${RETRACT_SECRET_BYTES} bytes`)
  for (const v of [r.ts, r.exp]) if (!Number.isSafeInteger(v) || v < 0) fail('BAD_ARGUMENT', 'ts and exp must be non-negative integers')
  checkLifetime(r.ts, r.exp, MAX_TTL_MS, 'retraction')
  return encodeStruct(RETRACT, { topic: r.topic, post: r.post, ts: r.ts, exp: r.exp, secret: r.secret })
}

/** Strict decoding (canonical CBOR, exact fields and sizes, a known topic kind, a sane lifetime); needs no keys and no clock. */
export function decodeRetraction (bytes: Uint8Array): Retraction {
  const f = decodeStruct(RETRACT, bytes)
  const r: Retraction = {
    topic: f.string('topic', MAX_TOPIC_BYTES),
    post: f.bytes('post', { len: 32 }),
    ts: f.uint('ts'),
    exp: f.uint('exp'),
    secret: f.bytes('secret', { len: RETRACT_SECRET_BYTES })
  }
  checkRetractTopic(r.topic)
  checkLifetime(r.ts, r.exp, MAX_TTL_MS, 'retraction')
  return r
}

/** Decodes and checks the clock: FUTURE_DATED, EXPIRED (a retraction of an expired post is moot). */
export function openRetraction (bytes: Uint8Array, now: number): Retraction {
  const r = decodeRetraction(bytes)
  checkCurrent(r.ts, r.exp, now, 'retraction')
  return r
}

/** What a retraction is checked against: a stored post (its topic, id, clear times) and its commitment, if it has one. */
export interface RetractTarget {
  readonly topic: string
  readonly id: Uint8Array
  readonly ts: number
  readonly exp: number
  readonly commitment: Uint8Array | undefined
}

/**
 * The commitment a stored message carries, read without keys: an envelope's `rc`, a public
 * post's `rc`; undefined for anything else (rekeys, RFAs, retractions) or a post without one.
 */
export function commitmentOf (bytes: Uint8Array): Uint8Array | undefined {
  const domain = peekDomain(bytes)
  if (domain === 'pl/env') return decodeEnvelope(bytes).rc
  if (domain === 'pl/public-post') return publicPostCommitment(bytes)
  return undefined
}

/**
 * Checks a retraction against the post it names: WRONG_TOPIC, NOT_FOUND (another id),
 * OUT_OF_RANGE (other times), UNSUPPORTED (the post carries no commitment: sealed before
 * retractions), BAD_SECRET (the secret does not open the commitment). The hash comparison is
 * constant-time.
 */
export function verifyRetraction (r: Retraction, target: RetractTarget): void {
  if (r.topic !== target.topic) fail('WRONG_TOPIC', 'retraction is for another topic')
  if (!constantTimeEqual(r.post, target.id)) fail('NOT_FOUND', 'retraction names another post')
  if (r.ts !== target.ts || r.exp !== target.exp) fail('OUT_OF_RANGE', 'retraction times do not match the post\'s')
  if (target.commitment === undefined) fail('UNSUPPORTED', 'this post was sealed without a retraction commitment: it cannot be retracted')
  if (!constantTimeEqual(retractCommitment(r.secret), target.commitment)) fail('BAD_SECRET', 'retraction secret does not match the post\'s commitment')
}

/** The post id a retraction names, from its bytes, or undefined for any other message (a message store's tombstone index). */
export function retractedBy (bytes: Uint8Array): Uint8Array | undefined {
  // A cheap look at the first bytes (a retraction's canonical start) before any decoding: every stored message passes here.
  if (bytes.length > MAX_RETRACTION_BYTES || bytes.length < RETRACT_START.length) return undefined
  for (let i = 0; i < RETRACT_START.length; i++) if (bytes[i] !== RETRACT_START[i]) return undefined
  try {
    return decodeRetraction(bytes).post
  } catch {
    return undefined
  }
}

/** a7 (map of 7: t, v and five fields) "t" "pl/retract": how every canonical retraction starts. */
const RETRACT_START = Uint8Array.from([0xa7, 0x61, 0x74, 0x6a, ...utf8Bytes(DOMAIN_RETRACT)])
