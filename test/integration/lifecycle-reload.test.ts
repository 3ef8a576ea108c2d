/**
 * Hot reload through the real process: file change (plain write and atomic rename), SIGHUP,
 * rejection of an invalid config, zero failed requests while reloading every 200 ms under load,
 * and requests in flight finishing on the table they started with.
 */
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { metricSum, request, scrape, sleep, waitFor, writeAtomic } from '../helpers/lifecycle.js';
import { runLoad } from '../helpers/load.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const BODY = 'x'.repeat(4096);
let up: Upstream;
let slowStarted = 0;

/** Two valid configs that both route /load (and /slow); they differ in a response header. */
function config(variant: string, opts: { slow?: boolean; extraRoute?: string } = {}): string {
  return `
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: reload
    routes:
      - name: load
        methods: [GET]
        path: /load
        integration: { type: http, upstream: backend }
        plugins:
          response-headers: { set: { x-config: "${variant}" } }
${
  opts.slow === false
    ? ''
    : `      - name: slow
        methods: [GET]
        path: /slow
        integration: { type: http, upstream: backend }
`
}${
  opts.extraRoute
    ? `      - name: ${opts.extraRoute}
        methods: [GET]
        path: /${opts.extraRoute}
        integration: { type: mock, body: { route: "${opts.extraRoute}" } }
`
    : ''
}`;
}

/** Waits for a log line that appears after index `since`. */
function logAfter(gw: RunningGateway, since: number, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 5_000) {
  return waitFor('log line', () => gw.logs.slice(since).find(pred), timeoutMs, 20);
}

async function routeNames(gw: RunningGateway): Promise<string[]> {
  const res = await fetch(`${gw.adminUrl}/routes`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { routes: { name: string }[] };
  return body.routes.map((r) => r.name).sort();
}

let gw: RunningGateway;

before(async () => {
  up = await startUpstream((req, res) => {
    const send = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      res.end(BODY);
    };
    if (req.url === '/slow') {
      slowStarted++;
      setTimeout(send, 500);
    } else send();
  });
  gw = await startGateway(config('a'));
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

test('a plain file write reloads: /routes and traffic reflect the new config', async () => {
  const since = gw.logs.length;
  gw.writeConfig(config('b', { extraRoute: 'added' }));
  await logAfter(gw, since, (l) => l.msg === 'config reloaded');
  assert.deepEqual(await routeNames(gw), ['added', 'load', 'slow']);
  const res = await request(`${gw.url}/added`);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { route: 'added' });
  const load = await request(`${gw.url}/load`);
  assert.equal(load.status, 200);
  assert.equal(load.headers['x-config'], 'b');
});

test('an atomic rename over the file (as editors save) reloads', async () => {
  const since = gw.logs.length;
  writeAtomic(gw.file, config('renamed'));
  await logAfter(gw, since, (l) => l.msg === 'config reloaded');
  assert.deepEqual(await routeNames(gw), ['load', 'slow']);
  assert.equal((await request(`${gw.url}/load`)).headers['x-config'], 'renamed');
  const gone = await request(`${gw.url}/added`);
  assert.equal(gone.status, 404);
  assert.equal(JSON.parse(gone.body).code, 'ROUTE_NOT_FOUND');
  // And a second rename still works (the watch survives the inode being replaced).
  const since2 = gw.logs.length;
  writeAtomic(gw.file, config('renamed-again'));
  await logAfter(gw, since2, (l) => l.msg === 'config reloaded');
  assert.equal((await request(`${gw.url}/load`)).headers['x-config'], 'renamed-again');
});

test('an invalid config is rejected with file:line:col diagnostics logged, counted, and the last good config keeps serving', async () => {
  const before = await scrape(gw.adminUrl);
  const failuresBefore = metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'failure' });
  const successBefore = metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'success' });
  const since = gw.logs.length;
  // Line 10 col 9 is the misspelt key; line 15 col 21 a wrong enum value.
  writeAtomic(
    gw.file,
    `upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: reload
    routes:
      - name: load
        path: /load
        integration: { type: http, upstream: backend }
        plugns: {}
      - path: /other
        integration:
          type: http
          upstream: backend
server: { logLevel: loud }
`,
  );
  const line = await logAfter(gw, since, (l) => typeof l.msg === 'string' && l.msg.startsWith('reload: config rejected'));
  assert.equal(line.level, 'error');
  assert.deepEqual(line.diagnostics, [
    `${gw.file}:10:9 apis[0].routes[0].plugns: unknown key "plugns"; did you mean "plugins"?`,
    `${gw.file}:15:21 server.logLevel: must be one of: fatal, error, warn, info, debug, trace (got "loud")`,
  ]);
  assert.equal(line.problems, 2);
  const afterScrape = await scrape(gw.adminUrl);
  assert.equal(metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'failure' }), failuresBefore + 1);
  assert.equal(metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'success' }), successBefore);
  const res = await request(`${gw.url}/load`);
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-config'], 'renamed-again');
  assert.equal(res.body, BODY);
  assert.deepEqual(await routeNames(gw), ['load', 'slow']);
  // A YAML syntax error is rejected the same way.
  const since2 = gw.logs.length;
  writeAtomic(gw.file, 'apis:\n  - name: x\n    routes: [\n');
  await logAfter(gw, since2, (l) => typeof l.msg === 'string' && l.msg.startsWith('reload: config rejected'));
  assert.equal((await request(`${gw.url}/load`)).status, 200);
  const final = await scrape(gw.adminUrl);
  assert.equal(metricSum(final.samples, 'turnpike_config_reloads_total', { result: 'failure' }), failuresBefore + 2);
});

test('THE KEY TEST: a reload every 200 ms during 4,000 requests on 32 keep-alive connections fails none', async () => {
  const before = await scrape(gw.adminUrl);
  const successBefore = metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'success' });
  let reloading = true;
  let writes = 0;
  const reloader = (async () => {
    while (reloading && writes < 300) {
      writes++;
      writeAtomic(gw.file, config(writes % 2 === 0 ? 'a' : 'b'));
      await sleep(200);
    }
  })();
  const result = await runLoad(gw.url, { requests: 4_000, connections: 32, path: '/load', expectBody: BODY, countHeader: 'x-config', timeoutMs: 30_000 });
  reloading = false;
  await reloader;
  assert.deepEqual(result.failures.slice(0, 10), [], `${result.failures.length} failed requests`);
  assert.equal(result.ok, 4_000);
  assert.deepEqual([...result.statuses.keys()], [200]);
  // Both configs answered traffic during the load: the swaps really happened under it.
  assert.ok((result.headerValues.get('a') ?? 0) > 0 && (result.headerValues.get('b') ?? 0) > 0, JSON.stringify([...result.headerValues]));
  const afterScrape = await scrape(gw.adminUrl);
  const reloads = metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'success' }) - successBefore;
  assert.ok(reloads >= 2, `only ${reloads} reloads during the load (${writes} writes in ${Math.round(result.durationMs)} ms)`);
});

test('a request in flight finishes on the config it started with, even when the reload removes its route', async () => {
  writeAtomic(gw.file, config('with-slow'));
  await waitFor('with-slow config', async () => (await request(`${gw.url}/load`)).headers['x-config'] === 'with-slow');
  const startedBefore = slowStarted;
  const inflight = request(`${gw.url}/slow`);
  await waitFor('slow request to reach the upstream', () => slowStarted > startedBefore, 5_000, 10);
  writeAtomic(gw.file, config('without-slow', { slow: false }));
  await waitFor('the reload that removes /slow', async () => !(await routeNames(gw)).includes('slow'), 5_000);
  assert.equal(slowStarted, startedBefore + 1);
  // The route is gone for new requests...
  const fresh = await request(`${gw.url}/slow`);
  assert.equal(fresh.status, 404);
  assert.equal(JSON.parse(fresh.body).code, 'ROUTE_NOT_FOUND');
  // ...but the one in flight completes on the old table, headers of the old config included.
  const res = await inflight;
  assert.equal(res.status, 200);
  assert.equal(res.body, BODY);
  const access = await waitFor('access line of the slow request', () => gw.logs.find((l) => l.type === 'access' && l.path === '/slow' && l.status === 200));
  assert.equal(access.route, 'reload/slow');
});

test('a Kubernetes-style ConfigMap update (a symlinked ..data directory swapped atomically) reloads', async () => {
  const dir = join(gw.file, '..');
  const version = (n: number, text: string) => {
    mkdirSync(join(dir, `..v${n}`));
    writeFileSync(join(dir, `..v${n}`, 'gateway.yaml'), text);
    symlinkSync(`..v${n}`, join(dir, `..data_tmp`));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  // gateway.yaml -> ..data/gateway.yaml -> ..v1/gateway.yaml
  version(1, config('cm-1'));
  symlinkSync('..data/gateway.yaml', join(dir, 'link.tmp'));
  renameSync(join(dir, 'link.tmp'), gw.file);
  await waitFor('cm-1', async () => (await request(`${gw.url}/load`)).headers['x-config'] === 'cm-1');
  // The update touches only ..v2, ..data_tmp and ..data: no event names gateway.yaml.
  version(2, config('cm-2', { extraRoute: 'configmap' }));
  await waitFor('cm-2', async () => (await request(`${gw.url}/load`)).headers['x-config'] === 'cm-2', 5_000);
  assert.deepEqual(await routeNames(gw), ['configmap', 'load', 'slow']);
});

test('SIGHUP reloads; with --no-watch a file change alone does not', async () => {
  const hup = await startGateway(config('one'), { args: ['--no-watch'] });
  try {
    writeAtomic(hup.file, config('two', { extraRoute: 'hup' }));
    await sleep(400);
    assert.equal((await request(`${hup.url}/load`)).headers['x-config'], 'one', '--no-watch must ignore the change');
    const since = hup.logs.length;
    hup.proc.kill('SIGHUP');
    await logAfter(hup, since, (l) => l.msg === 'config reloaded');
    assert.equal((await request(`${hup.url}/load`)).headers['x-config'], 'two');
    assert.deepEqual(await routeNames(hup), ['hup', 'load', 'slow']);
    assert.equal(hup.proc.exitCode, null, 'SIGHUP must not end the process');
  } finally {
    await hup.stop();
  }
});
