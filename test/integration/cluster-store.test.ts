/**
 * The PostgreSQL config store against a real server, in process: migrations (idempotent, and two
 * run at once), the entity rules (route names, an API's routes go with it), checked writes (a
 * rejected change writes nothing and carries the file-style message), no-op writes, writers on two
 * pools serialised, and connection loss surfacing as StoreUnavailableError within the timeout.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeConfigCheck } from '../../src/cluster/check.js';
import { openDatabase } from '../../src/cluster/db.js';
import { EntityConflictError, StoreUnavailableError } from '../../src/cluster/entities.js';
import { LATEST_SCHEMA, migrate } from '../../src/cluster/migrations.js';
import { PostgresConfigStore } from '../../src/cluster/postgres-store.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { runCli } from '../helpers/gateway.js';
import { TcpRelay, type TestDatabase, createTestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
let store: PostgresConfigStore;

const mock = (name: string, path: string) => ({ name, methods: ['GET'], path, integration: { type: 'mock', body: { route: name } } });

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await store?.close();
  await db?.drop();
});

test('migrations: two runs at once apply each migration once; a later run (CLI) finds nothing to do', async () => {
  const a = openDatabase(db.url);
  const b = openDatabase(db.url);
  try {
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    // Exactly one of the two applied the migrations; the other waited on the advisory lock and found them done.
    assert.deepEqual([ra.applied.length, rb.applied.length].sort(), [0, LATEST_SCHEMA]);
    assert.equal(ra.version, LATEST_SCHEMA);
    assert.equal(rb.version, LATEST_SCHEMA);
  } finally {
    await a.end();
    await b.end();
  }
  const rows = await db.sql`select version from turnpike_schema_migrations order by version`;
  assert.deepEqual(
    rows.map((r) => r.version),
    [1],
  );
  const [cli1, cli2] = await Promise.all([runCli(['migrate', '--database', db.url]), runCli(['migrate', '--database', db.url])]);
  for (const r of [cli1, cli2]) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /schema up to date \(version 1\)/);
  }
  store = new PostgresConfigStore(db.url, makeConfigCheck());
});

test('put: a route without a name takes its key; a different name is refused; the route needs its API', async () => {
  await store.put('apis', 'shop', {});
  const r = await store.put('routes', 'ping', { methods: ['GET'], path: '/ping', integration: { type: 'mock' } }, { parent: 'shop' });
  assert.equal(r.created, true);
  assert.equal(r.record.body.name, 'ping');
  await assert.rejects(store.put('routes', 'ping', { ...mock('pong', '/ping') }, { parent: 'shop' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /name "pong" differs from the key "ping"/);
    return true;
  });
  await assert.rejects(store.put('routes', 'x', mock('x', '/x'), { parent: 'nope' }), /unknown API "nope"/);
  await assert.rejects(store.put('apis', 'shop', {}, { createOnly: true }), EntityConflictError);
  const snap = await store.snapshot();
  assert.deepEqual(snap.document, { version: 1, apis: [{ name: 'shop', routes: [{ name: 'ping', methods: ['GET'], path: '/ping', integration: { type: 'mock' } }] }] });
});

test('a rejected write leaves the database unchanged and carries the file-style message', async () => {
  const before = await store.snapshot();
  const bad = { name: 'bad', methods: ['GET'], path: '/bad', integration: { type: 'http', upstream: 'missing' } };
  await assert.rejects(store.put('routes', 'bad', bad, { parent: 'shop' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    // Same message as `turnpike validate` gives for the file, positioned in the rendered document.
    assert.match(e.message, /^database:\d+:\d+ apis\[0\]\.routes\[1\]\.integration\.upstream: unknown upstream "missing"/m);
    return true;
  });
  // A schema error is reported as the file validator reports it (did-you-mean included).
  await assert.rejects(store.put('routes', 'typo', { ...mock('typo', '/typo'), plugns: {} }, { parent: 'shop' }), / database:\d+:\d+ apis\[0\]\.routes\[1\]\.plugns: unknown key "plugns"; did you mean "plugins"\?/);
  const after = await store.snapshot();
  assert.equal(after.version, before.version);
  assert.deepEqual(after.document, before.document);
  assert.equal(await store.get('routes', 'bad', 'shop'), undefined);
});

test('writing what is stored changes nothing: same version, no notification-worthy bump', async () => {
  const v = await store.version();
  const again = await store.put('routes', 'ping', { name: 'ping', methods: ['GET'], path: '/ping', integration: { type: 'mock' } }, { parent: 'shop' });
  assert.equal(again.created, false);
  assert.equal(again.version, v);
  assert.equal(await store.version(), v);
});

test('routes keep their order; deleting an API deletes its routes; deleting a referenced upstream is refused', async () => {
  await store.put('routes', 'b', mock('b', '/b'), { parent: 'shop' });
  await store.put('routes', 'a', mock('a', '/a'), { parent: 'shop' });
  // Replacing a route keeps its place.
  await store.put('routes', 'b', { ...mock('b', '/b2') }, { parent: 'shop' });
  assert.deepEqual(
    (await store.list('routes', 'shop')).map((r) => r.key),
    ['ping', 'b', 'a'],
  );
  await store.put('upstreams', 'backend', { targets: [{ url: 'http://127.0.0.1:1' }] });
  await store.put('apis', 'other', {});
  await store.put('routes', 'proxy', { name: 'proxy', path: '/p', integration: { type: 'http', upstream: 'backend' } }, { parent: 'other' });
  await assert.rejects(store.delete('upstreams', 'backend'), /unknown upstream "backend"/);
  assert.ok(await store.get('upstreams', 'backend'));
  const d = await store.delete('apis', 'other');
  assert.ok(d);
  assert.deepEqual(await store.list('routes', 'other'), []);
  assert.equal(await store.delete('apis', 'other'), undefined);
  // Now nothing uses the upstream.
  assert.ok(await store.delete('upstreams', 'backend'));
});

test('writers on two pools (two nodes) are serialised: every write lands with its own version', async () => {
  const other = new PostgresConfigStore(db.url, makeConfigCheck());
  try {
    const v0 = Number(await store.version());
    const writes = [];
    for (let i = 0; i < 6; i++) {
      const s = i % 2 === 0 ? store : other;
      writes.push(s.put('routes', `c${i}`, mock(`c${i}`, `/c${i}`), { parent: 'shop' }));
    }
    const results = await Promise.all(writes);
    const versions = new Set(results.map((r) => r.version));
    assert.equal(versions.size, 6, 'each write committed separately');
    const keys = (await store.list('routes', 'shop')).map((r) => r.key);
    for (let i = 0; i < 6; i++) assert.ok(keys.includes(`c${i}`));
    assert.ok(Number(await store.version()) > v0);
  } finally {
    await other.close();
  }
});

test('a hand edit in SQL bumps the version and notifies (the trigger), as a store write does', async () => {
  const got: string[] = [];
  const listener = await db.sql.listen('turnpike_config', (v) => got.push(v));
  const v = Number(await store.version());
  await db.sql`update turnpike_entities set body = ${{ name: 'a', methods: ['GET'], path: '/a-edited', integration: { type: 'mock' } } as never} where kind = 'routes' and key = 'a'`;
  const v2 = Number(await store.version());
  assert.ok(v2 > v);
  const deadline = Date.now() + 2_000;
  while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await listener.unlisten();
  assert.deepEqual(got, [String(v2)]);
});

test('database unreachable: reads and writes fail fast with StoreUnavailableError', async () => {
  const relay = new TcpRelay();
  const port = await relay.start();
  const s = new PostgresConfigStore(db.urlVia(port), makeConfigCheck());
  try {
    assert.ok(Number(await s.version()) > 0);
    await relay.stop();
    const t0 = Date.now();
    await assert.rejects(s.version(), StoreUnavailableError);
    await assert.rejects(s.put('apis', 'z', {}), StoreUnavailableError);
    assert.ok(Date.now() - t0 < 5_000, 'no long hang');
    await relay.start();
    assert.ok(Number(await s.version()) > 0, 'recovers once the database is back');
  } finally {
    await s.close();
    await relay.stop();
  }
});
