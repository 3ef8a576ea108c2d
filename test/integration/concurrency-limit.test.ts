/**
 * concurrency-limit through the real gateway process: with max 3 requests held by a real upstream, the
 * fourth is answered 503 with Retry-After and never reaches the upstream; capacity comes back when the
 * responses finish, when the clients abort (no leak: the full capacity is available again), and when
 * the upstream fails.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, deadPort, startUpstream } from '../helpers/upstream.js';

let gw: RunningGateway;
let held: Upstream;
const waiting: http.ServerResponse[] = [];
/** Held upstream responses whose connection the gateway closed before they were answered. */
let abortedHeld = 0;

before(async () => {
  held = await startUpstream((_req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) abortedHeld++;
    });
    waiting.push(res);
  });
  const dead = await deadPort();
  gw = await startGateway(`
server: { accessLog: false }
apis:
  - name: c
    routes:
      - name: held
        path: /held
        integration: { type: http, url: "${held.url}" }
        plugins:
          concurrency-limit: { max: 3, retryAfterSeconds: 2 }
      - name: dead
        path: /dead
        integration: { type: http, url: "http://127.0.0.1:${dead}" }
        plugins:
          concurrency-limit: { max: 1 }
`);
});

after(async () => {
  for (const r of waiting.splice(0)) r.destroy();
  await gw?.stop();
  await held?.close();
});

async function until(pred: () => boolean, ms: number, what: string | (() => string)): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function release(): void {
  for (const r of waiting.splice(0)) {
    r.writeHead(200, { 'content-type': 'text/plain' });
    r.end('done');
  }
}

/** Starts n requests that the upstream holds; resolves when all n have reached it. */
async function fill(n: number, signal?: AbortSignal): Promise<Promise<Response | undefined>[]> {
  const seen = held.seen.length;
  const pending = Array.from({ length: n }, () => fetch(`${gw.url}/held`, { signal }).catch(() => undefined));
  await until(() => held.seen.length === seen + n, 10_000, () => `${n} held requests at the upstream (saw ${held.seen.length - seen})`);
  return pending;
}

async function refusedOnce(): Promise<void> {
  const seen = held.seen.length;
  const res = await fetch(`${gw.url}/held`);
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '2');
  const body = (await res.json()) as { code: string };
  assert.equal(body.code, 'CONCURRENCY_LIMITED');
  assert.equal(held.seen.length, seen, 'the refused request never reached the upstream');
}

test('the fourth concurrent request gets 503 with Retry-After; finished responses free their slots', async () => {
  const pending = await fill(3);
  await refusedOnce();
  release();
  for (const r of await Promise.all(pending)) assert.equal(r?.status, 200);
  // Full capacity again: three more are held, the fourth refused.
  const again = await fill(3);
  await refusedOnce();
  release();
  await Promise.all(again);
});

test('aborted clients give their slots back: after aborts the full capacity is available', async () => {
  for (let round = 0; round < 3; round++) {
    const ac = new AbortController();
    const abortedBefore = abortedHeld;
    const pending = await fill(3, ac.signal);
    ac.abort();
    await Promise.all(pending);
    // The gateway cancels the upstream exchange when the client leaves: wait for those sockets to close.
    await until(() => abortedHeld === abortedBefore + 3, 10_000, 'the gateway to drop the aborted exchanges');
    waiting.splice(0);
  }
  const pending = await fill(3);
  await refusedOnce();
  release();
  for (const r of await Promise.all(pending)) assert.equal(r?.status, 200);
  const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('turnpike_concurrency_limit_rejected_total{scope="route:c/held"}'));
  assert.ok(line, metrics.slice(0, 500));
  assert.equal(Number(line.split(' ').pop()), 3);
});

test('an upstream failure frees the slot: sequential requests to a dead upstream are all 502, never 503', async () => {
  for (let k = 0; k < 5; k++) {
    const res = await fetch(`${gw.url}/dead`);
    assert.equal(res.status, 502);
    await res.text();
  }
});
