import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, deadPort, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: InjectedGateway;

before(async () => {
  up = await startUpstream();
  const dead = await deadPort();
  gw = await injectGateway(`
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
plugins:
  response-headers:
    set: { x-frame-options: DENY }
    remove: [x-internal]
apis:
  - name: shop
    routes:
      - name: proxied
        path: /items/{proxy+}
        integration:
          type: http
          upstream: backend
          responseHeaders: { set: { x-internal: leaked } }
      - name: maintenance
        path: /maintenance
        plugins:
          request-termination: { status: 503, message: "down for maintenance" }
        integration: { type: http, upstream: backend }
      - name: dead
        path: /dead
        integration: { type: http, url: "http://127.0.0.1:${dead}" }
      - name: no-headers
        path: /plain
        plugins:
          response-headers: { enabled: false }
        integration: { type: mock, body: plain }
`);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

test('a response-phase plugin runs on proxied responses and after integration header ops', async () => {
  const res = await gw.fetch(`${gw.url}/items/a/b`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(res.headers.get('x-internal'), null);
});

test('an early answer skips the integration, and response phases still run on it', async () => {
  const before = up.seen.length;
  const res = await gw.fetch(`${gw.url}/maintenance`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), { message: 'down for maintenance' });
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.equal(up.seen.length, before, 'the upstream must not be called');
});

test('response phases run on gateway errors of a matched route too', async () => {
  const res = await gw.fetch(`${gw.url}/dead`);
  assert.equal(res.status, 502);
  assert.equal(((await res.json()) as { code: string }).code, 'UPSTREAM_UNAVAILABLE');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
});

test('enabled: false turns off an inherited plugin for one route', async () => {
  const res = await gw.fetch(`${gw.url}/plain`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'plain');
  assert.equal(res.headers.get('x-frame-options'), null);
});
