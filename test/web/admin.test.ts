// The admin screen's logic without a browser or network (web/state/admin.ts, the shared steps in
// protocol/peer/hood-actions.ts): the members as listed, what a removal means said plainly,
// vouching for an agency and revoking it through the engine, the neighborhood settings (kept in
// the hood state, old states still readable) and the composer's defaults they set.
import { describe, expect, it } from 'vitest'
import { PorchlightError } from '../../protocol/errors.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { createIdentity, fingerprint, type Identity } from '../../protocol/identity.ts'
import { createNeighborhood, newEpochSecret } from '../../protocol/neighborhood.ts'
import { verifyAttestation } from '../../protocol/agency.ts'
import { DEFAULT_TTL_MS, MAX_TTL_MS } from '../../protocol/post.ts'
import { decodeHoodState, encodeHoodState, hoodSettings, newHoodState, withMember, withRevoked, withSettings, type HoodState } from '../../protocol/hood-state.ts'
import { changeSettings } from '../../protocol/peer/admin-actions.ts'
import { formatPublicIdentity, parseAttestationString } from '../../protocol/public-strings.ts'
import { adminView, attest, removalAccount, revoke, type AdminEngine } from '../../web/state/admin.ts'
import { durationWords, EXPIRY_CHOICES, expiryChoices } from '../../web/state/compose.ts'
import { AppState, type Engine } from '../../web/state/app-state.ts'
import { MemoryHome } from '../helpers/memory-runtime.ts'

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0)
const DAY = 86_400_000
const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzAZ8y1U6dK5oqX1SntK7kqN1Uw2kj5cE8AfG9sYVdxS'

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

interface Cast { ann: Identity, ben: Identity, cy: Identity, state: HoodState }

/** Ann founded Maple Street; Ben is admitted, Cy joined from Ben's invite and waits for approval. */
async function maple (): Promise<Cast> {
  const [ann, ben, cy] = await Promise.all([createIdentity('Ann'), createIdentity('Ben'), createIdentity('Cy')])
  let state = newHoodState({ hood: createNeighborhood('Maple Street', 'u4pru', ann.public.signKey), epoch: 3, secret: newEpochSecret(), relays: [RELAY], members: [ann.public], joined: NOW - 10 * DAY })
  state = withMember(state, ben.public, { admitted: true })
  state = withMember(state, cy.public, { via: ben.public.signKey })
  return { ann, ben, cy, state }
}

describe('the admin view', () => {
  it('lists members by name with fingerprints and admin / admitted / pending', async () => {
    const { ann, ben, cy, state } = await maple()
    const v = await adminView(state, ann, NOW)
    expect(v.admin).toBe(true)
    expect(v.epoch).toBe(3)
    expect(v.members.map(m => [m.name, m.fingerprint, m.admin, m.admitted, m.me])).toEqual([
      ['Ann', fingerprint(ann.public.signKey), true, true, true],
      ['Ben', fingerprint(ben.public.signKey), false, true, false],
      ['Cy', fingerprint(cy.public.signKey), false, false, false]
    ])
    expect(v.relayToken).toMatch(/^plrelay:/)
    expect(v.settings).toEqual({ postTtlMs: DEFAULT_TTL_MS, precision: 5, rfasForNewMembers: true })
    // Ben sees the members, not the actions.
    expect((await adminView(state, ben, NOW)).admin).toBe(false)
  })

  it('says plainly what a removed member can and cannot still read, and who else the new key leaves out', async () => {
    const { ann, state } = await maple()
    const v = await adminView(state, ann, NOW)
    const ben = v.members.find(m => m.name === 'Ben')!
    const account = removalAccount(v, ben)
    expect(account.canStill.join(' ')).toMatch(/Everything Ben already received/)
    expect(account.canStill.join(' ')).toMatch(/current key \(epoch 3\)/)
    expect(account.cannot.join(' ')).toMatch(/new key \(epoch 4\) that goes to the 1 remaining member only/)
    expect(account.cannot.join(' ')).toMatch(/relays refuse what they send/)
    expect(account.alsoLeftOut).toMatch(/^Cy is still awaiting approval/)
    // Removing the pending member: no one else is left out.
    expect(removalAccount(v, v.members.find(m => m.name === 'Cy')!).alsoLeftOut).toBeUndefined()
  })
})

describe('vouching for an agency', () => {
  it('turns a pasted plid: into an attestation kept in the hood, listed, and revoked through the engine', async () => {
    const { ann, state } = await maple()
    const home = new MemoryHome(ann, [state])
    const agency = await createIdentity('Riverside Fire Dept')
    const info = await attest(home, ann, state, { agency: `  ${formatPublicIdentity(agency.public)}\n`, name: '', area: '', validityMs: 30 * DAY }, NOW)
    expect(info).toMatchObject({ name: 'Riverside Fire Dept', area: 'u4pru', expires: NOW + 30 * DAY, adminFingerprint: fingerprint(ann.public.signKey) })
    const att = await verifyAttestation(parseAttestationString(info.attestation), NOW)
    expect(toHex(att.agency.signKey)).toBe(toHex(agency.public.signKey))

    const saved = (await home.hoodById(state.hood.id))!
    const named = await attest(home, ann, saved, { agency: formatPublicIdentity(agency.public), name: 'Riverside FD', area: 'U4PRUX', validityMs: 90 * DAY }, NOW)
    expect(named).toMatchObject({ name: 'Riverside FD', area: 'u4prux' })
    let v = await adminView((await home.hoodById(state.hood.id))!, ann, NOW)
    expect(v.attestations.map(a => [a.name, a.agencyFingerprint, a.revoked])).toEqual([
      ['Riverside Fire Dept', fingerprint(agency.public.signKey), false], ['Riverside FD', fingerprint(agency.public.signKey), false]
    ])

    const asked: Array<{ bytes: Uint8Array, hood?: string }> = []
    const engine: AdminEngine = {
      approveMember: async () => { throw new Error('unused') },
      removeMember: async () => { throw new Error('unused') },
      revokeAttestation: async (bytes, hood) => { asked.push({ bytes, ...(hood !== undefined ? { hood } : {}) }); return { ok: true } },
      changeHoodSettings: async () => { throw new Error('unused') }
    }
    const first = v.attestations[0]!
    expect(await revoke(engine, (await home.hoodById(state.hood.id))!, first.id, NOW)).toEqual({ ok: true })
    expect(asked.map(a => [toHex(a.bytes) === toHex(parseAttestationString(info.attestation)), a.hood])).toEqual([[true, toHex(state.hood.id)]])
    await expectCode(revoke(engine, state, 'ab'.repeat(32), NOW), 'NOT_FOUND')
    // Once the revocation is applied (the engine ingests its own announcement), the list says so.
    v = await adminView(withRevoked((await home.hoodById(state.hood.id))!, fromHex(first.id)), ann, NOW)
    expect(v.attestations.map(a => a.revoked)).toEqual([true, false])
    expect((await adminView(state, ann, NOW + 31 * DAY)).attestations).toEqual([])
    expect((await adminView((await home.hoodById(state.hood.id))!, ann, NOW + 31 * DAY)).attestations.map(a => a.expired)).toEqual([true, false])
  })

  it('says what to paste when it is not a public identity, and only admins vouch', async () => {
    const { ann, ben, state } = await maple()
    const home = new MemoryHome(ann, [state])
    const err = await expectCode(attest(home, ann, state, { agency: 'plattest:AAAA', name: '', area: '', validityMs: 30 * DAY }, NOW), 'BAD_ARGUMENT')
    expect(err.message).toMatch(/paste the whole plid:… text/)
    const agency = await createIdentity('Riverside Fire Dept')
    await expectCode(attest(home, ben, state, { agency: formatPublicIdentity(agency.public), name: '', area: '', validityMs: 30 * DAY }, NOW), 'NOT_ADMIN')
    expect((await home.hoodById(state.hood.id))!.attestations).toEqual([])
  })
})

describe('neighborhood settings', () => {
  it('are kept in the hood state, and a state from before them reads with the defaults', async () => {
    const { state } = await maple()
    const old = encodeHoodState(state)
    expect(decodeHoodState(old).settings).toBeUndefined()
    expect(hoodSettings(decodeHoodState(old))).toEqual({ postTtlMs: DEFAULT_TTL_MS, precision: 5, rfasForNewMembers: true })
    const set = withSettings(state, { postTtlMs: DAY, precision: 7, rfasForNewMembers: false })
    expect(hoodSettings(decodeHoodState(encodeHoodState(set)))).toEqual({ postTtlMs: DAY, precision: 7, rfasForNewMembers: false })
    // A patch changes only what it names.
    expect(hoodSettings(withSettings(set, { precision: 6 }))).toEqual({ postTtlMs: DAY, precision: 6, rfasForNewMembers: false })
    expect(decodeHoodState(encodeHoodState(withSettings(state, {}))).settings).toEqual({})
  })

  it('refuse what a post cannot carry', async () => {
    const { ann, ben, state } = await maple()
    for (const bad of [{ postTtlMs: 0 }, { postTtlMs: MAX_TTL_MS + 1 }, { postTtlMs: 1.5 * DAY + 0.5 }, { precision: 0 }, { precision: 9 }]) {
      await expectCode(() => withSettings(state, bad), 'OUT_OF_RANGE')
    }
    const home = new MemoryHome(ann, [state])
    await expectCode(changeSettings(home, ann, state, { precision: 4 }), 'OUT_OF_RANGE')
    await expectCode(changeSettings(home, ben, state, { postTtlMs: DAY }), 'NOT_ADMIN')
    expect(hoodSettings((await changeSettings(home, ann, state, { postTtlMs: 3 * DAY })))).toMatchObject({ postTtlMs: 3 * DAY })
  })

  it('give the composer its expiry choices, with a default set elsewhere among them', () => {
    expect(EXPIRY_CHOICES.map(c => c.label)).toEqual(['1 day', '3 days', '7 days', '14 days', '30 days'])
    expect(EXPIRY_CHOICES.every(c => durationWords(c.ms) === c.label)).toBe(true)
    expect(expiryChoices(DEFAULT_TTL_MS)).toEqual(EXPIRY_CHOICES)
    expect(expiryChoices(12 * 3_600_000).map(c => c.label)).toEqual(['12 hours', '1 day', '3 days', '7 days', '14 days', '30 days'])
    expect(expiryChoices(2 * DAY).map(c => c.label)).toEqual(['1 day', '2 days', '3 days', '7 days', '14 days', '30 days'])
  })
})

describe('the app state on the admin screen', () => {
  it('opens a neighborhood; saving its settings and a removal need the engine', async () => {
    const { ann, state } = await maple()
    const home = Object.assign(new MemoryHome(ann, [state]), { saveIdentity: async () => undefined })
    let opened = 0
    const app = new AppState({ home, openEngine: async (): Promise<Engine> => { opened++; throw new Error('no engine in this test') }, origin: 'https://porch.example.org', now: () => NOW })
    const hoodId = toHex(state.hood.id)
    expect(await app.openAdmin(hoodId)).toBe(true)
    expect(app.snapshot.admin?.members.map(m => m.name)).toEqual(['Ann', 'Ben', 'Cy'])

    // Settings go to every member through the engine: without a running one, saving says so and nothing changes.
    expect(await app.saveHoodSettings({ postTtlMs: DAY, precision: 6 })).toBe(false)
    expect(app.snapshot.error).toMatch(/not connected/)
    expect(app.snapshot.hoods[0]).toMatchObject({ name: 'Maple Street', postTtlMs: DEFAULT_TTL_MS })

    // Without a running engine the removal says so, and nothing changes.
    const ben = app.snapshot.admin!.members.find(m => m.name === 'Ben')!
    expect(await app.removeMember(ben.signKey)).toBe(false)
    expect(app.snapshot.error).toMatch(/not connected/)
    expect(opened).toBe(0)
    expect(app.snapshot.admin?.members.map(m => m.name)).toEqual(['Ann', 'Ben', 'Cy'])
    app.closeAdmin()
    expect(app.snapshot.admin).toBeUndefined()
  })
})
