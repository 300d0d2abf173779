// A relay's total connection limit is the operator's to set (`--max-connections`, caps.ts): a
// district relay needs thousands, where libp2p's node default would silently stop at 300. Past
// the limit an inbound connection is refused; /health and /metrics show the count beside it.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { capsFrom } from '../../node/cli/caps.ts'
import { CAPS_DEFAULTS } from '../../node/relay/caps.ts'
import { cleanUp, scrapeMetrics, startRelay, tcpAddr, until } from '../helpers/network.ts'

const nodes: PorchlightNode[] = []
afterAll(async () => {
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

describe('relay connection limit', () => {
  it('holds at most --max-connections, and says so in /health and /metrics', async () => {
    const relay = await startRelay({ caps: { ...capsFrom({ string: (name) => (name === 'max-connections' ? '2' : undefined) }) } })
    const addr = multiaddr(tcpAddr(relay))
    for (let i = 0; i < 3; i++) nodes.push(await createNode({}))
    await nodes[0]!.dial(addr)
    await nodes[1]!.dial(addr)
    await until(() => relay.node.getConnections().length === 2, 15_000, 'two connections')
    // The third is refused before its upgrade: the dial fails, and the relay still holds two.
    await expect(nodes[2]!.dial(addr, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(nodes[2]!.getConnections().length).toBe(0)
    expect(relay.node.getConnections().length).toBe(2)
    const health = await (await fetch(`${relay.httpUrl}/health`)).json() as Record<string, unknown>
    expect(health).toMatchObject({ connections: 2, maxConnections: 2 })
    expect((await scrapeMetrics(relay.httpUrl)).get('porchlight_max_connections')).toBe(2)
  })

  it('defaults to CAPS_DEFAULTS.maxConnections, above libp2p\'s 300', async () => {
    const relay = await startRelay()
    expect(CAPS_DEFAULTS.maxConnections).toBeGreaterThan(300)
    expect(relay.health()).toMatchObject({ maxConnections: CAPS_DEFAULTS.maxConnections })
    const manager = (relay.node as unknown as { components: { connectionManager: { getMaxConnections: () => number } } }).components.connectionManager
    expect(manager.getMaxConnections()).toBe(CAPS_DEFAULTS.maxConnections)
  })
})
