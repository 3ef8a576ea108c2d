/**
 * Retries in-process (test/helpers/inject.ts) against real upstream servers on 127.0.0.1:
 * a GET (and a PUT whose body was never read) to a dead target is retried to a live one; a POST is
 * never duplicated (dead target, 503, an upstream that reads the body then closes the connection,
 * also with retryNonIdempotent); retried statuses; and the retry budget caps retries at its share.
 * Every assertion counts requests on the upstream servers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, deadPort, startUpstream } from '../helpers/upstream.js';

let gw: InjectedGateway;
let live: Upstream;
let closer: Upstream;
let failing: Upstream;
let failing2: Upstream;
let dead: number;

const BUDGETLESS = 'budget: { percent: 100, minPerSecond: 1000 }';

before(async () => {
  live = await startUpstream((req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`live ${req.method} ${body.toString()}`);
  });
  // Reads the whole request, then drops the connection without answering.
  closer = await startUpstream((_req, res) => res.socket?.destroy());
  failing = await startUpstream((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('failing-a');
  });
  failing2 = await startUpstream((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('failing-b');
  });
  dead = await deadPort();
  gw = await injectGateway(`
server: { accessLog: false }
upstreams:
  deadfirst:
    targets: [{ url: "http://127.0.0.1:${dead}" }, { url: "${live.url}" }]
    retries: { maxRetries: 1, ${BUDGETLESS}, backoff: { baseMs: 5, maxMs: 20 } }
  deadpost:
    targets: [{ url: "http://127.0.0.1:${dead}" }, { url: "${live.url}" }]
    retries: { maxRetries: 1, retryNonIdempotent: true, ${BUDGETLESS} }
  closing:
    targets: [{ url: "${closer.url}" }, { url: "${live.url}" }]
    retries: { maxRetries: 2, statuses: [503], ${BUDGETLESS} }
  closingany:
    targets: [{ url: "${closer.url}" }, { url: "${live.url}" }]
    retries: { maxRetries: 2, retryNonIdempotent: true, ${BUDGETLESS} }
  status:
    targets: [{ url: "${failing.url}" }, { url: "${live.url}" }]
    retries: { maxRetries: 1, statuses: [503], ${BUDGETLESS} }
  budget:
    targets: [{ url: "${failing.url}" }, { url: "${failing2.url}" }]
    retries: { maxRetries: 1, statuses: [503], budget: { percent: 20, minPerSecond: 0 }, backoff: { baseMs: 0, maxMs: 0 } }
  noretry:
    targets: [{ url: "http://127.0.0.1:${dead}" }, { url: "${live.url}" }]
apis:
  - name: r
    routes:
      - { name: deadfirst, path: /deadfirst, integration: { type: http, upstream: deadfirst } }
      - { name: deadpost, path: /deadpost, integration: { type: http, upstream: deadpost } }
      - { name: deadpost-off, path: /deadpost-off, integration: { type: http, upstream: deadpost, retryNonIdempotent: false } }
      - { name: closing, path: /closing, integration: { type: http, upstream: closing } }
      - { name: closingany, path: /closingany, integration: { type: http, upstream: closingany } }
      - { name: status, path: /status, integration: { type: http, upstream: status } }
      - { name: budget, path: /budget, integration: { type: http, upstream: budget } }
      - { name: noretry, path: /noretry, integration: { type: http, upstream: noretry } }
`);
});

after(async () => {
  await gw?.close();
  await Promise.all([live, closer, failing, failing2].map((u) => u?.close()));
});

function reset(): void {
  for (const u of [live, closer, failing, failing2]) u.seen.length = 0;
}

async function call(method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await gw.fetch(gw.url + path, { method, body, headers: body !== undefined ? { 'content-type': 'text/plain' } : {} });
  return { status: res.status, text: await res.text() };
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await gw.fetch(`${gw.adminUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('a GET to a dead target is retried to the live one: every client sees 200', async () => {
  reset();
  const before = await metric('turnpike_upstream_retries_total', { upstream: 'deadfirst', reason: 'connect_failure', outcome: 'success' });
  for (let k = 0; k < 10; k++) {
    const r = await call('GET', `/deadfirst?k=${k}`);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /^live GET/);
  }
  assert.equal(live.seen.length, 10, 'each GET reached the live target exactly once');
  const retried = (await metric('turnpike_upstream_retries_total', { upstream: 'deadfirst', reason: 'connect_failure', outcome: 'success' })) - before;
  // A retry's pick also advances round-robin, so first tries land on the dead target at least every other time.
  assert.ok(retried >= 5 && retried <= 10, `retried ${retried}`);
});

test('without retries the same upstream answers 502 for the dead target', async () => {
  reset();
  const statuses: number[] = [];
  for (let k = 0; k < 4; k++) statuses.push((await call('GET', '/noretry')).status);
  assert.deepEqual(statuses.sort(), [200, 200, 502, 502]);
  assert.equal(live.seen.length, 2);
});

test('a PUT whose body was never read (connection refused) is retried with the whole body', async () => {
  reset();
  for (let k = 0; k < 4; k++) {
    const r = await call('PUT', '/deadfirst', `put-body-${k}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, `live PUT put-body-${k}`);
  }
  assert.deepEqual(live.seen.map((s) => s.body).sort(), ['put-body-0', 'put-body-1', 'put-body-2', 'put-body-3']);
});

test('POST is never re-sent by default: a dead target answers 502 and no POST arrives twice', async () => {
  reset();
  const statuses: number[] = [];
  for (let k = 0; k < 6; k++) statuses.push((await call('POST', '/deadpost-off', `p${k}`)).status);
  assert.deepEqual(statuses.sort(), [200, 200, 200, 502, 502, 502]);
  const bodies = live.seen.map((s) => s.body);
  assert.equal(bodies.length, 3);
  assert.equal(new Set(bodies).size, 3, 'each POST at most once');
});

test('POST with retryNonIdempotent to a dead target: retried (nothing was sent), arrives exactly once', async () => {
  reset();
  for (let k = 0; k < 4; k++) assert.equal((await call('POST', '/deadpost', `q${k}`)).status, 200);
  assert.deepEqual(live.seen.map((s) => s.body).sort(), ['q0', 'q1', 'q2', 'q3']);
});

test('an upstream that reads a POST body then closes: 502, the POST arrived exactly once, never at the other target', async () => {
  reset();
  const results: number[] = [];
  for (let k = 0; k < 4; k++) results.push((await call('POST', '/closing', `c${k}`)).status);
  // Round-robin: two POSTs hit the closer (502, not retried), two the live target.
  assert.deepEqual(results.sort(), [200, 200, 502, 502]);
  const atCloser = closer.seen.map((s) => s.body);
  const atLive = live.seen.map((s) => s.body);
  assert.equal(atCloser.length, 2);
  assert.equal(atLive.length, 2);
  assert.equal(new Set([...atCloser, ...atLive]).size, 4, 'no POST arrived twice anywhere');
});

test('even with retryNonIdempotent, a POST whose body was streamed to the upstream is not re-sent', async () => {
  reset();
  const results: number[] = [];
  for (let k = 0; k < 4; k++) results.push((await call('POST', '/closingany', `s${k}`)).status);
  assert.deepEqual(results.sort(), [200, 200, 502, 502]);
  assert.equal(closer.seen.length, 2);
  assert.equal(live.seen.length, 2);
  assert.equal(new Set([...closer.seen, ...live.seen].map((s) => s.body)).size, 4);
});

test('a GET to the upstream that closes after reading is retried to the other target', async () => {
  reset();
  for (let k = 0; k < 4; k++) assert.equal((await call('GET', '/closing')).status, 200);
  assert.equal(live.seen.length, 4);
  assert.ok(closer.seen.length >= 2 && closer.seen.length <= 4, `closer saw ${closer.seen.length}`);
});

test('retried statuses: a 503 GET goes to the other target; a 503 POST is answered as is, once', async () => {
  reset();
  for (let k = 0; k < 4; k++) {
    const r = await call('GET', '/status');
    assert.equal(r.status, 200, r.text);
  }
  assert.ok(failing.seen.length >= 2 && failing.seen.length <= 4, `failing saw ${failing.seen.length}`);
  assert.equal(live.seen.length, 4, 'every GET answered by the live target, once');
  reset();
  const posts: string[] = [];
  for (let k = 0; k < 4; k++) {
    const r = await call('POST', '/status', `x${k}`);
    posts.push(`${r.status} ${r.text.startsWith('live') ? 'live' : r.text}`);
  }
  assert.deepEqual(posts.sort(), ['200 live', '200 live', '503 failing-a', '503 failing-a']);
  assert.equal(failing.seen.length + live.seen.length, 4, 'four POSTs, four arrivals');
});

test('retry budget 20%: with every target failing, retries stay within 20% of requests and the rest is counted', async () => {
  reset();
  const exhaustedBefore = await metric('turnpike_upstream_retry_budget_exhausted_total', { upstream: 'budget' });
  const n = 20;
  for (let k = 0; k < n; k++) assert.equal((await call('GET', '/budget')).status, 503);
  const arrivals = failing.seen.length + failing2.seen.length;
  const retries = arrivals - n;
  assert.ok(retries <= n * 0.2, `retries ${retries} within 20% of ${n}`);
  assert.ok(retries >= 1, 'the budget does allow some retries');
  const exhausted = (await metric('turnpike_upstream_retry_budget_exhausted_total', { upstream: 'budget' })) - exhaustedBefore;
  assert.equal(exhausted + retries, n, 'every first-try failure was either retried or counted as over budget');
});
