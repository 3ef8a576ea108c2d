/**
 * What the upstream is asked for: path templates, stripPrefix, regex rewrites, API basePath, target
 * base paths, header and query operations; and percent-encoding forwarded exactly as received.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawExchange, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;

before(async () => {
  up = await startUpstream((req, res, body) => {
    const text = JSON.stringify({ url: req.url, headers: req.headers, body: body.toString() });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-up-remove': 'secret',
      'x-up-set': 'from-upstream',
      'x-up-add': 'from-upstream',
    });
    res.end(text);
  });
  gw = await startGateway(`
server: { accessLog: false }
apis:
  - name: rw
    routes:
      - name: users
        path: /users/{id}
        integration: { type: http, url: "${up.url}", path: "/v1/users/{id}" }
      - name: orders
        path: /users/{id}/orders/{order}
        integration: { type: http, url: "${up.url}", path: "/orders/{order}/of/{id}" }
      - name: files
        path: /files/{proxy+}
        integration: { type: http, url: "${up.url}", path: "/store/{proxy+}" }
      - name: strip
        path: /strip/{proxy+}
        integration: { type: http, url: "${up.url}", rewrite: { stripPrefix: /strip } }
      - name: regex
        path: /re/{proxy+}
        integration: { type: http, url: "${up.url}", rewrite: { regex: { pattern: "^/re/([a-z]+)/([0-9]+)$", replacement: "/swapped/$2/$1" } } }
      - name: based
        path: /based/{proxy+}
        integration: { type: http, url: "${up.url}/base/" }
      - name: based-template
        path: /bt/{id}
        integration: { type: http, url: "${up.url}/base", path: "/item/{id}" }
      - name: headers
        path: /hdr
        integration:
          type: http
          url: "${up.url}"
          requestHeaders:
            add: { X-Add: gateway }
            set: { X-Set: gateway }
            remove: [X-Remove]
          responseHeaders:
            add: { X-Up-Add: gateway }
            set: { X-Up-Set: gateway }
            remove: [X-Up-Remove]
      - name: query
        path: /q
        integration:
          type: http
          url: "${up.url}"
          query:
            add: { added: "a b&c" }
            set: { s: new }
            remove: [r, "del me"]
      - name: raw
        path: /raw/{proxy+}
        integration: { type: http, url: "${up.url}" }
  - name: svc
    basePath: /svc
    routes:
      - name: things
        path: /things/{id}
        integration: { type: http, url: "${up.url}" }
      - name: stripped
        path: /stripped/{id}
        integration: { type: http, url: "${up.url}", rewrite: { stripPrefix: /svc } }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

interface Echo {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** Raw request line (fetch would normalise the target), returns what the upstream saw. */
async function upstreamSaw(target: string, extraHeaders: string[] = []): Promise<{ echo: Echo; headers: Record<string, string[]> }> {
  const r = await rawExchange(gw.port, `GET ${target} HTTP/1.1\r\nHost: gw.example\r\n${extraHeaders.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`);
  assert.equal(r.status, 200, `${target}: ${r.raw.toString('latin1').slice(0, 400)}`);
  return { echo: JSON.parse(r.body.toString()) as Echo, headers: r.headers };
}

test('path templates fill {params} and {proxy+}', async () => {
  assert.equal((await upstreamSaw('/users/42')).echo.url, '/v1/users/42');
  assert.equal((await upstreamSaw('/users/42/orders/7?x=1')).echo.url, '/orders/7/of/42?x=1');
  assert.equal((await upstreamSaw('/files/a/b/c.txt')).echo.url, '/store/a/b/c.txt');
});

test('rewrite.stripPrefix and rewrite.regex', async () => {
  assert.equal((await upstreamSaw('/strip/x/y?q=1')).echo.url, '/x/y?q=1');
  assert.equal((await upstreamSaw('/re/abc/123')).echo.url, '/swapped/123/abc');
  // no match: the path goes through unchanged
  assert.equal((await upstreamSaw('/re/ABC/123')).echo.url, '/re/ABC/123');
});

test('API basePath is part of the forwarded path unless stripped', async () => {
  assert.equal((await upstreamSaw('/svc/things/7')).echo.url, '/svc/things/7');
  assert.equal((await upstreamSaw('/svc/stripped/7')).echo.url, '/stripped/7');
  const outside = await rawExchange(gw.port, 'GET /things/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.equal(outside.status, 404);
});

test('a target URL with a base path prefixes the forwarded path', async () => {
  assert.equal((await upstreamSaw('/based/x/y?k=v')).echo.url, '/base/based/x/y?k=v');
  assert.equal((await upstreamSaw('/bt/9')).echo.url, '/base/item/9');
});

test('requestHeaders and responseHeaders add, set and remove', async () => {
  const { echo, headers } = await upstreamSaw('/hdr', ['X-Add: client', 'X-Set: client', 'X-Remove: client', 'X-Other: client']);
  assert.equal(echo.headers['x-add'], 'client, gateway');
  assert.equal(echo.headers['x-set'], 'gateway');
  assert.equal(echo.headers['x-remove'], undefined);
  assert.equal(echo.headers['x-other'], 'client');
  assert.equal(headers['x-up-remove'], undefined);
  assert.deepEqual(headers['x-up-set'], ['gateway']);
  assert.deepEqual(headers['x-up-add'], ['from-upstream', 'gateway']);
});

test('query add, set and remove; untouched parameters keep their exact bytes', async () => {
  const { echo } = await upstreamSaw('/q?r=1&s=old&keep=%2Fx%20y&flag&del+me=1&r=2&plus=a+b&s=older');
  const q = echo.url.slice('/q?'.length).split('&');
  assert.ok(echo.url.startsWith('/q?'), echo.url);
  assert.deepEqual(q, ['s=new', 'keep=%2Fx%20y', 'flag', 'plus=a+b', 'added=a%20b%26c']);
  // No incoming query at all: set and add still apply.
  assert.equal((await upstreamSaw('/q')).echo.url, '/q?s=new&added=a%20b%26c');
});

test('percent-encoded params and queries are forwarded exactly as received', async () => {
  assert.equal((await upstreamSaw('/users/a%20b%3Fc%25d%23e')).echo.url, '/v1/users/a%20b%3Fc%25d%23e');
  assert.equal((await upstreamSaw('/files/dir/caf%C3%A9%3B1.txt')).echo.url, '/store/dir/caf%C3%A9%3B1.txt');
  assert.equal((await upstreamSaw('/raw/p%2Bq?a=%20&b&c=%2B+&d=%zz')).echo.url, '/raw/p%2Bq?a=%20&b&c=%2B+&d=%zz');
  const viaFetch = await within(fetch(`${gw.url}/users/x%2Cy`), 5_000, 'fetch');
  assert.equal(((await viaFetch.json()) as Echo).url, '/v1/users/x%2Cy');
});
