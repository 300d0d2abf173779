// Hostile gossip, as an attacker would craft it: valid messages of each kind (a sealed post, a
// public post, a request for assistance, a rekey, and, from an insider who holds the epoch's
// keys, envelopes around mutated inner messages), changed byte-wise and structure-wise (a field
// replaced by any CBOR value), fed to a relay's intake (validateMessage) and to a resident's
// engine (ResidentPeer.ingest). Every refusal must be a PorchlightError: anything else is taken
// for trouble on the receiving side (gossipVerdict: IGNORE), which would let a flooder avoid the
// REJECT that lowers its gossipsub score.
import { afterAll, describe, it, expect, beforeAll } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { encode as cborEncode, decode as cborDecode } from 'cborg'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { ed25519 } from '@noble/curves/ed25519.js'
import { randomBytes } from 'node:crypto'
import { isPorchlightError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import { areaTopic, deriveEpochKeys, newEpochSecret, privateTopic, type EpochKeys } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { encodeSignedPost, sealEnvelope } from '../../protocol/envelope.ts'
import { sealPublicPost } from '../../protocol/public-post.ts'
import { createAttestation, sealRfa } from '../../protocol/agency.ts'
import { createRekey, relayBoxSecret } from '../../protocol/rekey.ts'
import { createJoin, createLeave } from '../../protocol/membership.ts'
import { newHoodState } from '../../protocol/hood-state.ts'
import { gossipVerdict, ServedTopics, validateMessage } from '../../protocol/peer/intake.ts'
import { ResidentPeer } from '../../protocol/peer/resident.ts'
import { MemoryHome, memoryRuntime } from '../helpers/memory-runtime.ts'
import { applyEdits, byteEdits, testHood, type ByteEdit } from '../helpers/protocol-fixtures.ts'

const DAY = 86_400_000

// ---- structure-aware mutation ----

type Path = Array<string | number>

function nodePaths (v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at)
  if (v instanceof Map) for (const [k, x] of v) nodePaths(x, [...at, k as string], out)
  else if (Array.isArray(v)) v.forEach((x, i) => nodePaths(x, [...at, i], out))
  return out
}

function replaceAt (v: unknown, path: Path, by: unknown): unknown {
  if (path.length === 0) return by
  const [head, ...rest] = path
  if (v instanceof Map) { const m = new Map(v); m.set(head, replaceAt(v.get(head), rest, by)); return m }
  if (Array.isArray(v)) { const a = [...v]; a[head as number] = replaceAt(v[head as number], rest, by); return a }
  return v
}

function dropAt (v: unknown, path: Path): unknown {
  if (path.length === 1) {
    if (v instanceof Map) { const m = new Map(v); m.delete(path[0]); return m }
    if (Array.isArray(v)) return v.filter((_, i) => i !== path[0])
    return v
  }
  if (path.length === 0) return v
  const [head, ...rest] = path
  if (v instanceof Map) { const m = new Map(v); m.set(head, dropAt(v.get(head), rest)); return m }
  if (Array.isArray(v)) { const a = [...v]; a[head as number] = dropAt(v[head as number], rest); return a }
  return v
}

/** Any CBOR value cborg can write, including those Porchlight never writes (floats, big integers, odd keys). */
const cborValue: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  v: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.constantFrom(0, -1, 1, 255, 256, 65_535, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1.5, -0.5, 1e300),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('', 'pl/post', 'pl/env', 'pl/signed-post', 'pl/join', 'pl/leave', 'pl/rekey', 'pl/public-post', 'pl/rfa', '__proto__', 'constructor', 'x'.repeat(300)),
    fc.uint8Array({ maxLength: 70 }),
    fc.constantFrom(0, 1, 12, 16, 24, 31, 32, 33, 64, 65).map(n => new Uint8Array(n)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('t', 'v', 'post', 'sig', 'k', 'kind', 'text', 'media', '__proto__')), tie('v')), { maxLength: 4 })
      .map(entries => new Map(entries))
  )
})).v

type Mutation = { kind: 'bytes', edits: ByteEdit[] }
  | { kind: 'replace', pick: number, by: unknown }
  | { kind: 'drop', pick: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  byteEdits(4).map(edits => ({ kind: 'bytes' as const, edits })),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), by: cborValue }),
  fc.record({ kind: fc.constant('drop' as const), pick: fc.nat() })
)

function toEncodable (v: unknown): unknown {
  if (v instanceof Map) {
    // Keys of any type (cborg writes a Map as it is): a stranger's bytes need not have text keys.
    const m = new Map()
    for (const [k, x] of v) m.set(k, toEncodable(x))
    return m
  }
  if (Array.isArray(v)) return v.map(toEncodable)
  return v
}

function mutate (bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.kind === 'bytes') return applyEdits(bytes, m.edits)
  const value = cborDecode(bytes, { useMaps: true })
  const paths = nodePaths(value)
  const path = paths[m.pick % paths.length]!
  const changed = m.kind === 'replace' ? replaceAt(value, path, m.by) : dropAt(value, path)
  try {
    return cborEncode(toEncodable(changed))
  } catch {
    return bytes
  }
}

// ---- the targets ----

interface Target {
  /** Runs the check; returns the thrown value, or 'accepted'. */
  relay: (topic: string, bytes: Uint8Array) => Promise<unknown>
  resident: (topic: string, bytes: Uint8Array) => Promise<unknown>
}

let admin: Identity
let member: Identity
let agency: Identity
let keys0: EpochKeys
let topic: string
let area: string
let samples: Record<string, Uint8Array>
let inners: Record<string, Uint8Array>
let target: Target

async function settle (fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn()
    return 'accepted'
  } catch (err) {
    return err
  }
}

beforeAll(async () => {
  const now = Date.now()
  admin = await createIdentity('Ana')
  member = await createIdentity('Ben')
  agency = await createIdentity('Metro Police')
  const hood = testHood(admin)
  topic = privateTopic(hood.id)
  area = areaTopic(hood.area)
  const secret0 = newEpochSecret()
  keys0 = deriveEpochKeys(hood.id, 0, secret0)
  const relaySeed = randomBytes(32)
  const boxSecret = relayBoxSecret(relaySeed)

  const post = createPost({ kind: 'info', text: 'hello there', now })
  const signed = await encodeSignedPost(admin, topic, post)
  const att = await createAttestation(admin, agency.public, hood.area, now)
  inners = {
    post: signed,
    join: await createJoin(member, topic, now),
    leave: await createLeave(member, topic, now)
  }
  samples = {
    envelope: sealEnvelope(keys0, topic, signed, { ts: post.created, exp: post.expires }),
    rekey: (await createRekey(admin, hood, keys0, [admin.public, member.public], now, { relays: [ed25519.getPublicKey(relaySeed)] })).bytes,
    public: (await sealPublicPost(admin, hood.area, createPost({ kind: 'info', text: 'public hello', now }))).bytes,
    rfa: (await sealRfa(agency, hood.area, 'Footage of Elm St?', now, DAY, { attestations: [att] })).bytes
  }

  const served = new ServedTopics()
  served.addHood(topic, hood.founder, hood.salt)
  served.addPrivate(topic, 0, keys0.tagKey, now)
  served.addArea(hood.area)
  const state = newHoodState({ hood, epoch: 0, secret: secret0, members: [admin.public, member.public], joined: now })
  const makePeer = async (): Promise<ResidentPeer> => await ResidentPeer.open(await memoryRuntime(new MemoryHome(member, [state])))
  target = {
    relay: async (t, bytes) => await settle(async () => await validateMessage(t, bytes, served, Date.now(), sha256(bytes), { boxSecret })),
    // A fresh peer each time: a rekey that got in would change what the next message meets.
    resident: async (t, bytes) => { const peer = await makePeer(); return await settle(async () => await peer.ingest(t, bytes, sha256(bytes), 'gossip')) }
  }
  // The samples themselves are accepted (so the mutations start from messages that get all the way in).
  for (const [name, bytes] of Object.entries(samples)) {
    const t = name === 'public' || name === 'rfa' ? area : topic
    expect(await target.relay(t, bytes), `relay ${name}`).toBe('accepted')
    if (name !== 'rekey') expect(await target.resident(t, bytes), `resident ${name}`).toBe('accepted')
  }
}, 60_000)

function describeRefusal (r: unknown): string {
  if (r === 'accepted') return 'accepted'
  if (isPorchlightError(r)) return r.code
  return `NOT A PorchlightError: ${String((r as Error)?.name)}: ${String((r as Error)?.message)}`
}

const SEEN = new Map<string, number>()
function expectPorchlight (r: unknown, what: string): void {
  const key = `${what} -> ${describeRefusal(r)}`; SEEN.set(key, (SEEN.get(key) ?? 0) + 1)
  if (r === 'accepted') return // a mutation can leave a message valid (e.g. a dropped optional field)
  expect(isPorchlightError(r), `${what}: ${describeRefusal(r)}`).toBe(true)
  // And so its verdict is the protocol's, not "trouble on this side".
  if (!isPorchlightError(r)) expect(gossipVerdict(r)).toBe(TopicValidatorResult.Reject)
}

describe('hostile gossip gets a PorchlightError, hence a REJECT when it is the sender\'s fault', () => {
  for (const name of ['envelope', 'rekey', 'public', 'rfa'] as const) {
    it(`mutated ${name}: relay intake and resident engine`, async () => {
      const t = name === 'public' || name === 'rfa' ? area : topic
      await fc.assert(fc.asyncProperty(mutation, async m => {
        const bytes = mutate(samples[name]!, m)
        expectPorchlight(await target.relay(t, bytes), `relay, ${name}`)
        expectPorchlight(await target.resident(t, bytes), `resident, ${name}`)
      }), { numRuns: runs(60) })
    }, 120_000)
  }

  for (const name of ['post', 'join', 'leave'] as const) {
    it(`an insider's envelope around a mutated ${name}: resident engine`, async () => {
      await fc.assert(fc.asyncProperty(mutation, async m => {
        const inner = mutate(inners[name]!, m)
        const now = Date.now()
        const bytes = sealEnvelope(keys0, topic, inner, { ts: now, exp: now + DAY })
        expectPorchlight(await target.resident(topic, bytes), `resident, inner ${name}`)
      }), { numRuns: runs(60) })
    }, 120_000)
  }

  it('random bytes on each kind of topic', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), fc.boolean(), async (bytes, onArea) => {
      const t = onArea ? area : topic
      expectPorchlight(await target.relay(t, bytes), 'relay, random')
      expectPorchlight(await target.resident(t, bytes), 'resident, random')
    }), { numRuns: runs(60) })
  })
})
// FUZZ_STATS=1 prints which refusals the mutations met (to see that they reach past the decoders).
afterAll(() => { if (process.env.FUZZ_STATS === '1') console.log([...SEEN].sort().map(([k, n]) => `${n}\t${k}`).join('\n')) })
