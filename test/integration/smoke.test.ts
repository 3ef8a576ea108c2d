import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;

before(async () => {
  up = await startUpstream();
  gw = await startGateway(`
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: smoke
    routes:
      - name: users
        methods: [GET]
        path: /users/{id}
        integration: { type: http, upstream: backend, path: "/v1/users/{id}" }
      - name: status
        methods: [GET]
        path: /status
        integration: { type: mock, body: { ok: true } }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

test('proxies a templated path to the upstream and returns its answer', async () => {
  const res = await fetch(`${gw.url}/users/42?x=1`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { url: string; headers: Record<string, string> };
  assert.equal(body.url, '/v1/users/42?x=1');
  assert.equal(body.headers['x-forwarded-for'], '127.0.0.1');
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('mock integration answers without an upstream', async () => {
  const res = await fetch(`${gw.url}/status`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true });
});

test('unknown route is a JSON 404 with the request id; wrong method is 405 with Allow', async () => {
  const res = await fetch(`${gw.url}/nope`);
  assert.equal(res.status, 404);
  const body = (await res.json()) as { message: string; code: string; requestId: string };
  assert.equal(body.message, 'Not Found');
  assert.equal(body.code, 'ROUTE_NOT_FOUND');
  assert.equal(body.requestId, res.headers.get('x-request-id'));
  const res405 = await fetch(`${gw.url}/status`, { method: 'POST', body: 'x' });
  assert.equal(res405.status, 405);
  assert.equal(res405.headers.get('allow'), 'GET');
  assert.equal(((await res405.json()) as { code: string }).code, 'METHOD_NOT_ALLOWED');
});
