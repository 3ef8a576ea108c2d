/**
 * HTTP/2 time and count bounds through the real process (issue 11, Clients item 2): what only a TLS
 * listener with real node:http2 clients shows. SETTINGS_MAX_CONCURRENT_STREAMS advertised, an idle
 * connection closed, a stream that never finishes its body answered 408, a connection's stream budget
 * ended by a graceful GOAWAY, and a rapid-reset flood cut off with GOAWAY ENHANCE_YOUR_CALM while a
 * control connection keeps getting answers.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { type TestPki, createPki } from '../helpers/certs.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const pki: TestPki | undefined = createPki();
const skip = pki === undefined && 'openssl CLI not available';
const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

let gw: RunningGateway;
let up: Upstream;
let origin = '';

before(async () => {
  if (pki === undefined) return;
  const cert = pki.server('h2', ['h2.test']);
  // Answers after 300 ms: a cancelled stream is still waiting on it (the gateway's answer not yet sent).
  up = await startUpstream((_req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('slow');
    }, 300);
  });
  gw = await startGateway(
    `
server:
  accessLog: false
  limits:
    keepAliveTimeoutMs: 1000
    headersTimeoutMs: 1000
    requestTimeoutMs: 1500
    http2MaxConcurrentStreams: 7
    http2MaxStreamsPerConnection: 60
    http2MaxResetsPer10s: 20
  tls:
    default: { cert: "${cert.cert}", key: "${cert.key}" }
apis:
  - name: t
    routes:
      - { methods: [GET], path: "/mock", integration: { type: mock, status: 200, body: { ok: true } } }
      - { path: "/slow", integration: { type: http, url: "${up.url}" } }
`,
    { args: ['--https-port', '0'] },
  );
  const port = (await gw.waitForLog((l) => l.msg === 'listening')).httpsPort as number;
  origin = `https://127.0.0.1:${port}`;
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

function connect(): http2.ClientHttp2Session {
  const s = http2.connect(origin, { ca: pki?.ca.certPem, servername: 'h2.test', rejectUnauthorized: false });
  s.on('error', () => undefined);
  return s;
}

/** One request on `session`: status, body and the time it took. */
function request(session: http2.ClientHttp2Session, path: string, opts: { method?: string; body?: string; end?: boolean } = {}): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': opts.method ?? 'GET' }, { endStream: opts.method === undefined });
    let status = 0;
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => resolve({ status, body, ms: performance.now() - t0 }));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    if (opts.method !== undefined && opts.end !== false) req.end();
  });
}

function goaway(session: http2.ClientHttp2Session): Promise<{ code: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    session.once('goaway', (code: number) => {
      done = true;
      resolve({ code, ms: performance.now() - t0 });
    });
    session.once('close', () => done || resolve({ code: -1, ms: performance.now() - t0 }));
  });
}

async function metric(name: string): Promise<string> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .join('\n');
}

test('SETTINGS_MAX_CONCURRENT_STREAMS is advertised (server.limits.http2MaxConcurrentStreams)', { skip }, async () => {
  const s = connect();
  const settings = await within(new Promise<http2.Settings>((r) => s.once('remoteSettings', r)), 5_000, 'remote settings');
  assert.equal(settings.maxConcurrentStreams, 7);
  s.destroy();
});

test('an HTTP/2 connection with no open stream is closed after keepAliveTimeoutMs', { skip }, async () => {
  const s = connect();
  const ended = goaway(s);
  assert.equal((await request(s, '/mock')).status, 200);
  const { code, ms } = await within(ended, 8_000, 'idle connection closed');
  assert.equal(code, NGHTTP2_NO_ERROR);
  assert.ok(ms >= 900, `closed after ${ms} ms, before the 1000 ms idle timeout`);
  s.destroy();
});

test('a stream whose body never ends is answered 408 REQUEST_TIMEOUT after requestTimeoutMs, other streams unaffected', { skip }, async () => {
  const s = connect();
  const stalled = request(s, '/slow', { method: 'POST', body: 'part of a body', end: false });
  await sleep(200);
  // The same connection keeps serving while that stream waits.
  assert.equal((await request(s, '/mock')).status, 200);
  const r = await within(stalled, 8_000, 'stalled stream answered');
  assert.equal(r.status, 408);
  assert.equal((JSON.parse(r.body) as { code: string }).code, 'REQUEST_TIMEOUT');
  assert.ok(r.ms >= 1_400 && r.ms < 6_000, `answered after ${r.ms} ms (requestTimeoutMs 1500)`);
  s.destroy();
});

test('a connection that used its http2MaxStreamsPerConnection gets GOAWAY NO_ERROR; its streams all finish', { skip }, async () => {
  const s = connect();
  const ended = goaway(s);
  const statuses: number[] = [];
  let lastDone = 0;
  for (let i = 0; i < 60; i++) {
    statuses.push((await request(s, '/mock')).status);
    lastDone = performance.now();
  }
  assert.deepEqual(statuses, new Array(60).fill(200));
  const { code } = await within(ended, 5_000, 'GOAWAY after the stream budget');
  const at = performance.now();
  assert.equal(code, NGHTTP2_NO_ERROR);
  // Sent with the 60th stream, not 1000 ms of idleness later.
  assert.ok(at - lastDone < 700, `GOAWAY ${at - lastDone} ms after the last stream: the idle timeout, not the stream budget`);
  // A new connection is served.
  const s2 = connect();
  assert.equal((await request(s2, '/mock')).status, 200);
  s.destroy();
  s2.destroy();
  assert.match(await metric('turnpike_http2_goaway_total'), /reason="streams"\} [1-9]/);
});

test('rapid reset (HEADERS then RST_STREAM, over and over) ends in GOAWAY ENHANCE_YOUR_CALM; a control client is served', { skip }, async () => {
  // The control client asks every 50 ms throughout the attack (which also keeps it from idling out).
  const control = connect();
  // Connected and warm before the attack starts: the handshake is not what is measured.
  assert.equal((await request(control, '/mock')).status, 200);
  const controlResults: { status: number; ms: number }[] = [];
  let attacking = true;
  const controlLoop = (async () => {
    while (attacking) {
      controlResults.push(await request(control, '/mock').catch((err: Error) => ({ status: 0, body: err.message, ms: 0 })));
      await sleep(50);
    }
  })();
  const attacker = connect();
  const ended = goaway(attacker);
  let sent = 0;
  let cut = false;
  void ended.then(() => {
    cut = true;
  });
  // HEADERS, then RST_STREAM 5 ms later (the gateway has begun on the stream), five at a time.
  while (!cut && sent < 2_000) {
    const batch: Promise<void>[] = [];
    for (let i = 0; i < 5 && !attacker.closed && !attacker.destroyed; i++) {
      const req = attacker.request({ ':path': '/slow', ':method': 'GET' });
      req.on('error', () => undefined);
      sent++;
      batch.push(
        new Promise((r) => {
          setTimeout(() => {
            if (!req.closed) req.close(NGHTTP2_CANCEL);
            r();
          }, 5);
        }),
      );
    }
    if (batch.length === 0) break;
    await Promise.all(batch);
  }
  const { code } = await within(ended, 5_000, `GOAWAY for the reset flood (${sent} streams cancelled)`).finally(() => {
    attacking = false;
  });
  assert.equal(code, NGHTTP2_ENHANCE_YOUR_CALM);
  // ENHANCE_YOUR_CALM (not the budget's NO_ERROR) already says the reset bound cut it; the client may
  // have sent a few more streams before the GOAWAY reached it.
  assert.ok(sent < 500, `the connection was cut only after ${sent} cancelled streams (bound 20 per 10 s)`);
  attacking = false;
  await controlLoop;
  assert.ok(controlResults.length > 0);
  assert.deepEqual(controlResults.filter((r) => r.status !== 200), [], 'every control request answered 200');
  const slowest = Math.max(...controlResults.map((r) => r.ms));
  assert.ok(slowest < 2_000, `slowest control request took ${slowest} ms: ${JSON.stringify(controlResults.map((r) => Math.round(r.ms)))}`);
  control.destroy();
  attacker.destroy();
  assert.match(await metric('turnpike_http2_goaway_total'), /reason="resets"\} [1-9]/);
});
