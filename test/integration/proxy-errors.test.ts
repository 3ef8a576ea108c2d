/**
 * Upstream failures through the real process: each one ends in a coded JSON error (before the
 * status line went out) or an aborted client connection (after), within a bound; never a hang,
 * never a truncated body that looks complete; and the gateway keeps serving afterwards.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type NetServer, onRequestHead, rawExchange, startNetServer, within } from '../helpers/proxy.js';
import { type Upstream, deadPort, startUpstream } from '../helpers/upstream.js';

let gw: RunningGateway;
let ok: Upstream;
let slow: Upstream;
let hang: NetServer;
let reset: NetServer;
let garbage: NetServer;
let truncated: NetServer;
let headersOnly: NetServer;
let held: Upstream;
/** Set when the slow upstream sees its request's socket close (the gateway aborted it). */
let slowClosedAt = 0;

interface ErrorBody {
  code: string;
  requestId: string;
  message: string;
}

before(async () => {
  ok = await startUpstream();
  slow = await startUpstream(
    (req, res) => {
      slowClosedAt = 0;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      let i = 0;
      const t = setInterval(() => {
        res.write(`more-${i++}\n`);
        if (i === 50) {
          clearInterval(t);
          res.end();
        }
      }, 100);
      res.on('close', () => {
        clearInterval(t);
        slowClosedAt = performance.now();
      });
      req.resume();
    },
    { raw: true },
  );
  const sockets: net.Socket[] = [];
  hang = await startNetServer((s) => {
    sockets.push(s); // accepts, reads, never answers
    s.resume();
  });
  reset = await startNetServer((s) => onRequestHead(s, () => {
    s.write('HTTP/1.1 200 OK\r\ncontent-type: text/pl');
    setTimeout(() => s.resetAndDestroy(), 20);
  }));
  garbage = await startNetServer((s) => onRequestHead(s, () => s.end('garbage\r\n\r\n')));
  truncated = await startNetServer((s) =>
    onRequestHead(s, () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n0123456789');
      setTimeout(() => s.end(), 50);
    }),
  );
  headersOnly = await startNetServer((s) =>
    onRequestHead(s, () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n');
      setTimeout(() => s.end(), 50);
    }),
  );
  held = await startUpstream(
    (req, res) => {
      req.resume();
      const t = setTimeout(() => res.end('late'), 2_000); // headers only after 2 s
      res.on('close', () => clearTimeout(t));
    },
    { raw: true },
  );
  const dead = await deadPort();
  const route = (name: string, url: string, timeouts = '') =>
    `      - name: ${name}\n        path: /${name}\n        integration: { type: http, url: "${url}"${timeouts}, path: / }\n`;
  gw = await startGateway(`
upstreams:
  one-connection:
    targets: [{ url: "${held.url}" }]
    connections: 1
    timeouts: { firstByteMs: 5000, totalMs: 800 }
apis:
  - name: errors
    routes:
${route('ok', ok.url)}${route('hang', hang.url, ', timeouts: { firstByteMs: 300 }')}${route('slow', slow.url, ', timeouts: { totalMs: 1000 }')}${route('dead', `http://127.0.0.1:${dead}`)}${route('reset', reset.url)}${route('garbage', garbage.url)}${route('truncated', truncated.url)}${route('headers-only', headersOnly.url)}      - { name: held, path: "/held/{n}", integration: { type: http, upstream: one-connection } }
`);
});
after(async () => {
  await gw?.stop();
  await Promise.all([ok, slow, hang, reset, garbage, truncated, headersOnly, held].map((s) => s?.close()));
});

/** GET through the gateway; resolves with the status, headers, elapsed time and the parsed error body. */
async function getError(path: string, boundMs = 5_000): Promise<{ status: number; body: ErrorBody; requestId: string | null; elapsed: number }> {
  const t0 = performance.now();
  const res = await within(fetch(`${gw.url}${path}`, { signal: AbortSignal.timeout(boundMs) }), boundMs + 500, path);
  const body = (await res.json()) as ErrorBody;
  return { status: res.status, body, requestId: res.headers.get('x-request-id'), elapsed: performance.now() - t0 };
}

/** The access-log line of one request: the failure is recorded with the upstream's error code. */
function accessLine(requestId: string | null) {
  return gw.waitForLog((l) => l.type === 'access' && l.requestId === requestId, 3_000);
}

async function assertStillServing(): Promise<void> {
  const res = await within(fetch(`${gw.url}/ok`), 5_000, 'follow-up request');
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { url: string }).url, '/');
}

test('an upstream that accepts but never answers is a 504 UPSTREAM_TIMEOUT after firstByteMs', async () => {
  const r = await getError('/hang');
  assert.equal(r.status, 504);
  assert.equal(r.body.code, 'UPSTREAM_TIMEOUT');
  assert.equal((await accessLine(r.requestId)).error, 'UPSTREAM_TIMEOUT');
  assert.ok(r.requestId);
  assert.equal(r.body.requestId, r.requestId);
  assert.ok(r.elapsed >= 250 && r.elapsed < 2_000, `answered after ${r.elapsed.toFixed(0)} ms (firstByteMs 300)`);
  await assertStillServing();
});

test('totalMs aborts a slow body after the status line went out: the client sees an aborted response', async () => {
  const t0 = performance.now();
  const res = await within(fetch(`${gw.url}/slow`, { signal: AbortSignal.timeout(8_000) }), 9_000, 'slow headers');
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  await assert.rejects(within(res.text(), 8_000, 'slow body'), (err: Error) => err.name !== 'AbortError' && !/no result within/.test(err.message));
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 900 && elapsed < 3_000, `aborted after ${elapsed.toFixed(0)} ms (totalMs 1000; the upstream needs 5 s)`);
  // The upstream exchange is torn down too, not left streaming into the void.
  for (let i = 0; i < 50 && slowClosedAt === 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(slowClosedAt > 0 && slowClosedAt - t0 < 3_000, 'the upstream request was aborted');
  const log = await accessLine(id);
  assert.equal(log.error, 'UPSTREAM_TIMEOUT');
  assert.equal(log.status, 200);
  await assertStillServing();
});

test('totalMs also bounds a request still queued for a pool connection', async () => {
  // connections: 1 and the upstream holds each request 2 s: the second request waits in the pool queue.
  const [first, second] = await within(Promise.all([getError('/held/1'), getError('/held/2')]), 5_000, 'queued requests');
  for (const r of [first, second]) {
    assert.equal(r.status, 504);
    assert.equal(r.body.code, 'UPSTREAM_TIMEOUT');
    assert.equal(r.body.requestId, r.requestId);
    assert.ok(r.elapsed < 1_600, `answered after ${r.elapsed.toFixed(0)} ms (totalMs 800)`);
  }
  await assertStillServing();
});

test('connection refused is a 502 UPSTREAM_UNAVAILABLE', async () => {
  const r = await getError('/dead');
  assert.equal(r.status, 502);
  assert.equal(r.body.code, 'UPSTREAM_UNAVAILABLE');
  assert.equal(r.body.requestId, r.requestId);
  assert.ok(r.elapsed < 2_000, `answered after ${r.elapsed.toFixed(0)} ms`);
  await assertStillServing();
});

test('an upstream that resets the connection in the middle of its headers is a 502', async () => {
  const r = await getError('/reset');
  assert.equal(r.status, 502);
  assert.ok(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_BAD_RESPONSE'].includes(r.body.code), r.body.code);
  assert.equal(r.body.requestId, r.requestId);
  await assertStillServing();
});

test('garbage instead of HTTP is a 502 UPSTREAM_BAD_RESPONSE', async () => {
  const r = await getError('/garbage');
  assert.equal(r.status, 502);
  assert.equal(r.body.code, 'UPSTREAM_BAD_RESPONSE');
  assert.equal(r.body.requestId, r.requestId);
  await assertStillServing();
});

test('a truncated upstream body never reaches the client as a complete response', async () => {
  // fetch: the body read must fail.
  const res = await within(fetch(`${gw.url}/truncated`, { signal: AbortSignal.timeout(5_000) }), 6_000, 'truncated headers');
  assert.equal(res.status, 200);
  const id = res.headers.get('x-request-id');
  await assert.rejects(within(res.arrayBuffer(), 5_000, 'truncated body'), (err: Error) => !/no result within/.test(err.message));
  // Logged as the upstream's failure, not as a client error.
  assert.ok(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_BAD_RESPONSE'].includes((await accessLine(id)).error as string));
  // Raw bytes: whatever framing the gateway chose, it is left unsatisfied when the connection closes.
  const raw = await rawExchange(gw.port, 'GET /truncated HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  assert.equal(raw.status, 200);
  assert.equal(raw.complete, false, `response looked complete: ${raw.raw.toString('latin1')}`);
  await assertStillServing();
});

test('an upstream that closes right after its headers never yields a complete response', async () => {
  const raw = await rawExchange(gw.port, 'GET /headers-only HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
  // Either a 502 (nothing was sent yet) or an aborted 200: never a clean, complete 200.
  if (raw.status === 200) assert.equal(raw.complete, false, `response looked complete: ${raw.raw.toString('latin1')}`);
  else if (raw.status !== 0) {
    assert.equal(raw.status, 502);
    assert.equal((JSON.parse(raw.body.toString()) as ErrorBody).code, 'UPSTREAM_BAD_RESPONSE');
  }
  await assertStillServing();
});

test('a burst of failing requests all finish within a bound and the gateway keeps serving', async () => {
  const paths = ['/hang', '/dead', '/reset', '/garbage', '/truncated', '/headers-only', '/ok'];
  const t0 = performance.now();
  const results = await within(
    Promise.all(
      Array.from({ length: 28 }, (_, i) =>
        new Promise<string>((resolve) => {
          const p = paths[i % paths.length] as string;
          const req = http.get(`${gw.url}${p}`, { agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(`${p}:${res.statusCode}`));
            res.on('error', () => resolve(`${p}:aborted`));
            res.on('aborted', () => resolve(`${p}:aborted`));
          });
          req.on('error', () => resolve(`${p}:error`));
        }),
      ),
    ),
    6_000,
    'burst',
  );
  assert.ok(performance.now() - t0 < 6_000);
  for (const r of results) {
    if (r.startsWith('/ok:')) assert.equal(r, '/ok:200');
    if (r.startsWith('/hang:')) assert.equal(r, '/hang:504');
    if (r.startsWith('/dead:') || r.startsWith('/garbage:') || r.startsWith('/reset:')) assert.match(r, /:502$/);
  }
  await assertStillServing();
});
