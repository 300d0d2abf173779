/**
 * One deterministic encoding for everything Porchlight signs, hashes or sends: CBOR in
 * RFC 8949 core deterministic form (shortest integers, definite lengths, map keys sorted
 * bytewise), through `cborg`.
 *
 * Every top-level structure is a CBOR map that carries its own domain and version:
 *   { "t": "<domain>", "v": <version>, ...fields }
 * so the bytes of one structure type can never be mistaken for another's, and what is
 * signed is always `encode(structure without its signature field)`.
 *
 * Decoding is strict: it accepts exactly the bytes `encode` produces for a valid value
 * (the decoded value is re-encoded and must match byte for byte), checks the domain and
 * version, rejects missing and extra fields, wrong types and anything over its bound, and
 * throws only `PorchlightError`.
 */
import { encode as cborEncode, decode as cborDecode } from 'cborg'
import { utf8Length, writeCbor } from './cbor-write.ts'
import { fail, PorchlightError } from './errors.ts'

/** Hard bound on any single encoded structure; individual structures set tighter ones. */
export const MAX_STRUCT_BYTES = 1 << 20

export type CborValue =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | CborValue[]
  | { [key: string]: CborValue | undefined }

export interface StructSpec {
  /** Domain string, e.g. 'pl/post'. */
  readonly domain: string
  readonly version: number
  readonly required: readonly string[]
  readonly optional?: readonly string[]
  /** Bound on the encoded size in bytes. */
  readonly maxBytes: number
}

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: true
} as const

const onlySafeIntegers = (): never => fail('BAD_ARGUMENT', 'only safe integers can be encoded')

/** Encodes any CBOR value deterministically. Optional fields set to `undefined` are left out. */
export function encodeCbor (value: CborValue): Uint8Array {
  return writeCbor(value, onlySafeIntegers) ?? encodeCborGeneric(value)
}

/** The same through cborg: the reference the direct writer (cbor-write.ts) is tested against, and its fallback. */
export function encodeCborGeneric (value: CborValue): Uint8Array {
  return cborEncode(stripUndefined(value))
}

function stripUndefined (value: CborValue | undefined): CborValue {
  if (value === undefined) return null
  // Only integers exist in Porchlight CBOR; a float would encode into bytes decode rejects.
  if (typeof value === 'number' && !Number.isSafeInteger(value)) fail('BAD_ARGUMENT', 'only safe integers can be encoded')
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(stripUndefined)
  // Null prototype: a "__proto__" key must stay a key, not silently replace the prototype.
  const out: Record<string, CborValue> = Object.create(null)
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = stripUndefined(v)
  }
  return out
}

/** Encodes a structure with its domain and version. */
export function encodeStruct (spec: StructSpec, fields: Record<string, CborValue | undefined>): Uint8Array {
  const bytes = writeCbor(fields, onlySafeIntegers, { t: spec.domain, v: spec.version }) ??
    encodeCbor({ ...fields, t: spec.domain, v: spec.version })
  if (bytes.length > spec.maxBytes) {
    fail('TOO_LARGE', `${spec.domain}: ${bytes.length} bytes exceeds ${spec.maxBytes}`)
  }
  return bytes
}

/** Decodes CBOR strictly; the bytes must be the canonical encoding of what they decode to. */
export function decodeCbor (bytes: Uint8Array, maxBytes = MAX_STRUCT_BYTES): unknown {
  if (!(bytes instanceof Uint8Array)) fail('WRONG_TYPE', 'expected bytes')
  if (bytes.length > maxBytes) fail('TOO_LARGE', `${bytes.length} bytes exceeds ${maxBytes}`)
  if (bytes.length === 0) fail('MALFORMED', 'empty input')
  let value: unknown
  try {
    value = cborDecode(bytes, DECODE_OPTIONS)
  } catch (err) {
    fail('MALFORMED', `invalid CBOR: ${(err as Error).message}`, err)
  }
  let again: Uint8Array
  try {
    const plain = toPlain(value)
    again = writeCbor(plain, onlySafeIntegers) ?? cborEncode(plain)
  } catch (err) {
    if (err instanceof PorchlightError) throw err
    fail('MALFORMED', 'value cannot be re-encoded', err)
  }
  if (!equalBytes(again, bytes)) fail('MALFORMED', 'non-canonical CBOR encoding')
  return value
}

/** Converts decoded Maps back to plain objects for re-encoding; keys must be strings. */
function toPlain (value: unknown): CborValue {
  if (value instanceof Map) {
    const out: Record<string, CborValue> = Object.create(null)
    for (const [k, v] of value) {
      if (typeof k !== 'string') fail('WRONG_TYPE', 'map keys must be text strings')
      out[k] = toPlain(v)
    }
    return out
  }
  if (Array.isArray(value)) return value.map(toPlain)
  if (typeof value === 'number' && !Number.isSafeInteger(value)) fail('MALFORMED', 'floats are not allowed')
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ||
      value === null || value instanceof Uint8Array) return value
  fail('WRONG_TYPE', `unsupported CBOR value of type ${typeof value}`)
}

/** Decodes a top-level structure: checks domain, version, field set and size. */
export function decodeStruct (spec: StructSpec, bytes: Uint8Array): Fields {
  const value = decodeCbor(bytes, spec.maxBytes)
  if (!(value instanceof Map)) fail('WRONG_TYPE', `${spec.domain}: expected a map`)
  const domain = value.get('t')
  if (domain !== spec.domain) {
    fail('BAD_DOMAIN', `expected ${spec.domain}, got ${typeof domain === 'string' ? domain.slice(0, 40) : typeof domain}`)
  }
  const version = value.get('v')
  if (version !== spec.version) fail('BAD_VERSION', `${spec.domain}: unsupported version ${String(version)}`)
  return new Fields(spec.domain, value, ['t', 'v', ...spec.required], spec.optional ?? [])
}

/**
 * Typed, bounded access to the fields of one decoded map. Constructed only after the
 * field set is checked, so every getter either returns a valid value or throws
 * `PorchlightError`.
 */
export class Fields {
  constructor (
    readonly where: string,
    private readonly map: Map<unknown, unknown>,
    required: readonly string[],
    optional: readonly string[]
  ) {
    for (const key of required) {
      if (!map.has(key)) fail('MISSING_FIELD', `${where}: missing field "${key}"`)
    }
    for (const key of map.keys()) {
      if (typeof key !== 'string') fail('WRONG_TYPE', `${where}: map keys must be strings`)
      if (!required.includes(key) && !optional.includes(key)) {
        fail('EXTRA_FIELD', `${where}: unexpected field "${key.slice(0, 40)}"`)
      }
    }
  }

  has (key: string): boolean { return this.map.has(key) }

  bytes (key: string, bound: { len?: number, max?: number, min?: number }): Uint8Array {
    return checkBytes(this.map.get(key), `${this.where}.${key}`, bound)
  }

  optBytes (key: string, bound: { len?: number, max?: number, min?: number }): Uint8Array | undefined {
    return this.has(key) ? this.bytes(key, bound) : undefined
  }

  string (key: string, maxBytes: number, minBytes = 0): string {
    return checkString(this.map.get(key), `${this.where}.${key}`, maxBytes, minBytes)
  }

  optString (key: string, maxBytes: number, minBytes = 0): string | undefined {
    return this.has(key) ? this.string(key, maxBytes, minBytes) : undefined
  }

  uint (key: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
    return checkUint(this.map.get(key), `${this.where}.${key}`, max, min)
  }

  optUint (key: string, max = Number.MAX_SAFE_INTEGER, min = 0): number | undefined {
    return this.has(key) ? this.uint(key, max, min) : undefined
  }

  bool (key: string): boolean {
    const v = this.map.get(key)
    if (typeof v !== 'boolean') fail('WRONG_TYPE', `${this.where}.${key}: expected a boolean`)
    return v
  }

  oneOf<T extends string> (key: string, values: readonly T[]): T {
    const v = this.string(key, 64)
    if (!(values as readonly string[]).includes(v)) fail('OUT_OF_RANGE', `${this.where}.${key}: unknown value "${v}"`)
    return v as T
  }

  /** An array of at most `max` items, each read by `item`. */
  array<T> (key: string, max: number, item: (value: Item, index: number) => T): T[] {
    const v = this.map.get(key)
    if (!Array.isArray(v)) fail('WRONG_TYPE', `${this.where}.${key}: expected an array`)
    if (v.length > max) fail('TOO_LARGE', `${this.where}.${key}: ${v.length} items exceeds ${max}`)
    return v.map((x, i) => item(new Item(`${this.where}.${key}[${i}]`, x), i))
  }

  optArray<T> (key: string, max: number, item: (value: Item, index: number) => T): T[] | undefined {
    return this.has(key) ? this.array(key, max, item) : undefined
  }

  /** A nested map (no domain or version of its own). */
  record (key: string, required: readonly string[], optional: readonly string[] = []): Fields {
    return new Item(`${this.where}.${key}`, this.map.get(key)).record(required, optional)
  }
}

/** One array element, read with the same checks as a field. */
export class Item {
  constructor (readonly where: string, private readonly value: unknown) {}

  bytes (bound: { len?: number, max?: number, min?: number }): Uint8Array {
    return checkBytes(this.value, this.where, bound)
  }

  string (maxBytes: number, minBytes = 0): string {
    return checkString(this.value, this.where, maxBytes, minBytes)
  }

  uint (max = Number.MAX_SAFE_INTEGER, min = 0): number {
    return checkUint(this.value, this.where, max, min)
  }

  record (required: readonly string[], optional: readonly string[] = []): Fields {
    if (!(this.value instanceof Map)) fail('WRONG_TYPE', `${this.where}: expected a map`)
    return new Fields(this.where, this.value, required, optional)
  }
}

const utf8 = new TextEncoder()
const utf8Strict = new TextDecoder('utf-8', { fatal: true })

function checkBytes (v: unknown, where: string, bound: { len?: number, max?: number, min?: number }): Uint8Array {
  if (!(v instanceof Uint8Array)) fail('WRONG_TYPE', `${where}: expected bytes`)
  if (bound.len !== undefined && v.length !== bound.len) {
    fail('BAD_LENGTH', `${where}: expected ${bound.len} bytes, got ${v.length}`)
  }
  if (bound.max !== undefined && v.length > bound.max) fail('TOO_LARGE', `${where}: ${v.length} bytes exceeds ${bound.max}`)
  if (bound.min !== undefined && v.length < bound.min) fail('BAD_LENGTH', `${where}: fewer than ${bound.min} bytes`)
  return v
}

function checkString (v: unknown, where: string, maxBytes: number, minBytes: number): string {
  if (typeof v !== 'string') fail('WRONG_TYPE', `${where}: expected a string`)
  const n = utf8ByteLength(v)
  if (n > maxBytes) fail('TOO_LARGE', `${where}: ${n} bytes exceeds ${maxBytes}`)
  if (n < minBytes) fail('OUT_OF_RANGE', `${where}: shorter than ${minBytes} bytes`)
  return v
}

function checkUint (v: unknown, where: string, max: number, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail('WRONG_TYPE', `${where}: expected an integer`)
  if (v < min || v > max) fail('OUT_OF_RANGE', `${where}: ${v} outside [${min}, ${max}]`)
  return v
}

export function utf8Bytes (s: string): Uint8Array { return utf8.encode(s) }

/** utf8Bytes(s).length, without making the bytes. */
export function utf8ByteLength (s: string): number {
  const n = utf8Length(s)
  return n < 0 ? s.length : n
}

/** Decodes UTF-8 strictly (invalid sequences are an error, not U+FFFD). */
export function utf8String (bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes)
  } catch (err) {
    fail('MALFORMED', 'invalid UTF-8', err)
  }
}

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  return concatAll(parts)
}

/** Joins any number of byte arrays (an array, so thousands of parts need no spread). */
export function concatAll (parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let off = 0
  for (const p of parts) { out.set(p, off); off += p.length }
  return out
}

/** Does `haystack` contain `needle` anywhere? Used by tests that check bytes for leaks. */
export function containsBytes (haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return true
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

/** Two hex digits for each byte value (toHex runs several times per message a relay takes). */
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX_BYTE[bytes[i]!]!
  return s
}

export function fromHex (hex: string, where = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    fail('MALFORMED', `${where}: not a hex string`)
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** base64url without padding: for invites and tokens that live in URLs. */
export function toBase64Url (bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!
  }
  return out
}

export function fromBase64Url (s: string, maxChars = 1 << 16): Uint8Array {
  if (typeof s !== 'string') fail('WRONG_TYPE', 'expected a base64url string')
  if (s.length > maxChars) fail('TOO_LARGE', `base64url string longer than ${maxChars}`)
  if (s.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(s)) fail('MALFORMED', 'not a base64url string')
  const out = new Uint8Array(Math.floor(s.length * 3 / 4))
  let o = 0
  let acc = 0
  let bits = 0
  for (const ch of s) {
    acc = (acc << 6) | B64URL.indexOf(ch)
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  // Canonical form only: leftover bits must be zero, so each byte string has one spelling.
  if ((acc & ((1 << bits) - 1)) !== 0) fail('MALFORMED', 'non-canonical base64url')
  return out
}

/**
 * The domain (`t`) of an encoded structure, to dispatch on. Bounded and throws only
 * PorchlightError, but skips the canonical-form check: every caller hands the bytes to the
 * chosen structure's strict decoder next, which makes it (so it is not done twice). For the
 * same reason a canonical start (canonicalDomain) is read without decoding the rest.
 */
export function peekDomain (bytes: Uint8Array, maxBytes = MAX_STRUCT_BYTES): string {
  if (!(bytes instanceof Uint8Array)) fail('WRONG_TYPE', 'expected bytes')
  if (bytes.length > maxBytes) fail('TOO_LARGE', `${bytes.length} bytes exceeds ${maxBytes}`)
  if (bytes.length === 0) fail('MALFORMED', 'empty input')
  const fast = canonicalDomain(bytes)
  if (fast !== undefined) return fast
  let value: unknown
  try {
    value = cborDecode(bytes, DECODE_OPTIONS)
  } catch (err) {
    fail('MALFORMED', `invalid CBOR: ${(err as Error).message}`, err)
  }
  const t = value instanceof Map ? value.get('t') : undefined
  if (typeof t !== 'string') fail('MALFORMED', 'not a Porchlight structure')
  return t
}

/**
 * How every canonical structure starts: a map head (2 to 23 entries: "t", "v" and fields),
 * then "t" (the shortest key sorts first) and the domain, printable ASCII under 24 bytes.
 * The domain then, without decoding the rest (a relay peeks at every message it takes, and
 * its strict decoder reads the whole next); undefined for any other start.
 */
function canonicalDomain (b: Uint8Array): string | undefined {
  if (b.length < 5 || b[0]! < 0xa2 || b[0]! > 0xb7 || b[1] !== 0x61 || b[2] !== 0x74) return undefined
  const n = b[3]! - 0x60
  if (n < 1 || n > 23 || 4 + n > b.length) return undefined
  let s = ''
  for (let i = 4; i < 4 + n; i++) {
    const c = b[i]!
    if (c < 0x20 || c > 0x7e) return undefined
    s += String.fromCharCode(c)
  }
  return s
}
