// The feed's context: this week's posts by kind beside the usual week (the median of the 8
// weeks before), or "not enough history yet" for a peer that has not seen 8 whole weeks.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { HISTORY_WEEKS, median, parseWeekKey, WEEK_MS, weekContext, weekKey, weekStart, withCount, type WeekCounts } from '../../protocol/week-counts.ts'

const NOW = Date.UTC(2026, 10, 30, 15, 0) // a Monday afternoon
const THIS_WEEK = Date.UTC(2026, 10, 30)
const weeksAgo = (n: number): number => THIS_WEEK - n * WEEK_MS

describe('weekly counts', () => {
  it('a week starts on Monday 00:00 UTC, and every time falls in its own week', () => {
    expect(weekStart(NOW)).toBe(THIS_WEEK)
    expect(weekStart(Date.UTC(2026, 11, 6, 23, 59))).toBe(THIS_WEEK) // the Sunday after
    expect(weekStart(Date.UTC(2026, 10, 29, 23, 59))).toBe(weeksAgo(1)) // the Sunday before
    fc.assert(fc.property(fc.integer({ min: 0, max: 8.64e15 }), t => {
      const w = weekStart(t)
      expect(w).toBeLessThanOrEqual(t)
      expect(t - w).toBeLessThan(WEEK_MS)
      expect(new Date(w).getUTCDay()).toBe(1)
      expect(new Date(w).getUTCHours()).toBe(0)
    }), { numRuns: runs(200) })
  })

  it('keys sort by neighborhood then week, and read back', () => {
    expect(parseWeekKey(weekKey('ab12', weeksAgo(3)))).toEqual({ hood: 'ab12', week: weeksAgo(3) })
    expect(weekKey('ab', weeksAgo(2)) < weekKey('ab', weeksAgo(1))).toBe(true)
    expect(parseWeekKey('nonsense')).toBeUndefined()
  })

  it('counts go up, and down for a retraction, never below zero', () => {
    let c: WeekCounts | undefined
    c = withCount(c, 'crime', 1)
    c = withCount(c, 'crime', 1)
    c = withCount(c, 'pet', 1)
    c = withCount(c, 'crime', -1)
    expect(c).toEqual({ crime: 1, pet: 1 })
    expect(withCount({ pet: 0 }, 'pet', -1)).toEqual({ pet: 0 })
  })

  it('without 8 whole weeks seen, this week is counted and the usual week is not given', () => {
    const weeks = new Map([[THIS_WEEK, { crime: 3 }], [weeksAgo(1), { crime: 1 }]])
    const ctx = weekContext(weeks, weeksAgo(HISTORY_WEEKS) + 1, NOW)
    expect(ctx).toEqual({ enoughHistory: false, kinds: [{ kind: 'crime', thisWeek: 3 }] })
  })

  it('the usual week is the median of the 8 before, quiet weeks counted as zero', () => {
    // crime: 4 of the 8 weeks had posts (5, 1, 2, 2): sorted 0 0 0 0 1 2 2 5, median (0 + 1) / 2.
    const weeks = new Map<number, WeekCounts>([
      [THIS_WEEK, { crime: 6, pet: 1 }],
      [weeksAgo(1), { crime: 5, info: 2 }], [weeksAgo(2), { crime: 1, info: 2 }], [weeksAgo(3), { crime: 2, info: 2 }],
      [weeksAgo(4), { crime: 2, info: 2 }], [weeksAgo(5), { info: 3 }],
      // Older than the 8 weeks: not counted.
      [weeksAgo(9), { crime: 50 }]
    ])
    const ctx = weekContext(weeks, weeksAgo(HISTORY_WEEKS), NOW)
    expect(ctx.enoughHistory).toBe(true)
    expect(ctx.kinds).toEqual([
      { kind: 'crime', thisWeek: 6, usual: 0.5 },
      { kind: 'pet', thisWeek: 1, usual: 0 },
      { kind: 'info', thisWeek: 0, usual: 2 }
    ])
  })

  it('median', () => {
    expect(median([])).toBe(0)
    expect(median([3])).toBe(3)
    expect(median([4, 1, 3])).toBe(3)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })
})
