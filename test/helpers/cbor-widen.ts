/**
 * Test helper for strict decoders: makes valid deterministic CBOR non-canonical by writing one
 * head (the integer, or the string's length, after a map key) in a longer form than it needs.
 */

/** The first index of `needle` in `hay`, or -1. */
export function indexOfBytes (hay: Uint8Array, needle: readonly number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** `b` with the head after the map key `key` re-encoded `extra` or more bytes longer (`b` itself if the key is absent or the head is already 8 bytes). */
export function widenHead (b: Uint8Array, key: string, extra: number): Uint8Array {
  const at = indexOfBytes(b, [0x60 + key.length, ...new TextEncoder().encode(key)])
  if (at < 0) return b
  const i = at + 1 + key.length
  const info = b[i]! & 31
  const len = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 8
  let v = info < 24 ? info : 0
  for (let j = 1; j <= len; j++) v = v * 256 + b[i + j]!
  const newLen = [1, 2, 4, 8].find(n => n > len && n >= len + extra) ?? 8
  if (newLen <= len) return b
  const head = [(b[i]! & 0xe0) | (newLen === 1 ? 24 : newLen === 2 ? 25 : newLen === 4 ? 26 : 27)]
  for (let j = newLen - 1; j >= 0; j--) head.push(Math.floor(v / 2 ** (8 * j)) & 0xff)
  return new Uint8Array([...b.subarray(0, i), ...head, ...b.subarray(i + 1 + len)])
}
