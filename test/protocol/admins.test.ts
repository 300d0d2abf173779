// Admin certificate chains (protocol/admins.ts): rooted at the founder that the neighborhood id
// names, each link signed by an earlier admin for this neighborhood only. The attacks below
// would all have passed against the old invite (an admin list as stated by the inviter).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import { decodeStruct, encodeStruct, equalBytes, type StructSpec } from '../../protocol/encoding.ts'
import { createIdentity, type Identity, signStruct } from '../../protocol/identity.ts'
import { addAdmin, encodeAdminCerts, MAX_ADMIN_CERTS, readAdminCerts, verifyAdminChain, verifyAdmins } from '../../protocol/admins.ts'
import { type AdminCert, HOOD_SALT_BYTES, hoodId, isAdmin, MAX_ADMINS, type Neighborhood, neighborhoodOf } from '../../protocol/neighborhood.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, testHood } from '../helpers/protocol-fixtures.ts'

/** What an admin signs to certify another (admins.ts), spelled out to forge certificates. */
const CERT_BODY: StructSpec = { domain: 'pl/admin-cert-body', version: 1, required: ['h', 'k', 'by'], maxBytes: 160 }
/** A test-side container for a certificate array, to run readAdminCerts on decoded bytes. */
const CHAIN: StructSpec = { domain: 'pl/test-chain', version: 1, required: ['ac'], maxBytes: 4096 }

const ada = await createIdentity('Ada')
const ben = await createIdentity('Ben')
const cleo = await createIdentity('Cleo')
const dev = await createIdentity('Dev')
const hood = testHood(ada)

/** A certificate for `key` signed by `signer`, claiming index `by`, for the neighborhood `id`. */
async function certify (signer: Identity, key: Uint8Array, by: number, id = hood.id): Promise<AdminCert> {
  return { key, by, sig: await signStruct(signer.seed, CERT_BODY, { h: id, k: key, by: signer.public.signKey }) }
}

const chain = async (certs: readonly AdminCert[]): Promise<unknown> => verifyAdminChain(hood.founder, hood.salt, certs)

describe('addAdmin and verifyAdminChain', () => {
  it('the founder certifies an admin, who certifies another: the chain verifies, the id does not change', async () => {
    const h1 = await addAdmin(ada, hood, ben.public.signKey)
    const h2 = await addAdmin(ben, h1, cleo.public.signKey)
    expect(equalBytes(h2.id, hood.id)).toBe(true)
    expect(h2.admins).toEqual([ada.public.signKey, ben.public.signKey, cleo.public.signKey])
    expect(h2.adminCerts.map(c => c.by)).toEqual([0, 1])
    expect(await chain(h2.adminCerts)).toEqual(h2.admins)
    expect(await verifyAdmins(h2)).toBe(h2)
    expect(isAdmin(h2, cleo.public.signKey)).toBe(true)
    expect(isAdmin(h2, dev.public.signKey)).toBe(false)
  })

  it('only an admin can make another admin: NOT_ADMIN; REFUSED for an admin again; BAD_ARGUMENT for a bad key', async () => {
    expect(await codeOf(async () => addAdmin(ben, hood, ben.public.signKey))).toBe('NOT_ADMIN')
    expect(await codeOf(async () => addAdmin(ben, hood, cleo.public.signKey))).toBe('NOT_ADMIN')
    const h1 = await addAdmin(ada, hood, ben.public.signKey)
    expect(await codeOf(async () => addAdmin(cleo, h1, cleo.public.signKey))).toBe('NOT_ADMIN')
    expect(await codeOf(async () => addAdmin(ada, h1, ben.public.signKey))).toBe('REFUSED')
    expect(await codeOf(async () => addAdmin(ben, h1, ada.public.signKey))).toBe('REFUSED')
    expect(await codeOf(async () => addAdmin(ada, hood, randomBytes(31)))).toBe('BAD_ARGUMENT')
  })

  it('a certificate signed by a non-admin (or by oneself) is BAD_SIGNATURE', async () => {
    // Ben certifies himself, claiming the founder signed.
    expect(await codeOf(async () => chain([await certify(ben, ben.public.signKey, 0)]))).toBe('BAD_SIGNATURE')
    // Ben certifies Dev, claiming the founder signed.
    expect(await codeOf(async () => chain([await certify(ben, dev.public.signKey, 0)]))).toBe('BAD_SIGNATURE')
    // A genuine first link, then Dev (not an admin) certifies himself as if the second admin had.
    const first = await certify(ada, ben.public.signKey, 0)
    expect(await codeOf(async () => chain([first, await certify(dev, dev.public.signKey, 1)]))).toBe('BAD_SIGNATURE')
    // Signed by Ben (an admin), but naming the founder as signer.
    expect(await codeOf(async () => chain([first, await certify(ben, cleo.public.signKey, 0)]))).toBe('BAD_SIGNATURE')
    expect(await codeOf(async () => chain([first, await certify(ben, cleo.public.signKey, 1)]))).toBe('accepted')
    // verifyAdmins on a neighborhood built from a forged link.
    const forged = neighborhoodOf({ ...hood, adminCerts: [await certify(ben, ben.public.signKey, 0)] })
    expect(isAdmin(forged, ben.public.signKey)).toBe(true) // the structure alone says so...
    expect(await codeOf(async () => verifyAdmins(forged))).toBe('BAD_SIGNATURE') // ...the signatures do not
  })

  it('a certificate made for another neighborhood (same founder, another salt) does not carry over', async () => {
    const other = neighborhoodOf({ ...hood, salt: randomBytes(HOOD_SALT_BYTES) })
    const elsewhere = (await addAdmin(ada, other, ben.public.signKey)).adminCerts
    expect(await codeOf(async () => verifyAdminChain(other.founder, other.salt, elsewhere))).toBe('accepted')
    expect(await codeOf(async () => chain(elsewhere))).toBe('BAD_SIGNATURE')
    // Nor to a neighborhood whose founder is someone else with the same salt.
    expect(await codeOf(async () => verifyAdminChain(ben.public.signKey, hood.salt, [await certify(ada, cleo.public.signKey, 0)]))).toBe('BAD_SIGNATURE')
  })

  it('links out of order, signed by a later or missing admin, or with a non-integer index are refused', async () => {
    const h2 = await addAdmin(ben, await addAdmin(ada, hood, ben.public.signKey), cleo.public.signKey)
    const [c1, c2] = h2.adminCerts as [AdminCert, AdminCert]
    expect(await codeOf(async () => chain([c2, c1]))).toBe('BAD_ARGUMENT') // Cleo's link names Ben before Ben is an admin
    expect(await codeOf(async () => chain([c2]))).toBe('BAD_ARGUMENT')
    expect(await codeOf(async () => chain([{ ...c1, by: 1 }]))).toBe('BAD_ARGUMENT') // by itself
    for (const by of [-1, 0.5, Number.NaN, 99]) expect(await codeOf(async () => chain([{ ...c1, by }]))).toBe('BAD_ARGUMENT')
    // A prefix of a chain is a valid (shorter) chain: it just does not make the dropped admin one.
    expect(await chain([c1])).toEqual([ada.public.signKey, ben.public.signKey])
  })

  it('duplicates are refused: the same link twice, or the founder certified again', async () => {
    const c1 = await certify(ada, ben.public.signKey, 0)
    expect(await codeOf(async () => chain([c1, c1]))).toBe('BAD_ARGUMENT')
    expect(await codeOf(async () => chain([c1, await certify(ben, ben.public.signKey, 1)]))).toBe('BAD_ARGUMENT')
    expect(await codeOf(async () => chain([await certify(ada, ada.public.signKey, 0)]))).toBe('BAD_ARGUMENT')
  })

  it(`at most ${MAX_ADMIN_CERTS} certificates (${MAX_ADMINS} admins): more are TOO_LARGE, here and in addAdmin`, async () => {
    const admins = await Promise.all(Array.from({ length: MAX_ADMINS }, async (_, i) => createIdentity(`admin ${i}`)))
    let h: Neighborhood = neighborhoodOf({ name: hood.name, area: hood.area, founder: admins[0]!.public.signKey, salt: hood.salt })
    // Each admin certifies the next: the longest chain.
    for (let i = 1; i < MAX_ADMINS; i++) h = await addAdmin(admins[i - 1]!, h, admins[i]!.public.signKey)
    expect(h.adminCerts).toHaveLength(MAX_ADMIN_CERTS)
    expect(await verifyAdminChain(h.founder, h.salt, h.adminCerts)).toHaveLength(MAX_ADMINS)
    expect(await codeOf(async () => addAdmin(admins[0]!, h, ben.public.signKey))).toBe('TOO_LARGE')
    const extra = { key: ben.public.signKey, by: 0, sig: await signStruct(admins[0]!.seed, CERT_BODY, { h: h.id, k: ben.public.signKey, by: admins[0]!.public.signKey }) }
    expect(await codeOf(async () => verifyAdminChain(h.founder, h.salt, [...h.adminCerts, extra]))).toBe('TOO_LARGE')
  })

  it('the id in each link is hoodId(founder, salt): founder and salt of another length are BAD_ARGUMENT', async () => {
    expect(await codeOf(async () => verifyAdminChain(randomBytes(31), hood.salt, []))).toBe('BAD_ARGUMENT')
    expect(await codeOf(async () => verifyAdminChain(hood.founder, randomBytes(8), []))).toBe('BAD_ARGUMENT')
    expect(await verifyAdminChain(hood.founder, hood.salt, [])).toEqual([hood.founder])
    expect(equalBytes(hoodId(hood.founder, hood.salt), hood.id)).toBe(true)
  })
})

describe('encodeAdminCerts / readAdminCerts', () => {
  it('roundtrip through CBOR, and bound the array, the key, the index and the signature', async () => {
    const h2 = await addAdmin(ben, await addAdmin(ada, hood, ben.public.signKey), cleo.public.signKey)
    const enc = (ac: unknown): Uint8Array => encodeStruct(CHAIN, { ac: ac as never })
    const read = (bytes: Uint8Array): AdminCert[] => readAdminCerts(decodeStruct(CHAIN, bytes), 'ac')
    expect(read(enc(encodeAdminCerts(h2.adminCerts)))).toEqual(h2.adminCerts)
    expect(read(enc([]))).toEqual([])
    const [w] = encodeAdminCerts(h2.adminCerts) as [Record<string, unknown>]
    expect(await codeOf(async () => read(enc(Array.from({ length: MAX_ADMIN_CERTS + 1 }, () => w))))).toBe('TOO_LARGE')
    expect(await codeOf(async () => read(enc([{ ...w, k: randomBytes(31) }])))).toBe('BAD_LENGTH')
    expect(await codeOf(async () => read(enc([{ ...w, sig: randomBytes(65) }])))).toBe('BAD_LENGTH')
    expect(await codeOf(async () => read(enc([{ ...w, b: MAX_ADMIN_CERTS }])))).toBe('OUT_OF_RANGE')
    expect(await codeOf(async () => read(enc([{ ...w, x: 1 }])))).toBe('EXTRA_FIELD')
    expect(await codeOf(async () => read(enc([{ k: w.k, b: w.b }])))).toBe('MISSING_FIELD')
    expect(await codeOf(async () => read(enc([w.k])))).toBe('WRONG_TYPE')
  })

  it('random mutations of an encoded chain give only PorchlightError, and never a chain with another admin', async () => {
    const h2 = await addAdmin(ben, await addAdmin(ada, hood, ben.public.signKey), cleo.public.signKey)
    const bytes = encodeStruct(CHAIN, { ac: encodeAdminCerts(h2.adminCerts) as never })
    await fc.assert(fc.asyncProperty(byteEdits(), async (edits) => {
      const m = applyEdits(bytes, edits)
      const code = await codeOf(async () => {
        const admins = await chain(readAdminCerts(decodeStruct(CHAIN, m), 'ac')) as Uint8Array[]
        // A shorter valid chain cannot come out of one edit here (the array length is in the header),
        // so anything accepted must be the original list.
        expect(admins).toEqual(h2.admins)
      })
      if (equalBytes(m, bytes)) expect(code).toBe('accepted')
      else expect(code).not.toBe('accepted')
    }), { numRuns: runs(75) })
  })
})
