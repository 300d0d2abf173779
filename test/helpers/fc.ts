/**
 * Run counts of the property tests. Every `fc.assert` names its count through `runs(n)`: `n`
 * is modest, so that `npm test` stays quick. A deep run raises every property to at least N
 * runs (`PORCHLIGHT_FC_RUNS=2000 npm test`) and can replay a failure's seed
 * (`PORCHLIGHT_FC_SEED=…`, printed by fast-check with the counterexample).
 */
import fc from 'fast-check'

function envNumber (name: string): number | undefined {
  const raw = typeof process !== 'undefined' ? process.env[name] : undefined
  if (raw === undefined || raw.trim() === '') return undefined
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`)
  return n
}

/** At least this many runs for every property (unset: each property's own modest count). */
export const DEEP_RUNS = envNumber('PORCHLIGHT_FC_RUNS')
const SEED = typeof process !== 'undefined' && process.env.PORCHLIGHT_FC_SEED !== undefined && process.env.PORCHLIGHT_FC_SEED !== ''
  ? Number(process.env.PORCHLIGHT_FC_SEED)
  : undefined

/** The run count of one property: `n` by default, at least PORCHLIGHT_FC_RUNS on a deep run. */
export function runs (n: number): number {
  return DEEP_RUNS === undefined ? n : Math.max(n, DEEP_RUNS)
}

/**
 * The same for fast-check's own default (a property given no count) and a seed to replay:
 * applied once per test file by the Vitest setup file (test/setup.ts).
 */
export function configureFastCheck (): void {
  fc.configureGlobal({
    numRuns: runs(50),
    ...(SEED !== undefined && Number.isFinite(SEED) ? { seed: SEED } : {})
  })
}
