// The relay's caps in one process, on stand-in streams and connections: what is admitted,
// what is refused and why, and that everything is given back when a stream ends.
import { describe, it, expect, afterEach } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, MultiaddrConnection, Stream } from '@libp2p/interface'
import { StreamBudget, WholeFrames, type StreamRefusal } from '../../protocol/peer/stream-budget.ts'
import { ConnectionCap } from '../../node/relay/connection-caps.ts'
import { capsFrom } from '../../node/cli/caps.ts'
import { RelayCaps } from '../../node/relay/caps.ts'
import { Metrics } from '../../node/relay/metrics.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { until } from '../helpers/network.ts'

/** Just what the budget uses of a stream: events, status, abort. */
class FakeStream extends EventTarget {
  status = 'open'
  abortedWith: Error | undefined
  abort (err: Error): void {
    if (this.status !== 'open') return
    this.status = 'aborted'
    this.abortedWith = err
    this.dispatchEvent(new Event('close'))
  }

  receive (bytes: number): void {
    const evt = new Event('message') as Event & { data: Uint8Array }
    evt.data = new Uint8Array(bytes)
    this.dispatchEvent(evt)
  }
}

const from = (ip: string): Connection => ({ remoteAddr: multiaddr(`/ip4/${ip}/tcp/4001`) }) as unknown as Connection
const asStream = (s: FakeStream): Stream => s as unknown as Stream

const budgets: StreamBudget[] = []
afterEach(() => { for (const b of budgets.splice(0)) b.stop() })

function budget (init: ConstructorParameters<typeof StreamBudget>[0]): { b: StreamBudget, refused: StreamRefusal[] } {
  const refused: StreamRefusal[] = []
  const b = new StreamBudget(init, (reason) => { refused.push(reason) })
  budgets.push(b)
  return { b, refused }
}

describe('StreamBudget', () => {
  it('keeps the last eighth of the total for addresses holding few streams', () => {
    const { b, refused } = budget({ maxInboundStreams: 64, maxInboundStreamsPerIp: 40 })
    // Two busy addresses take what they can: 40 and then 16, up to 7/8 of the total (56).
    let busy = 0
    for (const ip of ['10.0.0.1', '10.0.0.2']) for (let i = 0; i < 40; i++) if (b.admit(asStream(new FakeStream()), from(ip), 'push') !== undefined) busy++
    expect(busy).toBe(56)
    expect(refused.filter(r => r === 'streams')).toHaveLength(24)
    // Households that come after still get in, one each, until the total.
    let households = 0
    for (let h = 3; h < 20; h++) if (b.admit(asStream(new FakeStream()), from(`10.0.0.${h}`), 'push') !== undefined) households++
    expect(households).toBe(8)
  })

  it('refuses streams past the per-IP cap, then past the total, and takes new ones once streams end', () => {
    const { b, refused } = budget({ maxInboundStreams: 3, maxInboundStreamsPerIp: 2 })
    const a = [new FakeStream(), new FakeStream(), new FakeStream()]
    expect(b.admit(asStream(a[0]!), from('10.0.0.1'), 'push')).toBeDefined()
    expect(b.admit(asStream(a[1]!), from('10.0.0.1'), 'sync')).toBeDefined()
    expect(b.admit(asStream(a[2]!), from('10.0.0.1'), 'push')).toBeUndefined()
    expect(a[2]!.status).toBe('aborted')
    expect(isPorchlightError(a[2]!.abortedWith, 'OVER_QUOTA')).toBe(true)
    expect(b.admit(asStream(new FakeStream()), from('10.0.0.2'), 'pin')).toBeDefined()
    expect(b.admit(asStream(new FakeStream()), from('10.0.0.3'), 'blocks')).toBeUndefined()
    expect(refused).toEqual(['streams-per-ip', 'streams'])
    expect(b.openStreams('push')).toBe(1)
    a[0]!.abort(new Error('peer gone'))
    expect(b.openStreams('push')).toBe(0)
    expect(b.admit(asStream(new FakeStream()), from('10.0.0.3'), 'push')).toBeDefined()
  })

  it('counts unread bytes until a frame is read, and aborts only the stream that goes over a cap', () => {
    const { b, refused } = budget({ maxBufferedBytes: 1000, maxBufferedBytesPerIp: 600 })
    const s1 = new FakeStream()
    const s2 = new FakeStream()
    const other = new FakeStream()
    const l1 = b.admit(asStream(s1), from('10.0.0.1'), 'push')!
    b.admit(asStream(s2), from('10.0.0.1'), 'push')
    b.admit(asStream(other), from('10.0.0.2'), 'push')
    s1.receive(400)
    s2.receive(300)
    expect(s2.status).toBe('aborted') // 700 from one IP > 600
    expect(s1.status).toBe('open')
    expect(b.bufferedBytes()).toBe(400)
    l1.startRead()
    l1.endRead(250) // a whole frame read: its bytes leave the budget
    expect(b.bufferedBytes()).toBe(150)
    other.receive(550)
    s1.receive(350)
    expect(s1.status).toBe('aborted') // 150 + 550 + 350 > 1000 in total
    expect(other.status).toBe('open')
    expect(b.bufferedBytes()).toBe(550)
    expect(refused).toEqual(['buffered-per-ip', 'buffered'])
  })

  it('closes a stream that sends nothing while read, one whose frame stops half-way, and one its peer never closes', async () => {
    const { b, refused } = budget({ idleTimeoutMs: 100, partialFrameTimeoutMs: 100 })
    const silent = new FakeStream()
    const halfway = new FakeStream()
    const notReading = new FakeStream()
    const finished = new FakeStream()
    b.admit(asStream(silent), from('10.0.0.1'), 'sync')!.startRead()
    b.admit(asStream(halfway), from('10.0.0.1'), 'push')!.startRead()
    b.admit(asStream(notReading), from('10.0.0.1'), 'pin')
    b.admit(asStream(finished), from('10.0.0.1'), 'blocks')!.finish()
    halfway.receive(10)
    await until(() => silent.status !== 'open' && halfway.status !== 'open' && finished.status !== 'open', 10_000, 'three streams closed')
    expect(refused.sort()).toEqual(['idle', 'idle', 'partial-frame'])
    // The handler is busy (not reading): no deadline runs.
    expect(notReading.status).toBe('open')
    expect(b.bufferedBytes()).toBe(0)
  })
})

describe('WholeFrames', () => {
  it('finds length-prefixed frames across chunks, whatever the cuts', () => {
    // Frames of 0, 3 and 300 bytes (a 2-byte length): 1 + 4 + 302 = 307 bytes.
    const bytes = new Uint8Array(307)
    bytes.set([0x00, 0x03, 1, 2, 3, 0xac, 0x02], 0)
    for (const cut of [1, 2, 5, 6, 100, 306]) {
      const frames = new WholeFrames()
      const first = frames.feed([bytes.subarray(0, cut)])
      expect(first + frames.feed([bytes.subarray(cut)])).toBe(307)
    }
    const frames = new WholeFrames()
    expect(frames.feed([bytes.subarray(0, 6)])).toBe(5) // the empty frame and the 3-byte one
    expect(frames.feed([bytes.subarray(6, 300)])).toBe(0)
    expect(frames.feed([bytes.subarray(300)])).toBe(302)
  })

  it('lets the budget count a stream whose reader is not ours: only frames still arriving are held', () => {
    const { b, refused } = budget({ maxBufferedBytesPerIp: 100 })
    const s = new FakeStream()
    b.admit(asStream(s), from('10.0.0.1'), 'bitswap', { countsFrames: true })
    const send = (bytes: Uint8Array): void => {
      const evt = new Event('message') as Event & { data: Uint8Array }
      evt.data = bytes
      s.dispatchEvent(evt)
    }
    const frame = (n: number): Uint8Array => { const f = new Uint8Array(n + 1); f[0] = n; return f }
    for (let i = 0; i < 5; i++) send(frame(90)) // 455 bytes, all in whole frames: none held, none over the cap
    expect(b.bufferedBytes()).toBe(0)
    send(frame(90).subarray(0, 60))
    expect(b.bufferedBytes()).toBe(60)
    // The frame's last 31 bytes, then 19 bytes of the next one.
    send(Uint8Array.from([...frame(90).subarray(60), ...frame(90).subarray(0, 19)]))
    expect(b.bufferedBytes()).toBe(19)
    expect(refused).toEqual([])
    send(frame(90).subarray(19)) // the rest of that frame: whole, so given back
    expect(b.bufferedBytes()).toBe(0)
    send(frame(120).subarray(0, 110)) // a frame growing past the cap
    expect(refused).toEqual(['buffered-per-ip'])
    expect(s.status).toBe('aborted')
  })
})

describe('ConnectionCap', () => {
  it('denies an IP past its cap until one of its connections closes', async () => {
    let refused = 0
    const cap = new ConnectionCap(2, () => { refused++ })
    const conn = (ip: string): MultiaddrConnection & FakeStream =>
      Object.assign(new FakeStream(), { remoteAddr: multiaddr(`/ip4/${ip}/tcp/1`) }) as unknown as MultiaddrConnection & FakeStream
    const deny = async (c: MultiaddrConnection): Promise<boolean | undefined> => await cap.gater.denyInboundConnection!(c)
    const first = conn('10.0.0.1')
    expect(await deny(first)).toBe(false)
    expect(await deny(conn('10.0.0.1'))).toBe(false)
    expect(await deny(conn('10.0.0.1'))).toBe(true)
    expect(await deny(conn('10.0.0.2'))).toBe(false)
    expect(refused).toBe(1)
    first.abort(new Error('closed'))
    expect(cap.count('ip4:10.0.0.1')).toBe(1)
    expect(await deny(conn('10.0.0.1'))).toBe(false)
  })
})

describe('RelayCaps', () => {
  it('reports refusals made before the relay had its metrics, and its gauges by protocol', async () => {
    const caps = new RelayCaps({ maxConnectionsPerIp: 1, maxInboundStreamsPerIp: 1 })
    try {
      const conn = (): MultiaddrConnection => Object.assign(new FakeStream(), { remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/1') }) as unknown as MultiaddrConnection
      expect(await caps.connections.gater.denyInboundConnection!(conn())).toBe(false)
      expect(await caps.connections.gater.denyInboundConnection!(conn())).toBe(true)
      const metrics = new Metrics()
      caps.report(metrics)
      caps.streams.admit(asStream(new FakeStream()), from('10.0.0.1'), 'sync')!
      caps.streams.admit(asStream(new FakeStream()), from('10.0.0.1'), 'push')
      const text = metrics.render()
      expect(text).toContain('porchlight_connections_refused_total{reason="per-ip"} 1')
      expect(text).toContain('porchlight_streams_refused_total{reason="streams-per-ip"} 1')
      expect(text).toContain('porchlight_inbound_streams{protocol="sync"} 1')
      expect(text).toContain('porchlight_inbound_streams{protocol="push"} 0')
      expect(text).toContain('porchlight_inbound_buffered_bytes 0')
    } finally {
      caps.stop()
    }
  })
})

describe('relay caps from flags and config', () => {
  const ctx = (flags: Record<string, string>): { string: (name: string) => string | undefined } => ({ string: (name) => flags[name] })

  it('reads sizes, durations and counts; flags win over the config file', () => {
    expect(capsFrom(ctx({ 'max-buffered': '8MiB', 'max-buffered-per-ip': '512k', 'idle-timeout': '30s', 'frame-timeout': '500ms', 'max-conns-per-ip': '64', 'max-connections': '5000' }), { maxConnectionsPerIp: 8, maxInboundStreams: 10, maxConnections: 2000 }))
      .toEqual({ maxBufferedBytes: 8 * 1024 * 1024, maxBufferedBytesPerIp: 512 * 1024, idleTimeoutMs: 30_000, partialFrameTimeoutMs: 500, maxConnectionsPerIp: 64, maxInboundStreams: 10, maxConnections: 5000 })
    expect(capsFrom(ctx({}), { maxConnections: 2000 })).toEqual({ maxConnections: 2000 })
  })

  it('refuses nonsense with BAD_ARGUMENT', () => {
    for (const flags of [{ 'max-streams': '0' }, { 'max-buffered': '4 parsecs' }, { 'idle-timeout': '15' }, { 'max-conns-per-ip': '-1' }, { 'max-connections': '0' }, { 'max-connections': 'lots' }] as Array<Record<string, string>>) {
      expect(() => capsFrom(ctx(flags))).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
    }
    expect(() => capsFrom(ctx({}), { maxConections: 5 } as never)).toThrow(/unknown cap/)
    expect(() => capsFrom(ctx({}), { maxInboundStreams: 1.5 })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }))
    // Below one whole frame every honest push would be refused: said at start, not as a reset stream.
    expect(() => capsFrom(ctx({ 'max-buffered-per-ip': '1KiB' }))).toThrow(/--max-buffered-per-ip must be at least 256KiB/)
    expect(() => capsFrom(ctx({}), { maxBufferedBytes: 1000 })).toThrow(/--max-buffered must be at least/)
  })
})
