/**
 * The `porchlight` command line: argument parsing, the command table, help, and the one-line
 * error contract. The commands live in groups (home.ts, network.ts, clips.ts, transparency.ts), merged into
 * COMMANDS below; adding one is one entry in a group (see `Command` in command.ts).
 *
 *   porchlight [--home DIR] [--json] COMMAND [ARGS] [OPTIONS]
 *
 * Exit codes: 0 success, 1 failure, 2 usage error. An error is ONE line on stderr,
 * `porchlight: <message>` (with --json: `{"error":{"code","message"}}`); a stack trace only
 * with PORCHLIGHT_DEBUG=1. Results go to stdout (shapes documented in node/cli/output.ts), notes
 * for people to stderr. Nothing here loads the network stack: commands that use it load it
 * when they run (loadStack in command.ts).
 */
import { parseArgs } from 'node:util'
// Inlined by the build (dist/ sits at another depth than node/cli/).
import pkg from '../../package.json' with { type: 'json' }
import { PorchlightError } from '../../protocol/errors.ts'
import { defaultHomeDir } from '../storage/home-dir.ts'
import { errorJson, oneLine, Output, table } from './output.ts'
import { Context, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, GLOBAL_OPTIONS, UsageError, type Command, type Io, type OptionSpec, type OptionValue } from './command.ts'
import { HOME_COMMANDS } from './home.ts'
import { NETWORK_COMMANDS } from './network.ts'
import { CLIP_COMMANDS } from './clips.ts'
import { TRANSPARENCY_COMMANDS } from './transparency.ts'
import { forwardToHolder } from './daemon.ts'
import { readHiddenLine } from './passphrase.ts'

export type { Command, Io } from './command.ts'

/** Longest command name in words ('hood attest-agency' is 2). */
const MAX_COMMAND_WORDS = 2

function processIo (): Io {
  return {
    stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now,
    ...(process.stdin.isTTY ? { readSecret: async (prompt: string) => await readHiddenLine(prompt) } : {})
  }
}

export const COMMANDS: Record<string, Command> = {
  help: {
    summary: 'Show help for a command',
    usage: '[COMMAND]',
    args: { min: 0, max: MAX_COMMAND_WORDS },
    async run (ctx) {
      ctx.io.stdout.write(helpFor(ctx.args.join(' ')) + '\n')
    }
  },
  ...HOME_COMMANDS,
  ...NETWORK_COMMANDS,
  ...CLIP_COMMANDS,
  ...TRANSPARENCY_COMMANDS
}

// ---- help ----

export function version (): string {
  return (pkg as { version?: string }).version ?? '0.0.0'
}

function optionLines (options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short !== undefined ? `-${o.short}, ` : ''}--${name}${o.value !== undefined ? ` ${o.value}` : ''}`
    return [flag, o.help + (o.multiple === true ? ' (repeatable)' : '')] as const
  })
  return table(rows).split('\n').map(l => `  ${l}`)
}

/**
 * The commands in table order, each group ('hood …') together where its first command stands:
 * the table is merged from the groups by what they need (home.ts, network.ts, clips.ts), so
 * without this `hood remove` would be listed far from `hood create`.
 */
function listedCommands (): string[] {
  const names = Object.keys(COMMANDS)
  const group = (n: string): string => n.split(' ')[0]!
  const first = new Map<string, number>()
  names.forEach((n, i) => { if (!first.has(group(n))) first.set(group(n), i) })
  return names.map((n, i) => ({ n, i })).sort((a, b) => first.get(group(a.n))! - first.get(group(b.n))! || a.i - b.i).map(x => x.n)
}

function generalHelp (): string {
  const names = listedCommands()
  const width = Math.max(...names.map(n => n.length))
  return [
    `porchlight ${version()}: neighborhood safety network, no company in the middle`,
    '',
    'Usage: porchlight [--home DIR] [--json] COMMAND [ARGS] [OPTIONS]',
    '',
    'Commands:',
    ...names.map(n => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Run `porchlight help COMMAND` for one command\'s options.'
  ].join('\n')
}

function commandHelp (name: string, cmd: Command): string {
  const lines = [`Usage: porchlight ${name}${cmd.usage !== '' ? ` ${cmd.usage}` : ''}`, '', cmd.summary + '.']
  if (cmd.help !== undefined) lines.push('', cmd.help)
  if (cmd.options !== undefined && Object.keys(cmd.options).length > 0) lines.push('', 'Options:', ...optionLines(cmd.options))
  lines.push('', 'Global options: --home DIR, --json, --help')
  return lines.join('\n')
}

function groupHelp (group: string): string {
  const names = Object.keys(COMMANDS).filter(n => n.startsWith(group + ' '))
  const width = Math.max(...names.map(n => n.length))
  return [`Usage: porchlight ${group} SUBCOMMAND`, '', ...names.map(n => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`)].join('\n')
}

function isGroup (word: string): boolean {
  return Object.keys(COMMANDS).some(n => n.startsWith(word + ' '))
}

/** Help for a command, a group ('hood'), or everything (''). */
export function helpFor (topic: string): string {
  if (topic === '') return generalHelp()
  const cmd = COMMANDS[topic]
  if (cmd !== undefined) return commandHelp(topic, cmd)
  if (isGroup(topic)) return groupHelp(topic)
  throw new UsageError(`no command "${topic}" (see porchlight --help)`)
}

// ---- parsing and running ----

interface Parsed {
  name: string
  command: Command
  args: string[]
  values: Record<string, OptionValue>
}

/** Splits argv into the command (longest table match after leading global options) and its arguments. */
function parse (argv: readonly string[]): Parsed | { help: string } | { version: true } {
  let i = 0
  const leading: string[] = []
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const a = argv[i]!
    leading.push(a)
    if (a === '--home') leading.push(argv[++i] ?? '')
  }
  const words: string[] = []
  for (let j = i; j < argv.length && j - i < MAX_COMMAND_WORDS && !argv[j]!.startsWith('-'); j++) words.push(argv[j]!)
  let name: string | undefined
  for (let n = words.length; n > 0 && name === undefined; n--) {
    const candidate = words.slice(0, n).join(' ')
    if (COMMANDS[candidate] !== undefined) name = candidate
  }
  if (name === undefined) {
    const globals = parseOptions('porchlight', [...leading, ...argv.slice(i + words.length)], GLOBAL_OPTIONS)
    if (globals.values.version === true) return { version: true }
    if (words.length === 0) return { help: generalHelp() }
    if (isGroup(words[0]!)) {
      if (words.length === 1) {
        if (globals.values.help === true) return { help: groupHelp(words[0]!) }
        throw new UsageError(`"${words[0]}" needs a subcommand: ${subcommands(words[0]!)}`)
      }
      throw new UsageError(`unknown command "${words.slice(0, 2).join(' ')}"; ${words[0]} commands: ${subcommands(words[0]!)}`)
    }
    throw new UsageError(`unknown command "${words[0]!.slice(0, 40)}" (see porchlight --help)`)
  }
  const command = COMMANDS[name]!
  const rest = [...leading, ...argv.slice(i + name.split(' ').length)]
  const { values, positionals } = parseOptions(name, rest, { ...GLOBAL_OPTIONS, ...command.options })
  if (values.version === true) return { version: true }
  if (values.help === true) return { help: commandHelp(name, command) }
  const { min, max } = command.args ?? { min: 0, max: 0 }
  if (positionals.length < min) {
    throw new UsageError(`${name}: missing argument (usage: porchlight ${name} ${command.usage})`)
  }
  if (positionals.length > max) {
    throw new UsageError(`${name}: unexpected argument "${positionals[max]!.slice(0, 40)}" (usage: porchlight ${name} ${command.usage})`)
  }
  return { name, command, args: positionals, values }
}

function subcommands (group: string): string {
  return Object.keys(COMMANDS).filter(n => n.startsWith(group + ' ')).map(n => n.slice(group.length + 1)).join(', ')
}

function parseOptions (name: string, args: string[], options: Readonly<Record<string, OptionSpec>>): { values: Record<string, OptionValue>, positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }> = {}
  for (const [k, o] of Object.entries(options)) {
    config[k] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}), ...(o.multiple === true ? { multiple: true } : {}) }
  }
  try {
    const { values, positionals } = parseArgs({ args, options: config, allowPositionals: true, strict: true })
    return { values: values as Record<string, OptionValue>, positionals }
  } catch (err) {
    const e = err as { code?: string, message: string }
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /'([^']+)'/.exec(e.message)?.[1] ?? 'option'
      throw new UsageError(`${name}: unknown option ${opt} (see porchlight help${name === 'porchlight' ? '' : ` ${name}`})`)
    }
    if (e.code?.startsWith('ERR_PARSE_ARGS') === true) throw new UsageError(`${name}: ${e.message.split('. ')[0]!}`)
    throw err
  }
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). */
export async function main (argv: readonly string[], io: Io = processIo()): Promise<number> {
  const json = argv.includes('--json')
  const debug = io.env.PORCHLIGHT_DEBUG === '1'
  try {
    const parsed = parse(argv)
    if ('version' in parsed) {
      const v = version()
      io.stdout.write(json ? JSON.stringify({ version: v }) + '\n' : v + '\n')
      return EXIT_OK
    }
    if ('help' in parsed) {
      io.stdout.write(parsed.help + '\n')
      return EXIT_OK
    }
    const homeOption = parsed.values.home
    const homeDir = typeof homeOption === 'string' && homeOption !== '' ? homeOption : defaultHomeDir(io.env)
    // A home held by a running `watch` runs the command there (daemon.ts).
    const forwarded = await forwardToHolder(parsed.name, argv, homeDir, io)
    if (forwarded !== undefined) return forwarded
    const out = new Output(io.stdout, io.stderr, parsed.values.json === true)
    await parsed.command.run(new Context(parsed.name, parsed.args, parsed.values, out, io, homeDir))
    return EXIT_OK
  } catch (err) {
    io.stderr.write((json ? JSON.stringify(errorJson(err)) : `porchlight: ${errorMessage(err)}`) + '\n')
    if (debug && err instanceof Error && err.stack !== undefined) io.stderr.write(err.stack + '\n')
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE
  }
}

function errorMessage (err: unknown): string {
  if (err instanceof PorchlightError) return oneLine(err.message)
  const msg = err instanceof Error ? err.message : String(err)
  return `internal error: ${oneLine(msg)} (run with PORCHLIGHT_DEBUG=1 for details)`
}
