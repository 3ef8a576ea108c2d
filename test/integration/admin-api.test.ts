/**
 * The Admin API through the real process in the embedded (file) mode: entity reads reflect the file as
 * written, a hot reload is visible through the API at once, writes answer 405 saying to edit the file,
 * the token is required (env or --admin-token-file, single process and cluster primary), /openapi.json
 * is served without it, and the token never reaches the log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import http from 'node:http';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { waitFor } from '../helpers/lifecycle.js';

const TOKEN = 'integration-admin-token-5f0c2a9e';

const config = (extraRoute = '') => `
upstreams:
  users:
    targets: [{ url: "http://127.0.0.1:9" }]
apis:
  - name: shop
    routes:
      - name: hello
        methods: [GET]
        path: /hello
        integration: { type: mock, body: "\${GREETING}" }
      - methods: [GET, POST]
        path: /users/{id}
        integration: { type: http, upstream: users }
${extraRoute}`;

let gw: RunningGateway;
before(async () => {
  gw = await startGateway(config(), { env: { TURNPIKE_ADMIN_TOKEN: TOKEN, GREETING: 'hello-from-env' } });
});
after(async () => {
  await gw?.stop();
});

const auth = { authorization: `Bearer ${TOKEN}` };
async function get(base: string, path: string, headers: Record<string, string> = auth) {
  const r = await fetch(base + path, { headers });
  // biome-ignore lint/suspicious/noExplicitAny: the answers are untyped JSON, walked field by field.
  return { status: r.status, headers: r.headers, json: (await r.json()) as any };
}

test('entity reads reflect the file as written; the version is the served one', async () => {
  const apis = await get(gw.adminUrl, '/apis');
  assert.equal(apis.status, 200);
  assert.deepEqual(apis.json.items, [{ name: 'shop' }]);
  const ready = await get(gw.adminUrl, '/ready', {});
  assert.equal(apis.json.version, ready.json.version);
  const routes = await get(gw.adminUrl, '/apis/shop/routes');
  assert.deepEqual(
    routes.json.items.map((r: { path: string }) => r.path),
    ['/hello', '/users/{id}'],
  );
  // The gateway serves the interpolated value; the API shows the placeholder, not the environment's secret.
  assert.equal(await (await fetch(`${gw.url}/hello`)).text(), 'hello-from-env');
  const hello = await get(gw.adminUrl, '/apis/shop/routes/hello');
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${GREETING} is the config interpolation syntax, kept as written.
  assert.equal(hello.json.integration.body, '${GREETING}');
  const unnamed = await get(gw.adminUrl, `/apis/shop/routes/${encodeURIComponent('GET,POST /users/{id}')}`);
  assert.equal(unnamed.status, 200);
  assert.deepEqual((await get(gw.adminUrl, '/upstreams/users')).json, { name: 'users', targets: [{ url: 'http://127.0.0.1:9' }] });
  const cfg = await get(gw.adminUrl, '/config');
  assert.ok(!JSON.stringify(cfg.json).includes('hello-from-env'));
});

test('writes answer 405 with Allow: GET, HEAD and say to edit the file or use --database', async () => {
  for (const [method, path] of [
    ['POST', '/upstreams'],
    ['PUT', '/apis/shop'],
    ['PATCH', '/apis/shop/routes/hello'],
    ['DELETE', '/upstreams/users'],
  ] as const) {
    const r = await fetch(gw.adminUrl + path, { method, headers: { ...auth, 'content-type': 'application/json' }, ...(method === 'DELETE' ? {} : { body: '{"name":"x"}' }) });
    const body = (await r.json()) as { message: string; code: string; requestId: string };
    assert.equal(r.status, 405, `${method} ${path}`);
    assert.equal(body.code, 'CONFIG_READ_ONLY');
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    assert.match(body.message, /edit the file/);
    assert.match(body.message, /--database/);
    assert.equal(body.requestId, r.headers.get('x-request-id'));
  }
  assert.equal((await get(gw.adminUrl, '/upstreams/users')).status, 200, 'nothing changed');
});

test('the token is required (401 + WWW-Authenticate); probes and /openapi.json are open', async () => {
  const none = await get(gw.adminUrl, '/apis', {});
  assert.equal(none.status, 401);
  assert.equal(none.json.code, 'UNAUTHORIZED', 'the gateway\'s error vocabulary (src/errors/catalogue.ts)');
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  assert.equal((await get(gw.adminUrl, '/apis', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await get(gw.adminUrl, '/health', {})).status, 200);
  const spec = await get(gw.adminUrl, '/openapi.json', {});
  assert.equal(spec.status, 200);
  assert.equal(spec.json.openapi, '3.1.0');
  assert.ok(spec.json.paths['/apis/{name}/routes/{route}']);
  const notFound = await get(gw.adminUrl, '/nope', {});
  assert.equal(notFound.status, 404);
  assert.equal(notFound.json.code, 'RESOURCE_NOT_FOUND');
  assert.ok(notFound.json.endpoints.includes('/openapi.json'));
});

/** One request from a chosen loopback source address (Linux routes all of 127.0.0.0/8 to lo). */
function getFrom(localAddress: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(gw.adminUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, localAddress, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('10 wrong tokens from one address lock it out (429 + Retry-After, even with the right token); other addresses and the probes are unaffected', async () => {
  const guesser = '127.0.0.2';
  for (let i = 0; i < 10; i++) {
    const r = await getFrom(guesser, '/apis', { authorization: `Bearer guess-${i}` });
    assert.equal(r.status, 401, `guess ${i}`);
  }
  const locked = await getFrom(guesser, '/apis', auth);
  assert.equal(locked.status, 429, 'the right token gets no answer while locked out');
  const retry = Number(locked.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 60, `retry-after ${locked.headers['retry-after']}`);
  const body = JSON.parse(locked.body) as { message: string; code: string; requestId: string };
  assert.match(body.message, /too many invalid admin tokens/);
  assert.equal(body.code, 'THROTTLED');
  assert.equal(body.requestId, locked.headers['x-request-id']);
  // A missing token is not a guess and is not what locked the address: still 429 while locked, though.
  assert.equal((await getFrom(guesser, '/apis', {})).status, 429);
  assert.equal((await getFrom(guesser, '/health', {})).status, 200);
  assert.equal((await getFrom(guesser, '/openapi.json', {})).status, 200);
  assert.equal((await getFrom('127.0.0.1', '/apis', auth)).status, 200, 'another address keeps working');
  const warn = await gw.waitForLog((l) => l.msg === 'admin api: too many invalid tokens; refusing this address until its window ends');
  assert.equal(warn.clientIp, guesser);
  assert.ok(!JSON.stringify(gw.logs).includes('guess-'), 'presented tokens are never logged');
});

test('a hot reload of the file is visible through the API at once', async () => {
  const before = await get(gw.adminUrl, '/config');
  gw.writeConfig(config('      - name: added\n        path: /added\n        integration: { type: mock, body: new }\n'));
  await gw.waitForLog((l) => l.msg === 'config reloaded');
  const routes = await get(gw.adminUrl, '/apis/shop/routes');
  assert.deepEqual(
    routes.json.items.map((r: { name?: string }) => r.name),
    ['hello', undefined, 'added'],
  );
  assert.notEqual(routes.json.version, before.json.version);
  assert.equal(routes.json.version, (await get(gw.adminUrl, '/ready', {})).json.version);
  assert.equal((await get(gw.adminUrl, '/apis/shop/routes/added')).json.integration.body, 'new');
});

test('the token never appears in the log', () => {
  assert.ok(!JSON.stringify(gw.logs).includes(TOKEN));
  assert.ok(!gw.stderr().includes(TOKEN));
});

test('cluster primary: --admin-token-file works and the API follows reloads', async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'turnpike-token-')), 'admin-token');
  writeFileSync(tokenFile, `${TOKEN}-file\n`, { mode: 0o600 });
  const g = await startGateway(config(), { workers: 2, args: ['--admin-token-file', tokenFile], env: { GREETING: 'x', TURNPIKE_ADMIN_TOKEN: '' } });
  try {
    const h = { authorization: `Bearer ${TOKEN}-file` };
    assert.equal((await get(g.adminUrl, '/apis', h)).status, 200);
    assert.equal((await get(g.adminUrl, '/apis', auth)).status, 401);
    g.writeConfig(config().replace('http://127.0.0.1:9', 'http://127.0.0.1:10'));
    await waitFor('the reloaded upstream through the API', async () => (await get(g.adminUrl, '/upstreams/users', h)).json.targets?.[0]?.url === 'http://127.0.0.1:10', 10_000);
  } finally {
    await g.stop();
  }
});

test('no token configured: entity endpoints answer 403 saying how to set one', async () => {
  const g = await startGateway(config(), { env: { GREETING: 'x', TURNPIKE_ADMIN_TOKEN: '' } });
  try {
    const r = await get(g.adminUrl, '/apis', auth);
    assert.equal(r.status, 403);
    assert.match(r.json.message, /TURNPIKE_ADMIN_TOKEN/);
  } finally {
    await g.stop();
  }
});

test('an unreadable --admin-token-file fails the start with exit 1 and says why', async () => {
  const g = await startGateway(config(), { args: ['--admin-token-file', '/nonexistent/turnpike-token'], env: { GREETING: 'x' }, expectExit: true });
  assert.equal(g.proc.exitCode, 1);
  assert.match(g.stderr(), /admin-token-file \/nonexistent\/turnpike-token: ENOENT/);
});
