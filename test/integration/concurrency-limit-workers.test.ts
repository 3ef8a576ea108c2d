/**
 * concurrency-limit is per node with `serve --workers 2`: the slots live in the cluster primary's
 * store. With max M and 3 × M concurrent requests on fresh connections (both workers serve some,
 * checked through the access log's pid) held by a real upstream, exactly M reach the upstream and the
 * other 2 × M get 503 with Retry-After; the capacity comes back whole when the held responses finish
 * and when their clients abort. A stalled primary (SIGSTOP) never hangs a request: past the counter
 * deadline the workers count locally (metric), and once the primary is back the node-wide capacity is
 * intact (the acquisitions that timed out hold no slot).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { childPids, metricSum, scrape, waitFor } from '../helpers/lifecycle.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const M = 4;
let gw: RunningGateway;
let held: Upstream;
const waiting: http.ServerResponse[] = [];
let abortedHeld = 0;

before(async () => {
  held = await startUpstream((_req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) abortedHeld++;
    });
    waiting.push(res);
  });
  // A generous counter deadline: on a loaded VM the worker must not fall back to counting alone.
  gw = await startGateway(
    `
apis:
  - name: c
    routes:
      - name: held
        path: /held
        integration: { type: http, url: "${held.url}" }
        plugins:
          concurrency-limit: { max: ${M}, retryAfterSeconds: 3 }
      - name: quick
        path: /quick
        integration: { type: mock, body: { ok: true } }
        plugins:
          concurrency-limit: { max: 100 }
`,
    { workers: 2, env: { TURNPIKE_COUNTERS_TIMEOUT_MS: '1500' } },
  );
  await waitFor('two workers listening', () => gw.logs.filter((l) => l.msg === 'worker listening').length >= 2, 15_000);
});

after(async () => {
  for (const r of waiting.splice(0)) r.destroy();
  await gw?.stop();
  await held?.close();
});

interface Call {
  done: Promise<{ status: number; retryAfter: string | undefined } | undefined>;
  abort(): void;
}

/** One request on its own connection (no keep-alive), so the cluster spreads them over the workers. */
function call(): Call {
  let req!: http.ClientRequest;
  const done = new Promise<{ status: number; retryAfter: string | undefined } | undefined>((resolve) => {
    req = http.request({ host: '127.0.0.1', port: gw.port, path: '/held', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
      res.on('error', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
  return { done, abort: () => req.destroy() };
}

function release(): void {
  for (const r of waiting.splice(0)) {
    r.writeHead(200, { 'content-type': 'text/plain' });
    r.end('done');
  }
}

/**
 * Sends 3 × M concurrent requests; returns once the 2 × M refusals are in and exactly M are held at
 * the upstream (a short settle proves no further one slips through).
 */
async function burst(): Promise<Call[]> {
  const seen = held.seen.length;
  const calls = Array.from({ length: 3 * M }, call);
  const refused: Array<{ status: number; retryAfter: string | undefined }> = [];
  for (const c of calls) void c.done.then((r) => r !== undefined && r.status === 503 && refused.push(r));
  await waitFor(`${2 * M} refusals and ${M} held`, () => refused.length >= 2 * M && held.seen.length - seen >= M, 10_000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(held.seen.length - seen, M, 'exactly M requests reached the upstream');
  assert.equal(refused.length, 2 * M, 'the other 2 × M were refused');
  for (const r of refused) assert.equal(r.retryAfter, '3');
  return calls;
}

test(`with --workers 2, 3 × ${M} concurrent requests: exactly ${M} reach the upstream, the rest get 503; finished responses give the capacity back`, async () => {
  const calls = await burst();
  release();
  const results = await Promise.all(calls.map((c) => c.done));
  assert.equal(results.filter((r) => r?.status === 200).length, M);
  assert.equal(results.filter((r) => r?.status === 503).length, 2 * M);
  // Full capacity again, node-wide.
  const again = await burst();
  release();
  assert.equal((await Promise.all(again.map((c) => c.done))).filter((r) => r?.status === 200).length, M);
  await waitFor('access lines of both rounds', () => gw.logs.filter((l) => l.type === 'access' && l.path === '/held').length >= 6 * M, 5000);
  const pids = new Set(gw.logs.filter((l) => l.type === 'access' && l.path === '/held').map((l) => l.pid as number));
  assert.equal(pids.size, 2, `both workers served /held (pids ${[...pids].join(', ')})`);
});

test('aborted clients give their slots back to the node: after aborts, full capacity and no more', async () => {
  for (let round = 0; round < 2; round++) {
    const before = abortedHeld;
    const calls = await burst();
    for (const c of calls) c.abort();
    await Promise.all(calls.map((c) => c.done));
    await waitFor('the gateway to drop the aborted exchanges', () => abortedHeld === before + M, 10_000);
    waiting.splice(0);
  }
  const calls = await burst();
  release();
  assert.equal((await Promise.all(calls.map((c) => c.done))).filter((r) => r?.status === 200).length, M);
});

test('stalled primary (SIGSTOP): requests are answered after the counter deadline by the local fallback; capacity intact afterwards', async () => {
  const primary = gw.proc.pid as number;
  assert.equal(childPids(primary).length, 2);
  // Connections opened while the primary still hands them out: they stay with their worker.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  const quick = () =>
    new Promise<{ status: number; ms: number }>((resolve, reject) => {
      const t0 = performance.now();
      const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/quick', agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      });
      req.on('error', reject);
      req.setTimeout(8000, () => req.destroy(new Error('timeout')));
      req.end();
    });
  try {
    for (const a of await Promise.all(Array.from({ length: 6 }, quick))) assert.equal(a.status, 200);
    process.kill(primary, 'SIGSTOP');
    let answers: Array<{ status: number; ms: number }>;
    try {
      answers = await Promise.all(Array.from({ length: 6 }, quick));
    } finally {
      process.kill(primary, 'SIGCONT');
    }
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.ok(a.ms < 4000, `answered in ${a.ms.toFixed(0)} ms (deadline 1500 ms)`);
    }
  } finally {
    agent.destroy();
  }
  const { samples } = await scrape(gw.adminUrl);
  assert.ok(metricSum(samples, 'turnpike_counter_fallback_total', { plugin: 'concurrency-limit', store: 'primary', fallback: 'local' }) >= 6);
  // Back on the primary: the node-wide count of /held is whole, exactly M again.
  const calls = await burst();
  release();
  assert.equal((await Promise.all(calls.map((c) => c.done))).filter((r) => r?.status === 200).length, M);
});
