/**
 * Accessibility checks and screenshots for the browser tests: axe-core injected into the page
 * (it walks open shadow roots), and full-page screenshots under test/output/screenshots/
 * (git-ignored; the run prints each path).
 */
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { expect } from 'vitest'
import type { Page } from 'playwright-core'

export const SHOTS = fileURLToPath(new URL('../output/screenshots/', import.meta.url))
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
export const PHONE = { width: 390, height: 844 }
export const DESKTOP = { width: 1280, height: 900 }

export interface Violation { id: string, impact: string | null, help: string, nodes: string[] }

/** axe-core over the whole page: the serious and critical violations (lesser ones are printed). */
export async function seriousViolations (page: Page): Promise<Violation[]> {
  if (!await page.evaluate(() => 'axe' in globalThis)) await page.addScriptTag({ path: AXE })
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, opts: unknown) => Promise<{ violations: Array<{ id: string, impact: string | null, help: string, nodes: Array<{ target: unknown[], failureSummary?: string }> }> }> } }).axe
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => `${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`) }))
  })
  const lesser = violations.filter(v => v.impact !== 'serious' && v.impact !== 'critical')
  if (lesser.length > 0) console.log(`axe, moderate or minor: ${lesser.map(v => `${v.id} (${v.impact ?? '?'}): ${v.help}: ${v.nodes.join(' | ')}`).join('; ')}`)
  return violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
}

/** Checks one screen with axe and saves its screenshot as `<name>.png`. */
export async function screen (page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true })
  const path = join(SHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot ${name}: ${path}`)
  expect(await seriousViolations(page), `axe on the ${name} screen`).toEqual([])
}
