/**
 * The resident's home folder (default ~/.porchlight, env PORCHLIGHT_HOME, flag --home).
 *
 *   <home>/            0700, created on first write
 *     identity         0600  encodeIdentitySecret bytes ('pl/id-secret': Ed25519 seed + X25519 key + name)
 *     agency           0600  'pl/home-agency': present only for an agency identity; followed areas
 *                            and the attestations admins gave it (attached to its RFAs)
 *     hoods/<id hex>   0600  'pl/home-hood' v2 (protocol/hood-state.ts): one file per neighborhood (64 hex chars = the 32-byte id):
 *                            the Neighborhood (founder, salt, admin chain), every epoch secret we
 *                            know with when we learned it and the rekey that brought it, relays,
 *                            known members (admitted or pending), removed members, agency
 *                            attestations this home issued and those revoked, and whether this
 *                            home was removed or left. A v1 file (from before self-certifying
 *                            neighborhoods) is refused with a message: re-join from a new invite.
 *     db/                    LevelDB of the network half (node/storage/level-messages.ts), see `Home.dataDir`
 *
 * Every file is written atomically (temp file in the same folder, fsync, rename, fsync of the
 * folder), so a crash leaves either the old or the new file, never half of one. Files are
 * decoded strictly with the protocol's encoding; a corrupt file is a PorchlightError naming the
 * file, never a partial result.
 *
 * Concurrency: `updateHood` serialises read-modify-write within one process. Two processes
 * writing the same hood file at once (say a CLI command beside a running `watch`) are
 * last-writer-wins per file; neither can corrupt it.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, link } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes as nodeRandomBytes } from 'node:crypto'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { equalBytes, toHex } from '../../protocol/encoding.ts'
import { decodeIdentitySecret, encodeIdentitySecret, type Identity } from '../../protocol/identity.ts'
import { HOOD_ID_BYTES } from '../../protocol/neighborhood.ts'
import {
  decodeAgencyState, decodeHoodState, encodeAgencyState, encodeHoodState, MAX_AGENCY_FILE_BYTES, MAX_HOOD_FILE_BYTES,
  pickHood, resolveHood, type AgencyState, type HoodState, type Role
} from '../../protocol/hood-state.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'

/** The pure model of what a home knows (protocol/hood-state.ts), re-exported for the CLI and tests. */
export * from '../../protocol/hood-state.ts'

export const HOME_DIR_MODE = 0o700
export const SECRET_FILE_MODE = 0o600
export const IDENTITY_FILE = 'identity'
export const AGENCY_FILE = 'agency'
export const HOODS_DIR = 'hoods'
export const DB_DIR = 'db'

const MAX_IDENTITY_FILE_BYTES = 256

const HOOD_FILE_NAME = /^[0-9a-f]{64}$/

export interface HomePaths {
  readonly root: string
  readonly identity: string
  readonly agency: string
  readonly hoods: string
  readonly db: string
}

/** The folder a home lives in when no --home is given: $PORCHLIGHT_HOME, else ~/.porchlight. */
export function defaultHomeDir (env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.PORCHLIGHT_HOME
  return resolve(fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.porchlight'))
}

export class Home implements PeerHome {
  readonly paths: HomePaths
  private cachedIdentity: Identity | undefined
  private readonly queues = new Map<string, Promise<unknown>>()
  /**
   * Hood files as last read, by path, with the file's identity then. A running peer reads its
   * hoods for every post it receives; a stat (no read, no decode) tells whether the file is
   * the same, and a change by any process (files are replaced by rename) shows as a new one.
   */
  private readonly hoodFiles = new Map<string, { stamp: string, state: HoodState }>()

  private constructor (root: string) {
    this.paths = {
      root,
      identity: join(root, IDENTITY_FILE),
      agency: join(root, AGENCY_FILE),
      hoods: join(root, HOODS_DIR),
      db: join(root, DB_DIR)
    }
  }

  /**
   * Opens the home at `dir`. With `create` (the default) the folder is made (0700) now;
   * without, it is made on the first write, so read-only commands leave no trace.
   */
  static async open (dir: string, options: { create?: boolean } = {}): Promise<Home> {
    const home = new Home(resolve(dir))
    const info = await statOrUndefined(home.paths.root)
    if (info !== undefined && !info.isDirectory()) fail('IO', `home ${home.paths.root} is not a folder`)
    if (options.create ?? true) await home.ensure()
    return home
  }

  get root (): string { return this.paths.root }

  /** Folder for the network half's LevelDB (created by `ensure`, not by LevelDB's caller). */
  get dataDir (): string { return this.paths.db }

  /** Creates the home folder (0700) and its hoods/ and db/ subfolders if missing. */
  async ensure (): Promise<void> {
    await io('create', this.paths.root, async () => {
      await mkdir(this.paths.root, { recursive: true, mode: HOME_DIR_MODE })
      await mkdir(this.paths.hoods, { mode: HOME_DIR_MODE }).catch(ignoreExists)
      await mkdir(this.paths.db, { mode: HOME_DIR_MODE }).catch(ignoreExists)
    })
  }

  // ---- identity ----

  /** The identity stored here, or undefined if there is none yet. */
  async identity (): Promise<Identity | undefined> {
    if (this.cachedIdentity !== undefined) return this.cachedIdentity
    const bytes = await readOptional(this.paths.identity, MAX_IDENTITY_FILE_BYTES)
    if (bytes === undefined) return undefined
    this.cachedIdentity = await corruptIfThrows(this.paths.identity, async () => decodeIdentitySecret(bytes))
    return this.cachedIdentity
  }

  /** The identity, or NOT_FOUND telling the person how to make one. */
  async requireIdentity (): Promise<Identity> {
    const id = await this.identity()
    if (id === undefined) {
      fail('NOT_FOUND', `no identity in ${this.paths.root}: create one with \`porchlight id create --name NAME\``)
    }
    return id
  }

  /**
   * Stores `id` (0600). Refuses (REFUSED) to replace an existing identity unless `force`;
   * the no-force path creates the file with link(2), so two racing creators cannot both win.
   */
  async saveIdentity (id: Identity, options: { force?: boolean } = {}): Promise<void> {
    await this.ensure()
    const bytes = encodeIdentitySecret(id)
    if (options.force === true) {
      await writeAtomic(this.paths.identity, bytes)
    } else {
      const created = await writeAtomic(this.paths.identity, bytes, { exclusive: true })
      if (!created) {
        fail('REFUSED', `an identity already exists in ${this.paths.root}; use --force to replace it (its key is lost)`)
      }
    }
    this.cachedIdentity = id
  }

  /** 'agency' when `agency create` made this identity, else 'resident'. */
  async role (): Promise<Role> {
    return (await this.agency()) === undefined ? 'resident' : 'agency'
  }

  // ---- agency ----

  async agency (): Promise<AgencyState | undefined> {
    const bytes = await readOptional(this.paths.agency, MAX_AGENCY_FILE_BYTES)
    if (bytes === undefined) return undefined
    return corruptIfThrows(this.paths.agency, async () => decodeAgencyState(bytes))
  }

  async saveAgency (state: AgencyState): Promise<void> {
    await this.ensure()
    await writeAtomic(this.paths.agency, encodeAgencyState(state))
  }

  /** Drops the agency role (used when a resident identity replaces an agency one). */
  async clearAgency (): Promise<void> {
    await io('remove', this.paths.agency, async () => { await unlink(this.paths.agency).catch(ignoreMissing) })
  }

  // ---- neighborhoods ----

  hoodPath (id: Uint8Array): string {
    return join(this.paths.hoods, toHex(id))
  }

  /** Every neighborhood stored here, sorted by name then id. */
  async hoods (): Promise<HoodState[]> {
    const names = await io('list', this.paths.hoods, async () => readdir(this.paths.hoods).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[]
      throw err
    }))
    const out: HoodState[] = []
    for (const name of names.filter(n => HOOD_FILE_NAME.test(n))) {
      const state = await this.loadHoodFile(join(this.paths.hoods, name))
      if (state !== undefined) out.push(state)
    }
    return out.sort((a, b) => a.hood.name.localeCompare(b.hood.name) || toHex(a.hood.id).localeCompare(toHex(b.hood.id)))
  }

  /** The hood with this id, or undefined. */
  async hoodById (id: Uint8Array): Promise<HoodState | undefined> {
    if (id.length !== HOOD_ID_BYTES) fail('BAD_ARGUMENT', 'neighborhood id must be 32 bytes')
    return this.loadHoodFile(this.hoodPath(id))
  }

  /**
   * Finds one hood by exact name, full id hex, an unambiguous id hex prefix of at least
   * 4 characters, or a name that matches one hood ignoring case. NOT_FOUND if none matches, BAD_ARGUMENT if several do.
   */
  async hood (nameOrId: string): Promise<HoodState> {
    return pickHood(await this.hoods(), nameOrId, this.paths.root)
  }

  /**
   * The hood named by `ref`, or, without `ref`, the only hood stored here. Errors say what
   * to do: join or create one (none), or pass --hood (several).
   */
  async resolveHood (ref?: string): Promise<HoodState> {
    return resolveHood(await this.hoods(), ref, this.paths.root)
  }

  /** Writes a hood file (validated first; atomic). */
  async saveHood (state: HoodState): Promise<void> {
    const bytes = encodeHoodState(state)
    await this.ensure()
    await writeAtomic(this.hoodPath(state.hood.id), bytes)
  }

  /**
   * Read-modify-write of one hood, serialised within this process. `change` receives the
   * current state (undefined if the hood is new) and returns the new one.
   */
  async updateHood (id: Uint8Array, change: (current: HoodState | undefined) => HoodState | Promise<HoodState>): Promise<HoodState> {
    const key = toHex(id)
    const previous = this.queues.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(async () => {
      const updated = await change(await this.hoodById(id))
      if (!equalBytes(updated.hood.id, id)) fail('BAD_ARGUMENT', 'updateHood: the hood id must not change')
      await this.saveHood(updated)
      return updated
    })
    this.queues.set(key, next)
    try {
      return await next
    } finally {
      if (this.queues.get(key) === next) this.queues.delete(key)
    }
  }

  /** The hood in the file at `path` (undefined if there is none); unchanged files come from hoodFiles. */
  private async loadHoodFile (path: string): Promise<HoodState | undefined> {
    const info = await io('stat', path, async () => stat(path, { bigint: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    }))
    if (info === undefined) { this.hoodFiles.delete(path); return undefined }
    // Taken before the read: a change after it makes the next stamp differ, never a stale hit.
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`
    const known = this.hoodFiles.get(path)
    if (known?.stamp === stamp) return known.state
    const bytes = await readOptional(path, MAX_HOOD_FILE_BYTES)
    if (bytes === undefined) { this.hoodFiles.delete(path); return undefined }
    const state = await corruptIfThrows(path, async () => decodeHoodState(bytes))
    if (toHex(state.hood.id) !== path.slice(-64)) {
      fail('MALFORMED', `${path}: corrupt home file: it holds neighborhood ${toHex(state.hood.id)}`)
    }
    this.hoodFiles.set(path, { stamp, state })
    return state
  }
}

// ---- files ----

/**
 * Writes `bytes` to `path` atomically with mode 0600: temp file in the same folder, fsync,
 * then rename (or link, with `exclusive`, which fails instead of replacing; returns false
 * then), then fsync of the folder so the new name itself survives a crash.
 */
export async function writeAtomic (path: string, bytes: Uint8Array, options: { exclusive?: boolean } = {}): Promise<boolean> {
  const dir = join(path, '..')
  const tmp = `${path}.tmp-${process.pid}-${nodeRandomBytes(6).toString('hex')}`
  return io('write', path, async () => {
    try {
      const fh = await open(tmp, 'wx', SECRET_FILE_MODE)
      try {
        await fh.writeFile(bytes)
        await fh.sync()
      } finally {
        await fh.close()
      }
      if (options.exclusive === true) {
        try {
          await link(tmp, path)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
          throw err
        }
      } else {
        await rename(tmp, path)
      }
      await syncDir(dir)
      return true
    } finally {
      await unlink(tmp).catch(ignoreMissing)
    }
  })
}

async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch (err) {
    // Some filesystems refuse fsync on a folder; the rename is still atomic there.
    if (!['EINVAL', 'EPERM', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err
  } finally {
    await fh.close()
  }
}

async function readOptional (path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  return io('read', path, async () => {
    let bytes: Buffer
    try {
      bytes = await readFile(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    if (bytes.length > maxBytes) fail('TOO_LARGE', `${path}: corrupt home file: ${bytes.length} bytes exceeds ${maxBytes}`)
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
  })
}

async function statOrUndefined (path: string): Promise<import('node:fs').Stats | undefined> {
  return io('stat', path, async () => stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  }))
}

/** Runs a file operation; a filesystem error becomes PorchlightError('IO') naming the path. */
async function io<T> (op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof PorchlightError) throw err
    const e = err as NodeJS.ErrnoException
    fail('IO', `cannot ${op} ${path}: ${e.code ?? e.message}`, err)
  }
}

/** Decoding errors keep their code and name the corrupt file. */
async function corruptIfThrows<T> (path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof PorchlightError) {
      // An old format is not damage: say what the file is, not that it is corrupt.
      const what = err.code === 'BAD_VERSION' ? '' : 'corrupt home file: '
      throw new PorchlightError(err.code, `${path}: ${what}${err.message}`, { cause: err })
    }
    throw err
  }
}

function ignoreExists (err: NodeJS.ErrnoException): void {
  if (err.code !== 'EEXIST') throw err
}

function ignoreMissing (err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err
}
