import { defineConfig } from 'vite'
import { fileURLToPath } from 'node:url'

/** Builds the web app (web/) into web/dist, which relays serve over HTTP. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1024
  }
})
