/**
 * Writes test/vectors/backup.json: passphrase-encrypted backups (protocol/backup.ts), so another
 * implementation (the browser) can check that it derives the same key, seals the same bytes and
 * opens them. Every input comes from a label:
 *   input(label) = SHA-256("porchlight/vectors/backup/" || label)   (truncated where shorter)
 * The story: Ada (seed input("ada/seed"), box secret input("ada/box")) founded "Maple Street
 * Watch" (salt input("hood/salt", 16)) and knows its epochs 0 and 1; she backs up her identity
 * and the neighborhood under the passphrase "correct horse battery stapl" + "e" + U+0301
 * (typed decomposed; NFC makes it end in U+00E9, and `passphraseUtf8` is the NFC form's UTF-8).
 * Two files, one with cheap scrypt parameters (quick to check) and one with the defaults that
 * every real export uses (N = 2^17, r = 8, p = 1: ~1 s). Byte fields are lowercase hex. Run:
 *   `node --import tsx test/vectors/generate-backup.ts`
 * test/protocol/backup.test.ts regenerates this file's content and compares it exactly.
 */
import { writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { scrypt } from '@noble/hashes/scrypt.js'
import { sha256 } from '../../protocol/crypto.ts'
import { decodeStruct, encodeStruct, toHex, utf8Bytes, type StructSpec } from '../../protocol/encoding.ts'
import { createIdentity, encodeIdentitySecret, fingerprint } from '../../protocol/identity.ts'
import { deriveEpochKeys, HOOD_SALT_BYTES, neighborhoodOf } from '../../protocol/neighborhood.ts'
import { encodeHoodState, newHoodState, withEpoch } from '../../protocol/hood-state.ts'
import { BACKUP_SALT_BYTES, createBackup, DEFAULT_KDF, formatBackup, type KdfParams } from '../../protocol/backup.ts'
import { AEAD_NONCE_BYTES } from '../../protocol/crypto.ts'

const OUT = new URL('./backup.json', import.meta.url)

export function input (label: string, length = 32): Uint8Array {
  return sha256(utf8Bytes(`porchlight/vectors/backup/${label}`)).subarray(0, length)
}

export const NOW = 1_750_000_000_000
export const PASSPHRASE = 'correct horse battery staple\u0301'
/** Cheap parameters for a quick check (never used by an export). */
export const SMALL_KDF: KdfParams = { kdf: 'scrypt', logN: 10, r: 8, p: 1 }
const HEADER: StructSpec = { domain: 'pl/backup-header', version: 1, required: ['kdf', 'ln', 'r', 'p', 's', 'n'], maxBytes: 256 }
const BACKUP: StructSpec = { domain: 'pl/backup', version: 1, required: ['kdf', 'ln', 'r', 'p', 's', 'n', 'ct'], maxBytes: 32 << 20 }
const DATA: StructSpec = { domain: 'pl/backup-data', version: 1, required: ['id', 'hoods', 'at'], optional: ['ag'], maxBytes: 32 << 20 }

export interface BackupVector {
  name: string
  kdf: { kdf: string, logN: number, r: number, p: number }
  salt: string
  nonce: string
  /** scrypt(passphraseUtf8, salt, N, r, p, 32). */
  key: string
  /** The AEAD's associated data: 'pl/backup-header'. */
  header: string
  /** What is sealed: 'pl/backup-data'. */
  payload: string
  /** The file's bytes: 'pl/backup'. */
  file: string
  /** Its text form ("plbackup:" base64url). */
  text: string
}

export async function generateBackup (): Promise<Record<string, unknown>> {
  const ada = await createIdentity('Ada', { seed: input('ada/seed'), boxSecret: input('ada/box') })
  const hood = neighborhoodOf({ name: 'Maple Street Watch', area: '9q8yyk', founder: ada.public.signKey, salt: input('hood/salt', HOOD_SALT_BYTES) })
  let state = newHoodState({ hood, epoch: 0, secret: input('epoch/0'), relays: ['/dns4/relay.example/tcp/443/wss'], members: [ada.public], joined: NOW - 86_400_000 })
  state = withEpoch(state, 1, input('epoch/1'), { learned: NOW - 3_600_000 })
  const contents = { identity: ada, hoods: [state], created: NOW }
  const vectors: BackupVector[] = []
  for (const [name, kdf] of [['small parameters (a quick check)', SMALL_KDF], ['default parameters (every export)', DEFAULT_KDF]] as const) {
    const salt = input(`${name}/salt`, BACKUP_SALT_BYTES)
    const nonce = input(`${name}/nonce`, AEAD_NONCE_BYTES)
    const file = await createBackup(contents, PASSPHRASE, { kdf, salt, nonce })
    const header = encodeStruct(HEADER, { kdf: kdf.kdf, ln: kdf.logN, r: kdf.r, p: kdf.p, s: salt, n: nonce })
    // The payload as sealed: what createBackup encodes (re-encoded here from the same parts).
    const payload = encodeStruct(DATA, { id: encodeIdentitySecret(ada), hoods: [encodeHoodState(state)], at: NOW })
    const key = scrypt(utf8Bytes(PASSPHRASE.normalize('NFC')), salt, { N: 2 ** kdf.logN, r: kdf.r, p: kdf.p, dkLen: 32, maxmem: 300 << 20 })
    decodeStruct(BACKUP, file) // it is the documented structure
    vectors.push({
      name,
      kdf: { ...kdf },
      salt: toHex(salt),
      nonce: toHex(nonce),
      key: toHex(key),
      header: toHex(header),
      payload: toHex(payload),
      file: toHex(file),
      text: formatBackup(file)
    })
  }
  return {
    description: 'Passphrase backups (protocol/backup.ts). key = scrypt(UTF-8(NFC(passphrase)), salt, 2^logN, r, p, 32); ' +
      'file = pl/backup { kdf, ln, r, p, s, n, ct = XChaCha20-Poly1305(key, n, payload, aad = header) }. ' +
      'Opening `file` or `text` with `passphrase` gives the identity and hood below; with `wrongPassphrase` it fails (DECRYPT_FAILED).',
    passphrase: PASSPHRASE,
    passphraseUtf8: toHex(utf8Bytes(PASSPHRASE.normalize('NFC'))),
    wrongPassphrase: 'correct horse battery staple',
    identity: {
      name: ada.public.name,
      seed: toHex(ada.seed),
      boxSecret: toHex(ada.boxSecret),
      signKey: toHex(ada.public.signKey),
      boxKey: toHex(ada.public.boxKey),
      fingerprint: fingerprint(ada.public.signKey)
    },
    hood: {
      id: toHex(hood.id),
      name: hood.name,
      area: hood.area,
      epochs: state.epochs.map(e => ({ epoch: e.epoch, secret: toHex(e.secret), learned: e.learned })),
      currentTagKey: toHex(deriveEpochKeys(hood.id, 1, input('epoch/1')).tagKey)
    },
    created: NOW,
    vectors
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OUT, `${JSON.stringify(await generateBackup(), null, 2)}\n`)
  console.log(`wrote ${OUT.pathname}`)
}
