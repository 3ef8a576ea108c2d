// Malformed and hostile requests through the real gateway process over raw sockets: Node's own parser
// rejections (the clientError path) and the gateway's header checks all answer a clean JSON 4xx with
// x-request-id == body.requestId, nothing reaches the upstream, and the process keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RecordingUpstream, assertAlive, assertJsonError, startRecordingUpstream } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';

let up: RecordingUpstream;
let gw: RunningGateway;
let pid: number | undefined;

before(async () => {
  up = await startRecordingUpstream();
  gw = await startGateway(`
server:
  accessLog: false
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: edge
    routes:
      - name: ok
        path: /ok
        integration: { type: mock, body: { ok: true } }
      - name: proxy
        path: /up/{proxy+}
        integration: { type: http, upstream: backend }
`);
  pid = gw.proc.pid;
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

const H = 'Host: gw.test\r\n';
const cases: { name: string; req: string; status: number; code: string | RegExp }[] = [
  // request line
  { name: 'garbage request line', req: 'GARBAGE\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
  { name: 'HTTP/0.9 request line (no version)', req: 'GET /up/v09\r\n\r\n', status: 400, code: 'BAD_REQUEST' },
  { name: 'unknown HTTP version', req: `GET /up/v19 HTTP/1.9\r\n${H}\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'HTTP/2.0 in an HTTP/1 request line', req: `GET /up/v20 HTTP/2.0\r\n${H}\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'lower-case method garbage', req: `get /up/lc HTTP/1.1\r\n${H}\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'raw control char in the target', req: `GET /up/a\x01b HTTP/1.1\r\n${H}\r\n`, status: 400, code: /^(BAD_REQUEST|BAD_PATH)$/ },
  { name: 'bare LF line endings in the request line', req: `GET /up/lf HTTP/1.1\n${H}\r\n`, status: 400, code: 'BAD_REQUEST' },
  // header names
  { name: 'control char in a header name', req: `GET /up/h HTTP/1.1\r\n${H}Bad\x01Name: x\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: "'@' in a header name", req: `GET /up/h HTTP/1.1\r\n${H}Foo@Bar: x\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'space inside a header name', req: `GET /up/h HTTP/1.1\r\n${H}X Name: v\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'space before the colon', req: `GET /up/h HTTP/1.1\r\n${H}X-Name : v\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'header line without a colon', req: `GET /up/h HTTP/1.1\r\n${H}NoColon\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'obs-fold (continuation line)', req: `GET /up/fold HTTP/1.1\r\n${H}X-Fold: a\r\n b\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'NUL in a header value', req: `GET /up/h HTTP/1.1\r\n${H}X-Nul: a\x00b\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  // framing
  { name: 'bad chunk size', req: `POST /up/chunk HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'chunk size overflow', req: `POST /up/chunk HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'Content-Length and Transfer-Encoding', req: `POST /up/clte HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'conflicting duplicate Content-Length', req: `POST /up/dupcl HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef`, status: 400, code: 'BAD_REQUEST' },
  { name: 'Content-Length list', req: `POST /up/cllist HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`, status: 400, code: /^(BAD_REQUEST|BAD_HEADER)$/ },
  { name: 'Content-Length: -1', req: `POST /up/neg HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'Content-Length: 1e3', req: `POST /up/exp HTTP/1.1\r\n${H}Content-Length: 1e3\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'Content-Length: 0x10', req: `POST /up/hex HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`, status: 400, code: 'BAD_REQUEST' },
  { name: 'Content-Length beyond 2^53', req: `POST /up/huge HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`, status: /* 400 from the parser or 413 from the limit */ 0, code: /^(BAD_REQUEST|BAD_HEADER|BODY_TOO_LARGE)$/ },
  { name: 'Transfer-Encoding: chunked, chunked', req: `POST /up/tecc HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, status: 400, code: /^(BAD_REQUEST|BAD_HEADER)$/ },
  { name: 'Transfer-Encoding twice', req: `POST /up/te2 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, status: 400, code: /^(BAD_REQUEST|BAD_HEADER)$/ },
  { name: 'Transfer-Encoding: gzip, chunked (coding we cannot decode)', req: `POST /up/tegzip HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, status: 400, code: /^(BAD_REQUEST|BAD_HEADER)$/ },
  { name: 'Transfer-Encoding: identity', req: `POST /up/teid HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\nabc`, status: 400, code: /^(BAD_REQUEST|BAD_HEADER)$/ },
  // headers the gateway itself checks
  { name: 'duplicate Host', req: `GET /up/duphost HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n`, status: 400, code: 'DUPLICATE_HOST' },
  { name: 'very long single header value (1 MiB)', req: `GET /up/long HTTP/1.1\r\n${H}X-Long: ${'v'.repeat(1024 * 1024)}\r\n\r\n`, status: 431, code: 'HEADERS_TOO_LARGE' },
  { name: '1000 small headers', req: `GET /up/many HTTP/1.1\r\n${H}${Array.from({ length: 1000 }, (_, i) => `h${i}:1\r\n`).join('')}\r\n`, status: 431, code: 'TOO_MANY_HEADERS' },
];

for (const c of cases) {
  test(`${c.name} -> ${c.status || '4xx'} JSON, upstream untouched, process alive`, async () => {
    const before = up.arrivals.length;
    const res = await rawRequest(gw.port, c.req, { timeoutMs: 3_000 });
    assert.equal(res.outcome, 'response', `no complete answer (${res.outcome}): ${res.raw.toString('latin1').slice(0, 200)}`);
    if (c.status === 0) {
      assert.ok(res.status === 400 || res.status === 413, `status ${res.status}`);
      assertJsonError(res, res.status, c.code);
    } else {
      assertJsonError(res, c.status, c.code);
    }
    assert.equal(up.arrivals.length, before, `upstream saw ${JSON.stringify(up.arrivals.at(-1)?.url)}`);
    await assertAlive(gw, pid);
  });
}

test('a client x-request-id is echoed on a gateway error; a hostile one is replaced', async () => {
  const good = await rawRequest(gw.port, `GET /up/duphost HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Request-Id: trace-123\r\n\r\n`);
  assert.equal(assertJsonError(good, 400, 'DUPLICATE_HOST').requestId, 'trace-123');
  const bad = await rawRequest(gw.port, `GET /up/duphost HTTP/1.1\r\nHost: a\r\nHost: b\r\nX-Request-Id: "><script>\r\n\r\n`);
  assert.notEqual(assertJsonError(bad, 400, 'DUPLICATE_HOST').requestId, '"><script>');
});

test('Upgrade: h2c on a normal route is proxied as plain HTTP/1.1 without Upgrade or HTTP2-Settings', async () => {
  const upgrade = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
  const res = await rawRequest(gw.port, `GET /up/h2c?x=1 HTTP/1.1\r\n${H}${upgrade}\r\n`);
  assert.equal(res.status, 200, res.raw.toString('latin1').slice(0, 300));
  const seen = up.arrivals.find((a) => a.url === '/up/h2c?x=1');
  assert.ok(seen, 'upstream was not reached');
  assert.equal(seen.headers.upgrade, undefined);
  assert.equal(seen.headers['http2-settings'], undefined);
  assert.doesNotMatch(String(seen.headers.connection ?? ''), /upgrade|http2-settings/i);
  assert.equal(res.headers.upgrade, undefined);
  // with a body: the body still arrives whole
  const post = await rawRequest(gw.port, `POST /up/h2c-post HTTP/1.1\r\n${H}${upgrade}Content-Length: 5\r\n\r\nhello`);
  assert.equal(post.status, 200);
  const p = up.arrivals.find((a) => a.url === '/up/h2c-post');
  assert.ok(p);
  assert.equal(p.bodyBytes, 5);
  assert.equal(p.complete, true);
  assert.equal(p.headers['http2-settings'], undefined);
  assert.equal(p.headers.upgrade, undefined);
  await assertAlive(gw, pid);
});

test('headers listed in Connection are not forwarded', async () => {
  const res = await rawRequest(gw.port, rawGet('/up/conn', ['Connection: x-secret', 'X-Secret: 1', 'Keep-Alive: timeout=1', 'Proxy-Connection: keep-alive']));
  assert.equal(res.status, 200);
  const seen = up.arrivals.find((a) => a.url === '/up/conn');
  assert.ok(seen);
  assert.equal(seen.headers['x-secret'], undefined);
  assert.equal(seen.headers['keep-alive'], undefined);
  assert.equal(seen.headers['proxy-connection'], undefined);
});
