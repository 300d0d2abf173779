/**
 * The protocol vectors checked inside a browser page (bundled by test/browser/vectors.test.ts
 * with esbuild for `platform: 'browser'`; the generators' Node-only lines are stubbed there).
 * Under each provider (the page's WebCrypto, and noble) it regenerates every vector file from
 * its fixed inputs and compares it with the committed JSON, opens the committed bytes, and
 * gives each strict-Ed25519 vector its verdict. Returns one row per check; the test asserts.
 */
import { type CryptoProvider, nobleProvider, setCrypto, webCryptoProvider } from '../../protocol/crypto.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { deriveEpochKeys } from '../../protocol/neighborhood.ts'
import { openPost } from '../../protocol/envelope.ts'
import { openPublicPost } from '../../protocol/public-post.ts'
import { openBackup } from '../../protocol/backup.ts'
import { generateCore } from '../vectors/generate-core.ts'
import { generateMembership } from '../vectors/generate-membership.ts'
import { generateBackup } from '../vectors/generate-backup.ts'
import { buildEnvelopeVectors, buildPublicPostVectors, identityFromHex, postFromHex, type EnvelopeVector, type PublicVector, type VectorFile } from '../vectors/generate-posts.ts'

export interface Check { provider: string, file: string, check: string, ok: boolean, detail?: string }
export interface StrictVector { name: string, publicKey: string, message: string, signature: string, valid: boolean }

/** The first path at which two JSON values differ, or undefined if they are equal. */
function firstDifference (a: unknown, b: unknown, path = '$'): string | undefined {
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || (a === null) !== (b === null)) return `${path}: ${JSON.stringify(a)?.slice(0, 80)} vs ${JSON.stringify(b)?.slice(0, 80)}`
  if (typeof a !== 'object' || a === null) return a === b ? undefined : `${path}: ${JSON.stringify(a).slice(0, 80)} vs ${JSON.stringify(b).slice(0, 80)}`
  const ka = Object.keys(a as object)
  const kb = Object.keys(b as object)
  if (ka.join() !== kb.join()) return `${path}: keys ${ka.join()} vs ${kb.join()}`
  for (const k of ka) {
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`)
    if (d !== undefined) return d
  }
  return undefined
}

/** A value as the committed file holds it (JSON round trip: no undefined, no typed arrays). */
function asJson (value: unknown): unknown { return JSON.parse(JSON.stringify(value)) }

async function check (out: Check[], provider: string, file: string, name: string, fn: () => Promise<string | undefined> | string | undefined): Promise<void> {
  try {
    const detail = await fn()
    out.push({ provider, file, check: name, ok: detail === undefined, ...(detail !== undefined ? { detail } : {}) })
  } catch (err) {
    out.push({ provider, file, check: name, ok: false, detail: `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}` })
  }
}

export async function checkVectors (files: Record<string, unknown>): Promise<{ checks: Check[], rawWebCryptoAccepts: string[], userAgent: string }> {
  const subtle = globalThis.crypto?.subtle
  if (subtle === undefined) throw new Error('no crypto.subtle: not a secure context')
  const providers: CryptoProvider[] = [webCryptoProvider(subtle), nobleProvider]
  const out: Check[] = []
  for (const provider of providers) {
    setCrypto(provider)
    const p = provider.name
    if (files['ed25519-strict'] !== undefined) {
      for (const v of (files['ed25519-strict'] as { vectors: StrictVector[] }).vectors) {
        await check(out, p, 'ed25519-strict', v.name, async () => {
          const got = await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature))
          return got === v.valid ? undefined : `verify gave ${got}, the vector says ${v.valid}`
        })
      }
    }
    if (files.core !== undefined) {
      await check(out, p, 'core', 'regenerated from its inputs equals the committed file', async () => firstDifference(asJson(await generateCore()), files.core))
      const core = files.core as { areaKey: Array<{ publicKey: string, message: string, signature: string }> }
      await check(out, p, 'core', 'area-key signatures verify; a flipped byte does not', async () => {
        for (const v of core.areaKey) {
          const sig = fromHex(v.signature)
          if (!await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), sig)) return `signature over ${v.message.slice(0, 16)}… refused`
          sig[7] = sig[7]! ^ 1
          if (await provider.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), sig)) return 'a flipped signature verified'
        }
        return undefined
      })
    }
    if (files.envelope !== undefined) {
      const env = files.envelope as VectorFile<EnvelopeVector>
      await check(out, p, 'envelope', 'regenerated from its inputs equals the committed file', async () => firstDifference(asJson(await buildEnvelopeVectors()), env))
      for (const v of env.vectors) {
        await check(out, p, 'envelope', `opens: ${v.name}`, async () => {
          const keys = deriveEpochKeys(fromHex(v.hood.id), v.hood.epoch, fromHex(v.hood.secret))
          const opened = await openPost(fromHex(v.expected.envelope), e => e === v.hood.epoch ? keys : undefined, v.now)
          const id = await identityFromHex(v.identity)
          return firstDifference(asJson({ post: opened.post, author: toHex(opened.author), own: toHex(id.public.signKey), name: opened.authorName, id: toHex(opened.id), topic: opened.topic }),
            asJson({ post: postFromHex(v.post), author: v.expected.signKey, own: v.expected.signKey, name: v.identity.name, id: v.expected.id, topic: v.expected.topic }))
        })
      }
    }
    if (files['public-post'] !== undefined) {
      const pub = files['public-post'] as VectorFile<PublicVector>
      await check(out, p, 'public-post', 'regenerated from its inputs equals the committed file', async () => firstDifference(asJson(await buildPublicPostVectors()), pub))
      for (const v of pub.vectors) {
        await check(out, p, 'public-post', `opens: ${v.name}`, async () => {
          const opened = await openPublicPost(fromHex(v.expected.bytes), v.now)
          return firstDifference(asJson({ post: opened.post, area: opened.area, name: opened.name ?? null, pseudonym: toHex(opened.pseudonym), id: toHex(opened.id) }),
            asJson({ post: postFromHex(v.post), area: v.area, name: v.showName ? v.identity.name : null, pseudonym: v.expected.pseudonym, id: v.expected.id }))
        })
      }
    }
    if (files.membership !== undefined) {
      await check(out, p, 'membership', 'regenerated from its inputs equals the committed file', async () => firstDifference(asJson(await generateMembership()), files.membership))
    }
    if (files.backup !== undefined) {
      const b = files.backup as { passphrase: string, identity: { seed: string, signKey: string }, hood: { id: string }, vectors: Array<{ text: string }> }
      await check(out, p, 'backup', 'regenerated from its inputs equals the committed file (scrypt, default parameters included)', async () => firstDifference(asJson(await generateBackup()), b))
      await check(out, p, 'backup', 'the small-parameter vector opens to its identity and neighborhood', async () => {
        const back = await openBackup(b.vectors[0]!.text, b.passphrase)
        return firstDifference([toHex(back.identity.seed), toHex(back.identity.public.signKey), toHex(back.hoods[0]!.hood.id)], [b.identity.seed, b.identity.signKey, b.hood.id])
      })
    }
  }
  // For the record: which strict vectors the browser's own Ed25519, without the strict rule, accepts.
  const rawWebCryptoAccepts: string[] = []
  for (const v of (files['ed25519-strict'] as { vectors: StrictVector[] } | undefined)?.vectors ?? []) {
    try {
      const key = await subtle.importKey('raw', fromHex(v.publicKey) as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify'])
      if (await subtle.verify({ name: 'Ed25519' }, key, fromHex(v.signature) as Uint8Array<ArrayBuffer>, fromHex(v.message) as Uint8Array<ArrayBuffer>)) rawWebCryptoAccepts.push(v.name)
    } catch { /* refused at import */ }
  }
  return { checks: out, rawWebCryptoAccepts, userAgent: navigator.userAgent }
}
