/**
 * Shared fixtures for the protocol tests: what a call comes to (the PorchlightError code it is
 * refused with, or accepted), single-bit flips and random edits of encoded bytes, and the
 * neighborhood most tests run in. Each test file keeps its own assertions; these only hand
 * it inputs and outcomes.
 */
import fc from 'fast-check'
import { randomBytes } from '../../protocol/crypto.ts'
import { type ErrorCode, PorchlightError } from '../../protocol/errors.ts'
import type { Identity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, type EpochKeys, type Neighborhood, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'

// ---- what a call comes to ----

/** The code of a PorchlightError; anything else thrown fails the test as it is. */
function codeOrRethrow (err: unknown): ErrorCode {
  if (err instanceof PorchlightError) return err.code
  throw err
}

/** The code of the PorchlightError `fn` throws, or `accepted` when it returns; any other exception fails the test. */
export function outcomeSync<A extends string> (fn: () => unknown, accepted: A): ErrorCode | A {
  try {
    fn()
    return accepted
  } catch (err) {
    return codeOrRethrow(err)
  }
}

/** outcomeSync for a call that may return a promise. */
export async function outcome<A extends string> (fn: () => Promise<unknown> | unknown, accepted: A): Promise<ErrorCode | A> {
  try {
    await fn()
    return accepted
  } catch (err) {
    return codeOrRethrow(err)
  }
}

/** The code `fn` is refused with, or 'accepted'. */
export async function codeOrAccepted (fn: () => Promise<unknown> | unknown): Promise<ErrorCode | 'accepted'> {
  return outcome(fn, 'accepted')
}

/** The code of a PorchlightError; anything else thrown fails the test with what it was. */
function refusalCode (err: unknown): ErrorCode {
  if (err instanceof PorchlightError) return err.code
  throw new Error(`expected PorchlightError, got ${String(err)}`, { cause: err })
}

/** The code `fn` is refused with; fails the test when it succeeds or throws anything but a PorchlightError. */
export async function rejection (fn: () => Promise<unknown> | unknown): Promise<ErrorCode> {
  let result: unknown
  try {
    result = await fn()
  } catch (err) {
    return refusalCode(err)
  }
  throw new Error(`expected a PorchlightError, but it succeeded: ${String(result)}`)
}

/** rejection for a synchronous call. */
export function rejectionSync (fn: () => unknown): ErrorCode {
  try {
    fn()
  } catch (err) {
    return refusalCode(err)
  }
  throw new Error('expected a PorchlightError, but nothing was thrown')
}

// ---- mutated bytes ----

/** Each copy of `bytes` with one bit changed (bit i % 8 of byte i), at every position i. */
export function* flips (bytes: Uint8Array): Generator<[number, Uint8Array]> {
  for (let i = 0; i < bytes.length; i++) {
    const copy = new Uint8Array(bytes) // a copy: cborg hands out Buffers, whose slice() is a view
    copy[i]! ^= 1 << (i % 8)
    yield [i, copy]
  }
}

/** A copy of `bytes` with bit `bit` (0..7) of byte `pos % length` flipped, for fc.nat() positions. */
export function flipBit (bytes: Uint8Array, pos: number, bit: number): Uint8Array {
  const b = new Uint8Array(bytes) // a copy: a Buffer's slice() would share memory
  b[pos % b.length]! ^= 1 << bit
  return b
}

/** One edit of a byte string: set or insert `value` at `pos`, or delete the byte there. */
export type ByteEdit = [pos: number, value: number, op: 'set' | 'insert' | 'delete']

/** 1..maxEdits random byte edits at any position (applyEdits takes positions modulo the length). */
export function byteEdits (maxEdits = 4): fc.Arbitrary<ByteEdit[]> {
  return fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set' as const, 'insert' as const, 'delete' as const)), { minLength: 1, maxLength: maxEdits })
}

/** A copy of `bytes` with the edits applied in order; each position is taken modulo length + 1. */
export function applyEdits (bytes: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  const b = Array.from(bytes)
  for (const [pos, v, op] of edits) {
    const i = pos % (b.length + 1)
    if (op === 'set' && i < b.length) b[i] = v
    else if (op === 'insert') b.splice(i, 0, v)
    else b.splice(i, 1)
  }
  return Uint8Array.from(b)
}

// ---- neighborhoods ----

export const HOOD_NAME = 'Maple Street Watch'
export const HOOD_AREA = '9q8yyk'

/** A neighborhood founded by `admin` (its one admin) with a fresh salt, HOOD_NAME in HOOD_AREA. */
export function testHood (admin: Identity): Neighborhood {
  return createNeighborhood(HOOD_NAME, HOOD_AREA, admin.public.signKey)
}

/** The keys of `epoch` in `hood`, from a fresh random secret. */
export function freshEpochKeys (hood: Neighborhood, epoch: number): EpochKeys {
  return deriveEpochKeys(hood.id, epoch, newEpochSecret())
}

/** The private topic of a random neighborhood id. */
export function randomPrivateTopic (): string {
  return privateTopic(randomBytes(32))
}
