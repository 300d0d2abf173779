/**
 * The relay's HTTP port: `/health` (JSON), `/metrics` (Prometheus text) and, when built,
 * the web app from `web/dist`.
 */
import { createServer, type Server } from 'node:http'
import { readFile, stat } from 'node:fs/promises'
import { extname, join, normalize, resolve } from 'node:path'
import type { AddressInfo } from 'node:net'

export interface HttpInit {
  port: number
  host: string
  health: () => unknown
  metrics: () => string
  /** Folder of static files (the built web app), if any. */
  staticDir?: string
  /** Extra JSON routes, e.g. `/addresses`. */
  routes?: Record<string, () => unknown>
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm'
}

export async function startHttp (init: HttpInit): Promise<{ server: Server, url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers).end()
      return
    }
    const json = (value: unknown): void => {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(value, null, 2) + '\n')
    }
    if (path === '/health') return json(init.health())
    if (path === '/metrics') {
      res.writeHead(200, { ...headers, 'content-type': 'text/plain; version=0.0.4' }).end(init.metrics())
      return
    }
    const route = init.routes?.[path]
    if (route !== undefined) return json(route())
    void serveStatic(init.staticDir, path).then((file) => {
      if (file === undefined) {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found\n')
        return
      }
      res.writeHead(200, { ...headers, 'content-type': MIME[extname(file.path)] ?? 'application/octet-stream' }).end(file.body)
    }, () => { res.writeHead(500, headers).end() })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
  })
  const addr = server.address() as AddressInfo
  return { server, url: `http://${init.host}:${addr.port}` }
}

async function serveStatic (dir: string | undefined, path: string): Promise<{ path: string, body: Buffer } | undefined> {
  if (dir === undefined) return undefined
  const root = resolve(dir)
  let file = normalize(join(root, decodeURIComponent(path)))
  if (!file.startsWith(root)) return undefined
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html')
    return { path: file, body: await readFile(file) }
  } catch {
    return undefined
  }
}
