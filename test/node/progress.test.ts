// The CLI's transfer progress: a bar redrawn in place on a terminal, plain lines otherwise,
// silence with --json.
import { describe, it, expect } from 'vitest'
import { progress } from '../../node/cli/progress.ts'

function writer (isTTY: boolean): { isTTY: boolean, text: string, write: (s: string) => void } {
  const w = { isTTY, text: '', write (s: string) { w.text += s } }
  return w
}

describe('progress', () => {
  it('draws one bar in place on a terminal and ends it with a newline', () => {
    const w = writer(true)
    const p = progress(w, 'fetching')
    p.update(0, 4 * 1024 * 1024)
    p.update(4 * 1024 * 1024, 4 * 1024 * 1024)
    p.finish()
    expect(w.text.startsWith('\rfetching [')).toBe(true)
    expect(w.text).toContain('100% 4.0/4.0 MiB')
    expect(w.text.endsWith('\n')).toBe(true)
    expect(w.text.split('\n')).toHaveLength(2)
  })

  it('prints a plain line every 25% without a terminal', () => {
    const w = writer(false)
    const p = progress(w, 'relay fetching')
    for (let i = 0; i <= 100; i++) p.update(i, 100)
    p.finish()
    expect(w.text.trim().split('\n')).toEqual([
      'relay fetching: 0% (0 of 100 B)', 'relay fetching: 25% (25 of 100 B)', 'relay fetching: 50% (50 of 100 B)',
      'relay fetching: 75% (75 of 100 B)', 'relay fetching: 100% (100 of 100 B)'
    ])
    expect(w.text).not.toContain('\r')
    const k = writer(false)
    progress(k, 'pinning').update(20_480, 40_960)
    expect(k.text).toBe('pinning: 50% (20.0 of 40.0 KiB)\n')
  })

  it('stays quiet with --json', () => {
    const w = writer(true)
    const p = progress(w, 'fetching', { json: true })
    p.update(1, 2)
    p.finish()
    expect(w.text).toBe('')
  })
})
