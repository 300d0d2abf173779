/**
 * Benchmark results and how they are measured and reported.
 *
 * Every workload is reported beside a baseline measured in the same run (see
 * /work/shared/BENCH.md), as `{ name, value, unit, baseline, ratio }`. `ratio` is always
 * "higher is better": value / baseline for rates, baseline / value for times; the unit
 * string says which, e.g. "ops/s (ratio = value/baseline)" or "ms (ratio = baseline/value)".
 */
import { writeFileSync } from 'node:fs'

/** One row of the report. `baseline`/`ratio` are null only for a workload with no baseline. */
export interface Workload {
  name: string
  value: number
  unit: string
  baseline: number | null
  ratio: number | null
}

/** A rate (ops/s, MB/s…: higher is better) beside its baseline rate. */
export function rateWorkload (name: string, value: number, unit: string, baseline: number | null): Workload {
  return {
    name,
    value: round(value),
    unit: `${unit} (ratio = value/baseline)`,
    baseline: baseline === null ? null : round(baseline),
    ratio: baseline === null || baseline === 0 ? null : round(value / baseline, 3)
  }
}

/** A time or a size (ms, s, bytes…: lower is better) beside its baseline. */
export function costWorkload (name: string, value: number, unit: string, baseline: number | null): Workload {
  return {
    name,
    value: round(value),
    unit: `${unit} (ratio = baseline/value)`,
    baseline: baseline === null ? null : round(baseline),
    ratio: baseline === null || value === 0 ? null : round(baseline / value, 3)
  }
}

/** Rounds to 4 significant digits (at least `decimals` places are kept for small values). */
function round (x: number, decimals = 1): number {
  if (!Number.isFinite(x)) return x
  const digits = Math.max(decimals, 3 - Math.floor(Math.log10(Math.abs(x) || 1)))
  return Number(x.toFixed(Math.min(digits, 6)))
}

export interface TimeBox {
  /** Untimed runs first, so the JIT and any key caches are warm. Default 300 ms. */
  warmupMs?: number
  /** Timed slices per function, interleaved with the other functions'. Default 3. */
  rounds?: number
  /** Length of one timed slice. Default 500 ms. */
  sliceMs?: number
}

const DEFAULT_WARMUP_MS = 300
const DEFAULT_ROUNDS = 3
const DEFAULT_SLICE_MS = 500
/** Operations run between clock reads, so reading the clock costs nothing measurable. */
const BATCH = 8

/**
 * Measures the rate (ops/s) of each function in time-boxed slices, interleaved
 * (A B A B A B), so a noisy neighbour slows workload and baseline alike. Each call is awaited
 * before the next, so async functions are measured one operation at a time.
 */
export async function measureRates (fns: ReadonlyArray<() => unknown>, box: TimeBox = {}): Promise<number[]> {
  const warmupMs = box.warmupMs ?? DEFAULT_WARMUP_MS
  const rounds = box.rounds ?? DEFAULT_ROUNDS
  const sliceMs = box.sliceMs ?? DEFAULT_SLICE_MS
  for (const fn of fns) await runFor(fn, warmupMs)
  const ops = fns.map(() => 0)
  const time = fns.map(() => 0)
  for (let r = 0; r < rounds; r++) {
    for (const [i, fn] of fns.entries()) {
      const { n, ms } = await runFor(fn, sliceMs)
      ops[i]! += n
      time[i]! += ms
    }
  }
  return ops.map((n, i) => n / (time[i]! / 1000))
}

async function runFor (fn: () => unknown, ms: number): Promise<{ n: number, ms: number }> {
  const start = performance.now()
  const end = start + ms
  let n = 0
  let now = start
  while (now < end) {
    for (let i = 0; i < BATCH; i++) await fn()
    n += BATCH
    now = performance.now()
  }
  return { n, ms: now - start }
}

export function formatTable (rows: readonly Workload[]): string {
  const header = ['workload', 'value', 'baseline', 'ratio', 'unit']
  const cells = rows.map(w => [w.name, fmt(w.value), w.baseline === null ? '—' : fmt(w.baseline), w.ratio === null ? '—' : w.ratio.toFixed(3), w.unit])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map(c => c[i]!.length)))
  const line = (c: string[]): string => c.map((x, i) => (i === 0 || i === 4 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ').trimEnd()
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

function fmt (x: number): string {
  return x.toLocaleString('en-US', { maximumFractionDigits: x < 10 ? 3 : x < 1000 ? 1 : 0 })
}

export function writeJson (file: string, rows: readonly Workload[]): void {
  writeFileSync(file, `${JSON.stringify({ workloads: rows }, null, 2)}\n`)
}
