// Request limits through the real gateway process, with raw sockets so nothing normalises the
// request away: header bytes (431), header count (431), URL (414), body (413), both with the
// defaults (src/compile/compile.ts DEFAULT_LIMITS) and with smaller configured values. Every
// answer is a JSON error with an x-request-id equal to its requestId, and the process survives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RecordingUpstream, assertAlive, assertJsonError, startRecordingUpstream } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';

const MiB = 1024 * 1024;

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
let def: RunningGateway; // default limits
let small: RunningGateway; // configured smaller
let defPid: number | undefined;
let smallPid: number | undefined;

before(async () => {
  up = await startRecordingUpstream();
  [def, small] = await Promise.all([
    startGateway(config(up.url)),
    startGateway(config(up.url, '{ headerBytes: 2048, headerCount: 10, urlBytes: 256, bodyBytes: 1000 }')),
  ]);
  defPid = def.proc.pid;
  smallPid = small.proc.pid;
});
after(async () => {
  await Promise.all([def?.stop(), small?.stop()]);
  await up?.close();
});

/** n header lines of the form x-h<i>: v */
const headers = (n: number): string[] => Array.from({ length: n }, (_, i) => `x-h${i}: v`);
const arrivalsFor = (prefix: string) => up.arrivals.filter((a) => a.url.startsWith(prefix));

test('header bytes: default 16 KiB -> 431 above, 200 below', async () => {
  const below = await rawRequest(def.port, rawGet('/ok', [`x-big: ${'a'.repeat(15_000)}`]));
  assert.equal(below.status, 200);
  const above = await rawRequest(def.port, rawGet('/ok', [`x-big: ${'a'.repeat(17_000)}`]));
  assertJsonError(above, 431, 'HEADERS_TOO_LARGE');
  // many medium headers adding up past the limit (count within the limit)
  const spread = await rawRequest(def.port, rawGet('/ok', Array.from({ length: 20 }, (_, i) => `x-p${i}: ${'b'.repeat(900)}`)));
  assertJsonError(spread, 431, 'HEADERS_TOO_LARGE');
  await assertAlive(def, defPid);
});

test('header bytes: configured 2048 -> 431', async () => {
  assert.equal((await rawRequest(small.port, rawGet('/ok', [`x-big: ${'a'.repeat(1_500)}`]))).status, 200);
  assertJsonError(await rawRequest(small.port, rawGet('/ok', [`x-big: ${'a'.repeat(2_100)}`])), 431, 'HEADERS_TOO_LARGE');
  await assertAlive(small, smallPid);
});

test('header count: default 100 -> 431 at 101, 200 at 100', async () => {
  // rawGet adds Host and Connection
  assert.equal((await rawRequest(def.port, rawGet('/ok', headers(98)))).status, 200);
  assertJsonError(await rawRequest(def.port, rawGet('/ok', headers(99))), 431, 'TOO_MANY_HEADERS');
  // 1000 small headers: fewer bytes than the byte limit, far more than the count limit
  assertJsonError(await rawRequest(def.port, rawGet('/ok', headers(1000).map((_, i) => `h${i}:1`))), 431, 'TOO_MANY_HEADERS');
  await assertAlive(def, defPid);
});

test('header count: configured 10 -> 431', async () => {
  assert.equal((await rawRequest(small.port, rawGet('/ok', headers(8)))).status, 200);
  assertJsonError(await rawRequest(small.port, rawGet('/ok', headers(9))), 431, 'TOO_MANY_HEADERS');
  await assertAlive(small, smallPid);
});

test('URL: default 8 KiB -> 414 above, 200 at exactly 8192', async () => {
  const exact = `/ok?pad=${'x'.repeat(8192 - '/ok?pad='.length)}`;
  assert.equal(exact.length, 8192);
  assert.equal((await rawRequest(def.port, rawGet(exact))).status, 200);
  assertJsonError(await rawRequest(def.port, rawGet(`${exact}y`)), 414, 'URI_TOO_LONG');
  // longer than the header-bytes limit: Node's parser rejects it (clientError path), still a 414
  assertJsonError(await rawRequest(def.port, rawGet(`/ok?pad=${'x'.repeat(20_000)}`)), 414, 'URI_TOO_LONG');
  assertJsonError(await rawRequest(def.port, rawGet(`/${'p/'.repeat(10_000)}`)), 414, 'URI_TOO_LONG');
  await assertAlive(def, defPid);
});

test('URL: configured 256 -> 414; longer than headerBytes (2048) -> 414', async () => {
  assert.equal((await rawRequest(small.port, rawGet(`/ok?p=${'x'.repeat(200)}`))).status, 200);
  assertJsonError(await rawRequest(small.port, rawGet(`/ok?p=${'x'.repeat(300)}`)), 414, 'URI_TOO_LONG');
  assertJsonError(await rawRequest(small.port, rawGet(`/ok?p=${'x'.repeat(3_000)}`)), 414, 'URI_TOO_LONG');
  // a short URL with too many header bytes stays a 431
  assertJsonError(await rawRequest(small.port, rawGet('/ok', [`x-big: ${'a'.repeat(3_000)}`])), 431, 'HEADERS_TOO_LARGE');
  await assertAlive(small, smallPid);
});

test('body: Content-Length above the default 10 MiB -> 413 before the upstream is contacted', async () => {
  const before = up.arrivals.length;
  const res = await rawRequest(def.port, `POST /up/cl-default HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${10 * MiB + 1}\r\n\r\n`);
  assertJsonError(res, 413, 'BODY_TOO_LARGE');
  assert.equal(up.arrivals.length, before, 'upstream must not see the request');
  // at the limit exactly, the body is proxied
  const ok = await rawRequest(def.port, [`POST /up/cl-default-ok HTTP/1.1\r\nHost: gw.test\r\nContent-Length: ${10 * MiB}\r\nConnection: close\r\n\r\n`, Buffer.alloc(10 * MiB, 97)], {
    timeoutMs: 10_000,
  });
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as { bodyBytes: number }).bodyBytes, 10 * MiB);
  await assertAlive(def, defPid);
});

test('body: Content-Length above a configured 1000 -> 413, upstream untouched', async () => {
  const before = up.arrivals.length;
  const res = await rawRequest(small.port, [`POST /up/cl-small HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1001\r\n\r\n`, 'a'.repeat(1001)]);
  assertJsonError(res, 413, 'BODY_TOO_LARGE');
  assert.equal(up.arrivals.length, before);
  const ok = await rawRequest(small.port, `POST /up/cl-small-ok HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${'a'.repeat(1000)}`);
  assert.equal(ok.status, 200);
  await assertAlive(small, smallPid);
});

const chunk = (data: string | Buffer): Buffer => Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), Buffer.from(data), Buffer.from('\r\n')]);

/** Gives an aborted upstream exchange time to show up (or not) in the upstream's records. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

test('body: chunked body growing past a configured 1000 -> 413 (or abort); upstream never gets a complete request', async () => {
  const res = await rawRequest(
    small.port,
    ['POST /up/chunked-small HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n', chunk('a'.repeat(600)), chunk('b'.repeat(600)), chunk('c'.repeat(600)), '0\r\n\r\n'],
    { intervalMs: 50, waitForCloseMs: 2_000 },
  );
  if (res.status !== 0) assertJsonError(res, 413, 'BODY_TOO_LARGE');
  else assert.equal(res.outcome, 'closed');
  // the rest of the body is never read, so the connection must be closed rather than left hanging
  if (res.status !== 0) assert.ok(res.closedAfterResponse, 'keep-alive connection left open with an unread body');
  await settle();
  for (const a of arrivalsFor('/up/chunked-small')) {
    assert.equal(a.complete, false, 'upstream received a complete over-limit request');
    assert.ok(a.bodyBytes <= 1000);
  }
  // within the limit, chunked is proxied whole
  const ok = await rawRequest(small.port, ['POST /up/chunked-small-ok HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', chunk('a'.repeat(500)), chunk('b'.repeat(500)), '0\r\n\r\n'], {
    intervalMs: 20,
  });
  assert.equal(ok.status, 200);
  assert.equal((JSON.parse(ok.body) as { bodyBytes: number }).bodyBytes, 1000);
  await assertAlive(small, smallPid);
});

test('body: chunked body growing past the default 10 MiB -> 413 (or abort); upstream never gets a complete request', async () => {
  const parts: (string | Buffer)[] = ['POST /up/chunked-default HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n'];
  const piece = chunk(Buffer.alloc(MiB, 98));
  for (let i = 0; i < 11; i++) parts.push(piece);
  parts.push('0\r\n\r\n');
  const res = await rawRequest(def.port, parts, { timeoutMs: 10_000 });
  if (res.status !== 0) assertJsonError(res, 413, 'BODY_TOO_LARGE');
  else assert.equal(res.outcome, 'closed');
  await settle();
  for (const a of arrivalsFor('/up/chunked-default')) {
    assert.equal(a.complete, false, 'upstream received a complete over-limit request');
    assert.ok(a.bodyBytes <= 10 * MiB);
  }
  await assertAlive(def, defPid);
});
