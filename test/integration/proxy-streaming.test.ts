/**
 * The HTTP integration streams both bodies: request bodies reach the upstream while the client is
 * still sending, response chunks reach the client as the upstream writes them; and sequential
 * requests reuse kept-alive upstream connections.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;
/** Bytes the upstream has received of the request body currently in flight. */
let received = 0;
let connections = 0;
let tracked: 'none' | 'open' | 'aborted' | 'finished' = 'none';

const MiB = 1024 * 1024;

before(async () => {
  up = await startUpstream(
    (req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/upload')) {
        const hash = createHash('sha256');
        received = 0;
        req.on('data', (c: Buffer) => {
          received += c.length;
          hash.update(c);
        });
        req.on('end', () => {
          const text = JSON.stringify({
            bytes: received,
            sha256: hash.digest('hex'),
            te: req.headers['transfer-encoding'] ?? null,
            cl: req.headers['content-length'] ?? null,
          });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        });
        return;
      }
      if (url.startsWith('/track')) {
        // Records how the exchange ended on the upstream side (aborted by the gateway or not).
        tracked = 'open';
        req.on('data', () => undefined);
        req.on('aborted', () => (tracked = 'aborted'));
        res.on('close', () => {
          if (tracked === 'open') tracked = res.writableFinished ? 'finished' : 'aborted';
        });
        if (url.startsWith('/track/respond')) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('tick\n'), 50);
          res.on('close', () => clearInterval(t));
        }
        return;
      }
      if (url.startsWith('/slow')) {
        // 10 chunks, one every 100 ms: the whole body takes ~1 s.
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const t = setInterval(() => {
          res.write(`chunk-${i}\n`);
          if (++i === 10) {
            clearInterval(t);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (url.startsWith('/sse')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let i = 0;
        res.write(': hello\n\n');
        const t = setInterval(() => {
          res.write(`id: ${i}\nevent: tick\ndata: {"n":${i}}\n\n`);
          if (++i === 5) {
            clearInterval(t);
            res.end();
          }
        }, 100);
        res.on('close', () => clearInterval(t));
        return;
      }
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
      });
    },
    { raw: true },
  );
  up.server.on('connection', () => connections++);
  gw = await startGateway(`
server:
  accessLog: false
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: streaming
    routes:
      - name: small
        path: /small/{proxy+}
        maxBodyBytes: 1000
        integration: { type: http, upstream: backend, path: "/upload" }
      - name: all
        path: /{proxy+}
        maxBodyBytes: 67108864
        integration: { type: http, upstream: backend }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

interface UploadResult {
  bytes: number;
  sha256: string;
  te: string | null;
  cl: string | null;
}

/**
 * Sends `total` random bytes in 64 KiB chunks. After the first half it waits until the upstream has
 * received some of the body: a gateway that buffered the whole request would never let that happen.
 */
function upload(total: number, withLength: boolean): Promise<{ status: number; result: UploadResult; sentHash: string; sawEarlyBytes: boolean }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (withLength) headers['content-length'] = String(total);
    else headers['transfer-encoding'] = 'chunked';
    const req = http.request(`${gw.url}/upload`, { method: 'POST', headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, result: JSON.parse(Buffer.concat(chunks).toString()) as UploadResult, sentHash: hash.digest('hex'), sawEarlyBytes });
        } catch (e) {
          reject(e);
        }
      });
    });
    let sawEarlyBytes = false;
    void (async () => {
      const chunk = 64 * 1024;
      received = 0;
      for (let sent = 0; sent < total; sent += chunk) {
        const c = randomBytes(Math.min(chunk, total - sent));
        hash.update(c);
        if (!req.write(c)) await new Promise((r) => req.once('drain', r));
        if (sent + chunk === total / 2) {
          // Halfway: the upstream must already be receiving (bounded wait).
          for (let i = 0; i < 100 && received === 0; i++) await sleep(20);
          sawEarlyBytes = received > 0 && received < total;
        }
      }
      req.end();
    })().catch(reject);
  });
}

test('an 8 MiB chunked request body streams to the upstream intact', async () => {
  const r = await within(upload(8 * MiB, false), 20_000, 'chunked upload');
  assert.equal(r.status, 200);
  assert.equal(r.result.bytes, 8 * MiB);
  assert.equal(r.result.sha256, r.sentHash);
  assert.equal(r.sawEarlyBytes, true, 'upstream received body bytes before the client finished sending');
  assert.equal(r.result.te, 'chunked');
});

test('an 8 MiB request body with content-length streams to the upstream intact', async () => {
  const r = await within(upload(8 * MiB, true), 20_000, 'content-length upload');
  assert.equal(r.status, 200);
  assert.equal(r.result.bytes, 8 * MiB);
  assert.equal(r.result.sha256, r.sentHash);
  assert.equal(r.sawEarlyBytes, true, 'upstream received body bytes before the client finished sending');
  assert.equal(r.result.cl, String(8 * MiB));
  assert.equal(r.result.te, null);
});

test('a slowly streamed response reaches the client chunk by chunk', async () => {
  const t0 = performance.now();
  const arrivals: number[] = [];
  let text = '';
  const status = await within(
    new Promise<number>((resolve, reject) => {
      http
        .get(`${gw.url}/slow`, { agent: false }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            arrivals.push(performance.now() - t0);
            text += c;
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        })
        .on('error', reject);
    }),
    10_000,
    'slow response',
  );
  const total = performance.now() - t0;
  assert.equal(status, 200);
  assert.equal(text, Array.from({ length: 10 }, (_, i) => `chunk-${i}\n`).join(''));
  assert.ok(total >= 900, `the upstream takes ~1 s (took ${total.toFixed(0)} ms)`);
  const first = arrivals[0] as number;
  assert.ok(first < 500, `first chunk after ${first.toFixed(0)} ms, well before the upstream finished (${total.toFixed(0)} ms)`);
  assert.ok(arrivals.length >= 6, `expected the body in many reads, got ${arrivals.length}`);
});

test('server-sent events are relayed event by event', async () => {
  const t0 = performance.now();
  const res = await within(fetch(`${gw.url}/sse`), 5_000, 'sse headers');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('content-length'), null);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = '';
  const events: { data: string; at: number }[] = [];
  await within(
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (data) events.push({ data: data[1] as string, at: performance.now() - t0 });
          i = buf.indexOf('\n\n');
        }
      }
    })(),
    5_000,
    'sse body',
  );
  assert.deepEqual(
    events.map((e) => JSON.parse(e.data) as unknown),
    [0, 1, 2, 3, 4].map((n) => ({ n })),
  );
  const firstAt = (events[0] as { at: number }).at;
  const lastAt = (events[4] as { at: number }).at;
  assert.ok(lastAt - firstAt >= 300, `events spread over time (first ${firstAt.toFixed(0)} ms, last ${lastAt.toFixed(0)} ms)`);
});

test('sequential requests reuse a few kept-alive upstream connections', async () => {
  await sleep(50);
  const before = connections;
  for (let i = 0; i < 60; i++) {
    const res = await within(fetch(`${gw.url}/ping/${i}`), 5_000, `request ${i}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  }
  const opened = connections - before;
  assert.ok(opened <= 2, `60 sequential requests opened ${opened} upstream connections`);
});

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 20 && !pred(); i++) await sleep(20);
  return pred();
}

test('a client that disconnects mid-upload aborts the upstream request', async () => {
  tracked = 'none';
  const req = http.request(`${gw.url}/track/upload`, { method: 'POST', headers: { 'content-length': String(MiB) }, agent: false });
  req.on('error', () => undefined);
  req.write(randomBytes(256 * 1024));
  assert.ok(await waitFor(() => tracked === 'open', 3_000), 'upstream saw the request');
  req.destroy();
  assert.ok(await waitFor(() => tracked === 'aborted', 3_000), `upstream exchange state: ${tracked}`);
  assert.equal((await within(fetch(`${gw.url}/ping/after-upload-abort`), 5_000, 'follow-up')).status, 200);
});

test('a client that disconnects mid-response aborts the upstream response', async () => {
  tracked = 'none';
  const ac = new AbortController();
  const res = await within(fetch(`${gw.url}/track/respond`, { signal: ac.signal }), 5_000, 'headers');
  assert.equal(res.status, 200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  await within(reader.read(), 3_000, 'first chunk');
  ac.abort();
  assert.ok(await waitFor(() => tracked === 'aborted', 3_000), `upstream exchange state: ${tracked}`);
  assert.equal((await within(fetch(`${gw.url}/ping/after-response-abort`), 5_000, 'follow-up')).status, 200);
});

test('a chunked body over the route limit is a 413 BODY_TOO_LARGE, not a hang', async () => {
  const r = await within(
    new Promise<{ status: number; body: string }>((resolve) => {
      const req = http.request(`${gw.url}/small/x`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, agent: false });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', () => resolve({ status: -1, body: '' }));
      void (async () => {
        for (let i = 0; i < 10 && !req.destroyed; i++) {
          req.write(Buffer.alloc(500, 1));
          await sleep(20);
        }
        req.end();
      })();
    }),
    5_000,
    'oversized chunked upload',
  );
  assert.equal(r.status, 413, r.body);
  assert.equal((JSON.parse(r.body) as { code: string }).code, 'BODY_TOO_LARGE');
  assert.equal((await within(fetch(`${gw.url}/ping/after-413`), 5_000, 'follow-up')).status, 200);
});
