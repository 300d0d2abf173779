// The street map's tile template, as a relay is given it and a page reads it from /relay.json.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { checkMapTiles, tileHost } from '../../protocol/map-tiles.ts'
import { isPorchlightError } from '../../protocol/errors.ts'

describe('map tiles', () => {
  it('takes an http(s) Leaflet template with its attribution, and names the host', () => {
    const t = checkMapTiles({ url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', attribution: '© OpenStreetMap contributors' })
    expect(t).toEqual({ url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', attribution: '© OpenStreetMap contributors' })
    expect(tileHost(t)).toBe('tile.openstreetmap.org')
    expect(checkMapTiles({ url: 'http://127.0.0.1:8081/{z}/{x}/{y}.png' })).toEqual({ url: 'http://127.0.0.1:8081/{z}/{x}/{y}.png' })
  })

  it('refuses what is not one, saying why', () => {
    for (const [value, why] of [
      [null, /expected/], [{ url: 5 }, /text/], [{ url: 'javascript:alert(1)//{z}{x}{y}' }, /http/],
      [{ url: 'https://t.example/{z}/{x}.png' }, /\{y\}/], [{ url: 'https://t.example/{z}/{x}/{y}.png?a="b"' }, /quotes/],
      [{ url: 'https://t.example/{z}/{x}/{y}.png', attribution: '<img src=x onerror=alert(1)>' }, /plain text/],
      [{ url: `https://t.example/${'a'.repeat(600)}/{z}/{x}/{y}.png` }, /at most/]
    ] as const) {
      expect(() => checkMapTiles(value)).toThrow(why)
    }
  })

  it('anything at all: a typed refusal or a template it can name the host of', () => {
    fc.assert(fc.property(fc.anything(), fc.string({ maxLength: 80 }), (v, url) => {
      for (const input of [v, { url }, { url: `https://${url}/{z}/{x}/{y}.png`, attribution: url }]) {
        try {
          const t = checkMapTiles(input)
          expect(tileHost(t).length).toBeGreaterThan(0)
        } catch (err) {
          expect(isPorchlightError(err) && err.code === 'BAD_ARGUMENT').toBe(true)
        }
      }
    }), { numRuns: runs(300) })
  })
})
