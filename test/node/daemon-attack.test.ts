// The holder's socket (node/cli/daemon.ts) as another local user, or a careless setup, would
// meet it: a socket in a folder others can write may be anyone's (a client must not send it a
// post's text, nor print what it answers), such a folder is not served, and a client feeding the
// holder a frame a byte at a time costs it linear work, not quadratic.
import { afterAll, describe, expect, it } from 'vitest'
import { createServer } from 'node:net'
import { chmod, lstat, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeFrame, forwardToHolder, FrameDecoder, holdHome, MAX_FRAME_BYTES, socketPath } from '../../node/cli/daemon.ts'
import type { Io } from '../../node/cli/main.ts'
import type { ResidentPeer } from '../../node/resident.ts'
import { isPorchlightError } from '../../protocol/errors.ts'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

function quietIo (): Io & { out: () => string } {
  let out = ''
  return { stdout: { write: (c: string) => { out += c } }, stderr: { write: (c: string) => { out += c } }, env: {}, now: Date.now, out: () => out }
}

describe('the holder\'s socket, attacked', () => {
  it('a client sends nothing to a socket in a home others can write (anyone could have planted it), and prints nothing from it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pl-shared-'))
    dirs.push(home)
    await chmod(home, 0o777) // e.g. a shared folder: another user could put porchlight.sock here
    const received: Buffer[] = []
    const planted = createServer(sock => {
      sock.on('data', (c: Buffer) => { received.push(c) })
      sock.on('error', () => {})
      // A fake holder: claims the post was sent, and tries to write to the terminal.
      sock.end(Buffer.concat([encodeFrame({ t: 'out', d: 'Sent 0000 (\u001b]0;pwned\u0007)\n' }), encodeFrame({ t: 'exit', code: 0 })]))
    })
    await new Promise<void>(resolve => { planted.listen(socketPath(home), resolve) })
    try {
      const io = quietIo()
      const code = await forwardToHolder('post', ['post', '--kind', 'info', '--text', 'my door code is 4711'], home, io).catch((err: unknown) => err)
      await new Promise(resolve => setTimeout(resolve, 50))
      expect(Buffer.concat(received).toString('latin1')).not.toContain('4711')
      expect(io.out()).not.toContain('pwned')
      expect(code === undefined || isPorchlightError(code)).toBe(true)
    } finally {
      await new Promise<void>(resolve => { planted.close(() => { resolve() }) })
    }
  })

  it('a home others can write is not served (its socket could be replaced under the clients)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pl-shared-'))
    dirs.push(home)
    await chmod(home, 0o770)
    const attempt = holdHome({
      homeDir: home,
      holder: 'watch',
      peer: { relays: () => [], stop: async () => {} } as unknown as ResidentPeer,
      io: quietIo(),
      run: async () => 0
    })
    const result = await attempt.then(async h => { await h.close(); return 'served' }, (err: unknown) => isPorchlightError(err) ? err.code : String(err))
    expect(result).toBe('REFUSED')
  })

  it('a private home is served, its socket 0600 from the start, whatever the umask', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pl-home-'))
    dirs.push(home)
    const old = process.umask(0)
    let holder
    try {
      holder = await holdHome({ homeDir: home, holder: 'watch', peer: { relays: () => [], stop: async () => {} } as unknown as ResidentPeer, io: quietIo(), run: async () => 0 })
    } finally {
      process.umask(old)
    }
    try {
      expect((await lstat(holder.path)).mode & 0o777).toBe(0o600)
      expect(process.umask()).toBe(old) // put back
    } finally {
      await holder.close()
    }
  })

  it('a frame sent a byte at a time is decoded in linear time', () => {
    const frame = encodeFrame({ t: 'run', argv: ['post', '--text', 'x'.repeat(MAX_FRAME_BYTES - 100)] })
    const d = new FrameDecoder('request')
    const t0 = performance.now()
    let n = 0
    for (let i = 0; i < frame.length; i++) n += d.push(frame.subarray(i, i + 1)).length
    const ms = performance.now() - t0
    expect(n).toBe(1)
    expect(d.pending).toBe(0)
    // Quadratic (each byte copying what came before) is tens of seconds here; linear, well under one.
    expect(ms).toBeLessThan(4000)
  }, 120_000)
})
