// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
/**
 * HTTPS listener through the real gateway process: certificates chosen by SNI, the default
 * certificate without SNI, HTTP/2 (ALPN h2) and HTTP/1.1 over TLS proxied to a real upstream, the
 * HTTP -> HTTPS redirect, and an optional client certificate reaching a function's event.
 * Certificates are made at test time with the openssl CLI (test/helpers/certs.ts).
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { type CertFiles, type TestPki, createPki } from '../helpers/certs.js';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';
import { within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;
const pki: TestPki | undefined = createPki();
const skip = pki === undefined && 'openssl CLI not available';

let gw: RunningGateway;
let up: Upstream;
let httpsPort = 0;
let a: CertFiles;
let b: CertFiles;
let def: CertFiles;
let alice: CertFiles;
let mallory: CertFiles;

before(async () => {
  if (pki === undefined) return;
  a = pki.server('a', ['a.test']);
  b = pki.server('b', ['b.test', '*.b.test']);
  def = pki.server('default', ['default.test']);
  alice = pki.client('alice', '/O=Acme/CN=alice');
  mallory = pki.client('mallory', '/CN=mallory', pki.otherCa('evil'));
  up = await startUpstream();
  gw = await startGateway(
    `
server:
  accessLog: false
  tls:
    certificates:
      - { hosts: [a.test], cert: "${a.cert}", key: "${a.key}" }
      - { hosts: [b.test, "*.b.test"], cert: "${b.cert}", key: "${b.key}" }
    default: { cert: "${def.cert}", key: "${def.key}" }
    clientCa: "${pki.ca.cert}"
    requestClientCert: optional
    redirectHttp: true
functions:
  echo: { module: "${FN}/echo.mjs" }
apis:
  - name: t
    routes:
      - { path: "/up/{proxy+}", integration: { type: http, url: "${up.url}" } }
      - { methods: [GET], path: "/fn-rest", integration: { type: function, function: echo, apiType: rest } }
      - { methods: [GET], path: "/fn-v2", integration: { type: function, function: echo } }
      - { methods: [GET], path: "/mock", integration: { type: mock, status: 200, body: { ok: true } } }
      - { methods: [POST], path: "/small", maxBodyBytes: 10, integration: { type: http, url: "${up.url}" } }
`,
    { args: ['--https-port', '0'] },
  );
  httpsPort = (await gw.waitForLog((l) => l.msg === 'listening')).httpsPort as number;
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

/** The certificate the server presents for this SNI name (undefined: send no SNI). */
function servedCert(servername: string | undefined, extra: tls.ConnectionOptions = {}): Promise<{ cn: string; san: string; alpn: string | false | null }> {
  return within(
    new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername, ca: pki?.ca.certPem, rejectUnauthorized: false, ...extra }, () => {
        const c = s.getPeerX509Certificate();
        resolve({ cn: /CN=([^\n]*)/.exec(c?.subject ?? '')?.[1] ?? '', san: c?.subjectAltName ?? '', alpn: s.alpnProtocol });
        s.end();
      });
      s.on('error', reject);
    }),
    5_000,
    `tls connect ${servername}`,
  );
}

/** One HTTPS/1.1 request with node:https (SNI from `servername`, address 127.0.0.1). */
function h1(path: string, servername: string, opts: https.RequestOptions = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string; alpn: string | false | null }> {
  return within(
    new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: httpsPort, path, servername, headers: { host: servername }, ca: pki?.ca.certPem, agent: false, ...({ ALPNProtocols: ['http/1.1'] } as object), ...opts },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, alpn: (res.socket as tls.TLSSocket).alpnProtocol }));
        },
      );
      req.on('error', reject);
      req.end();
    }),
    5_000,
    `GET ${path}`,
  );
}

/** Requests over one HTTP/2 session. */
async function h2Session(servername: string, opts: tls.ConnectionOptions = {}) {
  const session = http2.connect(`https://${servername}:${httpsPort}`, { ca: pki?.ca.certPem, servername, host: '127.0.0.1', ...opts, lookup: (_h, _o, cb) => cb(null, '127.0.0.1', 4) } as http2.SecureClientSessionOptions);
  session.on('error', () => undefined);
  const request = (headers: http2.OutgoingHttpHeaders, body?: string) =>
    within(
      new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const s = session.request(headers);
        let text = '';
        let h: http2.IncomingHttpHeaders = {};
        s.on('response', (rh) => (h = rh));
        s.setEncoding('utf8').on('data', (c: string) => (text += c));
        s.on('end', () => resolve({ status: Number(h[':status']), headers: h, body: text }));
        s.on('error', reject);
        s.end(body);
      }),
      5_000,
      `h2 ${String(headers[':path'])}`,
    );
  return { session, request, alpn: () => (session.socket as tls.TLSSocket).alpnProtocol };
}

test('SNI picks the certificate of each host name; no SNI gets the default one', { skip }, async () => {
  const ra = await servedCert('a.test');
  assert.equal(ra.cn, 'a.test');
  assert.equal(ra.san, 'DNS:a.test');
  const rb = await servedCert('b.test');
  assert.equal(rb.cn, 'b.test');
  // one-label wildcard entry
  assert.equal((await servedCert('x.b.test')).cn, 'b.test');
  assert.equal((await servedCert('deep.x.b.test')).cn, 'default.test');
  assert.equal((await servedCert('A.TEST')).cn, 'a.test');
  assert.equal((await servedCert('unknown.test')).cn, 'default.test');
  assert.equal((await servedCert(undefined)).cn, 'default.test');
  // and the chain verifies against the CA for the name (rejectUnauthorized on)
  const ok = await servedCert('a.test', { rejectUnauthorized: true });
  assert.equal(ok.cn, 'a.test');
});

test('ALPN: h2 is offered first, HTTP/1.1 still negotiates', { skip }, async () => {
  assert.equal((await servedCert('a.test', { ALPNProtocols: ['h2', 'http/1.1'] })).alpn, 'h2');
  assert.equal((await servedCert('a.test', { ALPNProtocols: ['http/1.1'] })).alpn, 'http/1.1');
});

test('HTTP/1.1 over TLS is proxied, with x-forwarded-proto https', { skip }, async () => {
  const r = await h1('/up/x?q=1', 'a.test');
  assert.equal(r.status, 200);
  assert.equal(r.alpn, 'http/1.1');
  const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/up/x?q=1');
  assert.equal(seen.headers['x-forwarded-proto'], 'https');
  assert.equal(seen.headers['x-forwarded-host'], 'a.test');
  assert.equal(typeof r.headers['x-request-id'], 'string');
});

test('HTTP/2 client: proxied answers from a real upstream, POST bodies without content-length, pseudo-headers never forwarded', { skip }, async () => {
  const { session, request, alpn } = await h2Session('b.test');
  try {
    const get = await request({ ':method': 'GET', ':path': '/up/h2?z=2', 'x-custom': 'one' });
    assert.equal(alpn(), 'h2');
    assert.equal(get.status, 200);
    assert.equal(typeof get.headers['x-request-id'], 'string');
    // hop-by-hop fields are illegal in HTTP/2 answers
    assert.equal(get.headers.connection, undefined);
    assert.equal(get.headers['keep-alive'], undefined);
    assert.equal(get.headers['transfer-encoding'], undefined);
    const seen = JSON.parse(get.body) as { method: string; url: string; headers: Record<string, string> };
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/up/h2?z=2');
    assert.equal(seen.headers['x-custom'], 'one');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-host'], `b.test:${httpsPort}`);
    for (const k of Object.keys(seen.headers)) assert.ok(!k.startsWith(':'), `pseudo-header ${k} forwarded`);

    // request body streamed (no content-length on the HTTP/2 request)
    const post = await request({ ':method': 'POST', ':path': '/up/post', 'content-type': 'text/plain' }, 'hello over h2');
    assert.equal(post.status, 200);
    const echoed = JSON.parse(post.body) as { method: string; body: string };
    assert.equal(echoed.method, 'POST');
    assert.equal(echoed.body, 'hello over h2');

    // several streams at once on the one session
    const many = await Promise.all(Array.from({ length: 10 }, (_, i) => request({ ':method': 'GET', ':path': `/up/n${i}` })));
    assert.deepEqual(
      many.map((r) => r.status),
      Array(10).fill(200),
    );
    assert.deepEqual(
      many.map((r) => (JSON.parse(r.body) as { url: string }).url),
      Array.from({ length: 10 }, (_, i) => `/up/n${i}`),
    );

    // gateway errors keep their JSON shape
    const missing = await request({ ':method': 'GET', ':path': '/nope' });
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { code: string }).code, 'ROUTE_NOT_FOUND');
    const mock = await request({ ':method': 'GET', ':path': '/mock' });
    assert.equal(mock.status, 200);
    assert.deepEqual(JSON.parse(mock.body), { ok: true });

    // a streamed body over the route's limit: 413 on that stream only, the session keeps serving
    const big = await request({ ':method': 'POST', ':path': '/small' }, 'x'.repeat(5_000));
    assert.equal(big.status, 413);
    assert.equal((JSON.parse(big.body) as { code: string }).code, 'BODY_TOO_LARGE');
    const declared = await request({ ':method': 'POST', ':path': '/small', 'content-length': '5000' }, 'x'.repeat(5_000));
    assert.equal(declared.status, 413);
    // ... and while the client is still sending (the stream stays open): only that stream is ended
    const open = session.request({ ':method': 'POST', ':path': '/small' });
    open.on('error', () => undefined);
    open.resume();
    open.write('x'.repeat(5_000));
    const openStatus = await within(new Promise<number>((r) => open.on('response', (h) => r(Number(h[':status'])))), 5_000, 'open stream answer');
    assert.equal(openStatus, 413);
    await within(new Promise((r) => open.on('close', r)), 5_000, 'open stream closed');
    const afterwards = await request({ ':method': 'GET', ':path': '/up/still' });
    assert.equal(afterwards.status, 200);
    assert.equal(session.destroyed, false);
  } finally {
    session.close();
  }
});

test('HTTP/2: the function event sees real headers (no pseudo-headers) and the host', { skip }, async () => {
  const { session, request } = await h2Session('a.test');
  try {
    const r = await request({ ':method': 'GET', ':path': '/fn-v2', 'x-h': 'v' });
    assert.equal(r.status, 200);
    const { event } = JSON.parse(r.body) as { event: { headers: Record<string, string>; requestContext: { domainName: string } } };
    assert.equal(event.headers['x-h'], 'v');
    for (const k of Object.keys(event.headers)) assert.ok(!k.startsWith(':'), `pseudo-header ${k} in the event`);
    assert.equal(event.requestContext.domainName, 'a.test');
  } finally {
    session.close();
  }
});

test('mutual TLS (optional): a verified client certificate reaches the function as requestContext.identity.clientCert', { skip }, async () => {
  const r = await h1('/fn-rest', 'a.test', { cert: alice.certPem, key: alice.keyPem });
  assert.equal(r.status, 200);
  const { event } = JSON.parse(r.body) as { event: { requestContext: { identity: { clientCert?: Record<string, any> } } } };
  const cc = event.requestContext.identity.clientCert;
  assert.ok(cc !== undefined, 'clientCert missing');
  assert.equal(cc.subjectDN, 'CN=alice,O=Acme');
  assert.equal(cc.issuerDN, 'CN=Turnpike Test CA');
  assert.match(cc.serialNumber, /^[0-9a-f]{2}(:[0-9a-f]{2})+$/);
  assert.match(cc.validity.notBefore, /GMT$/);
  assert.match(cc.validity.notAfter, /GMT$/);
  assert.equal(cc.clientCertPem.trim(), alice.certPem.trim());

  // over HTTP/2 too
  const { session, request } = await h2Session('a.test', { cert: alice.certPem, key: alice.keyPem });
  try {
    const r2 = await request({ ':method': 'GET', ':path': '/fn-rest' });
    assert.equal(r2.status, 200);
    assert.equal((JSON.parse(r2.body) as { event: any }).event.requestContext.identity.clientCert.subjectDN, 'CN=alice,O=Acme');
  } finally {
    session.close();
  }

  // no certificate, or one from a CA the gateway does not trust: served, but no identity
  for (const extra of [{}, { cert: mallory.certPem, key: mallory.keyPem }]) {
    const anon = await h1('/fn-rest', 'a.test', extra);
    assert.equal(anon.status, 200);
    assert.equal((JSON.parse(anon.body) as { event: any }).event.requestContext.identity.clientCert, undefined);
  }
});

/** Sends raw bytes to the plain listener and returns the status code and headers of the answer. */
function rawHttp(text: string): Promise<{ status: number; head: string }> {
  return within(
    new Promise((resolve, reject) => {
      const s = net.connect(gw.port, '127.0.0.1', () => s.write(text));
      let buf = '';
      s.setEncoding('utf8').on('data', (c: string) => (buf += c));
      s.on('end', () => resolve({ status: Number(buf.split(' ')[1]), head: buf.slice(0, buf.indexOf('\r\n\r\n')) }));
      s.on('error', reject);
    }),
    5_000,
    'raw http',
  );
}

test('redirectHttp: the plain listener answers 308 to the https origin with the same target', { skip }, async () => {
  for (const method of ['GET', 'POST']) {
    const r = await rawHttp(`${method} /up/x?y=1 HTTP/1.1\r\nhost: a.test:8080\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    assert.equal(r.status, 308, method);
    assert.match(r.head, new RegExp(`\r\nlocation: https://a\\.test:${httpsPort}/up/x\\?y=1\r\n`, 'i'));
  }
  // fetch: same answer, and following it lands on the HTTPS listener (served by the default name here)
  const res = await within(fetch(`${gw.url}/mock`, { redirect: 'manual' }), 5_000, 'fetch redirect');
  assert.equal(res.status, 308);
  assert.equal(res.headers.get('location'), `https://127.0.0.1:${httpsPort}/mock`);
  // a WebSocket upgrade is redirected too
  const ws = await rawHttp('GET /ws HTTP/1.1\r\nhost: b.test\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.equal(ws.status, 308);
  assert.match(ws.head, new RegExp(`\r\nlocation: https://b\\.test:${httpsPort}/ws\r\n`, 'i'));
  // a Host header that cannot be echoed safely is refused
  const bad = await rawHttp('GET / HTTP/1.1\r\nhost: evil.test/@x\r\nconnection: close\r\n\r\n');
  assert.equal(bad.status, 400);
  // the admin port is not redirected
  assert.equal((await fetch(`${gw.adminUrl}/health`)).status, 200);
});
