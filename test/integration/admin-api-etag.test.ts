/**
 * Optimistic concurrency on the Admin API, through two real gateway processes on one real PostgreSQL:
 * reads answer a strong ETag that is the same through either node and changes with the entity;
 * If-None-Match answers 304 on reads; PUT, PATCH and DELETE with a stale If-Match answer 412 with the
 * current ETag and change nothing; If-Match: * needs the entity, If-None-Match: * creates only; two
 * nodes (and two requests on one node) racing with the same If-Match give exactly one success and one
 * 412; merge patches racing through both nodes without If-Match lose no update.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeConfigCheck } from '../../src/cluster/check.js';
import { migrate } from '../../src/cluster/migrations.js';
import { PostgresConfigStore } from '../../src/cluster/postgres-store.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { createTestDatabase } from '../helpers/postgres.js';

const TOKEN = 'etag-admin-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const H = { ...AUTH, 'content-type': 'application/json' };
const UPSTREAM = { targets: [{ url: 'http://127.0.0.1:9' }] };
const STRONG = /^"[A-Za-z0-9_-]{22}"$/;

interface Answer {
  status: number;
  etag: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: the answers are untyped JSON, walked field by field.
  json: any;
}

async function call(base: string, path: string, method = 'GET', body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(base + path, { method, headers: { ...(body === undefined ? AUTH : H), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, etag: r.headers.get('etag'), json: text === '' ? undefined : JSON.parse(text) };
}

describe('Admin API ETag / If-Match / If-None-Match on the PostgreSQL store, two nodes', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let a: RunningGateway;
  let b: RunningGateway;
  before(async () => {
    db = await createTestDatabase();
    const store = new PostgresConfigStore(db.url, makeConfigCheck());
    await migrate(store.sql);
    await store.replaceAll({
      upstreams: { users: UPSTREAM },
      apis: [{ name: 'shop', routes: [{ name: 'ping', path: '/ping', integration: { type: 'mock', body: 'pong' } }] }],
    });
    await store.close();
    const start = () => startGateway('', { noFile: true, args: ['--no-config-cache', '--database', db.url], env: { TURNPIKE_ADMIN_TOKEN: TOKEN } });
    [a, b] = await Promise.all([start(), start()]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  test('GET answers a strong ETag, the same through both nodes and on HEAD; If-None-Match answers 304; it changes with the entity', async () => {
    const viaA = await call(a.adminUrl, '/upstreams/users');
    const viaB = await call(b.adminUrl, '/upstreams/users');
    assert.equal(viaA.status, 200);
    assert.match(viaA.etag ?? '', STRONG);
    assert.equal(viaB.etag, viaA.etag);
    const head = await fetch(`${b.adminUrl}/upstreams/users`, { method: 'HEAD', headers: AUTH });
    assert.equal(head.headers.get('etag'), viaA.etag);

    const cached = await fetch(`${a.adminUrl}/upstreams/users`, { headers: { ...AUTH, 'if-none-match': `"other", W/${viaA.etag}` } });
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.get('etag'), viaA.etag);
    assert.equal(await cached.text(), '');
    assert.equal((await call(a.adminUrl, '/upstreams/users', 'GET', undefined, { 'if-none-match': '"other"' })).status, 200);
    // If-Match on a read: 412 when it does not hold.
    const readStale = await call(a.adminUrl, '/upstreams/users', 'GET', undefined, { 'if-match': '"other"' });
    assert.equal(readStale.status, 412);
    assert.equal((readStale.json as { code?: string }).code, 'PRECONDITION_FAILED');
    assert.equal(readStale.etag, viaA.etag);

    // Routes and settings too; unset settings have a tag (GET answers {}).
    const route = await call(a.adminUrl, '/apis/shop/routes/ping');
    assert.match(route.etag ?? '', STRONG);
    assert.equal((await call(b.adminUrl, '/apis/shop/routes/ping')).etag, route.etag);
    const settings = await call(a.adminUrl, '/settings');
    assert.deepEqual(settings.json, {});
    assert.match(settings.etag ?? '', STRONG);

    // Collections: a tag of the answer, the same through both nodes, 304 when unchanged, new after any write.
    const list = await call(a.adminUrl, '/upstreams');
    assert.match(list.etag ?? '', STRONG);
    assert.equal((await call(b.adminUrl, '/upstreams')).etag, list.etag);
    assert.equal((await fetch(`${b.adminUrl}/upstreams`, { headers: { ...AUTH, 'if-none-match': list.etag as string } })).status, 304);
    const cfg = await call(a.adminUrl, '/config');
    assert.equal((await call(b.adminUrl, '/config')).etag, cfg.etag);

    const put = await call(b.adminUrl, '/upstreams/users', 'PUT', { targets: [{ url: 'http://127.0.0.1:10' }] });
    assert.equal(put.status, 200);
    assert.match(put.etag ?? '', STRONG);
    assert.notEqual(put.etag, viaA.etag);
    assert.equal((await call(a.adminUrl, '/upstreams/users')).etag, put.etag);
    assert.notEqual((await call(a.adminUrl, '/upstreams')).etag, list.etag);
    // The same content written again changes nothing, the tag included.
    assert.equal((await call(a.adminUrl, '/upstreams/users', 'PUT', { targets: [{ url: 'http://127.0.0.1:10' }] })).etag, put.etag);
  });

  test('PUT with the current ETag succeeds and answers the new one; PUT, PATCH, DELETE with a stale one answer 412 and change nothing', async () => {
    const v1 = await call(a.adminUrl, '/upstreams/users');
    const ok = await call(a.adminUrl, '/upstreams/users', 'PUT', { targets: [{ url: 'http://127.0.0.1:11' }] }, { 'if-match': v1.etag as string });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.deepEqual(ok.json.targets, [{ url: 'http://127.0.0.1:11' }]);
    assert.match(ok.etag ?? '', STRONG);
    assert.notEqual(ok.etag, v1.etag);
    // A list holding the current tag matches too.
    const listed = await call(b.adminUrl, '/upstreams/users', 'PATCH', { balancer: 'p2c' }, { 'if-match': `"nope", ${ok.etag}` });
    assert.equal(listed.status, 200, JSON.stringify(listed.json));
    const current = await call(a.adminUrl, '/upstreams/users');
    assert.equal(current.etag, listed.etag);

    for (const [method, body] of [
      ['PUT', { targets: [{ url: 'http://127.0.0.1:12' }] }],
      ['PATCH', { balancer: 'least-connections' }],
      ['DELETE', undefined],
    ] as const) {
      for (const node of [a, b]) {
        const stale = await call(node.adminUrl, '/upstreams/users', method, body, { 'if-match': v1.etag as string, 'x-request-id': 'stale-1' });
        assert.equal(stale.status, 412, `${method}: ${JSON.stringify(stale.json)}`);
        assert.equal(stale.etag, current.etag);
        assert.equal(stale.json.etag, current.etag);
        assert.equal(stale.json.requestId, 'stale-1');
        assert.match(stale.json.message, /upstream "users" has changed since it was read/);
        assert.ok(stale.json.message.includes(current.etag as string), stale.json.message);
      }
    }
    // A weak tag never matches If-Match (strong comparison).
    assert.equal((await call(a.adminUrl, '/upstreams/users', 'DELETE', undefined, { 'if-match': `W/${current.etag}` })).status, 412);
    const after = await call(b.adminUrl, '/upstreams/users');
    assert.deepEqual(after.json, current.json);
    assert.equal(after.etag, current.etag);

    // Routes: a stale PATCH is refused; the current tag deletes.
    const route = await call(a.adminUrl, '/apis/shop/routes', 'POST', { name: 'tmp', path: '/tmp', integration: { type: 'mock' } });
    assert.equal(route.status, 201);
    assert.match(route.etag ?? '', STRONG);
    assert.equal((await call(b.adminUrl, '/apis/shop/routes/tmp')).etag, route.etag);
    const patched = await call(b.adminUrl, '/apis/shop/routes/tmp', 'PATCH', { integration: { type: 'mock', body: 'x' } }, { 'if-match': route.etag as string });
    assert.equal(patched.status, 200);
    assert.equal((await call(a.adminUrl, '/apis/shop/routes/tmp', 'PATCH', { integration: { body: 'y' } }, { 'if-match': route.etag as string })).status, 412);
    assert.equal((await call(a.adminUrl, '/apis/shop/routes/tmp', 'DELETE', undefined, { 'if-match': route.etag as string })).status, 412);
    assert.equal((await call(a.adminUrl, '/apis/shop/routes/tmp', 'DELETE', undefined, { 'if-match': patched.etag as string })).status, 204);
    assert.equal((await call(b.adminUrl, '/apis/shop/routes/tmp')).status, 404);
  });

  test('If-Match: * needs the entity; If-None-Match: * creates only', async () => {
    for (const [method, body] of [
      ['PUT', UPSTREAM],
      ['PATCH', { balancer: 'p2c' }],
      ['DELETE', undefined],
    ] as const) {
      const r = await call(a.adminUrl, '/upstreams/ghost', method, body, { 'if-match': '*' });
      assert.equal(r.status, 412, `${method}: ${JSON.stringify(r.json)}`);
      assert.equal(r.etag, null);
      assert.match(r.json.message, /upstream "ghost" does not exist/);
    }
    assert.equal((await call(b.adminUrl, '/upstreams/ghost')).status, 404);

    const created = await call(a.adminUrl, '/upstreams/fresh', 'PUT', UPSTREAM, { 'if-none-match': '*' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.match(created.etag ?? '', STRONG);
    const again = await call(b.adminUrl, '/upstreams/fresh', 'PUT', { targets: [{ url: 'http://127.0.0.1:13' }] }, { 'if-none-match': '*' });
    assert.equal(again.status, 412);
    assert.equal(again.etag, created.etag);
    assert.match(again.json.message, /upstream "fresh" exists already \(If-None-Match: \* creates only\)/);
    assert.deepEqual((await call(a.adminUrl, '/upstreams/fresh')).json.targets, UPSTREAM.targets);
    // If-Match: * replaces what exists.
    assert.equal((await call(b.adminUrl, '/upstreams/fresh', 'PUT', { targets: [{ url: 'http://127.0.0.1:13' }] }, { 'if-match': '*' })).status, 200);
    assert.equal((await call(b.adminUrl, '/upstreams/fresh', 'DELETE', undefined, { 'if-match': '*' })).status, 204);
  });

  test('malformed conditional headers and conditional POSTs are refused with 400; writes without them work as before', async () => {
    for (const value of ['abc', '"a" "b"', 'W/abc', '"a", *']) {
      const r = await call(a.adminUrl, '/upstreams/users', 'PATCH', { balancer: 'p2c' }, { 'if-match': value });
      assert.equal(r.status, 400, `${value}: ${JSON.stringify(r.json)}`);
      assert.match(r.json.message, /If-Match must be "\*" or a comma-separated list of quoted entity tags/);
    }
    const post = await call(a.adminUrl, '/upstreams', 'POST', { name: 'p', ...UPSTREAM }, { 'if-none-match': '*' });
    assert.equal(post.status, 400);
    const plain = await call(a.adminUrl, '/upstreams', 'POST', { name: 'p', ...UPSTREAM });
    assert.equal(plain.status, 201);
    assert.equal((await call(a.adminUrl, '/upstreams/p', 'PATCH', { balancer: 'p2c' })).status, 200);
    assert.equal((await call(b.adminUrl, '/upstreams/p', 'DELETE')).status, 204);
  });

  test('two nodes racing with the same If-Match: exactly one 2xx and one 412, the winner is what is stored', async () => {
    for (let round = 0; round < 6; round++) {
      const base = await call(a.adminUrl, '/upstreams/users');
      const tag = base.etag as string;
      const [ra, rb] = await Promise.all([
        call(a.adminUrl, '/upstreams/users', 'PUT', { targets: [{ url: `http://127.0.0.1:${100 + round}` }] }, { 'if-match': tag }),
        round % 2 === 0
          ? call(b.adminUrl, '/upstreams/users', 'PUT', { targets: [{ url: `http://127.0.0.1:${200 + round}` }] }, { 'if-match': tag })
          : call(b.adminUrl, '/upstreams/users', 'PATCH', { targets: [{ url: `http://127.0.0.1:${200 + round}` }] }, { 'if-match': tag }),
      ]);
      const statuses = [ra.status, rb.status].sort();
      assert.deepEqual(statuses, [200, 412], `round ${round}: ${JSON.stringify([ra.json, rb.json])}`);
      const winner = ra.status === 200 ? ra : rb;
      const loser = ra.status === 200 ? rb : ra;
      assert.equal(loser.etag, winner.etag, 'the 412 names the winner\'s tag');
      const stored = await call(b.adminUrl, '/upstreams/users');
      assert.deepEqual(stored.json.targets, winner.json.targets);
      assert.equal(stored.etag, winner.etag);
    }
  });

  test('two requests on one node racing with the same If-Match (PUT against DELETE): exactly one succeeds', async () => {
    assert.equal((await call(a.adminUrl, '/upstreams/racy', 'PUT', UPSTREAM, { 'if-none-match': '*' })).status, 201);
    const tag = (await call(a.adminUrl, '/upstreams/racy')).etag as string;
    const [put, del] = await Promise.all([
      call(a.adminUrl, '/upstreams/racy', 'PUT', { targets: [{ url: 'http://127.0.0.1:14' }] }, { 'if-match': tag }),
      call(a.adminUrl, '/upstreams/racy', 'DELETE', undefined, { 'if-match': tag }),
    ]);
    const ok = [put.status, del.status].filter((s) => s === 200 || s === 204);
    assert.equal(ok.length, 1, JSON.stringify([put, del]));
    assert.ok([put.status, del.status].includes(412));
    const now = await call(b.adminUrl, '/upstreams/racy');
    if (put.status === 200) assert.equal(now.etag, put.etag);
    else assert.equal(now.status, 404);
  });

  test('merge patches racing through both nodes without If-Match lose no update', async () => {
    for (let round = 0; round < 5; round++) {
      const [pa, pb] = await Promise.all([
        call(a.adminUrl, '/upstreams/users', 'PATCH', { timeouts: { connectMs: 1000 + round } }),
        call(b.adminUrl, '/upstreams/users', 'PATCH', { timeouts: { firstByteMs: 2000 + round } }),
      ]);
      assert.equal(pa.status, 200, JSON.stringify(pa.json));
      assert.equal(pb.status, 200, JSON.stringify(pb.json));
      const stored = await call(a.adminUrl, '/upstreams/users');
      assert.deepEqual(stored.json.timeouts, { connectMs: 1000 + round, firstByteMs: 2000 + round }, `round ${round}`);
    }
  });
});
