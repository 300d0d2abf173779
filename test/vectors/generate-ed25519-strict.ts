// Generates test/vectors/ed25519-strict.json: node --import tsx test/vectors/generate-ed25519-strict.ts
import { ed25519 } from '@noble/curves/ed25519.js'
import { writeFileSync } from 'node:fs'
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const seed = new Uint8Array(32).fill(7)
const pub = ed25519.getPublicKey(seed)
const msg = new TextEncoder().encode('porchlight strict ed25519')
const sig = ed25519.sign(msg, seed)
const L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex')
const sPlusL = new Uint8Array(32); let c = 0; for (let i = 0; i < 32; i++) { const v = sig[32 + i]! + L[i]! + c; sPlusL[i] = v & 0xff; c = v >> 8 }
const ID = '0100000000000000000000000000000000000000000000000000000000000000'
const ORDER8 = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'
const zeroS = '00'.repeat(32)
const vectors = [
  { name: 'genuine signature', publicKey: hex(pub), message: hex(msg), signature: hex(sig), valid: true },
  { name: 'non-canonical S (S + L)', publicKey: hex(pub), message: hex(msg), signature: hex(sig.subarray(0, 32)) + hex(sPlusL), valid: false },
  { name: 'small-order key: identity key, R = identity, S = 0, any message', publicKey: ID, message: hex(msg), signature: ID + zeroS, valid: false },
  { name: 'small-order key: identity key, R = identity, S = 0, empty message', publicKey: ID, message: '', signature: ID + zeroS, valid: false },
  { name: 'small-order key of order 8, R = identity, S = 0', publicKey: ORDER8, message: hex(msg), signature: ID + zeroS, valid: false },
  { name: 'small-order R with a genuine key', publicKey: hex(pub), message: hex(msg), signature: ORDER8 + hex(sig.subarray(32)), valid: false },
  { name: 'non-canonical key encoding (y >= p)', publicKey: 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', message: hex(msg), signature: hex(sig), valid: false }
]
writeFileSync(new URL('./ed25519-strict.json', import.meta.url), JSON.stringify({ description: 'Strict Ed25519: RFC 8032 verification plus canonical S, canonical A and R, and no small-order A or R. Every provider must give `valid`.', vectors }, null, 2) + '\n')
