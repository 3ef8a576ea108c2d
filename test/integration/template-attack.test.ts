// Issue 11, "Done means" for the 8 MB template attack (docs/limits-and-safety.md, "Soak and
// overload"): after large renders the gateway gives its memory back. What the process shows, read from
// /proc: a render thread while renders run, the thread gone once idle, and the RSS back near its
// baseline (on main the idle render thread kept its heap, about 140 MB after one 8 MB render, until
// the process ended). No latency is asserted here; the bounds below are wide, and the render deadline
// is raised so that a loaded machine slows the renders without failing them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { bigJsonBody as bigBody, craftedConfig } from '../inject/crafted-config.js';

const linux = process.platform === 'linux' ? false : 'reads /proc';

/** The number of threads of `pid`. */
const threads = (pid: number): number => readdirSync(`/proc/${pid}/task`).length;

const rssMb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0) / 1024;

async function waitFor(what: string, ok: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let gw: RunningGateway;
let up: Upstream;

before(async () => {
  // The upstream answers small: this file is about the render, not about echoing 8 MB back.
  up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  const { dir, config } = craftedConfig(up.url);
  gw = await startGateway(`server: { accessLog: false, limits: { templateRenderMs: 120000 } }\n${config}`, { dir });
});

after(async () => {
  await gw?.stop();
  await up?.close();
});

test('after 8 MB renders the render thread ends once idle and RSS comes back near its baseline', { skip: linux, timeout: 300_000 }, async () => {
  const pid = gw.proc.pid as number;
  // A few control requests first, so the baseline includes a warm request path.
  for (let i = 0; i < 20; i++) await (await fetch(`${gw.url}/native/up`)).arrayBuffer();
  const baseline = rssMb(pid);
  const idleThreads = threads(pid);

  const body = bigBody();
  let most = idleThreads;
  for (let i = 0; i < 4; i++) {
    const pending = fetch(`${gw.url}/dev/passthrough`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const poll = setInterval(() => {
      most = Math.max(most, threads(pid));
    }, 20);
    const res = await pending;
    clearInterval(poll);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  assert.ok(most > idleThreads, `a render thread ran (${most} threads at most, ${idleThreads} before)`);
  const peak = rssMb(pid);

  // Idle render threads end (RENDER_THREAD_IDLE_MS, 2 s): generous wait.
  await waitFor(`the render thread to end (${idleThreads} threads)`, () => threads(pid) <= idleThreads, 30_000);
  // Their heaps went with them. Before the fix, RSS stayed about 290 MB above the baseline 3 s after
  // and 250 MB above 30 s after: the bound here is about half of that, and the wait generous.
  await waitFor(`RSS back within 150 MB of the ${baseline.toFixed(0)} MB baseline (peak ${peak.toFixed(0)} MB)`, () => rssMb(pid) < baseline + 150, 30_000);
  // The gateway still serves.
  const ok = await fetch(`${gw.url}/native/up`);
  assert.equal(ok.status, 200);
});
