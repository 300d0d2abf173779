// Loaded in every test file (vitest.config.ts `setupFiles`), after the polyfill: fast-check's
// defaults for properties that name no run count, and a seed to replay (test/helpers/fc.ts).
import { configureFastCheck } from './helpers/fc.ts'

configureFastCheck()
