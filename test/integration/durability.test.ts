// The relay as its own process: `kill -9` while it ingests a stream of pushes loses no
// acknowledged envelope (an ack means "on disk"), and SIGTERM stops it promptly, exit 0,
// with its data intact.
import { describe, it, expect, afterAll } from 'vitest'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import { syncTopic } from '../../protocol/peer/sync.ts'
import { openMessageStore } from '../../node/storage/level-messages.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { createPost } from '../../protocol/post.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { EpochKeys } from '../../protocol/neighborhood.ts'
import { cleanUp, cli, tempDir, until } from '../helpers/network.ts'
import { killAll, spawnRelay, stopProcess } from '../helpers/processes.ts'

/** Pushes in flight at once, as many residents posting at the same time. */
const IN_FLIGHT = 8
/** Acks to collect before the relay is killed. */
const ACKS_BEFORE_KILL = 60
const PUSH_TIMEOUT_MS = 15_000

const nodes: PorchlightNode[] = []
afterAll(async () => {
  await killAll()
  for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
  await cleanUp()
})

interface Hood { me: Identity, keys: EpochKeys, topic: string, token: string }

/** A resident with a neighborhood, set up through the CLI; the relay address is only recorded in it. */
async function hood (): Promise<Hood> {
  const home = await tempDir('pl-durable-home-')
  await cli(home, ['id', 'create', '--name', 'Ana'])
  await cli(home, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', '/ip4/127.0.0.1/tcp/4001'])
  const token = (await cli(home, ['--json', 'hood', 'relay-token'])).json.token as string
  const h = await Home.open(home)
  const state = (await h.hoods())[0]!
  return { me: await h.requireIdentity(), keys: currentEpochKeys(state), topic: privateTopic(state.hood.id), token }
}

async function pusher (): Promise<PorchlightNode> {
  const node = await createNode({})
  nodes.push(node)
  return node
}

/**
 * Keeps IN_FLIGHT pushes going until `stop()` says so; records the ids the relay acked.
 * Each envelope is a fresh signed, sealed post.
 */
function pushStream (node: PorchlightNode, relayAddr: string, h: Hood, stop: () => boolean): { acked: Set<string>, failed: () => number, done: Promise<void> } {
  const acked = new Set<string>()
  let failed = 0
  let next = 0
  const addr = multiaddr(relayAddr)
  const worker = async (): Promise<void> => {
    while (!stop()) {
      const post = createPost({ kind: 'info', text: `durable post ${next++} ${Math.random()}` })
      const sealed = await sealPost(h.me, h.topic, h.keys, post)
      const r = await pushMessage(node, addr, h.topic, sealed.bytes, PUSH_TIMEOUT_MS)
      if (r.ok) acked.add(toHex(sealed.id))
      else failed++
    }
  }
  const done = Promise.all(Array.from({ length: IN_FLIGHT }, worker)).then(() => {})
  return { acked, failed: () => failed, done }
}

/** Every id a fresh client gets from the relay when it syncs with an empty set. */
async function syncAll (relayAddr: string, h: Hood): Promise<Set<string>> {
  const node = await pusher()
  const got = new Set<string>()
  await syncTopic(node, multiaddr(relayAddr), h.topic, new SyncItemSet(), {
    auth: h.keys,
    getLocal: async () => undefined,
    onMessage: async (msg) => { got.add(toHex(sha256(msg))) }
  })
  return got
}

// Relay processes start in seconds when idle, far slower on a busy machine: generous timeouts.
describe('relay durability (separate process)', { timeout: 240_000 }, () => {
  it('keeps every acknowledged envelope through kill -9 and a restart', async () => {
    const h = await hood()
    const data = await tempDir('pl-durable-relay-')
    const first = await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0', '--serve', h.token])

    let killed = false
    const stream = pushStream(await pusher(), first.tcp, h, () => killed)
    await until(() => stream.acked.size >= ACKS_BEFORE_KILL || stream.failed() > 0, 30_000, `${ACKS_BEFORE_KILL} acks`)
    expect(stream.failed()).toBe(0)
    const exit = await stopProcess(first, 'SIGKILL')
    killed = true
    expect(exit.signal).toBe('SIGKILL')
    await stream.done
    const acked = new Set(stream.acked)
    expect(acked.size).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL)
    // The stream was cut mid-flight: pushes after the kill were not acknowledged.
    expect(stream.failed()).toBeGreaterThan(0)

    // Same data folder, no token on the command line: the relay remembers what it serves.
    const second = await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0'])
    expect(second.peerId).toBe(first.peerId)
    const got = await syncAll(second.tcp, h)
    const missing = [...acked].filter(id => !got.has(id))
    expect(missing).toEqual([])
    const health = await (await fetch(`${second.http}/health`)).json() as { status: string, storedMessages: number }
    expect(health.status).toBe('ok')
    expect(health.storedMessages).toBe(got.size)

    // It keeps taking pushes after the restart.
    const post = createPost({ kind: 'info', text: 'after the restart' })
    const sealed = await sealPost(h.me, h.topic, h.keys, post)
    expect(await pushMessage(await pusher(), multiaddr(second.tcp), h.topic, sealed.bytes)).toEqual({ ok: true })
    await stopProcess(second, 'SIGTERM')
  })

  it('stops cleanly on SIGTERM, mid-stream, exit 0, with every acknowledged envelope on disk', async () => {
    const h = await hood()
    const data = await tempDir('pl-durable-relay-')
    const relay = await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0', '--serve', h.token])

    let stopped = false
    const stream = pushStream(await pusher(), relay.tcp, h, () => stopped)
    await until(() => stream.acked.size >= 20 || stream.failed() > 0, 30_000, '20 acks')
    expect(stream.failed()).toBe(0)
    const exit = await stopProcess(relay, 'SIGTERM')
    stopped = true
    await stream.done
    expect(exit.code).toBe(0)
    expect(exit.signal).toBeNull()
    expect(exit.ms).toBeLessThan(10_000)
    expect(relay.log()).toContain('SIGTERM: stopping')
    expect(relay.log()).not.toContain('unhandled error')

    // The store opens (the process let go of its lock) and holds every acknowledged envelope.
    const store = await openMessageStore(join(data, 'messages'))
    try {
      const missing = [...stream.acked].filter(id => !store.has(fromHex(id)))
      expect(missing).toEqual([])
      expect(store.stats().messages).toBeGreaterThanOrEqual(stream.acked.size)
      for (const id of [...stream.acked].slice(0, 5)) {
        const m = await store.get(fromHex(id))
        expect(m?.topic).toBe(h.topic)
        expect(toHex(sha256(m!.bytes))).toBe(id)
      }
    } finally {
      await store.close()
    }
  })
})
