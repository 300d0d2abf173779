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

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private lastPrune = 0

  constructor (private readonly init: RateInit) {}

  /** Takes one token for `key`; false when the key is over its rate. */
  take (key: string, now = Date.now()): boolean {
    if (now - this.lastPrune > IDLE_DROP_MS) this.prune(now)
    const b = this.buckets.get(key) ?? { tokens: this.init.burst, at: now }
    b.tokens = Math.min(this.init.burst, b.tokens + (now - b.at) / 1000 * this.init.perSecond)
    b.at = now
    const ok = b.tokens >= 1
    if (ok) b.tokens -= 1
    this.buckets.set(key, b)
    return ok
  }

  private prune (now: number): void {
    this.lastPrune = now
    for (const [k, b] of this.buckets) if (now - b.at > IDLE_DROP_MS) this.buckets.delete(k)
  }
}
