// A relay's clip store meters inbound bitswap streams (protocol/peer/metered-libp2p.ts): an honest
// transfer over bitswap alone must pass under the default caps, and give every byte back.
import { describe, it, expect, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes as nodeRandom } from 'node:crypto'
import { sha256 } from '../../protocol/crypto.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import type { ClipStore, AddedClip } from '../../protocol/peer/clip-store.ts'
import { openNodeClipStore } from '../../node/storage/clips.ts'
import { StreamBudget, type StreamRefusal } from '../../protocol/peer/stream-budget.ts'
import { until } from '../helpers/network.ts'

const MiB = 1024 * 1024
const cleanups: Array<() => Promise<void>> = []
afterAll(async () => { for (const c of cleanups.reverse()) await c() })

async function readAll (store: ClipStore, ref: AddedClip): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of store.read(ref, { idleTimeoutMs: 20_000, peers: [] })) parts.push(p)
  return Uint8Array.from(Buffer.concat(parts))
}

describe('a metered clip store', () => {
  it('takes a clip over bitswap alone under the default caps and holds nothing after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pl-metered-'))
    const refused: StreamRefusal[] = []
    const budget = new StreamBudget({}, (reason) => { refused.push(reason) })
    // Counts what the budget admits, to know the blocks did come through it.
    let admittedBitswap = 0
    const admit = budget.admit.bind(budget)
    budget.admit = (stream, connection, protocol, options) => {
      if (protocol === 'bitswap') admittedBitswap++
      return admit(stream, connection, protocol, options)
    }
    const a: PorchlightNode = await createNode({ tcpPort: 0 })
    const b: PorchlightNode = await createNode({ tcpPort: 0 })
    const storeA = await openNodeClipStore(a, join(dir, 'a'))
    const storeB = await openNodeClipStore(b, join(dir, 'b'), { inboundBudget: budget })
    cleanups.push(async () => {
      await storeA.stop(); await storeB.stop(); await a.stop(); await b.stop(); budget.stop()
      await rm(dir, { recursive: true, force: true })
    })
    await b.dial(a.getMultiaddrs()[0]!)
    const plain = new Uint8Array(nodeRandom(6 * MiB + 777))
    const ref = await storeA.add([plain])
    expect(sha256(await readAll(storeB, ref))).toEqual(sha256(plain))
    expect(refused).toEqual([])
    expect(admittedBitswap).toBeGreaterThan(0)
    await until(() => budget.openStreams('bitswap') === 0, 15_000, 'bitswap streams to end')
    expect(budget.bufferedBytes()).toBe(0)
  })
})
