/**
 * Circuit breaker in-process (test/helpers/inject.ts): consecutive failures open a target (no request
 * reaches it while open, counted on the server), after openMs one probe is let through (half-open);
 * a failed probe re-opens, a successful one closes. State on the admin port (/routes, /metrics) and in
 * the logs. With every target open the gateway answers 503 at once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const OPEN_MS = 2_000;

let gw: InjectedGateway;
let bad: Upstream;
let good: Upstream;
let badOk = false;
let other: Upstream;

before(async () => {
  bad = await startUpstream((_req, res) => {
    res.writeHead(badOk ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(badOk ? 'bad-recovered' : 'bad');
  });
  good = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('good');
  });
  other = await startUpstream((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end('other');
  });
  gw = await injectGateway(`
server: { accessLog: false }
upstreams:
  cb:
    targets: [{ url: "${bad.url}" }, { url: "${good.url}" }]
    circuitBreaker: { consecutiveFailures: 3, openMs: ${OPEN_MS}, halfOpenRequests: 1 }
  allbad:
    targets: [{ url: "${bad.url}/x" }, { url: "${other.url}" }]
    circuitBreaker: { consecutiveFailures: 2, openMs: 60000 }
apis:
  - name: b
    routes:
      - { name: cb, path: /cb, integration: { type: http, upstream: cb } }
      - { name: allbad, path: /allbad, integration: { type: http, upstream: allbad } }
`);
});

after(async () => {
  await gw?.close();
  await Promise.all([bad, good, other].map((u) => u?.close()));
});

async function get(path: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await gw.fetch(gw.url + path);
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

async function circuit(route: string): Promise<Record<string, string>> {
  const body = (await (await gw.fetch(`${gw.adminUrl}/routes`)).json()) as { routes: { name: string; integration: { circuit?: { target: string; state: string }[] } }[] };
  const r = body.routes.find((x) => x.name === route);
  return Object.fromEntries((r?.integration.circuit ?? []).map((c) => [c.target, c.state]));
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

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - performance.now())));

test('closed → open → half-open → open on a failed probe → half-open → closed on a successful one', async () => {
  assert.deepEqual(await circuit('cb'), { [bad.url]: 'closed', [good.url]: 'closed' });

  // Closed: round-robin alternates; the third consecutive 503 from `bad` opens its circuit.
  let openedAt = 0;
  for (let k = 0; k < 20 && bad.seen.length < 3; k++) {
    await get('/cb');
    openedAt = performance.now();
  }
  assert.equal(bad.seen.length, 3);
  assert.equal((await circuit('cb'))[bad.url], 'open');
  assert.equal(await metric('turnpike_upstream_circuit_state', { upstream: 'cb', target: bad.url }), 1);
  await gw.waitForLog((l) => l.msg === 'circuit open' && l.target === bad.url);

  // Open: no request reaches `bad` (counted on the server) while openMs has not passed.
  for (let k = 0; k < 10; k++) {
    const r = await get('/cb');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'good');
  }
  assert.ok(performance.now() - openedAt < OPEN_MS, 'the open-state requests were all sent within openMs (slow machine?)');
  assert.equal(bad.seen.length, 3, 'no traffic to an open target');

  // Half-open after openMs: exactly one probe goes to `bad`; it fails (503) and the circuit re-opens.
  await sleepUntil(openedAt + OPEN_MS + 100);
  const probeStatuses: number[] = [];
  for (let k = 0; k < 6; k++) probeStatuses.push((await get('/cb')).status);
  const reopenedAt = performance.now();
  assert.equal(bad.seen.length, 4, 'one probe, no more');
  assert.equal(probeStatuses.filter((s) => s === 503).length, 1, 'the probe failed, the other requests went to good');
  assert.equal((await circuit('cb'))[bad.url], 'open');
  assert.equal(await metric('turnpike_upstream_circuit_transitions_total', { upstream: 'cb', target: bad.url, to: 'half-open' }), 1);
  assert.equal(await metric('turnpike_upstream_circuit_transitions_total', { upstream: 'cb', target: bad.url, to: 'open' }), 2);

  // Recovered: after openMs the probe succeeds and the circuit closes; traffic is shared again.
  badOk = true;
  await sleepUntil(reopenedAt + OPEN_MS + 100);
  const texts: string[] = [];
  for (let k = 0; k < 8; k++) texts.push((await get('/cb')).text);
  assert.equal((await circuit('cb'))[bad.url], 'closed');
  assert.ok(texts.filter((t) => t === 'bad-recovered').length >= 3, `traffic back on the recovered target: ${texts.join(',')}`);
  assert.equal(await metric('turnpike_upstream_circuit_transitions_total', { upstream: 'cb', target: bad.url, to: 'closed' }), 1);
  assert.equal(await metric('turnpike_upstream_circuit_state', { upstream: 'cb', target: bad.url }), 0);
  await gw.waitForLog((l) => l.msg === 'circuit closed' && l.target === bad.url);
});

test('every target open: 503 Service Unavailable at once, nothing sent upstream', async () => {
  badOk = false;
  // 502 from `other` and 503 from `bad` are failures by default; two each open both circuits.
  for (let k = 0; k < 4; k++) await get('/allbad');
  const state = await circuit('allbad');
  assert.deepEqual(Object.values(state), ['open', 'open']);
  const seenBad = bad.seen.length;
  const seenOther = other.seen.length;
  for (let k = 0; k < 5; k++) {
    const r = await get('/allbad');
    assert.equal(r.status, 503);
    const body = JSON.parse(r.text) as { message: string; code: string };
    assert.equal(body.message, 'Service Unavailable');
    assert.equal(body.code, 'SERVICE_UNAVAILABLE');
    assert.ok(r.ms < 500, `answered at once (${r.ms.toFixed(0)} ms)`);
  }
  assert.equal(bad.seen.length, seenBad);
  assert.equal(other.seen.length, seenOther);
});
