// Relay logs are what an operator reads without debugging: a peer cannot forge a line in them
// (strings it chose are escaped) and cannot flood them (one line per kind of refusal per
// interval, with the number held back; /metrics counts every one).
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeCbor } from '../../protocol/encoding.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { createNode } from '../../node/libp2p.ts'
import { PushSession } from '../../protocol/peer/push.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr } from '../helpers/network.ts'

afterAll(cleanUp)

describe('relay logs', () => {
  it('escape what peers chose and hold back repeats', async () => {
    const lines: string[] = []
    const relay = await startRelay({ log: (l) => lines.push(l), peerRate: { perSecond: 1000, burst: 1000 } })
    const hood = await neighborhood(relay, ['Ana'])
    const topic = privateTopic((await (await Home.open(hood.admin)).hoods())[0]!.hood.id)
    const forged = encodeCbor({ t: '\u202Ex\n2026-11-30 FORGED', v: 1 })
    const client = await createNode({})
    try {
      const session = await PushSession.open(client, multiaddr(tcpAddr(relay)))
      const results = await Promise.all(Array.from({ length: 50 }, async () => session.push(topic, forged)))
      await session.close()
      expect(results.every(r => !r.ok && r.code === 'BAD_DOMAIN')).toBe(true)
    } finally {
      await client.stop()
    }
    expect(relay.metrics.get('porchlight_messages_rejected_total', { reason: 'BAD_DOMAIN' })).toBe(50)
    const refusals = lines.filter(l => l.includes('BAD_DOMAIN'))
    expect(refusals).toHaveLength(1)
    for (const l of lines) expect(l).not.toMatch(/[\n\r\u202E]/)
    expect(refusals[0]).toContain('unexpected \\u{202e}x\\u{a}2026-11-30 FORGED')
  })
})
