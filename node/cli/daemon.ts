/**
 * One person, several commands (issue 9). While a long-running command (`watch`) holds a home
 * folder (its LevelDB databases are locked by the open peer), other commands for that home go
 * through it, the way `ipfs` commands use a running daemon:
 *
 *   - the holder listens on a Unix socket: HOME/porchlight.sock, or, when that path is too long
 *     for sun_path (~107 bytes), $TMPDIR/porchlight-UID/<hash of the home path>.sock; the folder
 *     is private (0700, ours) and the socket 0600;
 *   - a command that needs the peer (PEER_COMMANDS) and finds the socket sends its argv (with
 *     --home removed and file paths made absolute, so `post --clip ./x.jpg` and `clip get -o DIR`
 *     mean what they meant where it was typed); the holder runs it with its open peer (`Io.openPeer`
 *     returns the peer, and its stop() does nothing) and streams stdout, stderr and the exit code back;
 *   - a stale socket (the holder died: connection refused) is removed and the command runs as usual;
 *   - commands that cannot run inside the holder (HOLDER_REFUSES: a second `watch`, `hood join|create`,
 *     changing the identity) get one clear line.
 *
 * Framing: each frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON, at most
 * MAX_FRAME_BYTES. A client sends one `run` frame; the holder answers with `out`/`err` frames and
 * one `exit` frame, then closes. Strict: unknown types, extra or missing fields, wrong types,
 * empty or oversized frames end the connection. The holder runs one command at a time and keeps
 * at most MAX_WAITING waiting.
 *
 * Also here: a relay data folder already in use says so in one line (relayInUse, relay.pid).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { createHash } from 'node:crypto'
import { chmod, lstat, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { PorchlightError } from '../../protocol/errors.ts'
import type { ResidentPeer, PeerInit } from '../resident.ts'
import type { Home } from '../storage/home-dir.ts'
import { errorJson, oneLine, type Writer } from './output.ts'
import type { Io } from './command.ts'

// ---- framing ----

/** Largest frame (its JSON), in bytes. An argv is a few kB (an invite, a 2000-byte text). */
export const MAX_FRAME_BYTES = 256 * 1024
/** Output is sent in chunks of at most this many UTF-16 units (at most 3 bytes each in UTF-8). */
export const MAX_CHUNK_CHARS = 16 * 1024
/** Most arguments a forwarded command may have. */
export const MAX_ARGS = 256
/** Commands waiting for the holder behind the one running. */
export const MAX_WAITING = 8
/** Exit codes a frame may carry. */
const MAX_EXIT_CODE = 255

export type RequestFrame = { t: 'run', argv: string[] }
export type ResponseFrame = { t: 'out', d: string } | { t: 'err', d: string } | { t: 'exit', code: number }
export type Frame = RequestFrame | ResponseFrame

function malformed (message: string): never {
  throw new PorchlightError('MALFORMED', `daemon frame: ${message}`)
}

function exactKeys (o: Record<string, unknown>, keys: readonly string[]): void {
  const have = Object.keys(o)
  for (const k of keys) if (!Object.hasOwn(o, k)) malformed(`missing field ${k}`)
  if (have.length !== keys.length) malformed(`unexpected field ${have.find(k => !keys.includes(k)) ?? '?'}`.slice(0, 80))
}

/** Checks that `v` is a frame of the given direction; returns it typed. */
export function checkFrame (v: unknown, side: 'request'): RequestFrame
export function checkFrame (v: unknown, side: 'response'): ResponseFrame
export function checkFrame (v: unknown, side: 'request' | 'response'): Frame {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) malformed('not an object')
  const o = v as Record<string, unknown>
  const t = o.t
  if (side === 'request') {
    if (t !== 'run') malformed('expected a run frame')
    exactKeys(o, ['t', 'argv'])
    const argv = o.argv
    if (!Array.isArray(argv) || argv.length > MAX_ARGS || !argv.every(a => typeof a === 'string')) malformed(`argv must be at most ${MAX_ARGS} strings`)
    return { t, argv: [...argv] as string[] }
  }
  if (t === 'out' || t === 'err') {
    exactKeys(o, ['t', 'd'])
    if (typeof o.d !== 'string') malformed('d must be a string')
    return { t, d: o.d }
  }
  if (t === 'exit') {
    exactKeys(o, ['t', 'code'])
    const code = o.code
    if (typeof code !== 'number' || !Number.isInteger(code) || code < 0 || code > MAX_EXIT_CODE) malformed('code must be an integer 0..255')
    return { t, code }
  }
  malformed('unknown frame type')
}

export function encodeFrame (f: Frame): Uint8Array {
  const body = Buffer.from(JSON.stringify(f), 'utf8')
  if (body.length === 0 || body.length > MAX_FRAME_BYTES) throw new PorchlightError('TOO_LARGE', `daemon frame of ${body.length} bytes (at most ${MAX_FRAME_BYTES})`)
  const out = Buffer.alloc(4 + body.length)
  out.writeUInt32BE(body.length, 0)
  body.copy(out, 4)
  return out
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Splits a byte stream into checked frames. Holds at most one frame's bytes (4 + MAX_FRAME_BYTES);
 * a length over the bound fails as soon as the 4 length bytes are in. After an error it stays failed.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0)
  /** Chunks after `buf`, joined only once a whole frame is in (a frame sent a byte at a time costs linear work, not quadratic). */
  private more: Buffer[] = []
  private moreBytes = 0
  private failed: PorchlightError | undefined

  constructor (private readonly side: 'request' | 'response') {}

  push (chunk: Uint8Array): Frame[] {
    if (this.failed !== undefined) throw this.failed
    try {
      this.more.push(Buffer.from(chunk))
      this.moreBytes += chunk.length
      const frames: Frame[] = []
      for (;;) {
        const have = this.buf.length + this.moreBytes
        if (have < 4) break
        if (this.buf.length < 4) this.join()
        const len = this.buf.readUInt32BE(0)
        if (len === 0) malformed('empty frame')
        if (len > MAX_FRAME_BYTES) throw new PorchlightError('TOO_LARGE', `daemon frame of ${len} bytes (at most ${MAX_FRAME_BYTES})`)
        if (have < 4 + len) break
        this.join()
        let text: string
        try {
          text = UTF8.decode(this.buf.subarray(4, 4 + len))
        } catch {
          malformed('not UTF-8')
        }
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          malformed('not JSON')
        }
        frames.push(this.side === 'request' ? checkFrame(value, 'request') : checkFrame(value, 'response'))
        this.buf = this.buf.subarray(4 + len)
      }
      return frames
    } catch (err) {
      this.failed = err instanceof PorchlightError ? err : new PorchlightError('MALFORMED', `daemon frame: ${(err as Error).message}`)
      this.buf = Buffer.alloc(0)
      this.more = []
      this.moreBytes = 0
      throw this.failed
    }
  }

  private join (): void {
    if (this.moreBytes === 0) return
    this.buf = this.buf.length === 0 && this.more.length === 1 ? this.more[0]! : Buffer.concat([this.buf, ...this.more])
    this.more = []
    this.moreBytes = 0
  }

  /** Bytes of an unfinished frame (the stream must not end with any). */
  get pending (): number { return this.buf.length + this.moreBytes }
}

// ---- where the socket lives ----

/** sun_path is 108 bytes on Linux (104 on macOS), with the NUL: stay well under. */
const MAX_SOCKET_PATH = 100

function uid (): string {
  return String(process.getuid?.() ?? 'user')
}

/** The holder's socket for a home folder (see the file comment). */
export function socketPath (homeDir: string): string {
  const abs = resolve(homeDir)
  const inHome = join(abs, 'porchlight.sock')
  if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) return inHome
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 32)
  return join(tmpdir(), `porchlight-${uid()}`, `${hash}.sock`)
}

/**
 * The folder of a socket must be ours, and nobody else may put a socket there: a client would
 * send its argv (a post's text, file paths) to whatever listens, and print what it answers.
 * The fallback folder is ours alone (0700); a home, ours and writable by nobody else (a home
 * in a shared, group-writable folder is not served, and its socket not trusted).
 */
async function privateSocketDir (path: string, create: boolean): Promise<boolean> {
  const dir = join(path, '..')
  const fallback = dir === join(tmpdir(), `porchlight-${uid()}`)
  if (fallback && create) await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'EEXIST') throw err })
  // A home may be a symlink to the folder that holds it (judged there); the fallback may not.
  const info = await (fallback ? lstat(dir) : stat(dir)).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) return false
  return (info.mode & (fallback ? 0o077 : 0o022)) === 0 && (process.getuid === undefined || info.uid === process.getuid())
}

// ---- which commands ----

/** Commands that open the peer: they go through a holder when there is one. */
export const PEER_COMMANDS: ReadonlySet<string> = new Set([
  'post', 'retract', 'feed', 'clip get', 'hood announce', 'hood approve', 'hood add-admin', 'hood leave',
  'hood revoke-agency', 'hood remove', 'hood settings', 'agency feed', 'agency rfa', 'reply', 'agency replies', 'settings rfa'
])

/**
 * Commands that must not run inside a holder: a second watch, and those that change who this home
 * is or which neighborhoods and areas its open peer follows (the holder would go on with the old
 * ones: its peer reads them once, when it opens).
 */
export const HOLDER_REFUSES: ReadonlySet<string> = new Set([
  'watch', 'hood join', 'hood create', 'id create', 'id rename', 'id import', 'agency create', 'agency follow', 'agency unfollow'
])

// ---- the holder ----

export interface HomeHolder {
  readonly path: string
  close: () => Promise<void>
}

export interface HoldOptions {
  homeDir: string
  /** What holds the home, for messages: 'watch'. */
  holder: string
  peer: ResidentPeer
  io: Io
  /** Runs the CLI (main) with an Io: given, so this file need not import main.ts. */
  run: (argv: readonly string[], io: Io) => Promise<number>
}

/** The peer lent to a command: stop() is the holder's to call, not the command's. */
function lent (peer: ResidentPeer): ResidentPeer {
  return new Proxy(peer, {
    get (target, prop) {
      if (prop === 'stop') return async () => {}
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    }
  })
}

function chunks (s: string): string[] {
  const out: string[] = []
  for (let i = 0; i < s.length; i += MAX_CHUNK_CHARS) out.push(s.slice(i, i + MAX_CHUNK_CHARS))
  return out
}

/** A client that sends nothing in this long is dropped. */
const REQUEST_TIMEOUT_MS = 5_000
/** Output a slow client has not read yet, beyond which it is dropped. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024

/** Starts serving `homeDir` with the open `peer`. The caller holds the home's databases (so any old socket is stale). */
export async function holdHome (opts: HoldOptions): Promise<HomeHolder> {
  const path = socketPath(opts.homeDir)
  if (!await privateSocketDir(path, true)) throw new PorchlightError('REFUSED', `${join(path, '..')} is not a private folder of yours (others can write there); not serving commands`)
  const old = await lstat(path).catch(() => undefined)
  if (old !== undefined) {
    if (!old.isSocket()) throw new PorchlightError('REFUSED', `${path} exists and is not a socket; not serving commands`)
    await unlink(path)
  }
  const pid = process.pid
  const sockets = new Set<Socket>()
  let queue: Promise<void> = Promise.resolve()
  let waiting = 0
  let closing = false

  const runOne = async (sock: Socket, argv: string[]): Promise<void> => {
    const json = argv.includes('--json')
    const send = (f: ResponseFrame): void => {
      if (sock.destroyed) return
      if (sock.writableLength > MAX_UNREAD_BYTES) { sock.destroy(); return }
      sock.write(encodeFrame(f))
    }
    const writer = (t: 'out' | 'err'): Writer => ({ write: (s: string) => { for (const d of chunks(String(s))) send({ t, d }) } })
    const fail = (message: string): void => {
      send({ t: 'err', d: (json ? JSON.stringify(errorJson(new PorchlightError('REFUSED', message))) : `porchlight: ${oneLine(message)}`) + '\n' })
      send({ t: 'exit', code: 1 })
    }
    if (argv.some(a => a === '--home' || a.startsWith('--home='))) { fail('a forwarded command names no --home'); return }
    const name = commandName(argv)
    if (name === undefined || !PEER_COMMANDS.has(name)) {
      // Only the commands a client forwards: anything else (a relay, a second watch) would hold the queue or the process.
      fail(name !== undefined && HOLDER_REFUSES.has(name)
        ? `\`${name}\` cannot run while \`${opts.holder}\` (pid ${pid}) holds ${opts.homeDir}; stop it first`
        : `\`${oneLine(argv.join(' ')).slice(0, 60)}\` is not run by \`${opts.holder}\` (pid ${pid}); run it without the socket`)
      return
    }
    const stderr = writer('err')
    const io: Io = {
      stdout: writer('out'),
      stderr,
      env: { ...opts.io.env, PORCHLIGHT_HOME: opts.homeDir },
      now: opts.io.now,
      // issue 9: commands run here use the holder's open peer.
      openPeer: async (_home: Home, init: PeerInit) => {
        const own = new Set(opts.peer.relays())
        if ((init.relays ?? []).some(r => !own.has(r))) {
          stderr.write(`porchlight: note: \`${opts.holder}\` (pid ${pid}) holds this home and uses its own relays; --relay / $PORCHLIGHT_RELAY is not used\n`)
        }
        return lent(opts.peer)
      }
    }
    let code = 1
    try {
      code = await opts.run(argv, io)
    } catch (err) {
      stderr.write(`porchlight: internal error: ${oneLine((err as Error).message ?? String(err))}\n`)
    }
    send({ t: 'exit', code: Math.min(Math.max(code, 0), MAX_EXIT_CODE) })
  }

  const onConnection = (sock: Socket): void => {
    if (closing) { sock.destroy(); return }
    sockets.add(sock)
    sock.once('close', () => { sockets.delete(sock) })
    sock.on('error', () => { sock.destroy() })
    const decoder = new FrameDecoder('request')
    let got = false
    const timer = setTimeout(() => { sock.destroy() }, REQUEST_TIMEOUT_MS)
    timer.unref()
    sock.on('data', (chunk: Buffer) => {
      let frames: Frame[]
      try {
        frames = decoder.push(chunk)
      } catch {
        sock.destroy()
        return
      }
      if (frames.length === 0) return
      // One run frame per connection, nothing after it.
      if (got || frames.length > 1) { sock.destroy(); return }
      got = true
      clearTimeout(timer)
      const { argv } = frames[0] as RequestFrame
      if (waiting >= MAX_WAITING) {
        sock.end(Buffer.concat([
          encodeFrame({ t: 'err', d: `porchlight: ${MAX_WAITING} commands are already waiting for \`${opts.holder}\` (pid ${pid}); try again\n` }),
          encodeFrame({ t: 'exit', code: 1 })
        ]))
        return
      }
      waiting++
      queue = queue.then(async () => {
        try {
          if (!sock.destroyed && !closing) await runOne(sock, argv)
        } finally {
          waiting--
          sock.end()
        }
      })
    })
  }

  const server: Server = createServer(onConnection)
  server.maxConnections = MAX_WAITING + 4
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Made 0600 as it is bound (listen binds a Unix socket synchronously), not only by the chmod
    // after: in a home others can enter, nobody may connect in between.
    const umask = process.umask(0o177)
    try {
      server.listen(path, () => { server.off('error', reject); resolve() })
    } finally {
      process.umask(umask)
    }
  })
  await chmod(path, 0o600)
  return {
    path,
    async close () {
      closing = true
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
      // Let the command that is running finish with the peer (bounded), then drop the rest.
      await Promise.race([queue, new Promise(resolve => { setTimeout(resolve, 10_000).unref() })])
      for (const s of sockets) s.destroy()
      await unlink(path).catch(() => undefined)
    }
  }
}

/** The command words of an argv (as main.ts's parse finds them), without parsing options. */
function commandName (argv: readonly string[]): string | undefined {
  let i = 0
  while (i < argv.length && argv[i]!.startsWith('-')) i += argv[i] === '--home' ? 2 : 1
  const words = argv.slice(i, i + 2).filter(w => !w.startsWith('-'))
  const two = words.slice(0, 2).join(' ')
  for (const n of [...PEER_COMMANDS, ...HOLDER_REFUSES]) if (n === two) return n
  return words[0] !== undefined && [...PEER_COMMANDS, ...HOLDER_REFUSES].includes(words[0]) ? words[0] : undefined
}

// ---- the client ----

/** Options whose values are file paths, made absolute before a command is forwarded. */
const PATH_OPTIONS = ['--clip', '--out']
const PATH_SHORT = '-o'

/**
 * argv without --home, with file paths absolute (resolved against `cwd`); `clip get` without -o
 * saves in `cwd`; $PORCHLIGHT_RELAY of the typing shell (`envRelay`), when no --relay is given,
 * as --relay options (the holder has its own environment: so it says that it does not use them,
 * as for --relay, and `agency rfa` asks them, as it would here).
 */
export function forwardedArgv (name: string, argv: readonly string[], cwd: string, envRelay?: string): string[] {
  const out: string[] = []
  const abs = (p: string): string => isAbsolute(p) ? p : resolve(cwd, p)
  let sawOut = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') { out.push(...argv.slice(i)); break }
    if (a === '--home') { i++; continue }
    if (a.startsWith('--home=')) continue
    if (PATH_OPTIONS.includes(a) || a === PATH_SHORT) {
      if (a !== '--clip') sawOut = true
      out.push(a)
      if (i + 1 < argv.length) out.push(abs(argv[++i]!))
      continue
    }
    const eq = PATH_OPTIONS.find(o => a.startsWith(o + '='))
    if (eq !== undefined) {
      if (eq !== '--clip') sawOut = true
      out.push(`${eq}=${abs(a.slice(eq.length + 1))}`)
      continue
    }
    if (a.startsWith(PATH_SHORT) && a.length > 2 && !a.startsWith('--')) { sawOut = true; out.push(PATH_SHORT, abs(a.slice(2))); continue }
    out.push(a)
  }
  if (name === 'clip get' && !sawOut) out.push('--out', cwd)
  const hasRelay = argv.some(a => a === '--relay' || a.startsWith('--relay='))
  if (envRelay !== undefined && envRelay !== '' && !hasRelay && !argv.includes('--')) {
    for (const r of envRelay.split(',')) out.push(`--relay=${r}`)
  }
  return out
}

/**
 * If a holder serves `homeDir` and `name` goes through it, runs the command there and returns
 * its exit code; undefined when the command should run here as usual (no holder, a stale socket
 * (removed), or a command that does not need the peer).
 */
export async function forwardToHolder (name: string, argv: readonly string[], homeDir: string, io: Io): Promise<number | undefined> {
  if (io.openPeer !== undefined) return undefined // already inside the holder
  if (!PEER_COMMANDS.has(name) && !HOLDER_REFUSES.has(name)) return undefined
  const path = socketPath(homeDir)
  if (!await privateSocketDir(path, false)) return undefined
  const sock = await new Promise<Socket | undefined>((resolve, reject) => {
    const s = createConnection(path)
    const timer = setTimeout(() => { s.destroy(); resolve(undefined) }, 5_000)
    s.once('connect', () => { clearTimeout(timer); resolve(s) })
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'ECONNREFUSED') {
        // The holder died and left its socket: remove it (only if it still is a socket) and go on.
        void lstat(path).then(async info => { if (info.isSocket()) await unlink(path) }).catch(() => undefined).then(() => { resolve(undefined) })
      } else if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
        resolve(undefined)
      } else {
        reject(new PorchlightError('IO', `cannot reach the process holding ${homeDir} at ${path}: ${err.message}`))
      }
    })
  })
  if (sock === undefined) return undefined
  const json = argv.includes('--json')
  const decoder = new FrameDecoder('response')
  return await new Promise<number>(resolve => {
    let done = false
    const finish = (code: number, message?: string): void => {
      if (done) return
      done = true
      if (message !== undefined) {
        io.stderr.write((json ? JSON.stringify(errorJson(new PorchlightError('UNAVAILABLE', message))) : `porchlight: ${message}`) + '\n')
      }
      sock.destroy()
      resolve(code)
    }
    sock.on('data', (chunk: Buffer) => {
      let frames: Frame[]
      try {
        frames = decoder.push(chunk)
      } catch (err) {
        finish(1, `the process holding ${homeDir} answered badly: ${(err as Error).message}`)
        return
      }
      for (const f of frames as ResponseFrame[]) {
        if (done) return
        if (f.t === 'out') io.stdout.write(f.d)
        else if (f.t === 'err') io.stderr.write(f.d)
        else finish(f.code)
      }
    })
    sock.on('error', () => { finish(1, `lost the process holding ${homeDir} before the command finished`) })
    sock.on('close', () => { finish(1, `the process holding ${homeDir} stopped before the command finished`) })
    sock.write(encodeFrame({ t: 'run', argv: forwardedArgv(name, argv, process.cwd(), io.env.PORCHLIGHT_RELAY) }))
  })
}

// ---- a relay's data folder ----

const RELAY_PID_FILE = 'relay.pid'

function isLocked (err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === 'LEVEL_LOCKED') return true
  }
  return false
}

/** A relay that could not start because another holds its data folder: one clear line. Other errors as they were. */
export async function relayInUse (err: unknown, dataDir: string): Promise<unknown> {
  if (!isLocked(err)) return err
  const pid = (await readFile(join(dataDir, RELAY_PID_FILE), 'utf8').catch(() => '')).trim()
  const by = /^\d{1,10}$/.test(pid) ? ` (pid ${pid})` : ''
  return new PorchlightError('REFUSED', `relay data folder ${resolve(dataDir)} is in use by another relay${by}`, { cause: err })
}

/** Notes the running relay's pid in its data folder (for relayInUse); returns a function removing it. */
export async function noteRelayPid (dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, RELAY_PID_FILE)
  await writeFile(path, `${process.pid}\n`, { mode: 0o600 })
  return async () => { await unlink(path).catch(() => undefined) }
}

/** A home whose databases another process holds (no holder socket: a short command, or an older version). */
export function homeInUse (err: unknown, homeDir: string): unknown {
  if (!isLocked(err)) return err
  return new PorchlightError('REFUSED', `the home ${resolve(homeDir)} is in use by another porchlight command; try again when it is done`, { cause: err })
}
