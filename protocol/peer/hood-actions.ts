/**
 * Founding and joining a neighborhood, what an admin hands out (an invite, a relay token, an
 * agency attestation) and what an admin looks at (the members, the attestations issued): the
 * same steps for the CLI (`hood create|join|invite|relay-token|members|attest-agency|
 * attestations|revoke-agency|settings`, node/cli/home.ts and network.ts) and the web app
 * (web/state/app-state.ts, web/state/admin.ts), on whichever home the runtime has. What goes
 * over the network (approving, removing, revoking) is the engine's (resident.ts).
 */
import { fail, PorchlightError } from '../errors.ts'
import { toHex } from '../encoding.ts'
import { fingerprint, type Identity, type PublicIdentity } from '../identity.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../geohash.ts'
import { lookAlikeKeys } from '../names.ts'
import { createNeighborhood, isAdmin, newEpochSecret } from '../neighborhood.ts'
import { attestationIssued, createAttestation, verifyAttestation, type AgencyAttestation } from '../agency.ts'
import { formatAttestation } from '../public-strings.ts'
import { createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, parseInvite, type Invite } from '../invite.ts'
import { createRelayToken, encodeRelayToken, MAX_OLDER_TAG_KEYS } from '../relay-token.ts'
import {
  currentEpochKeys, newHoodState, unexpiredOlderEpochKeys, withAttestation, withEpoch, withMember, withoutEnded, withRelays, withSettings, type HoodSettings, type HoodState, type Member
} from '../hood-state.ts'
import type { PeerHome } from './storage.ts'

export interface Founded { state: HoodState, invite: Invite }

/**
 * A new neighborhood with this identity as its admin and first member, saved, and an invite
 * (valid `ttl` ms). Refuses (REFUSED) a name this home already has.
 */
export async function foundHood (home: PeerHome, me: Identity, opts: { name: string, area: string, relays: readonly string[], now: number, ttl?: number }): Promise<Founded> {
  const area = checkGeohash(opts.area.trim().toLowerCase(), MAX_AREA_PRECISION, 'area')
  const hood = createNeighborhood(opts.name.trim(), area, me.public.signKey)
  if ((await home.hoods()).some(h => h.hood.name === hood.name)) fail('REFUSED', `you already have a neighborhood named "${hood.name}"; choose another name`)
  const state = newHoodState({ hood, epoch: 0, secret: newEpochSecret(), relays: opts.relays, members: [me.public], joined: opts.now })
  await home.updateHood(hood.id, () => state)
  return { state, invite: await inviteTo(me, state, opts.now, opts.ttl) }
}

/** A fresh invite into the current epoch (an admin's admits one newcomer). */
export async function inviteTo (me: Identity, state: HoodState, now: number, ttl = DEFAULT_INVITE_TTL_MS): Promise<Invite> {
  return await createInvite(me, state.hood, currentEpochKeys(state), state.relays, now, ttl)
}

/** inviteTo, as the text a person passes on. */
export async function newInvite (me: Identity, state: HoodState, now: number, ttl?: number): Promise<string> {
  return encodeInvite(await inviteTo(me, state, now, ttl))
}

/**
 * The relay token (`porchlight relay --serve TOKEN`): the current tag key and those of older
 * epochs whose posts may not have expired, and (unless left out) the area; never a content key.
 */
export function relayToken (state: HoodState, now: number, opts: { includeArea?: boolean } = {}): string {
  return encodeRelayToken(createRelayToken(state.hood, currentEpochKeys(state), {
    includeArea: opts.includeArea ?? true, older: unexpiredOlderEpochKeys(state, now, MAX_OLDER_TAG_KEYS)
  }))
}

const DAMAGED = new Set(['MALFORMED', 'WRONG_TYPE', 'TOO_LARGE', 'BAD_LENGTH', 'MISSING_FIELD', 'EXTRA_FIELD', 'BAD_DOMAIN', 'BAD_VERSION'])

/** Verifies an invite, with decoding errors explained as a damaged invite (same code). */
export async function readInvite (str: string, now: number): Promise<Invite> {
  try {
    return await parseInvite(str.trim(), now)
  } catch (err) {
    if (err instanceof PorchlightError && DAMAGED.has(err.code)) {
      throw new PorchlightError(err.code, `not a valid invite (was it copied whole?): ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** What joining from `inv` makes of the state this home has (or has not) for its neighborhood. */
export function joinedState (current: HoodState | undefined, inv: Invite, me: Identity, now: number): HoodState {
  let s = current ?? newHoodState({ hood: inv.hood, epoch: inv.epoch, secret: inv.secret, joined: now })
  // The id is a hash of the founder's key, so an invite can only name the same admins' chain:
  // keep the longer one (admins are only ever added).
  if (inv.hood.adminCerts.length > s.hood.adminCerts.length) s = { ...s, hood: inv.hood }
  s = withEpoch(s, inv.epoch, inv.secret, { learned: now })
  s = withRelays(s, inv.relays)
  s = withMember(s, inv.inviter, { now })
  // A new invite into the epoch we were removed from (or a later one) lets us back in.
  if (s.ended !== undefined && inv.epoch >= s.ended.epoch) s = withoutEnded(s)
  return withMember(s, me.public, { now })
}

/** Saves the neighborhood an invite names (or adds its epoch key and relays to one we are in). */
export async function saveJoin (home: PeerHome, me: Identity, inv: Invite, now: number): Promise<HoodState> {
  return await home.updateHood(inv.hood.id, current => joinedState(current, inv, me, now))
}

// ---- what an admin looks at and vouches for ----

/** One known member as the CLI's `hood members --json` prints it and the admin screen lists it. */
export interface MemberInfo {
  name: string
  fingerprint: string
  /** Hex. */
  signKey: string
  boxKey: string
  admin: boolean
  /** This home's own identity. */
  me: boolean
  /** On the list the next rekey is sealed to; false: awaiting an admin's approval. */
  admitted: boolean
  /** Another member's name looks like this one: show the fingerprint. */
  lookAlike: boolean
  formerName?: string
  renamedAt?: number
}

export function memberInfo (member: PublicIdentity & Partial<Member>, state: HoodState | undefined, me: Identity | undefined): MemberInfo {
  const key = toHex(member.signKey)
  const admin = state !== undefined && isAdmin(state.hood, member.signKey)
  return {
    name: member.name,
    fingerprint: fingerprint(member.signKey),
    signKey: key,
    boxKey: toHex(member.boxKey),
    admin,
    me: me !== undefined && toHex(me.public.signKey) === key,
    admitted: admin || member.admitted === true,
    lookAlike: state !== undefined && lookAlikeKeys(state.members.map(m => ({ key: toHex(m.signKey), name: m.name }))).has(key),
    ...(member.formerName !== undefined ? { formerName: member.formerName, renamedAt: member.renamedAt! } : {})
  }
}

/** The known members of a neighborhood, by name. */
export function memberList (state: HoodState, me: Identity | undefined): MemberInfo[] {
  return [...state.members].sort((a, b) => a.name.localeCompare(b.name)).map(m => memberInfo(m, state, me))
}

/** One attestation as `hood attest-agency --json` prints it. */
export interface AttestationInfo {
  /** 'plattest:…', to hand to the agency. */
  attestation: string
  /** Hex of the agency's signing key. */
  agency: string
  name: string
  area: string
  admin: string
  adminFingerprint: string
  issued: number
  expires: number
}

export function attestationInfo (bytes: Uint8Array, att: AgencyAttestation): AttestationInfo {
  return {
    attestation: formatAttestation(bytes),
    agency: toHex(att.agency.signKey),
    name: att.name,
    area: att.area,
    admin: toHex(att.hoodAdmin),
    adminFingerprint: fingerprint(att.hoodAdmin),
    issued: att.issued,
    expires: att.expires
  }
}

/**
 * An admin vouches for an agency key (its public identity, as `id export-public` prints it) in
 * an area (default the neighborhood's), under a name (default the agency's own), for `ttlMs`;
 * the attestation is kept in the hood state (`hood attestations`) and returned to hand over.
 * NOT_ADMIN unless this identity is an admin of the neighborhood.
 */
export async function attestAgency (home: PeerHome, me: Identity, state: HoodState, agency: PublicIdentity, opts: {
  now: number, area?: string, name?: string, ttlMs?: number
}): Promise<{ bytes: Uint8Array, info: AttestationInfo }> {
  if (!isAdmin(state.hood, me.public.signKey)) fail('NOT_ADMIN', `only an admin of "${state.hood.name}" can vouch for an agency`)
  const area = checkGeohash(opts.area ?? state.hood.area, MAX_AREA_PRECISION, 'area')
  const bytes = await createAttestation(me, agency, area, opts.now, {
    hood: state.hood, ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}), ...(opts.name !== undefined ? { name: opts.name } : {})
  })
  await home.updateHood(state.hood.id, cur => withAttestation(cur ?? state, bytes))
  return { bytes, info: attestationInfo(bytes, await verifyAttestation(bytes, opts.now)) }
}

/** An attestation this home issued, as `hood attestations` lists it. */
export interface IssuedAttestation {
  /** Hex of attestationId: what a revocation names. */
  id: string
  name: string
  agencyFingerprint: string
  area: string
  expires: number
  revoked: boolean
  bytes: Uint8Array
}

/** The attestations this home issued for a hood, oldest first, with whether an admin revoked them. */
export async function issuedAttestations (state: HoodState, now: number): Promise<IssuedAttestation[]> {
  const out: IssuedAttestation[] = []
  for (const bytes of state.attestations) {
    // Verified as of its own issue time: an expired one is still listed (and revocable).
    const att = await verifyAttestation(bytes, Math.min(now, attestationIssued(bytes))).catch(() => undefined)
    if (att === undefined) continue
    const id = toHex(att.id)
    out.push({ id, name: att.name, agencyFingerprint: fingerprint(att.agency.signKey), area: att.area, expires: att.expires, revoked: state.revoked.some(r => toHex(r) === id), bytes })
  }
  return out
}

/**
 * The issued attestations `ref` names: the agency's fingerprint, or an id prefix (8..64 hex
 * digits) as `hood attestations` prints it. NOT_FOUND when none does.
 */
export async function findIssuedAttestations (state: HoodState, ref: string, now: number): Promise<IssuedAttestation[]> {
  const hex = ref.trim().toLowerCase()
  const found = (await issuedAttestations(state, now))
    .filter(a => a.agencyFingerprint === ref.trim().toUpperCase() || (/^[0-9a-f]{8,64}$/.test(hex) && a.id.startsWith(hex)))
  if (found.length === 0) fail('NOT_FOUND', `no attestation you issued matches "${ref.slice(0, 40)}" (see porchlight hood attestations)`)
  return found
}

/**
 * The whole settings after an admin's change (`patch`'s undefined fields stay as they are):
 * NOT_ADMIN for a member who is not one, OUT_OF_RANGE for a value out of bounds. The engine
 * announces them (ResidentPeer.changeHoodSettings).
 */
export function settingsAfter (me: Identity, state: HoodState, patch: HoodSettings): HoodSettings {
  if (!isAdmin(state.hood, me.public.signKey)) fail('NOT_ADMIN', `only an admin of "${state.hood.name}" can change its settings`)
  if (patch.precision !== undefined && patch.precision < state.hood.area.length) {
    fail('OUT_OF_RANGE', `the default location cannot be coarser than the neighborhood's area (${state.hood.area.length} characters)`)
  }
  return withSettings(state, patch).settings ?? {}
}

/** An admin changes the settings in this home only, announcing nothing (tests; the apps use ResidentPeer.changeHoodSettings). */
export async function changeSettings (home: PeerHome, me: Identity, state: HoodState, patch: HoodSettings): Promise<HoodState> {
  settingsAfter(me, state, patch)
  return await home.updateHood(state.hood.id, cur => withSettings(cur ?? state, patch))
}
