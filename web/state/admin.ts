/**
 * The admin screen's logic (pl-admin.ts), outside the component: what it shows of a
 * neighborhood (members with fingerprints, removals, the attestations issued, the relay token,
 * the settings), what removing a member means said plainly before it is done, and the admin's
 * actions, over the same functions the CLI runs (protocol/peer/admin-actions.ts and hood-actions.ts for what stays in
 * this home, the engine for what goes over the network: approve, remove = rekey, revoke).
 * Plain functions, tested in Node (test/web/admin.test.ts).
 */
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { fingerprint, type Identity } from '../../protocol/identity.ts'
import { isAdmin } from '../../protocol/neighborhood.ts'
import { currentEpochKeys, hoodSettings, type HoodSettings, type HoodState } from '../../protocol/hood-state.ts'
import { DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS } from '../../protocol/agency.ts'
import { parsePublicIdentity } from '../../protocol/public-strings.ts'
import { relayToken } from '../../protocol/peer/hood-actions.ts'
import {
  attestAgency, issuedAttestations, memberList, type AttestationInfo, type IssuedAttestation, type MemberInfo
} from '../../protocol/peer/admin-actions.ts'
import type { ResidentPeer } from '../../protocol/peer/resident.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'

const DAY_MS = 24 * 3_600_000

export { EXPIRY_CHOICES, durationWords, expiryChoices } from './compose.ts'

/** What the admin screen uses of the engine: the steps that go over the network. */
export type AdminEngine = Pick<ResidentPeer, 'approveMember' | 'removeMember' | 'revokeAttestation' | 'changeHoodSettings'>

/** How long an attestation is valid (at most MAX_ATTESTATION_TTL_MS = 366 days; 180 by default, as the CLI). */
export const VALIDITY_CHOICES: ReadonlyArray<{ ms: number, label: string }> = [
  { ms: 30 * DAY_MS, label: '30 days' },
  { ms: 90 * DAY_MS, label: '90 days' },
  { ms: DEFAULT_ATTESTATION_TTL_MS, label: '180 days' },
  { ms: MAX_ATTESTATION_TTL_MS, label: '1 year' }
]

/** An issued attestation as the screen lists it (its bytes left with the engine). */
export type AttestationRow = Omit<IssuedAttestation, 'bytes'> & { expired: boolean }

/** Everything the admin screen shows of one neighborhood. */
export interface AdminView {
  hoodId: string
  name: string
  area: string
  /** The current epoch: the key new posts are sealed under. */
  epoch: number
  /** This identity is an admin here (others see the members, not the actions). */
  admin: boolean
  members: MemberInfo[]
  removed: Array<{ fingerprint: string, at: number, epoch: number }>
  attestations: AttestationRow[]
  settings: Required<HoodSettings>
  relayToken: string
}

/** The admin screen's view of a neighborhood this home keeps. */
export async function adminView (state: HoodState, me: Identity | undefined, now: number): Promise<AdminView> {
  return {
    hoodId: toHex(state.hood.id),
    name: state.hood.name,
    area: state.hood.area,
    epoch: currentEpochKeys(state).epoch,
    admin: me !== undefined && isAdmin(state.hood, me.public.signKey),
    members: memberList(state, me),
    removed: state.removed.map(r => ({ fingerprint: fingerprint(r.signKey), at: r.at, epoch: r.epoch })),
    attestations: (await issuedAttestations(state, now)).map(({ bytes: _, ...a }) => ({ ...a, expired: a.expires <= now })),
    settings: hoodSettings(state),
    relayToken: relayToken(state, now)
  }
}

/**
 * What removing `member` means, said before it is done: what they can still read (what they
 * hold stays with them) and what they cannot (anything sealed under the next epoch's key), and
 * who else is left out of the new key (members still awaiting approval: a rekey is sealed only
 * to admitted members).
 */
export function removalAccount (view: AdminView, member: MemberInfo): { canStill: string[], cannot: string[], alsoLeftOut?: string } {
  const remaining = view.members.filter(m => m.admitted && m.signKey !== member.signKey).length
  const pending = view.members.filter(m => !m.admitted && m.signKey !== member.signKey)
  return {
    canStill: [
      `Everything ${member.name} already received: posts, replies and member names stay on their device. Porchlight cannot take back what a device holds.`,
      `Posts under the current key (epoch ${view.epoch}), which they hold: whatever was posted before this removal, and anything a neighbor's device sends under that key before it hears of the new one, if it reaches them.`
    ],
    cannot: [
      `Anything posted after the change: new posts are sealed under a new key (epoch ${view.epoch + 1}) that goes to the ${remaining} remaining member${remaining === 1 ? '' : 's'} only.`,
      `Post here again: the relays refuse what they send, in any epoch.`
    ],
    ...(pending.length > 0
      ? { alsoLeftOut: `${pending.map(m => m.name).join(', ')} ${pending.length === 1 ? 'is' : 'are'} still awaiting approval and will not get the new key either: approve them first if they should stay.` }
      : {})
  }
}

/** What the admin fills in to vouch for an agency. */
export interface AttestInput {
  /** The agency's public identity, 'plid:…' as `porchlight id export-public` prints it. */
  agency: string
  /** The name vouched for; empty: the agency's own. */
  name: string
  /** The area it serves; empty: the neighborhood's. */
  area: string
  validityMs: number
}

/** Vouches for an agency (kept in this home, listed, revocable); the attestation to hand to the agency. */
export async function attest (home: PeerHome, me: Identity, state: HoodState, input: AttestInput, now: number): Promise<AttestationInfo> {
  let agency
  try {
    agency = await parsePublicIdentity(input.agency)
  } catch (err) {
    throw new PorchlightError('BAD_ARGUMENT', 'That is not an agency\'s public identity: paste the whole plid:… text the agency gave you (porchlight id export-public).', { cause: err })
  }
  const name = input.name.trim()
  const area = input.area.trim().toLowerCase()
  return (await attestAgency(home, me, state, agency, {
    now, ttlMs: input.validityMs, ...(name !== '' ? { name } : {}), ...(area !== '' ? { area } : {})
  })).info
}

/** Withdraws an attestation this home issued, by its id (hex), through the engine. */
export async function revoke (engine: AdminEngine, state: HoodState, id: string, now: number): Promise<{ ok: boolean }> {
  const found = (await issuedAttestations(state, now)).find(a => a.id === id) ?? fail('NOT_FOUND', 'no such attestation issued here')
  return await engine.revokeAttestation(found.bytes, toHex(state.hood.id))
}

/** Saves settings the admin changed and announces them to every member, through the engine (NOT_ADMIN for a member who is not one). */
export async function saveSettings (engine: AdminEngine, state: HoodState, patch: HoodSettings): Promise<{ state: HoodState, sent: boolean }> {
  const r = await engine.changeHoodSettings(patch, toHex(state.hood.id))
  return { state: r.state, sent: r.result.ok }
}

/** The hood state for an id (hex), or NOT_FOUND. */
export async function hoodState (home: PeerHome, hoodId: string): Promise<HoodState> {
  return (await home.hoodById(fromHex(hoodId, 'hood id'))) ?? fail('NOT_FOUND', 'no such neighborhood here')
}
