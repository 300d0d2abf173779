// Rosters: an admin's list of admitted members, so a member (or admin) who joined after earlier
// epochs knows everyone the next rekey must include. Only an admin's roster is read, and that
// is checked before any of its identities is verified.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { equalBytes } from '../../protocol/encoding.ts'
import { createIdentity, type PublicIdentity } from '../../protocol/identity.ts'
import { createRoster, openRoster, ROSTER_CHUNK } from '../../protocol/membership.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, randomPrivateTopic } from '../helpers/protocol-fixtures.ts'

const NOW = 1_750_000_000_000
const admin = await createIdentity('Ada')
const member = await createIdentity('Ben')
const topic = randomPrivateTopic()
const isAda = (k: Uint8Array): boolean => equalBytes(k, admin.public.signKey)

describe('roster', () => {
  it('round-trips in chunks of ROSTER_CHUNK, every identity intact', async () => {
    const one = await createIdentity('M')
    const many: PublicIdentity[] = Array.from({ length: ROSTER_CHUNK + 3 }, () => one.public)
    const chunks = await createRoster(admin, many, topic, NOW)
    expect(chunks).toHaveLength(2)
    const opened = await Promise.all(chunks.map(async c => openRoster(c, topic, NOW, isAda)))
    expect(opened.map(o => o.members.length)).toEqual([ROSTER_CHUNK, 3])
    expect(equalBytes(opened[0]!.by, admin.public.signKey)).toBe(true)
    expect(opened[0]!.at).toBe(NOW)
  })

  it('a member\'s roster is NOT_ADMIN; another topic or a tampered byte is refused', async () => {
    const [byMember] = await createRoster(member, [member.public, admin.public], topic, NOW)
    expect(await codeOf(() => openRoster(byMember!, topic, NOW, isAda))).toBe('NOT_ADMIN')
    const [good] = await createRoster(admin, [member.public], topic, NOW)
    expect(await codeOf(() => openRoster(good!, randomPrivateTopic(), NOW, isAda))).toBe('BAD_SIGNATURE')
    expect(await codeOf(() => openRoster(good!, topic, NOW - 3600_000, isAda))).toBe('FUTURE_DATED')
    const bent = Uint8Array.from(good!)
    bent[bent.length - 70] = bent[bent.length - 70]! ^ 1
    expect(await codeOf(() => openRoster(bent, topic, NOW, isAda))).not.toBe('accepted')
  })

  it('throws only PorchlightError on mutations, and never accepts a changed roster', async () => {
    const [good] = await createRoster(admin, [member.public, admin.public], topic, NOW)
    await fc.assert(fc.asyncProperty(byteEdits(), async (edits) => {
      const bytes = applyEdits(good!, edits)
      const code = await codeOf(() => openRoster(bytes, topic, NOW, isAda))
      if (code === 'accepted') expect(equalBytes(bytes, good!)).toBe(true)
    }), { numRuns: runs(50) })
  })
})
