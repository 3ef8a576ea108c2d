/**
 * Issue 11, Upstreams: answers the gateway must hold whole are bounded. AWS non-proxy `http`
 * integrations read at most `server.limits.upstreamResponseBytes` (AWS's 10 MB by default; 2 MiB
 * here) and answer 502 past it, logged UPSTREAM_RESPONSE_TOO_LARGE; a remote function's answer is
 * cut at Lambda's 6 MB; a proxied (streamed) answer is not limited. Through the real process: the
 * gateway's memory is what is at stake (a 400 MB answer once took it to 1.8 GB).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 120);
let gw: RunningGateway;
let up: http.Server;
let upUrl = '';
/** Bytes the upstream managed to write for the last /big request before the gateway cut it. */
let lastWritten = 0;

before(async () => {
  up = http.createServer((req, res) => {
    req.resume();
    // /big/{MiB}/{cl|chunked}: that many MiB, with or without a Content-Length.
    const big = /^\/big\/(\d+)\/(cl|chunked)/.exec(req.url ?? '');
    if (big) {
      const total = Number(big[1]) * MiB;
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...(big[2] === 'cl' ? { 'content-length': String(total) } : {}) });
      let sent = 0;
      lastWritten = 0;
      const pump = () => {
        while (sent < total) {
          sent += CHUNK.length;
          lastWritten = sent;
          if (!res.write(CHUNK)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return;
    }
    // A Lambda Invoke API: `huge` answers a 7 MB JSON string, anything else a small proxy answer.
    if (req.url?.includes('/functions/huge/')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify('y'.repeat(7 * MiB)));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ statusCode: 200, body: 'fine' }));
  });
  await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${(up.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-caps-'));
  const integration = (path: string) =>
    `{ type: http, httpMethod: GET, uri: "${upUrl}${path}", responses: { default: { statusCode: "200" } }, passthroughBehavior: when_no_match }`;
  writeFileSync(
    join(dir, 'api.yaml'),
    `openapi: 3.0.1
info: { title: caps, version: '1' }
paths:
  /within:
    get:
      x-amazon-apigateway-integration: ${integration('/big/1/cl')}
  /declared:
    get:
      x-amazon-apigateway-integration: ${integration('/big/3/cl')}
  /chunked:
    get:
      x-amazon-apigateway-integration: ${integration('/big/400/chunked')}
`,
  );
  gw = await startGateway(
    `
server:
  limits: { upstreamResponseBytes: ${2 * MiB} }
functions:
  huge: { endpoint: "${upUrl}" }
  fine: { endpoint: "${upUrl}" }
apis:
  - name: aws
    openapi: api.yaml
  - name: native
    routes:
      - { path: /stream, integration: { type: http, url: "${upUrl}", path: /big/50/chunked } }
      - { methods: [GET], path: /fn-huge, integration: { type: function, function: huge, apiType: rest } }
      - { methods: [GET], path: /fn-fine, integration: { type: function, function: fine } }
`,
    { dir },
  );
});

after(async () => {
  await gw?.stop();
  up?.closeAllConnections();
  await new Promise<void>((r) => up.close(() => r()));
});

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const errorOf = async (path: string) => (await gw.waitForLog((l) => l.path === path && l.status !== undefined)).error;

test('an AWS http integration answer within the limit passes whole', async () => {
  const res = await fetch(`${gw.url}/dev/within`);
  assert.equal(res.status, 200);
  assert.equal((await res.arrayBuffer()).byteLength, MiB);
});

test('a declared Content-Length over upstreamResponseBytes: 502 at once, logged UPSTREAM_RESPONSE_TOO_LARGE', async () => {
  const res = await fetch(`${gw.url}/dev/declared`);
  assert.equal(res.status, 502);
  await res.arrayBuffer();
  assert.equal(await errorOf('/dev/declared'), 'UPSTREAM_RESPONSE_TOO_LARGE');
});

test('a 400 MB chunked answer is cut at the limit: 502 quickly, the gateway memory stays bounded', async () => {
  const pid = gw.proc.pid as number;
  const before = rssMiB(pid);
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/dev/chunked`);
  assert.equal(res.status, 502);
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  const grew = rssMiB(pid) - before;
  assert.equal(await errorOf('/dev/chunked'), 'UPSTREAM_RESPONSE_TOO_LARGE');
  assert.ok(ms < 10_000, `answered in ${ms.toFixed(0)} ms`);
  assert.ok(grew < 100, `gateway RSS grew ${grew.toFixed(1)} MiB reading a 400 MB answer`);
  assert.ok(lastWritten < 100 * MiB, `the upstream was cut off after ${(lastWritten / MiB).toFixed(1)} MiB`);
  // The gateway keeps serving.
  assert.equal((await fetch(`${gw.url}/dev/within`)).status, 200);
});

test('a proxied (streamed) answer is not limited: 50 MB passes', async () => {
  const res = await fetch(`${gw.url}/stream`);
  assert.equal(res.status, 200);
  assert.equal((await res.arrayBuffer()).byteLength, 50 * MiB);
});

test("a remote function's answer over Lambda's 6 MB is refused (502), a small one passes", async () => {
  const fine = await fetch(`${gw.url}/fn-fine`);
  assert.equal(fine.status, 200);
  assert.equal(await fine.text(), 'fine');
  // As a local function's answer over the limit: a function error (REST: 502), named in the log.
  const huge = await fetch(`${gw.url}/fn-huge`);
  assert.equal(huge.status, 502);
  await huge.arrayBuffer();
  const logged = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'huge');
  assert.equal(logged.errorType, 'Function.ResponseSizeTooLarge');
});
