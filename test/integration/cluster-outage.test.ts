/**
 * PostgreSQL unreachable, through a real TCP relay between the gateway and the server that the test
 * cuts (listener closed, sockets destroyed) and restores on the same port:
 * - at start without a cache: only the admin port is up, /ready 503 with the reason, no traffic
 *   port; the node starts serving once the database is reachable;
 * - at start with a cache: the cached last good config is served at once and /ready says so; a
 *   change made meanwhile is picked up when the database returns;
 * - later: the last good config keeps serving, /ready (200) and turnpike_config_store_up report the
 *   outage, and a change made directly in the database while the node was cut off is applied
 *   after the relay is back.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeConfigCheck } from '../../src/cluster/check.js';
import { databaseId } from '../../src/cluster/db.js';
import { migrate } from '../../src/cluster/migrations.js';
import { PostgresConfigStore } from '../../src/cluster/postgres-store.js';
import { type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';
import { metricSum, request, scrape, sleep, waitFor } from '../helpers/lifecycle.js';
import { TcpRelay, type TestDatabase, createTestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
let store: PostgresConfigStore;
const relay = new TcpRelay();
const gateways: RunningGateway[] = [];
const cacheDir = mkdtempSync(join(tmpdir(), 'turnpike-cache-'));

const ping = (v: number) => ({ name: 'ping', methods: ['GET'], path: '/ping', integration: { type: 'mock', body: { v } } });

before(async () => {
  db = await createTestDatabase();
  store = new PostgresConfigStore(db.url, makeConfigCheck());
  await migrate(store.sql);
  await store.replaceAll({ apis: [{ name: 'shop', routes: [ping(1)] }] });
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await relay.stop();
  await store?.close();
  await db?.drop();
});

async function ready(gw: RunningGateway): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${gw.adminUrl}/ready`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
const pingValue = async (gw: RunningGateway) => (JSON.parse((await request(`${gw.url}/ping`)).body) as { v: number }).v;

/** A change made by hand in the database (not through a node): the trigger bumps the version. */
const editDirectly = (v: number) => db.sql`update turnpike_entities set body = ${ping(v) as never} where kind = 'routes' and key = 'ping'`;

test('database down at start, no cache: admin only, /ready 503 with the reason; serves once the database is reachable', async () => {
  const port = await relay.reservePort();
  const gw = await startGateway('', {
    noFile: true,
    args: ['--database', db.urlVia(port), '--no-config-cache', '--db-poll-interval', '500'],
    startedLog: (l) => typeof l.msg === 'string' && l.msg.startsWith('waiting for the configuration database'),
  });
  gateways.push(gw);
  const r = await ready(gw);
  assert.equal(r.status, 503);
  assert.equal(r.body.reason, 'waiting for the configuration database');
  assert.equal(r.body.database, 'unreachable');
  assert.match(String(r.body.since), /^\d{4}-\d\d-\d\dT/);
  assert.equal((await fetch(`${gw.adminUrl}/health`)).status, 200);
  await sleep(500);
  assert.equal(gw.logs.filter((l) => l.msg === 'listening').length, 0, 'no traffic port while there is nothing to serve');

  await relay.start();
  const listening = await gw.waitForLog((l) => l.msg === 'listening', 10_000);
  gw.port = listening.port as number;
  gw.url = `http://127.0.0.1:${gw.port}`;
  assert.equal(listening.adminPort, gw.adminPort, 'the admin port stays the same');
  assert.equal(await pingValue(gw), 1);
  const after = await ready(gw);
  assert.equal(after.status, 200);
  assert.equal(after.body.database, 'ok');
  await gw.stop();
});

test('a cache others could have written is not served (the node waits instead); SIGTERM while waiting exits 0', async () => {
  const idle = new TcpRelay();
  const port = await idle.reservePort();
  const url = `postgres://postgres@127.0.0.1:${port}/${db.name}`;
  const planted = join(cacheDir, 'planted.json');
  const document = { apis: [{ name: 'evil', routes: [ping(666)] }] };
  writeFileSync(planted, JSON.stringify({ turnpikeConfigCache: 1, database: databaseId(url), version: '1', savedAt: new Date().toISOString(), document }));
  chmodSync(planted, 0o666);
  const w = await startGateway('', {
    noFile: true,
    args: ['--database', url, '--config-cache', planted],
    startedLog: (l) => typeof l.msg === 'string' && l.msg.startsWith('waiting for the configuration database'),
  });
  gateways.push(w);
  assert.ok(w.logs.some((l) => l.msg === 'config cache not trusted; ignored' && l.reason === 'writable by group or others'));
  assert.equal((await ready(w)).status, 503);
  assert.equal(await w.stop('SIGTERM'), 0);
});

let gw: RunningGateway;
const cache = join(cacheDir, 'config-cache.json');

test('database down at start with a cache: the cached config is served at once; the node catches up when the database returns', async () => {
  // A first run through the relay writes the cache.
  const first = await startGateway('', { noFile: true, args: ['--database', db.urlVia(relay.port), '--config-cache', cache] });
  gateways.push(first);
  assert.equal(await pingValue(first), 1);
  await waitFor('cache written', () => existsSync(cache) || undefined, 3_000);
  assert.equal(statSync(cache).mode & 0o777, 0o600, 'the cache holds key hashes: owner-only');
  await first.stop();

  await relay.stop();
  gw = await startGateway('', { noFile: true, args: ['--database', db.urlVia(relay.port), '--config-cache', cache, '--db-poll-interval', '500'] });
  gateways.push(gw);
  assert.ok(gw.logs.some((l) => l.msg === 'configuration database unreachable at start: serving the cached last good config'));
  assert.equal(await pingValue(gw), 1);
  const r = await ready(gw);
  assert.equal(r.status, 200, 'serving a good config: the load balancer keeps the node');
  assert.equal(r.body.database, 'unreachable');
  assert.equal(r.body.configFrom, 'cache');

  await editDirectly(2);
  await relay.start();
  await waitFor('caught up', async () => ((await pingValue(gw)) === 2 ? true : undefined), 8_000, 50);
  const back = await ready(gw);
  assert.equal(back.body.database, 'ok');
  assert.equal(back.body.configFrom, 'database');
});

test('database lost later: keeps serving, /ready and the metric report it; a change made meanwhile is applied when it returns', async () => {
  const before = await scrape(gw.adminUrl);
  assert.equal(metricSum(before.samples, 'turnpike_config_store_up'), 1);
  const lastSync = metricSum(before.samples, 'turnpike_config_store_last_sync_timestamp_seconds');
  assert.ok(lastSync > Date.now() / 1000 - 60);

  await relay.stop();
  // The listening connection closes at once; the outage is known without waiting for a poll.
  await waitFor('reported down', async () => ((await ready(gw)).body.database === 'unreachable' ? true : undefined), 3_000, 50);
  const r = await ready(gw);
  assert.equal(r.status, 200, 'a database outage does not pull every node from the load balancer');
  assert.equal(r.body.ready, true);
  assert.match(String(r.body.since), /^\d{4}-\d\d-\d\dT/);
  assert.equal(metricSum((await scrape(gw.adminUrl)).samples, 'turnpike_config_store_up'), 0);
  // The log is written in batches: wait for the line rather than race the pipe.
  await gw.waitForLog((l) => l.msg === 'configuration database unreachable; serving the last good config', 3_000);
  assert.equal(await pingValue(gw), 2);

  await editDirectly(3);
  await sleep(1_200);
  assert.equal(await pingValue(gw), 2, 'cut off: the change cannot have arrived');

  await relay.start();
  const t0 = Date.now();
  await waitFor('caught up', async () => ((await pingValue(gw)) === 3 ? true : undefined), 8_000, 50);
  assert.ok(Date.now() - t0 < 8_000);
  await waitFor('reported up', async () => ((await ready(gw)).body.database === 'ok' ? true : undefined), 3_000, 50);
  assert.equal(metricSum((await scrape(gw.adminUrl)).samples, 'turnpike_config_store_up'), 1);
  await gw.waitForLog((l) => l.msg === 'configuration database reachable again', 3_000);
  // The process never treated the outage as a config error.
  assert.equal(gw.logs.filter((l) => l.level === "fatal").length, 0);
});

test('a config in the database that does not compile at start: the cached last good config is served (error logged with its key path); a valid one stored later is applied', async () => {
  const ownCache = join(cacheDir, 'invalid-at-start.json');
  await editDirectly(7);
  const first = await startGateway('', { noFile: true, args: ['--database', db.url, '--config-cache', ownCache] });
  gateways.push(first);
  assert.equal(await pingValue(first), 7);
  await waitFor('cache written', () => existsSync(ownCache) || undefined, 3_000);
  await first.stop();

  // A hand edit in psql is not validated by anyone: a route pointing at an upstream that does not exist.
  await db.sql`update turnpike_entities set body = ${{ ...ping(8), integration: { type: 'http', upstream: 'nowhere' } } as never} where kind = 'routes' and key = 'ping'`;

  // No cache: nothing good to serve, the node refuses to start (exit 1) and says why.
  const refused = await runCli(['serve', '--database', db.url, '--no-config-cache', '--port', '0', '--admin-port', '0']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /nowhere/);

  const node = await startGateway('', { noFile: true, args: ['--database', db.url, '--config-cache', ownCache, '--db-poll-interval', '500'] });
  gateways.push(node);
  assert.equal(await pingValue(node), 7, 'the cached last good config');
  await node.waitForLog((l) => l.msg === 'the configuration in the database does not compile: serving the cached last good config until a valid one is stored', 3_000);
  const line = node.logs.find((l) => l.level === 'error' && /nowhere/.test(JSON.stringify(l)) && /routes|apis/.test(JSON.stringify(l)));
  assert.ok(line, 'the compile error is logged with the key path and the bad value');
  const r = await ready(node);
  assert.equal(r.status, 200, 'serving a good config');
  assert.equal(r.body.configFrom, 'cache');
  assert.equal(r.body.database, 'ok');

  // Fixing the row (a new version) is picked up like any change, and the cache is refreshed.
  await editDirectly(9);
  await waitFor('fixed config applied', async () => ((await pingValue(node)) === 9 ? true : undefined), 8_000, 50);
  assert.equal((await ready(node)).body.configFrom, 'database');
});
