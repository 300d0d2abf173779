/**
 * `porchlight transparency AREA` as separate processes against a relay process: every request
 * for assistance of the area from two agencies (one vouched for by an admin), with who vouched,
 * and the public replies each received; a malformed area is a usage error and sends nothing.
 */
import { createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanUp, cli, tempDir } from '../helpers/network.ts'
import { hoodWithRelayProcess, killAll, run, runOk, stopProcess } from '../helpers/processes.ts'
import type { TransparencyReport } from '../../protocol/transparency.ts'

afterEach(async () => { await killAll(); await cleanUp() })

const TEST_TIMEOUT_MS = 600_000

describe('porchlight transparency', () => {
  it('lists the RFAs of two agencies with their attestations and public replies, from any home, with no identity', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { relay: first, serve, ana } = await hoodWithRelayProcess()
    await stopProcess(first(), 'SIGTERM')
    const relay = await serve()
    const fake = await tempDir('pl-fake-pd-')
    const real = await tempDir('pl-real-fd-')
    await cli(fake, ['agency', 'create', '--name', 'City PD'])
    await cli(real, ['agency', 'create', '--name', 'Riverside Fire'])
    const realPublic = (await cli(real, ['--json', 'id', 'export-public'])).json.public as string
    const attestation = (await cli(ana, ['--json', 'hood', 'attest-agency', realPublic])).json.attestation
    await cli(real, ['agency', 'add-attestation', attestation.attestation as string])
    const asked = (await cli(fake, ['--json', 'agency', 'rfa', '--area', 'u4pruy', '--text', 'Send us your doorbell footage', '--relay', relay.tcp])).json.id as string
    const smoke = (await cli(real, ['--json', 'agency', 'rfa', '--area', 'u4pruy', '--text', 'Smoke reported near the school', '--relay', relay.tcp])).json.id as string
    // Two public replies to the fire department's request, one private post that is no reply.
    for (const text of ['I saw smoke at 3pm', 'Smelled it on Elm St']) {
      const r = await cli(ana, ['--json', 'post', '--kind', 'reply', '--text', text, '--public', '--reply-to', smoke])
      expect(r.json.publicSent).toBe(true)
    }
    await cli(ana, ['post', '--kind', 'info', '--text', 'Street party Saturday'])

    const anaFp = attestation.adminFingerprint as string
    // From Ana's home: the relays of her neighborhood, no --relay.
    const fromHome = await runOk(ana, ['--json', 'transparency', 'u4pruy'])
    const report = fromHome.json as TransparencyReport
    expect(report.area).toBe('u4pruy')
    expect(report.rfas.map(r => r.id).sort()).toEqual([asked, smoke].sort())
    const bySmoke = report.rfas.find(r => r.id === smoke)!
    expect(bySmoke).toMatchObject({ agency: 'Riverside Fire', text: 'Smoke reported near the school', publicReplies: 2, vouchedBy: [{ admin: anaFp, name: 'Riverside Fire', area: 'u4pruy' }] })
    expect(bySmoke.fingerprint).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    expect(report.rfas.find(r => r.id === asked)).toMatchObject({ agency: 'City PD', vouchedBy: [], publicReplies: 0 })
    for (const r of report.rfas) expect(Object.keys(r).sort()).toEqual(['agency', 'created', 'fingerprint', 'id', 'publicReplies', 'text', 'vouchedBy'])

    // From a home with no identity at all, naming the relay; a shorter overlapping area answers the same.
    const stranger = await tempDir('pl-stranger-')
    const fromStranger = await runOk(stranger, ['--json', 'transparency', 'u4pr', '--relay', relay.tcp])
    expect((fromStranger.json as TransparencyReport).rfas.map(r => [r.id, r.publicReplies]).sort()).toEqual([[asked, 0], [smoke, 2]].sort())
    const human = await runOk(stranger, ['transparency', 'u4pruy', '--relay', relay.tcp])
    expect(human.out).toContain('2 requests for assistance on record for area u4pruy')
    expect(human.out).toContain('vouched by: nobody (unverified)')
    expect(human.out).toContain(`vouched by: admin ${anaFp} as "Riverside Fire"`)
    expect(human.out).toContain('Requests per month:')
  })

  it('refuses a malformed area with one line and exit 2, sending nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
    // A listener standing in for a relay: nothing may connect to it.
    const connections: Socket[] = []
    const server = createServer(s => { connections.push(s); s.destroy() })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const port = (server.address() as { port: number }).port
    try {
      const home = await tempDir('pl-t-')
      const fakeRelay = `/ip4/127.0.0.1/tcp/${port}/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp`
      for (const bad of ['u4pr!', 'u4pruyx', 'U4PR', '']) {
        const r = await run(home, ['transparency', bad, '--relay', fakeRelay])
        expect(r.code).toBe(2)
        expect(r.err.trim().split('\n')).toHaveLength(1)
        expect(r.err).toMatch(/^porchlight: transparency: /)
        expect(r.out).toBe('')
      }
      const j = await run(home, ['--json', 'transparency', 'a', 'b'])
      expect(j.code).toBe(2)
      expect(connections).toHaveLength(0)
    } finally {
      server.close()
    }
  })
})
