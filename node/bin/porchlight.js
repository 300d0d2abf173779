#!/usr/bin/env node
// Entry point of the `porchlight` command. Plain JavaScript so it runs without a build:
// tsx compiles the TypeScript sources on the fly. The polyfill must load before anything
// that loads libp2p; both imports are dynamic so they run after tsx is registered.
import { register } from 'tsx/esm/api'

register()

// Output piped into `head` closes early; that is not an error worth a stack trace.
process.stdout.on('error', (err) => { if (err.code !== 'EPIPE') throw err })

await import('../polyfill.ts')
const { useNativeCrypto } = await import('../native-crypto.ts')
await useNativeCrypto()
const { main } = await import('../cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
