/**
 * The passphrase of `id export` and `id import`: from --passphrase-file FILE (its first line),
 * else $PORCHLIGHT_PASSPHRASE, else typed on the terminal without echo (twice when making a
 * backup). Never from an argument: those show in `ps` and in the shell's history.
 */
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { checkNewPassphrase, MAX_PASSPHRASE_BYTES } from '../../protocol/backup.ts'
import { UsageError, type Context, type OptionSpec } from './command.ts'

export const PASSPHRASE_FILE_OPTION: OptionSpec = {
  type: 'string',
  value: 'FILE',
  help: 'read the passphrase from the first line of FILE (else $PORCHLIGHT_PASSPHRASE, else it is asked for on the terminal)'
}

/** The passphrase for this command; `confirm`: asked twice on a terminal (making a backup). */
export async function passphrase (ctx: Context, opts: { confirm: boolean }): Promise<string> {
  const pass = await readPassphrase(ctx, opts)
  // Checked here, before anything is said or written (createBackup checks again).
  if (opts.confirm) checkNewPassphrase(pass)
  return pass
}

async function readPassphrase (ctx: Context, opts: { confirm: boolean }): Promise<string> {
  const file = ctx.string('passphrase-file')
  if (file !== undefined) return await passphraseFromFile(resolve(file))
  const env = ctx.io.env.PORCHLIGHT_PASSPHRASE
  if (env !== undefined && env !== '') return env
  const ask = ctx.io.readSecret
  if (ask === undefined) {
    throw new UsageError(`${ctx.command}: no passphrase: run it on a terminal to type one, or give --passphrase-file FILE or $PORCHLIGHT_PASSPHRASE`)
  }
  const first = await ask(opts.confirm ? 'Passphrase for the backup (at least 8 characters; a few random words are best): ' : 'Passphrase of the backup: ')
  if (first === '') fail('BAD_ARGUMENT', 'no passphrase typed')
  if (opts.confirm) checkNewPassphrase(first)
  if (opts.confirm && await ask('The same passphrase again: ') !== first) fail('BAD_ARGUMENT', 'the two passphrases differ; nothing was written')
  return first
}

async function passphraseFromFile (path: string): Promise<string> {
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const buf = Buffer.alloc(MAX_PASSPHRASE_BYTES + 3)
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await fh.close()
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    fail('IO', `cannot read the passphrase file ${path}: ${e.code ?? e.message}`, err)
  }
  // The first line, without its line end.
  const line = text.split(/\r?\n/)[0]!
  if (line === '') fail('BAD_ARGUMENT', `the passphrase file ${path} is empty`)
  return line
}

/**
 * Reads one line from the terminal without echoing it (raw mode): Enter ends it, Backspace
 * deletes, Ctrl-C or Ctrl-D cancel. The prompt goes to stderr, so stdout stays the result.
 */
export function readHiddenLine (prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    output.write(prompt)
    let line = ''
    const finish = (err: PorchlightError | undefined): void => {
      input.removeListener('data', onData)
      input.removeListener('end', onEnd)
      input.setRawMode(false)
      input.pause()
      output.write('\n')
      if (err !== undefined) reject(err)
      else resolvePromise(line)
    }
    const onEnd = (): void => { finish(new PorchlightError('REFUSED', 'no passphrase: the input ended')) }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') { finish(undefined); return }
        if (ch === '\u0003' || ch === '\u0004') { finish(new PorchlightError('REFUSED', 'cancelled')); return }
        if (ch === '\u007f' || ch === '\b') line = [...line].slice(0, -1).join('')
        else if (ch >= ' ') line += ch
      }
    }
    input.setEncoding('utf8')
    input.setRawMode(true)
    input.on('data', onData)
    input.once('end', onEnd)
    input.resume()
  })
}
