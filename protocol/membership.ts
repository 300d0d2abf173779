/**
 * Membership announcements: signed inner messages that the caller seals into the
 * neighborhood's private envelope (envelope.ts), so only members ever see who joined or left.
 *
 *   'pl/join'  v2 { m: member's public identity ('pl/id' bytes, <= 512), at: ms, via?: inviter sign key (32),
 *                   adm?: { by: admin sign key (32), e: epoch, x: expiry, k: invite key (32), sig: 64,
 *                           use: 64 } (the admission of an admin's invite, invite.ts; `use` is the
 *                           invite key's signature over 'pl/admission-use' { m: member sign key,
 *                           tp, at }: only a holder of the invite can quote it, for themselves),
 *                   sig: 64 }
 *   'pl/admit' v1 { m: member's public identity, at: ms, by: admin sign key (32), sig: 64 }
 *                   an admin approves a member who joined from a member's invite
 *   'pl/leave' v1 { m: member's sign key (32), at: ms, sig: 64 }
 *   'pl/roster' v1 { m: [member public identity] (1..ROSTER_CHUNK), at: ms, by: admin sign key (32), sig: 64 }
 *                   an admin's list of admitted members, sent after each rekey and approval, so a
 *                   newcomer (or a new admin) who cannot read the epochs before theirs still
 *                   knows everyone the next rekey must be sealed to
 *
 * Each signature is the signer's (the member's; the admin's for 'pl/admit') over the same
 * fields plus the private topic (domains 'pl/join-body', 'pl/admit-body', 'pl/leave-body'),
 * so an announcement cannot be replayed into another neighborhood. A join is at most
 * MAX_JOIN_BYTES (about 530 bytes with an admission and an inviter).
 *
 * Who goes on the list the next rekey is sealed to (the admitted members): a joiner whose
 * admission verifies against the neighborhood's admins and names the epoch the join is
 * sealed in (so an invite from before a removal admits nobody), or a member an admin
 * approved. A join without either is "pending": the member can read the epoch it was
 * invited to, and no further. The caller checks admissions (verifyAdmission) since that
 * needs the neighborhood.
 *
 * A leave stops the leaver's own client at once; cutting the keys takes an admin's rekey.
 */
import { fail } from './errors.ts'
import { type CborValue, decodeCbor, decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import {
  decodePublicIdentity, encodePublicIdentity, type Identity, MAX_PUBLIC_ID_BYTES, type PublicIdentity, signStruct, verifyStruct
} from './identity.ts'
import { checkPrivateTopic, MAX_EPOCH } from './neighborhood.ts'
import type { Admission } from './invite.ts'
import { checkNotFuture, checkTimeArg, MAX_CLOCK_SKEW_MS } from './time.ts'

export const MAX_JOIN_BYTES = 1024
export const MAX_LEAVE_BYTES = 192
export const MAX_MEMBERSHIP_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS

export const JOIN_DOMAIN = 'pl/join'
export const LEAVE_DOMAIN = 'pl/leave'
export const ADMIT_DOMAIN = 'pl/admit'
export const ROSTER_DOMAIN = 'pl/roster'
/** Members per roster message: 200 identities (~170 bytes each) stay well inside one envelope. */
export const ROSTER_CHUNK = 200
export const MAX_ROSTER_BYTES = 48 * 1024

const JOIN: StructSpec = { domain: JOIN_DOMAIN, version: 2, required: ['m', 'at', 'sig'], optional: ['via', 'adm'], maxBytes: MAX_JOIN_BYTES }
const JOIN_BODY: StructSpec = { domain: 'pl/join-body', version: 2, required: ['m', 'tp', 'at'], optional: ['via', 'adm'], maxBytes: MAX_JOIN_BYTES }
const ADMIT: StructSpec = { domain: ADMIT_DOMAIN, version: 1, required: ['m', 'at', 'by', 'sig'], maxBytes: MAX_JOIN_BYTES }
const ADMIT_BODY: StructSpec = { domain: 'pl/admit-body', version: 1, required: ['m', 'tp', 'at', 'by'], maxBytes: MAX_JOIN_BYTES }
const ROSTER: StructSpec = { domain: ROSTER_DOMAIN, version: 1, required: ['m', 'at', 'by', 'sig'], maxBytes: MAX_ROSTER_BYTES }
const ROSTER_BODY: StructSpec = { domain: 'pl/roster-body', version: 1, required: ['m', 'tp', 'at', 'by'], maxBytes: MAX_ROSTER_BYTES }
const LEAVE: StructSpec = { domain: LEAVE_DOMAIN, version: 1, required: ['m', 'at', 'sig'], maxBytes: MAX_LEAVE_BYTES }
const LEAVE_BODY: StructSpec = { domain: 'pl/leave-body', version: 1, required: ['m', 'tp', 'at'], maxBytes: MAX_LEAVE_BYTES }

export interface Join {
  readonly member: PublicIdentity
  readonly at: number
  /** Signing key of whoever invited the member, if the member says. */
  readonly via?: Uint8Array
  /** The admission of an admin's invite, unverified (the caller checks it against the admins). */
  readonly admission?: Admission
}

/** An admin's approval of a member (who joined from a member's invite). */
export interface Admit {
  readonly member: PublicIdentity
  readonly at: number
  /** The approving admin's sign key; the caller checks it is an admin. */
  readonly by: Uint8Array
}

export interface Leave {
  /** The leaving member's signing key (32 bytes). */
  readonly member: Uint8Array
  readonly at: number
}

function checkTopic (topic: string): void {
  checkPrivateTopic(topic, 'BAD_ARGUMENT', 'membership announcements belong to a private topic')
}

const ADMISSION_USE: StructSpec = { domain: 'pl/admission-use', version: 1, required: ['m', 'tp', 'at'], maxBytes: 160 }

const admissionField = (a: Admission | undefined, use: Uint8Array | undefined): { [key: string]: CborValue } | undefined =>
  a === undefined || use === undefined ? undefined : { by: a.by, e: a.epoch, x: a.expires, k: a.key, sig: a.sig, use }

/**
 * A join announcement; with an admin's `admission`, `inviteKey` (the invite's seed) must come
 * too: it signs this member's use of the admission.
 */
export async function createJoin (
  member: Identity, topic: string, now: number, opts: { via?: Uint8Array, admission?: Admission, inviteKey?: Uint8Array } = {}
): Promise<Uint8Array> {
  checkTopic(topic)
  checkTimeArg(now, 'now')
  if (opts.via !== undefined && opts.via.length !== 32) fail('BAD_ARGUMENT', 'via must be a 32-byte signing key')
  if ((opts.admission === undefined) !== (opts.inviteKey === undefined)) fail('BAD_ARGUMENT', 'an admission needs its invite key')
  const use = opts.admission === undefined
    ? undefined
    : await signStruct(opts.inviteKey!, ADMISSION_USE, { m: member.public.signKey, tp: topic, at: now })
  const fields = { m: encodePublicIdentity(member.public), at: now, via: opts.via, adm: admissionField(opts.admission, use) }
  const sig = await signStruct(member.seed, JOIN_BODY, { ...fields, tp: topic })
  return encodeStruct(JOIN, { ...fields, sig })
}

/** Decodes and verifies a join seen on `topic`: identity binding, signature, not future-dated. */
export async function openJoin (bytes: Uint8Array, topic: string, now: number): Promise<Join> {
  checkTopic(topic)
  const f = decodeStruct(JOIN, bytes)
  const m = f.bytes('m', { max: MAX_PUBLIC_ID_BYTES })
  const at = f.uint('at')
  const via = f.optBytes('via', { len: 32 })
  let admission: Admission | undefined
  let use: Uint8Array | undefined
  if (f.has('adm')) {
    const a = f.record('adm', ['by', 'e', 'x', 'k', 'sig', 'use'])
    admission = { by: a.bytes('by', { len: 32 }), epoch: a.uint('e', MAX_EPOCH), expires: a.uint('x'), key: a.bytes('k', { len: 32 }), sig: a.bytes('sig', { len: 64 }) }
    use = a.bytes('use', { len: 64 })
  }
  const sig = f.bytes('sig', { len: 64 })
  const member = await decodePublicIdentity(m)
  await verifyStruct(member.signKey, JOIN_BODY, { m, tp: topic, at, via, adm: admissionField(admission, use) }, sig, 'join')
  // The invite's key vouches that this member holds the invite: a copied admission fails here.
  if (admission !== undefined) await verifyStruct(admission.key, ADMISSION_USE, { m: member.signKey, tp: topic, at }, use!, 'admission use')
  checkNotFuture(at, now, 'announcement')
  return { member, at, ...(via !== undefined ? { via } : {}), ...(admission !== undefined ? { admission } : {}) }
}

/** An admin approves `member` (the caller must be an admin; readers check that). */
export async function createAdmit (admin: Identity, member: PublicIdentity, topic: string, now: number): Promise<Uint8Array> {
  checkTopic(topic)
  checkTimeArg(now, 'now')
  const fields = { m: encodePublicIdentity(member), at: now, by: admin.public.signKey }
  const sig = await signStruct(admin.seed, ADMIT_BODY, { ...fields, tp: topic })
  return encodeStruct(ADMIT, { ...fields, sig })
}

/** Decodes and verifies an approval: the member's identity binding and the signer's signature (not that the signer is an admin). */
export async function openAdmit (bytes: Uint8Array, topic: string, now: number): Promise<Admit> {
  checkTopic(topic)
  const f = decodeStruct(ADMIT, bytes)
  const m = f.bytes('m', { max: MAX_PUBLIC_ID_BYTES })
  const at = f.uint('at')
  const by = f.bytes('by', { len: 32 })
  const sig = f.bytes('sig', { len: 64 })
  const member = await decodePublicIdentity(m)
  await verifyStruct(by, ADMIT_BODY, { m, tp: topic, at, by }, sig, 'approval')
  checkNotFuture(at, now, 'announcement')
  return { member, at, by }
}

/** An admin's roster of admitted members, in messages of at most ROSTER_CHUNK (readers check the signer is an admin). */
export async function createRoster (admin: Identity, members: readonly PublicIdentity[], topic: string, now: number): Promise<Uint8Array[]> {
  checkTopic(topic)
  checkTimeArg(now, 'now')
  const out: Uint8Array[] = []
  for (let i = 0; i < members.length; i += ROSTER_CHUNK) {
    const fields = { m: members.slice(i, i + ROSTER_CHUNK).map(encodePublicIdentity), at: now, by: admin.public.signKey }
    const sig = await signStruct(admin.seed, ROSTER_BODY, { ...fields, tp: topic })
    out.push(encodeStruct(ROSTER, { ...fields, sig }))
  }
  return out
}

/**
 * Decodes and verifies a roster: the signer is one `isAdmin` accepts (NOT_ADMIN, checked first,
 * so a member cannot make every peer verify 200 identities), its signature, every identity's binding.
 */
export async function openRoster (
  bytes: Uint8Array, topic: string, now: number, isAdmin: (key: Uint8Array) => boolean
): Promise<{ members: PublicIdentity[], at: number, by: Uint8Array }> {
  checkTopic(topic)
  const f = decodeStruct(ROSTER, bytes)
  const m = f.array('m', ROSTER_CHUNK, item => item.bytes({ max: MAX_PUBLIC_ID_BYTES }))
  if (m.length === 0) fail('OUT_OF_RANGE', 'an empty roster')
  const at = f.uint('at')
  const by = f.bytes('by', { len: 32 })
  if (!isAdmin(by)) fail('NOT_ADMIN', 'roster signed by someone who is not an admin')
  await verifyStruct(by, ROSTER_BODY, { m, tp: topic, at, by }, f.bytes('sig', { len: 64 }), 'roster')
  checkNotFuture(at, now, 'announcement')
  const members: PublicIdentity[] = []
  for (const id of m) members.push(await decodePublicIdentity(id))
  return { members, at, by }
}

export async function createLeave (member: Identity, topic: string, now: number): Promise<Uint8Array> {
  checkTopic(topic)
  checkTimeArg(now, 'now')
  const fields = { m: member.public.signKey, at: now }
  const sig = await signStruct(member.seed, LEAVE_BODY, { ...fields, tp: topic })
  return encodeStruct(LEAVE, { ...fields, sig })
}

export async function openLeave (bytes: Uint8Array, topic: string, now: number): Promise<Leave> {
  checkTopic(topic)
  const f = decodeStruct(LEAVE, bytes)
  const m = f.bytes('m', { len: 32 })
  const at = f.uint('at')
  const sig = f.bytes('sig', { len: 64 })
  await verifyStruct(m, LEAVE_BODY, { m, tp: topic, at }, sig, 'leave')
  checkNotFuture(at, now, 'announcement')
  return { member: m, at }
}

export type Announcement = ({ type: 'join' } & Join) | ({ type: 'leave' } & Leave) | ({ type: 'admit' } & Admit)

/** Opens any announcement, choosing by its domain; anything else is BAD_DOMAIN. */
export async function openAnnouncement (bytes: Uint8Array, topic: string, now: number): Promise<Announcement> {
  const value = decodeCbor(bytes, MAX_JOIN_BYTES)
  const domain = value instanceof Map ? value.get('t') : undefined
  if (domain === JOIN_DOMAIN) return { type: 'join', ...await openJoin(bytes, topic, now) }
  if (domain === LEAVE_DOMAIN) return { type: 'leave', ...await openLeave(bytes, topic, now) }
  if (domain === ADMIT_DOMAIN) return { type: 'admit', ...await openAdmit(bytes, topic, now) }
  fail('BAD_DOMAIN', 'not a membership announcement')
}
