/**
 * What every command group of the CLI shares: the command and option types, the context a
 * command runs with, the options several commands take, the one --ttl parser, and loadStack()
 * (the network stack, loaded only by commands that use it). Groups import this file, never
 * main.ts; main.ts imports the groups.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { checkRelayAddrs } from '../../protocol/invite.ts'
import { Home } from '../storage/home-dir.ts'
import type { Output, Writer } from './output.ts'
import type { KdfParams } from '../../protocol/backup.ts'
import type { PeerInit, ResidentPeer } from '../resident.ts'
import { homeInUse } from './daemon.ts'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
export const DAY_MS = 86_400_000

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** Repeatable: the value is a string[]. */
  readonly multiple?: boolean
  /** Placeholder shown in help, e.g. 'GEOHASH'. */
  readonly value?: string
  readonly help: string
}

/**
 * One command: an entry in one of the groups' tables (home.ts, network.ts, clips.ts), e.g.
 *
 *   'post': {
 *     summary: 'Post an alert to your neighborhood',
 *     usage: '--kind KIND --text TEXT [--public]',
 *     options: { kind: { type: 'string', value: 'KIND', help: '…' }, public: { type: 'boolean', help: '…' } },
 *     async run (ctx) { const home = await ctx.home(); … ctx.out.result(json, human) }
 *   }
 *
 * Global options (--home, --json, --help, --version) are added to every command. A command that
 * talks to the network gets libp2p from `await loadStack()` inside `run`, so that help and the
 * offline commands never load it.
 */
export interface Command {
  /** One line for `porchlight --help`. */
  readonly summary: string
  /** What follows the command name in its usage line. */
  readonly usage: string
  /** Longer text for `porchlight help COMMAND`. */
  readonly help?: string
  readonly options?: Readonly<Record<string, OptionSpec>>
  /** How many positional arguments; default none. */
  readonly args?: { readonly min: number, readonly max: number }
  /** Long-running commands (relay, watch) simply do not resolve until they stop. */
  run: (ctx: Context) => Promise<void>
}

/** What the CLI needs from the process; tests pass their own. */
export interface Io {
  readonly stdout: Writer
  readonly stderr: Writer
  readonly env: Readonly<Record<string, string | undefined>>
  readonly now: () => number
  /**
   * Set inside a process holding the home (node/cli/daemon.ts), where commands use its open
   * peer instead of opening the home's databases (which it has locked).
   */
  readonly openPeer?: (home: Home, init: PeerInit) => Promise<ResidentPeer>
  /** Reads a line from the terminal without echo (a passphrase); absent when stdin is not a terminal. */
  readonly readSecret?: (prompt: string) => Promise<string>
  /** Tests only: cheaper scrypt parameters for `id export` (a real process always uses DEFAULT_KDF). */
  readonly backupKdf?: KdfParams
}

/** A usage error: exit code 2, code BAD_ARGUMENT. */
export class UsageError extends PorchlightError {
  constructor (message: string) {
    super('BAD_ARGUMENT', message)
  }
}

export type OptionValue = string | boolean | string[] | undefined

export class Context {
  private opened: Home | undefined

  constructor (
    readonly command: string,
    readonly args: readonly string[],
    private readonly values: Readonly<Record<string, OptionValue>>,
    readonly out: Output,
    readonly io: Io,
    readonly homeDir: string
  ) {}

  /** The home folder, opened on first use (created only when something is written). */
  async home (): Promise<Home> {
    this.opened ??= await Home.open(this.homeDir, { create: false })
    return this.opened
  }

  now (): number { return this.io.now() }

  /** The one way commands open the peer: the holder of the home lends its own (daemon.ts). */
  async openPeer (init: PeerInit): Promise<ResidentPeer> {
    const home = await this.home()
    if (this.io.openPeer !== undefined) return await this.io.openPeer(home, init)
    const { openResidentPeer } = await loadStack()
    return await openResidentPeer(home, init).catch((err: unknown) => { throw homeInUse(err, this.homeDir) })
  }

  string (name: string): string | undefined {
    const v = this.values[name]
    return typeof v === 'string' ? v : undefined
  }

  /** A string option the command cannot do without: usage error if missing. */
  required (name: string): string {
    const v = this.string(name)
    if (v === undefined) throw new UsageError(`${this.command}: --${name} is required`)
    return v
  }

  strings (name: string): string[] {
    const v = this.values[name]
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
  }

  flag (name: string): boolean {
    return this.values[name] === true
  }
}

// ---- options shared by several commands ----

export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  home: { type: 'string', value: 'DIR', help: 'home folder (default $PORCHLIGHT_HOME, else ~/.porchlight)' },
  json: { type: 'boolean', help: 'print one JSON object (shapes in node/cli/output.ts); errors as JSON on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', help: 'print the version' }
}

export const HOOD_OPTION: OptionSpec = { type: 'string', value: 'NAME_OR_ID', help: 'which neighborhood (name, or id or id prefix); optional when you are in one' }
export const RELAY_OPTION: OptionSpec = { type: 'string', multiple: true, value: 'MULTIADDR', help: 'a relay to use besides those the neighborhood (or `agency follow --relay`) named (default $PORCHLIGHT_RELAY, comma-separated)' }

/** The --ttl option of a command, read with parseTtl. */
export function ttlOption (what: string, fallbackMs: number, maxMs: number): OptionSpec {
  return { type: 'string', value: 'DURATION', help: `${what}, e.g. 30m, 12h or 7d (default ${fallbackMs / DAY_MS}d, at most ${maxMs / DAY_MS}d)` }
}

const TTL_UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: DAY_MS }

/**
 * --ttl: minutes, hours or days ('30m', '12h', '7d') → ms; absent → `fallbackMs`. Not a
 * duration: usage error (exit 2); zero or over `maxMs`: OUT_OF_RANGE (exit 1).
 */
export function parseTtl (ctx: Pick<Context, 'string'>, fallbackMs: number, maxMs: number): number {
  const value = ctx.string('ttl')
  if (value === undefined) return fallbackMs
  const m = /^(\d{1,6})([mhd])$/.exec(value)
  if (m === null) throw new UsageError(`--ttl "${value.slice(0, 20)}" is not a duration like 30m, 12h or 7d`)
  const ms = Number(m[1]) * TTL_UNITS[m[2]!]!
  if (ms <= 0 || ms > maxMs) fail('OUT_OF_RANGE', `--ttl must be more than 0 and at most ${maxMs / DAY_MS}d`)
  return ms
}

/**
 * Relays named with --relay, else $PORCHLIGHT_RELAY (comma-separated), else none; parsed
 * (parseRelays), so that a typo is one line here, not an internal error when the peer dials.
 */
export async function relaysFrom (ctx: Context): Promise<string[]> {
  const given = ctx.strings('relay')
  if (given.length > 0) return await parseRelays(given)
  const env = ctx.io.env.PORCHLIGHT_RELAY
  return env !== undefined && env !== '' ? await parseRelays(env.split(','), 'PORCHLIGHT_RELAY') : []
}

/** Parses each multiaddr fully (so typos fail here, not at dial time); at most MAX_RELAYS, no duplicates. */
export async function parseRelays (relays: readonly string[], from = '--relay'): Promise<string[]> {
  if (relays.length === 0) return []
  // Loaded here, not at start-up: it brings multiformats and DNS resolution code along.
  const { multiaddr } = await import('@multiformats/multiaddr')
  const out = relays.map(r => {
    try {
      return multiaddr(r).toString()
    } catch (err) {
      fail('BAD_ARGUMENT', `${from} "${r.slice(0, 80)}" is not a multiaddr: ${(err as Error).message}`)
    }
  })
  checkRelayAddrs(out)
  return out
}

/**
 * A path inside the package (e.g. 'web/dist'): found from this module's place, which is
 * node/cli/ in the sources and dist/ or dist/chunks/ in the build.
 */
export function packagePath (rel: string): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir)
  return join(dir, rel)
}

export function isoTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// ---- the network stack ----

/**
 * Figures of the modules behind loadStack(), repeated for help texts so that help does not
 * load them (test/node/cli.test.ts checks that they agree with RELAY_DEFAULTS,
 * MAX_PUBLIC_DELAY_MS and MIN_ID_PREFIX).
 */
export const HELP_FIGURES = {
  relay: { dataDir: './data', host: '127.0.0.1', tcpPort: 4001, wsPort: 4002, httpPort: 8080 },
  maxPublicDelayMs: 30_000,
  minIdPrefix: 8
} as const

let stack: Promise<typeof import('./stack.ts')> | undefined

/**
 * libp2p, Helia, gossipsub and LevelDB (node/cli/stack.ts), loaded on first call after the
 * polyfill they need: only the commands that use the network pay for them.
 */
export function loadStack (): Promise<typeof import('./stack.ts')> {
  stack ??= (async () => {
    await import('../polyfill.ts')
    return await import('./stack.ts')
  })()
  return stack
}
