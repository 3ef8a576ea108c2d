/**
 * The Admin API's HTTP layer, in process, over the in-memory test double of ConfigStore (which validates
 * with the real parser, schema and compiler): every method and status, key rules, merge patch, API-key
 * generation, the token check, body limits, hostile input and concurrent writes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminTokenError, resolveAdminToken } from '../../src/admin/auth.js';
import { adminApiOptions, createAdminServer } from '../../src/admin/server.js';
import { entityETag } from '../../src/cluster/entities.js';
import { FileConfigStore } from '../../src/cluster/file-store.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseConfigText, validateDocument } from '../../src/config/index.js';
import { CHECK_FILE, MemoryConfigStore } from '../helpers/memory-config-store.js';

const TOKEN = 'test-admin-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_HEADERS = { ...AUTH, 'content-type': 'application/json' };
const silent = pino({ level: 'silent' });
const probes = {
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
  ready: () => ({ ready: true }),
  routes: () => ({ routes: [] }),
  status: () => ({}),
};

interface Admin {
  url: string;
  store: MemoryConfigStore;
  close(): Promise<void>;
}

async function startAdmin(store = new MemoryConfigStore(baseConfig()), token: string | null = TOKEN, logger = silent): Promise<Admin & { server: http.Server }> {
  const server = createAdminServer(probes, logger, { store, token: token ?? undefined });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function baseConfig(): Record<string, unknown> {
  return {
    upstreams: { users: { targets: [{ url: 'http://127.0.0.1:9' }] } },
    apis: [
      {
        name: 'shop',
        routes: [
          { name: 'items', methods: ['GET'], path: '/items/{id}', integration: { type: 'http', upstream: 'users' } },
          { methods: ['GET', 'POST'], path: '/orders/{id}', integration: { type: 'mock', body: 'ok' } },
        ],
      },
    ],
  };
}

async function call(admin: { url: string }, method: string, path: string, body?: unknown, headers: Record<string, string> = JSON_HEADERS) {
  const res = await fetch(admin.url + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: the answers are untyped JSON, walked field by field.
  let json: any;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** What `turnpike validate` says about the same document written as a file. */
function fileDiagnostics(doc: Record<string, unknown>): { path: string; message: string }[] {
  try {
    validateDocument(parseConfigText(JSON.stringify(doc, null, 2), 'gateway.json'));
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.diagnostics.map((d) => ({ path: d.path, message: d.message }));
  }
  assert.fail('expected the file validator to reject the document');
}

describe('token', () => {
  let admin: Admin;
  let off: Admin;
  before(async () => {
    admin = await startAdmin();
    off = await startAdmin(new MemoryConfigStore(baseConfig()), null);
  });
  after(async () => {
    await admin.close();
    await off.close();
  });

  test('missing, wrong (same and different length) and malformed tokens get 401 with WWW-Authenticate: Bearer', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${TOKEN.slice(0, -1)}x` },
      { authorization: 'Bearer short' },
      { authorization: `Bearer ${TOKEN}${TOKEN}` },
      { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
      { authorization: TOKEN },
    ];
    for (const headers of cases) {
      const r = await call(admin, 'GET', '/upstreams', undefined, headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="turnpike-admin"/);
      assert.equal(r.json.requestId, r.headers.get('x-request-id'));
      assert.ok(!r.text.includes(TOKEN), 'the token never appears in an answer');
    }
    // RFC 6750: the scheme is case-insensitive.
    assert.equal((await call(admin, 'GET', '/upstreams', undefined, { authorization: `bearer ${TOKEN}` })).status, 200);
  });

  test('refused tokens and writes are logged (with the request id, never the token); changes are logged with the new version', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const logged = await startAdmin(new MemoryConfigStore(baseConfig()), TOKEN, logger);
    try {
      const wrong = `Bearer ${TOKEN.slice(0, -3)}xyz`;
      const r = await call(logged, 'GET', '/apis', undefined, { authorization: wrong });
      assert.equal(r.status, 401);
      await call(logged, 'POST', '/upstreams', { name: 'bad', targets: [] });
      await call(logged, 'POST', '/upstreams', { name: 'ok', targets: [{ url: 'http://127.0.0.1:1' }] });
      const refused = lines.find((l) => l.msg === 'admin api: request refused');
      assert.equal(refused?.requestId, r.json.requestId);
      assert.equal(refused?.status, 401);
      assert.equal(lines.find((l) => l.msg === 'admin api: change rejected')?.status, 400);
      const changed = lines.find((l) => l.msg === 'admin api: config changed');
      assert.equal(changed?.status, 201);
      assert.equal(changed?.version, await logged.store.version());
      const text = JSON.stringify(lines);
      assert.ok(!text.includes(TOKEN.slice(0, -3)) && !text.includes(TOKEN), 'no token, right or wrong, in the log');
      assert.ok(!text.includes('127.0.0.1:1'), 'no bodies in the log');
    } finally {
      await logged.close();
    }
  });

  test('a token is required before anything else is told: writes and unknown entities answer 401 too', async () => {
    assert.equal((await call(admin, 'DELETE', '/apis/shop', undefined, {})).status, 401);
    assert.equal((await call(admin, 'GET', '/upstreams/nope', undefined, {})).status, 401);
    assert.equal((await call(admin, 'POST', '/config', '{}', { 'content-type': 'application/json' })).status, 401);
  });

  test('no token configured: entity endpoints answer 403 saying how to set one; probes and /openapi.json stay open', async () => {
    const r = await call(off, 'GET', '/apis', undefined, AUTH);
    assert.equal(r.status, 403);
    assert.match(r.json.message, /TURNPIKE_ADMIN_TOKEN/);
    assert.match(r.json.message, /--admin-token-file/);
    assert.equal((await call(off, 'GET', '/health', undefined, {})).status, 200);
    assert.equal((await call(off, 'GET', '/ready', undefined, {})).status, 200);
    const spec = await call(off, 'GET', '/openapi.json', undefined, {});
    assert.equal(spec.status, 200);
    assert.equal(spec.json.openapi, '3.1.0');
  });
});

describe('entities', () => {
  let admin: Admin;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('upstreams: POST 201 + Location, 409 on repeat, GET one and list, PUT 200/201, PATCH merge, DELETE 204 then 404', async () => {
    const created = await call(admin, 'POST', '/upstreams', { name: 'orders', targets: [{ url: 'http://127.0.0.1:10' }] });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/upstreams/orders');
    assert.deepEqual(created.json, { name: 'orders', targets: [{ url: 'http://127.0.0.1:10' }] });
    assert.ok(created.headers.get('x-config-version'));
    // The stored entity is the config document's shape: the name is the map key, not a field.
    assert.deepEqual((await admin.store.get('upstreams', 'orders'))?.body, { targets: [{ url: 'http://127.0.0.1:10' }] });

    const again = await call(admin, 'POST', '/upstreams', { name: 'orders', targets: [{ url: 'http://127.0.0.1:11' }] });
    assert.equal(again.status, 409);
    assert.match(again.json.message, /exists/);

    assert.deepEqual((await call(admin, 'GET', '/upstreams/orders')).json, created.json);
    const list = await call(admin, 'GET', '/upstreams');
    assert.deepEqual(
      list.json.items.map((u: { name: string }) => u.name),
      ['users', 'orders'],
    );
    assert.equal(list.json.version, list.headers.get('x-config-version'));

    const replaced = await call(admin, 'PUT', '/upstreams/orders', { targets: [{ url: 'http://127.0.0.1:12', weight: 2 }], balancer: 'least-connections' });
    assert.equal(replaced.status, 200);
    assert.deepEqual(replaced.json, { name: 'orders', targets: [{ url: 'http://127.0.0.1:12', weight: 2 }], balancer: 'least-connections' });
    assert.equal((await call(admin, 'PUT', '/upstreams/extra', { name: 'extra', targets: [{ url: 'http://127.0.0.1:13' }] })).status, 201);

    // RFC 7396: null removes, objects merge, arrays replace.
    const patched = await call(admin, 'PATCH', '/upstreams/orders', { balancer: null, timeouts: { connectMs: 100 }, targets: [{ url: 'http://127.0.0.1:14' }] }, { ...AUTH, 'content-type': 'application/merge-patch+json' });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.json, { name: 'orders', targets: [{ url: 'http://127.0.0.1:14' }], timeouts: { connectMs: 100 } });
    const patched2 = await call(admin, 'PATCH', '/upstreams/orders', { timeouts: { firstByteMs: 200 } });
    assert.deepEqual(patched2.json.timeouts, { connectMs: 100, firstByteMs: 200 });

    const del = await call(admin, 'DELETE', '/upstreams/orders', undefined, AUTH);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.ok(del.headers.get('x-request-id'));
    assert.equal((await call(admin, 'DELETE', '/upstreams/orders', undefined, AUTH)).status, 404);
    const gone = await call(admin, 'GET', '/upstreams/orders');
    assert.equal(gone.status, 404);
    assert.match(gone.json.message, /no upstream "orders"/);
    assert.equal((await call(admin, 'PATCH', '/upstreams/orders', { balancer: 'p2c' })).status, 404);
  });

  test('a body name that disagrees with the URL is refused; POST without a name is refused', async () => {
    const r = await call(admin, 'PUT', '/upstreams/users', { name: 'other', targets: [{ url: 'http://127.0.0.1:9' }] });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /does not match the URL/);
    assert.equal((await call(admin, 'POST', '/functions', { module: 'x.mjs' })).status, 400);
  });

  test('an invalid entity answers 400 with the same path and message the file validator gives, plus its formatted line', async () => {
    const r = await call(admin, 'POST', '/upstreams', { name: 'bad', targets: [{ url: 'ftp://nope', wieght: 1 }], balancer: 'random' });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /rejected/);
    const doc = baseConfig();
    (doc.upstreams as Record<string, unknown>).bad = { targets: [{ url: 'ftp://nope', wieght: 1 }], balancer: 'random' };
    const expected = fileDiagnostics(doc);
    assert.ok(expected.length >= 3, JSON.stringify(expected));
    assert.deepEqual(
      r.json.errors.map((e: { path: string; message: string }) => ({ path: e.path, message: e.message })).sort((a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path)),
      [...expected].sort((a, b) => a.path.localeCompare(b.path)),
    );
    assert.ok(r.json.errors.some((e: { path: string }) => e.path === 'upstreams.bad.targets[0].url'));
    for (const e of r.json.errors) assert.match(e.text, new RegExp(`^${CHECK_FILE}:\\d+:\\d+ ${e.path.replace(/[[\].]/g, '\\$&')}: `));
    assert.equal((await call(admin, 'GET', '/upstreams/bad')).status, 404, 'nothing was committed');
  });

  test('cross-references are checked as for a file: a route naming a missing upstream, deleting an upstream still in use', async () => {
    const r = await call(admin, 'POST', '/apis/shop/routes', { name: 'ghost', path: '/ghost', integration: { type: 'http', upstream: 'nowhere' } });
    assert.equal(r.status, 400);
    assert.ok(r.json.errors.some((e: { path: string; message: string }) => e.path === 'apis[0].routes[2].integration.upstream' && /nowhere/.test(e.message)), JSON.stringify(r.json));
    const d = await call(admin, 'DELETE', '/upstreams/users', undefined, AUTH);
    assert.equal(d.status, 400);
    assert.ok(d.json.errors.some((e: { message: string }) => /users/.test(e.message)));
    assert.ok(await admin.store.get('upstreams', 'users'));
  });

  test('routes: keyed by name or by "METHODS path", URL-encoded with slashes, spaces and braces', async () => {
    const list = await call(admin, 'GET', '/apis/shop/routes');
    assert.deepEqual(
      list.json.items.map((r: { path: string }) => r.path),
      ['/items/{id}', '/orders/{id}'],
    );
    const unnamed = await call(admin, 'GET', `/apis/shop/routes/${encodeURIComponent('GET,POST /orders/{id}')}`);
    assert.equal(unnamed.status, 200);
    assert.deepEqual(unnamed.json.methods, ['GET', 'POST']);

    const created = await call(admin, 'POST', '/apis/shop/routes', { methods: ['DELETE'], path: '/a b/{x}', integration: { type: 'mock', status: 204 } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers.get('location'), `/apis/shop/routes/${encodeURIComponent('DELETE /a b/{x}')}`);
    assert.equal((await call(admin, 'GET', created.headers.get('location') as string)).json.path, '/a b/{x}');

    const named = await call(admin, 'PUT', `/apis/shop/routes/${encodeURIComponent('by id / v2')}`, { name: 'by id / v2', path: '/v2/{id}', integration: { type: 'mock' } });
    assert.equal(named.status, 201);
    const p = await call(admin, 'PATCH', `/apis/shop/routes/${encodeURIComponent('by id / v2')}`, { path: '/v3/{id}' });
    assert.equal(p.status, 200);
    assert.equal(p.json.path, '/v3/{id}');

    // An unnamed route's key is its methods and path: changing them through the old key is refused.
    const moved = await call(admin, 'PATCH', `/apis/shop/routes/${encodeURIComponent('DELETE /a b/{x}')}`, { path: '/c/{x}' });
    assert.equal(moved.status, 400);
    assert.match(moved.json.message, /METHODS path/);

    assert.equal((await call(admin, 'DELETE', `/apis/shop/routes/${encodeURIComponent('DELETE /a b/{x}')}`, undefined, AUTH)).status, 204);
    assert.equal((await call(admin, 'DELETE', `/apis/shop/routes/${encodeURIComponent('by id / v2')}`, undefined, AUTH)).status, 204);
    assert.equal((await call(admin, 'GET', '/apis/nope/routes')).status, 404);
    assert.equal((await call(admin, 'POST', '/apis/nope/routes', { path: '/x', integration: { type: 'mock' } })).status, 404);
    assert.equal((await call(admin, 'GET', '/apis/shop/routes/nope')).status, 404);
  });

  test('apis: routes are their own entities; deleting an API takes its routes along', async () => {
    const withRoutes = await call(admin, 'POST', '/apis', { name: 'blog', routes: [] });
    assert.equal(withRoutes.status, 400);
    assert.match(withRoutes.json.message, /\/apis\/blog\/routes/);
    assert.equal((await call(admin, 'POST', '/apis', { name: 'blog', basePath: '/blog' })).status, 201);
    assert.equal((await call(admin, 'POST', '/apis/blog/routes', { name: 'posts', path: '/posts', integration: { type: 'mock' } })).status, 201);
    const api = await call(admin, 'GET', '/apis/blog');
    assert.deepEqual(api.json, { name: 'blog', basePath: '/blog' });
    assert.equal((await call(admin, 'DELETE', '/apis/blog', undefined, AUTH)).status, 204);
    assert.deepEqual(await admin.store.list('routes', 'blog'), []);
  });

  test('settings: {} when unset, PUT, PATCH, invalid values with the file validator\'s message, DELETE', async () => {
    const empty = await call(admin, 'GET', '/settings');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.json, {});
    assert.equal((await call(admin, 'PUT', '/settings', { logLevel: 'warn' })).status, 201);
    const p = await call(admin, 'PATCH', '/settings', { limits: { bodyBytes: 1000 } });
    assert.deepEqual(p.json, { logLevel: 'warn', limits: { bodyBytes: 1000 } });
    const bad = await call(admin, 'PATCH', '/settings', { logLevel: 'loud' });
    assert.equal(bad.status, 400);
    const doc = baseConfig();
    doc.server = { logLevel: 'loud', limits: { bodyBytes: 1000 } };
    assert.deepEqual(
      bad.json.errors.map((e: { path: string; message: string }) => ({ path: e.path, message: e.message })),
      fileDiagnostics(doc),
    );
    assert.equal((await call(admin, 'DELETE', '/settings', undefined, AUTH)).status, 204);
  });

  test('global plugins carry their name; the config is the plugin\'s own', async () => {
    const r = await call(admin, 'POST', '/plugins', { name: 'response-headers', set: { 'x-gw': '1' } });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await admin.store.get('plugins', 'response-headers'))?.body, { set: { 'x-gw': '1' } });
    const unknown = await call(admin, 'POST', '/plugins', { name: 'no-such-plugin' });
    assert.equal(unknown.status, 400);
    assert.ok(unknown.json.errors[0].path.startsWith('plugins'));
    assert.equal((await call(admin, 'DELETE', '/plugins/response-headers', undefined, AUTH)).status, 204);
  });

  test('/config: the whole document with its version, as JSON or YAML', async () => {
    const j = await call(admin, 'GET', '/config');
    assert.equal(j.status, 200);
    assert.equal(j.json.version, j.headers.get('x-config-version'));
    assert.equal(j.json.document.apis[0].name, 'shop');
    const y = await call(admin, 'GET', '/config?format=yaml');
    assert.match(y.headers.get('content-type') ?? '', /^application\/yaml/);
    assert.match(y.text, /^ {2}- name: shop$/m);
  });

  test('HEAD answers like GET without a body; x-request-id on every answer, a sane caller id echoed', async () => {
    const h = await fetch(`${admin.url}/upstreams/users`, { method: 'HEAD', headers: AUTH });
    assert.equal(h.status, 200);
    assert.equal(await h.text(), '');
    const echoed = await call(admin, 'GET', '/upstreams', undefined, { ...AUTH, 'x-request-id': 'abc-123' });
    assert.equal(echoed.headers.get('x-request-id'), 'abc-123');
    const replaced = await call(admin, 'GET', '/nope-nope', undefined, { ...AUTH, 'x-request-id': 'bad id\u00e9' });
    assert.equal(replaced.status, 404);
    const junk = await call(admin, 'GET', '/upstreams/nope', undefined, { ...AUTH, 'x-request-id': 'x'.repeat(200) });
    assert.match(junk.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(junk.json.requestId, junk.headers.get('x-request-id'));
  });

  test('405 with Allow for methods a resource does not have; 404 for paths that are no resource', async () => {
    const d = await call(admin, 'DELETE', '/upstreams', undefined, AUTH);
    assert.equal(d.status, 405);
    assert.equal(d.headers.get('allow'), 'GET, HEAD, POST');
    const c = await call(admin, 'PUT', '/config', {});
    assert.equal(c.status, 405);
    assert.equal(c.headers.get('allow'), 'GET, HEAD');
    assert.equal((await call(admin, 'POST', '/upstreams/users', {})).headers.get('allow'), 'GET, HEAD, PUT, PATCH, DELETE');
    assert.equal((await call(admin, 'GET', '/apis/shop/nope')).status, 404);
    assert.equal((await call(admin, 'GET', '/apis/shop/routes/a/b')).status, 404);
    assert.equal((await call(admin, 'GET', '/upstreams/%E0%A4%A')).status, 400);
  });
});

describe('api keys', () => {
  let admin: Admin;
  before(async () => {
    const cfg = baseConfig();
    cfg.usagePlans = { basic: { apiStages: [{ api: 'shop' }] } };
    admin = await startAdmin(new MemoryConfigStore(cfg));
  });
  after(() => admin.close());

  test('POST without a hash generates a key, returns it once, and stores only its SHA-256', async () => {
    const r = await call(admin, 'POST', '/api-keys', { name: 'mobile app', usagePlans: ['basic'] });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.key, /^[A-Za-z0-9]{40}$/);
    assert.match(r.json.id, /^[a-z0-9]{10}$/);
    assert.equal(r.json.hash, `sha256:${createHash('sha256').update(r.json.key).digest('hex')}`);
    assert.equal(r.json.enabled, true);
    assert.ok(!Number.isNaN(Date.parse(r.json.createdAt)));
    assert.equal(r.headers.get('location'), `/api-keys/${r.json.id}`);
    const stored = await admin.store.get('apiKeys', r.json.id);
    assert.ok(stored && !JSON.stringify(stored).includes(r.json.key));
    const one = await call(admin, 'GET', `/api-keys/${r.json.id}`);
    const all = await call(admin, 'GET', '/api-keys');
    const cfg = await call(admin, 'GET', '/config');
    for (const x of [one, all, cfg]) assert.ok(!x.text.includes(r.json.key), 'the key is shown only once');
    assert.equal(one.json.key, undefined);

    // Revoking through a merge patch keeps the hash.
    const revoked = await call(admin, 'PATCH', `/api-keys/${r.json.id}`, { enabled: false });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.json.hash, r.json.hash);
    assert.equal(revoked.json.enabled, false);
  });

  test('a given id and hash are kept; plaintext keys are refused everywhere', async () => {
    const hash = `sha256:${'a'.repeat(64)}`;
    const r = await call(admin, 'POST', '/api-keys', { id: 'partner-1', name: 'partner', hash });
    assert.equal(r.status, 201);
    assert.equal(r.json.key, undefined);
    assert.equal(r.json.hash, hash);
    for (const [method, path] of [
      ['POST', '/api-keys'],
      ['PUT', '/api-keys/partner-1'],
      ['PATCH', '/api-keys/partner-1'],
    ] as const) {
      const x = await call(admin, method, path, { id: 'partner-1', name: 'p', key: 'plaintext-key-value' });
      assert.equal(x.status, 400, `${method} ${path}`);
      assert.match(x.json.message, /plaintext/);
    }
    const noId = await call(admin, 'POST', '/api-keys', { name: 'no id', hash: `sha256:${'b'.repeat(64)}` });
    assert.equal(noId.status, 201);
    assert.match(noId.json.id, /^[a-z0-9]{10}$/);
    assert.equal(noId.json.key, undefined);
    const badHash = await call(admin, 'PUT', '/api-keys/partner-1', { name: 'p', hash: 'md5:abc' });
    assert.equal(badHash.status, 400);
    assert.ok(badHash.json.errors.some((e: { path: string }) => /^apiKeys\[\d+\]\.hash$/.test(e.path)));
  });
});

describe('bodies and hostile input', () => {
  let admin: Admin;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());

  test('malformed JSON, empty and non-object bodies: 400', async () => {
    const bad = await call(admin, 'POST', '/upstreams', '{"name": "x", ');
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /^invalid JSON/);
    assert.equal((await call(admin, 'POST', '/upstreams', '')).status, 400);
    for (const body of ['[]', '"x"', '42', 'null']) {
      const r = await call(admin, 'PUT', '/upstreams/x', body);
      assert.equal(r.status, 400, body);
      assert.match(r.json.message, /JSON object/);
    }
  });

  test('415 for a body that is not declared JSON', async () => {
    for (const type of [undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      const headers: Record<string, string> = { ...AUTH };
      if (type) headers['content-type'] = type;
      const r = await call(admin, 'POST', '/upstreams', { name: 'x', targets: [{ url: 'http://127.0.0.1:1' }] }, headers);
      assert.equal(r.status, 415, String(type));
      assert.match(r.json.message, /application\/json/);
    }
    assert.equal((await call(admin, 'PUT', '/upstreams/x', { targets: [{ url: 'http://127.0.0.1:1' }] }, { ...AUTH, 'content-type': 'Application/JSON; charset=utf-8' })).status, 201);
  });

  test('413 for a body over 1 MiB, declared or streamed, and the connection is closed', async () => {
    const big = JSON.stringify({ name: 'big', targets: [{ url: 'http://127.0.0.1:1' }], pad: 'x'.repeat(1_100_000) });
    const declared = await call(admin, 'POST', '/upstreams', big);
    assert.equal(declared.status, 413);
    assert.match(declared.json.message, /1048576 bytes/);

    // Chunked: no Content-Length, the limit is enforced while reading.
    const streamed = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(`${admin.url}/upstreams`, { method: 'POST', headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
      });
      req.on('error', () => undefined); // the server may close while we still write: expected
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = () => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      req.write('{"pad":"');
      pump();
      setTimeout(() => reject(new Error('no answer')), 5_000).unref();
    });
    assert.equal(streamed.status, 413);
    assert.equal(streamed.connection, 'close');
    assert.equal((await admin.store.get('upstreams', 'big')), undefined);
  });

  test('deep nesting is refused before it reaches the validator', async () => {
    const deep = `{"name":"deep","targets":[{"url":"http://127.0.0.1:1"}],"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const r = await call(admin, 'POST', '/upstreams', deep);
    assert.equal(r.status, 400);
    assert.match(r.json.message, /nests deeper than 64/);
    const mock = await call(admin, 'POST', '/apis/shop/routes', { path: '/deep', integration: { type: 'mock', body: JSON.parse(`${'{"a":'.repeat(70)}1${'}'.repeat(70)}`) } });
    assert.equal(mock.status, 400);
  });

  test('__proto__ keys are refused anywhere in a body, and nothing is polluted', async () => {
    for (const body of [
      '{"name":"__proto__","targets":[{"url":"http://127.0.0.1:1"}]}',
      '{"name":"p","targets":[{"url":"http://127.0.0.1:1"}],"__proto__":{"polluted":true}}',
      '{"name":"p","targets":[{"url":"http://127.0.0.1:1","__proto__":{"polluted":true}}]}',
    ]) {
      const r = await call(admin, 'POST', '/upstreams', body);
      // the first is caught by its key, as `name` is not a body key but becomes the map key
      assert.equal(r.status, 400, body);
    }
    const patch = await call(admin, 'PATCH', '/upstreams/users', '{"__proto__":{"polluted":true}}');
    assert.equal(patch.status, 400);
    const viaUrl = await call(admin, 'PUT', '/upstreams/__proto__', { targets: [{ url: 'http://127.0.0.1:1' }] });
    assert.equal(viaUrl.status, 400);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(await admin.store.get('upstreams', '__proto__'), undefined);
  });

  test('503 with Retry-After while the store is unreachable', async () => {
    admin.store.unavailable = true;
    try {
      for (const [method, path, body] of [
        ['GET', '/upstreams', undefined],
        ['GET', '/config', undefined],
        ['PATCH', '/upstreams/users', { balancer: 'p2c' }],
      ] as const) {
        const r = await call(admin, method, path, body);
        assert.equal(r.status, 503, `${method} ${path}`);
        assert.equal(r.headers.get('retry-after'), '5');
      }
    } finally {
      admin.store.unavailable = false;
    }
  });
});

describe('concurrency', () => {
  let admin: Admin;
  before(async () => {
    admin = await startAdmin();
    admin.store.writeDelayMs = 2;
  });
  after(() => admin.close());

  test('concurrent merge patches of one entity lose no update', async () => {
    const n = 20;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => call(admin, 'PATCH', '/apis/shop/routes/items', { integration: { requestHeaders: { set: { [`x-h${i}`]: String(i) } } } })),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      Array(n).fill(200),
    );
    const route = await admin.store.get('routes', 'items', 'shop');
    assert.ok(route, 'the route is stored');
    const set = (route.body.integration as { requestHeaders: { set: Record<string, string> } }).requestHeaders.set;
    assert.equal(Object.keys(set).length, n);
  });

  test('concurrent creates of one name: exactly one 201, the rest 409', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => call(admin, 'POST', '/upstreams', { name: 'race', targets: [{ url: `http://127.0.0.1:${100 + i}` }] })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array(9).fill(409)]);
  });
});

describe('ETag, If-Match, If-None-Match', () => {
  let admin: Admin;
  before(async () => {
    admin = await startAdmin();
  });
  after(() => admin.close());
  const tagOf = async (path: string) => (await call(admin, 'GET', path, undefined, AUTH)).headers.get('etag') as string;

  test('an entity\'s tag is a hash of its stored row: the same content gives the same tag, any change (key order too) a new one', () => {
    const r = { kind: 'upstreams' as const, parent: '', key: 'u', body: { targets: [{ url: 'http://a' }], balancer: 'p2c' } };
    assert.match(entityETag(r), /^"[A-Za-z0-9_-]{22}"$/);
    assert.equal(entityETag(structuredClone(r)), entityETag(r));
    assert.notEqual(entityETag({ ...r, body: { balancer: 'p2c', targets: [{ url: 'http://a' }] } }), entityETag(r), 'a representation in another key order is another representation');
    assert.notEqual(entityETag({ ...r, key: 'v' }), entityETag(r));
    assert.notEqual(entityETag({ ...r, kind: 'functions' }), entityETag(r));
  });

  test('tags are parsed as lists (commas inside quotes, empty elements, repeated lines); weak tags match If-None-Match only', async () => {
    const tag = await tagOf('/upstreams/users');
    for (const value of [`"a,b", ${tag}`, `,${tag},`, ` ${tag} `]) {
      assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-none-match': value })).status, 304, value);
      assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-match': value })).status, 200, value);
    }
    assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-none-match': '*' })).status, 304);
    assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-match': `W/${tag}` })).status, 412);
    assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-none-match': `W/${tag}` })).status, 304);
    const headers = new Headers({ ...JSON_HEADERS });
    headers.append('if-match', '"x"');
    headers.append('if-match', tag);
    const r = await fetch(`${admin.url}/upstreams/users`, { method: 'PATCH', headers, body: JSON.stringify({ balancer: 'p2c' }) });
    assert.equal(r.status, 200);
    for (const value of ['', ' , ', 'tag', '"unterminated', '"a"b"']) {
      const bad = await call(admin, 'PATCH', '/upstreams/users', { balancer: 'p2c' }, { ...JSON_HEADERS, 'if-match': value });
      assert.equal(bad.status, 400, JSON.stringify(value));
    }
    // A missing entity stays 404 on reads whatever the preconditions say.
    assert.equal((await call(admin, 'GET', '/upstreams/nope', undefined, { ...AUTH, 'if-match': '*' })).status, 404);
  });

  test('settings exist even when unset: they have the tag of {}, If-Match: * holds, If-None-Match: * fails', async () => {
    const unset = await call(admin, 'GET', '/settings', undefined, AUTH);
    assert.deepEqual(unset.json, {});
    const tag = unset.headers.get('etag') as string;
    assert.equal((await call(admin, 'PUT', '/settings', { logLevel: 'warn' }, { ...JSON_HEADERS, 'if-none-match': '*' })).status, 412);
    const patched = await call(admin, 'PATCH', '/settings', { logLevel: 'warn' }, { ...JSON_HEADERS, 'if-match': tag });
    assert.equal(patched.status, 200, patched.text);
    assert.notEqual(patched.headers.get('etag'), tag);
    assert.equal((await call(admin, 'DELETE', '/settings', undefined, { ...AUTH, 'if-match': tag })).status, 412);
    assert.equal((await call(admin, 'DELETE', '/settings', undefined, { ...AUTH, 'if-match': patched.headers.get('etag') as string })).status, 204);
    assert.equal(await tagOf('/settings'), tag);
  });

  test('a PATCH whose entity changes between its read and its write is applied again to the new state, or answers 412 with If-Match', async () => {
    const store = admin.store;
    const realGet = store.get.bind(store);
    // Another writer (another node) changes the route after each of the next `times` reads of it.
    let times = 0;
    let writes = 0;
    store.get = async (kind, key, parent) => {
      const r = await realGet(kind, key, parent);
      if (times > 0 && kind === 'routes' && key === 'items') {
        times--;
        const i = store.records.findIndex((x) => x.kind === 'routes' && x.key === 'items');
        const cur = store.records[i] as (typeof store.records)[number];
        store.records[i] = { ...cur, body: { ...cur.body, hosts: [`w${++writes}.example.com`] } };
      }
      return r;
    };
    try {
      times = 2;
      const merged = await call(admin, 'PATCH', '/apis/shop/routes/items', { maxBodyBytes: 1234 });
      assert.equal(merged.status, 200, merged.text);
      assert.equal(merged.json.maxBodyBytes, 1234);
      assert.deepEqual(merged.json.hosts, ['w2.example.com'], 'the other writer\'s change is kept');
      assert.equal(merged.headers.get('etag'), await tagOf('/apis/shop/routes/items'));

      const tag = await tagOf('/apis/shop/routes/items');
      times = 1;
      const refused = await call(admin, 'PATCH', '/apis/shop/routes/items', { maxBodyBytes: 99 }, { ...JSON_HEADERS, 'if-match': tag });
      assert.equal(refused.status, 412, refused.text);
      const now = await tagOf('/apis/shop/routes/items');
      assert.notEqual(now, tag);
      assert.equal(refused.headers.get('etag'), now);
      assert.equal(refused.json.etag, now);
      assert.match(refused.json.message, /route "items" in API "shop" has changed since it was read/);
      assert.equal((await store.get('routes', 'items', 'shop'))?.body.maxBodyBytes, 1234);

      times = 100;
      const tired = await call(admin, 'PATCH', '/apis/shop/routes/items', { maxBodyBytes: 5 });
      assert.equal(tired.status, 409, tired.text);
      assert.match(tired.json.message, /kept changing/);
    } finally {
      store.get = realGet;
    }
  });

  test('POST answers the created entity\'s tag; a conditional POST is refused', async () => {
    const created = await call(admin, 'POST', '/upstreams', { name: 'tagged', targets: [{ url: 'http://127.0.0.1:1' }] });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('etag'), await tagOf('/upstreams/tagged'));
    const r = await call(admin, 'POST', '/upstreams', { name: 'other', targets: [{ url: 'http://127.0.0.1:1' }] }, { ...JSON_HEADERS, 'if-match': '*' });
    assert.equal(r.status, 400);
    assert.match(r.json.message, /If-None-Match: \*/);
  });
});

describe('read-only (file) store', () => {
  let admin: Admin;
  before(async () => {
    const text = 'upstreams:\n  users:\n    targets: [{ url: "http://127.0.0.1:9" }]\napis:\n  - name: shop\n    routes:\n      - { path: /a, integration: { type: mock } }\n';
    const store = new FileConfigStore(() => ({ file: 'gateway.yaml', text, version: 'abc' }));
    const server = createAdminServer(probes, silent, { store, token: TOKEN });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    admin = {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      store: undefined as unknown as MemoryConfigStore,
      close: () => new Promise((r) => server.close(() => r())),
    };
  });
  after(() => admin.close());

  test('reads work; every write answers 405 with Allow: GET, HEAD and says to edit the file or use --database', async () => {
    const list = await call(admin, 'GET', '/apis/shop/routes');
    assert.equal(list.json.items[0].path, '/a');
    assert.equal(list.json.version, 'abc');
    // Reads carry ETags (304 on If-None-Match); a conditional write is still a write: 405.
    const one = await call(admin, 'GET', '/upstreams/users');
    const tag = one.headers.get('etag') as string;
    assert.equal(tag, entityETag({ kind: 'upstreams', parent: '', key: 'users', body: { targets: [{ url: 'http://127.0.0.1:9' }] } }));
    assert.equal((await call(admin, 'GET', '/upstreams/users', undefined, { ...AUTH, 'if-none-match': tag })).status, 304);
    assert.equal((await call(admin, 'PUT', '/upstreams/users', { targets: [] }, { ...JSON_HEADERS, 'if-match': tag })).status, 405);
    for (const [method, path] of [
      ['POST', '/upstreams'],
      ['PUT', '/upstreams/users'],
      ['PATCH', '/settings'],
      ['DELETE', '/apis/shop'],
      ['POST', '/apis/shop/routes'],
      ['POST', '/api-keys'],
    ] as const) {
      const r = await call(admin, method, path, method === 'DELETE' ? undefined : { name: 'x' });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      assert.match(r.json.message, /edit the file/);
      assert.match(r.json.message, /--database/);
    }
  });
});

describe('token sources and start-up warnings', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    return { logger, lines, warnings: () => lines.filter((l) => l.level === 40).map((l) => String(l.msg)) };
  };

  test('the env token, or the file (which wins, trailing newline trimmed); empty, unreadable or spaced tokens fail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-admin-token-'));
    const file = join(dir, 'token');
    writeFileSync(file, 'from-file-token-0123456789\n');
    assert.equal(resolveAdminToken({ env: { TURNPIKE_ADMIN_TOKEN: 'from-env' } }), 'from-env');
    assert.equal(resolveAdminToken({ env: {} }), undefined);
    assert.equal(resolveAdminToken({ env: { TURNPIKE_ADMIN_TOKEN: '' } }), undefined);
    assert.equal(resolveAdminToken({ file, env: { TURNPIKE_ADMIN_TOKEN: 'from-env' } }), 'from-file-token-0123456789');
    writeFileSync(file, '\n');
    assert.throws(() => resolveAdminToken({ file, env: {} }), (e: unknown) => e instanceof AdminTokenError && /empty/.test(e.message));
    assert.throws(() => resolveAdminToken({ file: join(dir, 'missing'), env: {} }), /ENOENT/);
    assert.throws(() => resolveAdminToken({ env: { TURNPIKE_ADMIN_TOKEN: 'two words' } }), /whitespace/);
  });

  test('warnings: no token with a writable store, a short token, a non-loopback admin address; none for the quiet cases', () => {
    const saved = process.env.TURNPIKE_ADMIN_TOKEN;
    try {
      delete process.env.TURNPIKE_ADMIN_TOKEN;
      let c = capture();
      const writable = new MemoryConfigStore(baseConfig());
      const fileStore = new FileConfigStore(() => ({ file: 'g.yaml', text: 'apis: []\n', version: 'v' }));
      assert.equal(adminApiOptions({ adminHost: '127.0.0.1' }, writable, c.logger).token, undefined);
      assert.equal(c.warnings().length, 1);
      assert.match(c.warnings()[0] as string, /no admin token/);
      c = capture();
      adminApiOptions({ adminHost: '127.0.0.1' }, fileStore, c.logger);
      assert.deepEqual(c.warnings(), [], 'a read-only file store without a token is the quiet default');
      process.env.TURNPIKE_ADMIN_TOKEN = 'short';
      c = capture();
      assert.equal(adminApiOptions({ adminHost: '0.0.0.0' }, fileStore, c.logger).token, 'short');
      assert.equal(c.warnings().length, 2);
      assert.ok(!c.lines.some((l) => Object.values(l).includes('short')), 'the token itself is not logged');
      assert.ok(c.warnings().some((w) => /shorter than 16/.test(w)));
      assert.ok(c.warnings().some((w) => /beyond loopback without TLS/.test(w)));
      process.env.TURNPIKE_ADMIN_TOKEN = TOKEN;
      for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) {
        c = capture();
        adminApiOptions({ adminHost: host }, writable, c.logger);
        assert.deepEqual(c.warnings(), [], host);
      }
    } finally {
      if (saved === undefined) delete process.env.TURNPIKE_ADMIN_TOKEN;
      else process.env.TURNPIKE_ADMIN_TOKEN = saved;
    }
  });
});
