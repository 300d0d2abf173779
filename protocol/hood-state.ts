/**
 * What a home knows about its neighborhoods and, for an agency, its followed areas: the pure
 * model (no I/O), with the strict encoding of the files a runtime keeps it in (Node: one file
 * per neighborhood in the home folder, node/storage/home-dir.ts; the browser: IndexedDB).
 *
 * A hood state ('pl/home-hood' v2) holds the Neighborhood (founder, salt, admin chain), every
 * epoch secret this home knows with when it learned it and the rekey that brought it, relays,
 * known members (admitted or pending), removed members, agency attestations this home issued
 * and those revoked, whether this home was removed or left, and (optional, so files from before
 * it read as before) the neighborhood settings an admin chose, with the time and hash of the
 * admin's message they came from (protocol/hood-settings.ts). A v1 state (from before
 * self-certifying neighborhoods) is refused with a message: re-join from a new invite.
 * Agency state ('pl/home-agency' v1): followed areas, the attestations admins gave the agency
 * (attached to its RFAs) and the relays it asks.
 *
 * Every update is a pure function returning a new state; encodings are validated on both ways,
 * so a corrupt state is a PorchlightError, never a partial result.
 */
import { fail } from './errors.ts'
import { decodeCbor, decodeStruct, encodeStruct, equalBytes, toHex, type Fields, type StructSpec } from './encoding.ts'
import { isPorchlightError } from './errors.ts'
import { encodeAdminCerts, readAdminCerts } from './admins.ts'
import { rekeyIdWins } from './rekey.ts'
import { DEFAULT_TTL_MS, MAX_TTL_MS } from './post.ts'
import { MAX_CLOCK_SKEW_MS } from './time.ts'
import { MAX_NAME_BYTES, type PublicIdentity } from './identity.ts'
import {
  checkNeighborhood, deriveEpochKeys, EPOCH_SECRET_BYTES, HOOD_ID_BYTES, HOOD_SALT_BYTES, MAX_EPOCH,
  type EpochKeys, type Neighborhood, neighborhoodOf
} from './neighborhood.ts'
import { checkGeohash, MAX_AREA_PRECISION, MAX_POST_PRECISION } from './geohash.ts'
import { checkRelayAddrs, MAX_RELAY_ADDR_BYTES, MAX_RELAYS } from './invite.ts'
import { MAX_ATTESTATION_BYTES } from './agency.ts'

/** Bounds of one hood file (whole file at most MAX_HOOD_FILE_BYTES = 1 MiB). */
export const MAX_HOOD_FILE_BYTES = 1 << 20
/** Epoch secrets kept per hood: 4096 x ~45 bytes (more with the rekeys' removal lists). */
export const MAX_EPOCHS = 4096
/** Secrets kept for one epoch: one per admin rekeying from the same epoch at once. */
export const MAX_SECRETS_PER_EPOCH = 16
/** Removed members remembered (so an old join cannot put them back). */
export const MAX_REMOVED = 2000
/** Revoked attestation ids remembered. */
export const MAX_REVOKED = 256
/** Used invite keys remembered (one per admitted newcomer). */
export const MAX_ADMISSIONS = 2000
/** Relays per hood: as many as an invite carries (MAX_RELAYS = 8, each <= 256 bytes). */
export { MAX_RELAYS }
/** Known members per hood: 2000 x ~170 bytes. */
export const MAX_MEMBERS = 2000
/** Agency attestations issued per hood, each at most MAX_ATTESTATION_BYTES (768, agency.ts). */
export const MAX_ATTESTATIONS = 64
/**
 * Areas an agency follows (geohash prefixes of 1..6 characters). Neighborhoods publish in their
 * own area's topic, often 6 characters (a cell of ~0.7 km²), so a city agency follows every
 * cell of its city: 500 for a city of a million households (test/bench/scale-agency-bench.ts).
 */
export const MAX_FOLLOWED_AREAS = 1024
/** Attestations an agency keeps for its RFAs (an RFA attaches at most 4). */
export const MAX_AGENCY_ATTESTATIONS = 16
/** 1,024 areas x 8 bytes + 16 attestations x 771 bytes + 8 relays x 258 bytes, with room to spare: 32 KiB. */
export const MAX_AGENCY_FILE_BYTES = 32 * 1024


const HOOD_FILE: StructSpec = {
  domain: 'pl/home-hood',
  version: 2,
  required: ['id', 'name', 'area', 'founder', 'salt', 'ac', 'epochs', 'relays', 'members', 'attests', 'revoked', 'removed', 'admissions', 'joined'],
  optional: ['ended', 'set'],
  maxBytes: MAX_HOOD_FILE_BYTES
}
/** 'rl' (the relays `agency follow --relay` named) is optional: files from before it read as before. */
const AGENCY_STATE: StructSpec = { domain: 'pl/home-agency', version: 1, required: ['areas', 'att'], optional: ['rl'], maxBytes: MAX_AGENCY_FILE_BYTES }


/** The rekey that brought an epoch secret. */
export interface RekeyInfo {
  /** Its message id (SHA-256 of the bytes): of two rekeys to one epoch the lower wins. */
  readonly id: Uint8Array
  /** The signing admin. */
  readonly by: Uint8Array
  /** Sign keys it removed. */
  readonly removed: readonly Uint8Array[]
}

export interface EpochSecret {
  readonly epoch: number
  /** 32 bytes. */
  readonly secret: Uint8Array
  /** When this home first held it (ms): posts in the epoch before are cut off from then on. */
  readonly learned: number
  /** Absent for the epoch an invite gave. */
  readonly rekey?: RekeyInfo
}

export interface Member extends PublicIdentity {
  /** On the list the next rekey is sealed to: joined with an admin's admission, approved, or an admin. */
  readonly admitted: boolean
  /** Who invited them, when they said. */
  readonly via?: Uint8Array
  /** The name they had before their last rename, shown beside the new one for a while. */
  readonly formerName?: string
  readonly renamedAt?: number
}

/** Who an invite key admitted: the join with the earliest `at` (then the lowest sign key) wins. */
export interface AdmissionUse {
  readonly key: Uint8Array
  readonly member: Uint8Array
  /** The join's time. */
  readonly at: number
}

export interface Removal {
  readonly signKey: Uint8Array
  /** The removing rekey's time and epoch. */
  readonly at: number
  readonly epoch: number
}

/** Everything this home knows about one neighborhood. */
export interface HoodState {
  readonly hood: Neighborhood
  /** Ascending by epoch (several secrets for one epoch after concurrent rekeys); see currentEpochKeys. Never empty. */
  readonly epochs: readonly EpochSecret[]
  /** Multiaddr strings of relays that serve this hood. */
  readonly relays: readonly string[]
  /** Known members (including ourselves), unique by signKey. */
  readonly members: readonly Member[]
  /** Encoded agency attestations this home issued for the hood (protocol/agency.ts bytes). */
  readonly attestations: readonly Uint8Array[]
  /** attestationId of attestations an admin of this hood revoked. */
  readonly revoked: readonly Uint8Array[]
  readonly removed: readonly Removal[]
  /**
   * Invite keys (admission.key) that admitted someone, and whom: an admin's invite admits one
   * identity, so a second join quoting the same key (a removed member's sock puppet, say)
   * stays pending. Kept after the member leaves or is removed.
   */
  readonly admissions: readonly AdmissionUse[]
  /** When this home created or joined the hood, ms since the Unix epoch. */
  readonly joined: number
  /** Set when this home was removed (a genuine rekey left it out) or left: it no longer posts here. */
  readonly ended?: { readonly reason: 'removed' | 'left', readonly at: number, readonly epoch: number }
  /** The neighborhood settings an admin chose (here, or in a 'pl/hood-settings' message); absent: all defaults. */
  readonly settings?: HoodSettings
  /** The time and message hash of the admin's settings message `settings` came from (hood-settings.ts settingsWin). */
  readonly settingsFrom?: { readonly at: number, readonly id: Uint8Array }
}

/**
 * Neighborhood settings an admin chose (the admin screen, `porchlight hood settings`): what a
 * new post defaults to, and whether requests for assistance show to new members. Each field is
 * optional (absent: the app's default, see hoodSettings). An admin's change reaches every member
 * as a signed 'pl/hood-settings' message (hood-settings.ts); the newest wins.
 */
export interface HoodSettings {
  /** A new post's lifetime, 1 hour..MAX_TTL_MS. @default DEFAULT_TTL_MS (7 days) */
  readonly postTtlMs?: number
  /** A new post's location, in geohash characters (MIN..MAX_POST_PRECISION). @default the area's own length */
  readonly precision?: number
  /** Whether agencies' requests for assistance show in a new member's feed. @default true */
  readonly rfasForNewMembers?: boolean
}

/** The shortest default lifetime an admin can choose. */
export const MIN_SETTINGS_TTL_MS = 3_600_000

export interface AgencyState {
  /** Followed areas, geohash prefixes of 1..6 characters, unique, in the order added. */
  readonly areas: readonly string[]
  /** Attestation bytes vouching for this agency (verified when added); none when absent. */
  readonly attestations?: readonly Uint8Array[]
  /** Relays to ask for the followed areas (`agency follow --relay`), at most MAX_RELAYS. */
  readonly relays?: readonly string[]
}

export type Role = 'resident' | 'agency'

// ---- hood state helpers (pure) ----

/** A new hood state, validated. */
export function newHoodState (input: {
  hood: Neighborhood
  epoch: number
  secret: Uint8Array
  relays?: readonly string[]
  /** Members known from the start; the creator passes itself (admitted, as the founder). */
  members?: readonly PublicIdentity[]
  joined: number
}): HoodState {
  let state: HoodState = {
    hood: input.hood,
    epochs: [{ epoch: input.epoch, secret: input.secret, learned: input.joined }],
    relays: [],
    members: [],
    attestations: [],
    revoked: [],
    removed: [],
    admissions: [],
    joined: input.joined
  }
  state = withRelays(state, input.relays ?? [])
  for (const m of input.members ?? []) state = withMember(state, m, { admitted: isAdminKey(state, m.signKey) })
  return checkHoodState(state)
}

function isAdminKey (state: HoodState, key: Uint8Array): boolean {
  return state.hood.admins.some(a => equalBytes(a, key))
}

/** Orders the secrets of one epoch: rekeys by id (lowest wins), an invite's secret (no rekey known) last. */
function beats (a: EpochSecret, b: EpochSecret): boolean {
  if (a.rekey === undefined) return false
  if (b.rekey === undefined) return true
  return rekeyIdWins(a.rekey.id, b.rekey.id)
}

/** The secret new posts of `epoch` are sealed under (see beats), if this home has one. */
export function winningSecret (state: HoodState, epoch: number): EpochSecret | undefined {
  let best: EpochSecret | undefined
  for (const e of state.epochs) if (e.epoch === epoch && (best === undefined || beats(e, best))) best = e
  return best
}

/** The current (highest) epoch's winning keys: what new posts are sealed under. */
export function currentEpochKeys (state: HoodState): EpochKeys {
  const last = state.epochs[state.epochs.length - 1]
  if (last === undefined) fail('MALFORMED', 'hood state has no epoch')
  const win = winningSecret(state, last.epoch)!
  return deriveEpochKeys(state.hood.id, win.epoch, win.secret)
}

/** The winning keys of one epoch, if this home knows a secret for it. */
export function epochKeys (state: HoodState, epoch: number): EpochKeys | undefined {
  const e = winningSecret(state, epoch)
  return e === undefined ? undefined : deriveEpochKeys(state.hood.id, e.epoch, e.secret)
}

/** Every secret this home holds for one epoch (several after concurrent rekeys): what opens its posts. */
export function allEpochKeys (state: HoodState, epoch: number): EpochKeys[] {
  return state.epochs.filter(e => e.epoch === epoch).map(e => deriveEpochKeys(state.hood.id, e.epoch, e.secret))
}

/** When this home first learned an epoch after `epoch` (its posts are cut off from then), if it did. */
export function supersededAt (state: HoodState, epoch: number): number | undefined {
  let at: number | undefined
  for (const e of state.epochs) if (e.epoch > epoch && (at === undefined || e.learned < at)) at = e.learned
  return at
}

/**
 * Keys of the epochs before the current one whose posts may still be unexpired, newest first,
 * at most `max`: closed (as this home saw it) less than MAX_TTL_MS plus the clock skew ago. A
 * relay token carries their tag keys so a new relay can mirror that history.
 */
export function unexpiredOlderEpochKeys (state: HoodState, now: number, max: number): EpochKeys[] {
  const current = currentEpochKeys(state).epoch
  const out: EpochKeys[] = []
  for (let i = state.epochs.length - 1; i >= 0 && out.length < max; i--) {
    const e = state.epochs[i]!
    if (e.epoch >= current) continue
    const closed = supersededAt(state, e.epoch)
    if (closed !== undefined && closed + MAX_TTL_MS + MAX_CLOCK_SKEW_MS <= now) break
    out.push(deriveEpochKeys(state.hood.id, e.epoch, e.secret))
  }
  return out
}

/**
 * Adds an epoch secret (kept sorted). The same epoch with the same secret keeps the earlier
 * learned time and adds the rekey if it was not known; a different secret for a known epoch
 * is kept beside it (two admins rekeyed at once), at most MAX_SECRETS_PER_EPOCH.
 * Past MAX_EPOCHS the oldest are dropped.
 */
export function withEpoch (state: HoodState, epoch: number, secret: Uint8Array, opts: { learned?: number, rekey?: RekeyInfo } = {}): HoodState {
  checkEpochSecret(epoch, secret)
  const learned = opts.learned ?? state.joined
  const same = state.epochs.findIndex(e => e.epoch === epoch && equalBytes(e.secret, secret))
  if (same >= 0) {
    const e = state.epochs[same]!
    if (e.rekey !== undefined || opts.rekey === undefined) return state
    const epochs = [...state.epochs]
    epochs[same] = { ...e, rekey: opts.rekey }
    return { ...state, epochs }
  }
  if (state.epochs.filter(e => e.epoch === epoch).length >= MAX_SECRETS_PER_EPOCH) fail('TOO_LARGE', `more than ${MAX_SECRETS_PER_EPOCH} secrets for epoch ${epoch}`)
  const entry: EpochSecret = { epoch, secret, learned, ...(opts.rekey !== undefined ? { rekey: opts.rekey } : {}) }
  const epochs = [...state.epochs, entry].sort((a, b) => a.epoch - b.epoch)
  return { ...state, epochs: epochs.slice(-MAX_EPOCHS) }
}

/** An agency's relays with `relays` added (not already known, the first MAX_RELAYS kept). */
export function withAgencyRelays (state: AgencyState, relays: readonly string[]): AgencyState {
  const out = [...(state.relays ?? [])]
  for (const r of relays) if (!out.includes(r) && out.length < MAX_RELAYS) out.push(r)
  return { ...state, relays: out }
}

/** Adds relays not already known, keeping the first MAX_RELAYS. */
export function withRelays (state: HoodState, relays: readonly string[]): HoodState {
  const out = [...state.relays]
  for (const r of relays) {
    checkRelayAddrs([r])
    if (!out.includes(r) && out.length < MAX_RELAYS) out.push(r)
  }
  return { ...state, relays: out }
}

/**
 * Adds or updates (same signKey) a member. Admission only ever goes up here (removal takes
 * withoutMember); a new name keeps the former one beside it (`renamedAt` = now). Admins are
 * always admitted. TOO_LARGE past MAX_MEMBERS.
 */
export function withMember (state: HoodState, member: PublicIdentity, opts: { admitted?: boolean, via?: Uint8Array, now?: number } = {}): HoodState {
  const old = state.members.find(m => equalBytes(m.signKey, member.signKey))
  const others = state.members.filter(m => m !== old)
  if (others.length >= MAX_MEMBERS) fail('TOO_LARGE', `more than ${MAX_MEMBERS} members`)
  const renamed = old !== undefined && old.name !== member.name
  const via = opts.via ?? old?.via
  const next: Member = {
    signKey: member.signKey,
    boxKey: member.boxKey,
    name: member.name,
    binding: member.binding,
    admitted: (old?.admitted ?? false) || opts.admitted === true || isAdminKey(state, member.signKey),
    ...(via !== undefined ? { via } : {}),
    ...(renamed ? { formerName: old.name, renamedAt: opts.now ?? state.joined } : (old?.formerName !== undefined ? { formerName: old.formerName, renamedAt: old.renamedAt! } : {}))
  }
  return { ...state, members: [...others, next] }
}

export function withoutMember (state: HoodState, signKey: Uint8Array): HoodState {
  return { ...state, members: state.members.filter(m => !equalBytes(m.signKey, signKey)) }
}

/** Removes members and remembers the removal (so an older join cannot put them back). */
export function withRemoved (state: HoodState, signKeys: readonly Uint8Array[], at: number, epoch: number): HoodState {
  let s = state
  const removed = [...state.removed]
  for (const k of signKeys) {
    s = withoutMember(s, k)
    if (!removed.some(r => equalBytes(r.signKey, k))) removed.push({ signKey: k, at, epoch })
  }
  return { ...s, removed: removed.slice(-MAX_REMOVED) }
}

/** The removal of `signKey`, if this home knows of one. */
export function removalOf (state: HoodState, signKey: Uint8Array): Removal | undefined {
  return state.removed.find(r => equalBytes(r.signKey, signKey))
}

/** Forgets a removal (an admin re-admitted the member with an admission from a later epoch). */
export function withoutRemoval (state: HoodState, signKey: Uint8Array): HoodState {
  return { ...state, removed: state.removed.filter(r => !equalBytes(r.signKey, signKey)) }
}

/** The state with `ended` cleared (back in: a rekey sealed to us, or a newer invite). */
export function withoutEnded (state: HoodState): HoodState {
  const { ended: _, ...rest } = state
  return rest
}

/** Who an invite key admitted, if anyone. */
export function admittedBy (state: HoodState, inviteKey: Uint8Array): AdmissionUse | undefined {
  return state.admissions.find(a => equalBytes(a.key, inviteKey))
}

/** Does a join at `at` by `member` come before `use` (earliest time, then lowest key: the same on every peer)? */
export function joinsBefore (member: Uint8Array, at: number, use: AdmissionUse): boolean {
  if (at !== use.at) return at < use.at
  return toHex(member) < toHex(use.member)
}

/**
 * Records that `inviteKey` admitted `member` by a join at `at`, unless an earlier join holds it.
 * A later-arriving earlier join takes it over: the member it held it for goes back to pending.
 */
export function withAdmission (state: HoodState, inviteKey: Uint8Array, member: Uint8Array, at: number): HoodState {
  const use = admittedBy(state, inviteKey)
  if (use !== undefined && (equalBytes(use.member, member) || !joinsBefore(member, at, use))) return state
  const others = state.admissions.filter(a => a !== use)
  const members = use === undefined ? state.members : state.members.map(m => equalBytes(m.signKey, use.member) && !isAdminKey(state, m.signKey) ? { ...m, admitted: false } : m)
  return { ...state, members, admissions: [...others, { key: inviteKey, member, at }].slice(-MAX_ADMISSIONS) }
}

export function withRevoked (state: HoodState, attestationId: Uint8Array): HoodState {
  if (state.revoked.some(r => equalBytes(r, attestationId))) return state
  return { ...state, revoked: [...state.revoked, attestationId].slice(-MAX_REVOKED) }
}

/** Adds an issued attestation (encoded bytes); past MAX_ATTESTATIONS the oldest are dropped. */
export function withAttestation (state: HoodState, attestation: Uint8Array): HoodState {
  checkAttestationBytes(attestation)
  if (state.attestations.some(a => equalBytes(a, attestation))) return state
  return { ...state, attestations: [...state.attestations, attestation].slice(-MAX_ATTESTATIONS) }
}

/** Adds followed areas (validated, deduplicated). TOO_LARGE past MAX_FOLLOWED_AREAS. */
export function withFollowedAreas (state: AgencyState, areas: readonly string[]): AgencyState {
  const out = [...state.areas]
  for (const a of areas) {
    checkGeohash(a, MAX_AREA_PRECISION, 'area')
    if (!out.includes(a)) out.push(a)
  }
  if (out.length > MAX_FOLLOWED_AREAS) fail('TOO_LARGE', `at most ${MAX_FOLLOWED_AREAS} followed areas`)
  return { ...state, areas: out }
}

export function withoutFollowedAreas (state: AgencyState, areas: readonly string[]): AgencyState {
  return { ...state, areas: state.areas.filter(a => !areas.includes(a)) }
}

/**
 * Adds an attestation the agency received (the caller verifies it first); past
 * MAX_AGENCY_ATTESTATIONS the oldest are dropped.
 */
export function withAgencyAttestation (state: AgencyState, attestation: Uint8Array): AgencyState {
  checkAttestationBytes(attestation)
  const current = state.attestations ?? []
  if (current.some(a => equalBytes(a, attestation))) return state
  return { ...state, attestations: [...current, attestation].slice(-MAX_AGENCY_ATTESTATIONS) }
}

/** The settings in force: what was chosen, else the defaults (a post's precision clamped to the area and MAX_POST_PRECISION). */
export function hoodSettings (state: HoodState): Required<HoodSettings> {
  const s = state.settings ?? {}
  const area = state.hood.area.length
  return {
    postTtlMs: s.postTtlMs ?? DEFAULT_TTL_MS,
    precision: Math.min(MAX_POST_PRECISION, Math.max(area, s.precision ?? area)),
    rfasForNewMembers: s.rfasForNewMembers ?? true
  }
}

/** The state with `patch` applied to its settings (undefined fields are left as they were); OUT_OF_RANGE when a value is. */
export function withSettings (state: HoodState, patch: HoodSettings): HoodState {
  const settings: HoodSettings = { ...state.settings }
  const next = { ...settings, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) } as HoodSettings
  checkSettings(next)
  return { ...state, settings: next }
}

/** OUT_OF_RANGE (or WRONG_TYPE) unless every value chosen is within its bounds. */
export function checkSettings (s: HoodSettings): void {
  if (s.postTtlMs !== undefined && (!Number.isSafeInteger(s.postTtlMs) || s.postTtlMs < MIN_SETTINGS_TTL_MS || s.postTtlMs > MAX_TTL_MS)) {
    fail('OUT_OF_RANGE', `a post's default lifetime must be 1 hour..${MAX_TTL_MS / 86_400_000} days`)
  }
  if (s.precision !== undefined && (!Number.isInteger(s.precision) || s.precision < 1 || s.precision > MAX_POST_PRECISION)) {
    fail('OUT_OF_RANGE', `the default location precision must be 1..${MAX_POST_PRECISION} geohash characters`)
  }
  if (s.rfasForNewMembers !== undefined && typeof s.rfasForNewMembers !== 'boolean') fail('WRONG_TYPE', 'rfasForNewMembers must be true or false')
}

// ---- encoding ----

export function encodeHoodState (state: HoodState): Uint8Array {
  checkHoodState(state)
  return encodeStruct(HOOD_FILE, {
    id: state.hood.id,
    name: state.hood.name,
    area: state.hood.area,
    founder: state.hood.founder,
    salt: state.hood.salt,
    ac: encodeAdminCerts(state.hood.adminCerts),
    epochs: state.epochs.map(e => ({
      e: e.epoch,
      s: e.secret,
      l: e.learned,
      r: e.rekey === undefined ? undefined : { id: e.rekey.id, by: e.rekey.by, rm: [...e.rekey.removed] }
    })),
    relays: [...state.relays],
    members: state.members.map(m => ({
      sk: m.signKey, bk: m.boxKey, n: m.name, sig: m.binding, ad: m.admitted, via: m.via, fn: m.formerName, rn: m.renamedAt
    })),
    attests: [...state.attestations],
    revoked: [...state.revoked],
    removed: state.removed.map(r => ({ sk: r.signKey, at: r.at, e: r.epoch })),
    admissions: state.admissions.map(a => ({ k: a.key, m: a.member, at: a.at })),
    joined: state.joined,
    ended: state.ended === undefined ? undefined : { why: state.ended.reason, at: state.ended.at, e: state.ended.epoch },
    set: state.settings === undefined
      ? undefined
      : { ttl: state.settings.postTtlMs, pr: state.settings.precision, rfa: state.settings.rfasForNewMembers, at: state.settingsFrom?.at, id: state.settingsFrom?.id }
  })
}

/**
 * Strict decoding of a hood file. Member bindings are not re-verified here (they were when
 * the member was added, and the file is ours); sizes, order and uniqueness are.
 */
export function decodeHoodState (bytes: Uint8Array): HoodState {
  let f: Fields
  try {
    f = decodeStruct(HOOD_FILE, bytes)
  } catch (err) {
    // Only a version 1 file gets the re-join advice; a newer version (from a later release) must not be deleted.
    if (isPorchlightError(err, 'BAD_VERSION') && (decodeCbor(bytes, MAX_HOOD_FILE_BYTES) as Map<unknown, unknown>).get('v') === 1) {
      fail('BAD_VERSION', 'this neighborhood was saved by an older Porchlight (file format 1, whose admins could be faked) ' +
        'and cannot be carried over: delete this file and join again from a new invite (porchlight hood join INVITE)')
    }
    throw err
  }
  const hood = neighborhoodOf({
    name: f.string('name', MAX_NAME_BYTES, 1),
    area: f.string('area', MAX_AREA_PRECISION, 1),
    founder: f.bytes('founder', { len: 32 }),
    salt: f.bytes('salt', { len: HOOD_SALT_BYTES }),
    adminCerts: readAdminCerts(f, 'ac')
  })
  if (!equalBytes(hood.id, f.bytes('id', { len: HOOD_ID_BYTES }))) fail('MALFORMED', 'neighborhood id does not follow from its founder')
  const epochs = f.array('epochs', MAX_EPOCHS, item => {
    const e = item.record(['e', 's', 'l'], ['r'])
    let rekey: RekeyInfo | undefined
    if (e.has('r')) {
      const r = e.record('r', ['id', 'by', 'rm'])
      rekey = { id: r.bytes('id', { len: 32 }), by: r.bytes('by', { len: 32 }), removed: r.array('rm', MAX_MEMBERS, k => k.bytes({ len: 32 })) }
    }
    return { epoch: e.uint('e', MAX_EPOCH), secret: e.bytes('s', { len: EPOCH_SECRET_BYTES }), learned: e.uint('l'), ...(rekey !== undefined ? { rekey } : {}) }
  })
  const relays = f.array('relays', MAX_RELAYS, item => item.string(MAX_RELAY_ADDR_BYTES, 1))
  const members = f.array('members', MAX_MEMBERS, item => decodeMember(item.record(['sk', 'bk', 'n', 'sig', 'ad'], ['via', 'fn', 'rn'])))
  const attestations = f.array('attests', MAX_ATTESTATIONS, item => item.bytes({ min: 1, max: MAX_ATTESTATION_BYTES }))
  const revoked = f.array('revoked', MAX_REVOKED, item => item.bytes({ len: 32 }))
  const removed = f.array('removed', MAX_REMOVED, item => {
    const r = item.record(['sk', 'at', 'e'])
    return { signKey: r.bytes('sk', { len: 32 }), at: r.uint('at'), epoch: r.uint('e', MAX_EPOCH) }
  })
  const admissions = f.array('admissions', MAX_ADMISSIONS, item => {
    const a = item.record(['k', 'm', 'at'])
    return { key: a.bytes('k', { len: 32 }), member: a.bytes('m', { len: 32 }), at: a.uint('at') }
  })
  let ended: HoodState['ended']
  if (f.has('ended')) {
    const x = f.record('ended', ['why', 'at', 'e'])
    ended = { reason: x.oneOf('why', ['removed', 'left'] as const), at: x.uint('at'), epoch: x.uint('e', MAX_EPOCH) }
  }
  let settings: HoodSettings | undefined
  let settingsFrom: HoodState['settingsFrom']
  if (f.has('set')) {
    const x = f.record('set', [], ['ttl', 'pr', 'rfa', 'at', 'id'])
    if (x.has('at') !== x.has('id')) fail('MALFORMED', 'settings carry both the time and the id of their message, or neither')
    if (x.has('at')) settingsFrom = { at: x.uint('at'), id: x.bytes('id', { len: 32 }) }
    const postTtlMs = x.optUint('ttl', MAX_TTL_MS, MIN_SETTINGS_TTL_MS)
    const precision = x.optUint('pr', MAX_POST_PRECISION, 1)
    settings = {
      ...(postTtlMs !== undefined ? { postTtlMs } : {}),
      ...(precision !== undefined ? { precision } : {}),
      ...(x.has('rfa') ? { rfasForNewMembers: x.bool('rfa') } : {})
    }
  }
  const state: HoodState = {
    hood, epochs, relays, members, attestations, revoked, removed, admissions, joined: f.uint('joined'), ...(ended !== undefined ? { ended } : {}), ...(settings !== undefined ? { settings } : {}),
    ...(settingsFrom !== undefined ? { settingsFrom } : {})
  }
  return checkHoodState(state)
}

function decodeMember (m: Fields): Member {
  const via = m.optBytes('via', { len: 32 })
  const formerName = m.optString('fn', MAX_NAME_BYTES, 1)
  const renamedAt = m.optUint('rn')
  return {
    signKey: m.bytes('sk', { len: 32 }),
    boxKey: m.bytes('bk', { len: 32 }),
    name: m.string('n', MAX_NAME_BYTES, 1),
    binding: m.bytes('sig', { len: 64 }),
    admitted: m.bool('ad'),
    ...(via !== undefined ? { via } : {}),
    ...(formerName !== undefined && renamedAt !== undefined ? { formerName, renamedAt } : {})
  }
}

export function encodeAgencyState (state: AgencyState): Uint8Array {
  checkAgencyState(state)
  const rl = state.relays !== undefined && state.relays.length > 0 ? [...state.relays] : undefined
  return encodeStruct(AGENCY_STATE, { areas: [...state.areas], att: [...(state.attestations ?? [])], rl })
}

export function decodeAgencyState (bytes: Uint8Array): AgencyState {
  const f = decodeStruct(AGENCY_STATE, bytes)
  return checkAgencyState({
    areas: f.array('areas', MAX_FOLLOWED_AREAS, item => item.string(MAX_AREA_PRECISION, 1)),
    attestations: f.array('att', MAX_AGENCY_ATTESTATIONS, item => item.bytes({ min: 1, max: MAX_ATTESTATION_BYTES })),
    ...(f.has('rl') ? { relays: f.array('rl', MAX_RELAYS, item => item.string(MAX_RELAY_ADDR_BYTES, 1)) } : {})
  })
}

function checkAgencyState (state: AgencyState): AgencyState {
  if (state.areas.length > MAX_FOLLOWED_AREAS) fail('TOO_LARGE', `at most ${MAX_FOLLOWED_AREAS} followed areas`)
  for (const a of state.areas) checkGeohash(a, MAX_AREA_PRECISION, 'followed area')
  if (new Set(state.areas).size !== state.areas.length) fail('MALFORMED', 'followed areas repeat')
  const att = state.attestations ?? []
  if (att.length > MAX_AGENCY_ATTESTATIONS) fail('TOO_LARGE', `at most ${MAX_AGENCY_ATTESTATIONS} attestations`)
  for (const a of att) checkAttestationBytes(a)
  if (state.relays !== undefined) checkRelayAddrs(state.relays)
  return state
}

function checkAttestationBytes (attestation: Uint8Array): void {
  if (!(attestation instanceof Uint8Array) || attestation.length === 0 || attestation.length > MAX_ATTESTATION_BYTES) {
    fail('TOO_LARGE', `attestation must be 1..${MAX_ATTESTATION_BYTES} bytes`)
  }
}

export function checkHoodState (state: HoodState): HoodState {
  checkNeighborhood(state.hood)
  if (state.epochs.length === 0) fail('MISSING_FIELD', 'a hood needs at least one epoch secret')
  if (state.epochs.length > MAX_EPOCHS) fail('TOO_LARGE', `more than ${MAX_EPOCHS} epochs`)
  let last = -1
  const seen = new Set<string>()
  for (const e of state.epochs) {
    checkEpochSecret(e.epoch, e.secret)
    if (e.epoch < last) fail('MALFORMED', 'epochs must be ascending')
    const key = `${e.epoch}:${toHex(e.secret)}`
    if (seen.has(key)) fail('MALFORMED', 'an epoch secret repeats')
    seen.add(key)
    if (!Number.isSafeInteger(e.learned) || e.learned < 0) fail('OUT_OF_RANGE', 'learned must be a time in ms')
    last = e.epoch
  }
  checkRelayAddrs(state.relays)
  if (state.members.length > MAX_MEMBERS) fail('TOO_LARGE', `more than ${MAX_MEMBERS} members`)
  const keys = new Set(state.members.map(m => toHex(m.signKey)))
  if (keys.size !== state.members.length) fail('MALFORMED', 'members repeat')
  if (state.attestations.length > MAX_ATTESTATIONS) fail('TOO_LARGE', `more than ${MAX_ATTESTATIONS} attestations`)
  if (!Number.isSafeInteger(state.joined) || state.joined < 0) fail('OUT_OF_RANGE', 'joined must be a time in ms')
  if (state.settings !== undefined) checkSettings(state.settings)
  return state
}

function checkEpochSecret (epoch: number, secret: Uint8Array): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_EPOCH) fail('OUT_OF_RANGE', `epoch ${epoch} out of range`)
  if (!(secret instanceof Uint8Array) || secret.length !== EPOCH_SECRET_BYTES) fail('BAD_LENGTH', 'epoch secret must be 32 bytes')
}

export function pickHood (all: readonly HoodState[], ref: string, root: string): HoodState {
  const byName = all.filter(h => h.hood.name === ref)
  if (byName.length === 1) return byName[0]!
  const lower = ref.toLowerCase()
  if (/^[0-9a-f]{4,64}$/.test(lower)) {
    const byId = all.filter(h => toHex(h.hood.id).startsWith(lower))
    if (byId.length === 1) return byId[0]!
    if (byId.length > 1) fail('BAD_ARGUMENT', `id prefix "${ref}" matches ${byId.length} neighborhoods; give more characters`)
  }
  if (byName.length > 1) {
    fail('BAD_ARGUMENT', `${byName.length} neighborhoods are named "${ref}"; choose by id: ${byName.map(h => toHex(h.hood.id).slice(0, 8)).join(', ')}`)
  }
  // Typing "elm street" for "Elm Street" is fine while it picks one hood.
  const folded = all.filter(h => h.hood.name.toLowerCase() === lower)
  if (folded.length === 1) return folded[0]!
  fail('NOT_FOUND', `no neighborhood "${ref.slice(0, 64)}" in ${root} (see \`porchlight hood list\`)`)
}

/**
 * The hood named by `ref` among `all`, or, without `ref`, the only one. Errors say what to do:
 * join or create one (none), or pass --hood (several). `where` names the home in messages.
 */
export function resolveHood (all: readonly HoodState[], ref: string | undefined, where: string): HoodState {
  if (ref !== undefined) return pickHood(all, ref, where)
  if (all.length === 1) return all[0]!
  if (all.length === 0) {
    fail('NOT_FOUND', 'not in any neighborhood: join one with `porchlight hood join INVITE` or create one with `porchlight hood create`')
  }
  fail('BAD_ARGUMENT', `in ${all.length} neighborhoods (${all.map(h => h.hood.name).join(', ')}): choose one with --hood NAME_OR_ID`)
}
