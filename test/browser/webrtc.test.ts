// Two browsers of one neighborhood connect directly over WebRTC, signalled through their
// relay's circuit relay v2, keep gossiping with the relay stopped, and reconnect to it when it
// starts again. WebRTC in Chromium on one machine needs a network namespace (STACK.md): the
// scenario (webrtc-scenario.ts) runs the relay and Chromium inside `unshare -n` with a veth at
// 198.18.0.1. That needs root (or unprivileged user namespaces): without it this test fails and
// says so; it never skips.
import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SCENARIO_MS = 240_000

const NAMESPACE = [
  'set -e',
  'ip link set lo up',
  'ip link add v0 type veth peer name v1',
  'ip addr add 198.18.0.1/24 dev v0',
  'ip link set v0 up',
  'ip link set v1 up',
  'ip route add default dev v0',
  `exec "${process.execPath}" --import tsx test/browser/webrtc-scenario.ts`
].join('\n')

function namespacesAvailable (): string | undefined {
  const probe = spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up'], { encoding: 'utf8' })
  if (probe.error !== undefined) return `cannot run unshare: ${probe.error.message}`
  if (probe.status !== 0) return `unshare -n failed (${probe.stderr.trim()})`
  return undefined
}

async function runScenario (): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'bash', '-c', NAMESPACE], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, SCENARIO_MS)
    child.on('error', reject)
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

describe('WebRTC between browsers', () => {
  it('two members\' browsers connect over WebRTC through the relay, a post reaches the other with the relay stopped, and both reconnect when it restarts', async () => {
    const unavailable = namespacesAvailable()
    if (unavailable !== undefined) {
      throw new Error(`this test runs Chromium in a network namespace and needs root (or user namespaces with CAP_NET_ADMIN): ${unavailable}`)
    }
    const { code, stdout, stderr } = await runScenario()
    const line = stdout.trim().split('\n').at(-1) ?? ''
    let result: Record<string, unknown>
    try {
      result = JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new Error(`the scenario printed no result (exit ${code}):\n${stdout}\n${stderr.slice(-4000)}`)
    }
    expect(result, String(result.error ?? '')).toMatchObject({
      ok: true, step: 'done', relayStopped: true, receivedOverWebRtc: true, reconnected: true, receivedAfterRestart: true
    })
    // Each page has a direct connection (not the relayed one) with /webrtc in its address.
    expect(result.webrtcA).toEqual(expect.arrayContaining([expect.stringContaining('/webrtc/')]))
    expect(result.webrtcB).toEqual(expect.arrayContaining([expect.stringContaining('/webrtc/')]))
    // And one still (or again) after the relay restarted.
    expect(result.webrtcAfterRestartA).toEqual(expect.arrayContaining([expect.stringContaining('/webrtc/')]))
    expect(result.webrtcAfterRestartB).toEqual(expect.arrayContaining([expect.stringContaining('/webrtc/')]))
    expect(result.errorsBeforeStop).toEqual([])
    expect(code).toBe(0)
  }, SCENARIO_MS + 10_000)
})
