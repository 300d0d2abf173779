/**
 * Progress of long transfers on the CLI: a bar redrawn in place on a terminal, plain lines
 * every PLAIN_STEP_PERCENT otherwise (logs, pipes), nothing with --json (stdout then holds
 * exactly one JSON object, and stderr stays quiet as for notes).
 */
import type { Writer } from './output.ts'

const BAR_WIDTH = 30
/** A terminal is redrawn at most this often. */
const REDRAW_MS = 100
/** Without a terminal, one line per this many percent. */
const PLAIN_STEP_PERCENT = 25

export interface Progress {
  /** `done` of `total` bytes. */
  update (done: number, total: number): void
  /** Ends the bar (a newline on a terminal). */
  finish (): void
}

export function progress (stderr: Writer & { isTTY?: boolean }, label: string, opts: { json?: boolean } = {}): Progress {
  if (opts.json === true) return { update () {}, finish () {} }
  const tty = stderr.isTTY === true
  let lastDraw = 0
  let lastStep = -1
  let drawn = false
  return {
    update (done, total) {
      const pct = total > 0 ? Math.min(100, Math.floor(done * 100 / total)) : 100
      if (tty) {
        const t = Date.now()
        if (t - lastDraw < REDRAW_MS && done < total) return
        lastDraw = t
        const fill = Math.round(pct * BAR_WIDTH / 100)
        const [d, t2, unit] = amounts(done, total)
        stderr.write(`\r${label} [${'#'.repeat(fill)}${'.'.repeat(BAR_WIDTH - fill)}] ${String(pct).padStart(3)}% ${d}/${t2} ${unit}`)
        drawn = true
        return
      }
      const step = Math.floor(pct / PLAIN_STEP_PERCENT)
      if (step === lastStep) return
      lastStep = step
      const [d, t2, unit] = amounts(done, total)
      stderr.write(`${label}: ${pct}% (${d} of ${t2} ${unit})\n`)
    },
    finish () {
      if (tty && drawn) stderr.write('\n')
    }
  }
}

/** Both amounts in the unit that suits the total: a small clip is '9 of 100 B', not '0.0 of 0.0 MiB'. */
function amounts (done: number, total: number): [string, string, string] {
  if (total < 1024) return [String(done), String(total), 'B']
  const [div, unit] = total < 1024 * 1024 ? [1024, 'KiB'] : [1024 * 1024, 'MiB']
  return [(done / div).toFixed(1), (total / div).toFixed(1), unit]
}
