/**
 * How fast a rekey reaches every online member: the window in which a member who has not yet
 * seen it can still seal a post under the old epoch (relays then refuse it with STALE_EPOCH
 * and the client re-seals). Real relay (node/relay/relay.ts), real resident peers (node/resident.ts)
 * with homes made by the CLI, all in this process on 127.0.0.1.
 *
 *   rekey       an admin's `removeMember` (create, store, push with ack; the relay verifies the
 *               admin signature, opens its tag-key box and publishes) until every online
 *               member's home holds the new epoch (each peer verifies, trial-decrypts its
 *               slot and saves), over REKEY_ROUNDS removals of offline members.
 *   baseline    one gossip hop through the same relay: plain gossipsub (random bytes of the
 *               rekey's size, no validator) from the admin's node until every online member's
 *               node has it, p99 over BASELINE_MESSAGES, same nodes and connections.
 *
 * Run alone: npm run bench -- --only rekey
 */
import '../../node/polyfill.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { useNativeCrypto } from '../../node/native-crypto.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import type { ResidentPeer } from '../../node/resident.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { cleanUp, cli, neighborhood, peer, startRelay, until } from '../helpers/network.ts'
import { costWorkload, type Workload } from './report.ts'

const ONLINE_MEMBERS = 8
const REKEY_ROUNDS = 5
const BASELINE_MESSAGES = 30
const BASELINE_INTERVAL_MS = 50
/** A plain message not heard by every member within this counts at this time (it bounds the run). */
const DELIVERY_WINDOW_MS = 5_000
const WAIT_MS = 30_000
/** Time for gossipsub meshes to form after subscribing (heartbeat every 1 s). */
const MESH_SETTLE_MS = 3_000

function percentile (sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!
}

async function epochOf (home: Home, id: Uint8Array): Promise<number> {
  const s = await home.hoodById(id)
  return s === undefined ? -1 : currentEpochKeys(s).epoch
}

/** Every online member's node receives one plain gossip message from the admin's: ms each. */
async function plainHops (relay: Relay, admin: ResidentPeer, members: ResidentPeer[], bytes: number): Promise<number[]> {
  const topic = 'porchlight-bench/plain-hop'
  // Members reach each other through the relay (as on a street): it forwards what it subscribes to.
  relay.node.services.pubsub.subscribe(topic)
  const seen = new Map<string, Set<number>>()
  for (const m of members) {
    const got = new Set<number>()
    seen.set(m.node().peerId.toString(), got)
    m.node().services.pubsub.subscribe(topic)
    m.node().services.pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic === topic) got.add(evt.detail.data[0]! | (evt.detail.data[1]! << 8))
    })
  }
  admin.node().services.pubsub.subscribe(topic)
  await new Promise(resolve => setTimeout(resolve, MESH_SETTLE_MS))
  const times: number[] = []
  for (let i = 0; i < BASELINE_MESSAGES; i++) {
    const data = randomBytes(bytes)
    data[0] = i & 0xff
    data[1] = i >> 8
    const t0 = performance.now()
    await admin.node().services.pubsub.publish(topic, data)
    await until(() => [...seen.values()].every(s => s.has(i)), DELIVERY_WINDOW_MS, 'every member to hear the plain message').catch(() => undefined)
    times.push(performance.now() - t0)
    await new Promise(resolve => setTimeout(resolve, BASELINE_INTERVAL_MS))
  }
  return times.sort((a, b) => a - b)
}

export async function benchRekey (): Promise<Workload[]> {
  useNativeCrypto()
  try {
    const relay = await startRelay()
    const names = Array.from({ length: ONLINE_MEMBERS }, (_, i) => `Member ${i}`)
    const offline = Array.from({ length: REKEY_ROUNDS }, (_, i) => `Away ${i}`)
    const hood = await neighborhood(relay, [...names, ...offline])
    await cli(hood.admin, ['feed'])
    const homes = await Promise.all(hood.members.slice(1, ONLINE_MEMBERS).map(async h => Home.open(h)))
    const id = (await homes[0]!.hoods())[0]!.hood.id
    const admin = await peer(hood.admin)
    const members = await Promise.all(hood.members.slice(1, ONLINE_MEMBERS).map(async h => peer(h)))
    const topic = privateTopic(id)
    await until(() => relay.node.services.pubsub.getSubscribers(topic).length >= ONLINE_MEMBERS, WAIT_MS, 'members subscribed at the relay')
    await new Promise(resolve => setTimeout(resolve, MESH_SETTLE_MS))

    const times: number[] = []
    for (const [i, away] of offline.entries()) {
      const t0 = performance.now()
      const r = await admin.removeMember(away)
      if (!r.result.ok) throw new Error(`rekey not acknowledged: ${r.result.message ?? ''}`)
      await until(async () => (await Promise.all(homes.map(async h => epochOf(h, id)))).every(e => e === i + 1), WAIT_MS, 'every member to hold the new epoch')
      times.push(performance.now() - t0)
    }
    times.sort((a, b) => a - b)
    const plain = await plainHops(relay, admin, members, 2048)
    const baseline = percentile(plain, 0.99)
    return [
      costWorkload(`rekey reaches all ${ONLINE_MEMBERS} online members, p50 (${REKEY_ROUNDS} rekeys)`, percentile(times, 0.5), 'ms', baseline),
      costWorkload(`rekey reaches all ${ONLINE_MEMBERS} online members, max`, times[times.length - 1]!, 'ms', baseline)
    ]
  } finally {
    await cleanUp()
  }
}
