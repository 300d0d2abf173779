/**
 * Neighborhood settings as an admin announces them to every member, inside the neighborhood's
 * private envelope (envelope.ts) like the membership announcements (membership.ts):
 *
 *   'pl/hood-settings' v1 (at most MAX_HOOD_SETTINGS_BYTES = 256)
 *     { s: { ttl?: a new post's lifetime, ms (MIN_SETTINGS_TTL_MS..MAX_TTL_MS),
 *            pr?: a new post's location precision, geohash characters (1..MAX_POST_PRECISION),
 *            rfa?: whether agencies' requests show to members who never chose (bool) },
 *       at: ms, by: admin sign key (32), sig: 64 }
 *   sig = by's Ed25519 signature over 'pl/hood-settings-body' v1 { s, tp: the private topic, at, by },
 *   so a settings message cannot be replayed into another neighborhood.
 *
 * A message carries the whole settings (an absent field means the app's default), not a
 * change: the newest `at` replaces what a member holds (settingsWin), equal times are broken
 * by the lower message hash so every member keeps the same one. The caller checks that `by`
 * is a current admin of the neighborhood (NOT_ADMIN otherwise), as for 'pl/agency-revoke'.
 * Members learn nothing from it but the settings and which admin set them when.
 */
import { fail } from './errors.ts'
import { type CborValue, decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import { sha256, SIGNATURE_BYTES } from './crypto.ts'
import { type Identity, signStruct, verifyStruct } from './identity.ts'
import { checkPrivateTopic, isAdmin, type Neighborhood } from './neighborhood.ts'
import { MAX_POST_PRECISION } from './geohash.ts'
import { MAX_TTL_MS } from './post.ts'
import { checkNotFuture, checkTimeArg } from './time.ts'
import { checkSettings, type HoodSettings, type HoodState, MIN_SETTINGS_TTL_MS } from './hood-state.ts'

export const DOMAIN_HOOD_SETTINGS = 'pl/hood-settings'
export const MAX_HOOD_SETTINGS_BYTES = 256

const SETTINGS: StructSpec = { domain: DOMAIN_HOOD_SETTINGS, version: 1, required: ['s', 'at', 'by', 'sig'], maxBytes: MAX_HOOD_SETTINGS_BYTES }
const SETTINGS_BODY: StructSpec = { domain: 'pl/hood-settings-body', version: 1, required: ['s', 'tp', 'at', 'by'], maxBytes: MAX_HOOD_SETTINGS_BYTES }

export interface HoodSettingsMessage {
  readonly settings: HoodSettings
  readonly at: number
  /** The signing admin's key; the caller checks it is an admin. */
  readonly by: Uint8Array
  /** SHA-256 of the message bytes: the tie-break between two messages of the same `at`. */
  readonly id: Uint8Array
}

function settingsFields (s: HoodSettings): { [key: string]: CborValue } {
  return {
    ...(s.postTtlMs !== undefined ? { ttl: s.postTtlMs } : {}),
    ...(s.precision !== undefined ? { pr: s.precision } : {}),
    ...(s.rfasForNewMembers !== undefined ? { rfa: s.rfasForNewMembers } : {})
  }
}

/** An admin's settings message for `topic` (the hood's private topic); NOT_ADMIN unless `admin` is one, OUT_OF_RANGE for a value out of bounds. */
export async function createHoodSettings (admin: Identity, hood: Neighborhood, topic: string, settings: HoodSettings, now: number): Promise<Uint8Array> {
  checkTimeArg(now, 'now')
  checkPrivateTopic(topic, 'BAD_ARGUMENT', 'settings are announced on a neighborhood\'s private topic')
  if (!isAdmin(hood, admin.public.signKey)) fail('NOT_ADMIN', `only an admin of "${hood.name}" can change its settings`)
  checkSettings(settings)
  const fields = { s: settingsFields(settings), at: now, by: admin.public.signKey }
  const sig = await signStruct(admin.seed, SETTINGS_BODY, { ...fields, tp: topic })
  return encodeStruct(SETTINGS, { ...fields, sig })
}

/** Decodes and verifies a settings message seen on `topic` (not whether `by` is an admin: the caller's). */
export async function openHoodSettings (bytes: Uint8Array, topic: string, now: number): Promise<HoodSettingsMessage> {
  const f = decodeStruct(SETTINGS, bytes)
  const x = f.record('s', [], ['ttl', 'pr', 'rfa'])
  const postTtlMs = x.optUint('ttl', MAX_TTL_MS, MIN_SETTINGS_TTL_MS)
  const precision = x.optUint('pr', MAX_POST_PRECISION, 1)
  const settings: HoodSettings = {
    ...(postTtlMs !== undefined ? { postTtlMs } : {}),
    ...(precision !== undefined ? { precision } : {}),
    ...(x.has('rfa') ? { rfasForNewMembers: x.bool('rfa') } : {})
  }
  const at = f.uint('at')
  const by = f.bytes('by', { len: 32 })
  await verifyStruct(by, SETTINGS_BODY, { s: settingsFields(settings), tp: topic, at, by }, f.bytes('sig', { len: SIGNATURE_BYTES }), 'neighborhood settings')
  checkNotFuture(at, now, 'neighborhood settings')
  return { settings, at, by, id: sha256(bytes) }
}

/** Does `msg` replace settings announced at `held` (none held: it does)? The newer `at`, then the lower id. */
export function settingsWin (msg: { at: number, id: Uint8Array }, held: { at: number, id: Uint8Array } | undefined): boolean {
  if (held === undefined) return true
  if (msg.at !== held.at) return msg.at > held.at
  for (let i = 0; i < Math.min(msg.id.length, held.id.length); i++) if (msg.id[i] !== held.id[i]) return msg.id[i]! < held.id[i]!
  return msg.id.length < held.id.length
}

/** The state with an admin's (already verified) settings message applied, if it wins over the one held. */
export function withAnnouncedSettings (state: HoodState, msg: HoodSettingsMessage): HoodState {
  if (!settingsWin(msg, state.settingsFrom)) return state
  return { ...state, settings: msg.settings, settingsFrom: { at: msg.at, id: msg.id } }
}
