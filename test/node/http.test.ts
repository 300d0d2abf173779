// The relay's static files stay inside their folder: with the web folder /x/pl beside the data
// folder /x/pl-data, no request path (`..`, encoded `..`, a sibling with the same prefix, a
// symlink out) reaches the relay's private libp2p key. Raw requests, since fetch would
// normalise the `..` away before sending.
import { describe, it, expect, afterAll } from 'vitest'
import { request } from 'node:http'
import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startHttp } from '../../node/relay/http.ts'
import { cleanUp, tempDir } from '../helpers/network.ts'

afterAll(cleanUp)

function get (url: string, path: string): Promise<{ status: number, body: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: 'GET' }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('static files', () => {
  it('serves the web folder and nothing outside it', async () => {
    const top = await tempDir('pl-http-')
    const web = join(top, 'pl')
    const data = join(top, 'pl-data')
    await mkdir(join(web, 'app'), { recursive: true })
    await mkdir(data)
    await writeFile(join(web, 'index.html'), '<p>porchlight</p>')
    await writeFile(join(web, 'app', 'index.html'), '<p>app</p>')
    await writeFile(join(data, 'node-key'), 'SECRET-NODE-KEY')
    await symlink(join(data, 'node-key'), join(web, 'key-link'))
    await symlink(data, join(web, 'data-link'))
    const { server, url } = await startHttp({ port: 0, host: '127.0.0.1', health: () => ({}), metrics: () => '', staticDir: web })
    try {
      expect(await get(url, '/')).toMatchObject({ status: 200, body: '<p>porchlight</p>' })
      expect(await get(url, '/app/')).toMatchObject({ status: 200, body: '<p>app</p>' })
      for (const path of [
        '/../pl-data/node-key', '/..%2fpl-data/node-key', '/%2e%2e/pl-data/node-key', '/%2E%2E%2Fpl-data%2Fnode-key',
        '/app/../../pl-data/node-key', '/key-link', '/data-link/node-key', '/%00', '/%E0%A4%A'
      ]) {
        const res = await get(url, path)
        expect(res.status, path).toBe(404)
        expect(res.body).not.toContain('SECRET')
      }
    } finally {
      server.close()
    }
  })
})
