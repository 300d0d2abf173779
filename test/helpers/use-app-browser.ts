/**
 * The browser tests' shared set-up: one Chromium for the file (AppBrowser), its contexts closed
 * and the network fixtures cleaned up after each test. Kept apart from browser.ts, which the
 * benches import outside vitest.
 */
import { afterAll, afterEach, beforeAll } from 'vitest'
import { AppBrowser } from './browser.ts'
import { cleanUp } from './network.ts'

/** Registers the hooks and returns the browser; `alsoAfterEach` runs between closing the contexts and cleaning up. */
export function useAppBrowser (alsoAfterEach?: () => Promise<void>): AppBrowser {
  const app = new AppBrowser()
  beforeAll(app.start)
  afterAll(app.close)
  afterEach(async () => {
    await app.closeContexts()
    await alsoAfterEach?.()
    await cleanUp()
  })
  return app
}
