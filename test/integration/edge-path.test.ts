// Path safety through the real gateway process: the path the gateway routes on is exactly the path
// the upstream receives. Raw sockets, because fetch/undici would resolve dot segments and re-encode
// the target before it ever left the client.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { normalizeTarget } from '../../src/server/path.js';
import { type RecordingUpstream, assertAlive, assertJsonError, startRecordingUpstream } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type RawResponse, rawRequest } from '../helpers/raw-http.js';

let up: RecordingUpstream;
let gw: RunningGateway;
let pid: number | undefined;

const PROTECT = '{ request-termination: { status: 403, message: Forbidden } }';

before(async () => {
  up = await startRecordingUpstream();
  gw = await startGateway(`
server:
  accessLog: false
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  # The brief's setup: /admin protected, no catch-all (anything else is a 404).
  - name: strict
    hosts: [strict.test]
    routes:
      - name: admin
        path: /admin
        plugins: ${PROTECT}
        integration: { type: http, upstream: backend }
      - name: public
        path: /public/{proxy+}
        integration: { type: http, upstream: backend }
  # A catch-all next to a protected subtree: normalization, not a 404, is what keeps /admin safe.
  - name: open
    hosts: [open.test]
    routes:
      - name: admin
        path: /admin
        plugins: ${PROTECT}
        integration: { type: http, upstream: backend }
      - name: admin-slash
        path: /admin/
        plugins: ${PROTECT}
        integration: { type: http, upstream: backend }
      - name: admin-tree
        path: /admin/{proxy+}
        plugins: ${PROTECT}
        integration: { type: http, upstream: backend }
      - name: files
        path: /files/{proxy+}
        allowEncodedSlashes: true
        integration: { type: http, upstream: backend }
      - name: ok
        path: /ok
        integration: { type: mock, body: { ok: true } }
      - name: all
        path: /{proxy+}
        integration: { type: http, upstream: backend }
  - name: default
    routes:
      - name: ok
        path: /ok
        integration: { type: mock, body: { ok: true } }
`);
  pid = gw.proc.pid;
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

/** Sends `GET <target>` with the given Host and returns the answer plus what the upstream saw for it (if anything). */
async function send(target: string, host = 'open.test'): Promise<{ res: RawResponse; seen: string | undefined }> {
  const before = up.arrivals.length;
  const res = await rawRequest(gw.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, { timeoutMs: 3_000 });
  const after = up.arrivals.slice(before);
  assert.ok(after.length <= 1, 'one request, at most one upstream request');
  return { res, seen: after[0]?.url };
}

/** The request is proxied and the upstream receives exactly the normalized path (and the query as sent). */
async function expectForwarded(target: string, expected: string): Promise<void> {
  const n = normalizeTarget(target);
  assert.ok(n.ok, `normalizeTarget rejected ${target}`);
  const want = n.rawQuery ? `${n.path}?${n.rawQuery}` : n.path;
  assert.equal(want, expected, `normalizeTarget(${JSON.stringify(target)})`);
  const { res, seen } = await send(target);
  assert.equal(res.status, 200, `${target}: ${res.raw.toString('latin1').slice(0, 300)}`);
  assert.equal(seen, expected, `upstream path for ${target}`);
}

async function expectRejected(target: string, code: string, host = 'open.test'): Promise<void> {
  const { res, seen } = await send(target, host);
  assertJsonError(res, 400, code);
  assert.equal(seen, undefined, `upstream reached with ${seen} for ${target}`);
}

test('dot segments (also %2e, %2E, mixed) are resolved before matching; the upstream sees the resolved path', async () => {
  await expectForwarded('/a/b/../c', '/a/c');
  await expectForwarded('/a/./b', '/a/b');
  await expectForwarded('/a/%2e%2e/c', '/c');
  await expectForwarded('/a/%2E%2E/c', '/c');
  await expectForwarded('/a/.%2E/c', '/c');
  await expectForwarded('/a/%2e./c', '/c');
  await expectForwarded('/a/b/%2e/c', '/a/b/c');
  await expectForwarded('/../../etc/passwd', '/etc/passwd');
  await expectForwarded('/a/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd');
  await expectForwarded('/a/b/..', '/a/');
  await expectForwarded('/a/...', '/a/...'); // three dots are a name
  await expectForwarded('/a/%7Euser/%41', '/a/~user/A'); // unreserved escapes decoded
  await expectForwarded('/a/%3f/%23', '/a/%3F/%23'); // reserved escapes kept (upper-case hex)
  await expectForwarded('/a/b/..?q=../x&r=%2F', '/a/?q=../x&r=%2F'); // the query is not normalized
  await assertAlive(gw, pid, '/ok');
});

test('duplicate slashes are merged', async () => {
  await expectForwarded('/a//b///c', '/a/b/c');
  await expectForwarded('/a//../b', '/b');
  await expectForwarded('///a', '/a');
});

test('%2F / %5C -> 400 unless the route sets allowEncodedSlashes (then forwarded untouched)', async () => {
  await expectRejected('/a%2Fb', 'ENCODED_SLASH');
  await expectRejected('/a/%2f/b', 'ENCODED_SLASH');
  await expectRejected('/a%5Cb', 'ENCODED_SLASH');
  await expectRejected('/a%5cb', 'ENCODED_SLASH');
  await expectRejected('/admin%2F..%2Fx', 'ENCODED_SLASH');
  await expectForwarded('/files/a%2Fb', '/files/a%2Fb');
  await expectForwarded('/files/a%2f..%2fb', '/files/a%2F..%2Fb'); // never a separator, so never a dot segment
  await expectForwarded('/files/a%5Cb', '/files/a%5Cb');
});

test('raw backslash, NUL, invalid and overlong UTF-8 -> 400 BAD_PATH', async () => {
  await expectRejected('/a\\b', 'BAD_PATH');
  await expectRejected('/a\\..\\admin', 'BAD_PATH');
  await expectRejected('/a%00b', 'BAD_PATH');
  await expectRejected('/a%00', 'BAD_PATH');
  await expectRejected('/a/%C0%AE%C0%AE/admin', 'BAD_PATH'); // overlong '.'
  await expectRejected('/%C0%AF', 'BAD_PATH'); // overlong '/'
  await expectRejected('/%E0%80%AF', 'BAD_PATH');
  await expectRejected('/a%FFb', 'BAD_PATH');
  await expectRejected('/a%E2%82', 'BAD_PATH'); // truncated
  await expectRejected('/a%ED%A0%80', 'BAD_PATH'); // surrogate
  await expectRejected('/a%G1', 'BAD_PATH');
  await expectRejected('/a%4', 'BAD_PATH');
  await expectRejected('/a/..;/admin', 'BAD_PATH');
  await expectRejected('*', 'BAD_PATH');
  // valid UTF-8 escapes pass through as escapes
  await expectForwarded('/caf%C3%A9', '/caf%C3%A9');
  await assertAlive(gw, pid, '/ok');
});

test('absolute-form targets and //host paths never change the upstream', async () => {
  const n0 = up.arrivals.length;
  // absolute-form: the authority is discarded; the configured upstream gets /x
  const abs = await send('http://evil.example/x?y=1');
  assert.equal(abs.res.status, 200);
  assert.equal(abs.seen, '/x?y=1');
  const abs2 = await send('https://evil.example:8443/../admin');
  assert.ok(abs2.res.status === 403 || abs2.res.status === 404, `status ${abs2.res.status}`);
  assert.equal(abs2.seen, undefined);
  const noPath = await send('http://evil.example');
  assert.equal(noPath.res.status, 404); // '/' matches no route here ({proxy+} never matches '/')
  // //evil.example/x is origin-form with a doubled slash
  await expectForwarded('//evil.example/x', '/evil.example/x');
  await expectRejected('ftp://evil.example/x', 'BAD_PATH');
  // every one of them went to the one configured upstream (the recording server), with its own Host
  for (const a of up.arrivals.slice(n0)) assert.equal(a.headers.host, `127.0.0.1:${up.port}`);
});

test('duplicate Host -> 400 DUPLICATE_HOST', async () => {
  const before = up.arrivals.length;
  const res = await rawRequest(gw.port, 'GET /a HTTP/1.1\r\nHost: open.test\r\nHost: evil.example\r\n\r\n');
  assertJsonError(res, 400, 'DUPLICATE_HOST');
  assert.equal(up.arrivals.length, before);
});

const BYPASSES = ['/admin', '/x/../admin', '/%61dmin', '/%61%64%6d%69%6e', '//admin', '/admin/.', '/./admin', '/admin/', '/admin//', '/admin/x/..', '/%2e/admin', '/public/../admin', '/public/%2e%2e/admin', '/admin/sub', '/ADMIN/../admin'];

test('/admin (request-termination 403) cannot be reached by path tricks; without a catch-all: 403 or 404', async () => {
  for (const t of BYPASSES) {
    const { res, seen } = await send(t, 'strict.test');
    assert.ok(res.status === 403 || res.status === 404, `${t} -> ${res.status}`);
    if (res.status === 404) assertJsonError(res, 404, 'ROUTE_NOT_FOUND');
    else assert.deepEqual(JSON.parse(res.body), { message: 'Forbidden' });
    assert.equal(seen, undefined, `${t} reached the upstream as ${seen}`);
  }
  // the exact path and the spellings that normalize to it hit the protection, not a 404
  for (const t of ['/admin', '/x/../admin', '/%61dmin', '//admin', '/./admin']) {
    assert.equal((await send(t, 'strict.test')).res.status, 403, t);
  }
});

test('/admin subtree protected next to a catch-all: every spelling is a 403, the upstream never sees /admin', async () => {
  for (const t of BYPASSES) {
    const { res, seen } = await send(t, 'open.test');
    assert.equal(res.status, 403, `${t} -> ${res.status} (upstream saw ${seen})`);
    assert.equal(seen, undefined);
  }
  // ';' parameters stay in the segment: '/admin;x' is not '/admin', and the upstream sees exactly that
  await expectForwarded('/admin;x=1', '/admin;x=1');
  assert.ok(!up.arrivals.some((a) => /^\/admin(\/|\?|$)/.test(a.url)), 'upstream saw an /admin path');
  await assertAlive(gw, pid, '/ok');
});
