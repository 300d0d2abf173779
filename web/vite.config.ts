import { defineConfig, type Plugin } from 'vite'
import { readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('.', import.meta.url))

/**
 * Emits the service worker (sw.js) with the list of files this build wrote, so it can cache
 * the whole shell (lazily loaded chunks included) on the first visit.
 */
function serviceWorker (): Plugin {
  return {
    name: 'porchlight-sw',
    apply: 'build',
    generateBundle (_options, bundle) {
      // Only the app's build: the transparency page's has no shell to cache.
      const app = Object.values(bundle).some(c => c.type === 'chunk' && c.isEntry && (c.facadeModuleId ?? '').endsWith('/index.html'))
      if (!app) return
      const files = Object.keys(bundle).sort()
      const hash = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12)
      const source = readFileSync(new URL('./sw.js', import.meta.url), 'utf8')
        .replace(/^const BUILD = .*$/m, `const BUILD = ${JSON.stringify({ hash, files })}`)
      this.emitFile({ type: 'asset', fileName: 'sw.js', source })
    }
  }
}

/** Builds the web app (web/) into web/dist, which relays serve over HTTP. */
export default defineConfig({
  root,
  base: './',
  logLevel: 'warn',
  plugins: [serviceWorker()],
  // Production builds of dependencies (Lit's dev mode is several times slower), whatever
  // NODE_ENV the building process has: the test run builds the app with NODE_ENV=test.
  resolve: { conditions: ['module', 'browser', 'production'] },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1024
    // The app (index.html). The transparency page is a second build into the same folder
    // (node/bin/build-web.js): built together, the two entries split the app's first scripts
    // into many small shared chunks, and its first paint waited for all of them.
  }
})
