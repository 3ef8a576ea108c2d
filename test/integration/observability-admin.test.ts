/**
 * The admin listener through the real process: /metrics in Prometheus text with the documented
 * families, types and labels (and values that match the traffic sent), /health, /ready, /routes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { metricSum, request, scrape, waitFor } from '../helpers/lifecycle.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;
let releaseSlow: (() => void) | undefined;

before(async () => {
  up = await startUpstream((req, res) => {
    const answer = () => {
      if (res.headersSent || res.destroyed) return;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    };
    if (req.url === '/slow') {
      const t = setTimeout(answer, 5_000);
      releaseSlow = () => {
        releaseSlow = undefined;
        clearTimeout(t);
        answer();
      };
    } else answer();
  });
  gw = await startGateway(`
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: shop
    routes:
      - name: items
        methods: [GET, POST]
        path: /items/{id}
        integration: { type: http, upstream: backend }
        plugins:
          response-headers: { set: { x-shop: "1" } }
      - name: slow
        methods: [GET]
        path: /slow
        integration: { type: http, upstream: backend }
  - name: meta
    routes:
      - name: ping
        methods: [GET]
        path: /ping
        integration: { type: mock, body: pong }
`);
});
after(async () => {
  releaseSlow?.();
  await gw?.stop();
  await up?.close();
});

test('/metrics: Prometheus text with the documented families, types and labels', async () => {
  const before = await scrape(gw.adminUrl);
  assert.match(before.contentType, /^text\/plain; version=0\.0\.4/);
  const base = (route: string, method: string, status: string) => metricSum(before.samples, 'turnpike_requests_total', { route, method, status });

  for (let i = 0; i < 5; i++) assert.equal((await request(`${gw.url}/items/${i}`)).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await request(`${gw.url}/items/p${i}`, { method: 'POST', body: 'x' })).status, 200);
  for (let i = 0; i < 3; i++) assert.equal((await request(`${gw.url}/ping`)).status, 200);
  assert.equal((await request(`${gw.url}/missing`)).status, 404);
  assert.equal((await request(`${gw.url}/ping`, { method: 'PUT', body: 'x' })).status, 405);

  const m = await scrape(gw.adminUrl);
  const types = Object.fromEntries(
    [
      'turnpike_requests_total',
      'turnpike_request_duration_seconds',
      'turnpike_upstream_duration_seconds',
      'turnpike_requests_in_flight',
      'turnpike_config_reloads_total',
    ].map((n) => [n, m.types.get(n)]),
  );
  assert.deepEqual(types, {
    turnpike_requests_total: 'counter',
    turnpike_request_duration_seconds: 'histogram',
    turnpike_upstream_duration_seconds: 'histogram',
    turnpike_requests_in_flight: 'gauge',
    turnpike_config_reloads_total: 'counter',
  });
  for (const name of m.types.keys()) assert.ok(m.help.has(name), `${name} has HELP`);

  // Counters by api/route/method/status.
  const sample = m.samples.find((s) => s.name === 'turnpike_requests_total' && s.labels.route === 'items' && s.labels.method === 'GET');
  assert.deepEqual(Object.keys(sample?.labels ?? {}).sort(), ['api', 'method', 'route', 'status']);
  assert.equal(sample?.labels.api, 'shop');
  assert.equal(metricSum(m.samples, 'turnpike_requests_total', { route: 'items', method: 'GET', status: '200' }) - base('items', 'GET', '200'), 5);
  assert.equal(metricSum(m.samples, 'turnpike_requests_total', { route: 'items', method: 'POST', status: '200' }) - base('items', 'POST', '200'), 2);
  assert.equal(metricSum(m.samples, 'turnpike_requests_total', { api: 'meta', route: 'ping', method: 'GET', status: '200' }) - base('ping', 'GET', '200'), 3);
  assert.equal(metricSum(m.samples, 'turnpike_requests_total', { status: '404' }) - metricSum(before.samples, 'turnpike_requests_total', { status: '404' }), 1);
  assert.equal(metricSum(m.samples, 'turnpike_requests_total', { status: '405' }) - metricSum(before.samples, 'turnpike_requests_total', { status: '405' }), 1);

  // Histograms: cumulative buckets ending in +Inf == _count; count matches the requests.
  for (const name of ['turnpike_request_duration_seconds', 'turnpike_upstream_duration_seconds']) {
    const buckets = m.samples.filter((s) => s.name === `${name}_bucket` && s.labels.route === 'items');
    assert.ok(buckets.length > 2, `${name} has buckets`);
    for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i]?.value as number) >= (buckets[i - 1]?.value as number), `${name} buckets are cumulative`);
    const inf = buckets.find((b) => b.labels.le === '+Inf');
    const count = metricSum(m.samples, `${name}_count`, { route: 'items' });
    assert.equal(inf?.value, count);
    assert.ok(metricSum(m.samples, `${name}_sum`, { route: 'items' }) > 0);
    assert.deepEqual(Object.keys(inf?.labels ?? {}).sort(), ['api', 'le', 'route']);
  }
  assert.equal(
    metricSum(m.samples, 'turnpike_request_duration_seconds_count', { route: 'items' }) -
      metricSum(before.samples, 'turnpike_request_duration_seconds_count', { route: 'items' }),
    7,
  );
  // A mock route has no upstream time.
  assert.equal(metricSum(m.samples, 'turnpike_upstream_duration_seconds_count', { route: 'ping' }), 0);

  assert.equal(metricSum(m.samples, 'turnpike_config_reloads_total', { result: 'success' }), 1, 'the initial load counts as a success');
  assert.equal(metricSum(m.samples, 'turnpike_config_reloads_total', { result: 'failure' }), 0);
  assert.equal(metricSum(m.samples, 'turnpike_requests_in_flight'), 0);
});

test('/metrics: turnpike_requests_in_flight counts a request while it runs', async () => {
  const slow = request(`${gw.url}/slow`);
  await waitFor('upstream to get /slow', () => up.seen.some((s) => s.url === '/slow'), 5_000, 10);
  const during = await scrape(gw.adminUrl);
  assert.equal(metricSum(during.samples, 'turnpike_requests_in_flight'), 1);
  releaseSlow?.();
  assert.equal((await slow).status, 200);
  await waitFor('in flight back to 0', async () => metricSum((await scrape(gw.adminUrl)).samples, 'turnpike_requests_in_flight') === 0);
});

test('/health, /ready and /routes', async () => {
  const health = await fetch(`${gw.adminUrl}/health`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('cache-control'), 'no-store');
  const h = (await health.json()) as { status: string; pid: number; version: string };
  assert.equal(h.status, 'ok');
  assert.equal(h.pid, gw.proc.pid);

  const ready = await fetch(`${gw.adminUrl}/ready`);
  assert.equal(ready.status, 200);
  const r = (await ready.json()) as { ready: boolean; version: string };
  assert.equal(r.ready, true);
  assert.equal(r.version, h.version);

  const routes = await fetch(`${gw.adminUrl}/routes`);
  assert.equal(routes.status, 200);
  assert.match(routes.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await routes.json()) as {
    version: string;
    source?: string;
    routes: { id: string; api: string; name: string; methods: string[]; path: string; plugins: string[]; integration: { type: string } }[];
  };
  assert.equal(body.version, h.version);
  // The config file path is shown only with the admin token (src/admin/host.ts, issue 11).
  assert.equal(body.source, undefined);
  const items = body.routes.find((x) => x.id === 'shop/items');
  assert.deepEqual(
    { api: items?.api, name: items?.name, methods: items?.methods, path: items?.path, type: items?.integration.type },
    { api: 'shop', name: 'items', methods: ['GET', 'POST'], path: '/items/{id}', type: 'http' },
  );
  assert.ok(items?.plugins.some((p) => p.includes('response-headers')));
  assert.deepEqual(body.routes.map((x) => x.id).sort(), ['meta/ping', 'shop/items', 'shop/slow']);
});

test('admin answers 404 with the endpoint list for unknown paths and 405 for non-GET', async () => {
  const nf = await fetch(`${gw.adminUrl}/nope`);
  assert.equal(nf.status, 404);
  const endpoints = ((await nf.json()) as { endpoints: string[] }).endpoints;
  assert.deepEqual(endpoints.slice(0, 4), ['/health', '/ready', '/routes', '/metrics']);
  // The Admin API's resources follow the probes (docs/admin-api.md).
  for (const p of ['/openapi.json', '/config', '/apis', '/upstreams']) assert.ok(endpoints.includes(p), p);
  const post = await fetch(`${gw.adminUrl}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  const head = await fetch(`${gw.adminUrl}/health`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
  // The admin endpoints are not on the data port.
  assert.equal((await request(`${gw.url}/metrics`)).status, 404);
});
