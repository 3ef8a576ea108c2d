// Slow clients through the real gateway process: headers dribbled past headersTimeoutMs and a body
// dribbled past requestTimeoutMs are answered 408 with a JSON error and the process keeps serving.
// The default headers timeout (10 s) is checked too; the default request timeout (30 s) is not,
// to keep this file's run time bounded (the same code path is covered with a configured value).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RecordingUpstream, assertAlive, assertJsonError, startRecordingUpstream } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw-http.js';

function config(upstreamUrl: string, limits?: string): string {
  return `
server:
  accessLog: false
${limits ? `  limits: ${limits}` : ''}
upstreams:
  backend:
    targets: [{ url: "${upstreamUrl}" }]
apis:
  - name: edge
    routes:
      - name: ok
        path: /ok
        integration: { type: mock, body: { ok: true } }
      - name: proxy
        path: /up/{proxy+}
        integration: { type: http, upstream: backend }
`;
}

let up: RecordingUpstream;
let def: RunningGateway;
let fast: RunningGateway;

before(async () => {
  up = await startRecordingUpstream();
  [def, fast] = await Promise.all([
    startGateway(config(up.url)),
    startGateway(config(up.url, '{ headersTimeoutMs: 600, requestTimeoutMs: 1500 }')),
  ]);
});
after(async () => {
  await Promise.all([def?.stop(), fast?.stop()]);
  await up?.close();
});

/** The request line and Host, then one header line every `intervalMs`, `n` times, then the end of the headers. */
function dribbledHeaders(n: number): string[] {
  return ['GET /ok HTTP/1.1\r\nHost: gw.test\r\n', ...Array.from({ length: n }, (_, i) => `x-slow-${i}: 1\r\n`), '\r\n'];
}

test('headers slower than a configured headersTimeoutMs (600) -> 408', async () => {
  const pid = fast.proc.pid;
  const res = await rawRequest(fast.port, dribbledHeaders(20), { intervalMs: 150, timeoutMs: 5_000 });
  assertJsonError(res, 408, 'REQUEST_TIMEOUT');
  // Node checks the timers every min(1 s, headersTimeoutMs): the answer comes after 600 ms and well before the dribble ends (3 s)
  assert.ok(res.elapsedMs >= 550 && res.elapsedMs < 2_500, `408 after ${res.elapsedMs} ms`);
  // the same headers sent at a normal pace are served
  assert.equal((await rawRequest(fast.port, dribbledHeaders(3), { intervalMs: 50 })).status, 200);
  await assertAlive(fast, pid);
});

test('a body slower than a configured requestTimeoutMs (1500) -> 408; the upstream never gets a complete request', async () => {
  const pid = fast.proc.pid;
  const parts = ['POST /up/slow-body HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 40\r\n\r\n', ...Array.from({ length: 40 }, () => 'a')];
  const res = await rawRequest(fast.port, parts, { intervalMs: 100, timeoutMs: 6_000 });
  const body = assertJsonError(res, 408, 'REQUEST_TIMEOUT');
  assert.ok(res.elapsedMs >= 1_400 && res.elapsedMs < 3_500, `408 after ${res.elapsedMs} ms`);
  await new Promise((r) => setTimeout(r, 200));
  const seen = up.arrivals.filter((a) => a.url === '/up/slow-body');
  for (const a of seen) {
    assert.equal(a.complete, false);
    // the in-flight request keeps its id: the upstream saw the same one the client got
    assert.equal(a.headers['x-request-id'], body.requestId);
  }
  // a chunked body, same story
  const chunked = ['POST /up/slow-chunked HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n', ...Array.from({ length: 40 }, () => '1\r\na\r\n'), '0\r\n\r\n'];
  assertJsonError(await rawRequest(fast.port, chunked, { intervalMs: 100, timeoutMs: 6_000 }), 408, 'REQUEST_TIMEOUT');
  await new Promise((r) => setTimeout(r, 200));
  for (const a of up.arrivals.filter((x) => x.url === '/up/slow-chunked')) assert.equal(a.complete, false);
  await assertAlive(fast, pid);
});

test('default headersTimeoutMs (10 s) -> 408 after about 10 s', async () => {
  const pid = def.proc.pid;
  const res = await rawRequest(def.port, dribbledHeaders(30), { intervalMs: 500, timeoutMs: 14_000 });
  assertJsonError(res, 408, 'REQUEST_TIMEOUT');
  assert.ok(res.elapsedMs >= 9_500 && res.elapsedMs < 12_500, `408 after ${res.elapsedMs} ms`);
  await assertAlive(def, pid);
});
