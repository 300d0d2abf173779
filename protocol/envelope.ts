/**
 * Private envelopes: what travels on a neighborhood's private topic and what relays store.
 *
 * Wire struct 'pl/env' v2 (exactly one of ENVELOPE_BUCKETS long: 1, 4, 16 or 64 KiB):
 *   { topic: string (private topic, 48 chars), epoch: uint32, ts: uint ms, exp: uint ms,
 *     nonce: 24 bytes, ct: bytes (XChaCha20-Poly1305 ciphertext || 16-byte Poly1305 tag),
 *     tag: 16 bytes, rc?: 32 bytes }
 * header = encodeStruct('pl/env-header' v2 { topic, epoch, ts, exp, nonce, rc? })  (the AEAD's associated data)
 * rc     = the retraction commitment (retract.ts), optional: an envelope without one is valid
 *          and cannot be retracted. It is in the header, so the AEAD and the membership tag
 *          authenticate it. Random-looking and fresh per envelope: it links nothing.
 * ct     = XChaCha20-Poly1305(contentKey, nonce, inner || 0x80 || 0x00*, aad = header)
 * tag    = HMAC-SHA256(tagKey, header || ct)[0..16]   (membershipTag; header is self-delimiting CBOR)
 *
 * Members hold both keys; relays hold only the tag key, so they can drop non-member traffic
 * (checkEnvelopeTag) but read nothing. The plaintext is any signed inner message (a
 * domain-tagged struct): the envelope does not care which. The author's identity and
 * signature live only inside the ciphertext (sign, then encrypt).
 *
 * What the shape says (issue 10): little.
 *  - Size: the plaintext is padded (0x80 then zeros, inside the AEAD, so the padding is
 *    authenticated) until the whole envelope is the smallest bucket that holds it. Buckets are
 *    chosen for what travels here (measured): 1 KiB holds an everyday post (text up to ~450
 *    bytes, ~300 with a clip), a join, leave or approval, and a roster of up to 4 members, so a
 *    join looks like a short post; 4 KiB any other post (the longest text with four clips is
 *    ~3.3 KB) and rosters up to ~20; 16 KiB and 64 KiB only rosters (up to ~90 and 200 members
 *    per message). Opening strips the padding strictly: anything
 *    but 0x80 then zeros, or padding that would fit a smaller bucket, is MALFORMED; relays
 *    refuse an envelope of any other size (BAD_LENGTH), with no keys.
 *  - Times: ts (creation) and exp (expiry) are in the clear because relays must order
 *    envelopes for sync and delete them when they expire, without reading them; they are
 *    whole minutes (ENVELOPE_TIME_UNIT_MS), which is all that ordering and expiry need.
 *    For a post they are envelopeTimes(created, expires): the exact times stay inside the
 *    ciphertext; exp is never later than the post's expiry, except for a post that lives less
 *    than a minute (it is kept to the end of its creation minute's next minute). openPost
 *    checks the relation, so nobody can make relays keep a post longer than its author said.
 *    Both are authenticated (AAD and tag) and bounded like a post's lifetime.
 *
 * v1 envelopes (unpadded, millisecond times) are refused with BAD_VERSION.
 *
 * Signed post (inner) 'pl/signed-post' v1: { post: bytes, author: Ed25519 key 32, sig: 64 bytes }
 *   post = encodeStruct('pl/post' v1 { ...post fields, topic, author, name })  (same author)
 *   sig  = Ed25519(author, post)
 * The signed bytes travel as they were signed, so opening decodes the post once, never
 * re-encodes it to verify, and starts the verification before decoding it. The topic is
 * signed (a member of two neighborhoods cannot replay a post from one into the other:
 * WRONG_TOPIC), and so is the name (nobody can re-seal someone's post under another name).
 *
 * Speed: the fixed layouts (header, envelope, signed-post wrapper) are written and read
 * directly, byte for byte what the generic encoder produces (tests compare them on random
 * and mutated inputs); anything unexpected falls back to the generic strict decoder, which
 * gives the error its code.
 */
import { putHead } from './cbor-write.ts'
import { fail, isPorchlightError } from './errors.ts'
import { concatAll, decodeStruct, encodeStruct, equalBytes, peekDomain, type StructSpec } from './encoding.ts'
import { ascii, CanonicalReader } from './canonical-reader.ts'
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, aeadOpen, aeadSeal, getCrypto, randomBytes, sha256, SIGNATURE_BYTES } from './crypto.ts'
import { type Identity, startVerify } from './identity.ts'
import {
  checkMembershipTag, checkPrivateTopic, checkTopicIs, type EpochKeys, MAX_EPOCH, MAX_TOPIC_BYTES, membershipTag, TAG_BYTES
} from './neighborhood.ts'
import {
  checkPostFields, DEFAULT_TTL_MS, MAX_POST_BYTES, MAX_TTL_MS, type Post, POST_OPTIONAL, POST_REQUIRED, postFields,
  readAuthorName, readPostFields
} from './post.ts'
import { checkCurrent, checkLifetime } from './time.ts'

/** The sizes an envelope may have, in bytes (see the header comment for what fits in each). */
export const ENVELOPE_BUCKETS: readonly number[] = [1024, 4 * 1024, 16 * 1024, 64 * 1024]
export const MAX_ENVELOPE_BYTES = 64 * 1024
/** Clear times (ts, exp) are multiples of this: one minute. */
export const ENVELOPE_TIME_UNIT_MS = 60_000
/** Wire version of 'pl/env' and 'pl/env-header'. */
export const ENVELOPE_VERSION = 2
/** The first byte of the padding; zeros follow. */
const PAD_MARK = 0x80
export const ENVELOPE_NONCE_BYTES = AEAD_NONCE_BYTES
/** The retraction commitment's size (retract.ts). */
const RC_BYTES = 32
/** Topics are checked against the private-topic pattern; this only bounds the read (neighborhood.ts). */
export { MAX_TOPIC_BYTES }
/** Largest signed post (inner plaintext): an encoded post plus author key, name and signature. */
export const MAX_SIGNED_POST_BYTES = MAX_POST_BYTES + 512
export const DOMAIN_SIGNED_POST = 'pl/signed-post'
/** The signed 'pl/post' bytes: a post plus topic (48), author key (32) and name (<= 64). */
const MAX_POST_TBS_BYTES = MAX_POST_BYTES + 256

const ENVELOPE: StructSpec = {
  domain: 'pl/env', version: ENVELOPE_VERSION, required: ['topic', 'epoch', 'ts', 'exp', 'nonce', 'ct', 'tag'], optional: ['rc'], maxBytes: MAX_ENVELOPE_BYTES
}
const SIGNED_POST: StructSpec = {
  domain: DOMAIN_SIGNED_POST, version: 1, required: ['post', 'author', 'sig'], maxBytes: MAX_SIGNED_POST_BYTES
}
/** What the author signs; a different domain from the container so neither can pass for the other. */
const POST_TBS: StructSpec = {
  domain: 'pl/post',
  version: 1,
  required: [...POST_REQUIRED, 'topic', 'author', 'name'],
  optional: POST_OPTIONAL,
  maxBytes: MAX_POST_TBS_BYTES
}

export interface PrivateEnvelope {
  readonly topic: string
  readonly epoch: number
  /** Creation time, ms since the Unix epoch. */
  readonly ts: number
  /** Expiry time (ms): relays delete the envelope then. ts < exp <= ts + MAX_TTL_MS. */
  readonly exp: number
  /** 24 bytes. */
  readonly nonce: Uint8Array
  /** Ciphertext with its 16-byte AEAD tag. */
  readonly ct: Uint8Array
  /** Membership tag, 16 bytes. */
  readonly tag: Uint8Array
  /** Retraction commitment (retract.ts), 32 bytes; absent on envelopes that cannot be retracted. */
  readonly rc?: Uint8Array
}

export interface SealOptions {
  /** Creation time (ms), rounded down to a minute on the wire. Default Date.now(). sealPost uses the post's `created`. */
  ts?: number
  /** Expiry time (ms), rounded as envelopeTimes says. Default ts + DEFAULT_TTL_MS. sealPost uses the post's `expires`. */
  exp?: number
  /**
   * 24-byte nonce, FOR TEST VECTORS AND TESTS ONLY: production callers never pass one (it is
   * random; a repeated nonce under one key breaks confidentiality).
   */
  nonce?: Uint8Array
  /** Retraction commitment to carry in the clear (retract.ts: retractCommitment of a fresh secret the caller keeps). */
  rc?: Uint8Array
}

export interface OpenOptions {
  /** The topic the envelope arrived on; WRONG_TOPIC if the envelope names another. */
  topic?: string
}

export interface OpenedPost {
  /** envelopeId: SHA-256 of the envelope bytes, 32 bytes. */
  id: Uint8Array
  topic: string
  epoch: number
  post: Post
  /** Author's Ed25519 identity key, 32 bytes. */
  author: Uint8Array
  authorName: string
}

function checkTopic (topic: string): string {
  return checkPrivateTopic(topic, 'WRONG_TOPIC', 'not a private neighborhood topic')
}

/**
 * Clock checks a relay runs on an envelope it cannot read: FUTURE_DATED if ts is more than
 * MAX_CLOCK_SKEW_MS ahead of `now`, EXPIRED if exp <= now.
 */
export function checkEnvelopeTime (env: PrivateEnvelope, now: number): void {
  checkCurrent(env.ts, env.exp, now, 'envelope')
}

/**
 * The clear times of an envelope whose contents were created at `created` and expire at
 * `expires` (ms): ts = created rounded down to a minute, exp = expires rounded down to a
 * minute, but at least ts + 1 minute (a lifetime under a minute). Clock-free and idempotent;
 * for valid lifetimes (created < expires <= created + MAX_TTL_MS) the result is one too.
 */
export function envelopeTimes (created: number, expires: number): { ts: number, exp: number } {
  const unit = ENVELOPE_TIME_UNIT_MS
  const ts = created - (created % unit)
  return { ts, exp: Math.max(expires - (expires % unit), ts + unit) }
}

/** OUT_OF_RANGE unless the envelope's clear times are envelopeTimes of the post's. */
export function checkPostTimes (env: Pick<PrivateEnvelope, 'ts' | 'exp'>, post: Pick<Post, 'created' | 'expires'>): void {
  const t = envelopeTimes(post.created, post.expires)
  if (t.ts !== env.ts || t.exp !== env.exp) fail('OUT_OF_RANGE', 'envelope times do not match the post\'s')
}

/** Encrypts and tags one inner message for `topic` under the epoch's keys, padded to the smallest bucket that holds it. */
export function sealEnvelope (keys: EpochKeys, topic: string, inner: Uint8Array, opts?: SealOptions): Uint8Array {
  if (!(inner instanceof Uint8Array) || inner.length === 0) fail('BAD_ARGUMENT', 'inner message must be non-empty bytes')
  return sealInner(keys, topic, [inner], opts)
}

/**
 * sealEnvelope of the inner message made of `parts` joined, writing them straight into the padded plaintext and the
 * ciphertext straight into the envelope (a seal allocates the envelope once). The envelope is
 * written directly, byte for byte what encodeEnvelope gives (tests compare them), in the layout
 * readCanonicalEnvelope reads: map head, "t" "pl/env" "v" 2 "ct" ct, the header's [rc] ts exp,
 * "tag" tag, the header's epoch nonce topic.
 */
function sealInner (keys: EpochKeys, topic: string, parts: readonly Uint8Array[], opts?: SealOptions): Uint8Array {
  checkTopic(topic)
  let innerBytes = 0
  for (const part of parts) innerBytes += part.length
  if (innerBytes > MAX_ENVELOPE_BYTES) fail('TOO_LARGE', `inner message exceeds ${MAX_ENVELOPE_BYTES} bytes`)
  const nonce = opts?.nonce ?? randomBytes(ENVELOPE_NONCE_BYTES)
  if (!(nonce instanceof Uint8Array) || nonce.length !== ENVELOPE_NONCE_BYTES) fail('BAD_ARGUMENT', 'nonce must be 24 bytes')
  const created = opts?.ts ?? Date.now()
  const expires = opts?.exp ?? created + DEFAULT_TTL_MS
  if (!Number.isSafeInteger(created) || !Number.isSafeInteger(expires) || created < 0) fail('BAD_ARGUMENT', 'ts and exp must be integers')
  // Lifetime bounds shared with posts (clock-free): OUT_OF_RANGE unless ts < exp <= ts + MAX_TTL_MS.
  checkLifetime(created, expires, MAX_TTL_MS, 'envelope')
  const rc = opts?.rc
  if (rc !== undefined && (!(rc instanceof Uint8Array) || rc.length !== RC_BYTES)) fail('BAD_ARGUMENT', `rc must be ${RC_BYTES} bytes`)
  const { ts, exp } = envelopeTimes(created, expires)
  const { bytes: header, split } = writeHeader({ topic, epoch: keys.epoch, ts, exp, nonce, rc })
  const overhead = envelopeOverhead(header)
  let bucket = 0
  for (const b of ENVELOPE_BUCKETS) if (bucket === 0 && b - overhead >= innerBytes + 1) bucket = b
  if (bucket === 0) fail('TOO_LARGE', `inner message of ${innerBytes} bytes does not fit the largest envelope`)
  const plaintext = new Uint8Array(bucket - overhead)
  let p = 0
  for (const part of parts) {
    plaintext.set(part, p)
    p += part.length
  }
  plaintext[p] = PAD_MARK

  const out = new Uint8Array(bucket)
  out[0] = rc === undefined ? 0xa9 : 0xaa
  out.set(ENV_START, 1)
  let n = 1 + ENV_START.length
  const ctBytes = plaintext.length + AEAD_TAG_BYTES // 256..65535 in every bucket: a 3-byte head
  out[n++] = 0x59
  out[n++] = ctBytes >>> 8
  out[n++] = ctBytes & 0xff
  const ct = out.subarray(n, n + ctBytes)
  aeadSeal(keys.contentKey, nonce, plaintext, header, ct)
  n += ctBytes
  // The header's fields after its prefix: [rc] ts exp, then (from `split`) epoch nonce topic.
  out.set(header.subarray(1 + HEADER_PREFIX.length, split), n)
  n += split - 1 - HEADER_PREFIX.length
  out.set(ENV_KEY_TAG, n)
  n += ENV_KEY_TAG.length
  out.set(membershipTag(keys.tagKey, [header, ct]), n)
  n += TAG_BYTES
  out.set(header.subarray(split), n)
  n += header.length - split
  if (n !== bucket) fail('IO', 'envelope padding miscounted') // a bug, never input
  return out
}

/**
 * Bytes of an envelope with this header that are not padded plaintext: the envelope's fields
 * beside the header's (its map head and keys, rc, ts, exp, epoch, nonce, topic are the
 * header's, byte for byte), the ciphertext's 3-byte length head (every bucket's ciphertext is
 * 256..65535 bytes) and the AEAD tag. A bucket of B bytes holds B - overhead bytes of
 * plaintext. Counted, not encoded: tests check it against an encoded envelope.
 */
function envelopeOverhead (header: Uint8Array): number {
  return header.length + ENVELOPE_BESIDE_HEADER + 3 + AEAD_TAG_BYTES
}

/**
 * An encoded envelope is its header's length plus this plus its ciphertext with that one's
 * length head: its domain "pl/env" is 7 bytes shorter than "pl/env-header", and it adds the
 * key "ct" (3) and "tag" with a 16-byte string (4 + 1 + 16).
 */
const ENVELOPE_BESIDE_HEADER = -7 + 3 + 21

/**
 * The inner message of a padded plaintext: strict, MALFORMED unless it is inner || 0x80 ||
 * zeros with fewer zeros than the step from the bucket below (so a smaller bucket would not
 * have held it), and the inner message is not empty.
 */
function unpad (plaintext: Uint8Array, envelopeBytes: number): Uint8Array {
  let i = plaintext.length - 1
  while (i >= 0 && plaintext[i] === 0) i--
  if (i < 1 || plaintext[i] !== PAD_MARK) fail('MALFORMED', 'envelope padding is not 0x80 then zeros')
  const index = ENVELOPE_BUCKETS.indexOf(envelopeBytes)
  const step = envelopeBytes - (index > 0 ? ENVELOPE_BUCKETS[index - 1]! : 0)
  if (index < 0 || plaintext.length - 1 - i >= step) fail('MALFORMED', 'envelope is padded past the smallest bucket that holds it')
  return plaintext.subarray(0, i)
}

/** Encodes envelope fields as they are (no crypto): the inverse of decodeEnvelope. */
export function encodeEnvelope (env: PrivateEnvelope): Uint8Array {
  return encodeStruct(ENVELOPE, { topic: env.topic, epoch: env.epoch, ts: env.ts, exp: env.exp, nonce: env.nonce, ct: env.ct, tag: env.tag, rc: env.rc })
}

/**
 * Strict decoding; needs no keys. Accepts exactly the bytes encodeEnvelope produces for
 * valid fields (the canonical encoding), throws PorchlightError otherwise.
 */
export function decodeEnvelope (bytes: Uint8Array): PrivateEnvelope {
  const env = (bytes instanceof Uint8Array && bytes.length <= MAX_ENVELOPE_BYTES ? readCanonicalEnvelope(bytes) : undefined) ??
    decodeEnvelopeGeneric(bytes)
  checkTopic(env.topic)
  checkLifetime(env.ts, env.exp, MAX_TTL_MS, 'envelope')
  if (env.ts % ENVELOPE_TIME_UNIT_MS !== 0 || env.exp % ENVELOPE_TIME_UNIT_MS !== 0) fail('OUT_OF_RANGE', 'envelope times must be whole minutes')
  if (!ENVELOPE_BUCKETS.includes(bytes.length)) fail('BAD_LENGTH', `an envelope is ${ENVELOPE_BUCKETS.join(', ')} bytes long, not ${bytes.length}`)
  return env
}

/** The generic strict decoder: the reference, and what gives every error its code. */
function decodeEnvelopeGeneric (bytes: Uint8Array): PrivateEnvelope {
  let f
  try {
    f = decodeStruct(ENVELOPE, bytes)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) fail('BAD_VERSION', `envelope from an older Porchlight (not version ${ENVELOPE_VERSION}: unpadded, exact times): not accepted`)
    throw err
  }
  const rc = f.optBytes('rc', { len: RC_BYTES })
  return {
    topic: f.string('topic', MAX_TOPIC_BYTES),
    epoch: f.uint('epoch', MAX_EPOCH),
    ts: f.uint('ts'),
    exp: f.uint('exp'),
    nonce: f.bytes('nonce', { len: ENVELOPE_NONCE_BYTES }),
    ct: f.bytes('ct', { min: AEAD_TAG_BYTES }),
    tag: f.bytes('tag', { len: TAG_BYTES }),
    ...(rc !== undefined ? { rc } : {})
  }
}

/**
 * The header bytes: AEAD associated data and start of the membership-tag input. Exactly
 * encodeStruct('pl/env-header' v2, { topic, epoch, ts, exp, nonce, rc? }), written directly
 * because every open and every relay check needs it (tests compare the two). Canonical key
 * order: t, v, rc, ts, exp, epoch, nonce, topic.
 */
export function envelopeHeader (env: Omit<PrivateEnvelope, 'ct' | 'tag'>): Uint8Array {
  return writeHeader(env).bytes
}

/** envelopeHeader, and where in it the key "epoch" starts (the envelope puts "tag" there). */
function writeHeader (env: Omit<PrivateEnvelope, 'ct' | 'tag'>): { bytes: Uint8Array, split: number } {
  // The checks keep the direct encoding exact: an ASCII topic, non-negative safe integers.
  checkTopic(env.topic)
  if (!uintOk(env.ts) || !uintOk(env.exp) || !uintOk(env.epoch)) fail('BAD_ARGUMENT', 'envelope times and epoch must be non-negative integers')
  if (env.nonce?.length !== ENVELOPE_NONCE_BYTES) fail('BAD_ARGUMENT', 'nonce must be 24 bytes')
  if (env.rc !== undefined && env.rc.length !== RC_BYTES) fail('BAD_ARGUMENT', `rc must be ${RC_BYTES} bytes`)
  const out = new Uint8Array(HEADER_MAX_BYTES)
  out[0] = env.rc === undefined ? 0xa7 : 0xa8
  out.set(HEADER_PREFIX, 1)
  let n = 1 + HEADER_PREFIX.length
  if (env.rc !== undefined) {
    out.set(KEY_RC, n)
    n += KEY_RC.length
    out.set(env.rc, n)
    n += RC_BYTES
  }
  out.set(KEY_TS, n)
  n = putHead(out, n + KEY_TS.length, 0, env.ts)
  out.set(KEY_EXP, n)
  n = putHead(out, n + KEY_EXP.length, 0, env.exp)
  const split = n
  out.set(KEY_EPOCH, n)
  n = putHead(out, n + KEY_EPOCH.length, 0, env.epoch)
  out.set(KEY_NONCE, n)
  n = putHead(out, n + KEY_NONCE.length, 2, ENVELOPE_NONCE_BYTES)
  out.set(env.nonce, n)
  n += ENVELOPE_NONCE_BYTES
  out.set(KEY_TOPIC, n)
  n = putHead(out, n + KEY_TOPIC.length, 3, env.topic.length)
  for (let i = 0; i < env.topic.length; i++) out[n++] = env.topic.charCodeAt(i)
  return { bytes: out.subarray(0, n), split }
}

const uintOk = (v: number): boolean => Number.isSafeInteger(v) && v >= 0

/** What a relay runs: does the membership tag verify under this epoch's tag key? */
export function checkEnvelopeTag (env: PrivateEnvelope, tagKey: Uint8Array): boolean {
  return checkMembershipTag(tagKey, [envelopeHeader(env), env.ct], env.tag)
}

/**
 * Decrypts an envelope with the keys of its epoch, checks its membership tag and strips the
 * padding. WRONG_TOPIC if `topic` is given and differs; DECRYPT_FAILED for keys of another
 * epoch or neighborhood, or tampered bytes; BAD_TAG if the ciphertext is genuine but the tag
 * is not; MALFORMED for padding that is not canonical.
 */
export function openEnvelope (env: PrivateEnvelope, keys: EpochKeys, topic?: string): Uint8Array {
  checkTopicIs(env.topic, topic, 'envelope')
  if (keys.epoch !== env.epoch) fail('DECRYPT_FAILED', 'keys are for another epoch')
  const header = envelopeHeader(env)
  const plaintext = aeadOpen(keys.contentKey, env.nonce, env.ct, header)
  if (!checkMembershipTag(keys.tagKey, [header, env.ct], env.tag)) fail('BAD_TAG', 'membership tag does not verify')
  return unpad(plaintext, encodedEnvelopeBytes(header, env.ct.length))
}

/** The encoded length of an envelope with this header and ciphertext length. */
function encodedEnvelopeBytes (header: Uint8Array, ctBytes: number): number {
  return envelopeOverhead(header) - 3 - AEAD_TAG_BYTES + ctBytes + (ctBytes < 24 ? 1 : ctBytes < 256 ? 2 : ctBytes < 65536 ? 3 : 5)
}

/** SHA-256 of the envelope bytes (32 bytes): post id, gossip message id and sync id. */
export function envelopeId (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}

/**
 * The domain ('t') of an inner message, for dispatching after openEnvelope (e.g. to
 * openSignedPost). Decodes the plaintext strictly; the chosen decoder decodes it again.
 */
export function innerDomain (bytes: Uint8Array): string {
  return peekDomain(bytes, MAX_ENVELOPE_BYTES)
}

/** Signs a post for `topic`: the inner 'pl/signed-post' bytes (not yet encrypted). */
export async function encodeSignedPost (author: Identity, topic: string, post: Post): Promise<Uint8Array> {
  return concatAll(await signPost(author, topic, post))
}

/**
 * Signs a post; returns its 'pl/signed-post' wrapper as parts to join, laid out directly (the
 * layout readCanonicalSignedPost reads; tests compare it with the generic encoder):
 *   a5 "t" "pl/signed-post" "v" 1 "sig" bytes(64) "post" bytes "author" bytes(32)
 */
async function signPost (author: Identity, topic: string, post: Post): Promise<Uint8Array[]> {
  checkTopic(topic)
  checkPostFields(post)
  const { signKey, name } = author.public
  const fields = postFields(post) // a fresh object: add to it rather than copy it
  fields.topic = topic
  fields.author = signKey
  fields.name = name
  const body = encodeStruct(POST_TBS, fields)
  const sig = await (await getCrypto()).ed25519Sign(author.seed, body)
  if (sig.length !== SIGNATURE_BYTES || signKey.length !== 32) fail('IO', 'signature or key of the wrong size') // a bug, never input
  const bodyHead = new Uint8Array(3)
  return [SIGNED_POST_START, sig, KEY_POST, bodyHead.subarray(0, putHead(bodyHead, 0, 2, body.length)), body, KEY_AUTHOR, signKey]
}

/** The signed 'pl/post' bytes as carried, the author key the signature is checked against, the signature. */
interface SignedParts { body: Uint8Array, author: Uint8Array, sig: Uint8Array }

interface SignedPost extends SignedParts {
  /** The rest of the checks: decodes the signed post; its author, topic, fields, clock, name. */
  read: () => { post: Post, authorName: string }
}

/**
 * Decodes an inner 'pl/signed-post' far enough to verify it (signed bytes, author key,
 * signature); `read()` decodes and checks the signed post, so it can run while the
 * signature verifies.
 */
function decodeSignedPost (inner: Uint8Array, topic: string, now: number): SignedPost {
  const { body, author, sig } = readCanonicalSignedPost(inner) ?? decodeSignedPostGeneric(inner)
  return {
    body,
    sig,
    author,
    read: () => {
      const f = decodeStruct(POST_TBS, body)
      // Verified against the outer key, so the signed post must name that same key.
      if (!equalBytes(f.bytes('author', { len: 32 }), author)) fail('BAD_SIGNATURE', 'post names another author than its signer')
      if (f.string('topic', MAX_TOPIC_BYTES) !== topic) fail('WRONG_TOPIC', 'post was signed for another topic')
      return { post: readPostFields(f, now), authorName: readAuthorName(f, 'name') }
    }
  }
}

function decodeSignedPostGeneric (inner: Uint8Array): SignedParts {
  const outer = decodeStruct(SIGNED_POST, inner)
  return {
    body: outer.bytes('post', { max: MAX_POST_TBS_BYTES }),
    author: outer.bytes('author', { len: 32 }),
    sig: outer.bytes('sig', { len: SIGNATURE_BYTES })
  }
}

/**
 * Decodes and verifies an inner 'pl/signed-post' for `topic` (the envelope's), e.g. after
 * openEnvelope and innerDomain: WRONG_TOPIC if it was signed for another topic, the codes of
 * checkPost, BAD_SIGNATURE. The post is decoded and checked while the signature verifies.
 */
export async function openSignedPost (inner: Uint8Array, topic: string, now: number): Promise<{ post: Post, author: Uint8Array, authorName: string }> {
  const signed = decodeSignedPost(inner, topic, now)
  const verifying = await startVerify(signed.author, signed.body, signed.sig)
  const { post, authorName } = signed.read()
  if (!await verifying.valid) fail('BAD_SIGNATURE', 'post signature does not verify')
  return { post, author: signed.author, authorName }
}

/** Signs, encrypts and tags a post (envelope ts/exp = envelopeTimes(created, expires)). `opts.nonce`: vectors/tests only; `opts.rc`: a retraction commitment. */
export async function sealPost (author: Identity, topic: string, keys: EpochKeys, post: Post, opts?: { nonce?: Uint8Array, rc?: Uint8Array }): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  const bytes = sealInner(keys, topic, await signPost(author, topic, post), { nonce: opts?.nonce, ts: post.created, exp: post.expires, ...(opts?.rc !== undefined ? { rc: opts.rc } : {}) })
  return { bytes, id: envelopeId(bytes) }
}

/**
 * Decodes, decrypts and verifies a private post. Resolves with the whole post or throws
 * PorchlightError, nothing partial; the first failure in this order gives the code:
 * decodeEnvelope's codes; WRONG_TOPIC (opts.topic); UNKNOWN_EPOCH (no keys from
 * `keysForEpoch`); DECRYPT_FAILED; the inner decoding's codes, BAD_SIGNATURE if the signed
 * post names another author, WRONG_TOPIC if it was signed for another topic, checkPost's
 * codes (FUTURE_DATED, EXPIRED, ...); OUT_OF_RANGE if the envelope's ts/exp are not
 * envelopeTimes of the post's created/expires; BAD_TAG; BAD_SIGNATURE. MALFORMED padding is
 * refused right after decryption.
 *
 * Same checks as openEnvelope + openSignedPost, ordered for speed: decode once, and decode
 * the post, hash the membership tag and the id while the signature verifies.
 */
export async function openPost (
  bytes: Uint8Array,
  keysForEpoch: (epoch: number) => EpochKeys | undefined,
  now: number,
  opts?: OpenOptions
): Promise<OpenedPost> {
  const env = decodeEnvelope(bytes)
  checkTopicIs(env.topic, opts?.topic, 'envelope')
  const keys = keysForEpoch(env.epoch)
  if (keys === undefined) fail('UNKNOWN_EPOCH', `no keys for epoch ${env.epoch}`)
  if (keys.epoch !== env.epoch) fail('DECRYPT_FAILED', 'keys are for another epoch')
  const header = envelopeHeader(env)
  const inner = unpad(aeadOpen(keys.contentKey, env.nonce, env.ct, header), bytes.length)
  const signed = decodeSignedPost(inner, env.topic, now)
  const verifying = await startVerify(signed.author, signed.body, signed.sig)
  const { post, authorName } = signed.read()
  const t = envelopeTimes(post.created, post.expires)
  const timesOk = t.ts === env.ts && t.exp === env.exp
  const tagOk = checkMembershipTag(keys.tagKey, [header, env.ct], env.tag)
  const id = envelopeId(bytes)
  const sigOk = await verifying.valid
  if (!timesOk) fail('OUT_OF_RANGE', 'envelope times do not match the post\'s')
  if (!tagOk) fail('BAD_TAG', 'membership tag does not verify')
  if (!sigOk) fail('BAD_SIGNATURE', 'post signature does not verify')
  return { id, topic: env.topic, epoch: env.epoch, post, author: signed.author, authorName }
}

// ---- Fixed layouts, read directly (the fast paths above; tests check they agree with the
// generic encoder and decoder on random and mutated inputs)

/**
 * Fast path of decodeEnvelope (every open and every relay check runs it): reads the one
 * canonical layout of a valid envelope directly, without the generic decoder's re-encoding.
 *   a9 "t" "pl/env" "v" 1 "ct" bytes "ts" uint "exp" uint "tag" bytes(16) "epoch" uint
 *   "nonce" bytes(24) "topic" text(ASCII)
 * with v = 2 (map keys sort by length, then bytewise); with a commitment, aa and
 * "rc" bytes(32) between "ct" and "ts". Anything else, including every invalid value,
 * returns undefined and the generic decoder decides; tests check that both always agree.
 */
function readCanonicalEnvelope (b: Uint8Array): PrivateEnvelope | undefined {
  const r = new CanonicalReader(b)
  const withRc = b[0] === 0xaa
  if (!withRc && b[0] !== 0xa9) return undefined
  r.skip(1)
  if (!r.lit(ENV_START)) return undefined
  const ct = r.take(r.head(2))
  if (ct === undefined || ct.length < AEAD_TAG_BYTES) return undefined
  let rc: Uint8Array | undefined
  if (withRc) {
    if (!r.lit(KEY_RC)) return undefined
    rc = r.take(RC_BYTES)
    if (rc === undefined) return undefined
  }
  if (!r.lit(ENV_KEY_TS)) return undefined
  const ts = r.head(0)
  if (ts < 0 || !r.lit(KEY_EXP)) return undefined
  const exp = r.head(0)
  if (exp < 0 || !r.lit(ENV_KEY_TAG)) return undefined
  const tag = r.take(TAG_BYTES)
  if (tag === undefined || !r.lit(KEY_EPOCH)) return undefined
  const epoch = r.head(0)
  if (epoch < 0 || epoch > MAX_EPOCH || !r.lit(ENV_KEY_NONCE)) return undefined
  const nonce = r.take(ENVELOPE_NONCE_BYTES)
  if (nonce === undefined || !r.lit(KEY_TOPIC)) return undefined
  const topic = r.ascii(r.head(3), MAX_TOPIC_BYTES)
  if (topic === undefined || !r.done()) return undefined
  return { topic, epoch, ts, exp, nonce, ct, tag, ...(rc !== undefined ? { rc } : {}) }
}

/**
 * Fast path, as for envelopes:
 *   a5 "t" "pl/signed-post" "v" 1 "sig" bytes(64) "post" bytes "author" bytes(32)
 * undefined for anything else (the generic decoder then decides).
 */
function readCanonicalSignedPost (inner: Uint8Array): SignedParts | undefined {
  if (inner.length > MAX_SIGNED_POST_BYTES) return undefined
  const r = new CanonicalReader(inner)
  if (!r.lit(SIGNED_POST_START)) return undefined
  const sig = r.take(SIGNATURE_BYTES)
  if (sig === undefined || !r.lit(KEY_POST)) return undefined
  const n = r.head(2)
  const body = n <= MAX_POST_TBS_BYTES ? r.take(n) : undefined
  if (body === undefined || !r.lit(KEY_AUTHOR)) return undefined
  const author = r.take(32)
  return author !== undefined && r.done() ? { body, author, sig } : undefined
}

/** After the map head (a7, or a8 with rc): "t" "pl/env-header" "v" 2 */
const HEADER_PREFIX = Uint8Array.from([0x61, ...ascii('t'), 0x6d, ...ascii('pl/env-header'), 0x61, ...ascii('v'), ENVELOPE_VERSION])
const KEY_TS = Uint8Array.from([0x62, ...ascii('ts')])
/** "rc" and the head of a 32-byte string. */
const KEY_RC = Uint8Array.from([0x62, ...ascii('rc'), 0x58, 0x20])
const KEY_EXP = Uint8Array.from([0x63, ...ascii('exp')])
const KEY_EPOCH = Uint8Array.from([0x65, ...ascii('epoch')])
const KEY_NONCE = Uint8Array.from([0x65, ...ascii('nonce')])
const KEY_TOPIC = Uint8Array.from([0x65, ...ascii('topic')])
/** Start, three 9-byte integers, three keys, 26-byte nonce, topic up to MAX_TOPIC_BYTES + 2, rc key and 34-byte rc. */
const HEADER_MAX_BYTES = 32 + 3 * 9 + 18 + 26 + 6 + MAX_TOPIC_BYTES + 2 + 3 + 34
/** a5 (map of 5) "t" "pl/signed-post" "v" 1 "sig" and the head of a 64-byte string. */
const SIGNED_POST_START = Uint8Array.from([0xa5, 0x61, ...ascii('t'), 0x6e, ...ascii(DOMAIN_SIGNED_POST), 0x61, ...ascii('v'), 0x01,
  0x63, ...ascii('sig'), 0x58, 0x40])
const KEY_POST = Uint8Array.from([0x64, ...ascii('post')])
/** "author" and the head of a 32-byte string. */
const KEY_AUTHOR = Uint8Array.from([0x66, ...ascii('author'), 0x58, 0x20])
/** After the map head (a9, or aa with rc): "t" "pl/env" "v" 2 "ct" */
const ENV_START = Uint8Array.from([0x61, ...ascii('t'), 0x66, ...ascii('pl/env'), 0x61, ...ascii('v'), ENVELOPE_VERSION, 0x62, ...ascii('ct')])
const ENV_KEY_TS = Uint8Array.from([0x62, ...ascii('ts')])
/** "tag" and the head of a 16-byte string. */
const ENV_KEY_TAG = Uint8Array.from([0x63, ...ascii('tag'), 0x50])
/** "nonce" and the head of a 24-byte string. */
const ENV_KEY_NONCE = Uint8Array.from([0x65, ...ascii('nonce'), 0x58, 0x18])
