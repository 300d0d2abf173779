// The home folder: permissions, atomic and exclusive writes, strict decoding of every file,
// hood lookup, and the pure state helpers the network half builds on.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, readdir, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { encodeStruct, toHex } from '../../protocol/encoding.ts'
import { createIdentity, encodeIdentitySecret, type Identity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, newEpochSecret, type Neighborhood } from '../../protocol/neighborhood.ts'
import {
  currentEpochKeys, decodeAgencyState, decodeHoodState, defaultHomeDir, encodeAgencyState, encodeHoodState, epochKeys,
  Home, MAX_RELAYS, newHoodState, withAgencyAttestation, withAttestation, withEpoch, withFollowedAreas, withMember,
  withoutFollowedAreas, withoutMember, withRelays, writeAtomic, type HoodState
} from '../../node/home.ts'

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

  it('property: decode(encode(state)) is the state', async () => {
    const me = await alice()
    const member = (await createIdentity('Member')).public
    await fc.assert(fc.property(
      fc.string({ minLength: 1, maxLength: 20 }).filter(s => s.trim() === s && !/\p{Cc}/u.test(s)),
      fc.stringMatching(/^[0-9b-hjkmnp-z]{1,6}$/),
      fc.uniqueArray(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 20 }),
      fc.uniqueArray(fc.stringMatching(/^\/ip4\/10\.0\.0\.[0-9]{1,3}\/tcp\/[0-9]{1,5}$/), { maxLength: MAX_RELAYS }),
      fc.boolean(),
      fc.nat(),
      (name, area, epochs, relays, withOther, joined) => {
        let s = newHoodState({ hood: createNeighborhood(name, area, me.public.signKey), epoch: epochs[0]!, secret: newEpochSecret(), relays, members: [me.public], joined })
        for (const e of epochs.slice(1)) s = withEpoch(s, e, newEpochSecret())
        if (withOther) s = withMember(s, member)
        const back = decodeHoodState(encodeHoodState(s))
        expect(back).toEqual(s)
        expect(back.epochs.map(e => e.epoch)).toEqual([...epochs].sort((a, b) => a - b))
      }
    ), { numRuns: 100 })
  })

  it('strict decoding: extra field, wrong type, unsorted epochs, duplicate members, trailing bytes', async () => {
    const s = await hoodState()
    const good = {
      id: s.hood.id, name: s.hood.name, area: s.hood.area, admins: [...s.hood.admins],
      epochs: s.epochs.map(e => ({ e: e.epoch, s: e.secret })), relays: [...s.relays],
      members: s.members.map(m => ({ sk: m.signKey, bk: m.boxKey, n: m.name, sig: m.binding })), attests: [], joined: s.joined
    }
    const spec = { domain: 'pl/home-hood', version: 1, required: [], maxBytes: 1 << 20 }
    const enc = (f: Record<string, unknown>): Uint8Array => encodeStruct(spec, f as never)
    expect(decodeHoodState(enc(good))).toEqual(s)
    await expectCode(() => decodeHoodState(enc({ ...good, extra: 1 })), 'EXTRA_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, joined: 'x' })), 'WRONG_TYPE')
    await expectCode(() => decodeHoodState(enc({ ...good, id: new Uint8Array(31) })), 'BAD_LENGTH')
    const e0 = { e: 5, s: newEpochSecret() }
    const e1 = { e: 2, s: newEpochSecret() }
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [e0, e1] })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, epochs: [] })), 'MISSING_FIELD')
    await expectCode(() => decodeHoodState(enc({ ...good, members: [good.members[0], good.members[0]] })), 'MALFORMED')
    await expectCode(() => decodeHoodState(enc({ ...good, area: 'aaaa' })), 'BAD_GEOHASH')
    await expectCode(() => decodeHoodState(encodeStruct({ ...spec, version: 2 }, good as never)), 'BAD_VERSION')
    const bytes = enc(good)
    await expectCode(() => decodeHoodState(new Uint8Array([...bytes, 0])), 'MALFORMED')
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
})

describe('hood state helpers', () => {
  it('epochs stay sorted and never change their secret', async () => {
    let s = await hoodState()
    const secret7 = newEpochSecret()
    s = withEpoch(s, 7, secret7)
    s = withEpoch(s, 2, newEpochSecret())
    expect(s.epochs.map(e => e.epoch)).toEqual([0, 2, 7])
    expect(withEpoch(s, 7, secret7)).toBe(s)
    await expectCode(() => withEpoch(s, 7, newEpochSecret()), 'REFUSED')
    await expectCode(() => withEpoch(s, -1, newEpochSecret()), 'OUT_OF_RANGE')
    const k = currentEpochKeys(s)
    expect(k.epoch).toBe(7)
    expect(toHex(k.tagKey)).toBe(toHex(deriveEpochKeys(s.hood.id, 7, secret7).tagKey))
    expect(epochKeys(s, 2)?.epoch).toBe(2)
    expect(epochKeys(s, 3)).toBeUndefined()
  })

  it('relays deduplicate and stop at MAX_RELAYS; bad ones are refused', async () => {
    let s = await hoodState()
    s = withRelays(s, [RELAY, '/ip4/10.0.0.1/tcp/1', '/ip4/10.0.0.1/tcp/1'])
    expect(s.relays).toEqual([RELAY, '/ip4/10.0.0.1/tcp/1'])
    s = withRelays(s, Array.from({ length: 20 }, (_, i) => `/ip4/10.0.1.${i}/tcp/1`))
    expect(s.relays).toHaveLength(MAX_RELAYS)
    await expectCode(() => withRelays(s, ['not a multiaddr']), 'BAD_ARGUMENT')
  })

  it('members are unique by signing key', async () => {
    const s = await hoodState()
    const bob = await createIdentity('Bob')
    const renamed = await createIdentity('Robert', { seed: bob.seed, boxSecret: bob.boxSecret })
    const two = withMember(withMember(s, bob.public), renamed.public)
    expect(two.members.map(m => m.name)).toEqual(['Alice', 'Robert'])
    expect(withoutMember(two, bob.public.signKey).members.map(m => m.name)).toEqual(['Alice'])
  })

  it('new hood states are validated', async () => {
    const me = await alice()
    const hood: Neighborhood = { ...createNeighborhood('X', 'u4', me.public.signKey), area: 'u4pruxyz' }
    await expectCode(() => newHoodState({ hood, epoch: 0, secret: newEpochSecret(), joined: 0 }), 'BAD_GEOHASH')
    await expectCode(() => newHoodState({ hood: createNeighborhood('X', 'u4', me.public.signKey), epoch: 0, secret: new Uint8Array(5), joined: 0 }), 'BAD_LENGTH')
  })
})

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
    await expectCode(() => withFollowedAreas({ areas: [] }, Array.from({ length: 65 }, (_, i) => `u${'0123456789bcdefghjkmnpqrstuvwxyz'[i % 32]!}${'bcd'[Math.floor(i / 32)]!}`)), 'TOO_LARGE')
    await expectCode(() => decodeAgencyState(encodeStruct({ domain: 'pl/home-agency', version: 1, required: [], maxBytes: 9999 }, { areas: ['u4', 'u4'], att: [] })), 'MALFORMED')
    await home.clearAgency()
    expect(await home.role()).toBe('resident')
  })
})
