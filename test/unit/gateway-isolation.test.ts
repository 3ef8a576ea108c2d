/**
 * Two gateways in one process share nothing (issue 10, the shape §6): plugins keep their state behind
 * deps (src/plugins/state.ts, src/plugins/services.ts), which each gateway builds for itself. Two
 * `createGateway()` instances with the same config, driven through inject():
 * - concurrency-limit: a slot held in one gateway does not count in the other, nor do its refusals;
 * - jwt: each gateway fetches the issuer's keys into its own cache (the cache was process-wide), and a
 *   gateway keeps its cache across a reload;
 * - api-key: a usage plan's quota spent in one gateway is untouched in the other.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import { hashApiKey } from '../../src/security/api-keys.js';
import { makeKey, mint, startIssuer } from '../helpers/jwt.js';

const open: EmbeddedGateway[] = [];
const closers: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
  await Promise.all(closers.map((c) => c()));
});

async function twoGateways(config: string): Promise<[EmbeddedGateway, EmbeddedGateway]> {
  const a = await createGateway({ source: { text: config } });
  const b = await createGateway({ source: { text: config } });
  open.push(a, b);
  return [a, b];
}

/** An upstream on 127.0.0.1 that answers only when released: requests stay in flight meanwhile. */
async function heldUpstream(): Promise<{ url: string; arrived: () => number; release: () => void }> {
  const waiting: http.ServerResponse[] = [];
  let count = 0;
  const server = http.createServer((_req, res) => {
    count++;
    waiting.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived: () => count,
    release: () => {
      for (const res of waiting.splice(0)) res.writeHead(200, { 'content-type': 'text/plain' }).end('done');
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('concurrency-limit: a slot held in one gateway is not counted in another with the same config', async () => {
  const up = await heldUpstream();
  const [a, b] = await twoGateways(`
apis:
  - name: shop
    routes:
      - path: /slow
        integration: { type: http, url: "${up.url}" }
        plugins: { concurrency-limit: { max: 1 } }
`);
  const held = a.inject({ url: '/slow' });
  await until(() => up.arrived() === 1, 'the first request to reach the upstream');
  const refused = await a.inject({ url: '/slow' });
  assert.equal(refused.status, 503, 'the same gateway is at its limit');
  assert.equal(refused.json<{ code: string }>().code, 'CONCURRENCY_LIMITED');

  const other = b.inject({ url: '/slow' });
  await until(() => up.arrived() === 2, 'the other gateway to admit its request');
  assert.equal((await b.inject({ url: '/slow' })).status, 503, 'and then be at its own limit');
  up.release();
  assert.equal((await held).status, 200);
  assert.equal((await other).status, 200, 'the other gateway had its own slot');

  // Each gateway counts its own refusals (the count was process-wide, so each showed both).
  for (const g of [a, b]) {
    const text = await g.table.metrics.registry.getSingleMetricAsString('turnpike_concurrency_limit_rejected_total');
    assert.match(text, /^turnpike_concurrency_limit_rejected_total\{scope="route:shop\/[^"]+"\} 1$/m);
  }
});

test('jwt: each gateway has its own key cache, kept across its reloads', async () => {
  const key = await makeKey('k1');
  const iss = await startIssuer([key]);
  closers.push(() => iss.close());
  const [a, b] = await twoGateways(`
apis:
  - name: shop
    routes:
      - path: /me
        integration: { type: mock, body: { ok: true } }
        plugins: { jwt: { issuer: "${iss.url}", audience: [api], jwksUri: "${iss.jwksUri}" } }
`);
  const token = await mint(key, { iss: iss.url, aud: 'api', sub: 'alice' });
  const call = (g: EmbeddedGateway) => g.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } });

  assert.equal((await call(a)).status, 200);
  assert.equal(iss.jwksHits, 1);
  assert.equal((await call(b)).status, 200);
  assert.equal(iss.jwksHits, 2, 'the second gateway fetched the keys itself: no cache shared between gateways');

  await a.reload();
  // A new token (the verified-token cache is per config version): only the key cache could spare the fetch.
  const fresh = await mint(key, { iss: iss.url, aud: 'api', sub: 'bob' });
  assert.equal((await a.inject({ url: '/me', headers: { authorization: `Bearer ${fresh}` } })).status, 200);
  assert.equal(iss.jwksHits, 2, 'after a reload the gateway still has its keys: the cache lives as long as the gateway');
});

test('api-key: a quota spent in one gateway is untouched in another', async () => {
  const KEY = 'q'.repeat(40);
  const [a, b] = await twoGateways(`
usagePlans:
  one-a-day: { apiStages: [{ api: shop }], quota: { limit: 1, period: DAY } }
apiKeys:
  - { id: k, name: k, hash: "${hashApiKey(KEY)}", usagePlans: [one-a-day] }
apis:
  - name: shop
    plugins: { api-key: {} }
    routes:
      - { path: /orders, integration: { type: mock } }
`);
  const call = (g: EmbeddedGateway) => g.inject({ url: '/orders', headers: { 'x-api-key': KEY } });
  assert.equal((await call(a)).status, 200);
  const over = await call(a);
  assert.equal(over.status, 429);
  assert.equal(over.json<{ code: string }>().code, 'QUOTA_EXCEEDED');
  assert.equal((await call(b)).status, 200, 'the other gateway counts on its own');
  assert.equal((await call(a)).status, 429);
});
