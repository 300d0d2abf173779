/**
 * Runs `fn` after the current turn's other work: I/O already received and callbacks already
 * due run first (setImmediate where there is one), so whatever they add joins the same batch
 * (the store's group commit, a push client's writes).
 */
export const soon: (fn: () => void) => void = typeof globalThis.setImmediate === 'function'
  ? fn => { globalThis.setImmediate(fn) }
  : fn => { setTimeout(fn, 0) }
