/**
 * The admin listener against DNS rebinding, through the real process (issue 11, "Admin listener"): it
 * answers only Host values that are loopback names, the address the client connected to, or names
 * given with --admin-allowed-hosts (421 ADMIN_HOST_NOT_ALLOWED otherwise, the Admin API included), and
 * /routes shows upstream and function names, not target URLs, module paths or the config file's path,
 * unless the request carries the admin token.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const TOKEN = 'admin-host-test-token-0123456789abcdef';
let gw: RunningGateway;
let up: Upstream;

before(async () => {
  up = await startUpstream();
  gw = await startGateway(
    `
server:
  accessLog: false
upstreams:
  backend:
    targets: [{ url: "${up.url}/internal-base" }]
functions:
  echo: { module: "${ROOT}/test/fixtures/gateway-functions/echo.mjs" }
apis:
  - name: t
    routes:
      - { path: "/up", integration: { type: http, upstream: backend } }
      - { methods: [GET], path: "/fn", integration: { type: function, function: echo } }
`,
    { args: ['--admin-allowed-hosts', 'gateway-admin.internal'], env: { TURNPIKE_ADMIN_TOKEN: TOKEN } },
  );
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

/** GET on the admin port with exactly this Host header (fetch will not send a foreign one). */
function adminGet(path: string, host: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gw.adminPort, path, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('probes and /routes answer loopback names, the listener address and allowed names; any other Host gets 421', async () => {
  const port = gw.adminPort;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`, `gateway-admin.internal:${port}`, 'GATEWAY-ADMIN.internal']) {
    for (const path of ['/health', '/ready', '/routes']) {
      assert.equal((await adminGet(path, host)).status, 200, `${path} with Host ${host}`);
    }
  }
  for (const host of [`evil.example:${port}`, 'rebind.attacker.test', `127.0.0.1.evil.example:${port}`, `localhost.evil.example`]) {
    for (const path of ['/health', '/ready', '/routes', '/metrics', '/config']) {
      const r = await adminGet(path, host, { authorization: `Bearer ${TOKEN}` });
      assert.equal(r.status, 421, `${path} with Host ${host}`);
      assert.equal((JSON.parse(r.body) as { code: string }).code, 'ADMIN_HOST_NOT_ALLOWED');
    }
  }
});

test('/routes names upstreams and functions but hides target URLs and paths unless the admin token is sent', async () => {
  const host = `127.0.0.1:${gw.adminPort}`;
  const open = await adminGet('/routes', host);
  assert.equal(open.status, 200);
  const body = JSON.parse(open.body) as { source?: string; routes: { path: string; integration: Record<string, unknown> }[] };
  assert.equal(body.routes.find((r) => r.path === '/up')?.integration.upstream, 'backend');
  assert.equal(body.routes.find((r) => r.path === '/fn')?.integration.function, 'echo');
  assert.doesNotMatch(open.body, /internal-base|127\.0\.0\.1:\d+|gateway-functions|echo\.mjs|gateway\.yaml/);
  assert.equal(body.source, undefined);
  const full = await adminGet('/routes', host, { authorization: `Bearer ${TOKEN}` });
  assert.equal(full.status, 200);
  assert.match(full.body, /internal-base/);
  assert.match(full.body, /"targets"/);
  // A wrong token is the public view, not an error.
  const wrong = await adminGet('/routes', host, { authorization: 'Bearer not-the-token-at-all-000000' });
  assert.doesNotMatch(wrong.body, /internal-base/);
});
