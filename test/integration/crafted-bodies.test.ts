// Issue 11 through the real process: crafted bodies on AWS routes must not stall other clients.
// While an attacker sends (1) a 38-byte value that takes V8 over a minute on the OWASP e-mail pattern
// of a request-validator model, and (2) 8 MB bodies through a template that serialises and escapes the
// whole body, a control client on another route keeps answering quickly; the attacks get 400 / 200 (or
// 500 TEMPLATE_BUDGET_EXCEEDED past the render deadline); the gateway still serves afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { bigJsonBody as bigBody, craftedConfig, FREEZING_VALUE, PROTO_HEADERS, PROTO_QUERY } from '../inject/crafted-config.js';

let up: Upstream;
let gw: RunningGateway;
let tight: RunningGateway;

before(async () => {
  up = await startUpstream();
  const { dir, config } = craftedConfig(up.url);
  gw = await startGateway(config, { dir });
  // The same document with a render deadline no 8 MB render meets.
  const t = craftedConfig(up.url);
  tight = await startGateway(`server: { limits: { templateRenderMs: 300 } }\n${t.config}`, { dir: t.dir });
});
after(async () => {
  await Promise.all([gw?.stop(), tight?.stop()]);
  await up?.close();
});

function p99(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)] as number;
}

/** Sends requests one after another to `path` until `stop` resolves; returns each latency in ms. */
async function control(url: string, stop: Promise<unknown>): Promise<number[]> {
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  const out: number[] = [];
  while (!done) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  return out;
}

test('the OWASP-pattern value: each answered 400 at once, the control client unaffected', async (t) => {
  const attack = (async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${gw.url}/dev/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: FREEZING_VALUE }) });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  })();
  const latencies = await control(`${gw.url}/native/up`, attack);
  assert.deepEqual(await attack, Array(50).fill(400));
  t.diagnostic(`control: ${latencies.length} requests, p99 ${p99(latencies).toFixed(1)} ms`);
  // Before the fix one of these requests held the event loop for over a minute. The goal is a
  // p99 under 100 ms on an idle 2-core VM; the margin here is for a CI machine shared by several runs
  // (measured 250-520 ms at a load average of 16-20 on this VM).
  assert.ok(p99(latencies) < 1500, `control p99 ${p99(latencies).toFixed(0)} ms over ${latencies.length} requests`);
});

test('8 MB bodies through a whole-body template render off the event loop: the control client keeps answering', async (t) => {
  const body = bigBody();
  const attack = (async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${gw.url}/dev/passthrough`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await res.text();
      statuses.push(res.status);
      // The upstream echoes what it received: the rendered template, with the whole payload in body-json.
      if (res.status === 200) assert.ok(text.length > body.length, `the rendered body carries the whole payload (${text.length} chars)`);
    }
    return statuses;
  })();
  const latencies = await control(`${gw.url}/native/up`, attack);
  assert.deepEqual(await attack, [200, 200, 200]);
  t.diagnostic(`control: ${latencies.length} requests, p99 ${p99(latencies).toFixed(1)} ms`);
  // Inline, each render held the event loop for 1.5-4 s; off-thread the control client only sees the
  // body's parse and copy on the main thread.
  assert.ok(p99(latencies) < 1500, `control p99 ${p99(latencies).toFixed(0)} ms over ${latencies.length} requests`);
  assert.ok(latencies.length >= 5, `only ${latencies.length} control requests completed`);
});

test('past server.limits.templateRenderMs the render is cut off: 500, error TEMPLATE_BUDGET_EXCEEDED, still serving', async () => {
  const res = await fetch(`${tight.url}/dev/passthrough`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bigBody() });
  assert.equal(res.status, 500);
  assert.deepEqual(await res.json(), { message: 'Internal server error' });
  const line = await tight.waitForLog((l) => l.path === '/dev/passthrough' && l.status === 500, 10_000);
  assert.equal(line.error, 'TEMPLATE_BUDGET_EXCEEDED');
  // The terminated render thread is replaced: small bodies render inline, large ones get a new thread.
  const ok = await fetch(`${tight.url}/dev/passthrough`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"small":true}' });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /small/);
});

test('proto-named query parameters and headers through the real process: non-proxy routes answer 200', async () => {
  const res = await fetch(`${gw.url}/dev/mapped?${PROTO_QUERY}`, { headers: PROTO_HEADERS });
  assert.equal(res.status, 200);
  const seen = (await res.json()) as { url: string };
  assert.match(seen.url, /constructor=q-constructor/);
  assert.match(seen.url, /__proto__=q-__proto__/);
});
