/**
 * The fair-posting corpus (test/protocol/fair-posting-corpus.json): sample posts the check
 * must hold, with what they lack, and near misses it must let through. Shared by the
 * protocol, composer, CLI and browser tests.
 */
import corpus from '../protocol/fair-posting-corpus.json' with { type: 'json' }
import type { FairMissing } from '../../protocol/fair-posting.ts'
import type { PostKind } from '../../protocol/post.ts'

export interface CorpusPost { kind: PostKind, text: string, expect: 'hold' | 'pass', missing?: FairMissing[], note?: string }

export const CORPUS = corpus.posts as CorpusPost[]
export const HELD = CORPUS.filter(p => p.expect === 'hold')
export const PASSED = CORPUS.filter(p => p.expect === 'pass')
