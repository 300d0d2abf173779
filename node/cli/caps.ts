/**
 * `porchlight relay`'s caps (node/relay/caps.ts) from its flags (CAPS_OPTIONS in network.ts)
 * and config keys: flags win over the config file's `"caps": {...}` object (same names as
 * CapsInit), which wins over the defaults. Loaded when the relay starts (protocol/wire.ts,
 * which this checks sizes against, brings the clip cipher's tables along).
 */
import { fail } from '../../protocol/errors.ts'
import { MAX_FRAME_BYTES } from '../../protocol/wire.ts'
import { CAPS_DEFAULTS, type CapsInit } from '../relay/caps.ts'
import type { Context } from './command.ts'

const MIB = 1024 * 1024

/** The caps from flags over `config` (the config file's `caps` object). */
export function capsFrom (ctx: Pick<Context, 'string'>, config: CapsInit = {}): CapsInit {
  const caps: CapsInit = { ...config }
  const flag = <K extends keyof CapsInit>(name: string, key: K, parse: (v: string, name: string) => number): void => {
    const v = ctx.string(name)
    if (v !== undefined) caps[key] = parse(v, name)
  }
  flag('max-connections', 'maxConnections', count)
  flag('max-conns-per-ip', 'maxConnectionsPerIp', count)
  flag('max-streams', 'maxInboundStreams', count)
  flag('max-streams-per-ip', 'maxInboundStreamsPerIp', count)
  flag('max-buffered', 'maxBufferedBytes', size)
  flag('max-buffered-per-ip', 'maxBufferedBytesPerIp', size)
  flag('idle-timeout', 'idleTimeoutMs', duration)
  flag('frame-timeout', 'partialFrameTimeoutMs', duration)
  for (const [key, value] of Object.entries(caps)) {
    if (!(key in CAPS_DEFAULTS)) fail('BAD_ARGUMENT', `unknown cap "${key.slice(0, 40)}" in the config file; known: ${Object.keys(CAPS_DEFAULTS).join(', ')}`)
    if (!Number.isSafeInteger(value) || (value as number) < 1) fail('BAD_ARGUMENT', `caps.${key} must be a whole number of at least 1`)
  }
  // Below one whole frame every honest push or sync would be refused, and peers would only see a reset stream.
  for (const key of ['maxBufferedBytes', 'maxBufferedBytesPerIp'] as const) {
    const v = caps[key]
    if (v !== undefined && v < MAX_FRAME_BYTES) fail('BAD_ARGUMENT', `${key === 'maxBufferedBytes' ? '--max-buffered' : '--max-buffered-per-ip'} must be at least ${MAX_FRAME_BYTES / 1024}KiB, the largest frame a peer may send`)
  }
  return caps
}

function count (v: string, name: string): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) < 1) fail('BAD_ARGUMENT', `--${name} must be a whole number of at least 1`)
  return Number(v)
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: MIB, mib: MIB, g: 1024 * MIB, gib: 1024 * MIB }

function size (v: string, name: string): number {
  const m = /^(\d{1,9})\s*([a-z]*)$/i.exec(v)
  const unit = m === null ? undefined : SIZE_UNITS[m[2]!.toLowerCase()]
  if (m === null || unit === undefined || Number(m[1]) < 1) fail('BAD_ARGUMENT', `--${name} must be a size like 4MiB, 512KiB or 1048576`)
  return Number(m[1]) * unit
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 }

function duration (v: string, name: string): number {
  const m = /^(\d{1,7})(ms|s|m)$/.exec(v)
  if (m === null || Number(m[1]) < 1) fail('BAD_ARGUMENT', `--${name} must be a duration like 500ms, 15s or 1m`)
  return Number(m[1]) * DURATION_UNITS[m[2]!]!
}
