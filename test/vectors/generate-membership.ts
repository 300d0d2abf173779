/**
 * Writes test/vectors/membership.json: vectors for sealed boxes, the self-certifying
 * neighborhood id and its admin certificate chain, invites (v2, an admin's with its admission
 * ('pl/admission' v2, naming the invite key) and invite key, a member's without), relay tokens
 * (v2, and a v1 token that must be refused), join (v2, with an admission and the invite key's
 * 'pl/admission-use' signature, and without), a join quoting an admission copied out of
 * another's join (refused), admit and leave announcements, rekeys (v2, signed by an admin
 * through the chain, with a relay box; and a concurrent rekey from the same epoch), agency
 * attestations and their revocation, RFAs and sealed agency replies, so another implementation
 * can check itself against this one. Every input comes from a label:
 *   input(label) = SHA-256("porchlight/vectors/membership/" || label)   (32 bytes; truncated where shorter)
 * Randomness that is not a named input (rekey padding slots and shuffles) comes from
 *   drbg(seed): call i returns HKDF-SHA256(ikm = seed, salt = "", info = "porchlight/vectors/drbg/" || i, n)
 * The relay's libp2p key is the Ed25519 key of seed input("relay/seed"); its box secret is
 * that seed's X25519 (Montgomery) form (rekey.ts relayBoxSecret). An admin's invite key (the
 * Ed25519 seed 'ik' the invite carries, fresh and random in createInvite) is
 * input("<inviter>/invite-key"); the invite is signed over it as createInvite signs (see
 * deterministicInviteKey below).
 * The story: Ada founds the neighborhood (epoch 0) and invites; Ben (a member) invites too;
 * Ada makes Cleo an admin; Cleo joins through Ada's invite (admitted), Dev through Ben's
 * (pending) until Ada approves him; Dev's join quoting the admission out of Cleo's join is
 * refused (BAD_SIGNATURE: its 'use' names Cleo); Dev leaves; Cleo rekeys to epoch 1 without Dev, and Ada
 * rekeys from epoch 0 at the same time (the lower SHA-256 wins); Cleo revokes Ada's
 * attestation of Springfield PD.
 * All byte fields are lowercase hex; times are ms. Run:
 *   `node --import tsx test/vectors/generate-membership.ts`
 * test/protocol/membership.test.ts regenerates this file's content and compares it exactly.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { ed25519 } from '@noble/curves/ed25519.js'
import { hkdf, sha256 } from '../../protocol/crypto.ts'
import { decodeStruct, encodeStruct, fromHex, type StructSpec, toBase64Url, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity, encodePublicIdentity, type Identity, signStruct } from '../../protocol/identity.ts'
import { deriveEpochKeys, HOOD_SALT_BYTES, type Neighborhood, neighborhoodOf, privateTopic } from '../../protocol/neighborhood.ts'
import { addAdmin, encodeAdminCerts } from '../../protocol/admins.ts'
import { sealTo } from '../../protocol/seal.ts'
import { createAdmission, createInvite, encodeInvite, type Invite, MAX_INVITE_BYTES } from '../../protocol/invite.ts'
import { createRelayToken, encodeRelayToken, RELAY_TOKEN_PREFIX } from '../../protocol/relay-token.ts'
import { createAdmit, createJoin, createLeave, MAX_JOIN_BYTES } from '../../protocol/membership.ts'
import { createRekey, rekeySlotCount, rekeyWins, relayBoxPublicKey, relayBoxSecret } from '../../protocol/rekey.ts'
import { attestationId, createAttestation, createRevocation, sealReplyToAgency, sealRfa } from '../../protocol/agency.ts'
import { createPost } from '../../protocol/post.ts'

const OUT = new URL('./membership.json', import.meta.url)

export function input (label: string, length = 32): Uint8Array {
  return sha256(utf8Bytes(`porchlight/vectors/membership/${label}`)).subarray(0, length)
}

/** Deterministic randomness for vectors (see the header). */
export function drbg (seed: Uint8Array): (n: number) => Uint8Array {
  let i = 0
  return (n: number) => hkdf(seed, new Uint8Array(0), `porchlight/vectors/drbg/${i++}`, n)
}

export const NOW = 1_750_000_000_000
export const PEOPLE = ['Ada', 'Ben', 'Cleo', 'Dev', 'Springfield PD'] as const
export const HOOD_NAME = 'Maple Street Watch'
export const HOOD_AREA = '9q8yyk'
/** Two relay multiaddrs of 95 and 80 characters. */
export const RELAYS = [
  '/dns4/relay1.maple.example/tcp/443/wss/p2p/12D3KooWHdPbSKzXNr4qLyaQ6a3wE6wM3xFjv1m8ErdMPfLUnXmV',
  '/ip4/203.0.113.7/tcp/80/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
]

/** The relay token as it was before the founder root (v1): what old relays were given. */
const RELAY_TOKEN_V1: StructSpec = { domain: 'pl/relay-token', version: 1, required: ['tp', 'e', 'k'], optional: ['a'], maxBytes: 160 }
/** What an invite's 'sig' signs (invite.ts), spelled out to sign over a chosen invite key. */
const INVITE_BODY: StructSpec = { domain: 'pl/invite-body', version: 2, required: ['h', 'e', 's', 'r', 'i', 'x'], optional: ['adm', 'ik'], maxBytes: MAX_INVITE_BYTES }
/** A join and its signed part (membership.ts), spelled out to quote a copied admission. */
const JOIN: StructSpec = { domain: 'pl/join', version: 2, required: ['m', 'at', 'sig'], optional: ['via', 'adm'], maxBytes: MAX_JOIN_BYTES }
const JOIN_BODY: StructSpec = { domain: 'pl/join-body', version: 2, required: ['m', 'tp', 'at'], optional: ['via', 'adm'], maxBytes: MAX_JOIN_BYTES }

/**
 * `inv` (an admin's, from createInvite) with its random invite key replaced by `seed`: the
 * admission made for that key (createAdmission) and the invite signed again over the same
 * fields, as createInvite signs them. parseInvite accepting the result is checked by the tests.
 */
async function deterministicInviteKey (inviter: Identity, hood: Neighborhood, inv: Invite, seed: Uint8Array): Promise<Invite> {
  const { admission, inviteKey } = await createAdmission(inviter, hood, inv.epoch, inv.expires, seed)
  const fields = {
    h: { n: hood.name, a: hood.area, f: hood.founder, s: hood.salt, ac: encodeAdminCerts(hood.adminCerts) },
    e: inv.epoch,
    s: inv.secret,
    r: [...inv.relays],
    i: encodePublicIdentity(inv.inviter),
    x: inv.expires,
    adm: admission.sig,
    ik: inviteKey
  }
  return { ...inv, admission, inviteKey, sig: await signStruct(inviter.seed, INVITE_BODY, fields) }
}

export interface Fixture {
  people: Record<typeof PEOPLE[number], Identity>
  /** As founded: Ada, the founder, its one admin. */
  founded: Neighborhood
  /** After Ada made Cleo an admin (same id). */
  hood: Neighborhood
  epoch0: ReturnType<typeof deriveEpochKeys>
  /** The relay's libp2p Ed25519 key pair. */
  relay: { seed: Uint8Array, publicKey: Uint8Array, boxSecret: Uint8Array }
}

export async function fixture (): Promise<Fixture> {
  const people = {} as Fixture['people']
  for (const name of PEOPLE) {
    people[name] = await createIdentity(name, { seed: input(`${name}/seed`), boxSecret: input(`${name}/box`) })
  }
  const founded = neighborhoodOf({ name: HOOD_NAME, area: HOOD_AREA, founder: people.Ada.public.signKey, salt: input('hood/salt', HOOD_SALT_BYTES) })
  const hood = await addAdmin(people.Ada, founded, people.Cleo.public.signKey)
  const seed = input('relay/seed')
  const relay = { seed, publicKey: ed25519.getPublicKey(seed), boxSecret: relayBoxSecret(seed) }
  return { people, founded, hood, epoch0: deriveEpochKeys(hood.id, 0, input('hood/epoch-0/secret')), relay }
}

interface RekeyVector {
  admin: string
  remaining: string[]
  removed: string[]
  relays: string[]
  secret: string
  ephemeralSecret: string
  drbgSeed: string
  bytes: string
  epoch: number
  contentKey: string
  tagKey: string
  slots: number
  /** SHA-256 of the bytes: the message id that orders concurrent rekeys (lower wins). */
  id: string
}

export interface MembershipVectors {
  description: string
  identities: Array<{ name: string, seed: string, boxSecret: string, signKey: string, boxKey: string }>
  hood: { founder: string, salt: string, id: string, name: string, area: string, topic: string, epoch: number, secret: string }
  adminChain: { admins: string[], certs: Array<{ admin: string, key: string, by: number, sig: string }> }
  relay: { seed: string, publicKey: string, boxPublicKey: string, boxSecret: string }
  now: number
  sealedBox: Array<{ recipientBoxSecret: string, ephemeralSecret: string, context: string, plaintext: string, sealed: string }>
  invite: Array<{
    inviter: string
    role: 'admin' | 'member'
    admins: number
    /** The admission's signature ('adm'), or null for a member's invite. */
    admission: string | null
    /** The invite key's Ed25519 seed ('ik'), with the admission. */
    inviteKey: string | null
    /** Its public key: the admission's 'k'. */
    inviteKeyPublic: string | null
    relays: string[]
    ttlMs: number
    invite: string
    length: number
  }>
  relayToken: Array<{ includeArea: boolean, token: string }>
  relayTokenV1: { token: string, error: 'BAD_VERSION' }
  /** inviteKeyPublic: the admission's 'k' (the inviter's invite key), or null without an admission. */
  join: Array<{ member: string, via: string, admittedBy: string | null, inviteKeyPublic: string | null, bytes: string }>
  /** Dev (invited by Ben) quoting the admission of Cleo's join, her 'use' included: openJoin refuses it. */
  copiedAdmission: { member: string, via: string, copiedFrom: string, bytes: string, error: 'BAD_SIGNATURE' }
  admit: { admin: string, member: string, bytes: string }
  leave: { member: string, bytes: string }
  rekey: RekeyVector
  concurrentRekey: RekeyVector & { winner: string }
  attestation: { admin: string, agency: string, area: string, ttlMs: number, bytes: string, id: string }
  revocation: { admin: string, attestation: string, bytes: string }
  rfa: { agency: string, area: string, location: string, text: string, ttlMs: number, bytes: string, id: string }
  agencyReply: Array<{ author: string | null, text: string, ttlMs: number, ephemeralSecret: string, sealed: string }>
}

export async function generateMembership (): Promise<MembershipVectors> {
  const { people, founded, hood, epoch0, relay } = await fixture()
  const topic = privateTopic(hood.id)

  const sealedBox: MembershipVectors['sealedBox'] = []
  for (const [i, context, plaintext] of [
    [0, 'pl/agency-reply', utf8Bytes('Saw a white van at 9pm near Elm & 3rd.')],
    [1, 'pl/test', new Uint8Array(0)]
  ] as const) {
    const recipient = people.Ben
    const ephemeralSecret = input(`seal-${i}/eph`)
    const sealed = await sealTo(recipient.public.boxKey, plaintext, context, { ephemeralSecret })
    sealedBox.push({ recipientBoxSecret: toHex(recipient.boxSecret), ephemeralSecret: toHex(ephemeralSecret), context, plaintext: toHex(plaintext), sealed: toHex(sealed) })
  }

  const adminChain = {
    admins: hood.admins.map(toHex),
    certs: hood.adminCerts.map(c => ({ admin: 'Cleo', key: toHex(c.key), by: c.by, sig: toHex(c.sig) }))
  }

  // Ada and Ben invite as founded (one admin); Cleo after she became an admin (the chain travels).
  const invite: MembershipVectors['invite'] = []
  const invites = {} as Record<'Ada' | 'Ben' | 'Cleo', Awaited<ReturnType<typeof createInvite>>>
  for (const [who, h, relays, ttlMs] of [['Ada', founded, RELAYS, 7 * 86_400_000], ['Ben', founded, [], 86_400_000], ['Cleo', hood, RELAYS.slice(0, 1), 86_400_000]] as const) {
    const made = await createInvite(people[who], h, epoch0, relays, NOW, ttlMs)
    const inv = made.admission === undefined ? made : await deterministicInviteKey(people[who], h, made, input(`${who}/invite-key`))
    invites[who] = inv
    const s = encodeInvite(inv)
    invite.push({
      inviter: who,
      role: inv.inviterRole,
      admins: h.admins.length,
      admission: inv.admission === undefined ? null : toHex(inv.admission.sig),
      inviteKey: inv.inviteKey === undefined ? null : toHex(inv.inviteKey),
      inviteKeyPublic: inv.admission === undefined ? null : toHex(inv.admission.key),
      relays: [...relays],
      ttlMs,
      invite: s,
      length: s.length
    })
  }

  const relayToken = [false, true].map(includeArea => ({ includeArea, token: encodeRelayToken(createRelayToken(hood, epoch0, { includeArea })) }))
  const relayTokenV1 = {
    token: RELAY_TOKEN_PREFIX + toBase64Url(encodeStruct(RELAY_TOKEN_V1, { tp: topic, e: 0, k: epoch0.tagKey })),
    error: 'BAD_VERSION' as const
  }

  const cleoJoin = await createJoin(people.Cleo, topic, NOW, { via: people.Ada.public.signKey, admission: invites.Ada.admission!, inviteKey: invites.Ada.inviteKey! })
  const join: MembershipVectors['join'] = [
    { member: 'Cleo', via: 'Ada', admittedBy: 'Ada', inviteKeyPublic: toHex(invites.Ada.admission!.key), bytes: toHex(cleoJoin) },
    { member: 'Dev', via: 'Ben', admittedBy: null, inviteKeyPublic: null, bytes: toHex(await createJoin(people.Dev, topic, NOW, { via: people.Ben.public.signKey })) }
  ]
  // Dev's own join (Ben's invite, no admission) with the 'adm' map of Cleo's join, 'use' and all.
  const cleoAdm = decodeStruct(JOIN, cleoJoin).record('adm', ['by', 'e', 'x', 'k', 'sig', 'use'])
  const copiedFields = {
    m: encodePublicIdentity(people.Dev.public),
    at: NOW,
    via: people.Ben.public.signKey,
    adm: {
      by: cleoAdm.bytes('by', { len: 32 }),
      e: cleoAdm.uint('e'),
      x: cleoAdm.uint('x'),
      k: cleoAdm.bytes('k', { len: 32 }),
      sig: cleoAdm.bytes('sig', { len: 64 }),
      use: cleoAdm.bytes('use', { len: 64 })
    }
  }
  const copiedSig = await signStruct(people.Dev.seed, JOIN_BODY, { ...copiedFields, tp: topic })
  const copiedAdmission = {
    member: 'Dev', via: 'Ben', copiedFrom: 'Cleo', bytes: toHex(encodeStruct(JOIN, { ...copiedFields, sig: copiedSig } as never)), error: 'BAD_SIGNATURE' as const
  }
  const admit = { admin: 'Ada', member: 'Dev', bytes: toHex(await createAdmit(people.Ada, people.Dev.public, topic, NOW)) }
  const leave = { member: 'Dev', bytes: toHex(await createLeave(people.Dev, topic, NOW)) }

  const remaining = ['Ada', 'Ben', 'Cleo'] as const
  const makeRekey = async (admin: 'Ada' | 'Cleo', label: string): Promise<RekeyVector> => {
    const secret = input(`${label}/secret`)
    const ephemeralSecret = input(`${label}/eph`)
    const drbgSeed = input(`${label}/drbg`)
    const rk = await createRekey(people[admin], hood, epoch0, remaining.map(n => people[n].public), NOW, {
      relays: [relay.publicKey], removed: [people.Dev.public.signKey], secret, ephemeralSecret, random: drbg(drbgSeed)
    })
    return {
      admin,
      remaining: [...remaining],
      removed: ['Dev'],
      relays: [toHex(relay.publicKey)],
      secret: toHex(secret),
      ephemeralSecret: toHex(ephemeralSecret),
      drbgSeed: toHex(drbgSeed),
      bytes: toHex(rk.bytes),
      epoch: rk.newKeys.epoch,
      contentKey: toHex(rk.newKeys.contentKey),
      tagKey: toHex(rk.newKeys.tagKey),
      slots: rekeySlotCount(rk.bytes),
      id: toHex(sha256(rk.bytes))
    }
  }
  const rekey = await makeRekey('Cleo', 'rekey')
  const concurrent = await makeRekey('Ada', 'rekey-concurrent')
  const cleoWins = rekeyWins(fromHex(rekey.bytes), fromHex(concurrent.bytes))
  const concurrentRekey = { ...concurrent, winner: cleoWins ? 'Cleo' : 'Ada' }

  const attTtl = 180 * 86_400_000
  const attBytes = await createAttestation(people.Ada, people['Springfield PD'].public, '9q8yy', NOW, { ttlMs: attTtl, hood })
  const attestation = { admin: 'Ada', agency: 'Springfield PD', area: '9q8yy', ttlMs: attTtl, bytes: toHex(attBytes), id: toHex(attestationId(attBytes)) }
  const revocation = { admin: 'Cleo', attestation: toHex(attestationId(attBytes)), bytes: toHex(await createRevocation(people.Cleo, hood, topic, attBytes, NOW)) }

  const rfaText = 'Looking for doorbell footage of Elm St between 21:00 and 22:00 on June 14.'
  const rfaTtl = 3 * 86_400_000
  const r = await sealRfa(people['Springfield PD'], HOOD_AREA, rfaText, NOW, rfaTtl, { location: '9q8yykv', attestations: [attBytes] })
  const rfa = { agency: 'Springfield PD', area: HOOD_AREA, location: '9q8yykv', text: rfaText, ttlMs: rfaTtl, bytes: toHex(r.bytes), id: toHex(r.id) }

  const agencyReply: MembershipVectors['agencyReply'] = []
  for (const [i, author, text] of [[0, null, 'White van, partial plate 7ABC.'], [1, 'Ben', 'I have footage, ask me.']] as const) {
    const ttlMs = 86_400_000
    const ephemeral = input(`reply-${i}/eph`)
    const post = createPost({ kind: 'reply', text, replyTo: r.id, ttlMs, now: NOW })
    const sealed = await sealReplyToAgency(author === null ? null : people[author], people['Springfield PD'].public.boxKey, r.id, post, { ephemeralSecret: ephemeral })
    agencyReply.push({ author, text, ttlMs, ephemeralSecret: toHex(ephemeral), sealed: toHex(sealed) })
  }

  return {
    description: 'Porchlight membership vectors (invite v2 with admission v2 and invite key, relay token v2, join v2 with admission use, ' +
      'admit, rekey v2, revocation); inputs are SHA-256("porchlight/vectors/membership/" || label) (admin invite keys: "<inviter>/invite-key"), ' +
      'rekey padding/shuffle randomness from drbg(drbgSeed) (see generate-membership.ts), ' +
      'bytes in hex. Written by test/vectors/generate-membership.ts.',
    identities: PEOPLE.map(name => ({
      name,
      seed: toHex(people[name].seed),
      boxSecret: toHex(people[name].boxSecret),
      signKey: toHex(people[name].public.signKey),
      boxKey: toHex(people[name].public.boxKey)
    })),
    hood: { founder: toHex(hood.founder), salt: toHex(hood.salt), id: toHex(hood.id), name: hood.name, area: hood.area, topic, epoch: 0, secret: toHex(epoch0.secret) },
    adminChain,
    relay: { seed: toHex(relay.seed), publicKey: toHex(relay.publicKey), boxPublicKey: toHex(relayBoxPublicKey(relay.publicKey)), boxSecret: toHex(relay.boxSecret) },
    now: NOW,
    sealedBox,
    invite,
    relayToken,
    relayTokenV1,
    join,
    copiedAdmission,
    admit,
    leave,
    rekey,
    concurrentRekey,
    attestation,
    revocation,
    rfa,
    agencyReply
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OUT, `${JSON.stringify(await generateMembership(), null, 2)}\n`)
  console.log(`wrote ${OUT.pathname}`)
}
