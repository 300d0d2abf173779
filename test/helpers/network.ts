/**
 * Test fixtures for the network: a relay on free loopback ports with its data in a temp
 * folder, and residents/agencies with real homes set up through the real CLI (`main`).
 */
import { mkdtemp, rm, readdir, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main, type Io } from '../../node/cli/main.ts'
import { Relay, type RelayInit } from '../../node/relay/relay.ts'
import { Home } from '../../node/storage/home-dir.ts'
import { openResidentPeer, type ResidentPeer, type FeedPost } from '../../node/resident.ts'

const cleanups: Array<() => Promise<void>> = []

/** Runs every registered cleanup (stop peers and relays, delete temp folders), newest first. */
export async function cleanUp (): Promise<void> {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => {})
}

export async function tempDir (prefix = 'pl-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  cleanups.unshift(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/**
 * Runs the CLI in-process; returns exit code, stdout, stderr. Throws if the exit code is not `expect`.
 * Public copies go out at once (PORCHLIGHT_PUBLIC_DELAY_MS=0) unless `env` says otherwise.
 */
export async function cli (
  home: string, args: string[], expect: number | null = 0, now?: () => number, env: Record<string, string> = {}
): Promise<{ code: number, out: string, err: string, json: any }> {
  let out = ''
  let err = ''
  const io: Io = {
    stdout: { write: (s: string) => { out += s } },
    stderr: { write: (s: string) => { err += s } },
    env: { PORCHLIGHT_HOME: home, PORCHLIGHT_PUBLIC_DELAY_MS: '0', ...env },
    now: now ?? Date.now
  }
  const code = await main(['--home', home, ...args], io)
  if (expect !== null && code !== expect) throw new Error(`porchlight ${args.join(' ')} exited ${code}: ${err}`)
  let json: any
  try { json = JSON.parse(out.trim().split('\n').pop() ?? '') } catch { json = undefined }
  return { code, out, err, json }
}

export async function startRelay (init: RelayInit = {}): Promise<Relay> {
  const relay = await Relay.start({
    dataDir: await tempDir('pl-relay-'),
    tcpPort: 0,
    wsPort: 0,
    httpPort: 0,
    log: () => {},
    ...init
  })
  cleanups.push(async () => { await relay.stop() })
  return relay
}

export function tcpAddr (relay: Relay): string {
  return relay.addresses().map(String).find(a => a.includes('/tcp/') && !a.includes('/ws'))!
}

export interface Neighborhood {
  admin: string
  members: string[]
  invite: string
  token: string
  area: string
}

/**
 * An admin creates a neighborhood served by `relay` (its token names the area, unless
 * `tokenWithoutArea`); each other resident joins it with an invite of their own (`invite` is the first).
 */
export async function neighborhood (relay: Relay, names: string[], area = 'u4pruy', opts: { tokenWithoutArea?: boolean } = {}): Promise<Neighborhood> {
  const homes: string[] = []
  for (const name of names) {
    const home = await tempDir(`pl-${name}-`)
    await cli(home, ['id', 'create', '--name', name])
    homes.push(home)
  }
  const admin = homes[0]!
  const created = await cli(admin, ['--json', 'hood', 'create', 'Maple Street', '--area', area, '--relay', tcpAddr(relay)])
  const token = (await cli(admin, ['--json', 'hood', 'relay-token', ...(opts.tokenWithoutArea === true ? ['--without-area'] : [])])).json.token as string
  await relay.serve(token)
  await cli(admin, ['hood', 'announce'])
  // An admin's invite admits one person: each neighbor gets their own.
  for (const [i, home] of homes.slice(1).entries()) {
    const invite = i === 0 ? created.json.invite as string : (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string
    await cli(home, ['hood', 'join', invite])
  }
  return { admin, members: homes, invite: created.json.invite, token, area }
}

/**
 * A CLI admin's neighborhood on `relay`, listed with its TCP address (for the CLI) and its
 * WebSockets one (for a browser), announced, and an invite for one browser to join with.
 */
export async function cliNeighborhood (relay: Relay, area: string, name = 'Oak Lane'): Promise<{ admin: string, invite: string }> {
  const admin = await tempDir('pl-cli-admin-')
  await cli(admin, ['id', 'create', '--name', 'Carol'])
  await cli(admin, ['hood', 'create', name, '--area', area, '--relay', tcpAddr(relay), '--relay', relay.webInfo().ws[0]!])
  await relay.serve((await cli(admin, ['--json', 'hood', 'relay-token'])).json.token as string)
  await cli(admin, ['hood', 'announce'])
  return { admin, invite: (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string }
}

/** A started resident peer on an existing home; its public copies go out at once (no random delay). */
export async function peer (home: string, relays: string[] = []): Promise<ResidentPeer> {
  const p = await openResidentPeer(await Home.open(home), { relays, publicDelayMs: () => 0 })
  cleanups.push(async () => { await p.stop() })
  await p.start()
  return p
}

/** Resolves with the first post `p` hears that matches. */
export function nextPost (p: ResidentPeer, match: (post: FeedPost) => boolean, timeoutMs = 15_000): Promise<FeedPost> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('no matching post arrived')) }, timeoutMs)
    const off = p.onPost((post) => {
      if (match(post)) { clearTimeout(timer); off(); resolve(post) }
    })
  })
}

/** Every file's bytes under `dir`, for leak checks. */
export async function filesUnder (dir: string): Promise<Array<{ path: string, bytes: Uint8Array }>> {
  const out: Array<{ path: string, bytes: Uint8Array }> = []
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name)
    if ((await stat(path)).isFile()) out.push({ path, bytes: await readFile(path) })
  }
  return out
}

export async function until (check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

/** A relay's /metrics (its HTTP base URL) as { 'name{labels}': value }. */
export async function scrapeMetrics (httpUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}
