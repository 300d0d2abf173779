/**
 * Join and leave announcements: signed inner messages that the caller seals into the
 * neighborhood's private envelope (envelope.ts), so only members ever see who joined or left.
 *
 *   'pl/join'  v1 { m: member's public identity ('pl/id' bytes, <= 512), at: ms, via?: inviter sign key (32), sig: 64 }
 *   'pl/leave' v1 { m: member's sign key (32), at: ms, sig: 64 }
 *
 * Each signature is the member's, over the same fields plus the private topic (domains
 * 'pl/join-body' / 'pl/leave-body'), so an announcement cannot be replayed into another
 * neighborhood. A join is at most MAX_JOIN_BYTES (about 330 bytes in practice).
 *
 * A leave is voluntary and informational: it does not cut the member off. Removing someone
 * takes a rekey (rekey.ts).
 */
import { fail } from './errors.ts'
import { decodeCbor, decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import {
  decodePublicIdentity, encodePublicIdentity, type Identity, MAX_PUBLIC_ID_BYTES, type PublicIdentity, signStruct, verifyStruct
} from './identity.ts'
import { checkPrivateTopic } from './neighborhood.ts'
import { checkNotFuture, checkTimeArg, MAX_CLOCK_SKEW_MS } from './time.ts'

export const MAX_JOIN_BYTES = 768
export const MAX_LEAVE_BYTES = 192
export const MAX_MEMBERSHIP_CLOCK_SKEW_MS = MAX_CLOCK_SKEW_MS

export const JOIN_DOMAIN = 'pl/join'
export const LEAVE_DOMAIN = 'pl/leave'

const JOIN: StructSpec = { domain: JOIN_DOMAIN, version: 1, required: ['m', 'at', 'sig'], optional: ['via'], maxBytes: MAX_JOIN_BYTES }
const JOIN_BODY: StructSpec = { domain: 'pl/join-body', version: 1, required: ['m', 'tp', 'at'], optional: ['via'], maxBytes: MAX_JOIN_BYTES }
const LEAVE: StructSpec = { domain: LEAVE_DOMAIN, version: 1, required: ['m', 'at', 'sig'], maxBytes: MAX_LEAVE_BYTES }
const LEAVE_BODY: StructSpec = { domain: 'pl/leave-body', version: 1, required: ['m', 'tp', 'at'], maxBytes: MAX_LEAVE_BYTES }

export interface Join {
  readonly member: PublicIdentity
  readonly at: number
  /** Signing key of whoever invited the member, if the member says. */
  readonly via?: Uint8Array
}

export interface Leave {
  /** The leaving member's signing key (32 bytes). */
  readonly member: Uint8Array
  readonly at: number
}

function checkTopic (topic: string): void {
  checkPrivateTopic(topic, 'BAD_ARGUMENT', 'membership announcements belong to a private topic')
}

export async function createJoin (member: Identity, topic: string, now: number, opts: { via?: Uint8Array } = {}): Promise<Uint8Array> {
  checkTopic(topic)
  checkTimeArg(now, 'now')
  if (opts.via !== undefined && opts.via.length !== 32) fail('BAD_ARGUMENT', 'via must be a 32-byte signing key')
  const fields = { m: encodePublicIdentity(member.public), at: now, via: opts.via }
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
  const sig = f.bytes('sig', { len: 64 })
  const member = await decodePublicIdentity(m)
  await verifyStruct(member.signKey, JOIN_BODY, { m, tp: topic, at, via }, sig, 'join')
  checkNotFuture(at, now, 'announcement')
  return { member, at, ...(via !== undefined ? { via } : {}) }
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

export type Announcement = ({ type: 'join' } & Join) | ({ type: 'leave' } & Leave)

/** Opens either announcement, choosing by its domain; anything else is BAD_DOMAIN. */
export async function openAnnouncement (bytes: Uint8Array, topic: string, now: number): Promise<Announcement> {
  const value = decodeCbor(bytes, MAX_JOIN_BYTES)
  const domain = value instanceof Map ? value.get('t') : undefined
  if (domain === JOIN_DOMAIN) return { type: 'join', ...await openJoin(bytes, topic, now) }
  if (domain === LEAVE_DOMAIN) return { type: 'leave', ...await openLeave(bytes, topic, now) }
  fail('BAD_DOMAIN', 'not a membership announcement')
}
