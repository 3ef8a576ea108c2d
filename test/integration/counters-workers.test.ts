/**
 * Node-wide counters with `serve --workers 2` (the primary owns the counters, workers reach them over
 * a socket): a local rate limit of N per hour and a usage-plan quota of N per day, hit by many
 * concurrent requests on fresh connections that both workers serve (checked through the access log's
 * pid), admit exactly N each. A stalled primary (SIGSTOP) never hangs a request: past the counter
 * deadline each worker applies the plugin's fallback (local → its own memory, reject → 503).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { childPids, isAlive, metricSum, scrape, sleep, waitFor } from '../helpers/lifecycle.js';

const KEY = generateApiKey();
const N = 25;
const QUOTA = 15;
/** Exactness tests: a deadline no machine hiccup reaches, so only the shared store ever counts. */
let gw: RunningGateway;
/** Stall test: a short deadline, so requests under a stopped primary finish fast with the fallback. */
let stallGw: RunningGateway;

// Hour windows, not minutes: a sliding window weighs the previous window's count down as the new one
// ages, so a flood that straddles a boundary may rightly admit one more once the new window is older
// than window/limit (2.4 s for 25/minute, which a slow CI run did exceed; 144 s for 25/hour).
const CONFIG = `
apis:
  - name: limited
    routes:
      - path: /limited
        integration: { type: mock, body: { ok: true } }
        plugins: { rate-limit: { limits: [{ window: hour, limit: ${N} }], key: [route] } }
      - path: /stall-local
        integration: { type: mock, body: { ok: true } }
        plugins: { rate-limit: { limits: [{ window: hour, limit: 3 }], key: [route], fallback: local } }
      - path: /stall-reject
        integration: { type: mock, body: { ok: true } }
        plugins: { rate-limit: { limits: [{ window: hour, limit: 1000 }], key: [route], fallback: reject } }
      - path: /open
        integration: { type: mock, body: { ok: true } }
  - name: planned
    plugins: { api-key: {} }
    routes:
      - { path: /planned, integration: { type: mock, body: { ok: true } } }
usagePlans:
  daily:
    apiStages: [{ api: planned }]
    quota: { limit: ${QUOTA}, period: DAY }
apiKeys:
  - { id: worker-quota, name: Quota, hash: "${hashApiKey(KEY)}", usagePlans: [daily] }
`;

interface Answer {
  status: number;
  ms: number;
}

function call(path: string, opts: { agent?: http.Agent | false; headers?: Record<string, string>; to?: RunningGateway } = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: (opts.to ?? gw).port, path, agent: opts.agent ?? false, headers: opts.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Pids that wrote access lines for `path`. */
function servingPids(path: string): Set<number> {
  return new Set(gw.logs.filter((l) => l.type === 'access' && l.path === path).map((l) => l.pid as number));
}

before(async () => {
  // The exactness tests must not depend on machine load: with the 150 ms deadline a busy CI machine
  // occasionally let one call miss it, and that request was counted by the worker's fallback (by design).
  [gw, stallGw] = await Promise.all([
    startGateway(CONFIG, { workers: 2, env: { TURNPIKE_COUNTERS_TIMEOUT_MS: '10000' } }),
    // The short deadline from the config (server.counters.workerTimeoutMs); the exact gateway's comes from the environment.
    startGateway(`${CONFIG}server:\n  counters: { workerTimeoutMs: 150 }\n`, { workers: 2 }),
  ]);
  for (const g of [gw, stallGw]) await waitFor('two workers listening', () => g.logs.filter((l) => l.msg === 'worker listening').length >= 2, 30_000);
});

after(async () => {
  if (stallGw?.proc.pid !== undefined) {
    try {
      process.kill(stallGw.proc.pid, 'SIGCONT');
    } catch {}
  }
  await Promise.all([gw?.stop(), stallGw?.stop()]);
});

/** `total` requests on fresh connections, `concurrency` at a time (the primary spreads connections over workers). */
async function flood(path: string, total: number, concurrency: number, headers?: Record<string, string>): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < total; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, total - i) }, () => call(path, { headers })))));
  }
  return out;
}

test(`local rate limit across 2 workers: ${N}/hour, 300 concurrent requests → exactly ${N} admitted`, async () => {
  const answers = await flood('/limited', 300, 30);
  assert.equal(answers.filter((a) => a.status !== 200 && a.status !== 429).length, 0, answers.map((a) => a.status).join(','));
  assert.equal(answers.filter((a) => a.status === 200).length, N);
  await waitFor('access lines', () => gw.logs.filter((l) => l.type === 'access' && l.path === '/limited').length >= 300, 5000);
  // Both workers served (and refused): with per-worker counters this would admit up to 2 × N.
  assert.equal(servingPids('/limited').size, 2, `pids ${[...servingPids('/limited')].join(',')}`);
});

test(`usage-plan quota across 2 workers: ${QUOTA}/day, 200 concurrent requests with one key → exactly ${QUOTA} admitted`, async () => {
  const answers = await flood('/planned', 200, 25, { 'x-api-key': KEY });
  assert.equal(answers.filter((a) => a.status !== 200 && a.status !== 429).length, 0);
  assert.equal(answers.filter((a) => a.status === 200).length, QUOTA);
  await waitFor('access lines', () => gw.logs.filter((l) => l.type === 'access' && l.path === '/planned').length >= 200, 5000);
  assert.equal(servingPids('/planned').size, 2);
});

test('stalled primary (SIGSTOP): requests finish within the counter deadline with the fallback; counting resumes after SIGCONT', async () => {
  const primary = stallGw.proc.pid!;
  const workers = childPids(primary);
  assert.equal(workers.length, 2);
  // Keep-alive connections opened while the primary still hands connections out: they stay with their worker.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  try {
    await Promise.all(Array.from({ length: 8 }, () => call('/open', { agent, to: stallGw })));
    assert.equal((await call('/stall-local', { agent, to: stallGw })).status, 200);
    process.kill(primary, 'SIGSTOP');
    let stopped = true;
    try {
      const local: Answer[] = [];
      for (let i = 0; i < 12; i++) local.push(await call('/stall-local', { agent, to: stallGw }));
      const reject = await Promise.all(Array.from({ length: 6 }, () => call('/stall-reject', { agent, to: stallGw })));
      for (const a of [...local, ...reject]) assert.ok(a.ms < 1000, `a request took ${a.ms.toFixed(0)} ms`);
      assert.deepEqual(reject.map((a) => a.status), [503, 503, 503, 503, 503, 503]);
      // fallback local: each worker counts in its own memory, so 3 per worker at most, then 429.
      const admitted = local.filter((a) => a.status === 200).length;
      assert.ok(admitted >= 3 && admitted <= 6, `admitted ${admitted}: ${local.map((a) => a.status).join(',')}`);
      assert.ok(local.some((a) => a.status === 429));
      process.kill(primary, 'SIGCONT');
      stopped = false;
    } finally {
      if (stopped) process.kill(primary, 'SIGCONT');
    }
    // Back to the shared store: its count (1 before the stall) continues, so 2 more are admitted.
    await sleep(50);
    const afterStall: Answer[] = [];
    for (let i = 0; i < 4; i++) afterStall.push(await call('/stall-local', { agent, to: stallGw }));
    assert.deepEqual(afterStall.map((a) => a.status), [200, 200, 429, 429]);
  } finally {
    agent.destroy();
  }
  const { samples } = await scrape(stallGw.adminUrl);
  assert.ok(metricSum(samples, 'turnpike_counter_fallback_total', { plugin: 'rate-limit', store: 'primary', fallback: 'local' }) >= 12);
  assert.ok(metricSum(samples, 'turnpike_counter_fallback_total', { plugin: 'rate-limit', store: 'primary', fallback: 'reject' }) >= 6);
  // Logs are written in batches: wait for the warning instead of racing the pipe.
  await stallGw.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes("cluster primary's counter store unavailable"), 3_000);
});

test('a SIGKILLed primary leaves its counter socket directory behind; the next primary removes it', async () => {
  // A private TMPDIR: primaries of test files running alongside (which sweep the default temp dir) must
  // not remove the dead primary's directory before this test has seen it there.
  const tmp = mkdtempSync(join(tmpdir(), 'turnpike-sweep-'));
  const env = { TMPDIR: tmp };
  const live = await startGateway(CONFIG, { workers: 2, env });
  const victim = await startGateway(CONFIG, { workers: 2, env });
  const pid = victim.proc.pid as number;
  const dirsOf = (p: number) => readdirSync(tmp).filter((n) => n.startsWith(`turnpike-counters-${p}-`));
  try {
    assert.equal(dirsOf(pid).length, 1, 'the primary made its socket directory');
    const workers = childPids(pid);
    await victim.stop('SIGKILL');
    for (const w of workers) {
      try {
        process.kill(w, 'SIGKILL');
      } catch {}
    }
    await waitFor('the old workers gone', () => workers.every((w) => !isAlive(w)) || undefined);
    assert.equal(dirsOf(pid).length, 1, 'a killed primary cannot clean up');
    const next = await startGateway(CONFIG, { workers: 2, env });
    try {
      assert.deepEqual(dirsOf(pid), [], 'the next primary removed the dead one\'s directory');
      assert.equal(dirsOf(next.proc.pid as number).length, 1, 'and made its own');
      // Live primaries' directories are left alone.
      assert.equal(dirsOf(live.proc.pid as number).length, 1);
    } finally {
      await next.stop();
    }
    assert.deepEqual(dirsOf(next.proc.pid as number), [], 'a clean stop removes its own directory');
  } finally {
    await live.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
