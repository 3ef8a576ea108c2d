/**
 * Issue 11, Clients 1: every way a client can go away aborts the upstream exchange and frees its
 * pooled connection, and the access log says 499. Through the real process: HTTP/2 streams, TLS
 * sessions, sockets and the listener's timeouts exist only there.
 *
 * The upstream pool is deliberately small (`connections: 4`) so a handful of pinned exchanges would
 * take the whole route; a control client on the same pool must keep being served.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { type TestPki, createPki } from '../helpers/certs.js';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';

const pki: TestPki | undefined = createPki();
const skip = pki === undefined && 'openssl CLI not available';
const FN = `${ROOT}/test/fixtures/gateway-functions`;

let gw: RunningGateway;
let httpsPort = 0;
let upstream: http.Server;
let upUrl = '';
/** Upstream exchanges open right now (request received, response not finished, socket not closed). */
let open = 0;

before(async () => {
  if (pki === undefined) return;
  const cert = pki.server('gw', ['gw.test']);
  upstream = http.createServer((req, res) => {
    open++;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      open--;
    };
    res.on('close', end);
    req.resume();
    if (req.url?.startsWith('/fast')) {
      res.end('ok');
      return;
    }
    // /slow: answers after 300 ms with a body larger than an HTTP/2 stream window, so a reset stream
    // would leave it mid-write; /hang never answers (only the gateway aborting it frees it).
    if (req.url?.startsWith('/hang')) return;
    const t = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(256 * 1024, 120));
    }, 300);
    res.on('close', () => clearTimeout(t));
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;
  gw = await startGateway(
    `
server:
  tls:
    default: { cert: "${cert.cert}", key: "${cert.key}" }
  limits: { requestTimeoutMs: 3000, headersTimeoutMs: 3000, bodyIdleTimeoutMs: 2000 }
functions:
  sleep: { module: "${FN}/sleep.mjs", concurrency: 2, timeoutMs: 60000 }
upstreams:
  small:
    connections: 4
    timeouts: { totalMs: 120000, firstByteMs: 120000 }
    targets: [{ url: "${upUrl}" }]
apis:
  - name: a
    routes:
      - { path: "/{proxy+}", integration: { type: http, upstream: small } }
      - { methods: [GET], path: "/fn", integration: { type: function, function: sleep } }
`,
    { args: ['--https-port', '0'] },
  );
  httpsPort = (await gw.waitForLog((l) => l.msg === 'listening')).httpsPort as number;
});

after(async () => {
  // A gateway that died mid-file is the finding: show why.
  if (gw !== undefined && gw.proc.exitCode !== null) console.error(`gateway exited ${gw.proc.exitCode}: ${gw.stderr().slice(-4000)}`);
  await gw?.stop();
  upstream?.closeAllConnections();
  await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
});

function h2(): http2.ClientHttp2Session {
  const s = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca: pki?.ca.certPem, servername: 'gw.test' });
  s.on('error', () => undefined);
  return s;
}

/** One plain HTTP/1.1 GET on a fresh connection: [status, ms]. */
function get(path: string): Promise<[number, number]> {
  const t0 = performance.now();
  return within(
    new Promise((resolve, reject) => {
      const req = http.get(`${gw.url}${path}`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve([res.statusCode ?? 0, performance.now() - t0]));
      });
      req.on('error', reject);
    }),
    10_000,
    `GET ${path}`,
  );
}

/** The control client: `n` sequential requests to the shared pool, the 99th percentile latency. */
async function controlP99(n: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const [status, t] = await get(`/fast/${i}`);
    assert.equal(status, 200);
    ms.push(t);
  }
  ms.sort((x, y) => x - y);
  return ms[Math.min(ms.length - 1, Math.ceil(n * 0.99) - 1)] as number;
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(25);
  }
}

async function inflight(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return Number(/^turnpike_requests_in_flight (\d+)/m.exec(text)?.[1] ?? -1);
}

const statusOf = (path: string) => gw.logs.filter((l) => l.path === path).map((l) => l.status);

test('HTTP/2: thousands of HEADERS + RST_STREAM leave the pool free; the control client stays fast; logged 499', { skip }, async () => {
  // The bound: 250 ms, or three times the control's own p99 before the attack when the shared VM is
  // busier than that (load averages near 20 were seen, with a p99 of 40-240 ms without any attack).
  // Before the fix no control request was answered at all (the pool stayed pinned, each GET timed
  // out after 10 s).
  const baseline = await controlP99(100);
  const bound = Math.max(250, 3 * baseline);
  let s = h2();
  const sessions = [s];
  const N = 3000;
  for (let i = 0; i < N; i++) {
    // Node's own rapid-reset guard (CVE-2023-44487) may end a session with GOAWAY: the attacker
    // simply reconnects, so the pool must not depend on that guard.
    if (s.closed || s.destroyed) {
      s = h2();
      sessions.push(s);
    }
    const st = s.request({ ':path': `/slow/rst${i}` });
    st.on('error', () => undefined);
    // Half reset at once, half once the gateway has sent the request upstream.
    if (i % 2 === 0) st.close(http2.constants.NGHTTP2_CANCEL);
    else setTimeout(() => st.close(http2.constants.NGHTTP2_CANCEL), 50);
    if (i % 200 === 199) await sleep(20);
  }
  await sleep(500);
  const p99 = await controlP99(100);
  assert.ok(p99 < bound, `control p99 ${p99.toFixed(1)} ms under the reset flood (bound ${bound.toFixed(1)}, p99 before ${baseline.toFixed(1)})`);
  for (const x of sessions) x.destroy();
  await until(() => open === 0, 10_000, `upstream exchanges still open: ${open}`);
  await until(() => statusOf('/slow/rst1').length === 1, 5_000, 'access line of a reset stream');
  assert.deepEqual(statusOf('/slow/rst1'), [499]);
});

test('HTTP/2: reset after the response started aborts the upstream body (no pinned exchange)', { skip }, async () => {
  const s = h2();
  const streams: http2.ClientHttp2Stream[] = [];
  for (let i = 0; i < 8; i++) {
    const st = s.request({ ':path': `/slow/mid${i}` });
    st.on('error', () => undefined);
    // Never read: the stream window fills, the gateway's writes back up; then reset.
    st.pause();
    st.once('response', () => setTimeout(() => st.close(http2.constants.NGHTTP2_CANCEL), 100));
    streams.push(st);
  }
  await until(() => streams.every((st) => st.closed), 10_000, 'streams reset');
  await until(() => open === 0, 10_000, `upstream exchanges still open: ${open}`);
  assert.equal((await get('/fast/after-mid'))[0], 200);
  s.destroy();
});

test('HTTP/2: abandoned streams (body never finished) are freed when the connection goes (GOAWAY, socket lost)', { skip }, async () => {
  for (const how of ['goaway', 'socket'] as const) {
    const sock = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'gw.test', ca: pki?.ca.certPem, ALPNProtocols: ['h2'] });
    sock.on('error', () => undefined);
    const s = http2.connect(`https://127.0.0.1:${httpsPort}`, { createConnection: () => sock });
    s.on('error', () => undefined);
    for (let i = 0; i < 12; i++) {
      const st = s.request({ ':path': `/hang/${how}${i}`, ':method': 'POST', 'content-type': 'text/plain' }, { endStream: false });
      st.on('error', () => undefined);
      st.write('x');
    }
    await until(() => open >= 4, 5_000, 'pool taken by abandoned streams');
    // GOAWAY with an error code, then the connection closes; or the socket just vanishes (no frame).
    if (how === 'goaway') s.destroy(new Error('leaving'), http2.constants.NGHTTP2_CANCEL);
    else sock.destroy();
    await until(() => open === 0, 10_000, `${how}: upstream exchanges still open: ${open}`);
    assert.equal((await get(`/fast/after-${how}`))[0], 200);
    await until(() => statusOf(`/hang/${how}0`).length === 1, 5_000, 'access line');
    assert.deepEqual(statusOf(`/hang/${how}0`), [499]);
    s.destroy();
  }
});

test('HTTP/2: streams whose body never finishes, on a connection that stays, are cut by bodyIdleTimeoutMs (408)', { skip }, async () => {
  const s = h2();
  const statuses: Promise<number>[] = [];
  for (let i = 0; i < 8; i++) {
    const st = s.request({ ':path': `/hang/stay${i}`, ':method': 'POST', 'content-type': 'text/plain' }, { endStream: false });
    st.on('error', () => undefined);
    st.write('x');
    statuses.push(new Promise((r) => st.once('response', (h) => r(Number(h[':status'])))));
  }
  await until(() => open >= 4, 5_000, 'pool taken by the never-finished bodies');
  // HTTP/2 has no request timeout in Node: the body idle limit (2 s here) is what frees the pool.
  const got = await within(Promise.all(statuses), 15_000, 'every stream answered');
  assert.ok(got.every((x) => x === 408), `statuses ${got.join(',')}`);
  await until(() => open === 0, 5_000, `upstream exchanges still open: ${open}`);
  assert.equal((await get('/fast/after-stay'))[0], 200);
  s.destroy();
});

test('HTTP/1.1: a client closing its socket aborts the upstream exchange; logged 499', async () => {
  const socks: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const c = net.connect(gw.port, '127.0.0.1');
    c.on('error', () => undefined);
    c.write(`GET /hang/h1close${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
    socks.push(c);
  }
  await until(() => open >= 4, 5_000, 'pool taken');
  for (const c of socks) c.destroy();
  await until(() => open === 0, 10_000, `upstream exchanges still open: ${open}`);
  await until(() => statusOf('/hang/h1close0').length === 1, 5_000, 'access line');
  assert.deepEqual(statusOf('/hang/h1close0'), [499]);
  assert.equal((await get('/fast/after-h1'))[0], 200);
});

test('HTTP/1.1: the request timeout (a body that never ends) aborts the upstream exchange: 408', async () => {
  const c = net.connect(gw.port, '127.0.0.1');
  c.on('error', () => undefined);
  let text = '';
  c.setEncoding('utf8').on('data', (d: string) => (text += d));
  c.write('POST /hang/h1timeout HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc');
  await until(() => open >= 1, 5_000, 'exchange open');
  await within(new Promise((r) => c.once('close', r)), 10_000, 'request timeout closes the connection');
  assert.match(text, /^HTTP\/1\.1 408 /);
  await until(() => open === 0, 5_000, `upstream exchanges still open: ${open}`);
});

test('function route: a client going away (HTTP/1.1 close, HTTP/2 reset) is logged 499 and leaves nothing in flight', { skip }, async () => {
  const c = net.connect(gw.port, '127.0.0.1');
  c.on('error', () => undefined);
  c.write('GET /fn?ms=60000&w=h1 HTTP/1.1\r\nhost: x\r\n\r\n');
  await sleep(300);
  c.destroy();
  const s = h2();
  const st = s.request({ ':path': '/fn?ms=60000&w=h2' });
  st.on('error', () => undefined);
  await sleep(300);
  st.close(http2.constants.NGHTTP2_CANCEL);
  await until(() => gw.logs.filter((l) => l.path === '/fn').length >= 2, 5_000, 'access lines of the function route');
  assert.deepEqual(statusOf('/fn'), [499, 499]);
  s.destroy();
});

test('in-flight count returns to 0 once every client has gone', async () => {
  await until(() => open === 0, 5_000, 'upstream idle');
  let n = -1;
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    n = await inflight();
    if (n === 0) break;
    await sleep(100);
  }
  assert.equal(n, 0);
});
