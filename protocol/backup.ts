/**
 * Backups: a resident's keys and neighborhoods, encrypted under a passphrase, to carry them to
 * another device. Keys never leave a device otherwise; a backup is an explicit export
 * (`porchlight id export FILE`, `id import FILE`; the browser downloads and uploads the same file).
 *
 *   file    = CBOR 'pl/backup' v1 { kdf: "scrypt", ln: log2 N, r, p, s: salt (16), n: nonce (24), ct }
 *   text    = "plbackup:" base64url(file)            (what the CLI writes, plus a newline; both read)
 *   header  = CBOR 'pl/backup-header' v1 { kdf, ln, r, p, s, n }   (the file's fields but `ct`)
 *   key     = scrypt(UTF-8(NFC(passphrase)), s, N = 2^ln, r, p, dkLen = 32)
 *   ct      = XChaCha20-Poly1305(key, n, payload, aad = header)
 *   payload = CBOR 'pl/backup-data' v1 { id: 'pl/id-secret' bytes (identity.ts: seed, box secret, name),
 *               hoods: ['pl/home-hood' bytes] (0..64, hood-state.ts: neighborhood, every epoch secret,
 *               relays, members…), ag?: 'pl/home-agency' bytes (an agency's state), at: made (ms) }
 *
 * The header is the AEAD's associated data, so a file whose KDF parameters or salt were changed
 * does not open (nobody can weaken a stored backup and have it still accepted). A wrong passphrase
 * and a damaged file are the same failure to the AEAD: DECRYPT_FAILED "wrong passphrase or damaged
 * file", and nothing of the contents is returned.
 *
 * KDF: scrypt (RFC 7914), N = 2^17, r = 8, p = 1 by default: 128 MiB and about a second in Node
 * or a desktop browser (noble's pure-JS scrypt; ~0.7 s natively), the parameters OWASP lists for
 * scrypt. scrypt rather than Argon2id: both are memory-hard, but the only Argon2id here is
 * pure-JS 64-bit arithmetic, several times slower per MiB, so at the same wait in a browser
 * Argon2id would get far less memory. The parameters travel in the file, so a later version can
 * raise them; a reader refuses any beyond MAX_KDF_MEMORY (256 MiB) or MAX_KDF_WORK (twice the
 * default's N·r·p) before deriving anything, so a hostile file cannot make it allocate or spin.
 * The salt is fresh for every export, so the key is too; the nonce is random as well.
 *
 * The passphrase is taken in Unicode NFC, so the same words typed on two systems (a precomposed
 * or a combining é) give the same key. At least MIN_PASSPHRASE_CHARS to make a backup; the KDF
 * slows guessing, it does not make a short passphrase safe.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { fail, isPorchlightError, PorchlightError } from './errors.ts'
import { aeadOpen, aeadSeal, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, randomBytes } from './crypto.ts'
import { decodeStruct, encodeStruct, fromBase64Url, toBase64Url, toHex, utf8Bytes, type Fields, type StructSpec } from './encoding.ts'
import { decodeIdentitySecret, encodeIdentitySecret, type Identity } from './identity.ts'
import {
  decodeAgencyState, decodeHoodState, encodeAgencyState, encodeHoodState, MAX_AGENCY_FILE_BYTES, MAX_HOOD_FILE_BYTES,
  type AgencyState, type HoodState
} from './hood-state.ts'

export const BACKUP_PREFIX = 'plbackup:'
export const BACKUP_VERSION = 1
export const BACKUP_SALT_BYTES = 16
/** Neighborhoods one backup carries (a home in more is refused with TOO_LARGE). */
export const MAX_BACKUP_HOODS = 64
/**
 * Bound on the whole file: far above a real home (a hood with 2000 members and a year of
 * weekly rekeys is ~450 KB), below what a browser tab minds holding twice.
 */
export const MAX_BACKUP_BYTES = 32 << 20
export const MAX_BACKUP_CHARS = BACKUP_PREFIX.length + Math.ceil(MAX_BACKUP_BYTES * 4 / 3)
export const MIN_PASSPHRASE_CHARS = 8
export const MAX_PASSPHRASE_BYTES = 1024
/** scrypt's memory is 128·r·N bytes: at most 256 MiB. */
export const MAX_KDF_MEMORY = 256 << 20
/** scrypt's time grows with N·r·p: at most twice the default's. */
export const MAX_KDF_WORK = 2 * (1 << 17) * 8
export const MAX_LOG_N = 18
export const MAX_KDF_R = 16
export const MAX_KDF_P = 4
const KEY_BYTES = 32
/** Identity secret ('pl/id-secret' is at most 256 bytes, identity.ts). */
const MAX_ID_SECRET_BYTES = 256

export interface KdfParams {
  readonly kdf: 'scrypt'
  /** log2 of scrypt's N (CPU and memory cost). */
  readonly logN: number
  readonly r: number
  readonly p: number
}

/** The strong parameters every export uses (an option lowers them only for tests). */
export const DEFAULT_KDF: KdfParams = Object.freeze({ kdf: 'scrypt', logN: 17, r: 8, p: 1 })

const HEADER_FIELDS = ['kdf', 'ln', 'r', 'p', 's', 'n']
const BACKUP: StructSpec = { domain: 'pl/backup', version: BACKUP_VERSION, required: [...HEADER_FIELDS, 'ct'], maxBytes: MAX_BACKUP_BYTES }
const HEADER: StructSpec = { domain: 'pl/backup-header', version: BACKUP_VERSION, required: HEADER_FIELDS, maxBytes: 256 }
const DATA: StructSpec = { domain: 'pl/backup-data', version: BACKUP_VERSION, required: ['id', 'hoods', 'at'], optional: ['ag'], maxBytes: MAX_BACKUP_BYTES }

/** What a backup holds. */
export interface BackupContents {
  readonly identity: Identity
  /** Each neighborhood's state, epoch secrets included; unique by id. */
  readonly hoods: readonly HoodState[]
  /** An agency identity's state (followed areas, attestations). */
  readonly agency?: AgencyState
  /** When the backup was made (ms). */
  readonly created: number
}

/** The readable part of a backup file: enough to decide whether to ask for the passphrase. */
export interface BackupHeader {
  readonly kdf: KdfParams
  readonly salt: Uint8Array
  readonly nonce: Uint8Array
  readonly ciphertext: Uint8Array
}

export interface CreateOptions {
  /** KDF parameters; DEFAULT_KDF unless a test asks for cheaper ones. */
  readonly kdf?: KdfParams
  /** For vectors only: fixed salt and nonce instead of fresh random ones. */
  readonly salt?: Uint8Array
  readonly nonce?: Uint8Array
  /** Called with 0..1 while the KDF runs (a progress bar). */
  readonly onProgress?: (fraction: number) => void
}

/** Encrypts `contents` under `passphrase`: the file's bytes (see formatBackup for the text). */
export async function createBackup (contents: BackupContents, passphrase: string, opts: CreateOptions = {}): Promise<Uint8Array> {
  checkNewPassphrase(passphrase)
  const pass = passphraseBytes(passphrase)
  const kdf = checkKdf(opts.kdf ?? DEFAULT_KDF)
  const salt = opts.salt ?? randomBytes(BACKUP_SALT_BYTES)
  const nonce = opts.nonce ?? randomBytes(AEAD_NONCE_BYTES)
  if (salt.length !== BACKUP_SALT_BYTES) fail('BAD_LENGTH', `backup salt must be ${BACKUP_SALT_BYTES} bytes`)
  if (nonce.length !== AEAD_NONCE_BYTES) fail('BAD_LENGTH', `backup nonce must be ${AEAD_NONCE_BYTES} bytes`)
  const payload = encodePayload(contents)
  const header = headerFields(kdf, salt, nonce)
  const key = await deriveKey(pass, salt, kdf, opts.onProgress)
  try {
    const ct = aeadSeal(key, nonce, payload, encodeStruct(HEADER, header))
    return encodeStruct(BACKUP, { ...header, ct })
  } finally {
    key.fill(0)
    payload.fill(0)
  }
}

/** The text form: "plbackup:" + base64url of the bytes. */
export function formatBackup (bytes: Uint8Array): string {
  if (bytes.length > MAX_BACKUP_BYTES) fail('TOO_LARGE', `a backup is at most ${MAX_BACKUP_BYTES} bytes`)
  return BACKUP_PREFIX + toBase64Url(bytes)
}

/**
 * The file's bytes from what was read: the text form (surrounding white space ignored) or the
 * binary one. Bytes that are neither are MALFORMED, with a message that says what a backup is.
 */
export function backupBytes (input: Uint8Array | string): Uint8Array {
  if (typeof input === 'string') return fromText(input)
  if (!(input instanceof Uint8Array)) fail('WRONG_TYPE', 'a backup is bytes or text')
  if (input.length > MAX_BACKUP_CHARS + 2) fail('TOO_LARGE', `over ${MAX_BACKUP_CHARS} bytes`)
  const prefix = utf8Bytes(BACKUP_PREFIX)
  let i = 0
  while (i < input.length && isSpace(input[i]!)) i++
  if (input.length - i >= prefix.length && prefix.every((b, j) => input[i + j] === b)) {
    return fromText(new TextDecoder().decode(input))
  }
  return input
}

function isSpace (b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d
}

function fromText (text: string): Uint8Array {
  if (text.length > MAX_BACKUP_CHARS + 2) fail('TOO_LARGE', `over ${MAX_BACKUP_CHARS} characters`)
  const s = text.trim()
  if (!s.startsWith(BACKUP_PREFIX)) fail('MALFORMED', `the text form starts with "${BACKUP_PREFIX}"`)
  return fromBase64Url(s.slice(BACKUP_PREFIX.length), MAX_BACKUP_CHARS)
}

/**
 * Reads the unencrypted header strictly (domain, version, canonical CBOR, KDF parameters within
 * bounds). No KDF work: a hostile file fails here, before any memory is spent on it.
 */
export function parseBackup (input: Uint8Array | string): BackupHeader {
  let f: Fields
  try {
    f = decodeStruct(BACKUP, backupBytes(input))
  } catch (err) {
    if (isPorchlightError(err, 'BAD_VERSION')) {
      fail('BAD_VERSION', `this backup is in a format this Porchlight does not read (it reads ${BACKUP_VERSION}): a newer version made it?`, err)
    }
    if (isPorchlightError(err)) fail(err.code, `not a Porchlight backup, or a damaged one: ${err.message}`, err)
    throw err
  }
  const kdf = checkKdf({ kdf: f.oneOf('kdf', ['scrypt'] as const), logN: f.uint('ln', MAX_LOG_N, 1), r: f.uint('r', MAX_KDF_R, 1), p: f.uint('p', MAX_KDF_P, 1) })
  return {
    kdf,
    salt: f.bytes('s', { len: BACKUP_SALT_BYTES }),
    nonce: f.bytes('n', { len: AEAD_NONCE_BYTES }),
    ciphertext: f.bytes('ct', { min: AEAD_TAG_BYTES })
  }
}

/**
 * Decrypts and decodes a backup. Wrong passphrase or any changed byte: DECRYPT_FAILED, and
 * nothing else comes out. The contents are checked as strictly as the home's own files.
 */
export async function openBackup (input: Uint8Array | string, passphrase: string, opts: { onProgress?: (fraction: number) => void } = {}): Promise<BackupContents> {
  const h = parseBackup(input)
  const pass = passphraseBytes(passphrase)
  const key = await deriveKey(pass, h.salt, h.kdf, opts.onProgress)
  let payload: Uint8Array
  try {
    payload = aeadOpen(key, h.nonce, h.ciphertext, encodeStruct(HEADER, headerFields(h.kdf, h.salt, h.nonce)))
  } catch (err) {
    if (isPorchlightError(err, 'DECRYPT_FAILED')) fail('DECRYPT_FAILED', 'wrong passphrase or damaged file', err)
    throw err
  } finally {
    key.fill(0)
  }
  try {
    return await decodePayload(payload)
  } catch (err) {
    // It decrypted, so the passphrase was right: the maker wrote something this version refuses.
    if (err instanceof PorchlightError) throw new PorchlightError(err.code, `the backup opened but its contents are invalid: ${err.message}`, { cause: err })
    throw err
  } finally {
    payload.fill(0)
  }
}

function headerFields (kdf: KdfParams, salt: Uint8Array, nonce: Uint8Array): Record<string, string | number | Uint8Array> {
  return { kdf: kdf.kdf, ln: kdf.logN, r: kdf.r, p: kdf.p, s: salt, n: nonce }
}

/** Bounds of the KDF parameters, for making and for reading a backup. */
export function checkKdf (kdf: KdfParams): KdfParams {
  if (kdf.kdf !== 'scrypt') fail('UNSUPPORTED', `unknown backup KDF "${String(kdf.kdf).slice(0, 20)}"`)
  const { logN, r, p } = kdf
  if (!Number.isSafeInteger(logN) || logN < 1 || logN > MAX_LOG_N) fail('OUT_OF_RANGE', `scrypt log2 N must be 1..${MAX_LOG_N}`)
  if (!Number.isSafeInteger(r) || r < 1 || r > MAX_KDF_R) fail('OUT_OF_RANGE', `scrypt r must be 1..${MAX_KDF_R}`)
  if (!Number.isSafeInteger(p) || p < 1 || p > MAX_KDF_P) fail('OUT_OF_RANGE', `scrypt p must be 1..${MAX_KDF_P}`)
  if (128 * r * 2 ** logN > MAX_KDF_MEMORY) fail('OUT_OF_RANGE', `scrypt parameters need more than ${MAX_KDF_MEMORY >> 20} MiB`)
  if (2 ** logN * r * p > MAX_KDF_WORK) fail('OUT_OF_RANGE', 'scrypt parameters ask for more work than a backup may')
  return kdf
}

/** A passphrase fit to make a backup with: MIN_PASSPHRASE_CHARS..MAX_PASSPHRASE_BYTES (any passphrase opens one). */
export function checkNewPassphrase (passphrase: string): void {
  passphraseBytes(passphrase)
  if ([...passphrase.normalize('NFC')].length < MIN_PASSPHRASE_CHARS) {
    fail('BAD_ARGUMENT', `the passphrase must be at least ${MIN_PASSPHRASE_CHARS} characters (a few random words are best)`)
  }
}

function passphraseBytes (passphrase: string): Uint8Array {
  if (typeof passphrase !== 'string') fail('BAD_ARGUMENT', 'passphrase must be a string')
  const bytes = utf8Bytes(passphrase.normalize('NFC'))
  if (bytes.length === 0) fail('BAD_ARGUMENT', 'the passphrase is empty')
  if (bytes.length > MAX_PASSPHRASE_BYTES) fail('TOO_LARGE', `the passphrase is longer than ${MAX_PASSPHRASE_BYTES} bytes`)
  return bytes
}

async function deriveKey (pass: Uint8Array, salt: Uint8Array, kdf: KdfParams, onProgress?: (fraction: number) => void): Promise<Uint8Array> {
  checkKdf(kdf)
  try {
    return await scryptAsync(pass, salt, {
      N: 2 ** kdf.logN, r: kdf.r, p: kdf.p, dkLen: KEY_BYTES,
      // noble checks this too: a second wall behind checkKdf.
      maxmem: MAX_KDF_MEMORY + 128 * kdf.r * kdf.p + 1024,
      ...(onProgress !== undefined ? { onProgress } : {})
    })
  } catch (err) {
    fail('UNSUPPORTED', `cannot derive the backup key: ${(err as Error).message}`, err)
  } finally {
    pass.fill(0)
  }
}

function encodePayload (c: BackupContents): Uint8Array {
  if (c.hoods.length > MAX_BACKUP_HOODS) fail('TOO_LARGE', `a backup holds at most ${MAX_BACKUP_HOODS} neighborhoods`)
  checkUniqueHoods(c.hoods)
  if (!Number.isSafeInteger(c.created) || c.created < 0) fail('BAD_ARGUMENT', 'created must be a time in ms')
  return encodeStruct(DATA, {
    id: encodeIdentitySecret(c.identity),
    hoods: c.hoods.map(encodeHoodState),
    ag: c.agency === undefined ? undefined : encodeAgencyState(c.agency),
    at: c.created
  })
}

async function decodePayload (bytes: Uint8Array): Promise<BackupContents> {
  const f = decodeStruct(DATA, bytes)
  const identity = await decodeIdentitySecret(f.bytes('id', { min: 1, max: MAX_ID_SECRET_BYTES }))
  const hoods = f.array('hoods', MAX_BACKUP_HOODS, item => decodeHoodState(item.bytes({ min: 1, max: MAX_HOOD_FILE_BYTES })))
  checkUniqueHoods(hoods)
  const ag = f.optBytes('ag', { min: 1, max: MAX_AGENCY_FILE_BYTES })
  return { identity, hoods, ...(ag !== undefined ? { agency: decodeAgencyState(ag) } : {}), created: f.uint('at') }
}

function checkUniqueHoods (hoods: readonly HoodState[]): void {
  const ids = new Set(hoods.map(h => toHex(h.hood.id)))
  if (ids.size !== hoods.length) fail('MALFORMED', 'a neighborhood appears twice in the backup')
}
