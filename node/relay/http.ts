/**
 * The relay's HTTP port: `/health` (JSON), `/metrics` (Prometheus text) and, when built,
 * the web app from `web/dist`; HTTPS when the relay has a certificate (`tls`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFile, realpath, stat } from 'node:fs/promises'
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import type { AddressInfo } from 'node:net'
import { PorchlightError } from '../../protocol/errors.ts'
import { RateLimiter, type RateInit } from '../../protocol/peer/rate-limit.ts'

/** Queries per address: a page load asks one; a burst covers a few reloads. */
export const QUERY_RATE: RateInit = { perSecond: 0.5, burst: 20 }

export interface HttpInit {
  port: number
  host: string
  health: () => unknown
  metrics: () => string
  /** Folder of static files (the built web app), if any. */
  staticDir?: string
  /** Extra JSON routes, e.g. `/addresses`. */
  routes?: Record<string, () => unknown>
  /** JSON routes that read the query string and answer with a status, e.g. `/transparency?area=…`. */
  queries?: Record<string, (params: URLSearchParams) => Promise<{ status: number, body: unknown }>>
  /** How often one address may ask `queries` (behind a reverse proxy every browser is the proxy's address). @default QUERY_RATE */
  queryRate?: RateInit
  /** PEM certificate and key (tls.ts): serve HTTPS instead of HTTP. */
  tls?: { cert: string, key: string }
}

/** Characters of a query string read at most. */
const MAX_QUERY_CHARS = 256

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
  const queryRate = new RateLimiter(init.queryRate ?? QUERY_RATE)
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
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
    const query = init.queries?.[path]
    if (query !== undefined) {
      // Per address: a query can make the relay read a whole area's record (see rfa-record.ts).
      if (!queryRate.take(req.socket.remoteAddress ?? '?')) {
        res.writeHead(429, { ...headers, 'retry-after': '10', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'too many requests from this address: try again in a few seconds' }) + '\n')
        return
      }
      // Bounded: a query string longer than any answerable one is not parsed.
      const search = (req.url ?? '').slice(path.length + 1, path.length + 1 + MAX_QUERY_CHARS)
      void query(new URLSearchParams(search)).then(({ status, body }) => {
        res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(JSON.stringify(body) + '\n')
      }, () => { res.writeHead(500, headers).end() })
      return
    }
    void serveStatic(init.staticDir, path).then((file) => {
      if (file === undefined) {
        res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('not found\n')
        return
      }
      res.writeHead(200, { ...headers, 'content-type': MIME[extname(file.path)] ?? 'application/octet-stream' }).end(file.body)
    }, () => { res.writeHead(500, headers).end() })
  }
  const server: Server = init.tls !== undefined ? createHttpsServer({ cert: init.tls.cert, key: init.tls.key }, handle) : createServer(handle)
  await new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new PorchlightError('UNAVAILABLE', `port ${init.port} (HTTP) on ${init.host} is already in use: stop the program using it, or choose another port with --http PORT (0 picks a free one)`, { cause: err })
        : err)
    }
    server.once('error', failed)
    server.listen(init.port, init.host, () => { server.off('error', failed); resolve() })
  })
  const addr = server.address() as AddressInfo
  return { server, url: `${init.tls !== undefined ? 'https' : 'http'}://${init.host}:${addr.port}` }
}

/**
 * A file under `dir` for a URL path, or undefined. Containment is checked on real paths (after
 * symlinks) with path.relative, so `..`, encoded `..`, a sibling folder sharing the prefix
 * (`/srv/pl` beside `/srv/pl-data`) and links out of the folder all stay outside.
 */
async function serveStatic (dir: string | undefined, path: string): Promise<{ path: string, body: Buffer } | undefined> {
  if (dir === undefined) return undefined
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  try {
    const root = await realpath(resolve(dir))
    let file = await realpath(resolve(root, `.${sep}${decoded}`))
    if (!inside(root, file)) return undefined
    if ((await stat(file)).isDirectory()) file = await realpath(join(file, 'index.html'))
    if (!inside(root, file)) return undefined
    return { path: file, body: await readFile(file) }
  } catch {
    return undefined
  }
}

function inside (root: string, file: string): boolean {
  const rel = relative(root, file)
  return !isAbsolute(rel) && rel.split(sep)[0] !== '..'
}
