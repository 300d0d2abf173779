/**
 * The service worker: the app shell (index.html, the built scripts and styles, /relay.json)
 * from the network when the relay answers, from the cache when it does not, so the app opens
 * offline after one visit. Vite's build (vite.config.ts) replaces PRECACHE with the files it
 * wrote and the build's hash, and emits this file as dist/sw.js. Nothing else is cached:
 * posts live in IndexedDB, and the relay's other routes (/metrics, /health) are left alone.
 */
/* global self, caches, fetch, URL, Response */
const BUILD = { hash: 'dev', files: [] } // PRECACHE
const CACHE = `porchlight-shell-${BUILD.hash}`
const SHELL = ['./', './relay.json', ...BUILD.files.map(f => `./${f}`)]
const shellUrls = () => new Set(SHELL.map(p => new URL(p, self.registration.scope).href))

self.addEventListener('install', event => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE)
    // One file missing (relay.json on a plain static host) must not stop the rest.
    await Promise.all(SHELL.map(async p => { await cache.add(p).catch(() => undefined) }))
    await self.skipWaiting()
  })())
})

self.addEventListener('activate', event => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith('porchlight-shell-') && key !== CACHE) await caches.delete(key)
    await self.clients.claim()
  })())
})

self.addEventListener('fetch', event => {
  const req = event.request
  if (req.method !== 'GET') return
  const url = new URL(req.url)
  url.hash = ''
  const navigation = req.mode === 'navigate'
  if (!navigation && !shellUrls().has(url.href)) return
  event.respondWith((async () => {
    const cache = await caches.open(CACHE)
    const key = navigation ? new URL('./', self.registration.scope).href : url.href
    try {
      const res = await fetch(req)
      if (res.ok) await cache.put(key, res.clone())
      return res
    } catch {
      return (await cache.match(key)) ?? Response.error()
    }
  })())
})
