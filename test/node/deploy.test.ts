// The deployment recipes in .deploy/ (systemd unit, Containerfile, Caddyfile) and the README's
// relay commands cannot rot: every flag they give `porchlight relay` is one its help lists, the
// ports Caddy forwards to are the ones the unit's relay listens on, the example config has only
// keys the relay reads, and (where systemd-analyze exists) systemd knows every key of the unit.
import { describe, it, expect } from 'vitest'
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { main, type Io } from '../../node/cli/main.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const DEPLOY = join(ROOT, '.deploy')

async function relayHelp (): Promise<string> {
  let out = ''
  const io: Io = { stdout: { write: (s: string) => { out += s } }, stderr: { write: () => {} }, env: {}, now: () => Date.now() }
  expect(await main(['relay', '--help'], io)).toBe(0)
  return out
}

/** Text with shell line continuations joined, as one logical line each. */
function logicalLines (text: string): string[] {
  return text.replace(/\s*\\\n\s*/g, ' ').split('\n')
}

/** The `--flags` given to `porchlight relay` in `text`: shell command lines, the image's ENTRYPOINT, `podman run … porchlight-relay FLAGS`. */
function relayFlags (text: string): string[] {
  const flags: string[] = []
  for (const line of logicalLines(text)) {
    const entry = /^ENTRYPOINT\s+(\[.*\])/.exec(line)
    const args = entry !== null
      ? (JSON.parse(entry[1]!) as string[]).join(' ')
      : /porchlight(?:\.js|-dev\.js)?\s+(?:--\S+\s+)*relay\b(.*)$/.exec(line)?.[1] ?? /\bporchlight-relay((?:\s+--.*)+)$/.exec(line)?.[1]
    if (args === undefined) continue
    for (const m of args.matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)) flags.push(m[1]!)
  }
  return flags
}

/** The fenced code blocks of a Markdown text. */
function codeBlocks (md: string): string {
  return [...md.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map(m => m[1]!).join('\n')
}

describe('.deploy recipes', () => {
  it('give `porchlight relay` only flags it has', async () => {
    const help = await relayHelp()
    const known = new Set([...help.matchAll(/(--[a-z][a-z-]*)/g)].map(m => m[1]!))
    expect(known).toContain('--tls-cert')
    const files = (await readdir(DEPLOY)).filter(f => !f.endsWith('.json'))
    expect(files.sort()).toEqual(['Caddyfile', 'Containerfile', 'porchlight-relay.service'])
    const sources: Array<[string, string]> = [
      ...await Promise.all(files.map(async f => [f, await readFile(join(DEPLOY, f), 'utf8')] as [string, string])),
      ['README.md', codeBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'))]
    ]
    let checked = 0
    for (const [name, text] of sources) {
      for (const flag of relayFlags(text)) {
        expect(known.has(flag) || flag === '--json' || flag === '--home', `${name}: ${flag} is not a flag of porchlight relay`).toBe(true)
        checked++
      }
    }
    const unit = await readFile(join(DEPLOY, 'porchlight-relay.service'), 'utf8')
    for (const flag of ['--data', '--host', '--announce', '--web-origin', '--tls-cert', '--tls-key']) expect(relayFlags(unit)).toContain(flag)
    expect(checked).toBeGreaterThan(20)
  })

  it('the unit runs the relay unprivileged and hardened, with the data folder writable', async () => {
    const unit = await readFile(join(DEPLOY, 'porchlight-relay.service'), 'utf8')
    const exec = logicalLines(unit).find(l => l.startsWith('ExecStart='))!
    expect(exec).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/porchlight\/node\/bin\/porchlight\.js relay --data \/var\/lib\/porchlight /)
    for (const setting of ['User=porchlight', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/porchlight', 'PrivateTmp=yes', 'StateDirectory=porchlight']) {
      expect(unit.split('\n')).toContain(setting)
    }
  })

  it('Caddy forwards to the ports the unit\'s relay listens on', async () => {
    const unit = logicalLines(await readFile(join(DEPLOY, 'porchlight-relay.service'), 'utf8')).find(l => l.startsWith('ExecStart='))!
    const caddy = await readFile(join(DEPLOY, 'Caddyfile'), 'utf8')
    const port = (flag: string): string => new RegExp(`${flag} (\\d+)`).exec(unit)![1]!
    const upstreams = [...caddy.matchAll(/^\s*reverse_proxy 127\.0\.0\.1:(\d+)/gm)].map(m => m[1])
    expect(upstreams.sort()).toEqual([port('--ws'), port('--http')].sort())
    expect(unit).toContain('--announce /dns4/porch.example.org/tcp/443/tls/ws')
    expect(caddy).toMatch(/^porch\.example\.org \{/m)
  })

  it('the example config has only keys the relay reads', async () => {
    const help = await relayHelp()
    const documented = /The config file is JSON: (\{.*?\}\})/.exec(help.replace(/\s+/g, ' '))![1]!
    const example = JSON.parse(await readFile(join(DEPLOY, 'relay.example.json'), 'utf8')) as Record<string, unknown>
    for (const key of Object.keys(example)) expect(documented, key).toContain(`"${key}"`)
  })

  it('systemd knows every setting of the unit', async (ctx) => {
    const out = await new Promise<string | undefined>(resolve => {
      execFile('systemd-analyze', ['verify', join(DEPLOY, 'porchlight-relay.service')], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve(err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : stdout + stderr)
      })
    })
    if (out === undefined) ctx.skip()
    expect(out!.split('\n').filter(l => /Unknown (key|section)|Failed to parse|Invalid|unknown/i.test(l))).toEqual([])
  })
})
