// Rekeys are bounded per epoch (issue 10): each is up to 64 KiB kept 90 days, so a relay takes
// at most one per admin leading to the same epoch, and still counts them after a restart.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../../node/libp2p.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { MAX_REKEYS_PER_EPOCH } from '../../node/relay/relay.ts'
import { createRekey } from '../../protocol/rekey.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { cleanUp, neighborhood, startRelay, tcpAddr } from '../helpers/network.ts'

afterAll(cleanUp)

describe('rekeys per epoch', () => {
  it('refuses a rekey past the bound, before and after a restart', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana'])
    const home = await Home.open(hood.admin)
    const state = (await home.hoods())[0]!
    const me = await home.requireIdentity()
    const topic = privateTopic(state.hood.id)
    const client = await createNode({})
    const rekey = async (): Promise<Uint8Array> =>
      (await createRekey(me, state.hood, currentEpochKeys(state), [me.public], Date.now(), { relays: [relay.node.peerId.publicKey!.raw] })).bytes
    const results = []
    for (let i = 0; i <= MAX_REKEYS_PER_EPOCH; i++) results.push(await pushMessage(client, multiaddr(tcpAddr(relay)), topic, await rekey()))
    expect(results.slice(0, MAX_REKEYS_PER_EPOCH).every(r => r.ok)).toBe(true)
    expect(results[MAX_REKEYS_PER_EPOCH]).toMatchObject({ ok: false, code: 'REFUSED' })
    expect(results[MAX_REKEYS_PER_EPOCH]!.message).toContain(`${MAX_REKEYS_PER_EPOCH} rekeys`)
    const dataDir = (relay as unknown as { init: { dataDir: string } }).init.dataDir
    await relay.stop()

    const back = await startRelay({ dataDir })
    const again = await pushMessage(client, multiaddr(tcpAddr(back)), topic, await rekey())
    expect(again).toMatchObject({ ok: false, code: 'REFUSED' })
    expect(back.metrics.get('porchlight_messages_rejected_total', { reason: 'REFUSED' })).toBe(1)
    await client.stop()
  })
})
