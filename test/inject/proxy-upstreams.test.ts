/**
 * Upstream definitions: HTTPS targets verified against a configured CA (a certificate made at test
 * time with the openssl CLI), and weighted round-robin across targets.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { selfSignedCert, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let gw: InjectedGateway;
let a: Upstream;
let b: Upstream;
let tlsServer: https.Server | undefined;
const cert = selfSignedCert();

before(async () => {
  a = await startUpstream((_req, res) => res.end('a'));
  b = await startUpstream((_req, res) => res.end('b'));
  let tlsPort = 0;
  if (cert) {
    tlsServer = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ secure: true, url: req.url }));
    });
    await new Promise<void>((r) => tlsServer?.listen(0, '127.0.0.1', r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
  }
  gw = await injectGateway(`
server: { accessLog: false }
upstreams:
  weighted:
    targets:
      - { url: "${a.url}", weight: 1 }
      - { url: "${b.url}", weight: 3 }
  tls-ca:
    targets: [{ url: "https://127.0.0.1:${tlsPort}/api" }]
    tls: { ca: "${cert?.certFile ?? 'missing.pem'}" }
  tls-no-ca:
    targets: [{ url: "https://127.0.0.1:${tlsPort}/api" }]
  tls-wrong-name:
    targets: [{ url: "https://127.0.0.1:${tlsPort}" }]
    tls: { ca: "${cert?.certFile ?? 'missing.pem'}", servername: "other.example" }
apis:
  - name: up
    routes:
      - { name: lb, path: /lb, integration: { type: http, upstream: weighted } }
      - { name: tls-ca, path: "/tls/{proxy+}", integration: { type: http, upstream: tls-ca, path: "/{proxy+}" } }
      - { name: tls-no-ca, path: "/tls-no-ca", integration: { type: http, upstream: tls-no-ca } }
      - { name: tls-wrong-name, path: "/tls-wrong-name", integration: { type: http, upstream: tls-wrong-name } }
`);
});
after(async () => {
  await gw?.close();
  await Promise.all([a?.close(), b?.close()]);
  if (tlsServer) {
    tlsServer.closeAllConnections();
    await new Promise<void>((r) => tlsServer?.close(() => r()));
  }
});

test('an HTTPS upstream verified with tls.ca answers 200', { skip: cert === undefined && 'openssl CLI not available' }, async () => {
  const res = await within(gw.fetch(`${gw.url}/tls/x/y?z=1`), 5_000, 'tls request');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { secure: true, url: '/api/x/y?z=1' });
});

test('an HTTPS upstream with an unknown CA is a 502, not a hang', { skip: cert === undefined && 'openssl CLI not available' }, async () => {
  for (const path of ['/tls-no-ca', '/tls-wrong-name']) {
    const res = await within(gw.fetch(`${gw.url}${path}`), 5_000, path);
    assert.equal(res.status, 502, path);
    const body = (await res.json()) as { code: string; requestId: string };
    assert.equal(body.code, 'UPSTREAM_UNAVAILABLE');
    assert.equal(body.requestId, res.headers.get('x-request-id'));
  }
  // the verified route still works afterwards
  assert.equal((await within(gw.fetch(`${gw.url}/tls/ok`), 5_000, 'after')).status, 200);
});

test('weights 1:3 spread 400 requests about 100:300', async () => {
  const counts: Record<string, number> = { a: 0, b: 0 };
  let next = 0;
  const worker = async () => {
    while (next < 400) {
      next++;
      const res = await within(gw.fetch(`${gw.url}/lb`), 5_000, 'lb request');
      assert.equal(res.status, 200);
      const t = await res.text();
      counts[t] = (counts[t] ?? 0) + 1;
    }
  };
  await within(Promise.all(Array.from({ length: 8 }, worker)), 30_000, '400 requests');
  assert.equal((counts.a ?? 0) + (counts.b ?? 0), 400);
  assert.ok(Math.abs((counts.a ?? 0) - 100) <= 10, `a got ${counts.a}`);
  assert.ok(Math.abs((counts.b ?? 0) - 300) <= 30, `b got ${counts.b}`);
});
