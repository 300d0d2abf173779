/**
 * Test fixtures for the real `porchlight` command as separate processes: a relay child
 * process whose first stdout line (with --json) gives its peer id, addresses and HTTP URL,
 * and one-shot CLI runs. Every child started here is killed by `killAll` (by its pid).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { socketPath } from '../../node/cli/daemon.ts'
import { cli, tempDir } from './network.ts'

export const BIN = fileURLToPath(new URL('../../node/bin/porchlight.js', import.meta.url))
/**
 * A cold start compiles TypeScript and loads libp2p: seconds when idle, and more than 45 s was
 * seen on a 2-core machine shared with other test runs. Generous: a hang still fails.
 */
const START_TIMEOUT_MS = 120_000
const RUN_TIMEOUT_MS = 120_000

const children = new Set<ChildProcess>()

export interface RelayProcess {
  child: ChildProcess
  peerId: string
  addresses: string[]
  /** The TCP multiaddr (with /p2p/). */
  tcp: string
  http: string
  /** Everything the relay wrote to stderr so far (its log). */
  log: () => string
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts `porchlight --json relay ARGS` and waits for the line with its addresses. */
export async function spawnRelay (args: string[]): Promise<RelayProcess> {
  const child = spawn(process.execPath, [BIN, '--json', 'relay', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let err = ''
  let out = ''
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => {
    child.once('exit', (code, signal) => { children.delete(child); resolve({ code, signal }) })
  })
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`relay did not start in time: ${err}`)) }, START_TIMEOUT_MS)
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      out += s
      const nl = out.indexOf('\n')
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)) }
    })
    void exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`relay exited (${code ?? signal}) before starting: ${err}`)) })
  })
  const info = JSON.parse(line) as { peerId: string, addresses: string[], http: string }
  const tcp = info.addresses.find(a => a.includes('/tcp/') && !a.includes('/ws'))
  if (tcp === undefined) throw new Error(`relay printed no TCP address: ${line}`)
  return { child, ...info, tcp, log: () => err, exited }
}

/** Sends `signal` and waits for the exit; returns the exit and how long it took. */
export async function stopProcess (p: RelayProcess, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<{ code: number | null, signal: NodeJS.Signals | null, ms: number }> {
  const started = Date.now()
  p.child.kill(signal)
  const timeout = new Promise<never>((_resolve, reject) => {
    setTimeout(() => { reject(new Error(`process did not exit within ${timeoutMs} ms of ${signal}`)) }, timeoutMs).unref()
  })
  const exit = await Promise.race([p.exited, timeout])
  return { ...exit, ms: Date.now() - started }
}

export interface RunResult { code: number | null, out: string, err: string, json: any }

/** Runs `porchlight --home HOME ARGS` to completion. */
export async function run (home: string, args: string[]): Promise<RunResult> {
  const child = spawn(process.execPath, [BIN, '--home', home, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORCHLIGHT_HOME: home, PORCHLIGHT_RELAY: '', PORCHLIGHT_PUBLIC_DELAY_MS: '0' }
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`porchlight ${args.join(' ')} timed out: ${err}`)) }, RUN_TIMEOUT_MS)
    child.once('close', (c) => { clearTimeout(timer); children.delete(child); resolve(c) })
  })
  let json: any
  try { json = JSON.parse(out.trim().split('\n').pop() ?? '') } catch { json = undefined }
  return { code, out, err, json }
}

/** Runs and insists on exit code 0. */
export async function runOk (home: string, args: string[]): Promise<RunResult> {
  const r = await run(home, args)
  if (r.code !== 0) throw new Error(`porchlight ${args.join(' ')} exited ${r.code}: ${r.err}`)
  return r
}

export interface WatchProcess {
  child: ChildProcess
  /** Resolves with the first post (a --json line) it printed since it started that matches; waits for one. */
  next: (match: (post: any) => boolean, timeoutMs?: number) => Promise<any>
  /** Everything it wrote to stderr so far. */
  log: () => string
}

/**
 * Starts `porchlight --home HOME --json watch` and waits until it holds the home,
 * so the CLI's other commands for it (`run`, `cli`) run inside it (node/cli/daemon.ts), and it
 * prints each post it hears as one JSON line.
 */
export async function spawnWatch (home: string): Promise<WatchProcess> {
  const child = spawn(process.execPath, [BIN, '--home', home, '--json', 'watch'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PORCHLIGHT_HOME: home, PORCHLIGHT_RELAY: '', PORCHLIGHT_PUBLIC_DELAY_MS: '0' }
  })
  children.add(child)
  child.once('exit', () => { children.delete(child) })
  let err = ''
  let buffered = ''
  const posts: any[] = []
  const waiters = new Set<() => void>()
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    buffered += s
    const lines = buffered.split('\n')
    buffered = lines.pop()!
    for (const line of lines) if (line.trim() !== '') posts.push(JSON.parse(line))
    for (const w of waiters) w()
  })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s; for (const w of waiters) w() })
  const exited = new Promise<never>((_resolve, reject) => {
    child.once('exit', (code, signal) => { reject(new Error(`watch exited (${code ?? signal}): ${err}`)) })
  })
  exited.catch(() => undefined)
  const until = async (check: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    if (check()) return
    let waiter: (() => void) | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await Promise.race([exited, new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => { reject(new Error(`watch: timed out waiting for ${what}: ${err}`)) }, timeoutMs)
        waiter = () => { if (check()) resolve() }
        waiters.add(waiter)
      })])
    } finally {
      clearTimeout(timer)
      if (waiter !== undefined) waiters.delete(waiter)
    }
  }
  // With --json it says nothing when it is ready: it is once it listens on the home's socket.
  const poll = setInterval(() => { for (const w of waiters) w() }, 100)
  try {
    await until(() => existsSync(socketPath(home)), START_TIMEOUT_MS, 'it to hold the home')
  } finally {
    clearInterval(poll)
  }
  return {
    child,
    log: () => err,
    next: async (match, timeoutMs = 30_000) => {
      await until(() => posts.some(match), timeoutMs, 'a matching post')
      return posts.find(match)
    }
  }
}

/** Kills every child process still running (SIGKILL, by pid). */
export async function killAll (): Promise<void> {
  const waits: Array<Promise<unknown>> = []
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise(resolve => { child.once('exit', resolve) }))
      child.kill('SIGKILL')
    }
  }
  children.clear()
  await Promise.all(waits)
}

/**
 * A relay process and two residents' homes, Ana (admin of "Maple Street", area u4pruy) and Ben
 * (not joined yet): `serve()` restarts the relay on the same data folder and port with the
 * neighborhood's token, as an operator would after `hood relay-token`.
 */
export async function hoodWithRelayProcess (): Promise<{ relay: () => RelayProcess, serve: () => Promise<RelayProcess>, ana: string, ben: string, invite: string }> {
  const data = await tempDir('pl-proc-relay-')
  let relay = await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0'])
  const port = relay.tcp.split('/')[4]!
  const [ana, ben] = [await tempDir('pl-Ana-'), await tempDir('pl-Ben-')]
  await cli(ana, ['id', 'create', '--name', 'Ana'])
  await cli(ben, ['id', 'create', '--name', 'Ben'])
  const created = await cli(ana, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', relay.tcp])
  const token = (await cli(ana, ['--json', 'hood', 'relay-token'])).json.token as string
  const serve = async (): Promise<RelayProcess> => {
    relay = await spawnRelay(['--data', data, '--tcp', port, '--ws', '0', '--http', '0', '--serve', token])
    return relay
  }
  return { relay: () => relay, serve, ana, ben, invite: created.json.invite as string }
}
