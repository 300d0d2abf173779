/**
 * Protocol workloads (BENCH.md rows 1 and 2), each beside native Ed25519 (`node:crypto`)
 * measured in the same run on the same machine:
 *   - seal a post (sign + encrypt + encode, protocol/envelope.ts sealPost) vs native sign;
 *   - open a post (decode + decrypt + verify, openPost) vs native verify;
 *   - reference rows: raw WebCrypto and noble Ed25519 verify vs native verify.
 * Each seal/open pair runs with the providers a runtime installs: a Node peer's (node:crypto
 * Ed25519 and symmetric primitives, as useNativeCrypto installs them) and a browser's
 * (WebCrypto Ed25519, noble's XChaCha20-Poly1305, SHA-256 and HMAC: WebCrypto has no XChaCha
 * and only async digests).
 * Native rows sign/verify a 512-byte message with an Ed25519 KeyObject; the post is sized so
 * that what its author signs is about as long. Each pair is timed in interleaved slices
 * (report.ts measureRates); the whole suite takes about 10 s.
 */
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto'
import {
  type CryptoProvider, getCrypto, getSymmetric, nobleProvider, nobleSymmetric, randomBytes, setCrypto, setSymmetric, type SymmetricProvider,
  webCryptoProvider
} from '../../protocol/crypto.ts'
import { nativeProvider, nativeSymmetric } from '../../node/native-crypto.ts'
import { openPost, sealPost } from '../../protocol/envelope.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { deriveEpochKeys, type EpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { measureRates, rateWorkload, type TimeBox, type Workload } from './report.ts'

export const MESSAGE_BYTES = 512
/** Post text length; with kind, times, location, topic, author key and name the signed message is ~512 bytes. */
const POST_TEXT_CHARS = 300
/** Timing per pair: 300 ms warm-up each, then 3 x 500 ms slices each, interleaved. */
const TIME_BOX: TimeBox = { warmupMs: 300, rounds: 3, sliceMs: 500 }

export async function benchProtocol (box: TimeBox = TIME_BOX): Promise<Workload[]> {
  const crypto = await getCrypto()
  const symmetric = getSymmetric()
  const now = Date.now()
  const author = await createIdentity('Bench Author')
  const hoodId = randomBytes(32)
  const topic = privateTopic(hoodId)
  const keys = deriveEpochKeys(hoodId, 1, randomBytes(32))
  const keysForEpoch = (epoch: number): EpochKeys | undefined => (epoch === keys.epoch ? keys : undefined)
  const text = 'Suspicious van idling by the school gate since 7am, engine running, no plates on the back. '
    .repeat(4).slice(0, POST_TEXT_CHARS)
  const post = createPost({ kind: 'suspicious', text, location: 'u4pruy', now })
  const sealed = await sealPost(author, topic, keys, post)

  // Correctness first: a benchmark of something broken measures nothing.
  const opened = await openPost(sealed.bytes, keysForEpoch, now)
  if (opened.post.text !== text) throw new Error('openPost returned another post')

  const native = generateKeyPairSync('ed25519')
  const message = randomBytes(MESSAGE_BYTES)
  const nativeSig = nodeSign(null, message, native.privateKey)
  const seed = randomBytes(32)
  const web = webCryptoProvider(globalThis.crypto.subtle)
  const pub = await nobleProvider.ed25519PublicKey(seed)
  const sig = await nobleProvider.ed25519Sign(seed, message)
  if (!nodeVerify(null, message, native.publicKey, nativeSig) || !await web.ed25519Verify(pub, message, sig) ||
      !await nobleProvider.ed25519Verify(pub, message, sig)) {
    throw new Error('baseline signatures do not verify')
  }

  console.log(`protocol: crypto provider ${crypto.name}; sealed post ${sealed.bytes.length} bytes (text ${text.length} chars); native message ${MESSAGE_BYTES} bytes`)

  // Node peers install the node:crypto provider (node/native-crypto.ts); browsers use WebCrypto.
  const rows: Workload[] = []
  const runtimes: Array<[CryptoProvider, SymmetricProvider]> = [[nativeProvider(), nativeSymmetric], [web, nobleSymmetric]]
  for (const [provider, sym] of runtimes) {
    setCrypto(provider)
    setSymmetric(sym)
    const [seal, signRate] = await measureRates([
      async () => sealPost(author, topic, keys, post),
      () => nodeSign(null, message, native.privateKey)
    ], box)
    const [open, verifyRate] = await measureRates([
      async () => openPost(sealed.bytes, keysForEpoch, now),
      () => nodeVerify(null, message, native.publicKey, nativeSig)
    ], box)
    rows.push(
      rateWorkload(`seal a post (sign + encrypt + encode), ${provider.name} + ${sym.name} providers, vs native Ed25519 sign`, seal!, 'ops/s', signRate!),
      rateWorkload(`open a post (decode + decrypt + verify), ${provider.name} + ${sym.name} providers, vs native Ed25519 verify`, open!, 'ops/s', verifyRate!)
    )
  }
  setCrypto(crypto)
  setSymmetric(symmetric)
  const [webVerify, nobleVerify, verifyRate2] = await measureRates([
    async () => web.ed25519Verify(pub, message, sig),
    async () => nobleProvider.ed25519Verify(pub, message, sig),
    () => nodeVerify(null, message, native.publicKey, nativeSig)
  ], { ...box, rounds: 2 })

  return [
    ...rows,
    rateWorkload(`reference: WebCrypto Ed25519 verify, ${MESSAGE_BYTES} B, vs native verify`, webVerify!, 'ops/s', verifyRate2!),
    rateWorkload(`reference: noble Ed25519 verify, ${MESSAGE_BYTES} B, vs native verify`, nobleVerify!, 'ops/s', verifyRate2!)
  ]
}
