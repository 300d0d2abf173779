// The framing between a command and the process holding its home (node/cli/daemon.ts, issue 9):
// 4-byte big-endian length + UTF-8 JSON, bounded and strict, whatever way the bytes are split.
import { describe, expect, it, afterAll } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { createConnection } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  checkFrame, encodeFrame, forwardedArgv, forwardToHolder, FrameDecoder, holdHome, MAX_ARGS, MAX_FRAME_BYTES, socketPath,
  type Frame, type ResponseFrame
} from '../../node/cli/daemon.ts'
import type { Io } from '../../node/cli/main.ts'
import type { ResidentPeer } from '../../node/resident.ts'
import { PorchlightError } from '../../protocol/errors.ts'

function raw (json: string): Uint8Array {
  const body = Buffer.from(json, 'utf8')
  const out = Buffer.alloc(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  body.copy(out, 4)
  return out
}

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    if (err instanceof PorchlightError) return err.code
    throw err
  }
}

/** Splits `bytes` at the given cut points and pushes each piece. */
function pushSplit (d: FrameDecoder, bytes: Uint8Array, cuts: number[]): Frame[] {
  const at = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Frame[] = []
  let prev = 0
  for (const c of [...at, bytes.length]) {
    out.push(...d.push(bytes.subarray(prev, c)))
    prev = c
  }
  return out
}

const text = fc.string({ maxLength: 200, unit: 'binary' })
const response: fc.Arbitrary<ResponseFrame> = fc.oneof(
  fc.record({ t: fc.constant('out' as const), d: text }),
  fc.record({ t: fc.constant('err' as const), d: text }),
  fc.record({ t: fc.constant('exit' as const), code: fc.integer({ min: 0, max: 255 }) })
)

describe('daemon frames', () => {
  it('round-trip however the stream is cut', () => {
    fc.assert(fc.property(fc.array(response, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
      const bytes = Buffer.concat(frames.map(f => encodeFrame(f)))
      const d = new FrameDecoder('response')
      expect(pushSplit(d, bytes, cuts)).toEqual(frames)
      expect(d.pending).toBe(0)
    }), { numRuns: runs(100) })
    fc.assert(fc.property(fc.array(text, { maxLength: 20 }), argv => {
      expect(new FrameDecoder('request').push(encodeFrame({ t: 'run', argv }))).toEqual([{ t: 'run', argv }])
    }), { numRuns: runs(100) })
  })

  it('any bytes: frames or a PorchlightError, never anything else, and the buffer stays bounded', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom('request', 'response') as fc.Arbitrary<'request' | 'response'>, (bytes, side) => {
      const d = new FrameDecoder(side)
      try {
        d.push(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(PorchlightError)
      }
      expect(d.pending).toBeLessThanOrEqual(4 + MAX_FRAME_BYTES)
    }), { numRuns: runs(100) })
  })

  it('a flipped byte in a valid stream is caught or decodes to valid frames only', () => {
    const valid = Buffer.concat([encodeFrame({ t: 'out', d: 'hello' }), encodeFrame({ t: 'exit', code: 0 })])
    fc.assert(fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const bytes = Buffer.from(valid)
      bytes[i] = bytes[i]! ^ x
      const d = new FrameDecoder('response')
      try {
        for (const f of d.push(bytes)) expect(checkFrame(f, 'response')).toEqual(f)
      } catch (err) {
        expect(err).toBeInstanceOf(PorchlightError)
      }
    }), { numRuns: runs(100) })
  })

  it('refuses an oversized length as soon as it is read, without waiting for the body', () => {
    const d = new FrameDecoder('request')
    const header = Buffer.alloc(4)
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0)
    expect(codeOf(() => d.push(header))).toBe('TOO_LARGE')
    // and stays failed
    expect(codeOf(() => d.push(encodeFrame({ t: 'run', argv: [] })))).toBe('TOO_LARGE')
    expect(codeOf(() => encodeFrame({ t: 'out', d: 'x'.repeat(MAX_FRAME_BYTES) }))).toBe('TOO_LARGE')
  })

  it('is strict about shapes', () => {
    const req = (json: string): string | undefined => codeOf(() => new FrameDecoder('request').push(raw(json)))
    const res = (json: string): string | undefined => codeOf(() => new FrameDecoder('response').push(raw(json)))
    expect(req('{"t":"run","argv":["feed"]}')).toBeUndefined()
    expect(codeOf(() => new FrameDecoder('request').push(Buffer.alloc(4)))).toBe('MALFORMED') // empty frame
    expect(req('{"t":"run","argv":["feed"],"cwd":"/"}')).toBe('MALFORMED') // extra field
    expect(req('{"t":"run"}')).toBe('MALFORMED')
    expect(req('{"t":"run","argv":[1]}')).toBe('MALFORMED')
    expect(req(JSON.stringify({ t: 'run', argv: Array(MAX_ARGS + 1).fill('a') }))).toBe('MALFORMED')
    expect(req('{"t":"out","d":"x"}')).toBe('MALFORMED') // a response where a request belongs
    expect(req('["run"]')).toBe('MALFORMED')
    expect(req('{"t":"run","argv":[]')).toBe('MALFORMED') // not JSON
    expect(codeOf(() => new FrameDecoder('request').push(Buffer.from([0, 0, 0, 2, 0xc3, 0x28])))).toBe('MALFORMED') // not UTF-8
    expect(res('{"t":"exit","code":256}')).toBe('MALFORMED')
    expect(res('{"t":"exit","code":1.5}')).toBe('MALFORMED')
    expect(res('{"t":"exit","code":"0"}')).toBe('MALFORMED')
    expect(res('{"t":"out","d":null}')).toBe('MALFORMED')
    expect(res('{"t":"run","argv":[]}')).toBe('MALFORMED')
    expect(res('{"t":"out","d":"x","__proto__":{"a":1}}')).toBe('MALFORMED')
  })
})

describe('forwarded argv', () => {
  it('drops --home and makes file paths absolute', () => {
    expect(forwardedArgv('post', ['--home', 'h', '--json', 'post', '--clip', './x.jpg', '--text', 'a b'], '/w'))
      .toEqual(['--json', 'post', '--clip', '/w/x.jpg', '--text', 'a b'])
    expect(forwardedArgv('post', ['--home=h', 'post', '--clip=x.jpg'], '/w')).toEqual(['post', '--clip=/w/x.jpg'])
    expect(forwardedArgv('clip get', ['clip', 'get', 'abcd1234', '-o', 'out'], '/w')).toEqual(['clip', 'get', 'abcd1234', '-o', '/w/out'])
    expect(forwardedArgv('clip get', ['clip', 'get', 'abcd1234', '-oout'], '/w')).toEqual(['clip', 'get', 'abcd1234', '-o', '/w/out'])
    expect(forwardedArgv('clip get', ['clip', 'get', 'abcd1234'], '/w')).toEqual(['clip', 'get', 'abcd1234', '--out', '/w'])
    // The typing shell's $PORCHLIGHT_RELAY travels as --relay (the holder's environment is its own), unless --relay is given.
    expect(forwardedArgv('feed', ['feed'], '/w', '/ip4/1.2.3.4/tcp/1,/ip4/1.2.3.4/tcp/2')).toEqual(['feed', '--relay=/ip4/1.2.3.4/tcp/1', '--relay=/ip4/1.2.3.4/tcp/2'])
    expect(forwardedArgv('feed', ['feed', '--relay', '/ip4/5.6.7.8/tcp/1'], '/w', '/ip4/1.2.3.4/tcp/1')).toEqual(['feed', '--relay', '/ip4/5.6.7.8/tcp/1'])
    expect(forwardedArgv('feed', ['feed'], '/w', '')).toEqual(['feed'])
  })

  it('a socket path fits sun_path, in the home when it can', () => {
    expect(socketPath('/tmp/h')).toBe('/tmp/h/porchlight.sock')
    const long = '/tmp/' + 'x'.repeat(200)
    expect(Buffer.byteLength(socketPath(long))).toBeLessThanOrEqual(100)
    expect(socketPath(long)).not.toBe(socketPath(long + 'y'))
  })
})

describe('the holder, in process (a stand-in peer)', () => {
  const dirs: string[] = []
  afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

  it('runs a forwarded command with the lent peer, streams its output and exit code; refuses others; drops bad clients', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pl-hold-'))
    dirs.push(home)
    let stops = 0
    const peer = { relays: () => ['/ip4/127.0.0.1/tcp/1'], stop: async () => { stops++ }, hello: function (this: { relays: () => string[] }) { return this.relays().length } }
    const seen: string[][] = []
    const holder = await holdHome({
      homeDir: home,
      holder: 'watch',
      peer: peer as unknown as ResidentPeer,
      io: { stdout: { write: () => {} }, stderr: { write: () => {} }, env: {}, now: Date.now },
      run: async (argv, io) => {
        seen.push([...argv])
        const p = await io.openPeer!(undefined as never, { relays: ['/ip4/127.0.0.1/tcp/2'] })
        await p.stop()
        io.stdout.write('x'.repeat(100_000) + '\n')
        io.stderr.write(`lent peer answers ${(p as unknown as { hello: () => number }).hello()}\n`)
        return 3
      }
    })
    try {
      let out = ''
      let err = ''
      const io: Io = { stdout: { write: (c: string) => { out += c } }, stderr: { write: (c: string) => { err += c } }, env: {}, now: Date.now }
      expect(await forwardToHolder('feed', ['--home', home, 'feed', '--no-sync'], home, io)).toBe(3)
      expect(seen).toEqual([['feed', '--no-sync']])
      expect(out).toBe('x'.repeat(100_000) + '\n')
      expect(err).toContain('uses its own relays') // --relay the watch does not use: said
      expect(err).toContain('lent peer answers 1')
      expect(stops).toBe(0) // the command's stop() is not the peer's
      // The client's $PORCHLIGHT_RELAY reaches the holder as --relay (the holder's own environment is not the client's).
      expect(await forwardToHolder('feed', ['feed'], home, { ...io, env: { PORCHLIGHT_RELAY: '/ip4/127.0.0.1/tcp/9' } })).toBe(3)
      expect(seen.at(-1)).toEqual(['feed', '--relay=/ip4/127.0.0.1/tcp/9'])
      // Refused inside the holder, in one line.
      err = ''
      expect(await forwardToHolder('hood join', ['hood', 'join', 'porchlight:x'], home, io)).toBe(1)
      expect(err).toMatch(/^porchlight: `hood join` cannot run while `watch` \(pid \d+\) holds .*; stop it first\n$/)
      // So are the others that change which neighborhoods or areas the open peer follows (it read them when it opened).
      for (const name of ['hood create', 'agency follow', 'agency unfollow']) {
        err = ''
        expect(await forwardToHolder(name, [...name.split(' '), 'x'], home, io)).toBe(1)
        expect(err).toMatch(new RegExp(`^porchlight: \`${name}\` cannot run while \`watch\``))
      }
      // Commands that do not need the peer are not forwarded at all.
      expect(await forwardToHolder('hood list', ['hood', 'list'], home, io)).toBeUndefined()
      // A client that sends a frame too large is dropped without an answer.
      const answer = await new Promise<string>(resolve => {
        const s = createConnection(socketPath(home))
        let got = ''
        s.on('data', (c: Buffer) => { got += c.toString('latin1') })
        s.on('close', () => { resolve(got) })
        s.on('error', () => {})
        const header = Buffer.alloc(4)
        header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0)
        s.write(header)
      })
      expect(answer).toBe('')
      // A client sending a relay (not a forwarded command) is refused.
      const sock = createConnection(socketPath(home))
      const d = new FrameDecoder('response')
      const frames = await new Promise<Frame[]>(resolve => {
        const got: Frame[] = []
        sock.on('data', (c: Buffer) => { got.push(...d.push(c)) })
        sock.on('close', () => { resolve(got) })
        sock.write(encodeFrame({ t: 'run', argv: ['relay', '--data', '/tmp/x'] }))
      })
      expect(frames.at(-1)).toEqual({ t: 'exit', code: 1 })
      expect(seen).toHaveLength(2)
    } finally {
      await holder.close()
    }
    // Closed: the socket is gone and commands run here again.
    expect(await forwardToHolder('feed', ['feed'], home, { stdout: { write: () => {} }, stderr: { write: () => {} }, env: {}, now: Date.now })).toBeUndefined()
  })
})
