/**
 * Cluster mode (--workers 2) through the real process: both workers serve, a killed worker is
 * replaced while the service keeps answering, a reload reaches every worker (the replacement
 * included), the primary's /metrics sums the workers' request counts, and an edit to a file the
 * config only references (an OpenAPI document, a function module) reaches every worker.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { childPids, isAlive, metricSum, request, scrape, sleep, waitFor, writeAtomic } from '../helpers/lifecycle.js';
import { runLoad } from '../helpers/load.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;

function config(variant: string): string {
  return `
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: cluster
    routes:
      - name: hello
        methods: [GET]
        path: /hello
        integration: { type: http, upstream: backend }
        plugins:
          response-headers: { set: { x-config: "${variant}" } }
`;
}

/** Access lines after index `since`, grouped by worker pid. */
function servedBy(since: number): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const l of gw.logs.slice(since)) {
    if (l.type !== 'access') continue;
    byPid.set(l.pid as number, (byPid.get(l.pid as number) ?? 0) + 1);
  }
  return byPid;
}

/** Sends requests on fresh connections (no keep-alive) so the primary spreads them over workers. */
async function burst(n: number, path = '/hello'): Promise<{ status: number; config: string }[]> {
  const out: { status: number; config: string }[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(`${gw.url}${path}`);
    out.push({ status: r.status, config: String(r.headers['x-config']) });
  }
  return out;
}

before(async () => {
  up = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello');
  });
  gw = await startGateway(config('one'), { workers: 2 });
  await waitFor('two workers listening', () => gw.logs.filter((l) => l.msg === 'worker listening').length >= 2);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

test('the spawned pid is the primary; requests are served by both worker pids', async () => {
  const listening = gw.logs.find((l) => l.msg === 'listening');
  assert.equal(listening?.pid, gw.proc.pid, 'the process we spawned is the one that logs "listening"');
  const workers = childPids(gw.proc.pid as number);
  assert.equal(workers.length, 2);
  const since = gw.logs.length;
  const results = await burst(40);
  assert.ok(results.every((r) => r.status === 200));
  const by = await waitFor('40 access lines', () => {
    const m = servedBy(since);
    return [...m.values()].reduce((a, b) => a + b, 0) >= 40 ? m : undefined;
  });
  assert.deepEqual([...by.keys()].sort(), [...workers].sort(), `served by ${JSON.stringify([...by])}`);
});

test('/metrics on the primary sums the workers request counts', async () => {
  const before = await scrape(gw.adminUrl);
  const base = metricSum(before.samples, 'turnpike_requests_total', { route: 'hello' });
  const sent = 60;
  await burst(sent);
  const afterScrape = await scrape(gw.adminUrl);
  assert.equal(metricSum(afterScrape.samples, 'turnpike_requests_total', { api: 'cluster', route: 'hello', method: 'GET', status: '200' }) - base, sent);
  // The histogram is summed too.
  assert.equal(
    metricSum(afterScrape.samples, 'turnpike_request_duration_seconds_count', { route: 'hello' }) -
      metricSum(before.samples, 'turnpike_request_duration_seconds_count', { route: 'hello' }),
    sent,
  );
  // Both workers contributed (each one's share is visible in the access log).
  assert.equal(afterScrape.types.get('turnpike_requests_total'), 'counter');
});

test('kill -9 of a worker: a replacement appears and serves, and the service answers throughout', async () => {
  const workers = childPids(gw.proc.pid as number);
  assert.equal(workers.length, 2);
  const victim = workers[0] as number;
  const survivor = workers[1] as number;
  // Traffic on fresh connections from 4 lanes while the worker is killed and replaced. A request
  // running on the victim at the instant of the kill dies with it; every request started after the
  // primary saw the exit must succeed.
  let stop = false;
  let exitSeenAt = Number.POSITIVE_INFINITY;
  const results: { startedAt: number; outcome: number | string }[] = [];
  const lane = async () => {
    while (!stop && results.length < 4_000) {
      const startedAt = Date.now();
      try {
        results.push({ startedAt, outcome: (await request(`${gw.url}/hello`, { timeoutMs: 5_000 })).status });
      } catch (err) {
        results.push({ startedAt, outcome: (err as NodeJS.ErrnoException).code ?? 'error' });
      }
    }
  };
  const traffic = Promise.all([lane(), lane(), lane(), lane()]);
  await sleep(200);
  const since = gw.logs.length;
  process.kill(victim, 'SIGKILL');
  const exitLine = await waitFor('the primary to see the exit', () =>
    gw.logs.slice(since).find((l) => l.msg === 'worker exited; starting a replacement' && l.workerPid === victim),
  );
  exitSeenAt = Date.now();
  assert.equal(exitLine.signal, 'SIGKILL');
  const replacement = await waitFor(
    'a replacement worker',
    () => {
      const now = childPids(gw.proc.pid as number);
      return now.length === 2 && !now.includes(victim) ? now.find((p) => p !== survivor) : undefined;
    },
    30_000,
  );
  assert.ok(!isAlive(victim));
  // A new worker starts a Node process and compiles the config: allow for a loaded CI machine.
  await waitFor('replacement listening', () => gw.logs.find((l) => l.msg === 'worker listening' && l.workerPid === replacement), 30_000);
  const servedSince = gw.logs.length;
  await waitFor('the replacement to serve', () => servedBy(servedSince).has(replacement), 30_000);
  stop = true;
  await traffic;
  const during = results.filter((r) => r.startedAt >= exitSeenAt);
  const failedAfterExit = during.filter((r) => r.outcome !== 200);
  assert.ok(during.length >= 8, `only ${during.length} requests after the exit`);
  assert.deepEqual(failedAfterExit, [], `${failedAfterExit.length} of ${during.length} requests failed after the worker exit`);
  const atKill = results.filter((r) => r.startedAt < exitSeenAt && r.outcome !== 200);
  assert.ok(atKill.length <= 4, `at most the requests in flight at the kill may fail, got ${JSON.stringify(atKill)}`);
});

test('a reload reaches every worker, the replacement included', async () => {
  const since = gw.logs.length;
  writeAtomic(gw.file, config('two'));
  await waitFor('primary reload', () => gw.logs.slice(since).find((l) => l.msg === 'config reloaded' && l.pid === gw.proc.pid));
  const workers = childPids(gw.proc.pid as number);
  await waitFor('every worker reloaded', () => {
    const reloaded = new Set(
      gw.logs
        .slice(since)
        .filter((l) => l.msg === 'config reloaded')
        .map((l) => l.pid),
    );
    return workers.every((w) => reloaded.has(w));
  });
  const since2 = gw.logs.length;
  const results = await burst(40);
  assert.deepEqual(new Set(results.map((r) => `${r.status} ${r.config}`)), new Set(['200 two']));
  // Access lines reach stdout in batches (flushed every 50 ms per worker): wait for all 40 before
  // asking who served them, so a batch still in a worker's buffer is not read as "did not serve".
  await waitFor('the burst logged', () => [...servedBy(since2).values()].reduce((a, b) => a + b, 0) >= 40);
  const by = servedBy(since2);
  assert.deepEqual([...by.keys()].sort(), [...workers].sort(), 'both workers answered with the new config');
  // A keep-alive load after the reload also sees only the new config.
  const load = await runLoad(gw.url, { requests: 400, connections: 8, path: '/hello', expectBody: 'hello', countHeader: 'x-config' });
  assert.equal(load.ok, 400);
  assert.deepEqual([...load.headerValues.keys()], ['two']);
});

test('a worker started after the file broke serves the last good config (it gets the text from the primary)', async () => {
  const since = gw.logs.length;
  writeAtomic(gw.file, 'apis: [ {name: broken\n');
  await waitFor('rejection', () => gw.logs.slice(since).find((l) => typeof l.msg === 'string' && l.msg.startsWith('reload: config rejected')));
  // The primary counts the rejection (workers never see a rejected config).
  const m = await scrape(gw.adminUrl);
  assert.equal(metricSum(m.samples, 'turnpike_config_reloads_total', { result: 'failure' }), 1);
  assert.equal(m.types.get('turnpike_config_reloads_total'), 'counter');
  const [victim] = childPids(gw.proc.pid as number);
  process.kill(victim as number, 'SIGKILL');
  const replacement = await waitFor('replacement', () => {
    const now = childPids(gw.proc.pid as number);
    return now.length === 2 && !now.includes(victim as number) ? now.find((p) => !gw.logs.slice(0, since).some((l) => l.pid === p)) : undefined;
  });
  // A new worker starts a Node process and compiles the config: allow for a loaded CI machine.
  await waitFor('replacement listening', () => gw.logs.find((l) => l.msg === 'worker listening' && l.workerPid === replacement), 30_000);
  const since2 = gw.logs.length;
  await waitFor(
    'the replacement to serve',
    async () => {
      const r = await burst(6);
      assert.ok(
        r.every((x) => x.status === 200 && x.config === 'two'),
        JSON.stringify(r),
      );
      return servedBy(since2).has(replacement);
    },
    10_000,
    0,
  );
  assert.equal(gw.proc.exitCode, null);
});

test('/ready and /health on the primary admin port', async () => {
  const ready = await fetch(`${gw.adminUrl}/ready`);
  assert.equal(ready.status, 200);
  const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as { status: string; pid: number; workers: number };
  assert.equal(health.status, 'ok');
  assert.equal(health.pid, gw.proc.pid);
  assert.equal(health.workers, 2);
});

test('cluster mode: a reload every 200 ms during 2,000 keep-alive requests fails none', async () => {
  let reloading = true;
  let writes = 0;
  const reloader = (async () => {
    while (reloading && writes < 200) {
      writes++;
      writeAtomic(gw.file, config(writes % 2 === 0 ? 'even' : 'odd'));
      await sleep(200);
    }
  })();
  const result = await runLoad(gw.url, { requests: 2_000, connections: 16, path: '/hello', expectBody: 'hello', countHeader: 'x-config', timeoutMs: 30_000 });
  reloading = false;
  await reloader;
  assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} failed requests`);
  assert.equal(result.ok, 2_000);
  assert.ok((result.headerValues.get('even') ?? 0) > 0 && (result.headerValues.get('odd') ?? 0) > 0, JSON.stringify([...result.headerValues]));
});

test('an edit to a referenced OpenAPI document or a function module reaches every worker (the main file untouched)', async () => {
  const aws = join(gw.dir, 'aws');
  mkdirSync(join(aws, 'functions'), { recursive: true });
  const doc = (paths: string[]) =>
    `openapi: 3.0.1\ninfo: { title: inputs, version: '1.0' }\npaths:\n${paths
      .map((p) => `  ${p}:\n    get:\n      x-amazon-apigateway-integration: { type: aws_proxy, httpMethod: POST, uri: 'arn:aws:lambda:us-east-1:123456789012:function:hello', payloadFormatVersion: '2.0' }\n`)
      .join('')}`;
  const handler = (body: string) => `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(body)} });\n`;
  writeFileSync(join(aws, 'api.yaml'), doc(['/one']));
  writeFileSync(join(aws, 'functions', 'hello.mjs'), handler('hello'));
  writeFileSync(join(gw.dir, 'echo.mjs'), handler('echo v1'));
  writeAtomic(
    gw.file,
    `functions:\n  echo: { module: echo.mjs }\napis:\n  - name: inputs\n    openapi: aws/api.yaml\n  - name: native\n    routes:\n      - { methods: [GET], path: /echo, integration: { type: function, function: echo } }\n`,
  );
  // Fresh connections: node:cluster hands them out round-robin, so six requests reach both workers.
  const everywhere = async (path: string, body: string) => (await burstBodies(6, path)).every((r) => r === `200 ${body}`);
  await waitFor('the referencing config on every worker', () => everywhere('/echo', 'echo v1'), 15_000, 100);
  writeAtomic(join(aws, 'api.yaml'), doc(['/one', '/three']));
  await waitFor('/three on every worker', () => everywhere('/three', 'hello'), 10_000, 100);
  writeAtomic(join(gw.dir, 'echo.mjs'), handler('echo v2'));
  await waitFor('the new code on every worker', () => everywhere('/echo', 'echo v2'), 10_000, 100);
});

async function burstBodies(n: number, path: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(`${gw.url}${path}`);
    out.push(`${r.status} ${r.body}`);
  }
  return out;
}
