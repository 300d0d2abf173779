/**
 * Admins: who may change a neighborhood's membership (rekey, admit a newcomer) and vouch for
 * agencies. The founder is fixed by the neighborhood id (neighborhood.ts: the id is a hash of
 * the founder's key and a salt); every other admin by a certificate that an earlier admin
 * signed, so the admin list is a chain rooted at the founder that anyone holding the id can
 * check, and that no member can extend.
 *
 *   certificate on the wire: { k: new admin's Ed25519 key (32), b: index of the signer in the
 *     admin list so far (0 = founder), sig: 64 }
 *   sig = the signer's Ed25519 signature over 'pl/admin-cert-body' v1 { h: hood id (32), k, by: signer key (32) }
 *
 * The chain travels in invites, relay-checked rekeys and home files; at most MAX_ADMINS - 1
 * certificates (16 admins in all). Removing an admin is not supported yet: a neighborhood
 * that must drop one re-founds (see README).
 */
import { fail } from './errors.ts'
import { type CborValue, equalBytes, type Fields, type StructSpec } from './encoding.ts'
import { type Identity, signStruct, verifyStruct } from './identity.ts'
import { type AdminCert, checkNeighborhood, hoodId, isAdmin, MAX_ADMINS, type Neighborhood, neighborhoodOf } from './neighborhood.ts'

export const MAX_ADMIN_CERTS = MAX_ADMINS - 1
const CERT_BODY: StructSpec = { domain: 'pl/admin-cert-body', version: 1, required: ['h', 'k', 'by'], maxBytes: 160 }

/** `hood` with `newAdmin` certified by `admin` (NOT_ADMIN unless `admin` is one; REFUSED if already an admin). */
export async function addAdmin (admin: Identity, hood: Neighborhood, newAdmin: Uint8Array): Promise<Neighborhood> {
  checkNeighborhood(hood)
  const by = hood.admins.findIndex(a => equalBytes(a, admin.public.signKey))
  if (by < 0) fail('NOT_ADMIN', 'only an admin can make another admin')
  if (newAdmin?.length !== 32) fail('BAD_ARGUMENT', 'admin key must be 32 bytes')
  if (isAdmin(hood, newAdmin)) fail('REFUSED', 'already an admin')
  if (hood.adminCerts.length >= MAX_ADMIN_CERTS) fail('TOO_LARGE', `at most ${MAX_ADMINS} admins`)
  const sig = await signStruct(admin.seed, CERT_BODY, { h: hood.id, k: newAdmin, by: admin.public.signKey })
  return neighborhoodOf({ ...hood, adminCerts: [...hood.adminCerts, { key: newAdmin, by, sig }] })
}

/** Verifies every certificate's signature (BAD_SIGNATURE) besides the structure (BAD_ARGUMENT). */
export async function verifyAdmins (hood: Neighborhood): Promise<Neighborhood> {
  checkNeighborhood(hood)
  await verifyAdminChain(hood.founder, hood.salt, hood.adminCerts)
  return hood
}

/**
 * The admin keys (founder first) of the neighborhood hoodId(founder, salt), from a chain of
 * certificates: what a relay checks a rekey's signer against, knowing no name or area.
 * BAD_ARGUMENT for a malformed chain, BAD_SIGNATURE for a certificate that does not verify.
 */
export async function verifyAdminChain (founder: Uint8Array, salt: Uint8Array, certs: readonly AdminCert[]): Promise<Uint8Array[]> {
  const id = hoodId(founder, salt)
  if (certs.length > MAX_ADMIN_CERTS) fail('TOO_LARGE', `at most ${MAX_ADMINS} admins`)
  const admins = [founder]
  for (const [i, c] of certs.entries()) {
    if (!Number.isInteger(c.by) || c.by < 0 || c.by >= admins.length) fail('BAD_ARGUMENT', 'an admin certificate must be signed by an earlier admin')
    if (admins.some(a => equalBytes(a, c.key))) fail('BAD_ARGUMENT', 'an admin is listed twice')
    const signer = admins[c.by]!
    await verifyStruct(signer, CERT_BODY, { h: id, k: c.key, by: signer }, c.sig, `admin certificate ${i + 1}`)
    admins.push(c.key)
  }
  return admins
}

export function encodeAdminCerts (certs: readonly AdminCert[]): CborValue[] {
  return certs.map(c => ({ k: c.key, b: c.by, sig: c.sig }))
}

/** Reads the certificate array at `key` (bounds only; verifyAdmins checks the chain). */
export function readAdminCerts (f: Fields, key: string): AdminCert[] {
  return f.array(key, MAX_ADMIN_CERTS, item => {
    const c = item.record(['k', 'b', 'sig'])
    return { key: c.bytes('k', { len: 32 }), by: c.uint('b', MAX_ADMIN_CERTS - 1), sig: c.bytes('sig', { len: 64 }) }
  })
}
