/**
 * The Admin API over the PostgreSQL store, through real processes and a real PostgreSQL: the ConfigStore
 * conformance suite against PostgresConfigStore; two nodes on one database, where a route created through
 * the Admin API of one is served by the other within 1 s, a rejected write answers 400 with the file
 * validator's lines, a merge patch through the other node is served by the first; and 503 + Retry-After
 * while the database is unreachable.
 *
 * The store lives on the PostgreSQL branch (src/cluster/postgres-store.ts, check.ts, migrations.ts,
 * test/helpers/postgres.ts); its modules are loaded at run time, so before that branch is merged this
 * file compiles and its tests are skipped with the reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConfigStore } from '../../src/cluster/entities.js';
import { configStoreConformance } from '../helpers/config-store-conformance.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { request, waitFor } from '../helpers/lifecycle.js';

interface PgStore extends ConfigStore {
  readonly sql: unknown;
  replaceAll(document: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}
interface TestDb {
  url: string;
  urlVia(port: number): string;
  drop(): Promise<void>;
}
interface Pg {
  makeStore(url: string): Promise<PgStore>;
  createTestDatabase(): Promise<TestDb>;
  TcpRelay: new () => { start(): Promise<number>; stop(): Promise<void> };
}

// Non-literal specifiers: resolved at run time only, so this file compiles without the PostgreSQL branch.
const mod = (path: string): Promise<any> => import(path);
async function loadPg(): Promise<Pg | string> {
  try {
    const [store, check, migrations, helpers] = await Promise.all([
      mod(`../../src/cluster/${'postgres-store'}.js`),
      mod(`../../src/cluster/${'check'}.js`),
      mod(`../../src/cluster/${'migrations'}.js`),
      mod(`../helpers/${'postgres'}.js`),
    ]);
    const pg: Pg = {
      makeStore: async (url) => {
        const s = new store.PostgresConfigStore(url, check.makeConfigCheck()) as PgStore;
        await migrations.migrate(s.sql);
        return s;
      },
      createTestDatabase: helpers.createTestDatabase,
      TcpRelay: helpers.TcpRelay,
    };
    // The server must be up (CI and the development machines run it on 127.0.0.1:5432).
    const probe = await pg.createTestDatabase();
    await probe.drop();
    return pg;
  } catch (e) {
    return `PostgreSQL store or server not available: ${(e as Error).message.split('\n')[0]}`;
  }
}

const pg = await loadPg();
const skip = typeof pg === 'string' ? pg : false;
const TOKEN = 'cluster-admin-token-0123456789abcdef';
const H = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

if (typeof pg !== 'string') {
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
}

describe('Admin API on the PostgreSQL store', { skip }, () => {
  let db: TestDb;
  const gateways: RunningGateway[] = [];
  const start = async (url: string) => {
    // noFile is the PostgreSQL branch's option of startGateway (serve without a FILE argument).
    const g = await startGateway('', { noFile: true, args: ['--no-config-cache', '--database', url], env: { TURNPIKE_ADMIN_TOKEN: TOKEN } } as never);
    gateways.push(g);
    return g;
  };
  before(async () => {
    if (typeof pg === 'string') return;
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
    const body = (await bad.json()) as { errors: { path: string; text: string }[] };
    assert.equal(bad.status, 400);
    assert.ok(body.errors.some((e) => e.path === 'upstreams.u.targets[0].url' && /^database:\d+:\d+ upstreams\.u\.targets\[0\]\.url: /.test(e.text)), JSON.stringify(body));

    const patched = await fetch(`${b.adminUrl}${location}`, { method: 'PATCH', headers: H, body: JSON.stringify({ integration: { body: 'patched' } }) });
    assert.equal(patched.status, 200);
    await waitFor('node A serves the patched route', async () => (await request(`${a.url}/new`)).body === 'patched', 2_000, 10);
    assert.equal((await fetch(`${a.adminUrl}/apis/shop/routes`, { headers: H }).then((x) => x.json()) as { items: unknown[] }).items.length, 2);
  });

  test('the database unreachable: the Admin API answers 503 with Retry-After, serving goes on', async () => {
    if (typeof pg === 'string') return;
    const relay = new pg.TcpRelay();
    const port = await relay.start();
    const node = await start(db.urlVia(port));
    assert.equal((await fetch(`${node.adminUrl}/upstreams`, { headers: H })).status, 200);
    await relay.stop();
    try {
      const r = await fetch(`${node.adminUrl}/upstreams`, { method: 'POST', headers: H, body: JSON.stringify({ name: 'u', targets: [{ url: 'http://127.0.0.1:9' }] }) });
      assert.equal(r.status, 503, await r.clone().text());
      assert.equal(r.headers.get('retry-after'), '5');
      assert.equal((await request(`${node.url}/ping`)).status, 200);
    } finally {
      await relay.stop();
    }
  });
});
