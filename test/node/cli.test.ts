// The offline CLI: most checks run main() in-process with captured output (fast); a few spawn
// the real `node node/bin/porchlight.js` (the build in dist/, made by test/build-cli.ts before
// the tests) to check the entry point, exit codes and stderr.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { execFile } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { containsBytes, encodeStruct, fromHex, toHex } from '../../protocol/encoding.ts'
import { parseInvite } from '../../protocol/invite.ts'
import { parseRelayToken, relayTokenBytes } from '../../protocol/relay-token.ts'
import { newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { verifyAttestation } from '../../protocol/agency.ts'
import { COMMANDS, helpFor, main, type Io } from '../../node/cli/main.ts'
import { currentEpochKeys, Home } from '../../node/storage/home-dir.ts'
import { parseAttestationString, parsePublicIdentity } from '../../node/cli/output.ts'
import { HELP_FIGURES } from '../../node/cli/command.ts'
import { readHiddenLine } from '../../node/cli/passphrase.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'node/bin/porchlight.js')
const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzAZ8y1U6dK5oqX1SntK7kqN1Uw2kj5cE8AfG9sYVdxS'
const DAY = 86_400_000

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pl-cli-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

interface Run { code: number, stdout: string, stderr: string }

/** Runs main() in-process against the home `name` under the temp dir. */
async function cli (name: string, args: string[], opts: { now?: number, env?: Record<string, string>, readSecret?: (prompt: string) => Promise<string> } = {}): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    stdout: { write: (s: string) => { stdout += s } },
    stderr: { write: (s: string) => { stderr += s } },
    env: opts.env ?? {},
    now: () => opts.now ?? Date.now(),
    // Backups with cheap scrypt parameters (test/protocol/backup.test.ts checks the defaults).
    backupKdf: { kdf: 'scrypt', logN: 4, r: 8, p: 1 },
    ...(opts.readSecret !== undefined ? { readSecret: opts.readSecret } : {})
  }
  const code = await main(['--home', join(dir, name), ...args], io)
  return { code, stdout, stderr }
}

async function json (name: string, args: string[], opts?: { now?: number, env?: Record<string, string> }): Promise<any> {
  const r = await cli(name, ['--json', ...args], opts)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout.trim().split('\n')).toHaveLength(1)
  return JSON.parse(r.stdout)
}

function spawnCli (args: string[], env: Record<string, string> = {}, bin = BIN): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: ROOT, env: { ...process.env, PORCHLIGHT_DEBUG: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? -1, stdout, stderr })
    })
  })
}

/** Failure contract: one line on stderr, prefixed, no stack. */
function expectOneLineError (r: Run, exit: number, pattern: RegExp): void {
  expect(r.code).toBe(exit)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toMatch(/^porchlight: /)
  expect(lines[0]).toMatch(pattern)
}

async function setupHood (now?: number): Promise<{ invite: string, hood: any }> {
  expect((await cli('alice', ['id', 'create', '--name', 'Alice'])).code).toBe(0)
  const r = await json('alice', ['hood', 'create', 'Elm Street', '--area', 'u4pru', '--relay', RELAY], now !== undefined ? { now } : undefined)
  return { invite: r.invite, hood: r.hood }
}

describe('identity commands', () => {
  it('id create / id show / id export-public, and JSON shapes', async () => {
    const created = await json('a', ['id', 'create', '--name', 'Alice'])
    expect(Object.keys(created).sort()).toEqual(['boxKey', 'fingerprint', 'name', 'public', 'role', 'signKey'])
    expect(created).toMatchObject({ name: 'Alice', role: 'resident' })
    expect(created.signKey).toMatch(/^[0-9a-f]{64}$/)
    expect(created.fingerprint).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    expect(await json('a', ['id', 'show'])).toEqual(created)
    const exported = await json('a', ['id', 'export-public'])
    expect(exported).toEqual({ public: created.public })
    const pub = await parsePublicIdentity(exported.public)
    expect(toHex(pub.signKey)).toBe(created.signKey)
    const human = await cli('a', ['id', 'show'])
    expect(human.stdout).toContain(created.fingerprint)
    expect(human.stdout).toContain('Alice')
  })

  it('refuses to overwrite an identity unless --force', async () => {
    const first = await json('a', ['id', 'create', '--name', 'Alice'])
    expectOneLineError(await cli('a', ['id', 'create', '--name', 'Eve']), 1, /already exists.*--force/)
    expect((await json('a', ['id', 'show'])).signKey).toBe(first.signKey)
    const forced = await json('a', ['id', 'create', '--name', 'Alice2', '--force'])
    expect(forced.signKey).not.toBe(first.signKey)
  })

  it('a name with bidirectional or invisible formatting characters is refused in one line, and nothing is saved', async () => {
    for (const name of ['Ana\u202Egnp', 'Ana\u2066x', 'A\u200Bna']) {
      const r = await cli('a', ['id', 'create', '--name', name])
      expectOneLineError(r, 1, /bidirectional or invisible/)
      expect(r.stderr).not.toMatch(/[\u202E\u2066\u200B]/)
      const j = await cli('a', ['--json', 'id', 'create', '--name', name])
      expect(j.code).toBe(1)
      expect(JSON.parse(j.stderr).error.code).toBe('BAD_ARGUMENT')
    }
    expectOneLineError(await cli('a', ['agency', 'create', '--name', 'City\u202EDP']), 1, /bidirectional or invisible/)
    expectOneLineError(await cli('a', ['id', 'show']), 1, /no identity/)
    // The same for a neighborhood's name.
    await cli('a', ['id', 'create', '--name', 'Ana'])
    expectOneLineError(await cli('a', ['hood', 'create', 'Elm\u202Eteerts', '--area', 'u4', '--relay', RELAY]), 1, /bidirectional or invisible/)
    expect((await json('a', ['hood', 'list'])).hoods).toEqual([])
  })

  it('commands that need an identity say how to create one', async () => {
    expectOneLineError(await cli('none', ['id', 'show']), 1, /porchlight id create/)
    expectOneLineError(await cli('none', ['hood', 'create', 'X', '--area', 'u4', '--relay', RELAY]), 1, /porchlight id create/)
  })
})

describe('neighborhood commands', () => {
  it('hood create prints a verifiable invite; hood join in another home shares the epoch key', async () => {
    const { invite, hood } = await setupHood()
    expect(hood).toMatchObject({ name: 'Elm Street', area: 'u4pru', epoch: 0, admin: true, members: 1, relays: [RELAY] })
    expect(hood.topic).toBe(privateTopic(fromHex(hood.id)))
    const parsed = await parseInvite(invite, Date.now())
    expect(parsed.hood.name).toBe('Elm Street')
    expect(parsed.inviterRole).toBe('admin')
    expect(parsed.relays).toEqual([RELAY])

    // Human mode: the invite alone on stdout, so `$(porchlight hood create …)` captures it.
    const human = await cli('alice', ['hood', 'create', 'Oak', '--area', 'u4pr', '--relay', RELAY])
    expect(human.stdout.trim()).toMatch(/^porchlight:[A-Za-z0-9_-]+$/)
    expect(human.stderr).toContain('Oak')

    await cli('bob', ['id', 'create', '--name', 'Bob'])
    const joined = await json('bob', ['hood', 'join', invite])
    expect(joined.hood).toMatchObject({ id: hood.id, name: 'Elm Street', admin: false, members: 2, epoch: 0 })
    expect(joined.inviter).toMatchObject({ name: 'Alice', admin: true, me: false, admitted: true, lookAlike: false })
    // An admin's invite carries an admission.
    expect(Object.keys(joined).sort()).toEqual(['admitted', 'announced', 'hood', 'inviter'])
    expect(joined.admitted).toBe(true)
    expect(joined.hood.admins).toEqual([hood.admins[0]])
    expect(joined.hood.adminFingerprints).toEqual(hood.adminFingerprints)
    expect(joined.hood.ended).toBeUndefined()

    const a = await (await Home.open(join(dir, 'alice'))).hood('Elm Street')
    const b = await (await Home.open(join(dir, 'bob'))).hood(hood.id)
    expect(toHex(currentEpochKeys(b).contentKey)).toBe(toHex(currentEpochKeys(a).contentKey))

    const members = await json('bob', ['hood', 'members'])
    expect(members.hood).toBe(hood.id)
    expect(members.members.map((m: any) => [m.name, m.admin, m.me])).toEqual([['Alice', true, false], ['Bob', false, true]])
    expect(Object.keys(members.members[0]).sort()).toEqual(['admin', 'admitted', 'boxKey', 'fingerprint', 'lookAlike', 'me', 'name', 'signKey'])
    expect(members.members.map((m: any) => [m.admitted, m.lookAlike])).toEqual([[true, false], [true, false]])
    expect(members.removed).toEqual([])
    // Joining again is idempotent.
    expect((await json('bob', ['hood', 'join', invite])).hood.members).toBe(2)
  })

  it('a member can invite; invites expire; a damaged invite is a clear error', async () => {
    const t0 = 1_800_000_000_000
    const { invite } = await setupHood(t0)
    await cli('bob', ['id', 'create', '--name', 'Bob'])
    expectOneLineError(await cli('bob', ['hood', 'join', invite], { now: t0 + 8 * DAY }), 1, /expired/)
    expect((await cli('bob', ['hood', 'join', invite], { now: t0 + DAY })).code).toBe(0)
    const fromBob = await json('bob', ['hood', 'invite', '--ttl', '1h'], { now: t0 + DAY })
    expect(fromBob.expires).toBe(t0 + DAY + 3_600_000)
    expect((await parseInvite(fromBob.invite, t0 + DAY)).inviterRole).toBe('member')
    await cli('carol', ['id', 'create', '--name', 'Carol'])
    // Carol learns of Bob (her inviter) from the invite; the others arrive by join announcements.
    const carol = await json('carol', ['hood', 'join', fromBob.invite], { now: t0 + DAY })
    expect(carol.inviter).toMatchObject({ name: 'Bob', admin: false })
    expect(carol.hood.members).toBe(2)
    // A member's invite admits nobody by itself: Carol waits for an admin's approval.
    expect(carol.admitted).toBe(false)
    const carolsList = await json('carol', ['hood', 'members'], { now: t0 + DAY })
    expect(carolsList.members.find((m: any) => m.me)).toMatchObject({ name: 'Carol', admitted: false, admin: false })
    expect((await cli('carol', ['hood', 'members'], { now: t0 + DAY })).stdout).toMatch(/Carol {2}\(awaiting an admin's approval\) {2}\(you\)/)
    expectOneLineError(await cli('carol', ['hood', 'join', invite.slice(0, -20)], { now: t0 }), 1, /not a valid invite/)
    expectOneLineError(await cli('carol', ['hood', 'join', 'hello'], { now: t0 }), 1, /porchlight:/)
    const r = await cli('carol', ['--json', 'hood', 'join', invite.slice(0, -20)], { now: t0 })
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stderr).error.code).toBe('MALFORMED')
    expectOneLineError(await cli('alice', ['hood', 'invite', '--ttl', '31d']), 1, /ttl/)
    expectOneLineError(await cli('alice', ['hood', 'invite', '--ttl', 'soon']), 2, /duration/)
  })

  it('hood create validates area, relays and duplicate names', async () => {
    await cli('a', ['id', 'create', '--name', 'Alice'])
    expectOneLineError(await cli('a', ['hood', 'create', 'X', '--area', 'u4pruxy', '--relay', RELAY]), 1, /geohash/)
    expectOneLineError(await cli('a', ['hood', 'create', 'X', '--area', 'u4', '--relay', '/ip4/1.2.3.4/tcpx/1']), 1, /not a multiaddr/)
    expectOneLineError(await cli('a', ['hood', 'create', 'X', '--area', 'u4']), 2, /--relay/)
    expectOneLineError(await cli('a', ['hood', 'create', 'X', '--relay', RELAY]), 2, /--area is required/)
    expectOneLineError(await cli('a', ['hood', 'create', '--area', 'u4', '--relay', RELAY]), 2, /missing argument/)
    expect((await cli('a', ['hood', 'create', 'X', '--area', 'u4', '--relay', RELAY, '--relay', '/dns4/relay.example.org/tcp/443/wss'])).code).toBe(0)
    expectOneLineError(await cli('a', ['hood', 'create', 'X', '--area', 'u4', '--relay', RELAY]), 1, /already have a neighborhood named "X"/)
    expect((await json('a', ['hood', 'list'])).hoods[0].relays).toHaveLength(2)
  })

  it('hood settings: shown with their defaults, changed by an admin only, kept in the hood file', async () => {
    await cli('a', ['id', 'create', '--name', 'Alice'])
    const invite = (await json('a', ['hood', 'create', 'Elm', '--area', 'u4pru', '--relay', RELAY])).invite
    expect(await json('a', ['hood', 'settings'])).toMatchObject({ postTtlMs: 7 * DAY, precision: 5, rfasForNewMembers: true })
    expect(await json('a', ['hood', 'settings', '--post-ttl', '1d', '--precision', '7', '--rfas-for-new-members', 'hidden']))
      .toMatchObject({ postTtlMs: DAY, precision: 7, rfasForNewMembers: false })
    const human = await cli('a', ['hood', 'settings'])
    expect(human.stdout).toMatch(/post expiry\s+1d/)
    expect(human.stdout).toMatch(/RFAs for new members\s+hidden/)
    expectOneLineError(await cli('a', ['hood', 'settings', '--precision', '3']), 1, /coarser than the neighborhood's area/)
    expectOneLineError(await cli('a', ['hood', 'settings', '--post-ttl', '31d']), 1, /at most 30d/)
    expectOneLineError(await cli('a', ['hood', 'settings', '--rfas-for-new-members', 'maybe']), 2, /shown or hidden/)
    await cli('b', ['id', 'create', '--name', 'Bob'])
    await cli('b', ['hood', 'join', invite])
    expectOneLineError(await cli('b', ['hood', 'settings', '--post-ttl', '2d']), 1, /only an admin/)
    expect(await json('b', ['hood', 'settings'])).toMatchObject({ postTtlMs: 7 * DAY })
  })

  it('several hoods: list, --hood by name or id prefix, and a clear error without it', async () => {
    const { hood } = await setupHood()
    await cli('alice', ['hood', 'create', 'Oak', '--area', 'u4pr', '--relay', RELAY])
    const list = await json('alice', ['hood', 'list'])
    expect(list.hoods.map((h: any) => h.name)).toEqual(['Elm Street', 'Oak'])
    expect(Object.keys(list.hoods[0]).sort()).toEqual(['admin', 'adminFingerprints', 'admins', 'area', 'epoch', 'id', 'joined', 'members', 'name', 'relays', 'topic'])
    const me = await json('alice', ['id', 'show'])
    expect(list.hoods[0]).toMatchObject({ admin: true, admins: [me.signKey], adminFingerprints: [me.fingerprint] })
    expectOneLineError(await cli('alice', ['hood', 'invite']), 1, /--hood/)
    expect((await json('alice', ['hood', 'invite', '--hood', 'Oak'])).hood).toBe(list.hoods[1].id)
    expect((await json('alice', ['hood', 'members', '--hood', hood.id.slice(0, 8)])).hood).toBe(hood.id)
    expectOneLineError(await cli('alice', ['hood', 'members', '--hood', 'Maple']), 1, /no neighborhood "Maple"/)
    expectOneLineError(await cli('nobody', ['hood', 'list', '--hood', 'x']), 2, /unknown option --hood/)
    const empty = await cli('nobody', ['hood', 'list'])
    expect(empty.code).toBe(0)
    expect(empty.stdout).toContain('hood join')
  })

  it('hood members flags look-alike names and shows them in human output', async () => {
    const { invite } = await setupHood()
    // 'Аlice' starts with CYRILLIC CAPITAL LETTER A: another key, a name that reads the same.
    await cli('mallory', ['id', 'create', '--name', '\u0410lice'])
    const joined = await json('mallory', ['hood', 'join', invite])
    expect(joined.inviter).toMatchObject({ name: 'Alice', lookAlike: true })
    const list = await json('mallory', ['hood', 'members'])
    expect(list.members.map((m: any) => [m.name, m.admin, m.me, m.admitted, m.lookAlike])).toEqual([
      ['Alice', true, false, true, true], ['\u0410lice', false, true, true, true]
    ])
    expect(new Set(list.members.map((m: any) => m.fingerprint)).size).toBe(2)
    const human = (await cli('mallory', ['hood', 'members'])).stdout.split('\n').filter(l => l !== '')
    expect(human).toHaveLength(2)
    for (const line of human) expect(line).toContain('looks like another member')
    // Alice's own list has only herself: nothing to confuse.
    expect((await json('alice', ['hood', 'members'])).members.map((m: any) => m.lookAlike)).toEqual([false])
  })

  it('hood remove of yourself and hood leave as the only admin are refused in one line', async () => {
    const { hood } = await setupHood()
    expectOneLineError(await cli('alice', ['hood', 'remove', 'Alice']), 1, /cannot remove yourself/)
    const removeJson = await cli('alice', ['--json', 'hood', 'remove', 'Alice'])
    expect(removeJson.code).toBe(1)
    expect(removeJson.stdout).toBe('')
    expect(JSON.parse(removeJson.stderr).error.code).toBe('REFUSED')
    expectOneLineError(await cli('alice', ['hood', 'leave']), 1, /only admin.*hood add-admin/)
    const leaveJson = await cli('alice', ['--json', 'hood', 'leave', '--hood', hood.id])
    expect(leaveJson.code).toBe(1)
    expect(JSON.parse(leaveJson.stderr).error.code).toBe('REFUSED')
    // Nothing changed: same epoch, still a member, not ended, no removals.
    const after = await json('alice', ['hood', 'list'])
    expect(after.hoods[0]).toMatchObject({ id: hood.id, epoch: 0, members: 1, admin: true })
    expect(after.hoods[0].ended).toBeUndefined()
    expect((await json('alice', ['hood', 'members'])).removed).toEqual([])
  })

  it('hood leave as a member ends the hood here: hood list shows ended, and the hood refuses a second leave', async () => {
    const now = 1_800_000_000_000
    const { invite, hood } = await setupHood(now)
    await cli('bob', ['id', 'create', '--name', 'Bob'])
    await json('bob', ['hood', 'join', invite], { now })
    const left = await cli('bob', ['--json', 'hood', 'leave'], { now: now + 1000 })
    expect(left.code).toBe(0)
    expect(JSON.parse(left.stdout)).toEqual({ hood: hood.id, sent: false })
    const list = await json('bob', ['hood', 'list'], { now: now + 2000 })
    expect(list.hoods[0].ended).toEqual({ reason: 'left', at: now + 1000, epoch: 0 })
    expect((await cli('bob', ['hood', 'list'])).stdout).toMatch(/you left 20\d\d-/)
    expectOneLineError(await cli('bob', ['hood', 'leave'], { now: now + 3000 }), 1, /you left Elm Street/)
  })

  it('relay-token carries the tag key and topic, never the content key, secret, name or id', async () => {
    const { hood } = await setupHood()
    const r = await json('alice', ['hood', 'relay-token'])
    const token = parseRelayToken(r.token)
    const state = await (await Home.open(join(dir, 'alice'))).hood(hood.id)
    const keys = currentEpochKeys(state)
    expect(r).toMatchObject({ hood: hood.id, epoch: 0, topic: privateTopic(state.hood.id) })
    expect(token.topic).toBe(privateTopic(state.hood.id))
    expect(toHex(token.tagKey)).toBe(toHex(keys.tagKey))
    expect(token.area).toBe('u4pru') // so the relay carries the area's public posts: the quick start works as written
    const raw = relayTokenBytes(r.token)
    for (const secret of [keys.contentKey, keys.secret, state.hood.id, new TextEncoder().encode('Elm Street')]) {
      expect(containsBytes(raw, secret)).toBe(false)
    }
    expect(parseRelayToken((await json('alice', ['hood', 'relay-token', '--without-area'])).token).area).toBeUndefined()
    expect(parseRelayToken((await json('alice', ['hood', 'relay-token', '--with-area'])).token).area).toBe('u4pru')
  })
})

describe('agency commands', () => {
  it('agency create, follow, attestation from an admin, and the limits of the role', async () => {
    const { hood } = await setupHood()
    const ag = await json('fire', ['agency', 'create', '--name', 'Riverside Fire'])
    expect(ag.role).toBe('agency')
    expect((await json('fire', ['id', 'show'])).role).toBe('agency')
    expect(await json('fire', ['agency', 'follow', 'u4pru', 'u4prv', 'u4pru'])).toEqual({ areas: ['u4pru', 'u4prv'], relays: [] })
    expectOneLineError(await cli('fire', ['agency', 'follow', 'u4prua1']), 1, /geohash/)
    expect(await json('fire', ['agency', 'unfollow', 'u4prv'])).toEqual({ areas: ['u4pru'] })
    expectOneLineError(await cli('fire', ['hood', 'create', 'X', '--area', 'u4', '--relay', RELAY]), 1, /agency/)

    // Only an admin vouches; a member is refused.
    const key = (await json('fire', ['id', 'export-public'])).public
    await cli('bob', ['id', 'create', '--name', 'Bob'])
    const invite = (await json('alice', ['hood', 'invite'])).invite
    await cli('bob', ['hood', 'join', invite])
    expectOneLineError(await cli('bob', ['hood', 'attest-agency', key]), 1, /only an admin/)
    const r = await cli('bob', ['--json', 'hood', 'attest-agency', key])
    expect(JSON.parse(r.stderr)).toEqual({ error: { code: 'NOT_ADMIN', message: expect.stringContaining('admin') } })
    expectOneLineError(await cli('alice', ['hood', 'attest-agency', 'plid:AAAA']), 1, /porchlight: /)

    const att = await json('alice', ['hood', 'attest-agency', key, '--ttl', '30d'])
    expect(att.hood).toBe(hood.id)
    expect(att.attestation).toMatchObject({ agency: ag.signKey, name: 'Riverside Fire', area: 'u4pru' })
    const verified = await verifyAttestation(parseAttestationString(att.attestation.attestation), Date.now())
    expect(toHex(verified.agency.signKey)).toBe(ag.signKey)
    expect(verified.expires - verified.issued).toBe(30 * DAY)
    const saved = await (await Home.open(join(dir, 'alice'))).hood(hood.id)
    expect(saved.attestations).toHaveLength(1)

    // The agency keeps it; someone else's attestation is refused.
    const kept = await json('fire', ['agency', 'add-attestation', att.attestation.attestation])
    expect(kept.attestations).toBe(1)
    const shown = await json('fire', ['agency', 'show'])
    expect(shown.areas).toEqual(['u4pru'])
    expect(shown.attestations.map((a: any) => a.adminFingerprint)).toEqual([att.attestation.adminFingerprint])
    const bobAtt = (await json('alice', ['hood', 'attest-agency', (await json('bob', ['id', 'export-public'])).public])).attestation.attestation
    expectOneLineError(await cli('fire', ['agency', 'add-attestation', bobAtt]), 1, /another key/)
    expectOneLineError(await cli('alice', ['agency', 'follow', 'u4']), 1, /not an agency/)
  })

  it('id create --force over an agency makes a resident again', async () => {
    await cli('g', ['agency', 'create', '--name', 'City'])
    expectOneLineError(await cli('g', ['agency', 'create', '--name', 'City2']), 1, /already exists/)
    expect((await json('g', ['id', 'create', '--name', 'Gina', '--force'])).role).toBe('resident')
    expect((await json('g', ['id', 'show'])).role).toBe('resident')
  })
})

describe('parsing and help', () => {
  it('usage errors exit 2 with one line', async () => {
    expectOneLineError(await cli('x', ['frob']), 2, /unknown command "frob"/)
    expectOneLineError(await cli('x', ['hood']), 2, /needs a subcommand: create, list/)
    expectOneLineError(await cli('x', ['hood', 'frob']), 2, /unknown command "hood frob"/)
    expectOneLineError(await cli('x', ['id', 'show', '--bogus']), 2, /unknown option --bogus/)
    expectOneLineError(await cli('x', ['id', 'show', 'extra']), 2, /unexpected argument "extra"/)
    expectOneLineError(await cli('x', ['id', 'create']), 2, /--name is required/)
    expectOneLineError(await cli('x', ['id', 'create', '--name']), 2, /argument missing/)
    const j = await cli('x', ['--json', 'frob'])
    expect(j.code).toBe(2)
    expect(JSON.parse(j.stderr)).toEqual({ error: { code: 'BAD_ARGUMENT', message: expect.stringContaining('frob') } })
  })

  it('--help, help COMMAND, group help and --version', async () => {
    const general = await cli('x', ['--help'])
    expect(general.code).toBe(0)
    for (const name of Object.keys(COMMANDS)) expect(general.stdout).toContain(name)
    // Each group's commands are listed together, though the table is merged from several modules.
    const listed = general.stdout.split('\n').filter(l => /^ {2}[a-z]/.test(l)).map(l => l.trim().split(/\s{2,}/)[0]!)
    expect(listed.slice(0, 3)).toEqual(['help', 'id create', 'id show'])
    const groups = listed.map(n => n.split(' ')[0]!)
    expect(groups.filter((g, i) => g !== groups[i - 1])).toEqual([...new Set(groups)])
    // The watch says that it serves the home's other commands; --relay says it adds to the stored relays.
    expect(helpFor('watch')).toContain('porchlight.sock')
    expect(helpFor('clip get')).toMatch(/block stream .*bitswap as the fallback/)
    expect(helpFor('feed')).toMatch(/--relay MULTIADDR +a relay to use besides those the neighborhood/)
    const one = await cli('x', ['help', 'hood', 'create'])
    expect(one.stdout).toContain('Usage: porchlight hood create NAME --area GEOHASH --relay MULTIADDR')
    expect((await cli('x', ['hood', 'create', '--help'])).stdout).toBe(one.stdout)
    expect((await cli('x', ['hood', '--help'])).stdout).toContain('hood relay-token')
    expectOneLineError(await cli('x', ['help', 'frob']), 2, /no command "frob"/)
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'))
    expect((await cli('x', ['--version'])).stdout.trim()).toBe(pkg.version)
    expect(JSON.parse((await cli('x', ['--json', '--version'])).stdout)).toEqual({ version: pkg.version })
    // Every command renders its help, and every option has a description.
    for (const [name, cmd] of Object.entries(COMMANDS)) {
      expect(helpFor(name)).toContain(`porchlight ${name}`)
      for (const o of Object.values(cmd.options ?? {})) expect(o.help.length).toBeGreaterThan(5)
    }
  })

  it('--relay and $PORCHLIGHT_RELAY are parsed before anything dials: a typo is one line, not an internal error', async () => {
    await setupHood()
    const notAddr = /--relay "127\.0\.0\.1:4001" is not a multiaddr/
    expectOneLineError(await cli('alice', ['feed', '--relay', '127.0.0.1:4001']), 1, notAddr)
    expectOneLineError(await cli('alice', ['post', '--kind', 'info', '--text', 'x', '--relay', '127.0.0.1:4001']), 1, notAddr)
    expectOneLineError(await cli('alice', ['clip', 'get', '0123456789abcdef', '--relay', '127.0.0.1:4001']), 1, notAddr)
    expectOneLineError(await cli('alice', ['watch', '--relay', '127.0.0.1:4001']), 1, notAddr)
    expectOneLineError(await cli('alice', ['feed'], { env: { PORCHLIGHT_RELAY: `${RELAY},localhost` } }), 1, /PORCHLIGHT_RELAY "localhost" is not a multiaddr/)
    expect(JSON.parse((await cli('alice', ['--json', 'feed', '--relay', 'x'])).stderr).error.code).toBe('BAD_ARGUMENT')
    await cli('pd', ['agency', 'create', '--name', 'City PD'])
    expectOneLineError(await cli('pd', ['agency', 'rfa', '--area', 'u4pru', '--text', 'x', '--relay', '127.0.0.1:4001']), 1, notAddr)
    expectOneLineError(await cli('pd', ['agency', 'rfa', '--area', 'u4pru', '--text', 'x']), 1, /give --relay MULTIADDR .*agency follow AREA --relay/)
  })

  it('--ttl has one grammar everywhere: not a duration exits 2, out of range exits 1', async () => {
    await cli('alice', ['id', 'create', '--name', 'Alice'])
    await cli('alice', ['hood', 'create', 'Elm', '--area', 'u4pru', '--relay', RELAY])
    const agency = (await json('ag', ['agency', 'create', '--name', 'City PD'])).public
    // Seconds and bare numbers are no lifetime for invites, posts, attestations or requests.
    for (const ttl of ['30s', '7', 'soon', '1w']) {
      expectOneLineError(await cli('alice', ['hood', 'invite', '--ttl', ttl]), 2, /--ttl .* is not a duration like 30m, 12h or 7d/)
      expectOneLineError(await cli('alice', ['post', '--kind', 'pet', '--text', 'cat', '--ttl', ttl]), 2, /is not a duration/)
      expectOneLineError(await cli('alice', ['hood', 'attest-agency', agency, '--ttl', ttl]), 2, /is not a duration/)
      expectOneLineError(await cli('ag', ['agency', 'rfa', '--area', 'u4pru', '--text', 'x', '--ttl', ttl, '--relay', RELAY]), 2, /is not a duration/)
    }
    expectOneLineError(await cli('alice', ['hood', 'invite', '--ttl', '0m']), 1, /at most 30d/)
    expectOneLineError(await cli('alice', ['post', '--kind', 'pet', '--text', 'cat', '--ttl', '31d']), 1, /at most 30d/)
    expectOneLineError(await cli('ag', ['agency', 'rfa', '--area', 'u4pru', '--text', 'x', '--ttl', '31d', '--relay', RELAY]), 1, /at most 30d/)
    expect((await json('alice', ['hood', 'invite', '--ttl', '90m'], { now: 1_800_000_000_000 })).expires).toBe(1_800_000_000_000 + 90 * 60_000)
  })

  it('node/cli has no import cycle: the command groups import command.ts, never main.ts', async () => {
    const cliDir = join(ROOT, 'node/cli')
    for (const f of await readdir(cliDir)) {
      if (f === 'main.ts' || f === 'entry.ts') continue
      expect(await readFile(join(cliDir, f), 'utf8'), f).not.toMatch(/from '\.\/main\.ts'/)
    }
  })

  it('help shows the defaults of the modules it does not load', async () => {
    const { RELAY_DEFAULTS } = await import('../../node/relay/relay.ts')
    const { MAX_PUBLIC_DELAY_MS } = await import('../../protocol/peer/public-copy.ts')
    const { MIN_ID_PREFIX } = await import('../../protocol/peer/clip-flows.ts')
    const { dataDir, host, tcpPort, wsPort, httpPort } = RELAY_DEFAULTS
    expect(HELP_FIGURES).toEqual({ relay: { dataDir, host, tcpPort, wsPort, httpPort }, maxPublicDelayMs: MAX_PUBLIC_DELAY_MS, minIdPrefix: MIN_ID_PREFIX })
  })

  it('a corrupt home file is one line naming the file', async () => {
    const { hood } = await setupHood()
    const path = join(dir, 'alice', 'hoods', hood.id)
    await writeFile(path, (await readFile(path)).subarray(0, 50))
    expectOneLineError(await cli('alice', ['hood', 'list']), 1, new RegExp(`${hood.id}: corrupt home file`))
  })

  it('a v1 hood file (from before self-certifying neighborhoods) is one line asking for a new invite', async () => {
    await cli('alice', ['id', 'create', '--name', 'Alice'])
    const me = await json('alice', ['id', 'show'])
    const oldId = 'ab'.repeat(32)
    const v1 = encodeStruct({ domain: 'pl/home-hood', version: 1, required: [], maxBytes: 1 << 20 }, {
      id: fromHex(oldId), name: 'Elm Street', area: 'u4pru', admins: [fromHex(me.signKey)],
      epochs: [{ e: 0, s: newEpochSecret() }], relays: [RELAY],
      members: [{ sk: fromHex(me.signKey), bk: fromHex(me.boxKey), n: 'Alice', sig: new Uint8Array(64) }], attests: [], joined: 1_700_000_000_000
    })
    await mkdir(join(dir, 'alice', 'hoods'), { recursive: true })
    await writeFile(join(dir, 'alice', 'hoods', oldId), v1)
    for (const args of [['hood', 'list'], ['hood', 'members'], ['hood', 'invite'], ['hood', 'create', 'Oak', '--area', 'u4', '--relay', RELAY]]) {
      const r = await cli('alice', args)
      expectOneLineError(r, 1, /join again from a new invite/)
      expect(r.stderr).toContain(oldId)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.stderr).not.toMatch(/internal error/)
      const j = await cli('alice', ['--json', ...args])
      expect(j.code).toBe(1)
      expect(JSON.parse(j.stderr).error).toEqual({ code: 'BAD_VERSION', message: expect.stringContaining('new invite') })
    }
  })
})

describe('backup: id export / id import', () => {
  const PASS = { PORCHLIGHT_PASSPHRASE: 'correct horse battery staple' }

  it('export from one home, import into an empty one: the same identity and neighborhoods', async () => {
    await setupHood()
    const file = join(dir, 'alice.plbackup')
    const exported = await json('alice', ['id', 'export', file], { env: PASS })
    const shown = await json('alice', ['id', 'show'])
    const hoods = (await json('alice', ['hood', 'list'])).hoods
    expect(exported).toEqual({ file, name: 'Alice', fingerprint: shown.fingerprint, role: 'resident', hoods: [{ id: hoods[0].id, name: 'Elm Street' }], kdf: { kdf: 'scrypt', logN: 4, r: 8, p: 1 } })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const text = await readFile(file, 'utf8')
    expect(text).toMatch(/^plbackup:[A-Za-z0-9_-]+\n$/)
    // Nothing secret in the clear.
    const identityFile = await readFile(join(dir, 'alice', 'identity'))
    expect(containsBytes(new Uint8Array(Buffer.from(text)), identityFile.subarray(-40))).toBe(false)

    const imported = await json('bob', ['id', 'import', file], { env: PASS })
    expect(imported.identity).toEqual(shown)
    expect(imported.hoods).toEqual(hoods)
    expect(imported.kept).toEqual([])
    expect(await json('bob', ['id', 'show'])).toEqual(shown)
    expect((await json('bob', ['hood', 'list'])).hoods).toEqual(hoods)
    // The same keys: the imported home makes a relay token for the same epoch key.
    expect((await json('bob', ['hood', 'relay-token'])).token).toBe((await json('alice', ['hood', 'relay-token'])).token)
    expect((await stat(join(dir, 'bob', 'identity'))).mode & 0o777).toBe(0o600)
    const human = await cli('carol', ['id', 'import', file], { env: PASS })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain(`Restored Alice (fingerprint ${shown.fingerprint})`)
    expect(human.stdout).toMatch(/Elm Street +area u4pru +epoch 0 +\(admin\)/)
  })

  it('a wrong passphrase: one line, exit 1, and nothing is written', async () => {
    await setupHood()
    const file = join(dir, 'b.plbackup')
    await json('alice', ['id', 'export', file], { env: PASS })
    expectOneLineError(await cli('bob', ['id', 'import', file], { env: { PORCHLIGHT_PASSPHRASE: 'correct horse battery stapler' } }), 1, /wrong passphrase or damaged file/)
    const j = await cli('bob', ['--json', 'id', 'import', file], { env: { PORCHLIGHT_PASSPHRASE: 'nope nope nope' } })
    expect(JSON.parse(j.stderr).error).toEqual({ code: 'DECRYPT_FAILED', message: 'wrong passphrase or damaged file' })
    expectOneLineError(await cli('bob', ['id', 'show']), 1, /no identity/)
    expect((await json('bob', ['hood', 'list'])).hoods).toEqual([])
    // Not a backup at all, or no file.
    await writeFile(join(dir, 'note.txt'), 'hello\n')
    expectOneLineError(await cli('bob', ['id', 'import', join(dir, 'note.txt')], { env: PASS }), 1, /not a Porchlight backup/)
    expectOneLineError(await cli('bob', ['id', 'import', join(dir, 'nothing')], { env: PASS }), 1, /no such file/)
  })

  it('export refuses to replace a file unless --force; import refuses a home with an identity unless --force', async () => {
    await setupHood()
    const file = join(dir, 'c.plbackup')
    await writeFile(file, 'keep me')
    expectOneLineError(await cli('alice', ['id', 'export', file], { env: PASS }), 1, /exists; use --force/)
    expect(await readFile(file, 'utf8')).toBe('keep me')
    await json('alice', ['id', 'export', file, '--force'], { env: PASS })
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    // Bob has his own identity and neighborhood.
    await json('bob', ['id', 'create', '--name', 'Bob'])
    await json('bob', ['hood', 'create', 'Oak Lane', '--area', 'u4prv', '--relay', RELAY])
    const bob = await json('bob', ['id', 'show'])
    expectOneLineError(await cli('bob', ['id', 'import', file], { env: PASS }), 1, /identity already exists.*--force/)
    expect((await json('bob', ['id', 'show'])).signKey).toBe(bob.signKey)
    const forced = await json('bob', ['id', 'import', file, '--force'], { env: PASS })
    expect(forced.identity.name).toBe('Alice')
    const oak = (await json('bob', ['hood', 'list'])).hoods.find((h: any) => h.name === 'Oak Lane')
    expect(forced.kept).toEqual([oak.id])
    expect((await json('bob', ['hood', 'list'])).hoods.map((h: any) => h.name)).toEqual(['Elm Street', 'Oak Lane'])
  })

  it('the passphrase: from --passphrase-file (its first line), the environment, or typed twice on a terminal', async () => {
    await setupHood()
    const passFile = join(dir, 'pass.txt')
    await writeFile(passFile, 'correct horse battery staple\r\nsecond line\n')
    const file = join(dir, 'd.plbackup')
    await json('alice', ['id', 'export', file, '--passphrase-file', passFile])
    expect((await json('bob', ['id', 'import', file], { env: PASS })).identity.name).toBe('Alice')
    // No source at all (not a terminal): a usage error, nothing written.
    const none = await cli('alice', ['id', 'export', join(dir, 'e.plbackup')])
    expectOneLineError(none, 2, /no passphrase.*--passphrase-file/)
    await expect(stat(join(dir, 'e.plbackup'))).rejects.toThrow()
    // Typed: asked twice when exporting, once when importing; two different ones write nothing.
    const prompts: string[] = []
    const typed = (answers: string[]) => async (prompt: string) => { prompts.push(prompt); return answers.shift()! }
    expectOneLineError(await cli('alice', ['id', 'export', join(dir, 'e.plbackup')], { readSecret: typed(['one passphrase', 'another one']) }), 1, /differ; nothing was written/)
    await expect(stat(join(dir, 'e.plbackup'))).rejects.toThrow()
    expect((await cli('alice', ['id', 'export', join(dir, 'e.plbackup')], { readSecret: typed(['typed passphrase', 'typed passphrase']) })).code).toBe(0)
    expect((await cli('carol', ['id', 'import', join(dir, 'e.plbackup')], { readSecret: typed(['typed passphrase']) })).code).toBe(0)
    expect(prompts).toHaveLength(5)
    expectOneLineError(await cli('alice', ['id', 'export', join(dir, 'f.plbackup')], { env: { PORCHLIGHT_PASSPHRASE: 'short' } }), 1, /at least 8 characters/)
  })

  it('on a terminal the passphrase is read in raw mode and never echoed; Backspace edits, Ctrl-C cancels', async () => {
    const terminal = (): { input: PassThrough & { setRawMode: (on: boolean) => void, raw: boolean[] }, output: PassThrough, shown: () => string } => {
      const input = Object.assign(new PassThrough(), { raw: [] as boolean[], setRawMode (on: boolean) { input.raw.push(on) } })
      const output = new PassThrough()
      let shown = ''
      output.on('data', (c: Buffer) => { shown += c.toString() })
      return { input, output, shown: () => shown }
    }
    const t = terminal()
    const line = readHiddenLine('Passphrase: ', t.input as never, t.output as never)
    t.input.write('secret pas')
    t.input.write('sx\u007fword\r')
    expect(await line).toBe('secret password')
    expect(t.shown()).toBe('Passphrase: \n')
    expect(t.input.raw).toEqual([true, false])
    const c = terminal()
    const cancelled = readHiddenLine('Passphrase: ', c.input as never, c.output as never)
    c.input.write('abc\u0003')
    await expect(cancelled).rejects.toThrow(/cancelled/)
    expect(c.input.raw).toEqual([true, false])
  })
})

describe('the real binary', () => {
  it('is built so that help and the offline commands never load the network stack', async () => {
    // dist/meta.json: what each output file of the build (test/build-cli.ts ran it) imports.
    const meta = JSON.parse(await readFile(join(ROOT, 'dist/meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: Array<{ path: string, kind: string, external?: boolean }> }>
    }
    const NETWORK = /libp2p|helia|gossipsub|level|datastore|blockstore|bitswap|@chainsafe/
    const loadedAtStart = new Set<string>()
    const externals: string[] = []
    const visit = (file: string): void => {
      if (loadedAtStart.has(file)) return
      loadedAtStart.add(file)
      for (const i of meta.outputs[file]!.imports) {
        if (i.kind !== 'import-statement') continue
        if (i.external === true) externals.push(i.path)
        else visit(i.path)
      }
    }
    visit('dist/porchlight.js')
    expect(externals.filter(p => NETWORK.test(p))).toEqual([])
    const stack = Object.keys(meta.outputs).find(f => /^dist\/chunks\/stack-.*\.js$/.test(f))!
    expect(loadedAtStart.has(stack)).toBe(false)
    expect(meta.outputs[stack]!.imports.some(i => i.path === 'libp2p')).toBe(true)
  })

  it('runs end to end: identity, hood, invite, join in another home (PORCHLIGHT_HOME)', async () => {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    expect((await spawnCli(['--home', a, 'id', 'create', '--name', 'Alice'])).code).toBe(0)
    const created = await spawnCli(['--home', a, 'hood', 'create', 'Elm Street', '--area', 'u4pru', '--relay', RELAY])
    expect(created.code).toBe(0)
    const invite = created.stdout.trim()
    expect(invite.startsWith('porchlight:')).toBe(true)
    expect((await spawnCli(['id', 'create', '--name', 'Bob'], { PORCHLIGHT_HOME: b })).code).toBe(0)
    const joined = await spawnCli(['--json', 'hood', 'join', invite], { PORCHLIGHT_HOME: b })
    expect(joined.code).toBe(0)
    expect(JSON.parse(joined.stdout).hood.name).toBe('Elm Street')
    const members = JSON.parse((await spawnCli(['hood', 'members', '--json', '--home', b])).stdout)
    expect(members.members.map((m: any) => m.name)).toEqual(['Alice', 'Bob'])
  })

  it('node/bin/porchlight-dev.js runs the sources', async () => {
    expectOneLineError(await spawnCli(['--home', dir, 'id', 'show'], {}, join(ROOT, 'node/bin/porchlight-dev.js')), 1, /no identity/)
  })

  it('exit codes and one-line errors; a stack only with PORCHLIGHT_DEBUG=1', async () => {
    const version = await spawnCli(['--version'])
    expect(version.code).toBe(0)
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    expectOneLineError(await spawnCli(['--home', dir, 'frob']), 2, /unknown command/)
    expectOneLineError(await spawnCli(['--home', dir, 'id', 'show']), 1, /no identity/)
    // A backup opened with the wrong passphrase (made in-process with cheap parameters, which the file names).
    await setupHood()
    await json('alice', ['id', 'export', join(dir, 'x.plbackup')], { env: { PORCHLIGHT_PASSPHRASE: 'the right passphrase' } })
    expectOneLineError(await spawnCli(['--home', join(dir, 'new'), 'id', 'import', join(dir, 'x.plbackup')], { PORCHLIGHT_PASSPHRASE: 'the wrong passphrase' }), 1, /wrong passphrase or damaged file/)
    expect((await spawnCli(['--home', join(dir, 'new'), 'id', 'import', join(dir, 'x.plbackup')], { PORCHLIGHT_PASSPHRASE: 'the right passphrase' })).code).toBe(0)
    const debug = await spawnCli(['--home', dir, 'id', 'show'], { PORCHLIGHT_DEBUG: '1' })
    expect(debug.code).toBe(1)
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2)
    expect(debug.stderr).toMatch(/\n\s+at /)
  })
})
