// Invites (protocol/invite.ts): roundtrip, size, signature and role checks, expiry, strict
// parsing of the string, and random mutations giving only PorchlightError.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { containsBytes, decodeStruct, encodeStruct, equalBytes, fromBase64Url, type StructSpec, toBase64Url } from '../../protocol/encoding.ts'
import { createIdentity, encodePublicIdentity, signStruct } from '../../protocol/identity.ts'
import { deriveEpochKeys, MAX_ADMINS, type Neighborhood, newEpochSecret } from '../../protocol/neighborhood.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import {
  createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, INVITE_PREFIX, inviteKeys, MAX_INVITE_CHARS, MAX_INVITE_TTL_MS,
  MAX_RELAYS, parseInvite
} from '../../protocol/invite.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
const RELAYS = [
  '/dns4/relay1.maple.example/tcp/443/wss/p2p/12D3KooWHdPbSKzXNr4qLyaQ6a3wE6wM3xFjv1m8ErdMPfLUnXmV',
  '/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'
]
const admin = await createIdentity('Ada')
const member = await createIdentity('Ben')
const hood = testHood(admin)
const keys = freshEpochKeys(hood, 3)

// The signed part, spelled out here to forge invites the API would refuse to make.
const BODY: StructSpec = { domain: 'pl/invite-body', version: 1, required: ['h', 'e', 's', 'r', 'i', 'ia', 'x'], maxBytes: 4096 }
const CONTAINER: StructSpec = { ...BODY, domain: 'pl/invite', required: [...BODY.required, 'sig'] }

async function forge (fields: Record<string, unknown>, signer = admin): Promise<string> {
  const sig = await signStruct(signer.seed, BODY, fields)
  return INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, { ...fields, sig } as never))
}

function baseFields (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    h: { id: hood.id, n: hood.name, a: hood.area, ad: [...hood.admins] },
    e: keys.epoch,
    s: keys.secret,
    r: RELAYS,
    i: encodePublicIdentity(admin.public),
    ia: true,
    x: NOW + 1000,
    ...overrides
  }
}

describe('createInvite / encodeInvite / parseInvite', () => {
  it('roundtrips an admin invite and grants the same epoch keys', async () => {
    const inv = await createInvite(admin, hood, keys, RELAYS, NOW)
    expect(inv.inviterRole).toBe('admin')
    expect(inv.expires).toBe(NOW + DEFAULT_INVITE_TTL_MS)
    const s = encodeInvite(inv)
    expect(s.startsWith('porchlight:')).toBe(true)
    expect(/^porchlight:[A-Za-z0-9_-]+$/.test(s)).toBe(true) // URL-fragment safe
    const back = await parseInvite(s, NOW + 1)
    expect(back.hood.name).toBe(hood.name)
    expect(back.hood.area).toBe(hood.area)
    expect(equalBytes(back.hood.id, hood.id)).toBe(true)
    expect(back.hood.admins.map(a => equalBytes(a, admin.public.signKey))).toEqual([true])
    expect(back.relays).toEqual(RELAYS)
    expect(back.epoch).toBe(3)
    expect(equalBytes(back.inviter.signKey, admin.public.signKey)).toBe(true)
    expect(back.inviter.name).toBe('Ada')
    const k = inviteKeys(back)
    expect(equalBytes(k.contentKey, keys.contentKey) && equalBytes(k.tagKey, keys.tagKey)).toBe(true)
    expect(encodeInvite(back)).toBe(s)
  })

  it('is short: under 1000 characters with 2 relays', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
    console.log(`invite length with 2 relays: ${s.length} characters`)
    expect(s.length).toBeLessThan(1000)
  })

  it('a member invite is accepted as stated', async () => {
    const inv = await parseInvite(encodeInvite(await createInvite(member, hood, keys, [], NOW, 60_000)), NOW)
    expect(inv.inviterRole).toBe('member')
    expect(inv.relays).toEqual([])
  })

  it('a member claiming to be an admin is NOT_ADMIN', async () => {
    const s = await forge(baseFields({ i: encodePublicIdentity(member.public), ia: true }), member)
    expect(await codeOf(() => parseInvite(s, NOW))).toBe('NOT_ADMIN')
  })

  it('signature by someone else than the named inviter is BAD_SIGNATURE', async () => {
    const s = await forge(baseFields({ i: encodePublicIdentity(member.public), ia: false }), admin)
    expect(await codeOf(() => parseInvite(s, NOW))).toBe('BAD_SIGNATURE')
    // And any change to a signed field breaks it: swap in another epoch secret.
    const inv = await createInvite(admin, hood, keys, RELAYS, NOW)
    const f = decodeStruct(CONTAINER, fromBase64Url(encodeInvite(inv).slice(INVITE_PREFIX.length)))
    expect(f.uint('e')).toBe(3)
    const tampered = INVITE_PREFIX + toBase64Url(encodeStruct(CONTAINER, { ...baseFields({ x: inv.expires, s: newEpochSecret() }), sig: inv.sig } as never))
    expect(await codeOf(() => parseInvite(tampered, NOW))).toBe('BAD_SIGNATURE')
  })

  it('expiry: EXPIRED at and after expires; OUT_OF_RANGE when absurdly far ahead', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW, 60_000))
    expect(await codeOf(() => parseInvite(s, NOW + 59_999))).toBe('accepted')
    expect(await codeOf(() => parseInvite(s, NOW + 60_000))).toBe('EXPIRED')
    const far = await forge(baseFields({ x: NOW + MAX_INVITE_TTL_MS + 3_600_000 }))
    expect(await codeOf(() => parseInvite(far, NOW))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => createInvite(admin, hood, keys, RELAYS, NOW, MAX_INVITE_TTL_MS + 1))).toBe('BAD_ARGUMENT')
  })

  it('bounds on relays, keys and the neighborhood', async () => {
    expect(await codeOf(() => createInvite(admin, hood, keys, Array.from({ length: MAX_RELAYS + 1 }, (_, i) => `/ip4/10.0.0.${i}/tcp/1`), NOW))).toBe('TOO_LARGE')
    for (const bad of ['', 'relay.example', '/has space', `/${'a'.repeat(256)}`]) {
      expect(await codeOf(() => createInvite(admin, hood, keys, [bad], NOW))).toBe('BAD_ARGUMENT')
    }
    expect(await codeOf(() => createInvite(admin, hood, keys, [RELAYS[0]!, RELAYS[0]!], NOW))).toBe('BAD_ARGUMENT')
    const otherKeys = deriveEpochKeys(randomBytes(32), 3, keys.secret)
    expect(await codeOf(() => createInvite(admin, hood, otherKeys, [], NOW))).toBe('BAD_ARGUMENT')
    // Invites with a bad neighborhood inside are BAD_INVITE, not caller errors.
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: { id: hood.id, n: ' padded', a: hood.area, ad: [...hood.admins] } })), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: { id: hood.id, n: hood.name, a: hood.area, ad: [] } })), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: { id: hood.id, n: hood.name, a: hood.area, ad: [admin.public.signKey, admin.public.signKey] } })), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ h: { id: hood.id, n: hood.name, a: 'abc', ad: [...hood.admins] } })), NOW))).toBe('BAD_GEOHASH')
    expect(await codeOf(async () => parseInvite(await forge(baseFields({ r: ['not-a-multiaddr'] })), NOW))).toBe('BAD_INVITE')
  })

  it('the largest invite (16 admins, 8 relays of 256 bytes, 64-byte names) still encodes and parses', async () => {
    const admins = [admin.public.signKey, ...Array.from({ length: MAX_ADMINS - 1 }, () => randomBytes(32))]
    const big: Neighborhood = { ...hood, name: 'N'.repeat(64), admins }
    const inviter = await createIdentity('I'.repeat(64))
    const relays = Array.from({ length: MAX_RELAYS }, (_, i) => `/dns4/${String(i).repeat(240)}/tcp/1`.slice(0, 256))
    const s = encodeInvite(await createInvite(inviter, big, keys, relays, NOW))
    expect(s.length).toBeLessThanOrEqual(MAX_INVITE_CHARS)
    expect((await parseInvite(s, NOW)).relays).toEqual(relays)
  })

  it('strict string parsing', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
    expect(await codeOf(() => parseInvite(s.replace('porchlight:', 'porchlite:'), NOW))).toBe('BAD_INVITE')
    expect(await codeOf(() => parseInvite(`${s}=`, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(`${s} `, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(`${s}AA`, NOW))).toBe('MALFORMED') // trailing bytes
    expect(await codeOf(() => parseInvite('x'.repeat(MAX_INVITE_CHARS + 1), NOW))).toBe('TOO_LARGE')
    expect(await codeOf(() => parseInvite(INVITE_PREFIX, NOW))).toBe('MALFORMED')
    expect(await codeOf(() => parseInvite(42 as unknown as string, NOW))).toBe('WRONG_TYPE')
    // A relay token or any other structure is not an invite.
    const other = INVITE_PREFIX + toBase64Url(encodeStruct({ ...CONTAINER, domain: 'pl/relay-token' }, baseFields() as never))
    expect(await codeOf(() => parseInvite(other, NOW))).toBe('BAD_DOMAIN')
  })
})

describe('properties', () => {
  it('roundtrip for any valid relays and names', async () => {
    const relay = fc.stringMatching(/^\/[\x21-\x7e]{1,80}$/)
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(relay, { maxLength: MAX_RELAYS }),
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,40}[A-Za-z0-9]$/),
      fc.integer({ min: 1, max: MAX_INVITE_TTL_MS }),
      async (relays, name, ttl) => {
        const h = { ...hood, name }
        const inv = await parseInvite(encodeInvite(await createInvite(member, h, keys, relays, NOW, ttl)), NOW)
        expect(inv.relays).toEqual(relays)
        expect(inv.hood.name).toBe(name)
        expect(inv.expires).toBe(NOW + ttl)
      }
    ), { numRuns: 40 })
  })

  it('random mutations of the string give only PorchlightError (and never a different valid invite)', async () => {
    const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:= '
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: alphabet.length - 1 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
      async (edits) => {
        const chars = s.split('')
        for (const [pos, c, op] of edits) {
          const i = pos % (chars.length + 1)
          if (op === 'set' && i < chars.length) chars[i] = alphabet[c]!
          else if (op === 'insert') chars.splice(i, 0, alphabet[c]!)
          else chars.splice(i, 1)
        }
        const m = chars.join('')
        const code = await codeOf(() => parseInvite(m, NOW))
        if (m === s) expect(code).toBe('accepted')
        else expect(code).not.toBe('accepted')
      }
    ), { numRuns: 300 })
  })

  it('random byte mutations of the CBOR give only PorchlightError', async () => {
    const bytes = fromBase64Url(encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW)).slice(INVITE_PREFIX.length))
    await fc.assert(fc.asyncProperty(
      byteEdits(3),
      async (edits) => {
        const m = applyEdits(bytes, edits)
        const code = await codeOf(() => parseInvite(INVITE_PREFIX + toBase64Url(m), NOW))
        if (equalBytes(m, bytes)) expect(code).toBe('accepted')
        else expect(code).not.toBe('accepted')
      }
    ), { numRuns: 300 })
  })
})

it('an invite carries the epoch secret (documented: holding it means reading the epoch)', async () => {
  const s = encodeInvite(await createInvite(admin, hood, keys, RELAYS, NOW))
  const bytes = fromBase64Url(s.slice(INVITE_PREFIX.length))
  expect(containsBytes(bytes, keys.secret)).toBe(true)
  expect(containsBytes(bytes, keys.contentKey)).toBe(false) // derived, not carried
})
