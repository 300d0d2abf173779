/**
 * Writes test/vectors/membership.json: vectors for sealed boxes, invites, relay tokens, join
 * and leave announcements, rekeys, agency attestations, RFAs and sealed agency replies, so
 * another implementation can check itself against this one. Every input comes from a label:
 *   input(label) = SHA-256("porchlight/vectors/membership/" || label)   (32 bytes; truncated where shorter)
 * Randomness that is not a named input (rekey padding slots and shuffle) comes from
 *   drbg(seed): call i returns HKDF-SHA256(ikm = seed, salt = "", info = "porchlight/vectors/drbg/" || i, n)
 * All byte fields are lowercase hex; times are ms. Run:
 *   `node --import tsx test/vectors/generate-membership.ts`
 * test/protocol/membership.test.ts regenerates this file's content and compares it exactly.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { hkdf, sha256 } from '../../protocol/crypto.ts'
import { toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { deriveEpochKeys, type Neighborhood, privateTopic } from '../../protocol/neighborhood.ts'
import { sealTo } from '../../protocol/seal.ts'
import { createInvite, encodeInvite } from '../../protocol/invite.ts'
import { createRelayToken, encodeRelayToken } from '../../protocol/relay-token.ts'
import { createJoin, createLeave } from '../../protocol/membership.ts'
import { createRekey, rekeySlotCount } from '../../protocol/rekey.ts'
import { createAttestation, sealReplyToAgency, sealRfa } from '../../protocol/agency.ts'
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
export const RELAYS = [
  '/dns4/relay1.maple.example/tcp/443/wss/p2p/12D3KooWHdPbSKzXNr4qLyaQ6a3wE6wM3xFjv1m8ErdMPfLUnXmV',
  '/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
]

export interface Fixture {
  people: Record<typeof PEOPLE[number], Identity>
  hood: Neighborhood
  epoch0: ReturnType<typeof deriveEpochKeys>
}

export async function fixture (): Promise<Fixture> {
  const people = {} as Fixture['people']
  for (const name of PEOPLE) {
    people[name] = await createIdentity(name, { seed: input(`${name}/seed`), boxSecret: input(`${name}/box`) })
  }
  const hood: Neighborhood = { id: input('hood/id'), name: HOOD_NAME, area: HOOD_AREA, admins: [people.Ada.public.signKey] }
  return { people, hood, epoch0: deriveEpochKeys(hood.id, 0, input('hood/epoch-0/secret')) }
}

export interface MembershipVectors {
  description: string
  identities: Array<{ name: string, seed: string, boxSecret: string, signKey: string, boxKey: string }>
  hood: { id: string, name: string, area: string, admins: string[], topic: string, epoch: number, secret: string }
  now: number
  sealedBox: Array<{ recipientBoxSecret: string, ephemeralSecret: string, context: string, plaintext: string, sealed: string }>
  invite: Array<{ inviter: string, role: 'admin' | 'member', relays: string[], ttlMs: number, invite: string, length: number }>
  relayToken: Array<{ includeArea: boolean, token: string }>
  join: { member: string, via: string, bytes: string }
  leave: { member: string, bytes: string }
  rekey: {
    admin: string, remaining: string[], removed: string[], secret: string, ephemeralSecret: string, drbgSeed: string,
    bytes: string, epoch: number, contentKey: string, tagKey: string, slots: number
  }
  attestation: { admin: string, agency: string, area: string, ttlMs: number, bytes: string }
  rfa: { agency: string, area: string, location: string, text: string, ttlMs: number, bytes: string, id: string }
  agencyReply: Array<{ author: string | null, text: string, ttlMs: number, ephemeralSecret: string, sealed: string }>
}

export async function generateMembership (): Promise<MembershipVectors> {
  const { people, hood, epoch0 } = await fixture()
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

  const invite: MembershipVectors['invite'] = []
  for (const [who, relays, ttlMs] of [['Ada', RELAYS, 7 * 86_400_000], ['Ben', [], 86_400_000]] as const) {
    const inv = await createInvite(people[who], hood, epoch0, relays, NOW, ttlMs)
    const s = encodeInvite(inv)
    invite.push({ inviter: who, role: inv.inviterRole, relays: [...relays], ttlMs, invite: s, length: s.length })
  }

  const relayToken = [false, true].map(includeArea => ({ includeArea, token: encodeRelayToken(createRelayToken(hood, epoch0, { includeArea })) }))

  const join = { member: 'Cleo', via: 'Ada', bytes: toHex(await createJoin(people.Cleo, topic, NOW, { via: people.Ada.public.signKey })) }
  const leave = { member: 'Dev', bytes: toHex(await createLeave(people.Dev, topic, NOW)) }

  const remaining = ['Ada', 'Ben', 'Cleo'] as const
  const secret = input('rekey/secret')
  const ephemeralSecret = input('rekey/eph')
  const drbgSeed = input('rekey/drbg')
  const rk = await createRekey(people.Ada, hood, epoch0, remaining.map(n => people[n].public), NOW, { secret, ephemeralSecret, random: drbg(drbgSeed) })
  const rekey = {
    admin: 'Ada',
    remaining: [...remaining],
    removed: ['Dev'],
    secret: toHex(secret),
    ephemeralSecret: toHex(ephemeralSecret),
    drbgSeed: toHex(drbgSeed),
    bytes: toHex(rk.bytes),
    epoch: rk.newKeys.epoch,
    contentKey: toHex(rk.newKeys.contentKey),
    tagKey: toHex(rk.newKeys.tagKey),
    slots: rekeySlotCount(rk.bytes)
  }

  const attTtl = 180 * 86_400_000
  const attBytes = await createAttestation(people.Ada, people['Springfield PD'].public, '9q8yy', NOW, { ttlMs: attTtl, hood })
  const attestation = { admin: 'Ada', agency: 'Springfield PD', area: '9q8yy', ttlMs: attTtl, bytes: toHex(attBytes) }

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
    description: 'Porchlight membership vectors; inputs are SHA-256("porchlight/vectors/membership/" || label), ' +
      'rekey padding/shuffle randomness from drbg(drbgSeed) (see generate-membership.ts), bytes in hex. Written by test/vectors/generate-membership.ts.',
    identities: PEOPLE.map(name => ({
      name,
      seed: toHex(people[name].seed),
      boxSecret: toHex(people[name].boxSecret),
      signKey: toHex(people[name].public.signKey),
      boxKey: toHex(people[name].public.boxKey)
    })),
    hood: { id: toHex(hood.id), name: hood.name, area: hood.area, admins: hood.admins.map(toHex), topic, epoch: 0, secret: toHex(epoch0.secret) },
    now: NOW,
    sealedBox,
    invite,
    relayToken,
    join,
    leave,
    rekey,
    attestation,
    rfa,
    agencyReply
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OUT, `${JSON.stringify(await generateMembership(), null, 2)}\n`)
  console.log(`wrote ${OUT.pathname}`)
}
