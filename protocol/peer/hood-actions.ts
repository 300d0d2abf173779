/**
 * Founding and joining a neighborhood, what an admin hands out (an invite, a relay token, an
 * agency attestation) and what an admin looks at (the members, the attestations issued): the
 * same steps for the CLI (`hood create|join|invite|relay-token|members|attest-agency|
 * attestations|revoke-agency|settings`, node/cli/home.ts and network.ts) and the web app
 * (web/state/app-state.ts, web/state/admin.ts), on whichever home the runtime has. What goes
 * over the network (approving, removing, revoking) is the engine's (resident.ts).
 */
import { fail, PorchlightError } from '../errors.ts'
import type { Identity } from '../identity.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../geohash.ts'
import { createNeighborhood, newEpochSecret } from '../neighborhood.ts'
import { createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, parseInvite, type Invite } from '../invite.ts'
import { createRelayToken, encodeRelayToken, MAX_OLDER_TAG_KEYS } from '../relay-token.ts'
import {
  currentEpochKeys, newHoodState, unexpiredOlderEpochKeys, withEpoch, withMember, withoutEnded, withRelays, type HoodState
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
