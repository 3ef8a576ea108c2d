/**
 * The access log through the real process: exactly one JSON line per request with the documented
 * fields, and secrets (Authorization, Cookie, X-Api-Key, ?api_key=) never reach stdout or stderr,
 * even at log level trace and on error paths.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { request, sleep, waitFor } from '../helpers/lifecycle.js';
import { deadPort, startUpstream, type Upstream } from '../helpers/upstream.js';

const SECRETS = ['SECRET-bearer-5f1c', 'SECRET-cookie-9a7e', 'SECRET-apikey-33d0', 'SECRET-query-c4b2', 'SECRET-basic-77aa'];
const secretHeaders = {
  authorization: `Bearer ${SECRETS[0]}`,
  cookie: `session=${SECRETS[1]}; theme=dark`,
  'x-api-key': SECRETS[2] as string,
};

let up: Upstream;
let gw: RunningGateway;

before(async () => {
  up = await startUpstream((req, res, body) => {
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => {
        if (!res.destroyed) res.end('late');
      }, 3_000).unref();
      return;
    }
    const text = JSON.stringify({ got: body.length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  const dead = await deadPort();
  gw = await startGateway(
    `
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: logs
    routes:
      - name: items
        methods: [GET, POST]
        path: /items/{id}
        integration: { type: http, upstream: backend }
      - name: slow
        methods: [GET]
        path: /slow
        integration: { type: http, upstream: backend }
      - name: canned
        methods: [GET]
        path: /canned
        integration: { type: mock, body: "canned!" }
      - name: down
        methods: [GET]
        path: /down
        integration: { type: http, url: "http://127.0.0.1:${dead}" }
`,
    { env: { TURNPIKE_LOG_LEVEL: 'trace' } },
  );
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

const accessLines = (pred: (l: Record<string, unknown>) => boolean = () => true) => gw.logs.filter((l) => l.type === 'access' && pred(l));

test('exactly one access line per request, with every documented field', async () => {
  const n = 25;
  for (let i = 0; i < n; i++) {
    const r = await request(`${gw.url}/items/${i}?q=${i}`, { headers: { 'x-request-id': `req-one-line-${i}` } });
    assert.equal(r.status, 200);
  }
  await waitFor('access lines', () => accessLines((l) => String(l.requestId).startsWith('req-one-line-')).length >= n);
  await sleep(200); // no late duplicates
  const lines = accessLines((l) => String(l.requestId).startsWith('req-one-line-'));
  assert.equal(lines.length, n);
  assert.deepEqual(new Set(lines.map((l) => l.requestId)).size, n, 'one line per request id');

  const l = lines.find((x) => x.requestId === 'req-one-line-7') as Record<string, unknown>;
  for (const field of ['time', 'requestId', 'method', 'path', 'route', 'status', 'latencyMs', 'upstreamMs', 'bytesIn', 'bytesOut', 'clientIp', 'pid']) {
    assert.ok(field in l, `field ${field} missing: ${JSON.stringify(l)}`);
  }
  assert.ok(!Number.isNaN(Date.parse(l.time as string)), 'time is an ISO timestamp');
  assert.equal(l.method, 'GET');
  assert.equal(l.path, '/items/7', 'path without the query string');
  assert.equal(l.route, 'logs/items');
  assert.equal(l.status, 200);
  assert.equal(typeof l.latencyMs, 'number');
  assert.equal(typeof l.upstreamMs, 'number');
  assert.ok((l.upstreamMs as number) <= (l.latencyMs as number));
  assert.equal(l.bytesIn, 0);
  assert.equal(l.bytesOut, Buffer.byteLength(JSON.stringify({ got: 0 })));
  assert.equal(l.clientIp, '127.0.0.1');
  assert.equal(l.pid, gw.proc.pid);
  assert.equal(l.level, 'info');
});

test('bytesIn/bytesOut, mock (no upstreamMs), 404 and 405 each log one line', async () => {
  const body = 'b'.repeat(1234);
  const post = await request(`${gw.url}/items/9`, { method: 'POST', body, headers: { 'content-type': 'text/plain', 'x-request-id': 'req-post' } });
  assert.equal(post.status, 200);
  const mock = await request(`${gw.url}/canned`, { headers: { 'x-request-id': 'req-mock' } });
  assert.equal(mock.status, 200);
  const missing = await request(`${gw.url}/nope`, { headers: { 'x-request-id': 'req-404' } });
  assert.equal(missing.status, 404);
  const wrongMethod = await request(`${gw.url}/canned`, { method: 'DELETE', headers: { 'x-request-id': 'req-405' } });
  assert.equal(wrongMethod.status, 405);
  await waitFor('lines', () => accessLines((l) => ['req-post', 'req-mock', 'req-404', 'req-405'].includes(l.requestId as string)).length === 4);
  const by = (id: string) => accessLines((l) => l.requestId === id);
  const [p] = by('req-post');
  assert.equal(p?.method, 'POST');
  assert.equal(p?.bytesIn, 1234);
  assert.equal(p?.bytesOut, post.body.length);
  const [m] = by('req-mock');
  assert.equal(m?.upstreamMs, null);
  assert.equal(m?.route, 'logs/canned');
  assert.equal(m?.bytesOut, Buffer.byteLength('canned!'));
  const [nf] = by('req-404');
  assert.equal(nf?.status, 404);
  assert.equal(nf?.route, null);
  assert.equal(nf?.error, 'ROUTE_NOT_FOUND');
  const [mna] = by('req-405');
  assert.equal(mna?.status, 405);
  for (const id of ['req-post', 'req-mock', 'req-404', 'req-405']) assert.equal(by(id).length, 1, id);
});

test('a client that goes away is logged once as 499; an upstream failure once as 502', async () => {
  const sock = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.write('GET /slow HTTP/1.1\r\nhost: x\r\nx-request-id: req-gone\r\n\r\n');
  await waitFor('upstream to get it', () => up.seen.some((s) => s.url === '/slow'), 5_000, 10);
  sock.destroy();
  const [gone] = await waitFor('499 line', () => {
    const l = accessLines((x) => x.requestId === 'req-gone');
    return l.length > 0 ? l : undefined;
  });
  assert.equal(gone?.status, 499);
  const down = await request(`${gw.url}/down`, { headers: { 'x-request-id': 'req-down' } });
  assert.equal(down.status, 502);
  const [d] = await waitFor('502 line', () => {
    const l = accessLines((x) => x.requestId === 'req-down');
    return l.length > 0 ? l : undefined;
  });
  assert.equal(d?.status, 502);
  await sleep(200);
  assert.equal(accessLines((x) => x.requestId === 'req-gone').length, 1);
  assert.equal(accessLines((x) => x.requestId === 'req-down').length, 1);
});

test('secrets in Authorization, Cookie, X-Api-Key and ?api_key= never appear in stdout or stderr', async () => {
  const q = `?api_key=${SECRETS[3]}&token=${SECRETS[3]}`;
  const basic = { authorization: `Basic ${Buffer.from(`user:${SECRETS[4]}`).toString('base64')}` };
  const cases: [string, string, Record<string, string>][] = [
    ['GET', `/items/1${q}`, secretHeaders],
    ['POST', `/items/2${q}`, secretHeaders],
    ['GET', `/canned${q}`, secretHeaders],
    ['GET', `/nope${q}`, secretHeaders],
    ['DELETE', `/canned${q}`, secretHeaders],
    ['GET', `/down${q}`, secretHeaders],
    ['GET', `/items/3${q}`, basic],
    ['GET', `/items/%zz${q}`, secretHeaders],
  ];
  const statuses: number[] = [];
  for (const [method, path, headers] of cases)
    statuses.push((await request(`${gw.url}${path}`, { method, headers, body: method === 'POST' ? 'x' : undefined })).status);
  assert.deepEqual(statuses, [200, 200, 200, 404, 405, 502, 200, 400]);
  // A request the HTTP parser rejects (bad header) while carrying the secrets.
  const raw = net.connect(gw.port, '127.0.0.1');
  await new Promise((r) => raw.once('connect', r));
  let answer = '';
  raw.setEncoding('utf8').on('data', (c: string) => (answer += c));
  raw.write(`GET /items/4${q} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${SECRETS[0]}\r\nbad header: ${SECRETS[2]}\r\n\r\n`);
  await new Promise((r) => raw.once('close', r));
  assert.match(answer, /^HTTP\/1\.1 400 /);
  const before = gw.logs.length;
  await waitFor('all lines', () => gw.logs.length >= before && accessLines((l) => l.path === '/down').length >= 1);
  await sleep(300);
  const all = `${gw.logs.map((l) => JSON.stringify(l)).join('\n')}\n${gw.stderr()}`;
  for (const s of SECRETS) assert.ok(!all.includes(s), `secret ${s} leaked into the logs`);
  assert.ok(!all.includes(Buffer.from(`user:${SECRETS[4]}`).toString('base64')), 'basic credentials leaked');
  // The requests were logged (the check above is not vacuous).
  assert.ok(accessLines((l) => l.path === '/items/1').length >= 1);
  assert.ok(gw.logs.some((l) => l.level === 'debug' || l.level === 'trace' || l.level === 'info'));
});

test('server.logLevel above info silences access lines but not lifecycle lines; server.accessLog: false turns the access log off', async () => {
  const env = { ...process.env } as Record<string, string>;
  delete env.TURNPIKE_LOG_LEVEL;
  for (const server of ['{ logLevel: warn }', '{ accessLog: false }']) {
    const quiet = await startGateway(
      `server: ${server}
apis:
  - name: quiet
    routes:
      - path: /q
        integration: { type: mock, body: q }
`,
      { env },
    );
    try {
      for (let i = 0; i < 3; i++) assert.equal((await request(`${quiet.url}/q`)).status, 200);
      // 'stopped' is written after anything those requests logged, on the same stream.
      quiet.proc.kill('SIGTERM');
      await quiet.waitForLog((l) => l.msg === 'stopped');
    } finally {
      await quiet.stop();
    }
    assert.deepEqual(
      quiet.logs.filter((l) => l.type === 'access'),
      [],
      server,
    );
    assert.ok(
      quiet.logs.some((l) => l.msg === 'listening'),
      'lifecycle lines are still logged',
    );
    assert.ok(quiet.logs.some((l) => l.msg === 'stopped'));
  }
});
