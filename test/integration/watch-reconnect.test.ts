// `watch` survives its relay restarting (issue 9): it says on stderr that it lost the relay,
// redials with backoff, says when it is back and caught up, and goes on printing posts, all in
// separate processes (a relay process restarted on the same data folder and port).
import { describe, it, expect, afterAll } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { BIN, hoodWithRelayProcess, killAll, stopProcess } from '../helpers/processes.ts'
import { cleanUp, cli, until } from '../helpers/network.ts'

let watcher: ChildProcess | undefined
afterAll(async () => { watcher?.kill('SIGKILL'); await killAll(); await cleanUp() })

describe('watch', () => {
  it('reconnects after its relay restarts, says so, and keeps printing posts', { timeout: 180_000 }, async () => {
    const hood = await hoodWithRelayProcess()
    const { ana, ben } = hood
    await stopProcess(hood.relay(), 'SIGTERM')
    await hood.serve()
    await cli(ana, ['hood', 'announce'])
    await cli(ben, ['hood', 'join', hood.invite])
    await cli(ana, ['feed'])

    let out = ''
    let err = ''
    watcher = spawn(process.execPath, [BIN, '--home', ben, 'watch'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORCHLIGHT_HOME: ben, PORCHLIGHT_RELAY: '' }
    })
    watcher.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s })
    watcher.stderr!.setEncoding('utf8').on('data', (s: string) => { err += s })
    await until(() => err.includes('Watching'), 60_000, 'watch to start')
    await cli(ana, ['post', '--kind', 'info', '--text', 'before the restart'])
    await until(() => out.includes('before the restart'), 30_000, 'the first post')

    // The relay dies and comes back on the same port and data folder.
    await stopProcess(hood.relay(), 'SIGKILL')
    await until(() => err.includes('lost the relay'), 30_000, 'watch to say it lost the relay')
    await hood.serve()
    await until(() => err.includes('reconnected to the relay'), 60_000, 'watch to say it is back')
    await cli(ana, ['post', '--kind', 'info', '--text', 'after the restart'])
    await until(() => out.includes('after the restart'), 30_000, 'the post after the restart')
    expect(watcher.exitCode).toBeNull()
  })
})
