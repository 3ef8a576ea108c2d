/** The mock integration through the real process: status, headers, string/JSON/empty bodies, HEAD. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawExchange, within } from '../helpers/proxy.js';

let gw: RunningGateway;

before(async () => {
  gw = await startGateway(`
server: { accessLog: false }
apis:
  - name: mock
    routes:
      - name: csv
        methods: [GET, HEAD]
        path: /csv
        integration:
          type: mock
          status: 201
          headers: { X-Mock: "yes", Content-Type: text/csv, Content-Length: "999" }
          body: "a,b\\n1,2\\n"
      - name: text
        path: /text
        integration: { type: mock, body: "héllo" }
      - name: json
        methods: [GET, HEAD]
        path: /json
        integration: { type: mock, status: 202, body: { ok: true, list: [1, 2], nested: { s: "x" } } }
      - name: empty
        path: /empty
        integration: { type: mock, status: 204 }
      - name: empty-with-body
        path: /empty-with-body
        integration: { type: mock, status: 204, body: "ignored" }
      - name: not-modified
        path: /not-modified
        integration: { type: mock, status: 304, headers: { etag: '"v1"' }, body: { ignored: true } }
      - name: no-body
        path: /no-body
        integration: { type: mock, status: 200, headers: { x-a: b } }
      - name: teapot
        path: /teapot
        integration: { type: mock, status: 418, body: "short and stout" }
`);
});
after(async () => {
  await gw?.stop();
});

test('status, headers and a string body; a configured content-length is ignored', async () => {
  const res = await within(fetch(`${gw.url}/csv`), 5_000, 'csv');
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('x-mock'), 'yes');
  assert.equal(res.headers.get('content-type'), 'text/csv');
  assert.equal(res.headers.get('content-length'), '8');
  assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  assert.equal(await res.text(), 'a,b\n1,2\n');
});

test('a string body without content-type is text/plain utf-8 with its byte length', async () => {
  const res = await within(fetch(`${gw.url}/text`), 5_000, 'text');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.equal(res.headers.get('content-length'), String(Buffer.byteLength('héllo')));
  assert.equal(await res.text(), 'héllo');
  const teapot = await within(fetch(`${gw.url}/teapot`), 5_000, 'teapot');
  assert.equal(teapot.status, 418);
  assert.equal(await teapot.text(), 'short and stout');
});

test('a JSON body is serialised with application/json', async () => {
  const res = await within(fetch(`${gw.url}/json`), 5_000, 'json');
  assert.equal(res.status, 202);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { ok: true, list: [1, 2], nested: { s: 'x' } });
});

test('no body: 204 without content-length, 200 with content-length 0', async () => {
  const r204 = await rawExchange(gw.port, 'GET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r204.status, 204);
  assert.equal(r204.headers['content-length'], undefined);
  assert.equal(r204.body.length, 0);
  // 204/304 never carry content, even when the config gives a body.
  for (const [path, status] of [
    ['/empty-with-body', 204],
    ['/not-modified', 304],
  ] as const) {
    const r = await rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, status);
    assert.equal(r.headers['content-length'], undefined, `${path} content-length`);
    assert.equal(r.headers['content-type'], undefined, `${path} content-type`);
    assert.ok(r.raw.toString('latin1').endsWith('\r\n\r\n'), `${path} sent body bytes`);
  }
  assert.deepEqual((await rawExchange(gw.port, 'GET /not-modified HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).headers.etag, ['"v1"']);
  const r200 = await rawExchange(gw.port, 'GET /no-body HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(r200.status, 200);
  assert.deepEqual(r200.headers['content-length'], ['0']);
  assert.deepEqual(r200.headers['x-a'], ['b']);
});

test('HEAD answers the GET headers (content-length included) without a body', async () => {
  for (const [path, len] of [
    ['/csv', '8'],
    ['/json', String(JSON.stringify({ ok: true, list: [1, 2], nested: { s: 'x' } }).length)],
  ] as const) {
    const r = await rawExchange(gw.port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.ok(r.status === 201 || r.status === 202, `${path}: ${r.status}`);
    assert.deepEqual(r.headers['content-length'], [len]);
    const head = r.raw.toString('latin1');
    assert.ok(head.endsWith('\r\n\r\n'), `HEAD ${path} sent body bytes: ${JSON.stringify(head.slice(head.indexOf('\r\n\r\n')))}`);
  }
  // The same through fetch.
  const res = await within(fetch(`${gw.url}/csv`, { method: 'HEAD' }), 5_000, 'head');
  assert.equal(res.status, 201);
  assert.equal(await res.text(), '');
});
