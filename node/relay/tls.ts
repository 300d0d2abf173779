/**
 * The relay's TLS certificate and key (`porchlight relay --tls-cert FILE --tls-key FILE`): read
 * and checked before anything listens, so that a missing, unreadable, malformed or mismatched
 * file is one line naming the file, not a stack trace from deep inside node:https. With them the
 * HTTP port serves HTTPS and the WebSockets port WSS (/tls/ws): phones on a LAN need a secure
 * context for the web app's service worker and WebCrypto.
 */
import { readFile } from 'node:fs/promises'
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { fail } from '../../protocol/errors.ts'

/** PEM text, as node:https and node:tls take it. */
export interface TlsFiles {
  /** The certificate chain (leaf first). */
  cert: string
  key: string
}

export interface LoadedTls extends TlsFiles {
  /** The leaf certificate's end of validity, ms since the Unix epoch. */
  validTo: number
  /** Its subject and alternative names, for the start-up line. */
  names: string
}

/** Reads and checks a certificate and its key; `now` to say whether it has expired. */
export async function loadTls (certFile: string | undefined, keyFile: string | undefined, now = Date.now()): Promise<LoadedTls> {
  if (certFile === undefined || keyFile === undefined) {
    fail('BAD_ARGUMENT', `--tls-cert and --tls-key go together: give both (${certFile === undefined ? '--tls-cert' : '--tls-key'} is missing)`)
  }
  const cert = await readPem(certFile, '--tls-cert')
  const key = await readPem(keyFile, '--tls-key')
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(cert)
  } catch {
    fail('BAD_ARGUMENT', `--tls-cert ${certFile} is not a PEM certificate (-----BEGIN CERTIFICATE-----)`)
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(key)
  } catch {
    fail('BAD_ARGUMENT', `--tls-key ${keyFile} is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)`)
  }
  if (!leaf.checkPrivateKey(privateKey)) fail('BAD_ARGUMENT', `--tls-key ${keyFile} does not belong to the certificate in --tls-cert ${certFile}`)
  const validTo = Date.parse(leaf.validTo)
  if (Number.isFinite(validTo) && validTo < now) fail('BAD_ARGUMENT', `--tls-cert ${certFile} expired on ${new Date(validTo).toISOString()}: renew it`)
  const names = leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ', ')
  return { cert, key, validTo, names }
}

async function readPem (file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : (err as Error).message
    fail('BAD_ARGUMENT', `cannot read ${flag} ${file}: ${why}`)
  }
}
