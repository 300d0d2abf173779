// The invite link's QR code (web/state/qr.ts): a real QR symbol sized for the link, with the
// three finder patterns, as a GIF an <img> can show.
import { describe, it, expect } from 'vitest'
import { inviteQr } from '../../web/state/qr.ts'

const LINK = `http://127.0.0.1:8080/#join=porchlight:${'A'.repeat(420)}`

/** A finder pattern: a 7x7 dark ring, a light ring, a 3x3 dark centre, at (row, col). */
function finderAt (qr: ReturnType<typeof inviteQr>, row: number, col: number): boolean {
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 7; c++) {
      const ring = r === 0 || r === 6 || c === 0 || c === 6
      const centre = r >= 2 && r <= 4 && c >= 2 && c <= 4
      if (qr.isDark(row + r, col + c) !== (ring || centre)) return false
    }
  }
  return true
}

describe('the invite QR code', () => {
  it('is a QR symbol with its three finder patterns, large enough for an invite link', () => {
    const qr = inviteQr(LINK)
    expect(qr.dataUrl).toMatch(/^data:image\/gif;base64,/)
    expect(qr.modules).toBeGreaterThan(21)
    expect((qr.modules - 17) % 4).toBe(0) // 4 × version + 17
    const end = qr.modules - 7
    expect([finderAt(qr, 0, 0), finderAt(qr, 0, end), finderAt(qr, end, 0)]).toEqual([true, true, true])
    expect(finderAt(qr, end, end)).toBe(false)
  })

  it('grows with the link and differs for different links', () => {
    const short = inviteQr('http://127.0.0.1:8080/#join=porchlight:AAAA')
    expect(inviteQr(LINK).modules).toBeGreaterThan(short.modules)
    expect(inviteQr(LINK + 'B').dataUrl).not.toBe(inviteQr(LINK).dataUrl)
  })
})
