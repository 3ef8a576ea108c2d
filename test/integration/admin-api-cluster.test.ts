/**
 * The Admin API over the PostgreSQL store, through real processes and a real PostgreSQL: the ConfigStore
 * conformance suite against PostgresConfigStore; two nodes on one database, where a route created through
 * the Admin API of one is served by the other within 1 s, a rejected write answers 400 with the file
 * validator's lines, a merge patch through the other node is served by the first; and 503 + Retry-After
 * while the database is unreachable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeConfigCheck } from '../../src/cluster/check.js';
import { migrate } from '../../src/cluster/migrations.js';
import { PostgresConfigStore } from '../../src/cluster/postgres-store.js';
import { configStoreConformance } from '../helpers/config-store-conformance.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { TcpRelay, createTestDatabase } from '../helpers/postgres.js';
import { request, waitFor } from '../helpers/lifecycle.js';

const pg = {
  makeStore: async (url: string) => {
    const s = new PostgresConfigStore(url, makeConfigCheck());
    await migrate(s.sql);
    return s;
  },
  createTestDatabase,
  TcpRelay,
};
type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;

const TOKEN = 'cluster-admin-token-0123456789abcdef';
const H = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

configStoreConformance('postgres', async (initial) => {
  const db = await pg.createTestDatabase();
  const store = await pg.makeStore(db.url);
  await store.replaceAll(initial);
  return {
    store,
    close: async () => {
      await store.close();
      await db.drop();
    },
  };
});

describe('Admin API on the PostgreSQL store', () => {
  let db: TestDb;
  const gateways: RunningGateway[] = [];
  const start = async (url: string) => {
    const g = await startGateway('', { noFile: true, args: ['--no-config-cache', '--database', url], env: { TURNPIKE_ADMIN_TOKEN: TOKEN } });
    gateways.push(g);
    return g;
  };
  before(async () => {
    db = await pg.createTestDatabase();
    const store = await pg.makeStore(db.url);
    await store.replaceAll({ apis: [{ name: 'shop', routes: [{ name: 'ping', path: '/ping', integration: { type: 'mock', body: 'pong' } }] }] });
    await store.close();
  });
  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await db?.drop();
  });

  test('two nodes: a route created through the Admin API of one is served by the other within 1 s; writes are validated as a file', async () => {
    const a = await start(db.url);
    const b = await start(db.url);
    const t0 = Date.now();
    const r = await fetch(`${a.adminUrl}/apis/shop/routes`, { method: 'POST', headers: H, body: JSON.stringify({ methods: ['GET'], path: '/new', integration: { type: 'mock', body: 'fresh' } }) });
    assert.equal(r.status, 201, await r.clone().text());
    const location = r.headers.get('location') as string;
    assert.equal(location, `/apis/shop/routes/${encodeURIComponent('GET /new')}`);
    await waitFor('node B serves the new route', async () => (await request(`${b.url}/new`)).status === 200, 2_000, 10);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed < 1_000, `took ${elapsed} ms`);

    const bad = await fetch(`${b.adminUrl}/upstreams`, { method: 'POST', headers: H, body: JSON.stringify({ name: 'u', targets: [{ url: 'ftp://x' }] }) });
    const body = (await bad.json()) as { code: string; errors: { path: string; text: string }[] };
    assert.equal(body.code, 'CONFIG_REJECTED');
    assert.equal(bad.status, 400);
    assert.ok(body.errors.some((e) => e.path === 'upstreams.u.targets[0].url' && /^database:\d+:\d+ upstreams\.u\.targets\[0\]\.url: /.test(e.text)), JSON.stringify(body));

    const patched = await fetch(`${b.adminUrl}${location}`, { method: 'PATCH', headers: H, body: JSON.stringify({ integration: { body: 'patched' } }) });
    assert.equal(patched.status, 200);
    await waitFor('node A serves the patched route', async () => (await request(`${a.url}/new`)).body === 'patched', 2_000, 10);
    assert.equal((await fetch(`${a.adminUrl}/apis/shop/routes`, { headers: H }).then((x) => x.json()) as { items: unknown[] }).items.length, 2);
  });

  test('the database unreachable: the Admin API answers 503 with Retry-After, serving goes on', async () => {
    const relay = new pg.TcpRelay();
    const port = await relay.start();
    const node = await start(db.urlVia(port));
    assert.equal((await fetch(`${node.adminUrl}/upstreams`, { headers: H })).status, 200);
    await relay.stop();
    try {
      const r = await fetch(`${node.adminUrl}/upstreams`, { method: 'POST', headers: H, body: JSON.stringify({ name: 'u', targets: [{ url: 'http://127.0.0.1:9' }] }) });
      assert.equal(r.status, 503, await r.clone().text());
      assert.equal(((await r.json()) as { code: string }).code, 'STORE_UNAVAILABLE');
      assert.equal(r.headers.get('retry-after'), '5');
      assert.equal((await request(`${node.url}/ping`)).status, 200);
    } finally {
      await relay.stop();
    }
  });
});
