// The public-copy sender's parts that need no network: the random delay stays within 0..30 s
// and is not constant, the test knob is capped, and a copy with no relay to take it is
// reported as not sent (signed only after the delay, so it is dated when it goes out).
import { describe, expect, it } from 'vitest'
import { MAX_PUBLIC_DELAY_MS, publicDelayFromEnv, randomPublicDelayMs, sendPublicCopies } from '../../protocol/peer/public-copy.ts'

describe('public copy delay', () => {
  it('is uniform-ish in 0..MAX_PUBLIC_DELAY_MS (30 s)', () => {
    const draws = Array.from({ length: 2000 }, randomPublicDelayMs)
    expect(MAX_PUBLIC_DELAY_MS).toBe(30_000)
    for (const d of draws) {
      expect(Number.isInteger(d)).toBe(true)
      expect(d).toBeGreaterThanOrEqual(0)
      expect(d).toBeLessThanOrEqual(MAX_PUBLIC_DELAY_MS)
    }
    // Spread over the range, not one value: each third of the range gets a fair share.
    for (let third = 0; third < 3; third++) {
      const n = draws.filter(d => Math.floor(d / 10_001) === third).length
      expect(n).toBeGreaterThan(500)
    }
  })

  it('PORCHLIGHT_PUBLIC_DELAY_MS: a non-negative integer, capped at 30 s; anything else means the random default', () => {
    expect(publicDelayFromEnv('0')?.()).toBe(0)
    expect(publicDelayFromEnv('250')?.()).toBe(250)
    expect(publicDelayFromEnv('999999')?.()).toBe(MAX_PUBLIC_DELAY_MS)
    for (const bad of [undefined, '', '-1', '1.5', 'soon']) expect(publicDelayFromEnv(bad)).toBeUndefined()
  })
})

describe('sendPublicCopies', () => {
  it('waits the delay before signing, and reports not sent when no relay is known (no node is started)', async () => {
    const start = Date.now()
    let signedAt = 0
    let nodes = 0
    const { results } = await sendPublicCopies(async () => {
      signedAt = Date.now()
      return [{ topic: '/porchlight/1/area/u4pruy', bytes: new Uint8Array([1]) }]
    }, { relays: [], delayMs: 120, createNode: async () => { nodes++; throw new Error('not expected') } })
    expect(signedAt - start).toBeGreaterThanOrEqual(110)
    expect(nodes).toBe(0)
    expect(results).toHaveLength(1)
    expect(results[0]!.result.ok).toBe(false)
    expect(results[0]!.relay).toBeUndefined()
  })
})
