// The home folder: permissions, atomic and exclusive writes, strict decoding of every file,
// hood lookup, and the pure state helpers the network half builds on.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { encodeStruct, toHex } from '../../protocol/encoding.ts'
import { checkName, createIdentity, encodeIdentitySecret, type Identity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, newEpochSecret, type Neighborhood } from '../../protocol/neighborhood.ts'
import { addAdmin, encodeAdminCerts } from '../../protocol/admins.ts'
import {
  admittedBy, allEpochKeys, currentEpochKeys, decodeAgencyState, withAgencyRelays, decodeHoodState, defaultHomeDir, encodeAgencyState, encodeHoodState, epochKeys,
  Home, MAX_MEMBERS, MAX_RELAYS, MAX_REMOVED, MAX_REVOKED, MAX_SECRETS_PER_EPOCH, newHoodState, removalOf, supersededAt,
  winningSecret, withAgencyAttestation, withAttestation, withEpoch, withFollowedAreas, withMember, withoutFollowedAreas,
  withoutMember, withoutRemoval, withRelays, withRemoved, withRevoked, writeAtomic, type HoodState, type RekeyInfo,
  withAdmission, unexpiredOlderEpochKeys
} from '../../node/storage/home-dir.ts'
import { MAX_TTL_MS } from '../../protocol/post.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/time.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pl-home-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

const RELAY = '/ip4/127.0.0.1/tcp/4001'

async function expectCode (p: Promise<unknown> | (() => unknown), code: string): Promise<PorchlightError> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    expect(err).toBeInstanceOf(PorchlightError)
    expect((err as PorchlightError).code).toBe(code)
    return err as PorchlightError
  }
  throw new Error(`expected PorchlightError ${code}`)
}

let aliceCache: Identity | undefined
async function alice (): Promise<Identity> {
  aliceCache ??= await createIdentity('Alice')
  return aliceCache
}

async function hoodState (name = 'Elm Street', joined = 1_700_000_000_000): Promise<HoodState> {
  const me = await alice()
  return newHoodState({ hood: createNeighborhood(name, 'u4pru', me.public.signKey), epoch: 0, secret: newEpochSecret(), relays: [RELAY], members: [me.public], joined })
}

/** 32 bytes starting with `prefix` (the rest 0x80): rekey ids whose order is plain to read. */
function id32 (...prefix: number[]): Uint8Array {
  const out = new Uint8Array(32).fill(0x80)
  out.set(prefix)
  return out
}

function rekeyBy (id: Uint8Array, by: Uint8Array, removed: Uint8Array[] = []): RekeyInfo {
  return { id, by, removed }
}

/**
 * A state using every field of the v2 file: a certified second admin, rekeyed epochs (two
 * rekeys and an invite's secret for epoch 2), learned times, admitted, pending, renamed and
 * removed members, a revoked attestation id, an issued attestation, and `ended`.
 */
async function fullState (): Promise<HoodState> {
  const me = await alice()
  const bob = await createIdentity('Bob')
  const robert = await createIdentity('Robert', { seed: bob.seed, boxSecret: bob.boxSecret })
  const carol = await createIdentity('Carol')
  const dan = await createIdentity('Dan')
  const erin = await createIdentity('Erin')
  let s = await hoodState()
  const t = s.joined
  s = { ...s, hood: await addAdmin(me, s.hood, carol.public.signKey) }
  s = withEpoch(s, 1, newEpochSecret(), { learned: t + 10, rekey: rekeyBy(id32(9), me.public.signKey) })
  s = withEpoch(s, 2, newEpochSecret(), { learned: t + 20, rekey: rekeyBy(id32(5), me.public.signKey, [dan.public.signKey]) })
  s = withEpoch(s, 2, newEpochSecret(), { learned: t + 25, rekey: rekeyBy(id32(4), carol.public.signKey, [dan.public.signKey]) })
  s = withEpoch(s, 2, newEpochSecret(), { learned: t + 30 })
  s = withMember(s, bob.public, { admitted: true, via: me.public.signKey, now: t + 1 })
  s = withMember(s, robert.public, { now: t + 40 })
  s = withMember(s, carol.public)
  s = withMember(s, dan.public, { admitted: true, via: bob.public.signKey })
  s = withMember(s, erin.public, { via: bob.public.signKey })
  s = withRemoved(s, [dan.public.signKey], t + 20, 2)
  s = withRevoked(s, id32(7))
  s = withAttestation(s, new Uint8Array([1, 2, 3]))
  return { ...s, ended: { reason: 'left', at: t + 50, epoch: 2 } }
}

describe('home folder', () => {
  it('opening without create leaves no trace; ensure makes 0700 folders', async () => {
    const root = join(dir, 'h')
    const home = await Home.open(root, { create: false })
    expect(await home.identity()).toBeUndefined()
    expect(await home.hoods()).toEqual([])
    expect(await home.agency()).toBeUndefined()
    await expect(stat(root)).rejects.toThrow()
    await home.ensure()
    for (const p of [root, home.paths.hoods, home.dataDir]) {
      expect((await stat(p)).mode & 0o777).toBe(0o700)
    }
    expect(home.dataDir).toBe(join(root, 'db'))
  })

  it('refuses a home path that is a file', async () => {
    await writeFile(join(dir, 'f'), 'x')
    await expectCode(Home.open(join(dir, 'f')), 'IO')
  })

  it('defaults to $PORCHLIGHT_HOME, else ~/.porchlight', () => {
    expect(defaultHomeDir({ PORCHLIGHT_HOME: '/tmp/x' })).toBe('/tmp/x')
    expect(defaultHomeDir({})).toMatch(/\.porchlight$/)
  })
})

describe('identity file', () => {
  it('stores encodeIdentitySecret bytes with mode 0600 and reloads the same keys', async () => {
    const home = await Home.open(join(dir, 'h'))
    const id = await alice()
    await home.saveIdentity(id)
    const bytes = await readFile(home.paths.identity)
    expect(toHex(bytes)).toBe(toHex(encodeIdentitySecret(id)))
    expect((await stat(home.paths.identity)).mode & 0o777).toBe(0o600)
    const again = await (await Home.open(join(dir, 'h'))).requireIdentity()
    expect(toHex(again.public.signKey)).toBe(toHex(id.public.signKey))
    expect(toHex(again.public.boxKey)).toBe(toHex(id.public.boxKey))
    expect(again.public.name).toBe('Alice')
  })

  it('refuses to overwrite without force; force replaces', async () => {
    const home = await Home.open(join(dir, 'h'))
    await home.saveIdentity(await alice())
    const bob = await createIdentity('Bob')
    const err = await expectCode(home.saveIdentity(bob), 'REFUSED')
    expect(err.message).toContain('--force')
    expect((await (await Home.open(join(dir, 'h'))).requireIdentity()).public.name).toBe('Alice')
    await home.saveIdentity(bob, { force: true })
    expect((await (await Home.open(join(dir, 'h'))).requireIdentity()).public.name).toBe('Bob')
    expect((await readdir(home.root)).filter(n => n.includes('.tmp-'))).toEqual([])
  })

  it('two racing creators: exactly one identity wins and the file is whole', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, async (_, i) => createIdentity(`P${i}`)))
    const homes = await Promise.all(ids.map(async () => Home.open(join(dir, 'h'))))
    const results = await Promise.allSettled(ids.map(async (id, i) => { await homes[i]!.saveIdentity(id) }))
    expect(results.filter(r => r.status === 'fulfilled')).toHaveLength(1)
    const winner = ids[results.findIndex(r => r.status === 'fulfilled')]!
    const stored = await (await Home.open(join(dir, 'h'))).requireIdentity()
    expect(stored.public.name).toBe(winner.public.name)
  })

  it('no identity: NOT_FOUND that says how to create one', async () => {
    const err = await expectCode((await Home.open(dir)).requireIdentity(), 'NOT_FOUND')
    expect(err.message).toContain('porchlight id create')
  })

  it('a corrupt identity file is a clear error naming the file', async () => {
    const home = await Home.open(join(dir, 'h'))
    await home.saveIdentity(await alice())
    const bytes = await readFile(home.paths.identity)
    for (const bad of [bytes.subarray(0, bytes.length - 1), Buffer.concat([bytes, Buffer.from([0])]), Buffer.alloc(0)]) {
      await writeFile(home.paths.identity, bad)
      const err = await (await Home.open(join(dir, 'h'))).identity().then(() => undefined, (e: unknown) => e)
      expect(isPorchlightError(err)).toBe(true)
      expect((err as Error).message).toContain(home.paths.identity)
      expect((err as Error).message).toContain('corrupt')
    }
    // Bytes of another structure type are refused by domain.
    await writeFile(home.paths.identity, encodeHoodState(await hoodState()))
    await expectCode((await Home.open(join(dir, 'h'))).identity(), 'TOO_LARGE')
    await writeFile(home.paths.identity, encodeAgencyState({ areas: ['u4'] }))
    await expectCode((await Home.open(join(dir, 'h'))).identity(), 'BAD_DOMAIN')
  })
})

describe('hood files', () => {
  it('round-trips through the file with mode 0600, one file per id', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = withAttestation(withEpoch(await hoodState(), 3, newEpochSecret()), new Uint8Array([1, 2, 3]))
    await home.saveHood(s)
    const path = home.hoodPath(s.hood.id)
    expect(path.endsWith(toHex(s.hood.id))).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const back = await (await Home.open(join(dir, 'h'))).hoodById(s.hood.id)
    expect(back).toEqual(s)
    expect(currentEpochKeys(back!).epoch).toBe(3)
  })

  it('round-trips every v2 field through the file', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = await fullState()
    await home.saveHood(s)
    const back = (await (await Home.open(join(dir, 'h'))).hoodById(s.hood.id))!
    expect(back).toEqual(s)
    expect(back.hood.admins).toHaveLength(2)
    expect(back.hood.adminCerts).toHaveLength(1)
    expect(back.epochs.map(e => [e.epoch, e.learned - s.joined, e.rekey === undefined ? null : e.rekey.id[0]])).toEqual([
      [0, 0, null], [1, 10, 9], [2, 20, 5], [2, 25, 4], [2, 30, null]
    ])
    expect(toHex(winningSecret(back, 2)!.rekey!.id)).toBe(toHex(id32(4)))
    expect(back.epochs[2]!.rekey!.removed).toHaveLength(1)
    const byName = new Map(back.members.map(m => [m.name, m]))
    expect([...byName.keys()].sort()).toEqual(['Alice', 'Carol', 'Erin', 'Robert'])
    expect(byName.get('Alice')!.admitted).toBe(true)
    expect(byName.get('Carol')!.admitted).toBe(true)
    expect(byName.get('Erin')!.admitted).toBe(false)
    expect(byName.get('Robert')).toMatchObject({ admitted: true, formerName: 'Bob', renamedAt: s.joined + 40 })
    expect(toHex(byName.get('Robert')!.via!)).toBe(toHex((await alice()).public.signKey))
    expect(back.removed).toHaveLength(1)
    expect(back.revoked.map(toHex)).toEqual([toHex(id32(7))])
    expect(back.ended).toEqual({ reason: 'left', at: s.joined + 50, epoch: 2 })
    expect(toHex(encodeHoodState(back))).toBe(toHex(encodeHoodState(s)))
  })

  it('property: decode(encode(state)) is the state, for every v2 field', async () => {
    const me = await alice()
    const people = await Promise.all(['Bob', 'Carol', 'Dan'].map(async n => createIdentity(n)))
    const renamed = await Promise.all(people.map(async p => createIdentity(`${p.public.name} R`, { seed: p.seed, boxSecret: p.boxSecret })))
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
    const time = fc.nat({ max: 2 ** 45 })
    const rekey = fc.record({ id: bytes32, by: bytes32, removed: fc.array(bytes32, { maxLength: 3 }) })
    await fc.assert(fc.property(
      fc.string({ minLength: 1, maxLength: 20 }).filter(s => { try { return checkName(s) === s } catch { return false } }),
      fc.stringMatching(/^[0-9b-hjkmnp-z]{1,6}$/),
      fc.integer({ min: 0, max: 0xffff_ffff }),
      // Small epoch numbers, so several secrets often share one epoch; the secret comes from a
      // small pool, so the same secret also comes back (with or without its rekey).
      fc.array(fc.record({ epoch: fc.integer({ min: 0, max: 6 }), secret: fc.integer({ min: 0, max: 7 }), learned: time, rekey: fc.option(rekey, { nil: undefined }) }), { maxLength: 12 }),
      fc.uniqueArray(fc.stringMatching(/^\/ip4\/10\.0\.0\.[0-9]{1,3}\/tcp\/[0-9]{1,5}$/), { maxLength: MAX_RELAYS }),
      fc.array(fc.record({ who: fc.integer({ min: 0, max: 2 }), rename: fc.boolean(), admitted: fc.boolean(), via: fc.option(bytes32, { nil: undefined }), now: fc.option(time, { nil: undefined }) }), { maxLength: 6 }),
      fc.array(fc.record({ key: bytes32, at: time, epoch: fc.integer({ min: 0, max: 0xffff_ffff }) }), { maxLength: 4 }),
      fc.array(bytes32, { maxLength: 4 }),
      fc.option(fc.record({ reason: fc.constantFrom('removed' as const, 'left' as const), at: time, epoch: fc.integer({ min: 0, max: 0xffff_ffff }) }), { nil: undefined }),
      time,
      (name, area, first, epochs, relays, members, removed, revoked, ended, joined) => {
        const pool = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(i + 1))
        let s = newHoodState({ hood: createNeighborhood(name, area, me.public.signKey), epoch: first, secret: newEpochSecret(), relays, members: [me.public], joined })
        for (const e of epochs) {
          s = withEpoch(s, e.epoch, pool[e.secret]!, { learned: e.learned, ...(e.rekey !== undefined ? { rekey: e.rekey } : {}) })
        }
        for (const m of members) {
          const who = (m.rename ? renamed : people)[m.who]!.public
          s = withMember(s, who, { admitted: m.admitted, ...(m.via !== undefined ? { via: m.via } : {}), ...(m.now !== undefined ? { now: m.now } : {}) })
        }
        for (const r of removed) s = withRemoved(s, [r.key], r.at, r.epoch)
        for (const r of revoked) s = withRevoked(s, r)
        if (ended !== undefined) s = { ...s, ended }
        const bytes = encodeHoodState(s)
        const back = decodeHoodState(bytes)
        expect(back).toEqual(s)
        expect(toHex(encodeHoodState(back))).toBe(toHex(bytes))
        const order = back.epochs.map(e => e.epoch)
        expect(order).toEqual([...order].sort((a, b) => a - b))
        expect(currentEpochKeys(back).epoch).toBe(order[order.length - 1])
      }
    ), { numRuns: runs(25) })
  })

  it('property: the winning secret of an epoch is the lowest rekey id, whatever the order they arrive in', async () => {
    const me = await alice()
    const base = await hoodState()
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
    await fc.assert(fc.property(
      fc.uniqueArray(bytes32, { minLength: 1, maxLength: MAX_SECRETS_PER_EPOCH - 1, selector: toHex })
        .chain(ids => fc.tuple(fc.constant(ids), fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length }))),
      fc.boolean(),
      ([ids, order], withInvite) => {
        const secretOf = new Map(ids.map(id => [toHex(id), newEpochSecret()]))
        let s = base
        if (withInvite) s = withEpoch(s, 4, newEpochSecret(), { learned: 1 })
        for (const id of order) s = withEpoch(s, 4, secretOf.get(toHex(id))!, { rekey: rekeyBy(id, me.public.signKey) })
        const lowest = [...ids].sort((a, b) => Buffer.compare(a, b))[0]!
        expect(toHex(winningSecret(s, 4)!.secret)).toBe(toHex(secretOf.get(toHex(lowest))!))
        expect(toHex(currentEpochKeys(s).secret)).toBe(toHex(secretOf.get(toHex(lowest))!))
        expect(allEpochKeys(s, 4)).toHaveLength(ids.length + (withInvite ? 1 : 0))
      }
    ), { numRuns: runs(25) })
  })

  it('strict decoding: extra or missing fields, wrong types, lengths, order, repeats, bounds, trailing bytes', async () => {
    const me = await alice()
    const other = await createIdentity('Other')
    let s = await hoodState()
    s = withEpoch(s, 3, newEpochSecret(), { learned: s.joined + 5, rekey: rekeyBy(id32(1), me.public.signKey, [id32(2)]) })
    s = withRemoved(s, [id32(2)], s.joined + 5, 3)
    s = withRevoked(s, id32(3))
    // The v2 file, field by field: what the format is, independently of the encoder.
    const e0 = { e: 0, s: s.epochs[0]!.secret, l: s.joined }
    const e3 = { e: 3, s: s.epochs[1]!.secret, l: s.joined + 5, r: { id: id32(1), by: me.public.signKey, rm: [id32(2)] } }
    const m0 = { sk: me.public.signKey, bk: me.public.boxKey, n: 'Alice', sig: me.public.binding, ad: true }
    const good = {
      id: s.hood.id, name: s.hood.name, area: s.hood.area, founder: s.hood.founder, salt: s.hood.salt, ac: [],
      epochs: [e0, e3], relays: [...s.relays], members: [m0], attests: [], revoked: [id32(3)],
      removed: [{ sk: id32(2), at: s.joined + 5, e: 3 }], admissions: [], joined: s.joined
    }
    const spec = { domain: 'pl/home-hood', version: 2, required: [], maxBytes: 1 << 20 }
    const enc = (f: Record<string, unknown>, version = 2): Uint8Array => encodeStruct({ ...spec, version }, f as never)
    expect(toHex(enc(good))).toBe(toHex(encodeHoodState(s)))
    expect(decodeHoodState(enc(good))).toEqual(s)
    expect(decodeHoodState(enc({ ...good, ended: { why: 'removed', at: 9, e: 3 } })).ended).toEqual({ reason: 'removed', at: 9, epoch: 3 })
    expect(decodeHoodState(enc({ ...good, ac: encodeAdminCerts((await addAdmin(me, s.hood, other.public.signKey)).adminCerts) })).hood.admins).toHaveLength(2)

    await expectCode(() => decodeHoodState(enc({ ...good, extra: 1 })), 'EXTRA_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e0, { ...e3, x: 1 }] })), 'EXTRA_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [{ ...m0, x: 1 }] })), 'EXTRA_FIELD')
    expect(decodeHoodState(enc({ ...good, admissions: [{ k: id32(4), m: me.public.signKey, at: 7 }] })).admissions).toEqual([{ key: id32(4), member: me.public.signKey, at: 7 }])
    await expectCode(() => decodeHoodState(enc({ ...good, admissions: [{ k: id32(4), m: me.public.signKey }] })), 'MISSING_FIELD')
    for (const field of ['founder', 'salt', 'ac', 'revoked', 'removed', 'admissions', 'joined']) {
      await expectCode(() => decodeHoodState(enc({ ...good, [field]: undefined })), 'MISSING_FIELD')
    }
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [{ e: 0, s: e0.s }] })), 'MISSING_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [{ ...m0, ad: undefined }] })), 'MISSING_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e0, { ...e3, r: { id: id32(1), by: me.public.signKey } }] })), 'MISSING_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, joined: 'x' })), 'WRONG_TYPE')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [{ ...m0, ad: 1 }] })), 'WRONG_TYPE')
    await expectCode(() => decodeHoodState(enc({ ...good, revoked: 'x' })), 'WRONG_TYPE')
    await expectCode(() => decodeHoodState(enc({ ...good, id: new Uint8Array(31) })), 'BAD_LENGTH')
    await expectCode(() => decodeHoodState(enc({ ...good, salt: new Uint8Array(15) })), 'BAD_LENGTH')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e0, { ...e3, r: { ...e3.r, id: new Uint8Array(31) } }] })), 'BAD_LENGTH')
    await expectCode(() => decodeHoodState(enc({ ...good, revoked: [new Uint8Array(31)] })), 'BAD_LENGTH')
    await expectCode(() => decodeHoodState(enc({ ...good, removed: [{ sk: new Uint8Array(33), at: 1, e: 3 }] })), 'BAD_LENGTH')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [{ ...m0, via: new Uint8Array(5) }] })), 'BAD_LENGTH')
    // The id must follow from founder and salt: no file can name admins of another hood.
    await expectCode(() => decodeHoodState(enc({ ...good, id: id32(1) })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, founder: other.public.signKey })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e3, e0] })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e0, e0] })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [] })), 'MISSING_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [m0, m0] })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, area: 'aaaa' })), 'BAD_GEOHASH')
    await expectCode(() => decodeHoodState(enc({ ...good, name: 'Elm\u202Eteerts' })), 'BAD_ARGUMENT')
    await expectCode(() => decodeHoodState(enc({ ...good, ended: { why: 'kicked', at: 9, e: 3 } })), 'OUT_OF_RANGE')
    await expectCode(() => decodeHoodState(enc({ ...good, removed: [{ sk: id32(2), at: 1, e: 2 ** 32 }] })), 'OUT_OF_RANGE')
    await expectCode(() => decodeHoodState(enc({ ...good, revoked: Array.from({ length: MAX_REVOKED + 1 }, (_, i) => id32(i >> 8, i & 255)) })), 'TOO_LARGE')
    await expectCode(() => decodeHoodState(enc({ ...good, removed: Array.from({ length: MAX_REMOVED + 1 }, (_, i) => ({ sk: id32(i >> 8, i & 255), at: 1, e: 0 })) })), 'TOO_LARGE')
    // A version this build does not know is BAD_VERSION; only version 1 gets the re-join advice.
    const v3 = await expectCode(() => decodeHoodState(enc(good, 3)), 'BAD_VERSION')
    expect(v3.message).not.toMatch(/invite/)
    const v1 = await expectCode(() => decodeHoodState(enc(good, 1)), 'BAD_VERSION')
    expect(v1.message).toMatch(/join again from a new invite/)
    const bytes = enc(good)
    await expectCode(() => decodeHoodState(new Uint8Array([...bytes, 0])), 'MALFORMED')
  })

  it('a v1 hood file (before self-certifying neighborhoods) is refused whole: join again from a new invite', async () => {
    const home = await Home.open(join(dir, 'h'))
    const me = await alice()
    const oak = await hoodState('Oak')
    await home.saveHood(oak)
    // The old format, as the previous release wrote it: a random id, an admin list anyone could state.
    const oldId = id32(0xab, 0xcd)
    const v1 = encodeStruct({
      domain: 'pl/home-hood',
      version: 1,
      required: ['id', 'name', 'area', 'admins', 'epochs', 'relays', 'members', 'attests', 'joined'],
      maxBytes: 1 << 20
    }, {
      id: oldId,
      name: 'Elm Street',
      area: 'u4pru',
      admins: [me.public.signKey],
      epochs: [{ e: 0, s: newEpochSecret() }, { e: 1, s: newEpochSecret() }],
      relays: [RELAY],
      members: [{ sk: me.public.signKey, bk: me.public.boxKey, n: me.public.name, sig: me.public.binding }],
      attests: [],
      joined: 1_700_000_000_000
    })
    const path = join(home.paths.hoods, toHex(oldId))
    await writeFile(path, v1, { mode: 0o600 })
    const attempts: Array<() => Promise<unknown>> = [
      async () => home.hoods(), async () => home.hoodById(oldId), async () => home.resolveHood(), async () => home.hood('Oak'),
      async () => (await Home.open(join(dir, 'h'), { create: false })).hoods()
    ]
    for (const attempt of attempts) {
      const err = await expectCode(attempt, 'BAD_VERSION')
      expect(err.message).toContain(path)
      expect(err.message).toMatch(/join again from a new invite/)
      expect(err.message).not.toMatch(/\n/)
    }
    await expectCode(() => decodeHoodState(v1), 'BAD_VERSION')
    // Nothing was rewritten; the v2 hood beside it still loads by id; once the old file is gone, all load.
    expect(toHex(await readFile(path))).toBe(toHex(v1))
    expect((await home.hoodById(oak.hood.id))?.hood.name).toBe('Oak')
    await rm(path)
    expect((await home.hoods()).map(h => h.hood.name)).toEqual(['Oak'])
  })

  it('a corrupt hood file, or one holding another hood, is an error naming the file', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = await hoodState()
    await home.saveHood(s)
    const path = home.hoodPath(s.hood.id)
    const bytes = await readFile(path)
    await writeFile(path, bytes.subarray(0, bytes.length - 10))
    const err = await expectCode(home.hoods(), 'MALFORMED')
    expect(err.message).toContain(path)
    expect(err.message).toContain('corrupt')
    const other = await hoodState('Oak')
    await writeFile(path, encodeHoodState(other))
    const err2 = await expectCode(home.hoodById(s.hood.id), 'MALFORMED')
    expect(err2.message).toContain(toHex(other.hood.id))
  })

  it('a leftover temp file from a crash is ignored, and a failed write leaves the old file intact', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = await hoodState()
    await home.saveHood(s)
    const path = home.hoodPath(s.hood.id)
    await writeFile(`${path}.tmp-1234-abcdef`, 'half a file')
    expect(await home.hoods()).toHaveLength(1)
    // Replacing a folder fails at rename: the error is IO and no temp file is left behind.
    const blocked = join(home.paths.hoods, 'blocked')
    await mkdir(join(blocked, 'inside'), { recursive: true })
    await expectCode(writeAtomic(blocked, new Uint8Array([1])), 'IO')
    expect((await readdir(home.paths.hoods)).filter(n => n.startsWith('blocked.tmp'))).toEqual([])
    expect(toHex(await readFile(path))).toBe(toHex(encodeHoodState(s)))
  })

  it('finds hoods by name, id, id prefix, case-folded name; errors for none and several', async () => {
    const home = await Home.open(join(dir, 'h'))
    const err0 = await expectCode(home.resolveHood(), 'NOT_FOUND')
    expect(err0.message).toContain('hood join')
    const elm = await hoodState('Elm Street')
    const oak = await hoodState('Oak')
    await home.saveHood(elm)
    expect((await home.resolveHood()).hood.name).toBe('Elm Street')
    await home.saveHood(oak)
    expect((await home.hoods()).map(h => h.hood.name)).toEqual(['Elm Street', 'Oak'])
    const errMany = await expectCode(home.resolveHood(), 'BAD_ARGUMENT')
    expect(errMany.message).toContain('--hood')
    expect((await home.hood('Oak')).hood.name).toBe('Oak')
    expect((await home.hood('elm street')).hood.name).toBe('Elm Street')
    expect((await home.hood(toHex(oak.hood.id))).hood.name).toBe('Oak')
    expect((await home.resolveHood(toHex(oak.hood.id).slice(0, 6))).hood.name).toBe('Oak')
    await expectCode(home.hood('Maple'), 'NOT_FOUND')
    await expectCode(home.hood('abc'), 'NOT_FOUND')
    // Two hoods with one name: pick by id.
    const elm2 = await hoodState('Elm Street')
    await home.saveHood(elm2)
    const errDup = await expectCode(home.hood('Elm Street'), 'BAD_ARGUMENT')
    expect(errDup.message).toContain(toHex(elm2.hood.id).slice(0, 8))
  })

  it('updateHood serialises concurrent read-modify-write in one process', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = await hoodState()
    await home.saveHood(s)
    const people = await Promise.all(Array.from({ length: 12 }, async (_, i) => createIdentity(`N${i}`)))
    await Promise.all(people.map(async p => home.updateHood(s.hood.id, cur => withMember(cur!, p.public))))
    const back = await home.hoodById(s.hood.id)
    expect(back!.members).toHaveLength(13)
    await expectCode(home.updateHood(s.hood.id, () => ({ ...s, hood: { ...s.hood, id: new Uint8Array(32) } })), 'BAD_ARGUMENT')
  })

  it('an unchanged hood file is not read again; a change by another process, or its removal, is seen', async () => {
    const home = await Home.open(join(dir, 'h'))
    const s = await hoodState()
    await home.saveHood(s)
    // A running peer asks for its hoods with every post it receives: the same file, the same state.
    const first = await home.hoodById(s.hood.id)
    expect(await home.hoodById(s.hood.id)).toBe(first)
    expect((await home.hoods())[0]).toBe(first)
    // Another process (here another Home on the folder) replaces the file.
    const other = await Home.open(join(dir, 'h'))
    const person = await createIdentity('Newcomer')
    await other.updateHood(s.hood.id, cur => withMember(cur!, person.public))
    expect((await home.hoodById(s.hood.id))!.members).toHaveLength(2)
    expect((await home.hoods())[0]!.members).toHaveLength(2)
    await rm(home.hoodPath(s.hood.id))
    expect(await home.hoodById(s.hood.id)).toBeUndefined()
    expect(await home.hoods()).toEqual([])
  })
})

describe('hood state helpers', () => {
  it('an invite key admits one member: the earliest join, whatever order joins arrive in', async () => {
    const key = new Uint8Array(32).fill(9)
    const early = await createIdentity('Early')
    const late = await createIdentity('Late')
    for (const order of [[early, late], [late, early]] as const) {
      let s = await hoodState()
      for (const m of order) {
        const at = m === early ? 100 : 200
        s = withMember(withAdmission(s, key, m.public.signKey, at), m.public, { admitted: admittedBy(withAdmission(s, key, m.public.signKey, at), key)?.member === m.public.signKey })
      }
      expect(toHex(admittedBy(s, key)!.member)).toBe(toHex(early.public.signKey))
      expect(s.members.find(m => m.name === 'Early')!.admitted).toBe(true)
      expect(s.members.find(m => m.name === 'Late')!.admitted).toBe(false)
    }
  })

  it('epochs stay sorted; the same secret again is one entry that keeps when it was learned', async () => {
    let s = await hoodState()
    const secret7 = newEpochSecret()
    s = withEpoch(s, 7, secret7, { learned: s.joined + 70 })
    s = withEpoch(s, 2, newEpochSecret())
    expect(s.epochs.map(e => e.epoch)).toEqual([0, 2, 7])
    expect(s.epochs.map(e => e.learned - s.joined)).toEqual([0, 0, 70])
    expect(withEpoch(s, 7, secret7)).toBe(s)
    expect(withEpoch(s, 7, secret7, { learned: s.joined + 1 })).toBe(s)
    await expectCode(() => withEpoch(s, -1, newEpochSecret()), 'OUT_OF_RANGE')
    await expectCode(() => withEpoch(s, 2 ** 32, newEpochSecret()), 'OUT_OF_RANGE')
    await expectCode(() => withEpoch(s, 1, new Uint8Array(31)), 'BAD_LENGTH')
    const k = currentEpochKeys(s)
    expect(k.epoch).toBe(7)
    expect(toHex(k.tagKey)).toBe(toHex(deriveEpochKeys(s.hood.id, 7, secret7).tagKey))
    expect(epochKeys(s, 2)?.epoch).toBe(2)
    expect(epochKeys(s, 3)).toBeUndefined()
    expect(winningSecret(s, 3)).toBeUndefined()
    expect(allEpochKeys(s, 3)).toEqual([])
  })

  it('two secrets for one epoch: the lowest rekey id wins, an invite\'s secret ranks last, the same secret gains its rekey', async () => {
    const me = await alice()
    let s = await hoodState()
    const fromInvite = newEpochSecret()
    const high = newEpochSecret()
    const low = newEpochSecret()
    s = withEpoch(s, 5, fromInvite, { learned: 100 })
    expect(toHex(currentEpochKeys(s).secret)).toBe(toHex(fromInvite))
    // Ids compare byte by byte: 0x10 0x02 … is above 0x10 0x01 0xff ….
    s = withEpoch(s, 5, high, { learned: 200, rekey: rekeyBy(id32(0x10, 0x02, 0x00), me.public.signKey) })
    expect(toHex(currentEpochKeys(s).secret)).toBe(toHex(high))
    s = withEpoch(s, 5, low, { learned: 300, rekey: rekeyBy(id32(0x10, 0x01, 0xff), me.public.signKey) })
    expect(toHex(currentEpochKeys(s).secret)).toBe(toHex(low))
    expect(toHex(epochKeys(s, 5)!.contentKey)).toBe(toHex(deriveEpochKeys(s.hood.id, 5, low).contentKey))
    expect(s.epochs.map(e => e.epoch)).toEqual([0, 5, 5, 5])
    // Every secret still opens the epoch's posts.
    expect(allEpochKeys(s, 5).map(k => toHex(k.secret)).sort()).toEqual([fromInvite, high, low].map(toHex).sort())
    expect(allEpochKeys(s, 0)).toHaveLength(1)

    // The invite's secret arrives again in a rekey with a lower id: same entry, first learned time kept, now it wins.
    const t = withEpoch(s, 5, fromInvite, { learned: 999, rekey: rekeyBy(id32(0x01), me.public.signKey, [id32(0x55)]) })
    expect(t.epochs).toHaveLength(4)
    const entry = t.epochs.find(e => toHex(e.secret) === toHex(fromInvite))!
    expect(entry.learned).toBe(100)
    expect(entry.rekey!.removed.map(toHex)).toEqual([toHex(id32(0x55))])
    expect(toHex(winningSecret(t, 5)!.secret)).toBe(toHex(fromInvite))
    // A known rekey is never replaced, and the same secret without one changes nothing.
    expect(withEpoch(t, 5, fromInvite, { rekey: rekeyBy(id32(0x00), me.public.signKey) })).toBe(t)
    expect(withEpoch(t, 5, low)).toBe(t)

    // Two invites' secrets for one epoch: neither beats the other, the first kept stays.
    let u = await hoodState()
    const a = newEpochSecret()
    u = withEpoch(withEpoch(u, 1, a), 1, newEpochSecret())
    expect(toHex(winningSecret(u, 1)!.secret)).toBe(toHex(a))
  })

  it('at most MAX_SECRETS_PER_EPOCH secrets for one epoch', async () => {
    const me = await alice()
    let s = await hoodState()
    const secrets = Array.from({ length: MAX_SECRETS_PER_EPOCH }, () => newEpochSecret())
    for (const [i, secret] of secrets.entries()) s = withEpoch(s, 9, secret, { rekey: rekeyBy(id32(i), me.public.signKey) })
    expect(allEpochKeys(s, 9)).toHaveLength(MAX_SECRETS_PER_EPOCH)
    await expectCode(() => withEpoch(s, 9, newEpochSecret()), 'TOO_LARGE')
    // A secret already held is still fine, and so is another epoch.
    expect(withEpoch(s, 9, secrets[3]!)).toBe(s)
    expect(withEpoch(s, 10, newEpochSecret()).epochs).toHaveLength(MAX_SECRETS_PER_EPOCH + 2)
  })

  it('supersededAt: when this home first learned any later epoch', async () => {
    let s = await hoodState()
    const t = s.joined
    expect(supersededAt(s, 0)).toBeUndefined()
    s = withEpoch(s, 1, newEpochSecret(), { learned: t + 500 })
    s = withEpoch(s, 3, newEpochSecret(), { learned: t + 300 })
    // A second secret for epoch 1 does not close epoch 1.
    s = withEpoch(s, 1, newEpochSecret(), { learned: t + 100 })
    expect(supersededAt(s, 0)).toBe(t + 100)
    expect(supersededAt(s, 1)).toBe(t + 300)
    expect(supersededAt(s, 2)).toBe(t + 300)
    expect(supersededAt(s, 3)).toBeUndefined()
  })

  it('relays deduplicate and stop at MAX_RELAYS; bad ones are refused', async () => {
    let s = await hoodState()
    s = withRelays(s, [RELAY, '/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1'])
    expect(s.relays).toEqual([RELAY, '/ip4/10.0.0.1/tcp/1'])
    s = withRelays(s, Array.from({ length: 20 }, (_, i) => `/ip4/10.0.1.${i}/tcp/1`))
    expect(s.relays).toHaveLength(MAX_RELAYS)
    await expectCode(() => withRelays(s, ['not a multiaddr']), 'BAD_ARGUMENT')
  })

  it('members are unique by signing key; a rename keeps the former name', async () => {
    const s = await hoodState()
    const bob = await createIdentity('Bob')
    const renamed = await createIdentity('Robert', { seed: bob.seed, boxSecret: bob.boxSecret })
    const again = await createIdentity('Rob', { seed: bob.seed, boxSecret: bob.boxSecret })
    const two = withMember(withMember(s, bob.public, { now: 5 }), renamed.public, { now: 10 })
    expect(two.members.map(m => m.name)).toEqual(['Alice', 'Robert'])
    expect(two.members[1]).toMatchObject({ formerName: 'Bob', renamedAt: 10 })
    expect(withoutMember(two, bob.public.signKey).members.map(m => m.name)).toEqual(['Alice'])
    // The same name again keeps the record of the rename; another rename moves it on.
    expect(withMember(two, renamed.public, { now: 20 }).members[1]).toMatchObject({ name: 'Robert', formerName: 'Bob', renamedAt: 10 })
    expect(withMember(two, again.public, { now: 30 }).members[1]).toMatchObject({ name: 'Rob', formerName: 'Robert', renamedAt: 30 })
    // Without a time the rename is dated by when the hood was joined (never missing).
    expect(withMember(withMember(s, bob.public), renamed.public).members[1]).toMatchObject({ formerName: 'Bob', renamedAt: s.joined })
    expect(withMember(s, bob.public).members[1]!.formerName).toBeUndefined()
  })

  it('admission only goes up; admins are always admitted; via is kept', async () => {
    const me = await alice()
    const s = await hoodState()
    expect(s.members[0]).toMatchObject({ name: 'Alice', admitted: true })
    expect(withMember(s, me.public, { admitted: false }).members[0]!.admitted).toBe(true)
    const bob = await createIdentity('Bob')
    const pending = withMember(s, bob.public, { via: me.public.signKey })
    expect(pending.members[1]!.admitted).toBe(false)
    expect(toHex(pending.members[1]!.via!)).toBe(toHex(me.public.signKey))
    const admitted = withMember(pending, bob.public, { admitted: true })
    expect(admitted.members[1]!.admitted).toBe(true)
    expect(toHex(admitted.members[1]!.via!)).toBe(toHex(me.public.signKey))
    expect(withMember(admitted, bob.public, { admitted: false }).members[1]!.admitted).toBe(true)
    expect(withMember(admitted, bob.public).members[1]!.admitted).toBe(true)
    // A member certified as an admin is admitted the next time they are seen, whatever is passed.
    const carol = await createIdentity('Carol')
    let c = withMember(s, carol.public)
    expect(c.members[1]!.admitted).toBe(false)
    c = { ...c, hood: await addAdmin(me, c.hood, carol.public.signKey) }
    expect(withMember(c, carol.public, { admitted: false }).members[1]!.admitted).toBe(true)
    // New states admit only the admins among the members given.
    const both = newHoodState({ hood: s.hood, epoch: 0, secret: newEpochSecret(), members: [me.public, bob.public], joined: 1 })
    expect(both.members.map(m => [m.name, m.admitted])).toEqual([['Alice', true], ['Bob', false]])
  })

  it('at most MAX_MEMBERS members', async () => {
    const bob = (await createIdentity('Bob')).public
    let s = await hoodState()
    for (let i = 1; i < MAX_MEMBERS; i++) s = withMember(s, { ...bob, signKey: id32(i >> 8, i & 255) })
    expect(s.members).toHaveLength(MAX_MEMBERS)
    await expectCode(() => withMember(s, bob), 'TOO_LARGE')
    // Updating one already known is fine.
    expect(withMember(s, { ...bob, signKey: id32(0, 1), name: 'Bobby' }).members).toHaveLength(MAX_MEMBERS)
  })

  it('withRemoved drops the members and remembers each removal once; withoutRemoval forgets it', async () => {
    const bob = await createIdentity('Bob')
    const carol = await createIdentity('Carol')
    let s = withMember(withMember(await hoodState(), bob.public, { admitted: true }), carol.public, { admitted: true })
    s = withRemoved(s, [bob.public.signKey, carol.public.signKey], 1000, 4)
    expect(s.members.map(m => m.name)).toEqual(['Alice'])
    expect(removalOf(s, bob.public.signKey)).toEqual({ signKey: bob.public.signKey, at: 1000, epoch: 4 })
    expect(removalOf(s, (await alice()).public.signKey)).toBeUndefined()
    // Removed again (another admin's rekey): the first removal stands.
    const again = withRemoved(s, [bob.public.signKey], 2000, 5)
    expect(again.removed).toHaveLength(2)
    expect(removalOf(again, bob.public.signKey)).toMatchObject({ at: 1000, epoch: 4 })
    const back = withoutRemoval(again, bob.public.signKey)
    expect(removalOf(back, bob.public.signKey)).toBeUndefined()
    expect(removalOf(back, carol.public.signKey)).toBeDefined()
    // Forgetting the removal does not bring the member back: a new join or admission does.
    expect(back.members.map(m => m.name)).toEqual(['Alice'])
    expect(withoutRemoval(back, bob.public.signKey).removed).toEqual(back.removed)
    // Bounded: the oldest removals go first.
    const many = Array.from({ length: MAX_REMOVED + 5 }, (_, i) => id32(i >> 8, i & 255))
    const full = withRemoved(s, many, 3000, 6)
    expect(full.removed).toHaveLength(MAX_REMOVED)
    expect(removalOf(full, bob.public.signKey)).toBeUndefined()
    expect(removalOf(full, many[many.length - 1]!)).toBeDefined()
    expect(decodeHoodState(encodeHoodState(full))).toEqual(full)
  })

  it('withRevoked keeps each attestation id once, at most MAX_REVOKED', async () => {
    const s = await hoodState()
    const one = withRevoked(s, id32(1))
    expect(one.revoked.map(toHex)).toEqual([toHex(id32(1))])
    expect(withRevoked(one, id32(1))).toBe(one)
    expect(withRevoked(one, Uint8Array.from(id32(1)))).toBe(one)
    let full = one
    for (let i = 2; i <= MAX_REVOKED + 1; i++) full = withRevoked(full, id32(i >> 8, i & 255))
    expect(full.revoked).toHaveLength(MAX_REVOKED)
    expect(full.revoked.some(r => toHex(r) === toHex(id32(1)))).toBe(false)
    expect(decodeHoodState(encodeHoodState(full))).toEqual(full)
  })

  it('new hood states are validated', async () => {
    const me = await alice()
    const hood: Neighborhood = { ...createNeighborhood('X', 'u4', me.public.signKey), area: 'u4pruxyz' }
    await expectCode(() => newHoodState({ hood, epoch: 0, secret: newEpochSecret(), joined: 0 }), 'BAD_GEOHASH')
    await expectCode(() => newHoodState({ hood: createNeighborhood('X', 'u4', me.public.signKey), epoch: 0, secret: new Uint8Array(5), joined: 0 }), 'BAD_LENGTH')
  })
})

const GEOHASH_CHARS = '0123456789bcdefghjkmnpqrstuvwxyz'

describe('agency state', () => {
  it('round-trips, validates areas, deduplicates', async () => {
    const home = await Home.open(join(dir, 'h'))
    expect(await home.role()).toBe('resident')
    let a = withFollowedAreas({ areas: [] }, ['u4pru', 'u4', 'u4pru'])
    a = withAgencyAttestation(a, new Uint8Array([9, 9]))
    await home.saveAgency(a)
    expect(await home.role()).toBe('agency')
    expect(await (await Home.open(join(dir, 'h'))).agency()).toEqual({ areas: ['u4pru', 'u4'], attestations: [new Uint8Array([9, 9])] })
    expect(withoutFollowedAreas(a, ['u4']).areas).toEqual(['u4pru'])
    await expectCode(() => withFollowedAreas(a, ['u4prua1']), 'BAD_GEOHASH')
    await expectCode(() => withFollowedAreas(a, ['ai']), 'BAD_GEOHASH')
    // A city agency follows every cell of its city (500 six-character areas for a million
    // households), with its attestations and relays: kept and read back; past 1,024, refused.
    const cells = (n: number): string[] => Array.from({ length: n }, (_, i) => `u4${GEOHASH_CHARS[(i >> 10) & 31]!}${GEOHASH_CHARS[(i >> 5) & 31]!}${GEOHASH_CHARS[i & 31]!}`)
    const city = withAgencyRelays(
      Array.from({ length: 16 }, (_, i) => new Uint8Array(768).fill(i + 1)).reduce(withAgencyAttestation, withFollowedAreas({ areas: [] }, cells(1024))),
      Array.from({ length: 8 }, (_, i) => `/dns4/relay-${i}.example.org/tcp/443/wss/p2p/12D3KooWKXQ6TSnuH9MzG5viBFpsN5xiAM8AdFnz1ayPc5rzGffx`))
    await home.saveAgency(city)
    expect((await (await Home.open(join(dir, 'h'))).agency())?.areas).toHaveLength(1024)
    await expectCode(() => withFollowedAreas({ areas: [] }, cells(1025)), 'TOO_LARGE')
    await expectCode(() => decodeAgencyState(encodeStruct({ domain: 'pl/home-agency', version: 1, required: [], maxBytes: 9999 }, { areas: ['u4', 'u4'], att: [] })), 'MALFORMED')
    // Relays an agency follows through: kept, deduplicated, bounded, checked; a file without them reads as before.
    const relay = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWKXQ6TSnuH9MzG5viBFpsN5xiAM8AdFnz1ayPc5rzGffx'
    const withRelay = withAgencyRelays(a, [relay, relay])
    expect(decodeAgencyState(encodeAgencyState(withRelay)).relays).toEqual([relay])
    expect(decodeAgencyState(encodeAgencyState(a)).relays).toBeUndefined()
    await expectCode(() => decodeAgencyState(encodeStruct({ domain: 'pl/home-agency', version: 1, required: [], maxBytes: 9999 }, { areas: ['u4'], att: [], rl: ['not\na multiaddr'] })), 'BAD_ARGUMENT')
    await home.clearAgency()
    expect(await home.role()).toBe('resident')
  })
})

describe('older epochs a relay token lets a new relay mirror (unexpiredOlderEpochKeys)', () => {
  it('those closed less than a post lifetime (plus skew) ago, newest first, every secret of each, at most max', async () => {
    const me = await alice()
    const DAY = 86_400_000
    const t0 = 1_000 * DAY
    let s = newHoodState({ hood: createNeighborhood('Elm', 'u4pru', me.public.signKey), epoch: 0, secret: newEpochSecret(), members: [me.public], joined: t0 })
    // Epoch e is learned on day 10·e; epoch 2 has two secrets (two admins rekeyed at once).
    for (const e of [1, 2, 3, 4]) s = withEpoch(s, e, newEpochSecret(), { learned: t0 + e * 10 * DAY })
    s = withEpoch(s, 2, newEpochSecret(), { learned: t0 + 20 * DAY + 1 })
    const now = t0 + 45 * DAY
    const got = unexpiredOlderEpochKeys(s, now, 8)
    // Epoch 0 closed on day 10, 35 days ago: all its posts have expired. Epoch 1 closed on day 20 (25 days ago).
    expect(got.map(k => k.epoch)).toEqual([3, 2, 2, 1])
    expect(got.every(k => k.epoch < currentEpochKeys(s).epoch)).toBe(true)
    expect(toHex(got[0]!.tagKey)).toBe(toHex(epochKeys(s, 3)!.tagKey))
    expect(unexpiredOlderEpochKeys(s, now, 2).map(k => k.epoch)).toEqual([3, 2])
    expect(unexpiredOlderEpochKeys(s, t0 + 10 * DAY + MAX_TTL_MS + MAX_CLOCK_SKEW_MS - 1, 8).map(k => k.epoch)).toEqual([3, 2, 2, 1, 0])
    expect(unexpiredOlderEpochKeys(s, t0 + 40 * DAY + MAX_TTL_MS + MAX_CLOCK_SKEW_MS, 8)).toEqual([])
  })
})
