/**
 * What an admin looks at and changes of a neighborhood: its members (with look-alike names
 * flagged), attestations vouching for agencies, and its settings. The same functions for the
 * CLI (`hood members|attest-agency|attestations|revoke-agency|settings`) and the web app's admin
 * screen (web/state/admin.ts). Apart from hood-actions.ts, so that founding and joining (on
 * every page load) do not pull in the confusables table.
 */
import { fail } from '../errors.ts'
import { toHex } from '../encoding.ts'
import { fingerprint, type Identity, type PublicIdentity } from '../identity.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../geohash.ts'
import { lookAlikeKeys } from '../names.ts'
import { isAdmin } from '../neighborhood.ts'
import { attestationIssued, createAttestation, verifyAttestation, type AgencyAttestation } from '../agency.ts'
import { formatAttestation } from '../public-strings.ts'
import { withAttestation, withSettings, type HoodSettings, type HoodState, type Member } from '../hood-state.ts'
import type { PeerHome } from './storage.ts'

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
