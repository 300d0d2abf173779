// /porchlight/push/1 (protocol/peer/push.ts) over an in-memory stream pair: no TCP, no libp2p
// node. Pipelined requests answered in request order, refusals as Results, garbage and
// oversize frames refused without reaching `accept`, and a client that never throws.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import type { PeerId } from '@libp2p/interface'
import { PushServer, PushSession, pushMessage, MAX_PIPELINE, MAX_PUSH_FRAME_BYTES, type AcceptMessage } from '../../protocol/peer/push.ts'
import { Frames } from '../../protocol/peer/frames.ts'
import { PROTOCOLS, MAX_MESSAGE_BYTES, decodeResult, encodePushRequest, type Result } from '../../protocol/wire.ts'
import { fail } from '../../protocol/errors.ts'
import { MemoryNet, type MemoryPeer } from '../helpers/memory-net.ts'

const TOPIC = '/porchlight/1/area/u4pruy'
const msg = (i: number): Uint8Array => new TextEncoder().encode(`message ${i}`)
const text = (m: Uint8Array): string => new TextDecoder().decode(m)

interface Seen { topic: string, message: string, from: PeerId }

let net: MemoryNet
let relay: MemoryPeer
let client: MemoryPeer
let seen: Seen[]
let refused: Result[]

async function serve (accept: AcceptMessage): Promise<void> {
  await new PushServer(relay.node, {
    accept: async (topic, message, from, connection) => {
      seen.push({ topic, message: text(message), from })
      expect(connection?.remotePeer.equals(from)).toBe(true)
      return await accept(topic, message, from, connection)
    },
    refuse: (r) => { refused.push(r); return r }
  }).start()
}

beforeEach(async () => {
  net = new MemoryNet()
  relay = await net.peer()
  client = await net.peer()
  seen = []
  refused = []
})

afterEach(async () => {
  await net.settled()
  expect(net.handlerErrors).toEqual([])
})

describe('push over a stream pair', () => {
  it('acknowledges one message, naming the peer it came from', async () => {
    await serve(async () => ({ ok: true }))
    expect(await pushMessage(client.node, relay.peerId, TOPIC, msg(1))).toEqual({ ok: true })
    expect(seen).toHaveLength(1)
    expect(seen[0]!.topic).toBe(TOPIC)
    expect(seen[0]!.message).toBe('message 1')
    expect(seen[0]!.from.equals(client.peerId)).toBe(true)
  })

  it('answers pipelined requests in request order, whatever order accept finishes in', async () => {
    // Later messages are accepted sooner: the answers must still come back in order.
    await serve(async (_topic, message) => {
      const i = Number(text(message).split(' ')[1])
      await new Promise(resolve => setTimeout(resolve, (20 - i) * 2))
      return i % 3 === 0 ? { ok: false, code: 'REFUSED', message: `no ${i}` } : { ok: true, count: i }
    })
    const session = await PushSession.open(client.node, relay.peerId)
    const results = await Promise.all(Array.from({ length: 20 }, async (_, i) => await session.push(TOPIC, msg(i))))
    await session.close()
    results.forEach((r, i) => {
      expect(r).toEqual(i % 3 === 0 ? { ok: false, code: 'REFUSED', message: `no ${i}` } : { ok: true, count: i })
    })
    expect(seen.map(s => s.message).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `message ${i}`).sort())
  })

  it('answers settled together go out in one write: a group commit of 32 acks is one send, not 32', async () => {
    let sends = 0
    const gate: Array<() => void> = []
    const node = relay.node
    // The relay's side of each push stream, its sends counted.
    await new PushServer({
      handle: async (protocol, handler, options) => {
        await node.handle(protocol, async (stream, connection) => {
          const send = stream.send.bind(stream)
          stream.send = (data) => { sends++; return send(data) }
          await handler(stream, connection)
        }, options)
      },
      unhandle: async (protocol) => { await node.unhandle(protocol) },
      logger: node.logger
    }, { accept: async () => { await new Promise<void>(resolve => gate.push(resolve)); return { ok: true } } }).start()
    const session = await PushSession.open(client.node, relay.peerId)
    const all = Promise.all(Array.from({ length: 32 }, async (_, i) => await session.push(TOPIC, msg(i))))
    while (gate.length < 32) await new Promise(resolve => setTimeout(resolve, 5))
    // As the store's group commit does: every put of one batch resolves at once.
    for (const open of gate.splice(0)) open()
    expect((await all).every(r => r.ok)).toBe(true)
    await session.close()
    expect(sends).toBeLessThanOrEqual(2)
  })

  it('pushes made in one turn go out in one write: 32 requests are one send, not 32', async () => {
    await serve(async () => ({ ok: true }))
    let sends = 0
    const node = client.node
    const session = await PushSession.open({
      dialProtocol: async (...args: Parameters<typeof node.dialProtocol>) => {
        const stream = await node.dialProtocol(...args)
        const send = stream.send.bind(stream)
        stream.send = (data) => { sends++; return send(data) }
        return stream
      },
      logger: node.logger
    } as unknown as typeof node, relay.peerId)
    const results = await Promise.all(Array.from({ length: 32 }, async (_, i) => await session.push(TOPIC, msg(i))))
    expect(results.every(r => r.ok)).toBe(true)
    expect(sends).toBeLessThanOrEqual(2)
    expect(seen.map(s => s.message)).toEqual(Array.from({ length: 32 }, (_, i) => `message ${i}`))
    await session.close()
  })

  it('holds at most MAX_PIPELINE requests in accept at once', async () => {
    let inFlight = 0
    let most = 0
    const gate: Array<() => void> = []
    await serve(async () => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise<void>(resolve => gate.push(resolve))
      inFlight--
      return { ok: true }
    })
    const session = await PushSession.open(client.node, relay.peerId)
    const total = MAX_PIPELINE + 10
    const all = Promise.all(Array.from({ length: total }, async (_, i) => await session.push(TOPIC, msg(i))))
    // Wait (by events, not time) until the relay is holding a full pipeline.
    while (gate.length < MAX_PIPELINE) await new Promise(resolve => setImmediate(resolve))
    for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
    expect(inFlight).toBe(MAX_PIPELINE)
    // Release them one by one until all are done.
    while (seen.length < total || gate.length > 0) {
      gate.shift()?.()
      await new Promise(resolve => setImmediate(resolve))
    }
    expect((await all).every(r => r.ok)).toBe(true)
    expect(most).toBe(MAX_PIPELINE)
    await session.close()
  })

  it('turns a PorchlightError from accept into its code, anything else into IO without details', async () => {
    await serve(async (_topic, message) => {
      if (text(message) === 'message 1') fail('OVER_QUOTA', 'topic full')
      throw new Error('disk on fire at /var/secret')
    })
    const session = await PushSession.open(client.node, relay.peerId)
    expect(await session.push(TOPIC, msg(1))).toEqual({ ok: false, code: 'OVER_QUOTA', message: 'topic full' })
    expect(await session.push(TOPIC, msg(2))).toEqual({ ok: false, code: 'IO', message: 'internal error' })
    // The stream goes on after a refusal.
    expect((await session.push(TOPIC, msg(1))).code).toBe('OVER_QUOTA')
    await session.close()
  })

  it('refuses a frame that is not a push request, without calling accept, and keeps the stream', async () => {
    await serve(async () => ({ ok: true }))
    const frames = new Frames(await client.node.dialProtocol(relay.peerId, PROTOCOLS.push), 5_000)
    await frames.write(new Uint8Array([0xa1, 0x01, 0x02])) // CBOR, but no push request
    const garbage = decodeResult(await frames.read())
    expect(garbage.ok).toBe(false)
    expect(garbage.code).toMatch(/MALFORMED|BAD_DOMAIN|MISSING_FIELD|WRONG_TYPE/)
    await frames.write(encodePushRequest({ topic: TOPIC, message: msg(7) }))
    expect(decodeResult(await frames.read())).toEqual({ ok: true })
    await frames.close()
    expect(seen.map(s => s.message)).toEqual(['message 7'])
    expect(refused).toEqual([garbage])
  })

  it('refuses an oversize frame as TOO_LARGE before buffering it, and ends the stream', async () => {
    await serve(async () => ({ ok: true }))
    const frames = new Frames(await client.node.dialProtocol(relay.peerId, PROTOCOLS.push), 5_000, MAX_PUSH_FRAME_BYTES * 4)
    const big = new Uint8Array(MAX_PUSH_FRAME_BYTES + 1)
    await frames.write(big)
    const r = decodeResult(await frames.read())
    expect(r).toMatchObject({ ok: false, code: 'TOO_LARGE' })
    expect(seen).toEqual([])
    expect(refused.map(x => x.code)).toEqual(['TOO_LARGE'])
    frames.abort('done')
  })

  it('refuses a message over MAX_MESSAGE_BYTES inside a well-formed frame', async () => {
    await serve(async () => ({ ok: true }))
    const r = await pushMessage(client.node, relay.peerId, TOPIC, new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(1))
    expect(r).toMatchObject({ ok: false, code: 'TOO_LARGE' })
    expect(seen).toEqual([])
  })

  it('never throws: no such peer, or a peer without the protocol, is UNAVAILABLE', async () => {
    const stranger = (await new MemoryNet().peer()).peerId
    expect(await pushMessage(client.node, stranger, TOPIC, msg(1))).toMatchObject({ ok: false, code: 'UNAVAILABLE' })
    // The relay has not registered the push handler.
    expect(await pushMessage(client.node, relay.peerId, TOPIC, msg(1))).toMatchObject({ ok: false, code: 'UNAVAILABLE' })
  })

  it('a relay that stops answering mid-stream fails every waiting push with a Result', async () => {
    let release!: () => void
    const stuck = new Promise<Result>(resolve => { release = () => { resolve({ ok: true }) } })
    await new PushServer(relay.node, { accept: async () => await stuck }).start()
    const session = await PushSession.open(client.node, relay.peerId, 200)
    const results = await Promise.all([session.push(TOPIC, msg(1)), session.push(TOPIC, msg(2))])
    for (const r of results) expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' })
    // Once broken, a session answers at once with the same failure.
    expect(await session.push(TOPIC, msg(3))).toMatchObject({ ok: false, code: 'TIMEOUT' })
    await session.close()
    // The relay's answers, when they come, go to a stream the client gave up on: its handler
    // ends without an unhandled failure (afterEach checks).
    release()
  })

  it('close waits for the answers, then ends the relay\'s handler cleanly', async () => {
    await serve(async () => { await new Promise(resolve => setTimeout(resolve, 20)); return { ok: true } })
    const session = await PushSession.open(client.node, relay.peerId)
    const pending = [session.push(TOPIC, msg(1)), session.push(TOPIC, msg(2))]
    await session.close()
    expect(await Promise.all(pending)).toEqual([{ ok: true }, { ok: true }])
    await net.settled()
  })
})
