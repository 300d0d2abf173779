// Gossip does not promise order: a post of a new epoch can reach a member before the rekey
// that opens it. The member keeps it and reads it once the rekey arrives. A removed member
// keeps the (genuine) rekey as seen, so sync does not fetch it again, and gains nothing.
import { describe, it, expect, afterAll } from 'vitest'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { openResidentPeer, type ResidentPeer } from '../../node/resident.ts'
import { peekDomain, fromHex } from '../../protocol/encoding.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { cleanUp, neighborhood, peer, startRelay } from '../helpers/network.ts'

afterAll(cleanUp)

async function offline (home: string): Promise<ResidentPeer> {
  // Not started: nothing arrives but what the test hands it.
  return openResidentPeer(await Home.open(home))
}

describe('rekey ordering', () => {
  it('reads a post that overtook its rekey, and lets a removed member skip the rekey', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben', 'Cleo'])
    const [anaHome, benHome, cleoHome] = hood.members as [string, string, string]
    const ana = await peer(anaHome)
    await ana.sync() // learns Ben's and Cleo's join announcements
    const topic = privateTopic((await (await Home.open(anaHome)).hoods())[0]!.hood.id)

    const removed = await ana.removeMember('Cleo')
    expect(removed.result.ok).toBe(true)
    const sent = await ana.post({ kind: 'info', text: 'Block party moved to Sunday' })
    expect(sent.result.ok).toBe(true)
    let rekey: Uint8Array | undefined
    for await (const m of ana.messages.list(topic)) if (peekDomain(m.bytes) === 'pl/rekey') rekey = m.bytes
    const post = (await ana.messages.get(fromHex(sent.id)))!.bytes

    const ben = await offline(benHome)
    try {
      const early = await ben.ingest(topic, post).catch((e: unknown) => e)
      expect(isPorchlightError(early, 'UNKNOWN_EPOCH')).toBe(true)
      await ben.ingest(topic, rekey!)
      const feed = await ben.feed()
      expect(feed.map(p => p.text)).toContain('Block party moved to Sunday')
      expect(currentEpochKeys((await (await Home.open(benHome)).hoods())[0]!).epoch).toBe(1)
    } finally {
      await ben.stop()
    }

    const cleo = await offline(cleoHome)
    try {
      await cleo.ingest(topic, rekey!)
      expect(cleo.messages.has(sha256(rekey!))).toBe(true)
      expect(currentEpochKeys((await (await Home.open(cleoHome)).hoods())[0]!).epoch).toBe(0)
      const late = await cleo.ingest(topic, post).catch((e: unknown) => e)
      expect(isPorchlightError(late, 'UNKNOWN_EPOCH')).toBe(true)
      expect((await cleo.feed()).map(p => p.text)).not.toContain('Block party moved to Sunday')
    } finally {
      await cleo.stop()
    }
  })
})
