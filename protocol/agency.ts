/**
 * Agencies (police, fire, city services): who vouches for them, what they ask, and how a
 * resident answers privately.
 *
 * Attestation 'pl/agency-attest' v1 (at most MAX_ATTESTATION_BYTES = 768):
 *   { ag: agency public identity ('pl/id' bytes), n: vouched name (1..64 bytes), a: area
 *     geohash (1..6), adm: admin sign key (32), iss: ms, exp: ms, sig: 64 }
 *   sig = the admin's signature over the same fields without sig, domain 'pl/agency-attest-body'.
 *   An admin of a neighborhood states "this key is <name>, serving <area>, until <exp>".
 *   Attestations are public. They name the admin's key but not the neighborhood (whose id
 *   and name stay private): a client trusts one when its signer is an admin of one of the
 *   client's own neighborhoods (isVouchedBy). Lifetime at most one year.
 *
 * Revocation 'pl/agency-revoke' v1 { att: SHA-256 of the attestation bytes (32), at: ms, by: admin
 *   sign key (32), sig: 64 }, sig = by's signature over the same fields plus the private topic
 *   ('pl/agency-revoke-body'). An admin withdraws an attestation (theirs or another admin's)
 *   inside the neighborhood's private envelope; members stop counting it in `vouchedBy`.
 *
 * Request for assistance 'pl/rfa' v1 (at most MAX_RFA_BYTES), published on areaTopic(area):
 *   { post (map, kind 'rfa'), area: geohash 1..6, ag: agency public identity ('pl/id' bytes),
 *     att: [attestation bytes] (0..4), sig: 64 }
 *   sig = the agency IDENTITY key's signature (not a pseudonym: every request is on the
 *   record) over 'pl/rfa-body' { ...post fields, area, ag, att }. The identity carries the
 *   agency's box key (bound by its identity signature), which is where sealed replies go.
 *   Attached attestations must name the same agency and be valid when the RFA was created.
 *   RFAs are public records: relays serving the area keep each one RFA_RECORD_MS (a year)
 *   after it was created, whatever its own expiry (openRfaRecord reads them after it).
 *
 * Sealed reply: seal.ts box (context 'pl/agency-reply') to the agency's X25519 key of
 *   'pl/agency-reply' v1 { rfa: RFA id (32), post (map), au?: author public identity, sig?: 64, pad?: zero bytes }
 *   Only the agency's box secret opens it; relays carrying it see a 48-byte-overhead blob.
 *   `pad` (all zeros, not signed: only the sealer can set it, inside the AEAD) lets the
 *   transport (sealed-reply.ts) give every box one of a few fixed sizes.
 *   The author's identity is in it only if the author chooses: then sig = author's signature
 *   over 'pl/agency-reply-body' { ...post fields, rfa, ab: agency box key, au }, so the reply
 *   is provably theirs and provably addressed to that agency. Without it the reply is
 *   anonymous at this layer (the transport that delivers it may still reveal a network address).
 */
import { fail } from './errors.ts'
import { decodeStruct, encodeStruct, equalBytes, type Fields, type StructSpec } from './encoding.ts'
import { sha256, SIGNATURE_BYTES } from './crypto.ts'
import { checkGeohash, checkPostArea, inArea, MAX_AREA_FIELD_BYTES, MAX_AREA_PRECISION } from './geohash.ts'
import {
  checkName, checkWireName, decodePublicIdentity, encodePublicIdentity, type Identity, MAX_NAME_BYTES, MAX_PUBLIC_ID_BYTES,
  type PublicIdentity, signStruct, verifyStruct
} from './identity.ts'
import { areaTopic, isAdmin, type Neighborhood } from './neighborhood.ts'
import { checkPostFields, createPost, type MediaRef, MAX_POST_BYTES, type Post, POST_ID_BYTES, POST_OPTIONAL, POST_REQUIRED, postFields, readPost } from './post.ts'
import { openSealed, sealTo, type SealOptions } from './seal.ts'
import { checkCurrent, checkLifetime, checkNotFuture, checkTimeArg, checkTtlArg, MAX_CLOCK_SKEW_MS } from './time.ts'

export const DOMAIN_ATTESTATION = 'pl/agency-attest'
export const DOMAIN_RFA = 'pl/rfa'
export const DOMAIN_AGENCY_REPLY = 'pl/agency-reply'
/** seal.ts context of replies sealed to an agency. */
export const AGENCY_REPLY_CONTEXT = 'pl/agency-reply'

export const DEFAULT_ATTESTATION_TTL_MS = 180 * 24 * 3600_000
export const MAX_ATTESTATION_TTL_MS = 366 * 24 * 3600_000
export const MAX_AGENCY_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS
export const MAX_ATTESTATION_BYTES = 768
export const MAX_RFA_ATTESTATIONS = 4
export const MAX_RFA_BYTES = MAX_POST_BYTES + MAX_RFA_ATTESTATIONS * (MAX_ATTESTATION_BYTES + 4) + 1024
export const MAX_AGENCY_REPLY_BYTES = MAX_POST_BYTES + 1024
/** How long relays keep an RFA as a public record, from its creation: a year (posts still expire). */
export const RFA_RECORD_MS = 365 * 24 * 3600_000

const ATTEST_FIELDS = ['ag', 'n', 'a', 'adm', 'iss', 'exp']
const ATTESTATION: StructSpec = { domain: DOMAIN_ATTESTATION, version: 1, required: [...ATTEST_FIELDS, 'sig'], maxBytes: MAX_ATTESTATION_BYTES }
const ATTESTATION_BODY: StructSpec = { domain: 'pl/agency-attest-body', version: 1, required: ATTEST_FIELDS, maxBytes: MAX_ATTESTATION_BYTES }

const POST_KEYS = ['kind', 'text', 'created', 'expires', 'media']
const POST_OPT = ['location', 'replyTo']
const RFA: StructSpec = { domain: DOMAIN_RFA, version: 1, required: ['post', 'area', 'ag', 'att', 'sig'], maxBytes: MAX_RFA_BYTES }
const RFA_BODY: StructSpec = { domain: 'pl/rfa-body', version: 1, required: [...POST_KEYS, 'area', 'ag', 'att'], optional: POST_OPT, maxBytes: MAX_RFA_BYTES }

const REPLY: StructSpec = { domain: DOMAIN_AGENCY_REPLY, version: 1, required: ['rfa', 'post'], optional: ['au', 'sig', 'pad'], maxBytes: MAX_AGENCY_REPLY_BYTES }
const REPLY_BODY: StructSpec = { domain: 'pl/agency-reply-body', version: 1, required: [...POST_KEYS, 'rfa', 'ab', 'au'], optional: POST_OPT, maxBytes: MAX_AGENCY_REPLY_BYTES }

// ---- attestations ----

export interface AgencyAttestation {
  readonly agency: PublicIdentity
  /** The name the admin vouches for, e.g. "Springfield Fire Dept." */
  readonly name: string
  /** Area the agency serves: geohash prefix, 1..6 characters. */
  readonly area: string
  /** The vouching admin's signing key (32 bytes). */
  readonly hoodAdmin: Uint8Array
  readonly issued: number
  readonly expires: number
  readonly sig: Uint8Array
  /** attestationId: SHA-256 of the attestation bytes (what a revocation names). */
  readonly id: Uint8Array
}

export interface AttestationOptions {
  /** Vouched name; default the agency identity's own name. */
  name?: string
  /** Default 180 days, at most 366. */
  ttlMs?: number
  /** When given, the admin must be one of its admins (NOT_ADMIN). */
  hood?: Neighborhood
}

function attestationFields (a: Omit<AgencyAttestation, 'sig' | 'id'>): Record<string, unknown> {
  return { ag: encodePublicIdentity(a.agency), n: a.name, a: a.area, adm: a.hoodAdmin, iss: a.issued, exp: a.expires }
}

/** An admin vouches for an agency key, name and area. Returns the attestation bytes. */
export async function createAttestation (
  admin: Identity, agencyPublic: PublicIdentity, area: string, now: number, opts: AttestationOptions = {}
): Promise<Uint8Array> {
  checkTimeArg(now, 'now')
  checkGeohash(area, MAX_AREA_PRECISION, 'attestation area')
  const ttl = opts.ttlMs ?? DEFAULT_ATTESTATION_TTL_MS
  checkTtlArg(ttl, MAX_ATTESTATION_TTL_MS)
  if (opts.hood !== undefined && !isAdmin(opts.hood, admin.public.signKey)) fail('NOT_ADMIN', 'only an admin can vouch for an agency')
  const att = { agency: agencyPublic, name: checkName(opts.name ?? agencyPublic.name), area, hoodAdmin: admin.public.signKey, issued: now, expires: now + ttl }
  const fields = attestationFields(att)
  const sig = await signStruct(admin.seed, ATTESTATION_BODY, fields)
  return encodeStruct(ATTESTATION, { ...fields, sig })
}

function checkWindow (issued: number, expires: number, at: number): void {
  checkLifetime(issued, expires, MAX_ATTESTATION_TTL_MS, 'attestation')
  checkCurrent(issued, expires, at, 'attestation')
}

/**
 * Decodes and verifies an attestation at time `now`: the agency's identity binding, the
 * admin's signature (BAD_SIGNATURE), its lifetime (OUT_OF_RANGE), FUTURE_DATED, EXPIRED.
 * Whether the admin is one the reader trusts is the reader's question: isVouchedBy.
 */
export async function verifyAttestation (bytes: Uint8Array, now: number): Promise<AgencyAttestation> {
  const f = decodeStruct(ATTESTATION, bytes)
  const ag = f.bytes('ag', { max: MAX_PUBLIC_ID_BYTES })
  const name = f.string('n', MAX_NAME_BYTES, 1)
  const area = checkGeohash(f.string('a', MAX_AREA_FIELD_BYTES, 1), MAX_AREA_PRECISION, 'attestation area')
  const hoodAdmin = f.bytes('adm', { len: 32 })
  const issued = f.uint('iss')
  const expires = f.uint('exp')
  const sig = f.bytes('sig', { len: SIGNATURE_BYTES })
  checkWireName(name, 'attestation')
  const agency = await decodePublicIdentity(ag)
  await verifyStruct(hoodAdmin, ATTESTATION_BODY, { ag, n: name, a: area, adm: hoodAdmin, iss: issued, exp: expires }, sig, 'agency attestation')
  checkWindow(issued, expires, now)
  return { agency, name, area, hoodAdmin, issued, expires, sig, id: sha256(bytes) }
}

/** When an attestation was issued (decoded strictly, nothing verified): to check an expired one as of then. */
export function attestationIssued (bytes: Uint8Array): number {
  return decodeStruct(ATTESTATION, bytes).uint('iss')
}

/** Is the attestation signed by an admin of `hood`? */
export function isVouchedBy (att: AgencyAttestation, hood: Neighborhood): boolean {
  return isAdmin(hood, att.hoodAdmin)
}

/** The id a revocation names: SHA-256 of the attestation bytes. */
export function attestationId (bytes: Uint8Array): Uint8Array {
  return sha256(bytes)
}


export const DOMAIN_REVOCATION = 'pl/agency-revoke'
const REVOKE: StructSpec = { domain: DOMAIN_REVOCATION, version: 1, required: ['att', 'at', 'by', 'sig'], maxBytes: 192 }
const REVOKE_BODY: StructSpec = { domain: 'pl/agency-revoke-body', version: 1, required: ['att', 'tp', 'at', 'by'], maxBytes: 256 }

export interface Revocation {
  /** attestationId of the withdrawn attestation. */
  readonly attestation: Uint8Array
  readonly at: number
  /** The revoking admin's key; readers check it is an admin of their neighborhood. */
  readonly by: Uint8Array
}

/** An admin withdraws an attestation (NOT_ADMIN unless an admin of `hood`); seal the bytes into the private envelope of `topic`. */
export async function createRevocation (admin: Identity, hood: Neighborhood, topic: string, attestation: Uint8Array, now: number): Promise<Uint8Array> {
  checkTimeArg(now, 'now')
  if (!isAdmin(hood, admin.public.signKey)) fail('NOT_ADMIN', 'only an admin can revoke an attestation')
  const fields = { att: attestationId(attestation), at: now, by: admin.public.signKey }
  const sig = await signStruct(admin.seed, REVOKE_BODY, { ...fields, tp: topic })
  return encodeStruct(REVOKE, { ...fields, sig })
}

/** Decodes and verifies a revocation seen on `topic` (not whether `by` is an admin: the caller's). */
export async function openRevocation (bytes: Uint8Array, topic: string, now: number): Promise<Revocation> {
  const f = decodeStruct(REVOKE, bytes)
  const att = f.bytes('att', { len: 32 })
  const at = f.uint('at')
  const by = f.bytes('by', { len: 32 })
  await verifyStruct(by, REVOKE_BODY, { att, tp: topic, at, by }, f.bytes('sig', { len: SIGNATURE_BYTES }), 'revocation')
  if (at > now + MAX_AGENCY_CLOCK_SKEW_MS) fail('FUTURE_DATED', 'revocation is dated in the future')
  return { attestation: att, at, by }
}

/** Does the attestation's area contain `area` (e.g. the area of an RFA)? */
export function attestationCovers (att: AgencyAttestation, area: string): boolean {
  return inArea(area, att.area)
}

// ---- requests for assistance ----

export interface RfaOptions {
  /** Geohash inside `area` (1..8 characters). */
  location?: string
  media?: MediaRef[]
  /** Attestation bytes for this agency, at most 4, shown to residents with the request. */
  attestations?: readonly Uint8Array[]
}

export interface OpenedRfa {
  /** SHA-256 of the RFA bytes (32): what replies name. */
  id: Uint8Array
  area: string
  /** areaTopic(area). */
  topic: string
  post: Post
  /** The agency's identity: its signing key signed the request, its box key takes sealed replies. */
  agency: PublicIdentity
  /** Attached attestations, verified at the request's creation time; they may have expired since. */
  attestations: AgencyAttestation[]
}

/** The fields the agency signs under RFA_BODY. */
function rfaBody (post: Post, area: string, ag: Uint8Array, att: readonly Uint8Array[]): Record<string, unknown> {
  return { ...postFields(post), area, ag, att: [...att] }
}

async function readAttestations (
  att: readonly Uint8Array[], agency: PublicIdentity, created: number, code: 'BAD_ARGUMENT' | 'OUT_OF_RANGE'
): Promise<AgencyAttestation[]> {
  const out: AgencyAttestation[] = []
  for (const bytes of att) {
    const a = await verifyAttestation(bytes, created)
    if (!equalBytes(a.agency.signKey, agency.signKey)) fail(code, 'attestation is for another agency')
    out.push(a)
  }
  return out
}

/** A request for assistance, signed by the agency's identity key, for areaTopic(area). */
export async function sealRfa (
  agency: Identity, area: string, text: string, now: number, ttlMs?: number, opts: RfaOptions = {}
): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  const post = createPost({
    kind: 'rfa', text, now, ...(ttlMs !== undefined ? { ttlMs } : {}),
    ...(opts.location !== undefined ? { location: opts.location } : {}),
    ...(opts.media !== undefined ? { media: opts.media } : {})
  })
  checkPostArea(area, post.location, 'rfa')
  const att = [...(opts.attestations ?? [])]
  if (att.length > MAX_RFA_ATTESTATIONS) fail('TOO_LARGE', `at most ${MAX_RFA_ATTESTATIONS} attestations`)
  await readAttestations(att, agency.public, now, 'BAD_ARGUMENT')
  const ag = encodePublicIdentity(agency.public)
  const sig = await signStruct(agency.seed, RFA_BODY, rfaBody(post, area, ag, att))
  const bytes = encodeStruct(RFA, { post: postFields(post), area, ag, att, sig })
  return { bytes, id: sha256(bytes) }
}

/**
 * Decodes and verifies an RFA at `now`: post bounds and times, kind 'rfa', location inside
 * the area (BAD_GEOHASH), the agency's identity binding and signature (BAD_SIGNATURE), and
 * each attestation (signature, same agency, valid at the post's creation time).
 */
export async function openRfa (bytes: Uint8Array, now: number): Promise<OpenedRfa> {
  const f = decodeStruct(RFA, bytes)
  const area = f.string('area', MAX_AREA_FIELD_BYTES, 1)
  const ag = f.bytes('ag', { max: MAX_PUBLIC_ID_BYTES })
  const att = f.array('att', MAX_RFA_ATTESTATIONS, item => item.bytes({ max: MAX_ATTESTATION_BYTES, min: 1 }))
  const sig = f.bytes('sig', { len: SIGNATURE_BYTES })
  const post = readPost(f, 'post', now)
  if (post.kind !== 'rfa') fail('OUT_OF_RANGE', 'a request for assistance has kind "rfa"')
  checkPostArea(area, post.location, 'rfa')
  const agency = await decodePublicIdentity(ag)
  await verifyStruct(agency.signKey, RFA_BODY, rfaBody(post, area, ag, att), sig, 'request')
  const attestations = await readAttestations(att, agency, post.created, 'OUT_OF_RANGE')
  return { id: sha256(bytes), area, topic: areaTopic(area), post, agency, attestations }
}

/**
 * Reads an RFA from the public record at `now`: verified as openRfa does, as of its creation
 * (the post and its attestations were valid then), though the post itself may have expired
 * since. FUTURE_DATED past the clock skew; EXPIRED once RFA_RECORD_MS after its creation.
 */
export async function openRfaRecord (bytes: Uint8Array, now: number): Promise<OpenedRfa> {
  checkTimeArg(now, 'now')
  const created = decodeStruct(RFA, bytes).record('post', POST_REQUIRED, POST_OPTIONAL).uint('created')
  checkNotFuture(created, now, 'request')
  if (now >= created + RFA_RECORD_MS) fail('EXPIRED', 'request is older than the public record keeps')
  return await openRfa(bytes, created)
}

/**
 * The signing key of the agency that signed a stored RFA (decoded strictly; its identity
 * binding verified; the request's own signature and times are not: it was verified on arrival).
 */
export async function rfaAgencyKey (bytes: Uint8Array): Promise<Uint8Array> {
  const ag = decodeStruct(RFA, bytes).bytes('ag', { max: MAX_PUBLIC_ID_BYTES })
  return (await decodePublicIdentity(ag)).signKey
}

// ---- sealed replies ----

export interface AgencyReply {
  /** Id of the RFA answered (32 bytes). */
  rfaId: Uint8Array
  post: Post
  /** Present only if the author chose to identify themselves (signature verified). */
  author?: PublicIdentity
}

/** The fields an identified author signs under REPLY_BODY. */
function replyBody (post: Post, rfa: Uint8Array, agencyBoxKey: Uint8Array, au: Uint8Array): Record<string, unknown> {
  return { ...postFields(post), rfa, ab: agencyBoxKey, au }
}

function checkReplyTarget (post: Post, rfaId: Uint8Array): void {
  if (post.replyTo !== undefined && !equalBytes(post.replyTo, rfaId)) fail('BAD_ARGUMENT', 'post replies to another post than the request')
}

export interface ReplySealOptions extends SealOptions {
  /**
   * Pad the sealed plaintext to exactly this many bytes with a zero `pad` field (TOO_LARGE if
   * the reply does not fit). @default no padding
   */
  plaintextBytes?: number
}

/** Bytes a `pad` field of `n` zero bytes adds to a struct: key "pad" (4) + byte string head + n. */
function padFieldBytes (n: number): number {
  return 4 + (n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5) + n
}

/** The zero pad that makes `fields` encode to exactly `target` bytes, if one does. */
function padFor (fields: Record<string, unknown>, target: number): Uint8Array {
  const bare = encodeStruct(REPLY, fields as never).length
  // The head of a byte string grows with its length: try each head size.
  for (const head of [1, 2, 3]) {
    const n = target - bare - 4 - head
    if (n >= 0 && padFieldBytes(n) === target - bare) return new Uint8Array(n)
  }
  fail('TOO_LARGE', `the reply (${bare} bytes) does not pad to ${target} bytes`)
}

/**
 * Seals a reply to an RFA for the agency's box key (from OpenedRfa.agency.boxKey). With
 * `author` = null the reply carries no identity; otherwise the author's identity and signature.
 */
export async function sealReplyToAgency (
  author: Identity | null, agencyBoxKey: Uint8Array, rfaId: Uint8Array, post: Post, opts: ReplySealOptions = {}
): Promise<Uint8Array> {
  if (!(rfaId instanceof Uint8Array) || rfaId.length !== POST_ID_BYTES) fail('BAD_ARGUMENT', 'rfa id must be 32 bytes')
  if (!(agencyBoxKey instanceof Uint8Array) || agencyBoxKey.length !== 32) fail('BAD_ARGUMENT', 'agency box key must be 32 bytes')
  checkPostFields(post)
  checkReplyTarget(post, rfaId)
  let fields: Record<string, unknown> = { rfa: rfaId, post: postFields(post) }
  if (author !== null) {
    const au = encodePublicIdentity(author.public)
    const sig = await signStruct(author.seed, REPLY_BODY, replyBody(post, rfaId, agencyBoxKey, au))
    fields = { ...fields, au, sig }
  }
  if (opts.plaintextBytes !== undefined) fields = { ...fields, pad: padFor(fields, opts.plaintextBytes) }
  const { plaintextBytes: _, ...seal } = opts
  return sealTo(agencyBoxKey, encodeStruct(REPLY, fields as never), AGENCY_REPLY_CONTEXT, seal)
}

function readReply (f: Fields, now: number): { rfa: Uint8Array, post: Post, au?: Uint8Array, sig?: Uint8Array } {
  const rfa = f.bytes('rfa', { len: POST_ID_BYTES })
  const au = f.optBytes('au', { max: MAX_PUBLIC_ID_BYTES })
  const sig = f.optBytes('sig', { len: SIGNATURE_BYTES })
  if ((au === undefined) !== (sig === undefined)) fail('MISSING_FIELD', 'author and signature come together')
  const pad = f.optBytes('pad', { max: MAX_AGENCY_REPLY_BYTES })
  if (pad !== undefined && pad.some(b => b !== 0)) fail('MALFORMED', 'reply padding is not zeros')
  const post = readPost(f, 'post', now)
  checkReplyTarget(post, rfa)
  return { rfa, post, ...(au !== undefined ? { au } : {}), ...(sig !== undefined ? { sig } : {}) }
}

/** Agency side: opens a sealed reply (DECRYPT_FAILED unless sealed to this agency) and verifies it. */
export async function openReplyToAgency (agency: Identity, sealed: Uint8Array, now: number): Promise<AgencyReply> {
  const plain = await openSealed(agency.boxSecret, sealed, AGENCY_REPLY_CONTEXT)
  const r = readReply(decodeStruct(REPLY, plain), now)
  if (r.au === undefined || r.sig === undefined) return { rfaId: r.rfa, post: r.post }
  const author = await decodePublicIdentity(r.au)
  await verifyStruct(author.signKey, REPLY_BODY, replyBody(r.post, r.rfa, agency.public.boxKey, r.au), r.sig, 'reply')
  return { rfaId: r.rfa, post: r.post, author }
}
