import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { sha256 } from '@noble/hashes/sha2.js'
import { isPorchlightError } from '../../protocol/errors.ts'
import {
  decodeSyncMessage, DEFAULT_MAX_MESSAGE_BYTES, fingerprintIds, MAX_RANGES, MIN_MAX_MESSAGE_BYTES,
  Reconciler, SyncItemSet, SYNC_VERSION, type ReconcilerOptions, type SyncItem
} from '../../protocol/reconcile/sync.ts'
import { compareItems, minimalBound } from '../../protocol/reconcile/items.ts'
import { encodeVarint, readVarint } from '../../protocol/reconcile/varint.ts'
import { rng } from '../helpers/rng.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const te = new TextEncoder()


function randomItems (n: number, seed: number, span = 30 * 86_400_000): SyncItem[] {
  const r = rng(seed)
  const out: SyncItem[] = []
  for (let i = 0; i < n; i++) {
    const id = new Uint8Array(32)
    for (let j = 0; j < 32; j++) id[j] = Math.floor(r() * 256)
    out.push({ ts: 1_700_000_000_000 + Math.floor(r() * span), id })
  }
  return out
}

interface SyncRun { rounds: number, bytes: number, have: Uint8Array[], need: Uint8Array[], largest: number }

/** Runs a whole session between a client and a server Reconciler. */
function runSync (client: SyncItemSet, server: SyncItemSet, opts: ReconcilerOptions = {}, maxRounds = 2000): SyncRun {
  const c = new Reconciler(client, opts)
  const s = new Reconciler(server, opts)
  const have: Uint8Array[] = []
  const need: Uint8Array[] = []
  let msg: Uint8Array | null = c.initiate()
  let rounds = 0
  let bytes = 0
  let largest = 0
  while (msg !== null) {
    if (rounds >= maxRounds) throw new Error('sync did not converge')
    const reply = s.respond(msg)
    rounds++
    bytes += msg.length + reply.length
    largest = Math.max(largest, msg.length, reply.length)
    const r = c.reconcile(reply)
    have.push(...r.have)
    need.push(...r.need)
    msg = r.next
  }
  return { rounds, bytes, have, need, largest }
}

function keys (ids: Iterable<Uint8Array>): string[] {
  return Array.from(ids, hex).sort()
}

/** Raw message builder for decoder tests: ranges as [tsDelta, prefix, mode, payload]. */
function rawMessage (ranges: Array<[number, Uint8Array, number, Uint8Array]>, version = SYNC_VERSION): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(version)]
  for (const [ts, prefix, mode, payload] of ranges) {
    parts.push(encodeVarint(ts), encodeVarint(prefix.length), prefix, encodeVarint(mode), payload)
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

const NONE = new Uint8Array(0)
const FP = new Uint8Array(16)

function expectCode (fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (err) {
    expect(isPorchlightError(err), String(err)).toBe(true)
    expect((err as { code: string }).code).toBe(code)
    return
  }
  throw new Error(`expected PorchlightError ${code}`)
}

describe('sync varint', () => {
  it('is base-128, most significant group first (Negentropy)', () => {
    expect(hex(encodeVarint(0))).toBe('00')
    expect(hex(encodeVarint(127))).toBe('7f')
    expect(hex(encodeVarint(128))).toBe('8100')
    expect(hex(encodeVarint(300))).toBe('822c')
    expect(encodeVarint(Number.MAX_SAFE_INTEGER).length).toBe(8)
  })

  it('round-trips every safe integer and rejects padding and overflow', () => {
    fc.assert(fc.property(fc.maxSafeNat(), (n) => {
      const b = encodeVarint(n)
      const cur = { pos: 0 }
      expect(readVarint(b, cur)).toBe(n)
      expect(cur.pos).toBe(b.length)
    }), { numRuns: runs(25) })
    expectCode(() => readVarint(Uint8Array.of(0x80, 0x01), { pos: 0 }), 'MALFORMED')
    expectCode(() => readVarint(Uint8Array.of(0x81), { pos: 0 }), 'MALFORMED')
    expectCode(() => readVarint(Uint8Array.of(0x90, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), { pos: 0 }), 'OUT_OF_RANGE')
  })
})

describe('sync fingerprint', () => {
  it('is sha256(sum of ids mod 2^256, little-endian || varint(count))[0..16]', () => {
    const ff = new Uint8Array(32).fill(0xff)
    const one = new Uint8Array(32)
    one[0] = 1 // ff..ff + 1 wraps to 0 mod 2^256
    const expected = sha256(Uint8Array.of(...new Uint8Array(32), 2)).subarray(0, 16)
    expect(hex(fingerprintIds([ff, one]))).toBe(hex(expected))
    const two = new Uint8Array(32)
    two[0] = 0xff
    const three = new Uint8Array(32)
    three[0] = 0x02
    const sum = new Uint8Array(32)
    sum[0] = 0x01
    sum[1] = 0x01 // 0xff + 0x02 = 0x101, carried into byte 1
    expect(hex(fingerprintIds([two, three]))).toBe(hex(sha256(Uint8Array.of(...sum, 2)).subarray(0, 16)))
  })

  it('matches the Negentropy reference implementation byte for byte', () => {
    // Same items given to hoytech/negentropy js/Negentropy.js: its initiate() is 0x61 followed by
    // exactly these 342 bytes (16 fingerprinted ranges with minimal bounds).
    const set = new SyncItemSet()
    for (let i = 0; i < 1500; i++) set.add({ ts: 1_700_000 + Math.floor(i / 3) * 1000, id: sha256(te.encode(`porchlight-sync-${i}`)) })
    const msg = new Reconciler(set).initiate()
    expect(msg[0]).toBe(SYNC_VERSION)
    expect(msg.length).toBe(343)
    expect(hex(msg.subarray(1, 40))).toBe('e9d33901a7011273877a6796ff0c807082710cb5e8eb81f21901eb01f2bca73cf103b7eda65d8d')
    expect(hex(sha256(msg.subarray(1)))).toBe('3feb9a92ea9a3d9331fa94612545da67adb7d26f8e18318696cd19dd083e6538')
  })
})

describe('SyncItemSet', () => {
  it('keeps items sorted by (ts, id), dedups, removes, and fingerprints any index range', () => {
    const item = fc.record({ ts: fc.integer({ min: 0, max: 5 }), id: fc.uint8Array({ minLength: 32, maxLength: 32 }) })
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), item }),
      fc.record({ kind: fc.constant('remove' as const), index: fc.nat() }),
      fc.record({ kind: fc.constant('bulk' as const), items: fc.array(item, { maxLength: 700 }) })
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const set = new SyncItemSet()
      let model: SyncItem[] = []
      const key = (it: SyncItem): string => `${it.ts}:${hex(it.id)}`
      for (const o of ops) {
        if (o.kind === 'add') {
          const fresh = !model.some((m) => key(m) === key(o.item))
          expect(set.add(o.item)).toBe(fresh)
          if (fresh) model.push(o.item)
        } else if (o.kind === 'remove') {
          if (model.length === 0) {
            expect(set.remove({ ts: 1, id: new Uint8Array(32) })).toBe(false)
            continue
          }
          const victim = model[o.index % model.length]!
          expect(set.remove(victim)).toBe(true)
          expect(set.remove(victim)).toBe(false)
          model = model.filter((m) => key(m) !== key(victim))
        } else {
          const seen = new Set(model.map(key))
          let fresh = 0
          for (const it of o.items) {
            if (seen.has(key(it))) continue
            seen.add(key(it))
            model.push(it)
            fresh++
          }
          expect(set.addMany(o.items)).toBe(fresh)
        }
      }
      model.sort(compareItems)
      expect(set.size).toBe(model.length)
      expect(Array.from(set, key)).toEqual(model.map(key))
      for (let t = 0; t < 4 && model.length > 0; t++) {
        const a = (t * 7919) % (model.length + 1)
        const b = Math.min(model.length, a + ((t * 104_729) % (model.length + 1)))
        expect(hex(set.fingerprint(a, b))).toBe(hex(fingerprintIds(model.slice(a, b).map((m) => m.id))))
        if (a < model.length) {
          expect(key(set.at(a))).toBe(key(model[a]!))
          expect(set.lowerBound(model[a]!)).toBe(model.findIndex((m) => key(m) === key(model[a]!)))
          expect(set.has(model[a]!)).toBe(true)
        }
      }
    }), { numRuns: runs(20) })
  })

  it('iterates a range of bounds, including id-prefix bounds between equal timestamps', () => {
    const items = randomItems(3000, 5, 20) // ~150 items per timestamp
    const set = new SyncItemSet(items)
    const sorted = [...items].sort(compareItems)
    const lower = minimalBound(sorted[999]!, sorted[1000]!)
    const upper = minimalBound(sorted[1999]!, sorted[2000]!)
    expect(lower.id.length).toBeGreaterThan(0) // same ts: the bound needs an id prefix
    const got = Array.from(set.range(lower, upper))
    expect(got.length).toBe(1000)
    expect(hex(got[0]!.id)).toBe(hex(sorted[1000]!.id))
    expect(hex(got[999]!.id)).toBe(hex(sorted[1999]!.id))
  })

  it('rejects invalid items with BAD_ARGUMENT', () => {
    const set = new SyncItemSet()
    expectCode(() => set.add({ ts: -1, id: new Uint8Array(32) }), 'BAD_ARGUMENT')
    expectCode(() => set.add({ ts: 1.5, id: new Uint8Array(32) }), 'BAD_ARGUMENT')
    expectCode(() => set.add({ ts: 2 ** 53, id: new Uint8Array(32) }), 'BAD_ARGUMENT')
    expectCode(() => set.add({ ts: 1, id: new Uint8Array(31) }), 'BAD_ARGUMENT')
    expectCode(() => set.add({ ts: 1, id: 'x' as unknown as Uint8Array }), 'BAD_ARGUMENT')
    expect(set.size).toBe(0)
  })

  it('copies ids, so a caller mutating its buffer cannot reorder the set', () => {
    const id = new Uint8Array(32)
    const set = new SyncItemSet()
    set.add({ ts: 1, id })
    id[0] = 9
    expect(set.at(0).id[0]).toBe(0)
  })
})

describe('Reconciler', () => {
  const itemArb = (maxTs: number): fc.Arbitrary<SyncItem> =>
    fc.record({ ts: fc.integer({ min: 0, max: maxTs }), id: fc.uint8Array({ minLength: 32, maxLength: 32 }) })

  it('client learns exactly the symmetric difference, split into have and need', () => {
    const options = fc.record({
      branching: fc.integer({ min: 2, max: 16 }),
      firstBranching: fc.integer({ min: 2, max: 32 }),
      idListThreshold: fc.integer({ min: 2, max: 40 }),
      maxMessageBytes: fc.oneof(fc.constant(MIN_MAX_MESSAGE_BYTES), fc.integer({ min: 512, max: 8192 }), fc.constant(DEFAULT_MAX_MESSAGE_BYTES))
    }, { requiredKeys: [] })
    const sets = fc.record({
      common: fc.array(itemArb(1000), { maxLength: 300 }),
      onlyClient: fc.array(itemArb(1000), { maxLength: 120 }),
      onlyServer: fc.array(itemArb(1000), { maxLength: 120 })
    })
    fc.assert(fc.property(sets, options, (raw, opts) => {
      // ids name items (content hashes): keep one timestamp per id across all three lists
      const seen = new Set<string>()
      const uniq = (xs: SyncItem[]): SyncItem[] => xs.filter((x) => !seen.has(hex(x.id)) && seen.add(hex(x.id)) !== undefined)
      const common = uniq(raw.common)
      const onlyClient = uniq(raw.onlyClient)
      const onlyServer = uniq(raw.onlyServer)
      const client = new SyncItemSet([...common, ...onlyClient])
      const server = new SyncItemSet([...common, ...onlyServer])
      const cKeys = new Set(Array.from(client, (it) => hex(it.id)))
      const sKeys = new Set(Array.from(server, (it) => hex(it.id)))
      const run = runSync(client, server, opts)
      expect(keys(run.have)).toEqual([...cKeys].filter((k) => !sKeys.has(k)).sort())
      expect(keys(run.need)).toEqual([...sKeys].filter((k) => !cKeys.has(k)).sort())
      expect(run.largest).toBeLessThanOrEqual(opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES)
    }), { numRuns: runs(38) })
  })

  it('handles empty sets on either side', () => {
    const items = randomItems(500, 1)
    const none = runSync(new SyncItemSet(), new SyncItemSet())
    expect(none).toMatchObject({ rounds: 1, have: [], need: [] })
    const fetchAll = runSync(new SyncItemSet(), new SyncItemSet(items))
    expect(keys(fetchAll.need)).toEqual(keys(items.map((i) => i.id)))
    expect(fetchAll.have).toEqual([])
    expect(fetchAll.rounds).toBe(1)
    const pushAll = runSync(new SyncItemSet(items), new SyncItemSet())
    expect(keys(pushAll.have)).toEqual(keys(items.map((i) => i.id)))
    expect(pushAll.need).toEqual([])
    expect(pushAll.rounds).toBe(1)
  })

  it('identical sets settle in one round trip with a one-byte answer', () => {
    const items = randomItems(20_000, 2)
    const client = new SyncItemSet(items)
    const server = new SyncItemSet(items)
    const c = new Reconciler(client)
    const reply = new Reconciler(server).respond(c.initiate())
    expect(Array.from(reply)).toEqual([SYNC_VERSION])
    expect(c.reconcile(reply)).toEqual({ next: null, have: [], need: [] })
  })

  it('reconciles items that all share one timestamp (bounds split on id prefixes)', () => {
    const base = randomItems(5000, 3).map((it) => ({ ts: 42, id: it.id }))
    const client = new SyncItemSet(base.filter((_, i) => i % 97 !== 0))
    const server = new SyncItemSet(base.filter((_, i) => i % 89 !== 0))
    const run = runSync(client, server)
    expect(keys(run.have)).toEqual(keys(base.filter((_, i) => i % 89 === 0 && i % 97 !== 0).map((i) => i.id)))
    expect(keys(run.need)).toEqual(keys(base.filter((_, i) => i % 97 === 0 && i % 89 !== 0).map((i) => i.id)))
  })

  it('pages with a small maxMessageBytes and still converges', () => {
    const items = randomItems(6000, 4)
    const client = new SyncItemSet(items.filter((_, i) => i % 3 !== 0))
    const server = new SyncItemSet(items.filter((_, i) => i % 5 !== 0))
    const opts = { maxMessageBytes: MIN_MAX_MESSAGE_BYTES }
    const run = runSync(client, server, opts)
    expect(run.largest).toBeLessThanOrEqual(MIN_MAX_MESSAGE_BYTES)
    expect(run.rounds).toBeGreaterThan(10) // it really paged
    expect(keys(run.need)).toEqual(keys(items.filter((_, i) => i % 3 === 0 && i % 5 !== 0).map((i) => i.id)))
    expect(keys(run.have)).toEqual(keys(items.filter((_, i) => i % 5 === 0 && i % 3 !== 0).map((i) => i.id)))
  })

  it('100,000 items against a peer missing one: <= 3 round trips, <= 2 kB', () => {
    const items = randomItems(100_000, 6)
    const full = new SyncItemSet(items)
    for (const idx of [0, 31_337, 99_999]) {
      const missing = new SyncItemSet(items)
      missing.remove(items[idx]!)
      for (const [client, server] of [[missing, full], [full, missing]] as const) {
        const run = runSync(client, server)
        expect(run.rounds).toBeLessThanOrEqual(3)
        expect(run.bytes).toBeLessThanOrEqual(2048)
        expect(run.have.length + run.need.length).toBe(1)
        expect(hex((run.have[0] ?? run.need[0])!)).toBe(hex(items[idx]!.id))
      }
    }
  })

  it('offline catch-up costs about one id per missing item', () => {
    const items = randomItems(20_000, 7).sort(compareItems)
    const run = runSync(new SyncItemSet(items.slice(0, 10_000)), new SyncItemSet(items))
    expect(run.need.length).toBe(10_000)
    expect(run.bytes / 10_000).toBeLessThanOrEqual(40)
  })

  it('scattered dense differences: exact, every message within bounds, ids dominate the bytes', () => {
    const items = randomItems(20_000, 11).sort(compareItems)
    const r = rng(12)
    const clientItems = items.filter(() => r() < 0.5)
    const run = runSync(new SyncItemSet(clientItems), new SyncItemSet(items))
    const have = new Set(clientItems.map((i) => hex(i.id)))
    expect(keys(run.need)).toEqual(keys(items.filter((i) => !have.has(hex(i.id))).map((i) => i.id)))
    expect(run.have).toEqual([])
    expect(run.largest).toBeLessThanOrEqual(DEFAULT_MAX_MESSAGE_BYTES)
    // the server lists each id of a differing bucket (~2 per missing item here): 64 bytes/id floor
    expect(run.bytes / run.need.length).toBeLessThanOrEqual(90)
  })

  it('rejects bad options with BAD_ARGUMENT', () => {
    const set = new SyncItemSet()
    expectCode(() => new Reconciler(set, { maxMessageBytes: 100 }), 'BAD_ARGUMENT')
    expectCode(() => new Reconciler(set, { branching: 1 }), 'BAD_ARGUMENT')
    expectCode(() => new Reconciler(set, { idListThreshold: 1 }), 'BAD_ARGUMENT')
    expectCode(() => new Reconciler(set, { firstBranching: 2.5 }), 'BAD_ARGUMENT')
    expectCode(() => new Reconciler({} as SyncItemSet), 'BAD_ARGUMENT')
  })
})

describe('sync message decoder', () => {
  const max = DEFAULT_MAX_MESSAGE_BYTES
  const id = (b: number): Uint8Array => new Uint8Array(32).fill(b)
  const list = (...ids: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(1 + 32 * ids.length)
    out[0] = ids.length
    ids.forEach((x, i) => out.set(x, 1 + 32 * i))
    return out
  }

  it('accepts well-formed messages', () => {
    expect(decodeSyncMessage(Uint8Array.of(SYNC_VERSION), max)).toEqual([])
    const ranges = decodeSyncMessage(rawMessage([[11, Uint8Array.of(7), 0, NONE], [1, Uint8Array.of(8), 1, FP], [0, NONE, 2, list(id(1), id(2))]]), max)
    expect(ranges.map((r) => r.mode)).toEqual(['skip', 'fingerprint', 'idList'])
    expect(ranges[0]!.upper).toEqual({ ts: 10, id: Uint8Array.of(7) })
    expect(ranges[1]!.upper).toEqual({ ts: 10, id: Uint8Array.of(8) })
    expect(ranges[2]!.upper.ts).toBe(Infinity)
  })

  it('rejects each violation with its code', () => {
    expectCode(() => decodeSyncMessage(new Uint8Array(max + 1), max), 'TOO_LARGE')
    expectCode(() => decodeSyncMessage(new Uint8Array(0), max), 'MALFORMED')
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 0, NONE]], 0x61), max), 'BAD_VERSION')
    expectCode(() => decodeSyncMessage(rawMessage([[5, NONE, 0, NONE]]), max), 'MALFORMED') // does not end at infinity
    expectCode(() => decodeSyncMessage(Uint8Array.of(...rawMessage([[0, NONE, 0, NONE]]), 0), max), 'MALFORMED') // trailing byte
    expectCode(() => decodeSyncMessage(rawMessage([[5, NONE, 0, NONE], [1, NONE, 0, NONE], [0, NONE, 0, NONE]]), max), 'MALFORMED') // equal bounds
    expectCode(() => decodeSyncMessage(rawMessage([[5, Uint8Array.of(2), 0, NONE], [1, Uint8Array.of(1), 0, NONE], [0, NONE, 0, NONE]]), max), 'MALFORMED') // decreasing
    expectCode(() => decodeSyncMessage(rawMessage([[1, NONE, 0, NONE], [0, NONE, 0, NONE]]), max), 'MALFORMED') // first bound equals the lowest bound
    expectCode(() => decodeSyncMessage(rawMessage([[0, Uint8Array.of(1), 0, NONE]]), max), 'MALFORMED') // infinite bound with prefix
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 3, NONE]]), max), 'OUT_OF_RANGE') // unknown mode
    expectCode(() => decodeSyncMessage(rawMessage([[1, new Uint8Array(33).fill(1), 0, NONE], [0, NONE, 0, NONE]]), max), 'OUT_OF_RANGE')
    expectCode(() => decodeSyncMessage(rawMessage([[2 ** 53 - 1, NONE, 0, NONE], [3, NONE, 0, NONE], [0, NONE, 0, NONE]]), max), 'OUT_OF_RANGE') // ts past 2^53-1
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 1, FP.subarray(0, 15)]]), max), 'MALFORMED') // short fingerprint
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 2, list(id(1)).subarray(0, 20)]]), max), 'MALFORMED') // short id
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 2, Uint8Array.of(...encodeVarint(1_000_000))]]), max), 'MALFORMED') // count past the end
    expectCode(() => decodeSyncMessage(rawMessage([[0, NONE, 2, list(id(3), id(3))]]), max), 'MALFORMED') // repeated id
    const many: Array<[number, Uint8Array, number, Uint8Array]> = Array.from({ length: MAX_RANGES }, () => [2, NONE, 0, NONE])
    many.push([0, NONE, 0, NONE])
    expectCode(() => decodeSyncMessage(rawMessage(many), max), 'TOO_LARGE')
    expectCode(() => decodeSyncMessage('x' as unknown as Uint8Array, max), 'BAD_ARGUMENT')
  })

  it('Reconciler rejects a message over its maxMessageBytes with TOO_LARGE, before parsing', () => {
    const r = new Reconciler(new SyncItemSet(), { maxMessageBytes: 1024 })
    const big = rawMessage([[0, NONE, 2, list(...Array.from({ length: 40 }, (_, i) => id(i)))]])
    expect(big.length).toBeGreaterThan(1024)
    expectCode(() => r.respond(big), 'TOO_LARGE')
    expectCode(() => r.reconcile(big), 'TOO_LARGE')
  })

  it('throws nothing but PorchlightError on random bytes', () => {
    const set = new SyncItemSet(randomItems(300, 8, 1000))
    const r = new Reconciler(set, { maxMessageBytes: 4096 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, versioned) => {
      if (versioned && bytes.length > 0) bytes[0] = SYNC_VERSION
      for (const fn of [() => r.respond(bytes), () => r.reconcile(bytes)]) {
        try { fn() } catch (err) { expect(isPorchlightError(err), String(err)).toBe(true) }
      }
    }), { numRuns: runs(500) })
  })

  it('answers every well-formed message, whatever its bounds, fingerprints and lists say', () => {
    const items = randomItems(2000, 10, 5000).map((it, i) => (i % 5 === 0 ? { ts: 1_700_000_000_777, id: it.id } : it))
    const set = new SyncItemSet(items)
    const known = Array.from(set)
    const opts = { branching: 3, idListThreshold: 5, maxMessageBytes: 1024 }
    const r = new Reconciler(set, opts)
    const range = fc.record({
      gap: fc.nat({ max: 3000 }), // ts delta from the previous bound
      pick: fc.option(fc.nat(), { nil: undefined }), // or: a bound taken from a stored item
      prefix: fc.uint8Array({ maxLength: 3 }),
      mode: fc.integer({ min: 0, max: 2 }),
      fp: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      ids: fc.array(fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat().map((n) => known[n % known.length]!.id)), { maxLength: 4 })
    })
    fc.assert(fc.property(fc.array(range, { maxLength: 12 }), (spec) => {
      const ranges: Array<[number, Uint8Array, number, Uint8Array]> = []
      let last: SyncItem = { ts: 0, id: new Uint8Array(0) }
      let lastTs = 0
      const payload = (m: number, fp: Uint8Array, ids: Uint8Array[]): Uint8Array => {
        if (m === 0) return NONE
        if (m === 1) return fp
        const uniq = [...new Map(ids.map((x) => [hex(x), x])).values()]
        return Uint8Array.of(uniq.length, ...uniq.flatMap((x) => Array.from(x)))
      }
      for (const x of spec) {
        const bound = x.pick !== undefined
          ? { ts: known[x.pick % known.length]!.ts, id: known[x.pick % known.length]!.id.subarray(0, 1 + (x.pick % 32)) }
          : { ts: last.ts + x.gap, id: x.prefix }
        if (compareItems(last, bound) >= 0) continue
        ranges.push([bound.ts - lastTs + 1, bound.id, x.mode, payload(x.mode, x.fp, x.ids)])
        last = bound
        lastTs = bound.ts
      }
      const tail = spec[0]
      ranges.push([0, NONE, tail?.mode ?? 0, payload(tail?.mode ?? 0, tail?.fp ?? FP, tail?.ids ?? [])])
      const msg = rawMessage(ranges)
      const answer = r.respond(msg)
      expect(answer.length).toBeLessThanOrEqual(1024)
      expect(() => decodeSyncMessage(answer, 1024)).not.toThrow()
      const next = new Reconciler(set, opts).reconcile(msg).next
      if (next !== null) expect(next.length).toBeLessThanOrEqual(1024)
    }), { numRuns: runs(200) })
  })

  it('throws nothing but PorchlightError on mutations of real messages', () => {
    const items = randomItems(800, 9, 2000)
    const client = new SyncItemSet(items.filter((_, i) => i % 4 !== 0))
    const server = new SyncItemSet(items.filter((_, i) => i % 7 !== 0))
    const opts = { branching: 4, idListThreshold: 6, maxMessageBytes: 2048 }
    const c = new Reconciler(client, opts)
    const s = new Reconciler(server, opts)
    const corpus: Uint8Array[] = []
    let msg: Uint8Array | null = c.initiate()
    while (msg !== null && corpus.length < 40) {
      const reply = s.respond(msg)
      corpus.push(msg, reply)
      msg = c.reconcile(reply).next
    }
    const mutation = fc.record({
      which: fc.nat(),
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'cut', 'insert', 'delete'),
      value: fc.integer({ min: 0, max: 255 })
    })
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
      let bytes = Uint8Array.from(corpus[muts[0]!.which % corpus.length]!)
      for (const m of muts) {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length
        if (m.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << (m.value % 8))
        else if (m.kind === 'set') bytes[at] = m.value
        else if (m.kind === 'cut') bytes = bytes.slice(0, at)
        else if (m.kind === 'insert') bytes = Uint8Array.of(...bytes.subarray(0, at), m.value, ...bytes.subarray(at))
        else bytes = Uint8Array.of(...bytes.subarray(0, at), ...bytes.subarray(at + 1))
      }
      for (const fn of [() => s.respond(bytes), () => c.reconcile(bytes)]) {
        try { fn() } catch (err) { expect(isPorchlightError(err), String(err)).toBe(true) }
      }
    }), { numRuns: runs(750) })
  })
})
