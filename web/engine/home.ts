/**
 * The browser's home (PeerHome): the identity, the neighborhoods and an agency's state in
 * IndexedDB, encoded exactly as the Node home's files are (identity secret, 'pl/home-hood' v2,
 * 'pl/home-agency' v1), so a state read back is checked as strictly as a file. `updateHood` is
 * serialised within the page and, with the Web Locks API, across this origin's tabs.
 */
import { fail } from '../../protocol/errors.ts'
import { equalBytes, toHex } from '../../protocol/encoding.ts'
import { decodeIdentitySecret, encodeIdentitySecret, type Identity } from '../../protocol/identity.ts'
import { decodeAgencyState, decodeHoodState, encodeAgencyState, encodeHoodState, resolveHood, type AgencyState, type HoodState } from '../../protocol/hood-state.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'
import type { PorchlightDb } from './db.ts'

const IDENTITY = 'identity'
/** The one key of the agency table (db.ts v2). */
const AGENCY = 'state'

export class BrowserHome implements PeerHome {
  private cached: Identity | undefined
  private readonly queues = new Map<string, Promise<unknown>>()

  constructor (private readonly db: PorchlightDb) {}

  async identity (): Promise<Identity | undefined> {
    if (this.cached !== undefined) return this.cached
    const bytes = await this.db.secrets.get(IDENTITY)
    if (bytes === undefined) return undefined
    this.cached = await decodeIdentitySecret(bytes)
    return this.cached
  }

  /**
   * Stores the identity; refuses (REFUSED) to replace one (its keys would be lost) unless
   * `force` (a rename keeps the keys; a restore from a backup replaces them on purpose).
   */
  async saveIdentity (id: Identity, opts: { force?: boolean } = {}): Promise<void> {
    const bytes = encodeIdentitySecret(id)
    const saved = await this.db.transaction('rw', this.db.secrets, async () => {
      if (opts.force !== true && await this.db.secrets.get(IDENTITY) !== undefined) return false
      await this.db.secrets.put(bytes, IDENTITY)
      return true
    })
    if (!saved) fail('REFUSED', 'this browser already has an identity')
    this.cached = id
  }

  /** The agency state ('pl/home-agency', as the Node home's `agency` file), for an agency identity. */
  async agency (): Promise<AgencyState | undefined> {
    const bytes = await this.db.agency.get(AGENCY)
    return bytes === undefined ? undefined : decodeAgencyState(bytes)
  }

  /** Stores the agency state: its presence is what makes this browser's identity an agency's. */
  async saveAgency (state: AgencyState): Promise<void> {
    await this.db.agency.put(encodeAgencyState(state), AGENCY)
  }

  /** Drops the agency role (an agency identity that failed to be saved, or replaced). */
  async clearAgency (): Promise<void> {
    await this.db.agency.delete(AGENCY)
  }

  async hoods (): Promise<HoodState[]> {
    const all = (await this.db.hoods.toArray()).map(b => decodeHoodState(b))
    return all.sort((a, b) => a.hood.name.localeCompare(b.hood.name) || toHex(a.hood.id).localeCompare(toHex(b.hood.id)))
  }

  async hoodById (id: Uint8Array): Promise<HoodState | undefined> {
    const bytes = await this.db.hoods.get(toHex(id))
    return bytes === undefined ? undefined : decodeHoodState(bytes)
  }

  async resolveHood (ref?: string): Promise<HoodState> {
    return resolveHood(await this.hoods(), ref, 'this browser')
  }

  async updateHood (id: Uint8Array, change: (current: HoodState | undefined) => HoodState | Promise<HoodState>): Promise<HoodState> {
    const key = toHex(id)
    const run = async (): Promise<HoodState> => {
      const updated = await change(await this.hoodById(id))
      if (!equalBytes(updated.hood.id, id)) fail('BAD_ARGUMENT', 'updateHood: the hood id must not change')
      await this.db.hoods.put(encodeHoodState(updated), key)
      return updated
    }
    const locked = async (): Promise<HoodState> => {
      const locks = (globalThis.navigator as Navigator | undefined)?.locks
      return locks !== undefined ? await locks.request(`porchlight-hood-${key}`, run) : await run()
    }
    const prev = this.queues.get(key) ?? Promise.resolve()
    const next = prev.then(locked, locked)
    this.queues.set(key, next.catch(() => undefined))
    return await next
  }
}
