/**
 * CLI pieces for clips: `porchlight clip get POST_ID [-o FILE]`, and the `--clip FILE` step of
 * `porchlight post` (attachWithProgress). Both show a progress bar on a terminal and plain
 * lines otherwise (node/cli/progress.ts), on stderr, and nothing with --json. Merged into the
 * command table of node/cli/main.ts.
 *
 * --json shapes (added to node/cli/output.ts's list):
 *   post --clip   { id, publicId, relay, clip: { cid, mime, size (plaintext bytes), pinnedBy: multiaddr[] } }
 *   clip get      { path, mime, size, post: hex64 }
 */
import { stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fail } from '../../protocol/errors.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { currentEpochKeys } from '../../protocol/hood-state.ts'
import type { ResidentPeer } from '../resident.ts'
import type { AttachOptions, AttachedClip, ClipPhase, ClipPost } from '../../protocol/peer/clip-flows.ts'
import { progress, type Progress } from './progress.ts'
import type { Writer } from './output.ts'
import { HELP_FIGURES, loadStack, RELAY_OPTION, relaysFrom, type Command, type Context } from './command.ts'

const LABELS: Record<ClipPhase, string> = { encrypt: 'cleaning and encrypting', upload: 'relay fetching', fetch: 'fetching' }

/** One progress bar per phase, each finished when the next starts. */
function phases (ctx: Context): { update: (phase: ClipPhase, done: number, total: number) => void, finish: () => void } {
  let current: { phase: ClipPhase, bar: Progress } | undefined
  const stderr = ctx.io.stderr as Writer & { isTTY?: boolean }
  return {
    update (phase, done, total) {
      if (current?.phase !== phase) {
        current?.bar.finish()
        current = { phase, bar: progress(stderr, LABELS[phase], { json: ctx.out.json }) }
      }
      current.bar.update(done, total)
    },
    finish () { current?.bar.finish() }
  }
}

/**
 * Cleans the clip file, encrypts and stores it, and has the neighborhood's relays (those of
 * its hood file and those the peer was given) pin it until `expires`.
 */
export async function attachClipFile (peer: ResidentPeer, file: string, opts: AttachOptions & { hood?: string }): Promise<AttachedClip> {
  const { attachClip, openClipFile } = await loadStack()
  const state = await peer.home.resolveHood(opts.hood)
  const clip = await openClipFile(file)
  const keys = currentEpochKeys(state)
  const target = { topic: privateTopic(state.hood.id), epoch: keys.epoch, tagKey: keys.tagKey, relays: [...new Set([...state.relays, ...peer.relays()])] }
  const { hood: _, ...rest } = opts
  return await attachClip(peer, target, clip, rest)
}

/** `post --clip FILE`: clean, encrypt, store and have the relays pin the clip, with progress. */
export async function attachWithProgress (ctx: Context, peer: ResidentPeer, file: string, opts: Omit<AttachOptions, 'onProgress'> & { hood?: string }): Promise<AttachedClip> {
  const bar = phases(ctx)
  try {
    const clip = await attachClipFile(peer, file, { ...opts, onProgress: bar.update })
    bar.finish()
    if (clip.removed.length > 0) ctx.out.note(`Removed from the clip: ${clip.removed.join(', ')}`)
    return clip
  } catch (err) {
    bar.finish()
    throw err
  }
}

export const CLIP_COMMANDS: Record<string, Command> = {
  'clip get': {
    summary: 'Fetch, decrypt and save the clip of a post in your feed',
    usage: 'POST_ID [-o FILE] [--index N] [--relay MULTIADDR]',
    help: `POST_ID is the post's id or its first ${HELP_FIGURES.minIdPrefix}+ hex characters, as \`porchlight feed\` prints it. ` +
      'The clip comes as one verified block stream from a peer that has it (a relay that pinned it, or its author; bitswap ' +
      'as the fallback), is decrypted with the key in ' +
      'the post and checked against the hash in the post; only then is the file written. Default file: clip-<id>.<ext> ' +
      'in the current folder (never overwritten); -o FILE writes (or replaces) FILE; -o FOLDER saves there under that name.',
    args: { min: 1, max: 1 },
    options: {
      out: { type: 'string', short: 'o', value: 'FILE', help: 'where to save the clip' },
      index: { type: 'string', value: 'N', help: 'which clip of the post, from 0 (default 0)' },
      relay: RELAY_OPTION
    },
    async run (ctx) {
      const index = Number(ctx.string('index') ?? 0)
      if (!Number.isInteger(index) || index < 0) fail('BAD_ARGUMENT', '--index must be 0 or more')
      const target = ctx.string('out')
      if (target !== undefined) {
        // Said before anything is fetched, in one line (it was a stack trace after the download).
        const dir = dirname(resolve(target))
        const info = await stat(dir).catch(() => undefined)
        if (info === undefined || !info.isDirectory()) fail('NOT_FOUND', `-o ${target}: the folder ${dir} does not exist`)
      }
      const relays = await relaysFrom(ctx)
      const { findPost, getClip, nodeClipSink } = await loadStack()
      const peer = await ctx.openPeer({ relays, now: () => ctx.now() })
      try {
        await peer.start()
        const id = ctx.args[0]!
        let post: ClipPost | undefined = await findPost(peer, id)
        if (post === undefined) {
          await peer.sync()
          post = await findPost(peer, id)
        }
        // An agency's sealed replies carry clips too (by the reply's id, as `agency replies` prints it).
        if (post === undefined && (await peer.home.agency()) !== undefined) {
          const found = (await peer.agencyReplies()).filter(r => r.id.startsWith(id.toLowerCase()))
          if (found.length > 1) fail('BAD_ARGUMENT', `${found.length} replies start with ${id.slice(0, 16)}: give more of the id`)
          if (found[0] !== undefined) post = { id: found[0].id, expires: found[0].expires, media: found[0].clips }
        }
        if (post === undefined) fail('NOT_FOUND', `no post ${id.slice(0, 16)} in your feed (is it expired, or from a neighborhood you are not in?)`)
        const bar = phases(ctx)
        const saved = await getClip(peer, post, nodeClipSink(ctx.string('out')), { index, onProgress: bar.update }).finally(() => { bar.finish() })
        ctx.out.result({ path: saved.path, mime: saved.mime, size: saved.size, post: post.id },
          `Saved ${saved.path} (${saved.mime}, ${saved.size} bytes) from post ${post.id.slice(0, 16)}`)
      } finally {
        await peer.stop()
      }
    }
  }
}
