// Errors an operator hits starting a relay are one clear line: which port is taken and the flag
// that changes it, that the data folder is in use by another relay, or that a token was
// mistyped (or is an invite).
import { describe, it, expect, afterAll } from 'vitest'
import { isPorchlightError } from '../../protocol/errors.ts'
import { Relay } from '../../node/relay/relay.ts'
import { cleanUp, neighborhood, startRelay, tempDir } from '../helpers/network.ts'

afterAll(cleanUp)

async function startError (init: Parameters<typeof Relay.start>[0]): Promise<{ code: string, message: string }> {
  try {
    const r = await Relay.start({ log: () => {}, ...init })
    await r.stop()
  } catch (err) {
    if (isPorchlightError(err)) return { code: err.code, message: err.message }
    throw err
  }
  throw new Error('expected the relay not to start')
}

describe('relay start-up errors', () => {
  it('names the taken port and its flag, and a data folder in use', async () => {
    const first = await startRelay()
    const port = (proto: string): number => Number(first.addresses().map(String).find(a => proto === 'ws' ? a.includes('/ws') : !a.includes('/ws'))!.split('/')[4])
    const http = Number(new URL(first.httpUrl).port)
    const tcp = await startError({ dataDir: await tempDir(), tcpPort: port('tcp'), wsPort: 0, httpPort: 0 })
    expect(tcp).toMatchObject({ code: 'UNAVAILABLE' })
    expect(tcp.message).toContain(`port ${port('tcp')} (TCP)`)
    expect(tcp.message).toContain('--tcp')
    const ws = await startError({ dataDir: await tempDir(), tcpPort: 0, wsPort: port('ws'), httpPort: 0 })
    expect(ws.message).toContain(`port ${port('ws')} (WebSockets)`)
    expect(ws.message).toContain('--ws')
    const web = await startError({ dataDir: await tempDir(), tcpPort: 0, wsPort: 0, httpPort: http })
    expect(web.message).toContain(`port ${http} (HTTP)`)
    expect(web.message).toContain('--http')
    const dir = (first as unknown as { init: { dataDir: string } }).init.dataDir
    const busy = await startError({ dataDir: dir, tcpPort: 0, wsPort: 0, httpPort: 0 })
    expect(busy).toMatchObject({ code: 'REFUSED' })
    expect(busy.message).toContain('in use by another porchlight process')
    for (const e of [tcp, ws, web, busy]) expect(e.message).not.toContain('\n')
  })

  it('refuses a token mistyped when it was copied, before serving anything', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana'])
    const at = hood.token.indexOf('.') - 5
    const typo = hood.token.slice(0, at) + (hood.token[at] === 'A' ? 'B' : 'A') + hood.token.slice(at + 1)
    const bad = await startError({ dataDir: await tempDir('pl-relay-typo-'), tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [typo] })
    expect(bad).toMatchObject({ code: 'MALFORMED' })
    expect(bad.message).toContain('copy it again')
    const invite = await startError({ dataDir: await tempDir('pl-relay-invite-'), tcpPort: 0, wsPort: 0, httpPort: 0, tokens: [hood.invite] })
    expect(invite.message).toContain('not a relay token')
  })
})
