// Invite links: `hood create|invite --web-origin URL` prints `<origin>/#join=<invite>` beside the
// invite and remembers the origin for the neighborhood (HOME/web-origins.json, not the hood
// file), so later invites print the link unasked; `hood join` takes a link as well as an invite.
// Offline: the CLI runs in-process; the join's announcement finds no relay and waits.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main, type Io } from '../../node/cli/main.ts'
import { derivedWebOrigin, inviteLink, parseWebOrigin, splitInviteLink } from '../../node/cli/web-origin.ts'

const RELAY = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGzAZ8y1U6dK5oqX1SntK7kqN1Uw2kj5cE8AfG9sYVdxS'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pl-origin-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function cli (name: string, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    stdout: { write: (s: string) => { stdout += s } },
    stderr: { write: (s: string) => { stderr += s } },
    env: {},
    now: () => Date.now()
  }
  const code = await main(['--home', join(dir, name), ...args], io)
  return { code, stdout, stderr }
}

describe('web origins', () => {
  it('parses origins, links and derived origins', () => {
    expect(parseWebOrigin('https://Porch.Example.org')).toBe('https://porch.example.org')
    expect(parseWebOrigin('https://porch.example.org:443/')).toBe('https://porch.example.org')
    expect(parseWebOrigin('http://192.168.1.20:8080')).toBe('http://192.168.1.20:8080')
    for (const bad of ['porch.example.org', 'ftp://x', 'https://x/app', 'https://x/?a=1', 'https://x/#y', 'https://u:p@x']) {
      expect(() => parseWebOrigin(bad), bad).toThrow(/--web-origin/)
    }
    expect(inviteLink('https://porch.example.org', 'plinv:abc')).toBe('https://porch.example.org/#join=plinv:abc')
    expect(splitInviteLink(' https://porch.example.org/#join=plinv%3Aabc ')).toEqual({ invite: 'plinv:abc', origin: 'https://porch.example.org' })
    expect(splitInviteLink('plinv:abc')).toEqual({ invite: 'plinv:abc' })
    expect(derivedWebOrigin(['/dns4/porch.example.org/tcp/4001', '/ip4/1.2.3.4/tcp/4002/tls/ws'], 8443)).toBe('https://porch.example.org:8443')
    expect(derivedWebOrigin(['/ip6/2001:db8::1/tcp/4001'], 443)).toBe('https://[2001:db8::1]')
    expect(derivedWebOrigin([], 443)).toBeUndefined()
  })

  it('hood create and invite print the link and remember the origin; join takes a link', async () => {
    expect((await cli('ana', ['id', 'create', '--name', 'Ana'])).code).toBe(0)
    // A bad origin is refused before the neighborhood is made.
    const bad = await cli('ana', ['hood', 'create', 'Elm', '--area', 'u4pru', '--relay', RELAY, '--web-origin', 'porch.example.org'])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse((await cli('ana', ['--json', 'hood', 'list'])).stdout).hoods).toEqual([])

    const created = JSON.parse((await cli('ana', ['--json', 'hood', 'create', 'Elm', '--area', 'u4pru', '--relay', RELAY, '--web-origin', 'https://porch.example.org/'])).stdout)
    expect(created.link).toBe(`https://porch.example.org/#join=${created.invite}`)
    const human = await cli('ana', ['hood', 'invite'])
    const [invite, link] = human.stdout.trim().split('\n')
    expect(link).toBe(`https://porch.example.org/#join=${invite}`)
    const remembered = JSON.parse(await readFile(join(dir, 'ana', 'web-origins.json'), 'utf8'))
    expect(Object.values(remembered)).toEqual(['https://porch.example.org'])
    // A new origin replaces the remembered one.
    const moved = JSON.parse((await cli('ana', ['--json', 'hood', 'invite', '--web-origin', 'https://porch2.example.org'])).stdout)
    expect(moved.link).toBe(`https://porch2.example.org/#join=${moved.invite}`)

    // Without an origin, the invite alone, as before.
    expect((await cli('ben', ['id', 'create', '--name', 'Ben'])).code).toBe(0)
    const plain = await cli('ben', ['hood', 'create', 'Oak', '--area', 'u4pr', '--relay', RELAY])
    expect(plain.stdout.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse((await cli('ben', ['--json', 'hood', 'invite'])).stdout).link).toBeUndefined()

    // Cat joins Elm from the link (no relay answers: the announcement waits), then her invites are links too.
    expect((await cli('cat', ['id', 'create', '--name', 'Cat'])).code).toBe(0)
    const joined = await cli('cat', ['hood', 'join', moved.link])
    expect(joined.code, joined.stderr).toBe(0)
    const hers = JSON.parse((await cli('cat', ['--json', 'hood', 'invite'])).stdout)
    expect(hers.link).toBe(`https://porch2.example.org/#join=${hers.invite}`)
  })
})
