/**
 * Web origins: where browsers open the web app a relay serves (`https://porch.example.org`),
 * and the invite links made from them (`<origin>/#join=<invite>`: the invite stays in the
 * fragment, which browsers never send to the server).
 *
 * A relay is told its origin (`porchlight relay --web-origin URL`, or derived from --announce
 * with --tls-cert) and reports it in /health. A home learns a neighborhood's origin from
 * `hood create|invite --web-origin URL` (or from joining with a link) and remembers it in
 * HOME/web-origins.json ({"<hood id hex>": "<origin>"}; not part of the hood file or of any
 * wire format), so later `hood invite`s print the link too.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fail } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { writeAtomic, type Home } from '../storage/home-dir.ts'

const FILE = 'web-origins.json'
/** Origins a home remembers at most (one per neighborhood; a bound on a file nobody should edit by hand). */
const MAX_REMEMBERED = 256
const MAX_ORIGIN_CHARS = 300

/** An http(s) origin from `value` (a URL without path, query or fragment), normalised: `https://a.example:8443`. */
export function parseWebOrigin (value: string, flag = '--web-origin'): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    fail('BAD_ARGUMENT', `${flag} "${value.slice(0, 80)}" is not a URL like https://porch.example.org`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('BAD_ARGUMENT', `${flag} must be an https:// (or http://) URL`)
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    fail('BAD_ARGUMENT', `${flag} is an origin only (scheme, host and port), like https://porch.example.org`)
  }
  if (url.origin.length > MAX_ORIGIN_CHARS) fail('BAD_ARGUMENT', `${flag} is too long`)
  return url.origin
}

/** The link a phone opens to join: the web app, with the invite in the fragment. */
export function inviteLink (origin: string, invite: string): string {
  return `${origin}/#join=${invite}`
}

/** An invite given as a link (`https://…/#join=plinv…`): its origin and the invite; a bare invite as it is. */
export function splitInviteLink (value: string): { invite: string, origin?: string } {
  const trimmed = value.trim()
  const at = trimmed.indexOf('#join=')
  if (at < 0 || !/^https?:\/\//i.test(trimmed)) return { invite: trimmed }
  let invite = trimmed.slice(at + '#join='.length)
  try {
    invite = decodeURIComponent(invite) // a messenger may have escaped the colon
  } catch {}
  try {
    return { invite, origin: parseWebOrigin(new URL(trimmed.slice(0, at)).origin, 'the invite link') }
  } catch {
    return { invite }
  }
}

/**
 * The origin given with a web-capable relay (derived when the relay has TLS and announces a
 * host): `https://<host of the first /dns*|/ip* announce address>[:port]`.
 */
export function derivedWebOrigin (announce: readonly string[], httpPort: number): string | undefined {
  for (const a of announce) {
    const m = /^\/(?:dns4|dns6|dns|ip4|ip6)\/([^/]+)\//.exec(a)
    if (m === null) continue
    const host = a.startsWith('/ip6/') ? `[${m[1]!}]` : m[1]!
    return parseWebOrigin(`https://${host}${httpPort === 443 ? '' : `:${httpPort}`}`, '--announce')
  }
  return undefined
}

async function readAll (home: Home): Promise<Record<string, string>> {
  let text: string
  try {
    text = await readFile(join(home.root, FILE), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    fail('IO', `cannot read ${join(home.root, FILE)}: ${(err as Error).message}`)
  }
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(parsed)) if (/^[0-9a-f]{64}$/.test(k) && typeof v === 'string') out[k] = v
    return out
  } catch (err) {
    fail('IO', `${join(home.root, FILE)} is damaged (${(err as Error).message}): delete it and give --web-origin again`)
  }
}

/** The web origin this home remembers for a neighborhood, if any. */
export async function rememberedWebOrigin (home: Home, hoodId: Uint8Array): Promise<string | undefined> {
  const v = (await readAll(home))[toHex(hoodId)]
  if (v === undefined) return undefined
  try {
    return parseWebOrigin(v)
  } catch {
    return undefined
  }
}

/** Remembers `origin` as a neighborhood's web origin (replacing the one before). */
export async function rememberWebOrigin (home: Home, hoodId: Uint8Array, origin: string): Promise<void> {
  const all = await readAll(home)
  const key = toHex(hoodId)
  if (all[key] === origin) return
  delete all[key]
  all[key] = origin
  const keys = Object.keys(all)
  for (const k of keys.slice(0, Math.max(0, keys.length - MAX_REMEMBERED))) delete all[k]
  await home.ensure()
  await writeAtomic(join(home.root, FILE), new TextEncoder().encode(JSON.stringify(all, null, 1) + '\n'))
}
