/**
 * Clock rules shared by every dated structure (posts, envelopes, announcements, invites,
 * attestations, rekeys). Times are integer ms since the Unix epoch. A structure dated up to
 * MAX_CLOCK_SKEW_MS (5 minutes) ahead of the reader's clock is still accepted, so peers whose
 * clocks run a little fast are not cut off; anything further ahead is FUTURE_DATED.
 */
import { fail } from './errors.ts'

export const MAX_CLOCK_SKEW_MS = 5 * 60_000

/** BAD_ARGUMENT unless a caller's time `n` is a non-negative safe integer (ms). */
export function checkTimeArg (n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) fail('BAD_ARGUMENT', `${what} must be a non-negative integer (ms)`)
}

/** BAD_ARGUMENT unless a caller's lifetime `ttl` is 1..maxTtlMs ms. */
export function checkTtlArg (ttl: number, maxTtlMs: number): void {
  if (!Number.isSafeInteger(ttl) || ttl <= 0 || ttl > maxTtlMs) fail('BAD_ARGUMENT', `ttl must be 1..${maxTtlMs} ms`)
}

/** OUT_OF_RANGE unless created < expires <= created + maxTtlMs (no clock involved). */
export function checkLifetime (created: number, expires: number, maxTtlMs: number, what: string): void {
  if (expires <= created) fail('OUT_OF_RANGE', `${what} expires before it is created`)
  if (expires - created > maxTtlMs) fail('OUT_OF_RANGE', `${what} lifetime exceeds ${maxTtlMs} ms`)
}

/** FUTURE_DATED if `at` is more than MAX_CLOCK_SKEW_MS ahead of `now`. */
export function checkNotFuture (at: number, now: number, what: string): void {
  if (at > now + MAX_CLOCK_SKEW_MS) fail('FUTURE_DATED', `${what} is dated in the future`)
}

/** EXPIRED once expires <= now. */
export function checkNotExpired (expires: number, now: number, what: string): void {
  if (expires <= now) fail('EXPIRED', `${what} has expired`)
}

/** Valid at `now`: FUTURE_DATED (checkNotFuture), then EXPIRED (checkNotExpired). */
export function checkCurrent (created: number, expires: number, now: number, what: string): void {
  checkNotFuture(created, now, what)
  checkNotExpired(expires, now, what)
}
