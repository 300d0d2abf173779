/**
 * decodePushRequest's fast path (wire.ts: the canonical layout read directly, as a relay does
 * for every push) against the generic strict decoder, on valid, mutated and non-canonical bytes.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { decodeStruct, encodeCbor, type StructSpec, toHex } from '../../protocol/encoding.ts'
import { PorchlightError } from '../../protocol/errors.ts'
import { decodePushRequest, encodePushRequest, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, MAX_TOPIC_BYTES, type PushRequest } from '../../protocol/wire.ts'
import { widenHead } from '../helpers/cbor-widen.ts'

const SPEC: StructSpec = { domain: 'pl/push', version: 1, required: ['topic', 'msg'], maxBytes: MAX_FRAME_BYTES }

/** The generic decoder alone (what decodePushRequest did before its fast path). */
function reference (b: Uint8Array): PushRequest {
  const f = decodeStruct(SPEC, b)
  return { topic: f.string('topic', MAX_TOPIC_BYTES, 1), message: f.bytes('msg', { max: MAX_MESSAGE_BYTES, min: 1 }) }
}

function outcome (fn: () => PushRequest): string {
  try {
    const r = fn()
    return JSON.stringify({ topic: r.topic, message: toHex(r.message) })
  } catch (err) {
    if (err instanceof PorchlightError) return err.code
    throw err
  }
}


describe('decodePushRequest', () => {
  const topicArb = fc.oneof(
    fc.constantFrom('/porchlight/1/n/210e46d1edeceef897e3d21078504a58', '/porchlight/1/area/u4pr', 'x', '', 'é/ü', 'x'.repeat(MAX_TOPIC_BYTES), 'x'.repeat(MAX_TOPIC_BYTES + 1)),
    fc.string({ maxLength: 40 })
  )
  const messageArb = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 40 }),
    fc.constantFrom(300, 1024).map(n => new Uint8Array(n).fill(7))
  )

  it('the fast path agrees with the generic strict decoder on valid, mutated and non-canonical bytes', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('xor' as const), pos: fc.nat(), v: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('add' as const), pos: fc.nat(), v: fc.integer({ min: -2, max: 2 }) }),
      fc.record({ kind: fc.constant('insert' as const), pos: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), pos: fc.nat(), v: fc.constant(0) })
    )
    const widening = fc.record({ key: fc.constantFrom('t', 'v', 'msg', 'topic'), extra: fc.integer({ min: 1, max: 4 }) })
    fc.assert(fc.property(topicArb, messageArb, fc.array(mutation, { maxLength: 3 }), fc.option(widening), (topic, message, ms, w) => {
      // Encoded without encodePushRequest's checks, so out-of-bound fields reach the decoder too.
      let b = encodeCbor({ t: 'pl/push', v: 1, msg: message, topic })
      if (w !== null) b = widenHead(b, w.key, w.extra)
      for (const m of ms) {
        const p = m.pos % b.length
        if (m.kind === 'xor') { b = b.slice(); b[p]! ^= m.v } else if (m.kind === 'add') { b = b.slice(); b[p] = (b[p]! + m.v) & 0xff } else if (m.kind === 'insert') b = new Uint8Array([...b.subarray(0, p), m.v, ...b.subarray(p)])
        else b = new Uint8Array([...b.subarray(0, p), ...b.subarray(p + 1)])
      }
      expect(outcome(() => decodePushRequest(b))).toBe(outcome(() => reference(b)))
    }), { numRuns: runs(1000) })
  })

  it('round-trips, and the message is a copy, not a view of the frame', () => {
    const message = new Uint8Array(1024).fill(9)
    const frame = encodePushRequest({ topic: '/porchlight/1/area/u4pr', message })
    const req = decodePushRequest(frame)
    expect(req.topic).toBe('/porchlight/1/area/u4pr')
    expect(toHex(req.message)).toBe(toHex(message))
    expect(req.message.buffer).not.toBe(frame.buffer)
    expect(req.message.byteOffset).toBe(0)
    expect(req.message.buffer.byteLength).toBe(1024)
  })

  it('takes a message of MAX_MESSAGE_BYTES and refuses one byte more, as the generic decoder does', () => {
    for (const n of [MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES + 1]) {
      const b = encodeCbor({ t: 'pl/push', v: 1, msg: new Uint8Array(n), topic: 'x' })
      expect(outcome(() => decodePushRequest(b))).toBe(outcome(() => reference(b)))
    }
    expect(outcome(() => decodePushRequest(encodeCbor({ t: 'pl/push', v: 1, msg: new Uint8Array(MAX_MESSAGE_BYTES + 1), topic: 'x' })))).toBe('TOO_LARGE')
  })

  it('refuses a duplicated key and trailing bytes after a canonical request', () => {
    const frame = encodePushRequest({ topic: '/porchlight/1/area/u4pr', message: new Uint8Array([1, 2, 3]) })
    expect(outcome(() => decodePushRequest(new Uint8Array([...frame, 0x00])))).toBe('MALFORMED')
    const dup = new Uint8Array([0xa5, ...frame.subarray(1), 0x65, ...new TextEncoder().encode('topic'), 0x61, 0x78])
    expect(outcome(() => decodePushRequest(dup))).toBe(outcome(() => reference(dup)))
    expect(outcome(() => decodePushRequest(dup))).not.toMatch(/^\{/)
  })
})
