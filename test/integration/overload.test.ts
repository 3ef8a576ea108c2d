/**
 * Overload bounds through the real process (issue 11, Clients item 4 and the per-client caps of item 3):
 * only a process shows accepted sockets, file descriptors and a stalled event loop. A flood of idle
 * connections from one address is refused past maxConnectionsPerClient and past the listener's
 * maxConnections, cleanly (a coded 503, then close) while a control client keeps being answered;
 * requests in progress from one address are capped (429 CLIENT_REQUEST_LIMIT); and while the event
 * loop lags past shedEventLoopLagMs requests get 503 OVERLOADED with Retry-After. Loopback has a whole
 * /8, so 127.0.0.2, .3, ... are other client addresses.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let gw: RunningGateway;
let up: Upstream;
/** Held upstream answers, released by the test. */
const held: http.ServerResponse[] = [];

before(async () => {
  up = await startUpstream((_req, res) => {
    held.push(res);
  });
  gw = await startGateway(`
server:
  accessLog: false
  limits:
    headersTimeoutMs: 30000
    requestTimeoutMs: 30000
    keepAliveTimeoutMs: 30000
    maxConnections: 1200
    maxConnectionsPerClient: 1000
    maxRequestsPerClient: 3
    shedEventLoopLagMs: 300
apis:
  - name: t
    routes:
      - { methods: [GET], path: "/mock", integration: { type: mock, status: 200, body: { ok: true } } }
      - { methods: [GET], path: "/held", integration: { type: http, url: "${up.url}" } }
`);
});
after(async () => {
  for (const r of held) r.end();
  await gw?.stop();
  await up?.close();
});

function get(path: string, opts: { agent?: http.Agent; localAddress?: string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gw.url}${path}`, { ...(opts.agent ? { agent: opts.agent } : { agent: false }), ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Opens `n` idle connections from `localAddress`; resolves with those still open after they settle and the refusals read. */
async function flood(n: number, localAddress: string): Promise<{ open: net.Socket[]; refused: string[] }> {
  const open: net.Socket[] = [];
  const refused: string[] = [];
  const all = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ s: net.Socket; data: string; closed: boolean }>((resolve) => {
          const s = net.connect({ port: gw.port, host: '127.0.0.1', localAddress });
          let data = '';
          let closed = false;
          s.setEncoding('utf8');
          s.on('data', (c: string) => {
            data += c;
          });
          s.on('error', () => undefined);
          s.on('close', () => {
            closed = true;
          });
          s.once('connect', () => setTimeout(() => resolve({ s, data, closed }), 1_500));
          s.once('error', () => resolve({ s, data, closed: true }));
        }),
    ),
  );
  for (const { s, data, closed } of all) {
    if (closed || s.destroyed || data !== '') {
      refused.push(data);
      s.destroy();
    } else open.push(s);
  }
  return { open, refused };
}

async function metrics(): Promise<string> {
  return (await fetch(`${gw.adminUrl}/metrics`)).text();
}

test('an idle-connection flood is refused past maxConnectionsPerClient and maxConnections; a control client keeps its answers', async () => {
  const control = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await get('/mock', { agent: control })).status, 200);
  // 1,100 from one address: 1,000 admitted, 100 refused with a coded 503.
  const a = await flood(1_100, '127.0.0.2');
  assert.equal(a.open.length, 1_000);
  assert.equal(a.refused.length, 100);
  for (const text of a.refused) {
    assert.match(text, /^HTTP\/1\.1 503 /);
    assert.match(text, /"code":"OVERLOADED"/);
    assert.match(text, /retry-after: 1/);
  }
  // The control client's kept-alive connection is still served, quickly.
  const t0 = performance.now();
  assert.equal((await get('/mock', { agent: control })).status, 200);
  assert.ok(performance.now() - t0 < 1_000);
  // Another address fills the listener (1,200 with the control's connection), the rest refused.
  const b = await flood(300, '127.0.0.3');
  assert.equal(b.open.length, 199);
  assert.equal(b.refused.length, 101);
  // A new client is now refused too, with an answer, not a reset...
  const refusedNew = await get('/mock', { localAddress: '127.0.0.4' });
  assert.equal(refusedNew.status, 503);
  assert.equal((JSON.parse(refusedNew.body) as { code: string }).code, 'OVERLOADED');
  // ...while the control client is still answered.
  assert.equal((await get('/mock', { agent: control })).status, 200);
  const m = await metrics();
  assert.match(m, /turnpike_connections_refused_total\{listener="http",reason="client"\} 100/);
  assert.match(m, /turnpike_connections_refused_total\{listener="http",reason="listener"\} 102/);
  // Once the flood leaves, new clients are admitted again.
  for (const s of [...a.open, ...b.open]) s.destroy();
  await sleep(300);
  assert.equal((await get('/mock', { localAddress: '127.0.0.4' })).status, 200);
  control.destroy();
});

test('requests in progress from one address are capped at maxRequestsPerClient (429 CLIENT_REQUEST_LIMIT); other addresses are served', async () => {
  held.length = 0;
  const pending = [get('/held'), get('/held'), get('/held')];
  await within(
    (async () => {
      while (held.length < 3) await sleep(20);
    })(),
    10_000,
    'three requests held upstream',
  );
  const fourth = await get('/mock');
  assert.equal(fourth.status, 429);
  assert.equal((JSON.parse(fourth.body) as { code: string }).code, 'CLIENT_REQUEST_LIMIT');
  assert.equal((await get('/mock', { localAddress: '127.0.0.5' })).status, 200);
  for (const r of held.splice(0)) r.end('ok');
  assert.deepEqual((await Promise.all(pending)).map((r) => r.status), [200, 200, 200]);
  // Their slots are free again.
  assert.equal((await get('/mock')).status, 200);
  assert.match(await metrics(), /turnpike_requests_shed_total\{reason="client_requests"\} 1/);
});

test('while the event loop lags past shedEventLoopLagMs requests are shed with 503 OVERLOADED and Retry-After; then served again', async () => {
  const pid = gw.proc.pid as number;
  // A stalled loop, as a long synchronous job would leave it: the process stopped for 1.2 s.
  process.kill(pid, 'SIGSTOP');
  let answer!: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
  try {
    answer = get('/mock');
    await sleep(1_200);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const shed = await within(answer, 10_000, 'answer after the stall');
  assert.equal(shed.status, 503);
  assert.equal((JSON.parse(shed.body) as { code: string }).code, 'OVERLOADED');
  assert.equal(shed.headers['retry-after'], '1');
  // The next samples see no lag: served again.
  await sleep(500);
  assert.equal((await get('/mock')).status, 200);
  const m = await metrics();
  assert.match(m, /turnpike_requests_shed_total\{reason="event_loop_lag"\} [1-9]/);
  assert.match(m, /turnpike_event_loop_lag_seconds /);
});
