/**
 * `serve --database` through real processes and a real PostgreSQL: a node serves the stored config;
 * two nodes on one database both serve a change written through the store within 1 s (measured);
 * a rejected write changes neither the database nor what is served; a node-local file's `server`
 * block wins over the database's; `--workers 2` reloads both workers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeConfigCheck } from '../../src/cluster/check.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { PostgresConfigStore } from '../../src/cluster/postgres-store.js';
import { type RunningGateway, runCli, startGateway, tempConfig } from '../helpers/gateway.js';
import { request, sleep, waitFor } from '../helpers/lifecycle.js';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
let store: PostgresConfigStore;
const gateways: RunningGateway[] = [];

const mockRoute = (name: string, body: unknown) => ({ name, methods: ['GET'], path: `/${name}`, integration: { type: 'mock', body } });

before(async () => {
  db = await createTestDatabase();
  store = new PostgresConfigStore(db.url, makeConfigCheck());
  const { migrate } = await import('../../src/cluster/migrations.js');
  await migrate(store.sql);
  await store.replaceAll({
    server: { accessLog: false },
    apis: [{ name: 'shop', routes: [mockRoute('ping', { v: 1 })] }],
  });
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await store?.close();
  await db?.drop();
});

async function start(args: string[], opts: { file?: string; workers?: number } = {}): Promise<RunningGateway> {
  const gw = await startGateway(opts.file ?? '', { noFile: opts.file === undefined, workers: opts.workers ?? 1, args: ['--no-config-cache', ...args] });
  gateways.push(gw);
  return gw;
}

async function body(gw: RunningGateway, path: string): Promise<{ status: number; json: unknown }> {
  const r = await request(`${gw.url}${path}`);
  let json: unknown;
  try {
    json = JSON.parse(r.body);
  } catch {
    json = r.body;
  }
  return { status: r.status, json };
}

let a: RunningGateway;
let b: RunningGateway;

test('serve --database serves the stored config; a local file (server.database.url) contributes its server block, which wins', async () => {
  // Node A: found its database through its local file, whose server block turns the access log on.
  a = await start([], { file: `server:\n  accessLog: true\n  database:\n    url: ${db.url}\n    pollIntervalMs: 500\n` });
  // Node B: --database, no local file: the database's settings (access log off) apply.
  b = await start(['--database', db.url]);
  for (const gw of [a, b]) {
    assert.deepEqual(await body(gw, '/ping'), { status: 200, json: { v: 1 } });
    const ready = (await (await fetch(`${gw.adminUrl}/ready`)).json()) as Record<string, unknown>;
    assert.equal(ready.ready, true);
    assert.equal(ready.database, 'ok');
    assert.equal(ready.configFrom, 'database');
    assert.equal(ready.databaseVersion, await store.version());
  }
  await waitFor('access line on A', () => a.logs.find((l) => l.type === 'access'), 3_000);
  assert.equal(b.logs.filter((l) => l.type === 'access').length, 0);
  // The URL (it may hold a password) is a node-local secret: it is not part of what is served.
  const routes = await (await fetch(`${a.adminUrl}/routes`)).text();
  assert.doesNotMatch(routes, /postgres:\/\//);
});

test('a change written through the store is served by both nodes within 1 s', async (t) => {
  const t0 = performance.now();
  await store.put('routes', 'fresh', mockRoute('fresh', { fresh: true }), { parent: 'shop' });
  const committed = performance.now();
  const seen = await Promise.all(
    [a, b].map(async (gw) => {
      for (;;) {
        if ((await body(gw, '/fresh')).status === 200) return performance.now() - committed;
        if (performance.now() - committed > 3_000) return Number.POSITIVE_INFINITY;
        await sleep(10);
      }
    }),
  );
  t.diagnostic(`store write took ${Math.round(committed - t0)} ms; served after ${seen.map((ms) => Math.round(ms)).join(' and ')} ms`);
  for (const ms of seen) assert.ok(ms < 1_000, `served after ${Math.round(ms)} ms (write took ${Math.round(committed - t0)} ms)`);
  // A replaced body is applied too, not just new routes.
  await store.put('routes', 'ping', mockRoute('ping', { v: 2 }), { parent: 'shop' });
  for (const gw of [a, b]) await waitFor('v2', async () => ((await body(gw, '/ping')).json as { v?: number }).v === 2 || undefined, 2_000, 10);
});

test('a `turnpike import` is served by both nodes within 1 s of its commit', async (t) => {
  const file = tempConfig(
    JSON.stringify({
      server: { accessLog: false },
      apis: [{ name: 'shop', routes: [mockRoute('ping', { v: 2 }), mockRoute('fresh', { fresh: true }), mockRoute('imported', { imported: true })] }],
    }),
    'import.json',
  );
  const before = await store.version();
  const cli = runCli(['import', file, '--database', db.url]);
  // The commit is the moment the version moves (the CLI itself takes a while to start and exit).
  let committed = 0;
  while (committed === 0) {
    if ((await store.version()) !== before) committed = performance.now();
    else await sleep(5);
  }
  const seen = await Promise.all(
    [a, b].map(async (gw) => {
      for (;;) {
        if ((await body(gw, '/imported')).status === 200) return performance.now() - committed;
        if (performance.now() - committed > 3_000) return Number.POSITIVE_INFINITY;
        await sleep(10);
      }
    }),
  );
  const r = await cli;
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(`import served after ${seen.map((ms) => Math.round(ms)).join(' and ')} ms`);
  for (const ms of seen) assert.ok(ms < 1_000, `served after ${Math.round(ms)} ms`);
});

test('a rejected write (invalid route) changes neither the database nor what either node serves', async () => {
  const version = await store.version();
  const served = await Promise.all([a, b].map(async (gw) => ((await (await fetch(`${gw.adminUrl}/ready`)).json()) as { version: string }).version));
  await assert.rejects(
    store.put('routes', 'broken', { name: 'broken', path: '/broken', integration: { type: 'http', upstream: 'nowhere' } }, { parent: 'shop' }),
    (e: unknown) => e instanceof ConfigError && /database:\d+:\d+ apis\[0\]\.routes\[3\]\.integration\.upstream: unknown upstream "nowhere"/.test(e.message),
  );
  await sleep(700);
  assert.equal(await store.version(), version);
  for (const [i, gw] of [a, b].entries()) {
    assert.equal((await body(gw, '/broken')).status, 404);
    assert.equal(((await (await fetch(`${gw.adminUrl}/ready`)).json()) as { version: string }).version, served[i]);
    assert.equal(gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('reload: config rejected')).length, 0);
  }
});

test('--workers 2 with --database: both workers reload on a change', async () => {
  const c = await start(['--database', db.url], { workers: 2 });
  await waitFor('two workers', () => new Set(c.logs.filter((l) => l.msg === 'worker listening').map((l) => l.workerPid)).size === 2 || undefined, 10_000);
  const since = c.logs.length;
  await store.put('routes', 'workers', mockRoute('workers', { both: true }), { parent: 'shop' });
  const pids = await waitFor(
    'both workers reloaded',
    () => {
      const p = new Set(c.logs.slice(since).filter((l) => l.msg === 'config reloaded' && l.pid !== c.proc.pid).map((l) => l.pid));
      return p.size === 2 ? p : undefined;
    },
    3_000,
    20,
  );
  assert.equal(pids.size, 2);
  // Fresh connections are spread over the workers: every one answers from the new config.
  for (let i = 0; i < 8; i++) assert.deepEqual(await body(c, '/workers'), { status: 200, json: { both: true } });
});
