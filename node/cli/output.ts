/**
 * What the CLI prints. Human output is for people and may change; `--json` output is a stable
 * interface, documented here. Every --json result is ONE line holding ONE JSON object on
 * stdout. Raw bytes (keys, ids) are always lowercase hex; the self-describing strings
 * (invites 'porchlight:…', relay tokens 'plrelay:…', public identities 'plid:…',
 * attestations 'plattest:…', backups 'plbackup:…') are base64url inside and printed as they are. Times are integer
 * ms since the Unix epoch. Fields may be added in later versions; none is removed or retyped.
 *
 *   Identity   { name, fingerprint: "XXXX-XXXX-XXXX-XXXX", role: "resident"|"agency",
 *                signKey: hex64, boxKey: hex64, public: "plid:…" }
 *   Hood       { id: hex64, name, area: geohash, topic: "/porchlight/1/n/<hex32>", epoch: int,
 *                admin: bool (this identity is an admin), admins: hex64[] (verified: the founder,
 *                then each admin certified by an earlier one), adminFingerprints: string[],
 *                relays: multiaddr[], members: int (known members), joined: ms,
 *                ended?: { reason: "removed"|"left", at: ms, epoch: int } (this identity is out) }
 *   Member     { name, fingerprint, signKey: hex64, boxKey: hex64, admin: bool, me: bool,
 *                admitted: bool (on the list the next rekey is sealed to; false = awaiting an
 *                admin's approval), lookAlike: bool (another member's name looks like this one:
 *                show the fingerprint), formerName?: string, renamedAt?: ms }
 *   Attestation { attestation: "plattest:…", agency: hex64 (its signKey), name, area,
 *                admin: hex64 (the vouching admin's signKey), adminFingerprint, issued: ms, expires: ms }
 *   Post       { id: hex64, channel: "private"|"public"|"rfa", topic, hood?: name, area?: geohash,
 *                kind, text, location?: geohash, created: ms, expires: ms,
 *                media: [{ cid, key: base64url, mime, size: int, hash: hex64 }], replyTo?: hex64,
 *                author: hex64 (the member's key; an area pseudonym for public posts; the agency's
 *                key for requests), authorName?, authorFingerprint, lookAlike?: bool,
 *                authorFormerName?, mine: bool, vouchedBy?: fingerprint[] (requests: admins of
 *                your neighborhoods who vouched for the agency; empty = unverified),
 *                attestations?: [{ admin: hex64, id: hex64, expires: ms, name }],
 *                publicId?: hex64 (your own private post's public copy, which is then not listed
 *                again) }   (protocol/peer/resident.ts FeedPost)
 *
 *   id create, id show, agency create    Identity
 *   id export-public                    { public: "plid:…" }
 *   id export                           { file: path (written 0600: "plbackup:…" and a newline, protocol/backup.ts), name, fingerprint,
 *                                         role: "resident"|"agency", hoods: [{ id: hex64, name }], kdf: { kdf: "scrypt", logN, r, p } }
 *   id import                           { identity: Identity, hoods: Hood[] (restored), kept: hex64[] (neighborhoods this home
 *                                         had that the backup does not hold, left as they were), created: ms (when the backup was made) }
 *   id rename                           { name, formerName, told: hood name[] (neighborhoods told) }
 *   hood create                         { hood: Hood, invite: "porchlight:…", expires: ms }
 *   hood invite                         { hood: hex64, epoch: int, invite: "porchlight:…", expires: ms }
 *   hood join                           { hood: Hood, inviter: Member, announced: bool (a relay took the join announcement),
 *                                         admitted: bool (an admin's invite admitted you; false = awaiting approval) }
 *   hood list                           { hoods: Hood[] }
 *   hood members                        { hood: hex64, members: Member[], removed: [{ signKey: hex64, fingerprint, at: ms, epoch }] }
 *   hood approve                        { hood: hex64, member: { name, signKey: hex64, admitted: true }, sent: bool }
 *   hood leave                          { hood: hex64, sent: bool }
 *   hood add-admin                      { hood: hex64, admin: hex64 (the new admin's signKey), epoch: int, sent: bool }
 *   hood remove                         { epoch: int (the new one), remaining: int (members it is sealed to), sent: bool }
 *   hood attestations                   { hood: hex64, attestations: [{ id: hex64, name, agencyFingerprint, area, expires: ms, revoked: bool }] }
 *   hood revoke-agency                  { hood: hex64, attestations: hex64[] (their ids), sent: bool }
 *   hood relay-token                    { hood: hex64, epoch: int, older: int[] (epochs whose history it lets a relay mirror), topic, token: "plrelay:…" }
 *   hood attest-agency                  { hood: hex64, attestation: Attestation }
 *   hood settings                       { hood: hex64, postTtlMs: ms (a new post's default lifetime), precision: int (geohash
 *                                         characters a new post's location keeps by default), rfasForNewMembers: bool,
 *                                         sent?: bool (after a change: whether a relay took the announcement) }
 *   transparency AREA                   { area: geohash, rfas: [{ id: hex64, agency: name (the agency identity's own),
 *                                         fingerprint (the agency key's), vouchedBy: [{ admin: fingerprint (the vouching admin
 *                                         key, as the attestation says), name (vouched as), area: geohash, expires: ms }]
 *                                         (attestations the request carried that cover its area; empty = unverified),
 *                                         created: ms, text, publicReplies: int (public posts replying to it that the relays
 *                                         hold; the highest count of any relay asked) }] (newest first; protocol/transparency.ts) }
 *   agency follow                       { areas: geohash[], relays: multiaddr[] (remembered for agency feed and rfa) }
 *   agency unfollow                     { areas: geohash[] }
 *   agency add-attestation              { attestation: Attestation, attestations: int (kept) }
 *   agency show                         { identity: Identity, areas: geohash[], attestations: Attestation[] }
 *   post                                { id: hex64 (the private post), relay: multiaddr|null (the relay that
 *                                         stored it), publicId: hex64|null, publicSent: bool,
 *                                         publicCopy: "acknowledged"|"not sent"|null (null without --public),
 *                                         publicRelay: multiaddr|null, clip?: { cid, mime, size, pinnedBy: multiaddr[] } }
 *   retract                             { id: hex64 (the post retracted), relay: multiaddr|null (the relay that took the
 *                                         retraction; null if the post had never left the outbox), publicId: hex64|null
 *                                         (its public copy), publicRetracted: bool|null (null without a public copy),
 *                                         publicRelay: multiaddr|null }
 *   reply                               { id: hex64 (the reply: private post, public post, or sealed box), replyTo: hex64,
 *                                         mode: "private"|"public"|"sealed", audience: { mode, hood?: name (private),
 *                                         area?: geohash (public, sealed), agency?: { name, fingerprint } (sealed) },
 *                                         relay: multiaddr|null, clip?: { cid, mime, size, pinnedBy: multiaddr[] } }
 *   settings rfa                        { rfa: "on"|"off" }
 *   feed                                { posts: Post[], synced: int (posts received now), relayAnswered: bool
 *                                         (false: what is stored here, maybe stale), outbox: int (waiting to be sent),
 *                                         ended: [{ hood: name, reason: "removed"|"left", at: ms, epoch: int }] }
 *   watch                               Post, one line per post as it arrives (until Ctrl-C); losing and
 *                                         regaining a relay is said on stderr, in words, even with --json
 *   hood announce                       { announced: true }
 *   clip get                            { path, mime, size: int, post: hex64 }
 *   agency feed                         { posts: Post[] }   (no relay answered: an UNAVAILABLE error, unless --no-sync)
 *   agency rfa                          { id: hex64, area: geohash }
 *   agency replies                      { replies: [{ id: hex64 (its sealed message; `clip get ID` takes it), rfa: hex64,
 *                                         text, clips: [{ cid, key: base64url, mime, size: int, hash: hex64 }], created: ms,
 *                                         expires: ms, author?: { name, fingerprint } (only if the resident signed it) }] }
 *   relay                               { peerId, addresses: multiaddr[], http: url } (first line, once listening)
 *   --version                           { version }
 *
 *   Errors (stderr, exit 1; exit 2 for usage errors):
 *                                       { error: { code: ErrorCode | "INTERNAL", message } }
 *   where ErrorCode is protocol/errors.ts's (NOT_FOUND, BAD_ARGUMENT, REFUSED, BAD_INVITE, …).
 */
import { PorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { fingerprint, type Identity, type PublicIdentity } from '../../protocol/identity.ts'
import { isAdmin, privateTopic } from '../../protocol/neighborhood.ts'
import type { AgencyAttestation } from '../../protocol/agency.ts'
import {
  ATTESTATION_PREFIX, MAX_ATTESTATION_CHARS, MAX_PUBLIC_ID_CHARS, PUBLIC_ID_PREFIX, formatAttestation, formatPublicIdentity, parseAttestationString, parsePublicIdentity
} from '../../protocol/public-strings.ts'
import { currentEpochKeys, type HoodState, type Member, type Role } from '../storage/home-dir.ts'
import { attestationInfo, memberInfo, type AttestationInfo, type MemberInfo } from '../../protocol/peer/admin-actions.ts'

export { ATTESTATION_PREFIX, MAX_ATTESTATION_CHARS, MAX_PUBLIC_ID_CHARS, PUBLIC_ID_PREFIX, formatAttestation, formatPublicIdentity, parseAttestationString, parsePublicIdentity }

export interface IdentityJson {
  name: string
  fingerprint: string
  role: Role
  signKey: string
  boxKey: string
  public: string
}

export interface HoodJson {
  id: string
  name: string
  area: string
  topic: string
  epoch: number
  admin: boolean
  admins: string[]
  adminFingerprints: string[]
  relays: string[]
  members: number
  joined: number
  ended?: { reason: 'removed' | 'left', at: number, epoch: number }
}

export type MemberJson = MemberInfo

export type AttestationJson = AttestationInfo

export interface ErrorJson {
  error: { code: string, message: string }
}

/** The attestation as --json prints it (protocol/peer/admin-actions.ts). */
export const attestationJson: (bytes: Uint8Array, att: AgencyAttestation) => AttestationJson = attestationInfo

export function identityJson (id: Identity, role: Role): IdentityJson {
  const p = id.public
  return {
    name: p.name,
    fingerprint: fingerprint(p.signKey),
    role,
    signKey: toHex(p.signKey),
    boxKey: toHex(p.boxKey),
    public: formatPublicIdentity(p)
  }
}

export function hoodJson (state: HoodState, me: Identity | undefined): HoodJson {
  const h = state.hood
  return {
    id: toHex(h.id),
    name: h.name,
    area: h.area,
    topic: privateTopic(h.id),
    epoch: currentEpochKeys(state).epoch,
    admin: me !== undefined && isAdmin(h, me.public.signKey),
    admins: h.admins.map(toHex),
    adminFingerprints: h.admins.map(fingerprint),
    relays: [...state.relays],
    members: state.members.length,
    joined: state.joined,
    ...(state.ended !== undefined ? { ended: { ...state.ended } } : {})
  }
}

/** A member as --json prints it (protocol/peer/admin-actions.ts). */
export const memberJson: (member: PublicIdentity & Partial<Member>, state: HoodState | undefined, me: Identity | undefined) => MemberJson = memberInfo

export function errorJson (err: unknown): ErrorJson {
  if (err instanceof PorchlightError) return { error: { code: err.code, message: oneLine(err.message) } }
  return { error: { code: 'INTERNAL', message: oneLine(err instanceof Error ? err.message : String(err)) } }
}

/** Lays out `[label, value]` rows in two aligned columns. */
export function table (rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')
}

/** Messages must stay one line: no control characters reach the terminal (names are user input). */
export function oneLine (s: string): string {
  return s.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim()
}

export interface Writer { write: (chunk: string) => unknown }

/** Routes results to stdout (JSON or human) and notes to stderr (human mode only). */
export class Output {
  constructor (readonly stdout: Writer, readonly stderr: Writer, readonly json: boolean) {}

  /** The command's result: `value` as one JSON line with --json, else `human` (a line or lines). */
  result (value: object, human: string | readonly string[]): void {
    if (this.json) {
      this.stdout.write(JSON.stringify(value) + '\n')
    } else {
      const text = typeof human === 'string' ? human : human.join('\n')
      if (text !== '') this.stdout.write(text.endsWith('\n') ? text : text + '\n')
    }
  }

  /** Extra words for people (what just happened, what to do next); not part of the result. */
  note (message: string): void {
    if (!this.json) this.stderr.write(message + '\n')
  }

  /** Something a user must hear even with --json (a long-running command losing its relays): on stderr. */
  warn (message: string): void {
    this.stderr.write(message + '\n')
  }
}
