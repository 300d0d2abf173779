/**
 * The invite link as a QR code, for a neighbor standing at the door with a phone. The link holds
 * the neighborhood key: the code is shown only on the inviting admin's screen, like the link.
 */
import qrcode from 'qrcode-generator'

export interface InviteQr {
  /** A GIF data URL, for an <img>. */
  dataUrl: string
  /** Modules per side (21 for version 1; an invite link needs a larger version). */
  modules: number
  /** Reads module (row, col): dark or light. */
  isDark: (row: number, col: number) => boolean
}

/** Error correction L: the most data per code, and a phone's camera reads a screen well. */
export function inviteQr (link: string, cellSize = 4): InviteQr {
  const qr = qrcode(0, 'L')
  qr.addData(link, 'Byte')
  qr.make()
  return { dataUrl: qr.createDataURL(cellSize, 4 * cellSize), modules: qr.getModuleCount(), isDark: (r, c) => qr.isDark(r, c) }
}
