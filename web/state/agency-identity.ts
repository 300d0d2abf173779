/**
 * Making an agency identity in this browser (the welcome screen's second way in), apart from
 * agency mode's state (agency.ts) so the resident's shell need not load it.
 */
import { createIdentity, type Identity } from '../../protocol/identity.ts'
import type { AgencyState } from '../../protocol/hood-state.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'

/** What agency mode needs of the home (web/engine/home.ts BrowserHome). */
export interface AgencyHome extends PeerHome {
  saveIdentity: (id: Identity, opts?: { force?: boolean }) => Promise<void>
  saveAgency: (state: AgencyState) => Promise<void>
  clearAgency: () => Promise<void>
}

/**
 * Makes an agency identity, as `porchlight agency create` does: the agency state first (the
 * role), then the identity; if the identity cannot be saved (one exists already: REFUSED),
 * the role is taken back.
 */
export async function createAgencyIdentity (home: Pick<AgencyHome, 'agency' | 'saveAgency' | 'saveIdentity' | 'clearAgency'>, name: string): Promise<Identity> {
  const id = await createIdentity(name.trim())
  const before = await home.agency()
  await home.saveAgency(before ?? { areas: [] })
  try {
    await home.saveIdentity(id)
  } catch (err) {
    if (before === undefined) await home.clearAgency()
    throw err
  }
  return id
}
