/**
 * Creating and joining a neighborhood in the browser: the same steps as the CLI's
 * `hood create` and `hood join` (node/cli/home.ts), on the browser's home.
 */
import { fail, PorchlightError } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import { createNeighborhood, newEpochSecret } from '../../protocol/neighborhood.ts'
import { createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, parseInvite, type Invite } from '../../protocol/invite.ts'
import { createRelayToken, encodeRelayToken, MAX_OLDER_TAG_KEYS } from '../../protocol/relay-token.ts'
import {
  currentEpochKeys, newHoodState, unexpiredOlderEpochKeys, withEpoch, withMember, withoutEnded, withRelays, type HoodState
} from '../../protocol/hood-state.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'

export interface Created { state: HoodState, invite: string, relayToken: string }

/** A new neighborhood with this identity as its admin, an invite, and the token its relay needs. */
export async function createHood (home: PeerHome, me: Identity, name: string, area: string, relays: readonly string[], now: number): Promise<Created> {
  const geohash = checkGeohash(area.trim().toLowerCase(), MAX_AREA_PRECISION, 'area')
  if (relays.length === 0) fail('UNAVAILABLE', 'no relay known: open the app from a relay\'s address')
  const hood = createNeighborhood(name.trim(), geohash, me.public.signKey)
  if ((await home.hoods()).some(h => h.hood.name === hood.name)) fail('REFUSED', `you already have a neighborhood named "${hood.name}"`)
  const state = newHoodState({ hood, epoch: 0, secret: newEpochSecret(), relays, members: [me.public], joined: now })
  await home.updateHood(hood.id, () => state)
  return { state, invite: await newInvite(me, state, now), relayToken: relayToken(state, now) }
}

/** A fresh invite (an admin's admits one newcomer). */
export async function newInvite (me: Identity, state: HoodState, now: number): Promise<string> {
  return encodeInvite(await createInvite(me, state.hood, currentEpochKeys(state), state.relays, now, DEFAULT_INVITE_TTL_MS))
}

/** The relay token (`porchlight relay --serve TOKEN`): tag keys and the area, never a content key. */
export function relayToken (state: HoodState, now: number): string {
  return encodeRelayToken(createRelayToken(state.hood, currentEpochKeys(state), { includeArea: true, older: unexpiredOlderEpochKeys(state, now, MAX_OLDER_TAG_KEYS) }))
}

/** Verifies an invite, with decoding errors explained as a damaged invite. */
export async function readInvite (str: string, now: number): Promise<Invite> {
  try {
    return await parseInvite(str.trim(), now)
  } catch (err) {
    if (err instanceof PorchlightError && ['MALFORMED', 'WRONG_TYPE', 'TOO_LARGE', 'BAD_LENGTH', 'MISSING_FIELD', 'EXTRA_FIELD', 'BAD_DOMAIN'].includes(err.code)) {
      throw new PorchlightError(err.code, `not a valid invite (was it copied whole?): ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** Saves the neighborhood an invite names (or adds its epoch key and relays to one we are in). */
export async function saveJoin (home: PeerHome, me: Identity, inv: Invite, now: number): Promise<HoodState> {
  return await home.updateHood(inv.hood.id, current => {
    let s = current ?? newHoodState({ hood: inv.hood, epoch: inv.epoch, secret: inv.secret, joined: now })
    if (inv.hood.adminCerts.length > s.hood.adminCerts.length) s = { ...s, hood: inv.hood }
    s = withEpoch(s, inv.epoch, inv.secret, { learned: now })
    s = withRelays(s, inv.relays)
    s = withMember(s, inv.inviter, { now })
    if (s.ended !== undefined && inv.epoch >= s.ended.epoch) s = withoutEnded(s)
    return withMember(s, me.public, { now })
  })
}
