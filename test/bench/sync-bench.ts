/**
 * History sync benchmark (protocol/reconcile/sync.ts, no network): round trips and bytes both ways of
 * whole reconciliation sessions between two in-memory Reconcilers with default options.
 *
 *  (a) 100,000 items against a peer missing exactly one: worst case over 5 positions of the
 *      missing item x both directions. Baseline: Negentropy's published figure for 1
 *      difference among 1,000,000 items, ~3 round trips and ~1.5 kB (1536 bytes).
 *  (b) offline catch-up: the client has the 10,000 oldest of 20,000 items; bytes per missing
 *      id. Baseline: 40 bytes per missing item (a 32-byte id plus framing).
 *  (c) the same 10,000 missing, scattered at random through the history rather than newest:
 *      reported against the same 40-byte baseline, for honesty (every range differs there).
 *
 * ratio = baseline / value, so higher is better. Items: random 32-byte ids, timestamps spread
 * over 30 days, from a fixed-seed generator so every run measures the same sets.
 *
 * Run alone: npx tsx test/bench/sync-bench.ts
 */
import { Reconciler, SyncItemSet, compareItems, type SyncItem } from '../../protocol/reconcile/sync.ts'
import { rng } from '../helpers/rng.ts'

export interface BenchResult { name: string, value: number, unit: string, baseline: number, ratio: number }

const NEGENTROPY_ROUND_TRIPS = 3
const NEGENTROPY_BYTES = 1536
const BYTES_PER_MISSING_BASELINE = 40
const BIG_SET = 100_000
const CATCH_UP_TOTAL = 20_000
const CATCH_UP_MISSING = 10_000
const SPAN_MS = 30 * 86_400_000
const T0 = 1_700_000_000_000


function randomItems (n: number, seed: number): SyncItem[] {
  const r = rng(seed)
  const out: SyncItem[] = []
  for (let i = 0; i < n; i++) {
    const id = new Uint8Array(32)
    for (let j = 0; j < 32; j++) id[j] = Math.floor(r() * 256)
    out.push({ ts: T0 + Math.floor(r() * SPAN_MS), id })
  }
  return out
}

interface Session { roundTrips: number, bytes: number, have: number, need: number }

function session (client: SyncItemSet, server: SyncItemSet): Session {
  const c = new Reconciler(client)
  const s = new Reconciler(server)
  let msg: Uint8Array | null = c.initiate()
  const out: Session = { roundTrips: 0, bytes: 0, have: 0, need: 0 }
  while (msg !== null) {
    const reply = s.respond(msg)
    out.roundTrips++
    out.bytes += msg.length + reply.length
    const r = c.reconcile(reply)
    out.have += r.have.length
    out.need += r.need.length
    msg = r.next
  }
  return out
}

function row (name: string, value: number, unit: string, baseline: number): BenchResult {
  return { name, value, unit, baseline, ratio: Math.round((baseline / value) * 100) / 100 }
}

export async function benchSync (): Promise<BenchResult[]> {
  // (a) one difference among 100,000
  const items = randomItems(BIG_SET, 1)
  const full = new SyncItemSet(items)
  let worstRt = 0
  let worstBytes = 0
  for (const idx of [0, 12_345, 50_000, 77_777, BIG_SET - 1]) {
    const missing = new SyncItemSet(items)
    missing.remove(items[idx]!)
    for (const [client, server] of [[missing, full], [full, missing]] as const) {
      const s = session(client, server)
      if (s.have + s.need !== 1) throw new Error('sync bench: wrong difference found')
      worstRt = Math.max(worstRt, s.roundTrips)
      worstBytes = Math.max(worstBytes, s.bytes)
    }
  }

  // (b) offline catch-up: the newest half is missing
  const history = randomItems(CATCH_UP_TOTAL, 2).sort(compareItems)
  const server = new SyncItemSet(history)
  const catchUp = session(new SyncItemSet(history.slice(0, CATCH_UP_TOTAL - CATCH_UP_MISSING)), server)
  if (catchUp.need !== CATCH_UP_MISSING) throw new Error('sync bench: catch-up incomplete')

  // (c) the same count missing, scattered
  const r = rng(3)
  const keep = new Set<number>()
  while (keep.size < CATCH_UP_TOTAL - CATCH_UP_MISSING) keep.add(Math.floor(r() * CATCH_UP_TOTAL))
  const scattered = session(new SyncItemSet(history.filter((_, i) => keep.has(i))), server)
  if (scattered.need !== CATCH_UP_MISSING) throw new Error('sync bench: scattered sync incomplete')

  return [
    row('sync 100k vs 1 missing: round trips (worst of 10)', worstRt, 'round trips', NEGENTROPY_ROUND_TRIPS),
    row('sync 100k vs 1 missing: bytes both ways (worst of 10)', worstBytes, 'bytes', NEGENTROPY_BYTES),
    row('sync catch-up 10k newest of 20k missing: bytes per missing id', round2(catchUp.bytes / CATCH_UP_MISSING), 'bytes/id', BYTES_PER_MISSING_BASELINE),
    row('sync 10k scattered of 20k missing: bytes per missing id', round2(scattered.bytes / CATCH_UP_MISSING), 'bytes/id', BYTES_PER_MISSING_BASELINE)
  ]
}

function round2 (x: number): number {
  return Math.round(x * 100) / 100
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  for (const r of await benchSync()) console.log(`${r.name}: ${r.value} ${r.unit} (baseline ${r.baseline}, ratio ${r.ratio})`)
}
