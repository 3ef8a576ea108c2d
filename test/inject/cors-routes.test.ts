// In-process tier (test/helpers/inject.ts): CORS on native and AWS routes through inject(); the CLI's
// report of a rejected cors config stays in test/integration/cors-routes.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let native: InjectedGateway;
let aws: InjectedGateway;

before(async () => {
  up = await startUpstream();
  native = await injectGateway(`
apis:
  - name: shop
    plugins:
      cors: { allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST], allowHeaders: [content-type], maxAge: 600 }
    routes:
      - { name: items, methods: [GET, POST], path: "/items/{id}", integration: { type: http, url: "${up.url}" } }
`);
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-cors-'));
  writeFileSync(
    join(dir, 'openapi.yaml'),
    `openapi: 3.0.1
info: { title: corsy, version: '1' }
x-amazon-apigateway-cors:
  allowOrigins: ["https://web.example.com"]
  allowMethods: [GET]
  allowHeaders: [x-token]
  exposeHeaders: [x-total]
paths:
  /things:
    get:
      x-amazon-apigateway-integration: { type: http_proxy, httpMethod: GET, uri: "${up.url}/things", payloadFormatVersion: '1.0' }
`,
  );
  aws = await injectGateway(readFileSync(join(dir, 'openapi.yaml'), 'utf8'), { dir, fileName: 'openapi.yaml' });
});
after(async () => {
  await Promise.all([native?.close(), aws?.close()]);
  await up?.close();
});

test('a CORS route that lists only GET/POST still answers the browser preflight', async () => {
  const before = up.seen.length;
  const res = await native.fetch(`${native.url}/items/7`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
  assert.equal(res.headers.get('access-control-max-age'), '600');
  assert.equal(up.seen.length, before, 'the preflight never reaches the upstream');
});

test('a plain OPTIONS on that path is 405 with Allow; actual requests carry the CORS headers', async () => {
  const plain = await native.fetch(`${native.url}/items/7`, { method: 'OPTIONS' });
  assert.equal(plain.status, 405);
  assert.equal(plain.headers.get('allow'), 'GET, OPTIONS, POST');
  const actual = await native.fetch(`${native.url}/items/7`, { headers: { origin: 'https://app.example.com' } });
  assert.equal(actual.status, 200);
  assert.equal(actual.headers.get('access-control-allow-origin'), 'https://app.example.com');
});

test('an HTTP API document with x-amazon-apigateway-cors answers preflights and decorates answers', async () => {
  const pre = await aws.fetch(`${aws.url}/things`, { method: 'OPTIONS', headers: { origin: 'https://web.example.com', 'access-control-request-method': 'GET' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://web.example.com');
  const res = await aws.fetch(`${aws.url}/things`, { headers: { origin: 'https://web.example.com' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://web.example.com');
  assert.equal(res.headers.get('access-control-expose-headers'), 'x-total');
  const denied = await aws.fetch(`${aws.url}/things`, { headers: { origin: 'https://evil.example.com' } });
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
});

