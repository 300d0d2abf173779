// Loaded in every test file (vitest.config.ts `setupFiles`), after the polyfill: fast-check's
// defaults for properties that name no run count, and a seed to replay (test/helpers/fc.ts).
// Test files share their worker's modules (`isolate: false`), so a file that swaps the crypto
// or hash provider gets the one it started with back when it ends.
import { afterAll } from 'vitest'
import { getCrypto, getHashes, setCrypto, setHashes } from '../protocol/crypto.ts'
import { configureFastCheck } from './helpers/fc.ts'

configureFastCheck()

const crypto = await getCrypto()
const hashes = getHashes()
afterAll(() => {
  setCrypto(crypto)
  setHashes(hashes)
})
