/**
 * Upstream health in-process (test/helpers/inject.ts): active probes eject a stopped target and bring
 * it back when it restarts on the same port; with every target down the gateway answers 503
 * SERVICE_UNAVAILABLE at once. Also: consistent hashing is sticky per header value through the gateway.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { deadPort } from '../helpers/upstream.js';

interface Named {
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

async function startNamed(name: string, port = 0): Promise<Named> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok' : name);
  });
  await new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen(port, '127.0.0.1', () => r());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let gw: InjectedGateway;
let a: Named;
let b: Named;
const running = new Set<Named>();

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await gw.fetch(gw.url + path, { headers });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

/** Polls until `ok` holds (bounded), returning how long it took. */
async function until(ok: () => Promise<boolean>, limitMs: number, what: string): Promise<void> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  a = await startNamed('a');
  b = await startNamed('b');
  running.add(a).add(b);
  gw = await injectGateway(`
server: { accessLog: false }
upstreams:
  checked:
    targets: [{ url: "http://127.0.0.1:${a.port}" }, { url: "http://127.0.0.1:${b.port}" }]
    healthCheck:
      active: { path: /healthz, intervalMs: 150, timeoutMs: 300, healthyThreshold: 2, unhealthyThreshold: 2, expectedStatuses: [200] }
  hashed:
    balancer: consistent-hash
    hashOn: "header:x-user"
    targets: [{ url: "http://127.0.0.1:${a.port}" }, { url: "http://127.0.0.1:${b.port}" }]
apis:
  - name: lb
    routes:
      - { name: checked, path: /checked, integration: { type: http, upstream: checked } }
      - { name: hashed, path: /hashed, integration: { type: http, upstream: hashed } }
`);
});

after(async () => {
  await gw?.close();
  for (const s of running) await s.close();
});

test('consistent-hash: the same x-user always lands on the same target; different users reach both', async () => {
  const seen = new Set<string>();
  for (let u = 0; u < 20; u++) {
    const first = await get('/hashed', { 'x-user': `user-${u}` });
    assert.equal(first.status, 200);
    seen.add(first.text);
    for (let k = 0; k < 3; k++) assert.equal((await get('/hashed', { 'x-user': `user-${u}` })).text, first.text);
  }
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});

test('both healthy: round-robin reaches both targets', async () => {
  const got = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const r = await get('/checked');
    assert.equal(r.status, 200);
    got.add(r.text);
  }
  assert.deepEqual([...got].sort(), ['a', 'b']);
});

test('passive: consecutive connect failures on real traffic eject a target (no active probes)', async () => {
  const dead = await deadPort();
  const pgw = await injectGateway(`
server: { accessLog: false }
upstreams:
  passive:
    balancer: weighted-round-robin
    targets: [{ url: "http://127.0.0.1:${a.port}" }, { url: "http://127.0.0.1:${dead}" }]
    healthCheck: { passive: { unhealthyThreshold: 2, recoverAfterMs: 60000 } }
apis:
  - name: p
    routes: [{ name: p, path: /p, integration: { type: http, upstream: passive } }]
`);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await pgw.fetch(`${pgw.url}/p`);
      await r.text();
      statuses.push(r.status);
    }
    // alternating a / dead until the dead one has failed twice
    assert.deepEqual(statuses, [200, 502, 200, 502]);
    for (let i = 0; i < 10; i++) {
      const r = await pgw.fetch(`${pgw.url}/p`);
      assert.equal(r.status, 200);
      assert.equal(await r.text(), 'a');
    }
  } finally {
    await pgw.close();
  }
});

test('a stopped target is ejected, then gets traffic again after restarting on the same port', async () => {
  await b.close();
  running.delete(b);
  // after unhealthyThreshold probes (2 x 150 ms) b gets nothing: 10 consecutive 200s from a
  await until(
    async () => {
      for (let i = 0; i < 10; i++) {
        const r = await get('/checked');
        if (r.status !== 200 || r.text !== 'a') return false;
      }
      return true;
    },
    5_000,
    'b to be ejected',
  );
  for (let i = 0; i < 20; i++) {
    const r = await get('/checked');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'a');
  }
  // health is visible on the admin port: /routes and the gauge
  const routes = (await (await gw.fetch(`${gw.adminUrl}/routes`)).json()) as { routes: { name: string; integration: { health?: { target: string; healthy: boolean }[] } }[] };
  const checked = routes.routes.find((r) => r.name === 'checked');
  assert.deepEqual(checked?.integration.health, [
    { target: `http://127.0.0.1:${a.port}`, healthy: true },
    { target: `http://127.0.0.1:${b.port}`, healthy: false },
  ]);
  assert.equal(routes.routes.find((r) => r.name === 'hashed')?.integration.health, undefined);
  const metrics = await (await gw.fetch(`${gw.adminUrl}/metrics`)).text();
  assert.match(metrics, new RegExp(`turnpike_upstream_target_healthy\\{upstream="checked",target="http://127.0.0.1:${a.port}"\\} 1`));
  assert.match(metrics, new RegExp(`turnpike_upstream_target_healthy\\{upstream="checked",target="http://127.0.0.1:${b.port}"\\} 0`));
  b = await startNamed('b', b.port);
  running.add(b);
  await until(async () => (await get('/checked')).text === 'b', 5_000, 'b to get traffic again');
  const got = new Set<string>();
  for (let i = 0; i < 6; i++) got.add((await get('/checked')).text);
  assert.deepEqual([...got].sort(), ['a', 'b']);
});

test('every target down: 503 SERVICE_UNAVAILABLE at once', async () => {
  for (const s of [...running]) {
    await s.close();
    running.delete(s);
  }
  await until(async () => (await get('/checked')).status === 503, 5_000, 'all targets ejected');
  for (let i = 0; i < 5; i++) {
    const r = await get('/checked');
    assert.equal(r.status, 503);
    assert.equal((JSON.parse(r.text) as { code: string }).code, 'SERVICE_UNAVAILABLE');
    assert.equal((JSON.parse(r.text) as { message: string }).message, 'Service Unavailable');
    assert.ok(r.ms < 200, `took ${r.ms.toFixed(0)} ms`);
  }
});
