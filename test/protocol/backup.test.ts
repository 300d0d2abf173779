// Passphrase backups (protocol/backup.ts): round trip, a wrong passphrase or any changed byte
// gives DECRYPT_FAILED and nothing else, hostile KDF parameters are refused before any KDF
// work, and the vectors in test/vectors/backup.json. Cheap scrypt parameters (LOW) keep the
// tests fast; the defaults are checked once, against the vector every export must match.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { runs } from '../helpers/fc.ts'
import { aeadOpen, AEAD_NONCE_BYTES, randomBytes } from '../../protocol/crypto.ts'
import { encodeStruct, equalBytes, fromHex, toBase64Url, toHex, type StructSpec } from '../../protocol/encoding.ts'
import { PorchlightError } from '../../protocol/errors.ts'
import { createIdentity, encodeIdentitySecret } from '../../protocol/identity.ts'
import { createInvite, encodeInvite } from '../../protocol/invite.ts'
import { currentEpochKeys, encodeAgencyState, encodeHoodState, newHoodState, withEpoch, type HoodState } from '../../protocol/hood-state.ts'
import { newEpochSecret } from '../../protocol/neighborhood.ts'
import {
  BACKUP_PREFIX, BACKUP_SALT_BYTES, backupBytes, createBackup, DEFAULT_KDF, formatBackup, MAX_BACKUP_HOODS, MAX_KDF_MEMORY,
  MAX_KDF_WORK, openBackup, parseBackup, type BackupContents, type KdfParams
} from '../../protocol/backup.ts'
import { applyEdits, byteEdits, codeOrAccepted as codeOf, flips, rejection, rejectionSync, testHood } from '../helpers/protocol-fixtures.ts'
import { generateBackup, NOW, PASSPHRASE, type BackupVector } from '../vectors/generate-backup.ts'

/** N = 16: microseconds, so every flipped byte can be tried. */
const LOW: KdfParams = { kdf: 'scrypt', logN: 4, r: 8, p: 1 }
const PASS = 'four random words here'
const BACKUP: StructSpec = { domain: 'pl/backup', version: 1, required: ['kdf', 'ln', 'r', 'p', 's', 'n', 'ct'], maxBytes: 32 << 20 }

const ada = await createIdentity('Ada')
const hood = testHood(ada)
let state: HoodState = newHoodState({ hood, epoch: 0, secret: newEpochSecret(), relays: ['/dns4/relay.example/tcp/443/wss'], members: [ada.public], joined: NOW })
state = withEpoch(state, 1, newEpochSecret(), { learned: NOW + 1000 })
const contents: BackupContents = { identity: ada, hoods: [state], created: NOW }
const file = await createBackup(contents, PASS, { kdf: LOW })

/** A file with the given header fields (the rest as `file`'s). */
function withHeader (fields: Record<string, unknown>): Uint8Array {
  const h = parseBackup(file)
  return encodeStruct(BACKUP, { kdf: 'scrypt', ln: h.kdf.logN, r: h.kdf.r, p: h.kdf.p, s: h.salt, n: h.nonce, ct: h.ciphertext, ...fields } as never)
}

function expectSame (back: BackupContents, want: BackupContents): void {
  expect(encodeIdentitySecret(back.identity)).toEqual(encodeIdentitySecret(want.identity))
  expect(back.identity.public).toEqual(want.identity.public)
  expect(back.hoods.map(encodeHoodState)).toEqual(want.hoods.map(encodeHoodState))
  expect(back.agency === undefined ? undefined : encodeAgencyState(back.agency)).toEqual(want.agency === undefined ? undefined : encodeAgencyState(want.agency))
  expect(back.created).toBe(want.created)
}

describe('backups', () => {
  it('round trip, as bytes and as text (with white space around it), with the epoch secrets', async () => {
    expectSame(await openBackup(file, PASS), contents)
    const text = formatBackup(file)
    expect(text.startsWith(BACKUP_PREFIX)).toBe(true)
    expectSame(await openBackup(`\n ${text}\r\n`, PASS), contents)
    expectSame(await openBackup(new TextEncoder().encode(text + '\n'), PASS), contents)
    expect(backupBytes(text)).toEqual(file)
    const back = await openBackup(file, PASS)
    expect(currentEpochKeys(back.hoods[0]!)).toEqual(currentEpochKeys(state))
    // An agency's state, and no neighborhoods.
    const agency = await createIdentity('Springfield PD')
    const withAgency: BackupContents = { identity: agency, hoods: [], agency: { areas: ['9q8yy'], attestations: [], relays: ['/dns4/r.example/tcp/443/wss'] }, created: NOW }
    expectSame(await openBackup(await createBackup(withAgency, PASS, { kdf: LOW }), PASS), withAgency)
  })

  it('a fresh salt and nonce every time: the same contents never make the same file', async () => {
    const again = await createBackup(contents, PASS, { kdf: LOW })
    const [a, b] = [parseBackup(file), parseBackup(again)]
    expect(equalBytes(a.salt, b.salt) || equalBytes(a.nonce, b.nonce)).toBe(false)
    expect(a.salt.length).toBe(BACKUP_SALT_BYTES)
    expect(a.nonce.length).toBe(AEAD_NONCE_BYTES)
  })

  it('a wrong passphrase: DECRYPT_FAILED, "wrong passphrase or damaged file", nothing else', async () => {
    for (const wrong of ['four random words her', 'Four random words here', PASS + ' ', 'x']) {
      const err = await openBackup(file, wrong).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(PorchlightError)
      expect((err as PorchlightError).code).toBe('DECRYPT_FAILED')
      expect((err as PorchlightError).message).toBe('wrong passphrase or damaged file')
    }
    expect(await rejection(() => openBackup(file, ''))).toBe('BAD_ARGUMENT')
  })

  it('the passphrase is taken in NFC: an é typed precomposed or combining opens the same file', async () => {
    const composed = await createBackup(contents, 'passphrase caf\u00e9', { kdf: LOW })
    expect((await openBackup(composed, 'passphrase cafe\u0301')).created).toBe(NOW)
  })

  it('a short passphrase is refused when making a backup', async () => {
    expect(await rejection(() => createBackup(contents, 'seven77', { kdf: LOW }))).toBe('BAD_ARGUMENT')
    expect(await rejection(() => createBackup(contents, '', { kdf: LOW }))).toBe('BAD_ARGUMENT')
    expect(await rejection(() => createBackup(contents, 'x'.repeat(1025), { kdf: LOW }))).toBe('TOO_LARGE')
    expect((await openBackup(await createBackup(contents, 'eight888', { kdf: LOW }), 'eight888')).created).toBe(NOW)
  })

  it('every single flipped bit, anywhere in the file, is refused (and every flip in the ciphertext as DECRYPT_FAILED)', async () => {
    const ct = parseBackup(file).ciphertext
    // Map keys are in canonical order (shortest first), so `ct` is not last: find it.
    const ctStart = Array.from({ length: file.length - ct.length + 1 }, (_, i) => i).find(i => equalBytes(file.subarray(i, i + ct.length), ct))!
    expect(ctStart).toBeGreaterThan(0)
    for (const [i, copy] of flips(file)) {
      const code = await codeOf(() => openBackup(copy, PASS))
      expect(code, `byte ${i}`).not.toBe('accepted')
      if (i >= ctStart && i < ctStart + ct.length) expect(code, `byte ${i}`).toBe('DECRYPT_FAILED')
    }
    // The text form: one character changed.
    const text = formatBackup(file)
    for (const at of [BACKUP_PREFIX.length + 3, text.length - 5, Math.floor(text.length / 2)]) {
      const typo = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)
      expect(await codeOf(() => openBackup(typo, PASS))).not.toBe('accepted')
    }
  })

  it('a changed salt, nonce or KDF parameter (within bounds) does not open: the header is bound', async () => {
    for (const fields of [{ s: randomBytes(16) }, { n: randomBytes(24) }, { ln: 5 }, { r: 7 }, { p: 2 }]) {
      expect(await rejection(() => openBackup(withHeader(fields), PASS))).toBe('DECRYPT_FAILED')
    }
  })

  it('cut short at every length, or with bytes added, is refused', async () => {
    for (let n = 0; n < file.length; n++) {
      expect(await codeOf(() => openBackup(file.subarray(0, n), PASS)), `first ${n} bytes`).not.toBe('accepted')
    }
    for (const extra of [[0], [0xff], [0x60, 0x61]]) {
      expect(await rejection(() => openBackup(Uint8Array.from([...file, ...extra]), PASS))).toBe('MALFORMED')
    }
    const text = formatBackup(file)
    expect(await rejection(() => openBackup(text.slice(0, -4), PASS))).not.toBe('accepted')
    expect(await rejection(() => openBackup(text + 'AAAA', PASS))).not.toBe('accepted')
  })

  it('hostile KDF parameters are refused before any KDF work (parseBackup, and openBackup at once)', async () => {
    const hostile: Array<[Record<string, unknown>, string]> = [
      [{ ln: 19 }, 'OUT_OF_RANGE'], [{ ln: 40 }, 'OUT_OF_RANGE'], [{ ln: 0 }, 'OUT_OF_RANGE'],
      [{ r: 0 }, 'OUT_OF_RANGE'], [{ r: 1_000_000 }, 'OUT_OF_RANGE'], [{ p: 0 }, 'OUT_OF_RANGE'], [{ p: 1000 }, 'OUT_OF_RANGE'],
      // Each within its own bound, but over the memory (512 MiB) or the work (4x the default):
      [{ ln: 18, r: 16 }, 'OUT_OF_RANGE'], [{ ln: 18, r: 8, p: 2 }, 'OUT_OF_RANGE'], [{ ln: 16, r: 16, p: 4 }, 'OUT_OF_RANGE'],
      [{ kdf: 'argon2id' }, 'OUT_OF_RANGE'], [{ ln: -1 }, 'OUT_OF_RANGE'], [{ ln: '17' }, 'WRONG_TYPE'],
      [{ s: randomBytes(8) }, 'BAD_LENGTH'], [{ n: randomBytes(12) }, 'BAD_LENGTH'], [{ ct: new Uint8Array(15) }, 'BAD_LENGTH']
    ]
    for (const [fields, code] of hostile) {
      const bytes = withHeader(fields)
      expect(rejectionSync(() => parseBackup(bytes)), JSON.stringify(fields)).toBe(code)
      const start = performance.now()
      expect(await rejection(() => openBackup(bytes, PASS))).toBe(code)
      expect(performance.now() - start, JSON.stringify(fields)).toBeLessThan(200)
    }
    // The largest allowed sit exactly on the bounds.
    expect(128 * 8 * 2 ** 18).toBe(MAX_KDF_MEMORY)
    expect(2 ** 18 * 8 * 1).toBe(MAX_KDF_WORK)
    expect(parseBackup(withHeader({ ln: 18 })).kdf.logN).toBe(18)
    // Making a backup is held to the same bounds.
    expect(await rejection(() => createBackup(contents, PASS, { kdf: { kdf: 'scrypt', logN: 20, r: 8, p: 1 } }))).toBe('OUT_OF_RANGE')
  })

  it('the default parameters are the strong ones', () => {
    expect(DEFAULT_KDF).toEqual({ kdf: 'scrypt', logN: 17, r: 8, p: 1 })
    expect(Object.isFrozen(DEFAULT_KDF)).toBe(true)
    // (the default vector below checks that createBackup uses them when given none)
  })

  it('not a backup: said so, with a decoding code', async () => {
    const invite = encodeInvite(await createInvite(ada, hood, currentEpochKeys(state), state.relays, NOW, 3_600_000))
    for (const input of [invite, 'plbackup:', 'plbackup:!!', '', new Uint8Array(0), encodeIdentitySecret(ada), new TextEncoder().encode('hello')]) {
      const err = await openBackup(input, PASS).then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(PorchlightError)
      expect((err as PorchlightError).message).toMatch(/not a Porchlight backup/)
    }
    expect(await rejection(() => openBackup(encodeIdentitySecret(ada), PASS))).toBe('BAD_DOMAIN')
    expect(await rejection(() => openBackup(encodeStruct({ ...BACKUP, version: 2 }, {}), PASS))).toBe('BAD_VERSION')
  })

  it('neighborhoods: unique, at most MAX_BACKUP_HOODS', async () => {
    expect(await rejection(() => createBackup({ ...contents, hoods: [state, state] }, PASS, { kdf: LOW }))).toBe('MALFORMED')
    const many = Array.from({ length: MAX_BACKUP_HOODS + 1 }, () => state)
    expect(await rejection(() => createBackup({ ...contents, hoods: many }, PASS, { kdf: LOW }))).toBe('TOO_LARGE')
  })

  it('random bytes and random edits of a file: only PorchlightErrors, never accepted', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
      expect(await codeOf(() => openBackup(bytes, PASS))).not.toBe('accepted')
      expect(await codeOf(() => openBackup(BACKUP_PREFIX + toBase64Url(bytes), PASS))).not.toBe('accepted')
    }), { numRuns: runs(200) })
    await fc.assert(fc.asyncProperty(byteEdits(), async (edits) => {
      const m = applyEdits(file, edits)
      const code = await codeOf(() => openBackup(m, PASS))
      if (equalBytes(m, file)) expect(code).toBe('accepted')
      else expect(code).not.toBe('accepted')
    }), { numRuns: runs(100) })
  })
})

// ---- test/vectors/backup.json ----

const vectors = JSON.parse(readFileSync(new URL('../vectors/backup.json', import.meta.url), 'utf8')) as {
  passphrase: string, passphraseUtf8: string, wrongPassphrase: string,
  identity: { name: string, seed: string, boxSecret: string, signKey: string, fingerprint: string },
  hood: { id: string, name: string, epochs: Array<{ epoch: number, secret: string, learned: number }> },
  created: number, vectors: BackupVector[]
}

describe('backup vectors', () => {
  it('the generator reproduces test/vectors/backup.json exactly', async () => {
    expect(JSON.parse(JSON.stringify(await generateBackup()))).toEqual(vectors)
  })

  it('each vector opens to the identity and neighborhood it names; its payload is the AEAD opening under its key', async () => {
    expect(vectors.passphrase).toBe(PASSPHRASE)
    for (const v of vectors.vectors) {
      expect(aeadOpen(fromHex(v.key), fromHex(v.nonce), parseBackup(fromHex(v.file)).ciphertext, fromHex(v.header))).toEqual(fromHex(v.payload))
      expect(backupBytes(v.text)).toEqual(fromHex(v.file))
    }
    expect(await rejection(() => openBackup(vectors.vectors[0]!.text, vectors.wrongPassphrase))).toBe('DECRYPT_FAILED')
    // The cheap one opened whole (the default one's opening is the test below).
    const back = await openBackup(vectors.vectors[0]!.text, vectors.passphrase)
    expect(toHex(back.identity.seed)).toBe(vectors.identity.seed)
    expect(toHex(back.identity.public.signKey)).toBe(vectors.identity.signKey)
    expect(back.identity.public.name).toBe(vectors.identity.name)
    expect(toHex(back.hoods[0]!.hood.id)).toBe(vectors.hood.id)
    expect(back.hoods[0]!.epochs.map(e => ({ epoch: e.epoch, secret: toHex(e.secret), learned: e.learned }))).toEqual(vectors.hood.epochs)
    expect(back.created).toBe(vectors.created)
  })

  it('an export with no parameters given uses the defaults: it makes the default vector byte for byte', async () => {
    const v = vectors.vectors.find(x => x.kdf.logN === DEFAULT_KDF.logN)!
    expect(v.kdf).toEqual({ ...DEFAULT_KDF })
    // The same contents, from the cheap vector (the generator checked the default one's key).
    const back = await openBackup(vectors.vectors[0]!.text, vectors.passphrase)
    const made = await createBackup(back, vectors.passphrase, { salt: fromHex(v.salt), nonce: fromHex(v.nonce) })
    expect(toHex(made)).toBe(v.file)
    expect(parseBackup(made).kdf).toEqual(DEFAULT_KDF)
  })
})
