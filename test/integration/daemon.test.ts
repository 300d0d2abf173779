// One person, several commands (issue 9): while `watch` holds a home, other commands for that
// home run inside it (node/cli/daemon.ts) instead of failing on the LevelDB lock; a stale socket
// does not block anything; a second relay on the same data folder fails with one clear line.
// Separate processes, real LevelDB, a real relay on 127.0.0.1.
import { describe, it, expect, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { lstat } from 'node:fs/promises'
import { BIN, hoodWithRelayProcess, killAll, run, spawnRelay, stopProcess } from '../helpers/processes.ts'
import { cleanUp, cli, tempDir, until } from '../helpers/network.ts'
import { socketPath } from '../../node/cli/daemon.ts'

const watchers: ChildProcess[] = []
afterAll(async () => { for (const w of watchers) w.kill('SIGKILL'); await killAll(); await cleanUp() })

function watch (home: string): { child: ChildProcess, out: () => string, err: () => string } {
  let out = ''
  let err = ''
  const child = spawn(process.execPath, [BIN, '--home', home, 'watch'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORCHLIGHT_HOME: home, PORCHLIGHT_RELAY: '', PORCHLIGHT_PUBLIC_DELAY_MS: '0' }
  })
  watchers.push(child)
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
  return { child, out: () => out, err: () => err }
}

describe('a home held by watch', () => {
  it('runs the post and feed of other processes inside the watch, refuses a second watch, and a killed watch blocks nothing', { timeout: 240_000 }, async () => {
    const hood = await hoodWithRelayProcess()
    const { ana, ben } = hood
    await stopProcess(hood.relay(), 'SIGTERM')
    const relay = await hood.serve()
    await cli(ana, ['hood', 'announce'])
    await cli(ben, ['hood', 'join', hood.invite])

    const w = watch(ana)
    await until(() => w.err().includes('Watching'), 60_000, 'watch to start')

    // Another process posts for the same home: before, "Database failed to open".
    const posted = await run(ana, ['--json', 'post', '--kind', 'info', '--text', 'through the watch'])
    expect(posted.code, posted.err).toBe(0)
    expect(posted.json.relay).toBe(relay.tcp)
    // It went through the socket the watch listens on (0600, in the 0700 home).
    expect((await lstat(socketPath(ana))).mode & 0o777).toBe(0o600)
    // The watch printed the post it sent for the other process.
    await until(() => w.out().includes('through the watch'), 15_000, 'watch to print the post')
    // feed for the held home (an in-process client this time) goes through the watch too.
    const feed = await cli(ana, ['--json', 'feed'])
    expect(feed.json.posts.map((p: { text: string }) => p.text)).toContain('through the watch')
    // The post reached the relay: Ben, in his own home, gets it from there.
    const benFeed = await run(ben, ['--json', 'feed'])
    expect(benFeed.code, benFeed.err).toBe(0)
    expect(benFeed.json.posts.map((p: { text: string }) => p.text)).toContain('through the watch')
    // A second watch for the same home: one clear line.
    const second = await run(ana, ['watch'])
    expect(second.code).toBe(1)
    expect(second.err.trim().split('\n')).toHaveLength(1)
    expect(second.err).toMatch(/^porchlight: `watch` cannot run while `watch` \(pid \d+\) holds /)
    expect(w.child.exitCode).toBeNull()

    // The watch dies without cleaning up: its socket stays, and blocks nothing.
    w.child.kill('SIGKILL')
    await until(() => w.child.exitCode !== null || w.child.signalCode !== null, 30_000, 'watch to die')
    expect((await lstat(socketPath(ana))).isSocket()).toBe(true)
    const after = await run(ana, ['--json', 'feed', '--no-sync'])
    expect(after.code, after.err).toBe(0)
    expect(after.json.posts.map((p: { text: string }) => p.text)).toContain('through the watch')
    expect(await lstat(socketPath(ana)).catch(() => undefined)).toBeUndefined()
  })

  it('a stale socket left by a crashed holder does not block commands', { timeout: 120_000 }, async () => {
    const home = await tempDir('pl-Cy-')
    await cli(home, ['id', 'create', '--name', 'Cy'])
    // A socket file nobody listens on: what a killed holder leaves (a process listening there, killed).
    const path = socketPath(home)
    const holder = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] })
    watchers.push(holder)
    await new Promise(resolve => { holder.stdout!.once('data', resolve) })
    holder.kill('SIGKILL')
    await new Promise(resolve => { holder.once('exit', resolve) })
    expect((await lstat(path)).isSocket()).toBe(true)
    const r = await run(home, ['--json', 'feed', '--no-sync'])
    expect(r.code, r.err).toBe(0)
    expect(r.json.posts).toEqual([])
    expect(await lstat(path).catch(() => undefined)).toBeUndefined()
  })
})

describe('a relay data folder', () => {
  it('in use by a running relay: a second relay says so in one line and exits non-zero', { timeout: 120_000 }, async () => {
    const data = await tempDir('pl-daemon-relay2-')
    const first = await spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0'])
    const second = spawn(process.execPath, [BIN, 'relay', '--data', data, '--tcp', '0', '--ws', '0', '--http', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    second.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
    const code = await new Promise<number | null>(resolve => { second.once('close', resolve) })
    expect(code).toBe(1)
    const lines = err.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toBe(`porchlight: relay data folder ${data} is in use by another relay (pid ${first.child.pid})`)
    expect(first.child.exitCode).toBeNull()
  })
})
