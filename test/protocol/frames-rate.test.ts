// Length-prefixed frames on a stream (protocol/peer/frames.ts) over an in-memory stream pair,
// and the token-bucket rate limiter (protocol/peer/rate-limit.ts) on an explicit clock.
import { describe, it, expect, vi } from 'vitest'
import { streamPair } from '@libp2p/utils'
import { Frames, lengthPrefixBytes } from '../../protocol/peer/frames.ts'
import { RateLimiter } from '../../protocol/peer/rate-limit.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { equalBytes } from '../../protocol/encoding.ts'

async function code (p: Promise<unknown>): Promise<string> {
  try { await p } catch (err) { expect(isPorchlightError(err), String(err)).toBe(true); return (err as { code: string }).code }
  throw new Error('expected a refusal')
}

describe('Frames', () => {
  it('carries frames of any size up to the bound, in order, byte for byte', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const out = new Frames(a, 5_000)
    const inn = new Frames(b, 5_000, 200_000)
    const sizes = [1, 0x7f, 0x80, 0x3fff, 0x4000, 200_000]
    const sent = sizes.map((n, i) => new Uint8Array(n).fill(i + 1))
    const writing = (async () => { for (const f of sent) await out.write(f); await out.close() })()
    for (const f of sent) {
      const got = await inn.read()
      expect(got.length).toBe(f.length)
      expect(equalBytes(got, f)).toBe(true) // (toEqual walks a large array element by element: seconds)
    }
    expect(await inn.readOrEnd()).toBeNull()
    await writing
  })

  it('readOrEnd: null only for a clean end between frames; an end inside a frame is an error', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const inn = new Frames(b, 5_000)
    // A length prefix that promises 10 bytes, then 3 of them, then the end.
    a.send(Uint8Array.of(10, 1, 2, 3))
    await a.close()
    expect(await code(inn.readOrEnd())).toBe('UNAVAILABLE')
  })

  it('a silent peer is TIMEOUT after the frame deadline', async () => {
    const [, b] = await streamPair({ delay: 0 })
    const started = Date.now()
    expect(await code(new Frames(b, 50).read())).toBe('TIMEOUT')
    expect(Date.now() - started).toBeGreaterThanOrEqual(40)
  })

  it('one deadline per stream, re-armed per frame: no AbortSignal.timeout (and its timer) per frame', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const timeout = vi.spyOn(AbortSignal, 'timeout')
    try {
      const out = new Frames(a, 5_000)
      const inn = new Frames(b, 5_000)
      for (let i = 0; i < 50; i++) {
        await out.write(Uint8Array.of(i))
        expect((await inn.read())[0]).toBe(i)
      }
      expect(timeout).not.toHaveBeenCalled()
    } finally {
      timeout.mockRestore()
    }
  })

  it('each frame gets the whole deadline: frames arriving just inside it never time out; a later read after a TIMEOUT has its own', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const out = new Frames(a, 5_000)
    const inn = new Frames(b, 120)
    for (let i = 0; i < 4; i++) {
      setTimeout(() => { void out.write(Uint8Array.of(i)) }, 80)
      expect((await inn.read())[0]).toBe(i)
    }
    expect(await code(inn.read())).toBe('TIMEOUT')
    setTimeout(() => { void out.write(Uint8Array.of(9)) }, 30)
    expect((await inn.read())[0]).toBe(9)
  })

  it('a frame over the bound is TOO_LARGE from its length prefix, before its body arrives', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const inn = new Frames(b, 5_000, 1000)
    a.send(Uint8Array.of(0xe9, 0x07)) // varint 1001, and no body at all
    expect(await code(inn.read())).toBe('TOO_LARGE')
  })

  it('tells its lease when a read starts and how many bytes each frame took, prefix included', async () => {
    const [a, b] = await streamPair({ delay: 0 })
    const events: string[] = []
    const lease = { startRead: () => { events.push('start') }, endRead: (n: number) => { events.push(`end ${n}`) }, finish: () => { events.push('finish') } }
    const inn = new Frames(b, 100, 100_000, lease)
    const out = new Frames(a, 5_000)
    await out.write(new Uint8Array(5))
    await out.write(new Uint8Array(300))
    await inn.read()
    await inn.read()
    await code(inn.read()) // times out: no bytes counted
    await inn.close()
    expect(events).toEqual(['start', 'end 6', 'start', 'end 302', 'start', 'end 0', 'finish'])
  })

  it('writing to an aborted stream is UNAVAILABLE', async () => {
    const [a] = await streamPair({ delay: 0 })
    const out = new Frames(a, 1_000)
    out.abort('gone')
    expect(await code(out.write(new Uint8Array(3)))).toBe('UNAVAILABLE')
  })

  it('lengthPrefixBytes is the unsigned varint length', () => {
    expect([0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152].map(lengthPrefixBytes)).toEqual([1, 1, 1, 2, 2, 3, 3, 4])
  })
})

describe('RateLimiter', () => {
  const T = 1_000_000

  it('allows a burst, then refuses until tokens come back at the sustained rate', () => {
    const r = new RateLimiter({ perSecond: 2, burst: 5 })
    for (let i = 0; i < 5; i++) expect(r.take('a', T)).toBe(true)
    expect(r.take('a', T)).toBe(false)
    expect(r.take('a', T + 499)).toBe(false) // 0.998 of a token
    expect(r.take('a', T + 500)).toBe(true)
    expect(r.take('a', T + 500)).toBe(false)
    // A long pause refills to the burst, never beyond it.
    for (let i = 0; i < 5; i++) expect(r.take('a', T + 3_600_000)).toBe(true)
    expect(r.take('a', T + 3_600_000)).toBe(false)
  })

  it('keys are independent', () => {
    const r = new RateLimiter({ perSecond: 1, burst: 1 })
    expect(r.take('a', T)).toBe(true)
    expect(r.take('a', T)).toBe(false)
    expect(r.take('b', T)).toBe(true)
  })

  it('a refused take costs nothing: the sustained rate still gets through', () => {
    const r = new RateLimiter({ perSecond: 10, burst: 1 })
    let ok = 0
    // 100 attempts per second for 10 seconds: exactly one every 100 ms passes (the first from
    // the burst), however the tenths of a token add up.
    for (let ms = 0; ms < 10_000; ms += 10) if (r.take('k', T + ms)) ok++
    expect(ok).toBe(100)
  })

  it('keys idle for long are dropped and come back with a full burst', () => {
    const r = new RateLimiter({ perSecond: 0.001, burst: 2 })
    expect(r.take('a', T)).toBe(true)
    expect(r.take('a', T)).toBe(true)
    expect(r.take('a', T + 1000)).toBe(false)
    // Many keys once, then nothing for an hour: the limiter still answers (and has pruned).
    for (let i = 0; i < 10_000; i++) r.take(`k${i}`, T + 2000)
    expect(r.take('a', T + 3_600_000)).toBe(true)
    expect(r.take('k1', T + 3_600_000)).toBe(true)
  })
})
