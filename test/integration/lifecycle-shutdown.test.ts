/**
 * SIGTERM drain through the real process, single and cluster mode: requests in flight complete,
 * /ready turns 503, new connections are refused once the listener is closed, the process exits 0
 * within the grace period; a grace period shorter than a request ends it anyway, still exit 0.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type RawResponse, request, sleep, tryConnect, waitFor } from '../helpers/lifecycle.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
/** Held /slow responses: each is answered at least 1 s after it arrived, once the test releases it. */
let held: { arrived: number; answer: () => void }[] = [];
let released = false;

function releaseAll(): void {
  released = true;
  for (const h of held) setTimeout(h.answer, Math.max(0, h.arrived + 1_000 - Date.now()));
  held = [];
}

function config(graceMs?: number): string {
  return `
${graceMs === undefined ? '' : `server: { shutdownGraceMs: ${graceMs} }\n`}upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: drain
    routes:
      - name: slow
        methods: [GET]
        path: /slow/{n}
        integration: { type: http, upstream: backend }
`;
}

before(async () => {
  up = await startUpstream((req, res) => {
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`done ${req.url}`);
    };
    const h = { arrived: Date.now(), answer };
    if (released) setTimeout(answer, 1_000);
    else {
      held.push(h);
      // Never hold forever, whatever the test does.
      setTimeout(answer, 8_000).unref();
    }
  });
});
after(async () => {
  releaseAll();
  await up?.close();
});

async function drainScenario(gw: RunningGateway, workers: number): Promise<void> {
  released = false;
  const n = 4;
  const before = up.seen.length;
  const inflight: Promise<RawResponse>[] = [];
  for (let i = 0; i < n; i++) inflight.push(request(`${gw.url}/slow/${i}`, { timeoutMs: 15_000 }));
  await waitFor('requests to reach the upstream', () => up.seen.length - before >= n, 10_000, 10);

  const t0 = Date.now();
  const exited = new Promise<number | null>((r) => gw.proc.once('exit', (code) => r(code)));
  gw.proc.kill('SIGTERM');
  // Every data-plane process starts draining.
  await waitFor('draining', () => gw.logs.filter((l) => l.msg === 'draining').length >= workers, 5_000, 10);

  // Readiness reports draining while the requests are still running.
  const ready = await fetch(`${gw.adminUrl}/ready`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { reason: string }).reason, 'draining');
  // The listener is closed: new connections are refused.
  assert.equal(await waitFor('connections refused', async () => ((await tryConnect(gw.port)) === 'ECONNREFUSED' ? 'yes' : undefined), 3_000, 20), 'yes');
  assert.equal(gw.proc.exitCode, null, 'still running while requests are in flight');

  releaseAll();
  const responses = await Promise.all(inflight);
  for (let i = 0; i < n; i++) {
    assert.equal(responses[i]?.status, 200);
    assert.equal(responses[i]?.body, `done /slow/${i}`);
  }
  assert.equal(await exited, 0);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 10_000, `exit took ${elapsed} ms, grace is 10000`);
  const access = gw.logs.filter((l) => l.type === 'access' && String(l.path).startsWith('/slow/'));
  assert.deepEqual(
    access.map((l) => l.status),
    Array(n).fill(200),
  );
  assert.ok(gw.logs.some((l) => l.msg === 'stopped' && l.pid === gw.proc.pid));
}

test('SIGTERM, single process: in-flight requests complete, /ready is 503, new connections refused, exit 0', async () => {
  const gw = await startGateway(config());
  try {
    await drainScenario(gw, 1);
  } finally {
    await gw.stop('SIGKILL');
  }
});

test('SIGTERM, --workers 2: the same drain in every worker, then the primary exits 0', async () => {
  const gw = await startGateway(config(), { workers: 2 });
  try {
    await waitFor('two workers', () => gw.logs.filter((l) => l.msg === 'worker listening').length >= 2);
    await drainScenario(gw, 2);
  } finally {
    await gw.stop('SIGKILL');
  }
});

for (const workers of [1, 2]) {
  test(`a grace period shorter than the request in flight ends it anyway and still exits 0 (--workers ${workers})`, async () => {
    released = false;
    const gw = await startGateway(config(300), { workers });
    try {
      if (workers > 1) await waitFor('workers', () => gw.logs.filter((l) => l.msg === 'worker listening').length >= workers);
      const before = up.seen.length;
      const inflight = request(`${gw.url}/slow/cut`, { timeoutMs: 15_000 }).then(
        (r) => r.status,
        (e: NodeJS.ErrnoException) => e.code ?? 'error',
      );
      await waitFor('request to reach the upstream', () => up.seen.length > before, 10_000, 10);
      const t0 = Date.now();
      const code = await gw.stop('SIGTERM');
      const elapsed = Date.now() - t0;
      assert.equal(code, 0);
      assert.ok(elapsed < 3_000, `exit took ${elapsed} ms with a 300 ms grace period`);
      // The request was cut (no response was started, so the connection is closed).
      assert.equal(await inflight, 'ECONNRESET');
      assert.ok(gw.logs.some((l) => l.msg === 'grace period over, closing remaining connections'));
    } finally {
      releaseAll();
      await gw.stop('SIGKILL');
      await sleep(0);
    }
  });
}
