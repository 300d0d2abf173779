/**
 * CLI pieces for clips: `porchlight clip get POST_ID [-o FILE]`, and the `--clip FILE` step of
 * `porchlight post` (attachWithProgress). Both show a progress bar on a terminal and plain
 * lines otherwise (node/cli/progress.ts), on stderr, and nothing with --json. Merged into the
 * command table through cli-network.ts.
 *
 * --json shapes (added to node/cli/output.ts's list):
 *   post --clip   { id, publicId, relay, clip: { cid, mime, size (plaintext bytes), pinnedBy: multiaddr[] } }
 *   clip get      { path, mime, size, post: hex64 }
 */
import { stat } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fail } from '../../protocol/errors.ts'
import type { ResidentPeer } from '../peer.ts'
import { attachClip, findPost, getClip, MIN_ID_PREFIX, type AttachOptions, type AttachedClip, type ClipPhase } from '../clip-post.ts'
import { progress, type Progress } from './progress.ts'
import type { Writer } from './output.ts'
import type { Command, Context } from './main.ts'

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

/** `post --clip FILE`: clean, encrypt, store and have the relays pin the clip, with progress. */
export async function attachWithProgress (ctx: Context, peer: ResidentPeer, file: string, opts: Omit<AttachOptions, 'onProgress'>): Promise<AttachedClip> {
  const bar = phases(ctx)
  try {
    const clip = await attachClip(peer, file, { ...opts, onProgress: bar.update })
    bar.finish()
    if (clip.removed.length > 0) ctx.out.note(`Removed from the clip: ${clip.removed.join(', ')}`)
    return clip
  } catch (err) {
    bar.finish()
    throw err
  }
}

/** Relays named with --relay, else $PORCHLIGHT_RELAY (comma-separated), else none. */
export function relaysFrom (ctx: Context): string[] {
  const given = ctx.strings('relay')
  if (given.length > 0) return given
  const env = ctx.io.env.PORCHLIGHT_RELAY
  return env !== undefined && env !== '' ? env.split(',') : []
}

export const CLIP_COMMANDS: Record<string, Command> = {
  'clip get': {
    summary: 'Fetch, decrypt and save the clip of a post in your feed',
    usage: 'POST_ID [-o FILE] [--index N] [--relay MULTIADDR]',
    help: `POST_ID is the post's id or its first ${MIN_ID_PREFIX}+ hex characters, as \`porchlight feed\` prints it. ` +
      'The clip comes over bitswap from whoever has it (the relays that pinned it, or its author), is decrypted with the key in ' +
      'the post and checked against the hash in the post; only then is the file written. Default file: clip-<id>.<ext> ' +
      'in the current folder (never overwritten); -o FILE writes (or replaces) FILE; -o FOLDER saves there under that name.',
    args: { min: 1, max: 1 },
    options: {
      out: { type: 'string', short: 'o', value: 'FILE', help: 'where to save the clip' },
      index: { type: 'string', value: 'N', help: 'which clip of the post, from 0 (default 0)' },
      relay: { type: 'string', multiple: true, value: 'MULTIADDR', help: 'relay to use (default: the neighborhood\'s relays, or $PORCHLIGHT_RELAY)' }
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
      const peer = await ctx.openPeer({ relays: relaysFrom(ctx), now: () => ctx.now() }) // issue 9 (daemon hook)
      try {
        await peer.start()
        const id = ctx.args[0]!
        let post = await findPost(peer, id)
        if (post === undefined) {
          await peer.sync()
          post = await findPost(peer, id)
        }
        if (post === undefined) fail('NOT_FOUND', `no post ${id.slice(0, 16)} in your feed (is it expired, or from a neighborhood you are not in?)`)
        const bar = phases(ctx)
        const out = ctx.string('out')
        const saved = await getClip(peer, post, { index, ...(out !== undefined ? { out } : {}), onProgress: bar.update }).finally(() => { bar.finish() })
        ctx.out.result({ path: saved.path, mime: saved.mime, size: saved.size, post: post.id },
          `Saved ${saved.path} (${saved.mime}, ${saved.size} bytes) from post ${post.id.slice(0, 16)}`)
      } finally {
        await peer.stop()
      }
    }
  }
}
