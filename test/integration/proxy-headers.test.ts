/**
 * Header handling of the HTTP integration: X-Forwarded-* (untrusted and trusted peers), hop-by-hop
 * fields in both directions (RFC 9110 §7.6.1), X-Request-Id, and the Host sent upstream.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type NetServer, onRequestHead, rawExchange, startNetServer, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;
let trustedGw: RunningGateway;
let hopUp: NetServer;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

before(async () => {
  up = await startUpstream((req, res, body) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
    if (req.url === '/status/204' || req.url === '/status/304') {
      res.writeHead(Number(req.url.slice(-3)), { etag: '"v1"', 'set-cookie': ['a=1', 'b=2'] });
      res.end();
      return;
    }
    if (req.url?.startsWith('/echo-id')) headers['x-request-id'] = req.headers['x-request-id'] as string;
    const text = JSON.stringify({ url: req.url, headers: req.headers, body: body.toString() });
    headers['content-length'] = Buffer.byteLength(text);
    res.writeHead(200, headers);
    res.end(text);
  });
  // Raw bytes, so hop-by-hop fields Node's server would refuse or rewrite reach the gateway as written.
  hopUp = await startNetServer((sock) =>
    onRequestHead(sock, () => {
      sock.write(
        'HTTP/1.1 200 OK\r\nConnection: x-resp-drop, keep-alive\r\nX-Resp-Drop: 1\r\nKeep-Alive: timeout=99\r\nUpgrade: h2c\r\n' +
          'Trailer: x-trailer\r\nTE: trailers\r\nProxy-Authorization: Basic dXA6c3RyZWFt\r\nProxy-Authenticate: Basic\r\n' +
          'X-Resp-Keep: yes\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-trailer: t\r\n\r\n',
      );
      // one request per connection keeps this fake simple
      sock.end();
    }),
  );
  const config = (server: string) => `
${server}
apis:
  - name: headers
    routes:
      - name: preserve
        path: /preserve/{proxy+}
        integration: { type: http, url: "${up.url}", preserveHost: true }
      - name: hop-response
        path: /hop-response
        integration: { type: http, url: "${hopUp.url}" }
      - name: all
        path: /{proxy+}
        integration: { type: http, url: "${up.url}" }
`;
  gw = await startGateway(config('server: { accessLog: false }'));
  trustedGw = await startGateway(config('server: { accessLog: false, trustedProxies: ["127.0.0.1/32"] }'));
});
after(async () => {
  await Promise.all([gw?.stop(), trustedGw?.stop()]);
  await Promise.all([up?.close(), hopUp?.close()]);
});

interface Echo {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends a raw request (one header per line, exactly as given) and returns the reply and what the upstream saw. */
async function send(g: RunningGateway, path: string, headerLines: string[], body = ''): Promise<{ reply: Awaited<ReturnType<typeof rawExchange>>; echo: Echo }> {
  const req = `${body ? 'POST' : 'GET'} ${path} HTTP/1.1\r\n${headerLines.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
  const reply = await rawExchange(g.port, req);
  assert.equal(reply.status, 200, reply.raw.toString('latin1'));
  return { reply, echo: JSON.parse(reply.body.toString()) as Echo };
}

test('X-Forwarded-* from an untrusted peer are replaced; the chain starts at the real peer', async () => {
  const { echo } = await send(gw, '/xff', [
    'Host: api.example.com',
    'X-Forwarded-For: 203.0.113.9, 10.0.0.1',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example',
    'Forwarded: for=203.0.113.9',
    'Connection: close',
  ]);
  assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(echo.headers['x-forwarded-proto'], 'http');
  assert.equal(echo.headers['x-forwarded-host'], 'api.example.com');
  assert.equal(echo.headers.forwarded, undefined);
});

test('X-Forwarded-* from a trusted proxy are kept and appended to; the right-most entry is the peer', async () => {
  const { echo } = await send(trustedGw, '/xff', [
    'Host: api.example.com',
    'X-Forwarded-For: 203.0.113.9, 10.0.0.1',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: public.example',
    'Connection: close',
  ]);
  assert.equal(echo.headers['x-forwarded-for'], '203.0.113.9, 10.0.0.1, 127.0.0.1');
  assert.equal(echo.headers['x-forwarded-proto'], 'https');
  assert.equal(echo.headers['x-forwarded-host'], 'public.example');
  // Without any client XFF the chain is just the peer.
  const plain = await send(trustedGw, '/xff', ['Host: a.example', 'Connection: close']);
  assert.equal(plain.echo.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(plain.echo.headers['x-forwarded-proto'], 'http');
  assert.equal(plain.echo.headers['x-forwarded-host'], 'a.example');
});

test('hop-by-hop request headers and every header named in Connection are not forwarded', async () => {
  const { echo } = await send(
    gw,
    '/hop-req',
    [
      'Host: a.example',
      'Connection: close, X-Drop-Me, x-also-drop',
      'X-Drop-Me: 1',
      'X-Also-Drop: 2',
      'X-Keep-Me: 3',
      'Keep-Alive: timeout=5',
      'TE: trailers',
      'Trailer: X-Checksum',
      'Proxy-Authorization: Basic Zm9vOmJhcg==',
      'Proxy-Connection: keep-alive',
      'Transfer-Encoding: chunked',
    ],
    '5\r\nhello\r\n0\r\n\r\n',
  );
  assert.equal(echo.body, 'hello');
  for (const h of ['x-drop-me', 'x-also-drop', 'keep-alive', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'upgrade']) {
    assert.equal(echo.headers[h], undefined, `${h} was forwarded`);
  }
  assert.equal(echo.headers['x-keep-me'], '3');
  // The upstream hop frames the body itself: chunked from us, not the client's field copied.
  assert.ok(echo.headers['transfer-encoding'] === 'chunked' || echo.headers['transfer-encoding'] === undefined);
  assert.notEqual(echo.headers.connection, 'close, X-Drop-Me, x-also-drop');
});

test('an Upgrade request on a plain route is proxied without Upgrade/Connection', async () => {
  const { reply, echo } = await send(gw, '/hop-upgrade', ['Host: a.example', 'Connection: Upgrade, X-Drop-Me', 'Upgrade: h2c', 'X-Drop-Me: 1', 'HTTP2-Settings: AAMAAABkAAQAAP__']);
  assert.equal(reply.status, 200);
  assert.equal(echo.headers.upgrade, undefined);
  assert.equal(echo.headers['x-drop-me'], undefined);
  assert.equal(echo.headers['http2-settings'], undefined);
  assert.notEqual(reply.headers.upgrade?.[0], 'h2c');
});

test('hop-by-hop response headers and headers named in the upstream Connection are not forwarded', async () => {
  const reply = await rawExchange(gw.port, 'GET /hop-response HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n');
  assert.equal(reply.status, 200);
  assert.equal(reply.body.toString(), 'ok');
  const h = reply.headers;
  assert.equal(h['x-resp-drop'], undefined);
  assert.equal(h.upgrade, undefined);
  assert.equal(h.trailer, undefined);
  assert.equal(h.te, undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h['proxy-authenticate'], undefined);
  assert.ok(!(h['keep-alive'] ?? []).includes('timeout=99'), 'upstream keep-alive leaked');
  assert.deepEqual(h.connection, ['close'], 'only the gateway own Connection field');
  assert.deepEqual(h['x-resp-keep'], ['yes']);
  // keep-alive client: the gateway may announce its own keep-alive, never the upstream's
  const ka = await within(fetch(`${gw.url}/hop-response`), 5_000, 'keep-alive hop');
  assert.equal(ka.status, 200);
  assert.equal(ka.headers.get('x-resp-drop'), null);
  assert.notEqual(ka.headers.get('keep-alive'), 'timeout=99');
  await ka.arrayBuffer();
});

test('X-Request-Id: generated when absent, propagated when valid, replaced when invalid', async () => {
  const gen = await send(gw, '/id', ['Host: a', 'Connection: close']);
  const genId = gen.reply.headers['x-request-id']?.[0] ?? '';
  assert.match(genId, UUID);
  assert.equal(gen.echo.headers['x-request-id'], genId);

  const valid = await send(gw, '/id', ['Host: a', 'Connection: close', 'X-Request-Id: client-abc.123_XYZ']);
  assert.deepEqual(valid.reply.headers['x-request-id'], ['client-abc.123_XYZ']);
  assert.equal(valid.echo.headers['x-request-id'], 'client-abc.123_XYZ');

  for (const bad of ['has space', 'x'.repeat(300), '<script>', 'a"b']) {
    const r = await send(gw, '/id', ['Host: a', 'Connection: close', `X-Request-Id: ${bad}`]);
    const id = r.reply.headers['x-request-id']?.[0] ?? '';
    assert.match(id, UUID, `invalid id ${JSON.stringify(bad.slice(0, 20))} replaced`);
    assert.equal(r.echo.headers['x-request-id'], id);
  }
});

test('an upstream echoing X-Request-Id does not make the client see it twice', async () => {
  const r = await send(gw, '/echo-id', ['Host: a', 'Connection: close', 'X-Request-Id: once-only']);
  assert.deepEqual(r.reply.headers['x-request-id'], ['once-only']);
});

test('Host is the upstream authority by default and the client Host with preserveHost', async () => {
  const def = await send(gw, '/host', ['Host: client.example:8443', 'Connection: close']);
  assert.equal(def.echo.headers.host, `127.0.0.1:${up.port}`);
  const kept = await send(gw, '/preserve/host', ['Host: client.example:8443', 'Connection: close']);
  assert.equal(kept.echo.headers.host, 'client.example:8443');
  assert.equal(kept.echo.url, '/preserve/host');
});

test('HEAD, 204 and 304 from the upstream keep their framing; repeated Set-Cookie stay separate', async () => {
  const head = await rawExchange(gw.port, 'HEAD /head HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.equal(head.status, 200);
  assert.ok(Number(head.headers['content-length']?.[0]) > 0, 'content-length of the GET answer');
  assert.ok(head.raw.toString('latin1').endsWith('\r\n\r\n'), 'no body bytes after a HEAD answer');
  for (const status of [204, 304]) {
    const r = await rawExchange(gw.port, `GET /status/${status} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, status);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
    assert.deepEqual(r.headers.etag, ['"v1"']);
    assert.equal(r.headers['transfer-encoding'], undefined);
    assert.ok(r.raw.toString('latin1').endsWith('\r\n\r\n'), `no body bytes after a ${status}`);
  }
});
