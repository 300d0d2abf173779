/**
 * Sealed replies in transit: how a resident's reply sealed to an agency (agency.ts,
 * 'pl/agency-reply' in a seal.ts box) travels, on the public channel of the request's area.
 *
 * Wire struct 'pl/sealed-reply' v1 (exactly one of SEALED_REPLY_BUCKETS long: 1 or 4 KiB),
 * published on areaTopic(area) of the request it answers:
 *   { box: the sealed 'pl/agency-reply', padded inside the box (its `pad` field) so that the
 *     whole message is a bucket long; ts: uint ms, exp: uint ms (whole minutes, the reply's
 *     envelopeTimes); pow: 8 bytes }
 * pow = a nonce such that pow.ts's work hash over SHA-256(encodeStruct('pl/sealed-reply-body'
 *   v1 { box, ts, exp })) has at least SEALED_REPLY_POW_BITS leading zero bits: the same toll
 *   as a public post (public-post.ts), since anyone may write one and nobody but its
 *   recipient can tell it from junk.
 *
 * It carries no recipient: no agency key, no RFA id, no tag. The agency tries its box secret on
 * each one that arrives on the areas it follows (one X25519 and a failed AEAD open per message
 * for the others); everyone else, relays included, sees uniform opaque blobs of 1 or 4 KiB and
 * minute-coarse times. Relays check what they can without keys (strict shape, bucket, times,
 * proof of work), store them and sync them like the area's other messages, under the same limits
 * per address. The agency checks, once opened, that the clear times are those of the reply
 * inside (OUT_OF_RANGE otherwise), so nobody can re-date a box without it being refused.
 *
 * Buckets: 1 KiB holds a reply of up to ~700 bytes of text, ~550 with one clip; 4 KiB any
 * reply a post's bounds allow (2,000 bytes of text and four clips, with the author's identity).
 *
 * What a relay learns: that someone (a short-lived peer id, from an IP address: the sender
 * uses public-copy.ts's one-time node and random delay) wrote a 1 or 4 KiB box to the area at
 * some minute, to expire at some minute. Not who, not to whom, not about what.
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import { sha256 } from './crypto.ts'
import { checkProof, mineProof, POW_NONCE_BYTES } from './pow.ts'
import { type Identity } from './identity.ts'
import { type AgencyReply, type OpenedRfa, openReplyToAgency, sealReplyToAgency } from './agency.ts'
import { envelopeTimes, ENVELOPE_TIME_UNIT_MS } from './envelope.ts'
import { MAX_TTL_MS, type Post } from './post.ts'
import { SEAL_OVERHEAD_BYTES } from './seal.ts'
import { checkCurrent, checkLifetime } from './time.ts'
import { PUBLIC_POST_POW_BITS } from './public-post.ts'

export const DOMAIN_SEALED_REPLY = 'pl/sealed-reply'
/** The sizes a sealed reply may have, in bytes. */
export const SEALED_REPLY_BUCKETS: readonly number[] = [1024, 4 * 1024]
export const MAX_SEALED_REPLY_BYTES = 4 * 1024
/** Proof-of-work difficulty: that of a public post (the same toll for the same open door). */
export const SEALED_REPLY_POW_BITS = PUBLIC_POST_POW_BITS

const SEALED_REPLY: StructSpec = { domain: DOMAIN_SEALED_REPLY, version: 1, required: ['box', 'ts', 'exp', 'pow'], maxBytes: MAX_SEALED_REPLY_BYTES }
const SEALED_REPLY_BODY: StructSpec = { domain: 'pl/sealed-reply-body', version: 1, required: ['box', 'ts', 'exp'], maxBytes: MAX_SEALED_REPLY_BYTES }

export interface SealedReplyWire {
  box: Uint8Array
  /** Clear times, whole minutes. */
  ts: number
  exp: number
  pow: Uint8Array
}

export interface SealReplyOptions {
  /** Proof-of-work difficulty to mine; below SEALED_REPLY_POW_BITS only tests' openers take it. @default SEALED_REPLY_POW_BITS */
  powBits?: number
  signal?: AbortSignal
  /** The author's identity goes in the box (signed) only if given. @default null: anonymous */
  author?: Identity | null
}

function powDigest (box: Uint8Array, ts: number, exp: number): Uint8Array {
  return sha256(encodeStruct(SEALED_REPLY_BODY, { box, ts, exp }))
}

/**
 * Bytes of a sealed reply that are not the box's content: the struct with an empty box (its
 * byte-string head is 1 byte then, 3 for any box of a bucket: 256..65535 bytes) and the seal.
 */
function overhead (ts: number, exp: number): number {
  const empty = encodeStruct(SEALED_REPLY, { box: new Uint8Array(0), ts, exp, pow: new Uint8Array(POW_NONCE_BYTES) })
  return empty.length - 1 + 3 + SEAL_OVERHEAD_BYTES
}

/**
 * Seals `post` (kind 'reply', replyTo the request's id or none) for the agency that signed
 * `rfa`, and only that agency: the key comes from the verified request, never from the caller.
 * Padded to the smallest bucket that holds it, with its proof of work (~65,000 SHA-256).
 */
export async function sealReply (rfa: OpenedRfa, post: Post, opts: SealReplyOptions = {}): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  const { ts, exp } = envelopeTimes(post.created, post.expires)
  const room = overhead(ts, exp)
  let last: unknown
  for (const bucket of SEALED_REPLY_BUCKETS) {
    let box: Uint8Array
    try {
      box = await sealReplyToAgency(opts.author ?? null, rfa.agency.boxKey, rfa.id, post, { plaintextBytes: bucket - room })
    } catch (err) {
      last = err
      continue
    }
    const pow = await mineProof(powDigest(box, ts, exp), opts.powBits ?? SEALED_REPLY_POW_BITS, opts.signal !== undefined ? { signal: opts.signal } : {})
    const bytes = encodeStruct(SEALED_REPLY, { box, ts, exp, pow })
    if (bytes.length !== bucket) fail('IO', 'sealed reply padding miscounted') // a bug, never input
    return { bytes, id: sha256(bytes) }
  }
  throw last
}

/**
 * What anyone can check without a key (relays, residents): strict shape, a bucket's length
 * (BAD_LENGTH), whole-minute times within a post's lifetime, current at `now`, and the proof of
 * work (WEAK_PROOF below `minPowBits`, which is for tests).
 */
export function decodeSealedReply (bytes: Uint8Array, now: number, minPowBits = SEALED_REPLY_POW_BITS): SealedReplyWire {
  const f = decodeStruct(SEALED_REPLY, bytes)
  const box = f.bytes('box', { max: MAX_SEALED_REPLY_BYTES, min: SEAL_OVERHEAD_BYTES + 1 })
  const ts = f.uint('ts')
  const exp = f.uint('exp')
  const pow = f.bytes('pow', { len: POW_NONCE_BYTES })
  if (!SEALED_REPLY_BUCKETS.includes(bytes.length)) fail('BAD_LENGTH', `a sealed reply is ${SEALED_REPLY_BUCKETS.join(' or ')} bytes long, not ${bytes.length}`)
  if (ts % ENVELOPE_TIME_UNIT_MS !== 0 || exp % ENVELOPE_TIME_UNIT_MS !== 0) fail('OUT_OF_RANGE', 'sealed reply times must be whole minutes')
  checkLifetime(ts, exp, MAX_TTL_MS, 'sealed reply')
  checkCurrent(ts, exp, now, 'sealed reply')
  checkProof(powDigest(box, ts, exp), pow, minPowBits, 'sealed reply')
  return { box, ts, exp, pow }
}

/**
 * The agency's side: decodes (decodeSealedReply), opens with its box secret (DECRYPT_FAILED
 * unless sealed to it) and verifies the reply (agency.ts), whose times must be the clear ones.
 * Whether the request it answers is this agency's is the caller's question.
 */
export async function openSealedReply (agency: Identity, bytes: Uint8Array, now: number, minPowBits = SEALED_REPLY_POW_BITS): Promise<AgencyReply> {
  const w = decodeSealedReply(bytes, now, minPowBits)
  const reply = await openReplyToAgency(agency, w.box, now)
  const t = envelopeTimes(reply.post.created, reply.post.expires)
  if (t.ts !== w.ts || t.exp !== w.exp) fail('OUT_OF_RANGE', 'sealed reply times do not match the reply\'s')
  return reply
}
