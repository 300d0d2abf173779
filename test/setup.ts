// Loaded in every test file (vitest.config.ts `setupFiles`), after the polyfill: fast-check's
// defaults for properties that name no run count, and a seed to replay (test/helpers/fc.ts).
// Test files share their worker's modules (`isolate: false`), so a file that swaps the crypto
// or symmetric provider gets the one it started with back when it ends.
import { afterAll, expect } from 'vitest'
import { getCrypto, getSymmetric, setCrypto, setSymmetric } from '../protocol/crypto.ts'
import { configureFastCheck } from './helpers/fc.ts'

configureFastCheck()

const crypto = await getCrypto()
const symmetric = getSymmetric()
afterAll(() => {
  setCrypto(crypto)
  setSymmetric(symmetric)
})

// toEqual on bytes compares element by element through generic equality: seconds for a clip
// of a few MiB. Byte arrays (Buffer or Uint8Array alike, as toEqual has it) compare at once.
expect.addEqualityTesters([
  (a: unknown, b: unknown): boolean | undefined => a instanceof Uint8Array && b instanceof Uint8Array
    ? a.length === b.length && Buffer.compare(a, b) === 0
    : undefined
])
