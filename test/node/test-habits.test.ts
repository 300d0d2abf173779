// Habits of this test suite that a reviewer would otherwise have to remember: every property
// test takes its run count from test/helpers/fc.ts (modest by default, PORCHLIGHT_FC_RUNS for a
// deep run), so none silently runs fast-check's default or a count of its own.
import { describe, it, expect } from 'vitest'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { runs, DEEP_RUNS } from '../helpers/fc.ts'

const TEST = fileURLToPath(new URL('../', import.meta.url))

describe('test habits', () => {
  it('every fc.assert names its run count through runs()', async () => {
    const missing: string[] = []
    for (const name of await readdir(TEST, { recursive: true })) {
      if (!name.endsWith('.test.ts')) continue
      const text = await readFile(join(TEST, name), 'utf8')
      const asserts = text.split('fc.assert(').length - 1
      const counted = text.split('numRuns: runs(').length - 1
      if (counted < asserts) missing.push(`${name}: ${asserts} fc.assert, ${counted} with runs()`)
    }
    expect(missing).toEqual([])
  })

  it('runs(n) is n unless a deep run asks for more', () => {
    if (DEEP_RUNS === undefined) expect(runs(40)).toBe(40)
    else expect(runs(40)).toBe(Math.max(40, DEEP_RUNS))
  })

  it('toEqual compares byte arrays by content (the fast tester in test/setup.ts)', () => {
    const big = new Uint8Array(4 << 20).fill(7)
    const other = Uint8Array.from(big)
    expect(other).toEqual(big)
    other[other.length - 1] = 8
    expect(other).not.toEqual(big)
    expect(big.subarray(1)).not.toEqual(big)
    expect(Buffer.from([1, 2])).toEqual(new Uint8Array([1, 2]))
    expect({ id: new Uint8Array([1]) }).not.toEqual({ id: new Uint8Array([2]) })
  })
})
