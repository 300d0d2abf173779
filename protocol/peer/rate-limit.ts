/**
 * Token-bucket rate limits keyed by peer or author. Buckets idle for a while are dropped so
 * the map stays bounded by the number of recently active keys.
 */
export interface RateInit {
  /** Sustained rate, events per second. */
  perSecond: number
  /** Burst size. */
  burst: number
}

const IDLE_DROP_MS = 10 * 60_000
/**
 * Tokens are counted in thousandths, refilled by whole milliseconds: integer arithmetic, so a
 * rate of 10/s gives exactly 10 a second (summed tenths in floating point fell just short of 1).
 */
const MILLI = 1000

export class RateLimiter {
  /** `tokens` in thousandths of a token. */
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private lastPrune = 0

  constructor (private readonly init: RateInit) {}

  /** Takes one token for `key`; false when the key is over its rate. */
  take (key: string, now = Date.now()): boolean {
    if (now - this.lastPrune > IDLE_DROP_MS) this.prune(now)
    const b = this.buckets.get(key) ?? { tokens: this.init.burst * MILLI, at: now }
    b.tokens = Math.min(this.init.burst * MILLI, b.tokens + Math.round((now - b.at) * this.init.perSecond))
    b.at = now
    const ok = b.tokens >= MILLI
    if (ok) b.tokens -= MILLI
    this.buckets.set(key, b)
    return ok
  }

  private prune (now: number): void {
    this.lastPrune = now
    for (const [k, b] of this.buckets) if (now - b.at > IDLE_DROP_MS) this.buckets.delete(k)
  }
}
