// A relay given a certificate (`--tls-cert`/`--tls-key`) serves HTTPS on its HTTP port and WSS
// on its WebSockets port, so that phones on a LAN get the secure context the web app needs; a
// missing, unreadable, malformed or mismatched file is one line naming it. The certificate is a
// self-signed one for 127.0.0.1 made here with openssl (the test is skipped without it), and
// the clients trust it as their CA: nothing turns verification off.
import { describe, it, expect, afterAll, beforeAll } from 'vitest'
import { execFileSync } from 'node:child_process'
import { get } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent, WebSocket as UndiciWebSocket } from 'undici'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../../node/libp2p.ts'
import { loadTls } from '../../node/relay/tls.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { cleanUp, cli, startRelay, tempDir } from '../helpers/network.ts'
import { killAll, spawnRelay, stopProcess } from '../helpers/processes.ts'

afterAll(async () => {
  await killAll()
  await cleanUp()
})

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

let dir: string
let certFile: string
let keyFile: string
let otherKeyFile: string
let cert: string

/** A self-signed certificate for 127.0.0.1 and localhost (P-256), and a second key that is not its. */
beforeAll(async () => {
  if (!hasOpenssl) return
  dir = await tempDir('pl-tls-')
  certFile = join(dir, 'cert.pem')
  keyFile = join(dir, 'key.pem')
  otherKeyFile = join(dir, 'other-key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' })
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', otherKeyFile], { stdio: 'ignore' })
  cert = (await loadTls(certFile, keyFile)).cert
})

function getJson (url: string, ca: string): Promise<any> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c })
      res.on('end', () => { try { resolve(JSON.parse(body)) } catch (err) { reject(err) } })
    }).on('error', reject)
  })
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as AddressInfo).port
  await new Promise(resolve => server.close(resolve))
  return port
}

async function tlsError (cert: string | undefined, key: string | undefined): Promise<string> {
  try {
    await loadTls(cert, key)
  } catch (err) {
    if (isPorchlightError(err, 'BAD_ARGUMENT')) return err.message
    throw err
  }
  throw new Error('expected loadTls to refuse')
}

/**
 * Node 20 has no global WebSocket; libp2p's WebSockets transport dials with the global one. This
 * one is undici's, trusting `ca`, for the duration of `fn` (test files share their worker).
 */
async function withWebSocketTrusting<T> (ca: string | undefined, fn: () => Promise<T>): Promise<T> {
  const g = globalThis as { WebSocket?: unknown }
  const before = g.WebSocket
  const dispatcher = new Agent(ca !== undefined ? { connect: { ca } } : {})
  g.WebSocket = class extends UndiciWebSocket {
    constructor (url: string | URL) { super(url, { dispatcher }) }
  }
  try {
    return await fn()
  } finally {
    g.WebSocket = before
    await dispatcher.close()
  }
}

describe.skipIf(!hasOpenssl)('relay over TLS', () => {
  it('serves /health over HTTPS and takes libp2p connections over WSS', async () => {
    const relay = await startRelay({ tls: await loadTls(certFile, keyFile), webOrigin: 'https://porch.example.org' })
    expect(relay.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const health = await getJson(`${relay.httpUrl}/health`, cert)
    expect(health).toMatchObject({ status: 'ok', peerId: relay.node.peerId.toString(), webOrigin: 'https://porch.example.org' })
    const wss = relay.addresses().map(String).find(a => a.includes('/tls/ws'))
    expect(wss, relay.addresses().join(' ')).toBeDefined()
    expect(relay.addresses().map(String).filter(a => /\/ws(\/|$)/.test(a) && !a.includes('/tls/'))).toEqual([])

    const client = await createNode()
    try {
      // Without the CA the dial fails: the TLS is real.
      await expect(withWebSocketTrusting(undefined, async () => client.dial(multiaddr(wss!), { signal: AbortSignal.timeout(10_000) }))).rejects.toThrow()
      const conn = await withWebSocketTrusting(cert, async () => client.dial(multiaddr(wss!), { signal: AbortSignal.timeout(20_000) }))
      expect(conn.remotePeer.toString()).toBe(relay.node.peerId.toString())
      expect(conn.remoteAddr.toString()).toContain('/tls/ws')
    } finally {
      await client.stop()
    }
  })

  it('announces the addresses it is told, and /health lists them', async () => {
    const announce = ['/dns4/porch.example.org/tcp/4001', '/dns4/porch.example.org/tcp/4002/tls/ws']
    const relay = await startRelay({ tls: await loadTls(certFile, keyFile), announce })
    const id = relay.node.peerId.toString()
    expect(relay.addresses().map(String)).toEqual(announce.map(a => `${a}/p2p/${id}`))
    expect(relay.listening().map(String).some(a => a.startsWith('/ip4/127.0.0.1/'))).toBe(true)
    expect((await getJson(`${relay.httpUrl}/health`, cert)).addresses).toEqual(announce.map(a => `${a}/p2p/${id}`))
  })

  it('`porchlight relay` takes them from its config file, derives the web origin and says so', async () => {
    const config = join(dir, 'relay.json')
    // A fixed HTTP port (port 0 derives no origin): one the system just handed out, so free.
    const http = await freePort()
    await writeFile(config, JSON.stringify({ tlsCert: certFile, tlsKey: keyFile, announce: ['/dns4/porch.example.org/tcp/4001'] }))
    const relay = await spawnRelay(['--data', await tempDir('pl-tls-data-'), '--config', config, '--tcp', '0', '--ws', '0', '--http', String(http)])
    const info = relay as unknown as { webOrigin: string, listening: string[], http: string }
    expect(info.webOrigin).toBe(`https://porch.example.org:${http}`)
    expect(info.http).toBe(`https://127.0.0.1:${http}`)
    expect(relay.addresses).toEqual([`/dns4/porch.example.org/tcp/4001/p2p/${relay.peerId}`])
    expect(info.listening.some(a => a.endsWith('/tls/ws'))).toBe(true)
    expect(await getJson(`${info.http}/health`, cert)).toMatchObject({ webOrigin: `https://porch.example.org:${http}` })
    expect((await stopProcess(relay, 'SIGTERM')).code).toBe(0)
  })

  it('says in one line what is wrong with the certificate or key', async () => {
    expect(await tlsError(certFile, undefined)).toMatch(/--tls-cert and --tls-key go together.*--tls-key is missing/)
    expect(await tlsError(undefined, keyFile)).toMatch(/--tls-cert is missing/)
    expect(await tlsError(join(dir, 'nope.pem'), keyFile)).toBe(`cannot read --tls-cert ${join(dir, 'nope.pem')}: no such file`)
    expect(await tlsError(certFile, dir)).toBe(`cannot read --tls-key ${dir}: it is a folder`)
    expect(await tlsError(keyFile, keyFile)).toMatch(/--tls-cert .* is not a PEM certificate/)
    expect(await tlsError(certFile, certFile)).toMatch(/--tls-key .* is not an unencrypted PEM private key/)
    expect(await tlsError(certFile, otherKeyFile)).toBe(`--tls-key ${otherKeyFile} does not belong to the certificate in --tls-cert ${certFile}`)
    // Checked before anything listens or the data folder is touched: `porchlight relay` fails with that line.
    const home = await tempDir('pl-tls-home-')
    const data = join(dir, 'never-made')
    const r = await cli(home, ['relay', '--data', data, '--tls-cert', certFile, '--tls-key', otherKeyFile], 1)
    expect(r.err.trim().split('\n')).toHaveLength(1)
    expect(r.err).toContain('does not belong to the certificate')
    await expect(writeFile(join(data, 'x'), '')).rejects.toThrow(/ENOENT/)
  })

  it('refuses an expired certificate', async () => {
    await expect(loadTls(certFile, keyFile)).resolves.toMatchObject({ names: expect.stringContaining('IP Address:127.0.0.1') })
    await expect(loadTls(certFile, keyFile, Date.now() + 3 * 86_400_000)).rejects.toThrow(/expired on .*: renew it/)
  })
})
