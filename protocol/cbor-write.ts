/**
 * A direct writer for the CBOR Porchlight encodes (RFC 8949 core deterministic form: shortest
 * heads, definite lengths, map keys sorted by encoded length then bytewise), byte for byte what
 * `cborg`'s encode gives for the same plain data. It is what every seal, sign and strict decode
 * runs (decodeCbor re-encodes to check canonical form): cborg builds a token per value and a
 * chunk list before it writes, which made encoding a sixth of a seal; this writes into one
 * reused buffer and copies the result out once.
 *
 * Plain data only: safe integers, strings, booleans, null, Uint8Array, arrays and plain objects
 * (an `undefined` field is left out; `undefined` in an array or at the top is null). Anything
 * else returns undefined, and the caller falls back to cborg (encoding.ts), so unusual values
 * encode exactly as they did. Tests compare the two on random values.
 */

/** Kept between calls; an encoding that outgrows it gets a larger buffer for that call only. */
const SCRATCH_BYTES = 64 * 1024

const scratch = new Uint8Array(SCRATCH_BYTES)
let out = scratch
let n = 0
let busy = false
const textEncoder = new TextEncoder()

/** Thrown inside the writer for a value it does not handle; never leaves this module. */
const UNSUPPORTED = Symbol('unsupported')

/** A structure's domain and version: writeCbor(fields, f, { t, v }) encodes { ...fields, t, v } without the copy. */
export interface StructHead { readonly t: string, readonly v: number }

/**
 * The deterministic encoding of `value`, or undefined if it holds anything but plain data.
 * `onNumber` is called for (and must throw on) a number that is not a safe integer.
 */
export function writeCbor (value: unknown, onNumber: (v: number) => never, struct?: StructHead): Uint8Array | undefined {
  if (busy) return undefined // re-entered (from a getter): leave it to the fallback
  busy = true
  out = scratch
  n = 0
  try {
    if (struct === undefined) write(value, onNumber)
    else if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)) writeMap(value, onNumber, struct)
    else throw UNSUPPORTED
    return out.slice(0, n)
  } catch (err) {
    if (err === UNSUPPORTED) return undefined
    throw err
  } finally {
    busy = false
    out = scratch
  }
}

function room (k: number): void {
  if (n + k <= out.length) return
  const bigger = new Uint8Array(Math.max(out.length * 2, n + k))
  bigger.set(out.subarray(0, n))
  out = bigger
}

function head (major: number, v: number): void {
  room(9)
  const m = major << 5
  if (v < 24) {
    out[n++] = m | v
  } else if (v < 0x100) {
    out[n++] = m | 24
    out[n++] = v
  } else if (v < 0x10000) {
    out[n++] = m | 25
    out[n++] = v >>> 8
    out[n++] = v & 0xff
  } else if (v < 0x1_0000_0000) {
    out[n++] = m | 26
    writeU32(v)
  } else {
    out[n++] = m | 27
    writeU32(Math.floor(v / 0x1_0000_0000))
    writeU32(v >>> 0)
  }
}

function writeU32 (v: number): void {
  out[n++] = v >>> 24
  out[n++] = (v >>> 16) & 0xff
  out[n++] = (v >>> 8) & 0xff
  out[n++] = v & 0xff
}

/** UTF-8 length of `s` as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes); -1 for ASCII. */
export function utf8Length (s: string): number {
  let i = 0
  while (i < s.length && s.charCodeAt(i) < 0x80) i++
  if (i === s.length) return -1
  let len = i
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) len += 1
    else if (c < 0x800) len += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 4
      i++
    } else len += 3
  }
  return len
}

/** Strings at least this long are written by TextEncoder.encodeInto (native) rather than a loop. */
const NATIVE_STRING_CHARS = 32

function writeString (s: string): void {
  if (s.length >= NATIVE_STRING_CHARS) {
    // Room for the longest UTF-8 (3 bytes per UTF-16 unit); the head is sized for the shortest
    // (ASCII) and the bytes moved if the real length needs a longer one.
    const guess = headBytes(s.length)
    room(guess + 3 * s.length + 8)
    const { written } = textEncoder.encodeInto(s, out.subarray(n + guess))
    const need = headBytes(written)
    if (need !== guess) out.copyWithin(n + need, n + guess, n + guess + written)
    head(3, written)
    n += written
    return
  }
  const len = utf8Length(s)
  if (len < 0) {
    head(3, s.length)
    room(s.length)
    for (let i = 0; i < s.length; i++) out[n++] = s.charCodeAt(i)
  } else {
    head(3, len)
    room(len)
    textEncoder.encodeInto(s, out.subarray(n, n + len))
    n += len
  }
}

function headBytes (v: number): number {
  return v < 24 ? 1 : v < 0x100 ? 2 : v < 0x10000 ? 3 : v < 0x1_0000_0000 ? 5 : 9
}

function write (v: unknown, onNumber: (v: number) => never): void {
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v)) onNumber(v)
      if (v >= 0) head(0, v)
      else head(1, -1 - v)
      return
    case 'string':
      writeString(v)
      return
    case 'boolean':
      room(1)
      out[n++] = v ? 0xf5 : 0xf4
      return
    case 'undefined':
      room(1)
      out[n++] = 0xf6
      return
    case 'object':
      if (v === null) {
        room(1)
        out[n++] = 0xf6
      } else if (v instanceof Uint8Array) {
        head(2, v.length)
        room(v.length)
        out.set(v, n)
        n += v.length
      } else if (Array.isArray(v)) {
        head(4, v.length)
        for (const item of v) write(item, onNumber)
      } else {
        writeMap(v, onNumber)
      }
      return
    default:
      throw UNSUPPORTED
  }
}

function writeMap (obj: object, onNumber: (v: number) => never, struct?: StructHead): void {
  const proto = Object.getPrototypeOf(obj)
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED
  const fields = obj as Record<string, unknown>
  const keys: string[] = []
  let ascii = true
  for (const k of Object.keys(fields)) {
    if (fields[k] === undefined || (struct !== undefined && (k === 't' || k === 'v'))) continue
    keys.push(k)
    if (ascii && utf8Length(k) >= 0) ascii = false
  }
  if (struct !== undefined) keys.push('t', 'v')
  if (ascii) {
    // ASCII: UTF-8 length is the string length, and code-unit order is byte order.
    keys.sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0))
  } else {
    const bytes = new Map(keys.map(k => [k, textEncoder.encode(k)]))
    keys.sort((a, b) => compareBytes(bytes.get(a)!, bytes.get(b)!))
  }
  head(5, keys.length)
  for (const k of keys) {
    if (ascii && k.length < 24) {
      room(1 + k.length)
      out[n++] = 0x60 | k.length
      for (let i = 0; i < k.length; i++) out[n++] = k.charCodeAt(i)
    } else {
      writeString(k)
    }
    // A structure's own t and v stand over any fields of those names, as in { ...fields, t, v }.
    write(struct === undefined ? fields[k] : k === 't' ? struct.t : k === 'v' ? struct.v : fields[k], onNumber)
  }
}

/**
 * Writes the head of `major` with argument `v` (a non-negative safe integer) in shortest form
 * at `pos` of `into`, for callers that lay out fixed structures directly; returns the new position.
 */
export function putHead (into: Uint8Array, pos: number, major: number, v: number): number {
  const m = major << 5
  if (v < 24) {
    into[pos++] = m | v
    return pos
  }
  const len = v < 0x100 ? 1 : v < 0x10000 ? 2 : v < 0x1_0000_0000 ? 4 : 8
  into[pos++] = m | (len === 1 ? 24 : len === 2 ? 25 : len === 4 ? 26 : 27)
  for (let i = len - 1; i >= 0; i--) into[pos++] = Math.floor(v / 2 ** (8 * i)) & 0xff
  return pos
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return 0
}
