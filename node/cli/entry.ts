/**
 * The process side of `porchlight`: what node/bin/porchlight.js runs (compiled into
 * dist/porchlight.js by node/bin/build.js), and node/bin/porchlight-dev.js from the sources.
 * Only the CLI's light part loads here; commands that use the network load the rest.
 */
import { useNativeCrypto } from '../native-crypto.ts'
import { main } from './main.ts'

// Output piped into `head` closes early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code !== 'EPIPE') throw err })

// node:crypto's Ed25519, X25519 and SHA-256 (checked on known answers: well under a millisecond).
await useNativeCrypto()
process.exitCode = await main(process.argv.slice(2))
