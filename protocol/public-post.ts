/**
 * Public posts: a post the author chose to share with an area's public channel, signed but
 * not encrypted. Agencies and anyone else subscribed to `/porchlight/1/area/<area>` read them.
 *
 * Wire struct 'pl/public-post' v2 (at most MAX_PUBLIC_POST_BYTES):
 *   { post (map), area: geohash 1..6, pk: Ed25519 key 32, name?: string, sig: 64 bytes, pow: 8 bytes, rc?: 32 bytes }
 * sig = Ed25519(pk, body), body = encodeStruct('pl/public-post-body' v1 { ...post fields, area, pk, name?, rc? })
 * rc  = the retraction commitment (retract.ts), optional (a post without one cannot be
 *   retracted). It is signed and under the proof of work, so nobody can re-issue someone's
 *   post with a commitment of their own (and another id). Fresh per post, independent of the
 *   private copy's: it links neither to the member nor to the private copy.
 * pow = a nonce such that pow.ts's work hash over SHA-256(body || sig) has at least
 *   PUBLIC_POST_POW_BITS leading zero bits (WEAK_PROOF otherwise). It is checked before the
 *   signature: one hash turns junk away before a verify. Anyone may write to an area, and a
 *   flood of posts under fresh pseudonyms pays this for every post.
 *
 * Format history: v1 had no `pow`; a v1 post is refused with BAD_VERSION and a message that
 * says why (its author's Porchlight must re-post it). RFAs (agency.ts) carry no proof of work:
 * see PUBLIC_POST_POW_BITS.
 *
 * pk is the author's pseudonym for that area (identity.areaKey: HKDF of the identity seed),
 * so a public post links neither to the author's identity key, nor to their private posts,
 * nor to their public posts in other areas. The name is there only if the author opts in.
 * The area is signed: a post signed for one area never verifies in another, and its location
 * must lie inside the area. Agencies sign RFAs with their identity key instead (sealPublicPostAs).
 */
import { fail, isPorchlightError } from './errors.ts'
import { type CborValue, concatBytes, decodeStruct, encodeStruct, type Fields, type StructSpec } from './encoding.ts'
import { sha256, SIGNATURE_BYTES } from './crypto.ts'
import { checkProof, mineProof, POW_NONCE_BYTES } from './pow.ts'
import { checkPostArea, MAX_AREA_FIELD_BYTES } from './geohash.ts'
import { areaKey, checkName, type Identity, signStruct, startVerify } from './identity.ts'
import { areaTopic } from './neighborhood.ts'
import { checkPostFields, MAX_POST_BYTES, type Post, POST_ID_BYTES, POST_OPTIONAL, POST_REQUIRED, postFields, readOptAuthorName, readPost } from './post.ts'

export const MAX_PUBLIC_POST_BYTES = MAX_POST_BYTES + 512
export const DOMAIN_PUBLIC_POST = 'pl/public-post'
/**
 * Proof-of-work difficulty of a public post (pow.ts): leading zero bits, so 2^16 = 65,536
 * attempts expected. Measured (test/bench/pow-bench.ts, headless Chromium 156 on this project's
 * 2-core machine, loaded): the one-block JS miner ran 0.5-1.0 M attempts/s, so a proof costs
 * ~65-130 ms expected here and, for a phone 4-8x slower at JavaScript, ~0.3-1 s (the attempts
 * needed are geometric: 1 in 20 posts takes 3x the mean). 17 bits would double that. A flood
 * pays it per post: 82,000 posts are 5.4e9 hashes, ~1.5 h of one core in JS, minutes with
 * native SHA-256 and far less on a GPU, so the proof is a toll, and the relay's limits per
 * address (node/relay/ip-limits.ts) are what bound a flood. RFAs carry none: an RFA is signed with the
 * agency's long-term identity key, every request is on the record, and agencies post a few a
 * day; they meet the same limits per address at relays. (A relay cannot tell a real agency
 * from a key anyone made, so if RFAs became the cheaper flood, they would need a proof too.)
 */
export const PUBLIC_POST_POW_BITS = 16

export const PUBLIC_POST_VERSION = 2
const PUBLIC_POST: StructSpec = {
  domain: DOMAIN_PUBLIC_POST, version: PUBLIC_POST_VERSION, required: ['post', 'area', 'pk', 'sig', 'pow'], optional: ['name', 'rc'], maxBytes: MAX_PUBLIC_POST_BYTES
}
/** What the signer signs; a different domain from the container and from private posts ('pl/post'). */
const PUBLIC_TBS: StructSpec = {
  domain: 'pl/public-post-body',
  version: 1,
  required: ['kind', 'text', 'created', 'expires', 'media', 'area', 'pk'],
  optional: ['location', 'replyTo', 'name', 'rc'],
  maxBytes: MAX_PUBLIC_POST_BYTES
}

export interface OpenedPublicPost {
  /** SHA-256 of the public post bytes, 32 bytes. */
  id: Uint8Array
  area: string
  /** areaTopic(area). */
  topic: string
  post: Post
  /** The signing key: the author's area pseudonym (or an agency's identity key for RFAs). */
  pseudonym: Uint8Array
  /** Present only if the author chose to show it. */
  name?: string
  /** The retraction commitment, if the post carries one (retract.ts). */
  rc?: Uint8Array
}

/** An Ed25519 signer: 32-byte seed and its 32-byte public key. */
export interface PublicSigner {
  seed: Uint8Array
  publicKey: Uint8Array
}

/** The fields the signer signs under PUBLIC_TBS. */
function signedFields (post: Post, area: string, pk: Uint8Array, name: string | undefined, rc: Uint8Array | undefined): Record<string, CborValue | undefined> {
  return { ...postFields(post), area, pk, name, rc }
}

export interface SealPublicOptions {
  /** Proof-of-work difficulty to mine; below PUBLIC_POST_POW_BITS only tests' openers take it. @default PUBLIC_POST_POW_BITS */
  powBits?: number
  /** Stops the proof-of-work search (the post is not sealed). */
  signal?: AbortSignal
  /** Retraction commitment to carry (retract.ts: retractCommitment of a fresh secret the caller keeps). */
  rc?: Uint8Array
}

/** What the proof of work pays for: the signed body and the signature (32 bytes). */
function powDigest (body: Uint8Array, sig: Uint8Array): Uint8Array {
  return sha256(concatBytes(body, sig))
}

/**
 * Signs a post for `area` with the author's pseudonym for that area (the name only if
 * `showName`), and mines its proof of work: ~65,000 SHA-256 on average, yielding to the
 * event loop as it goes.
 */
export async function sealPublicPost (
  author: Identity, area: string, post: Post, opts?: { showName?: boolean } & SealPublicOptions
): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  checkPostArea(area, post.location, 'public post')
  const key = await areaKey(author, area)
  return sealPublicPostAs({ seed: key.seed, publicKey: key.publicKey }, area, post, opts?.showName === true ? author.public.name : undefined, opts)
}

/**
 * Signs a public post with a given key: for agencies (RFAs are signed with the agency's
 * identity key, see agency.ts) and for sealPublicPost. `name` is shown if given.
 */
export async function sealPublicPostAs (
  signer: PublicSigner, area: string, post: Post, name?: string, opts: SealPublicOptions = {}
): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  checkPostFields(post)
  checkPostArea(area, post.location, 'public post')
  if (name !== undefined && checkName(name) !== name) fail('BAD_ARGUMENT', 'name must be trimmed')
  const pk = signer.publicKey
  if (opts.rc !== undefined && (!(opts.rc instanceof Uint8Array) || opts.rc.length !== 32)) fail('BAD_ARGUMENT', 'rc must be 32 bytes')
  const fields = signedFields(post, area, pk, name, opts.rc)
  const sig = await signStruct(signer.seed, PUBLIC_TBS, fields)
  const pow = await mineProof(powDigest(encodeStruct(PUBLIC_TBS, fields), sig), opts.powBits ?? PUBLIC_POST_POW_BITS, opts.signal !== undefined ? { signal: opts.signal } : {})
  const bytes = encodeStruct(PUBLIC_POST, { post: postFields(post), area, pk, name, sig, pow, rc: opts.rc })
  return { bytes, id: sha256(bytes) }
}

function decodePublicPost (bytes: Uint8Array): Fields {
  try {
    return decodeStruct(PUBLIC_POST, bytes)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) {
      fail('BAD_VERSION', `a public post in an older format (this version reads format ${PUBLIC_POST_VERSION}, ` +
        'which carries a proof of work): its author must post it again from an updated Porchlight')
    }
    throw err
  }
}

/**
 * Decodes, validates (against `now`) and verifies a public post: its proof of work (WEAK_PROOF
 * below `minPowBits`, checked before the signature), then the signature. `minPowBits` is for
 * tests that seal with less work.
 */
export async function openPublicPost (bytes: Uint8Array, now: number, minPowBits = PUBLIC_POST_POW_BITS): Promise<OpenedPublicPost> {
  const f = decodePublicPost(bytes)
  const area = f.string('area', MAX_AREA_FIELD_BYTES, 1)
  const pk = f.bytes('pk', { len: 32 })
  const name = readOptAuthorName(f, 'name')
  const sig = f.bytes('sig', { len: SIGNATURE_BYTES })
  const pow = f.bytes('pow', { len: POW_NONCE_BYTES })
  const rc = f.optBytes('rc', { len: 32 })
  const post = readPost(f, 'post', now)
  checkPostArea(area, post.location, 'public post')
  const body = encodeStruct(PUBLIC_TBS, signedFields(post, area, pk, name, rc))
  checkProof(powDigest(body, sig), pow, minPowBits, 'public post')
  // Hash the id while the signature verifies (startVerify: a rejection counts as false).
  const verifying = await startVerify(pk, body, sig)
  const opened: OpenedPublicPost = { id: sha256(bytes), area, topic: areaTopic(area), post, pseudonym: pk }
  if (name !== undefined) opened.name = name
  if (rc !== undefined) opened.rc = rc
  if (!await verifying.valid) fail('BAD_SIGNATURE', 'public post signature does not verify')
  return opened
}

/**
 * The retraction commitment of a public post (stored, so verified on arrival), read without
 * the clock or the signature: undefined if it carries none. Strict decoding of the container.
 */
export function publicPostCommitment (bytes: Uint8Array): Uint8Array | undefined {
  return decodePublicPost(bytes).optBytes('rc', { len: 32 })
}

/**
 * The post a stored public post replies to (its replyTo), read without the clock or the
 * signature: undefined if it replies to none. Strict decoding of the container and the post.
 */
export function publicPostReplyTo (bytes: Uint8Array): Uint8Array | undefined {
  return decodePublicPost(bytes).record('post', POST_REQUIRED, POST_OPTIONAL).optBytes('replyTo', { len: POST_ID_BYTES })
}
