/**
 * Reading one known canonical CBOR layout directly (the fast paths of the decoders a relay
 * runs on every message: envelope.ts, wire.ts), without the generic decoder's decode and
 * re-encode. A fast path returns undefined on anything unexpected and the generic strict
 * decoder decides; tests check that the two always agree.
 */

/**
 * Reads canonical CBOR (RFC 8949 4.2.1: shortest heads, definite lengths) of a known layout
 * from the start of `b`. Each method returns -1 / undefined / false on anything unexpected.
 */
export class CanonicalReader {
  private pos = 0
  constructor (private readonly b: Uint8Array) {}

  /** Exactly these bytes next. */
  lit (l: Uint8Array): boolean {
    const { b, pos } = this
    if (pos + l.length > b.length) return false
    for (let i = 0; i < l.length; i++) if (b[pos + i] !== l[i]) return false
    this.pos += l.length
    return true
  }

  /** Argument (a safe integer) of a head of `major` in shortest form, or -1. */
  head (major: number): number {
    const { b } = this
    const b0 = b[this.pos]
    if (b0 === undefined || b0 >> 5 !== major) return -1
    this.pos++
    const info = b0 & 31
    if (info < 24) return info
    const len = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0
    if (len === 0 || this.pos + len > b.length) return -1
    let v = 0
    for (let i = 0; i < len; i++) v = v * 256 + b[this.pos++]!
    const shortest = len === 1 ? 24 : 2 ** (4 * len)
    return v < shortest || v > Number.MAX_SAFE_INTEGER ? -1 : v
  }

  /** A copy of the next n bytes, as a plain Uint8Array (even when reading a Node Buffer). */
  take (n: number): Uint8Array | undefined {
    const { b } = this
    if (n < 0 || this.pos + n > b.length) return undefined
    this.pos += n
    return new Uint8Array(b.buffer, b.byteOffset + this.pos - n, n).slice()
  }

  /** The next n bytes as an ASCII string of at most `max` characters. */
  ascii (n: number, max: number): string | undefined {
    if (n > max) return undefined
    const bytes = this.take(n)
    if (bytes === undefined) return undefined
    let s = ''
    for (const c of bytes) {
      if (c >= 0x80) return undefined
      s += String.fromCharCode(c)
    }
    return s
  }

  done (): boolean { return this.pos === this.b.length }

  skip (n: number): void { this.pos += n }
}

/** The bytes of an ASCII string (for the layouts' literal keys). */
export const ascii = (s: string): Uint8Array => Uint8Array.from(s, c => c.charCodeAt(0))
