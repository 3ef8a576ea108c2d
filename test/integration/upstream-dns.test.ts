/**
 * DNS re-resolution through the real gateway process with a real DNS server the test controls (UDP on
 * 127.0.0.1): the target `svc.test` first resolves to 127.0.0.1 (server A), then the answer changes
 * to 127.0.0.2 (server B, same port) and traffic moves there after the TTL; when the DNS server fails,
 * the last good answer is kept (and the failure logged).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type TestDns, startDns } from '../helpers/dns.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

const ADMIN_TOKEN = 'upstream-dns-test-admin-token-0123456789';
let gw: RunningGateway;
let dns: TestDns;
const servers: http.Server[] = [];
const hits = { a: 0, b: 0 };
let port = 0;

function serve(name: 'a' | 'b', host: string, p: number): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    hits[name]++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => resolve((server.address() as AddressInfo).port));
  });
}

before(async () => {
  port = await serve('a', '127.0.0.1', 0);
  await serve('b', '127.0.0.2', port);
  dns = await startDns({ 'svc.test': ['127.0.0.1'] }, 1);
  // /routes shows resolved addresses only to the admin token's holder (src/admin/host.ts).
  gw = await startGateway(configText(''), { env: { TURNPIKE_ADMIN_TOKEN: ADMIN_TOKEN } });
});

function configText(comment: string): string {
  return `# ${comment}
server: { accessLog: false }
upstreams:
  svc:
    targets: [{ url: "http://svc.test:${port}" }]
    dns: { resolver: "127.0.0.1:${dns.port}", family: 4, minTtlMs: 500, maxTtlMs: 2000 }
apis:
  - name: d
    routes:
      - { name: svc, path: /svc, integration: { type: http, upstream: svc } }
`;
}

after(async () => {
  await gw?.stop();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  await dns?.close();
});

async function get(): Promise<string> {
  const res = await fetch(`${gw.url}/svc`);
  const text = await res.text();
  return res.status === 200 ? text : `${res.status}`;
}

async function until(pred: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (await pred()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function addresses(): Promise<string[]> {
  const body = (await (await fetch(`${gw.adminUrl}/routes`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { routes: { integration: { dns?: { addresses: string[] }[] } }[] };
  return body.routes[0]?.integration.dns?.[0]?.addresses ?? [];
}

test('the name resolves through the configured DNS server and traffic goes to its address', async () => {
  await until(async () => (await addresses()).length > 0, 5_000, 'the first DNS answer');
  assert.deepEqual(await addresses(), ['127.0.0.1']);
  for (let k = 0; k < 5; k++) assert.equal(await get(), 'a');
  assert.equal(hits.b, 0);
  assert.ok(dns.queries.includes('svc.test A'), dns.queries.join(','));
});

test('a changed DNS answer moves traffic to the new address after the TTL', async () => {
  const queriesBefore = dns.queries.length;
  dns.records.set('svc.test', ['127.0.0.2']);
  const aBefore = hits.a;
  // TTL 1 s (floor 0.5 s): within a few seconds the gateway asks again and switches.
  const took = await until(async () => (await get()) === 'b', 6_000, 'traffic on the new address');
  assert.ok(took < 6_000);
  assert.ok(dns.queries.length > queriesBefore, 're-resolved');
  const aAfterSwitch = hits.a;
  for (let k = 0; k < 10; k++) assert.equal(await get(), 'b');
  assert.equal(hits.a, aAfterSwitch, 'nothing more reaches the old address');
  assert.ok(aAfterSwitch - aBefore <= 60, 'only the requests before the switch went to A');
  assert.deepEqual(await addresses(), ['127.0.0.2']);
  await gw.waitForLog((l) => l.msg === 'dns answer' && Array.isArray(l.addresses) && (l.addresses as string[])[0] === '127.0.0.2');
});

test('when the DNS server fails, the last good answer is kept and the failure logged', async () => {
  dns.failing = true;
  const failedQueries = dns.queries.length;
  await gw.waitForLog((l) => l.msg === 'dns resolution failed; keeping the last answer', 8_000);
  assert.ok(dns.queries.length > failedQueries);
  for (let k = 0; k < 5; k++) assert.equal(await get(), 'b');
  assert.deepEqual(await addresses(), ['127.0.0.2']);
});

test('a reload starts from the last answer: traffic keeps flowing while the DNS server still fails', async () => {
  assert.equal(dns.failing, true);
  const since = gw.logs.length;
  gw.writeConfig(configText('reloaded'));
  await until(async () => gw.logs.slice(since).some((l) => l.msg === 'config reloaded'), 10_000, 'the reload');
  // The OS resolver does not know svc.test: without the carried-over answer these would be 502s.
  for (let k = 0; k < 5; k++) assert.equal(await get(), 'b');
  assert.deepEqual(await addresses(), ['127.0.0.2']);
  dns.failing = false;
});
