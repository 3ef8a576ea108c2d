// Fuzzing in CI (test/fuzz/harness.ts), the HTTP/1.1 request path through the real gateway process:
// raw bytes built from the pieces request smuggling and parser attacks are made of (methods, targets,
// header names such as __proto__, obs-fold, bare LF, duplicate Content-Length, chunked framing, NULs)
// go over a socket whose write side is then closed. The gateway must answer with a status line and,
// for its own errors, a coded JSON body; or close cleanly; never stall (no answer within 5 s) or die.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { assertAlive } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { craftedConfig } from '../inject/crafted-config.js';
import { fuzz } from './harness.js';

let up: Upstream;
let gw: RunningGateway;

before(async () => {
  up = await startUpstream();
  const { dir, config } = craftedConfig(up.url);
  gw = await startGateway(config.replace('    routes:\n', '    routes:\n      - { name: ok, path: /ok, integration: { type: mock, body: { ok: true } } }\n'), { dir });
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

/** Writes the bytes, half-closes, and reads until the server closes (or 5 s pass: a stall). */
function exchange(port: number, bytes: Buffer): Promise<{ raw: Buffer; stalled: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ raw: Buffer.concat(chunks), stalled: true });
    }, 5_000);
    sock.on('connect', () => sock.end(bytes));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ raw: Buffer.concat(chunks), stalled: false });
    });
  });
}

const method = fc.constantFrom('GET', 'POST', 'PUT', 'HEAD', 'OPTIONS', 'DELETE', 'PATCH', 'CONNECT', 'TRACE', 'G ET', 'get', '', 'PRI');
const target = fc.constantFrom('/ok', '/dev/mock', '/dev/signup', '/dev/mapped?constructor=1&__proto__=2', '/native/up', '/native/fn2?toString=1', '*', 'http://x/ok', '/%', '/..%2f..', '/a b', '//ok', '/ok#f', '', '/dev/passthrough');
const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.1 ', 'HTTP/9', 'http/1.1', '');
const header = fc.constantFrom(
  'Host: a',
  'Host: a\r\nHost: b',
  'Content-Length: 5',
  'Content-Length: 5\r\nContent-Length: 6',
  'Content-Length: -1',
  'Content-Length: 99999999999999999999',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: xchunked',
  'Content-Type: application/json',
  'constructor: 1',
  '__proto__: 2',
  'toString: 3',
  'X-Fold: a\r\n b',
  'Bad Header: x',
  ': empty',
  'X-Nul: a\0b',
  'Expect: 100-continue',
  'Connection: close',
  'Connection: keep-alive, Upgrade\r\nUpgrade: websocket',
  `X-Long: ${'a'.repeat(20_000)}`,
);
const body = fc.constantFrom('', '{"email":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}', '5\r\nhello\r\n0\r\n\r\n', '0\r\n\r\n', 'zz\r\n', 'hello', '{"a":', '\0\0\0');
const eol = fc.constantFrom('\r\n', '\n', '\r');

const request = fc
  .record({ method, target, version, headers: fc.array(header, { maxLength: 5 }), eol, body, junk: fc.uint8Array({ maxLength: 8 }) })
  .map((r) => ({ text: `${r.method} ${r.target} ${r.version}${r.eol}${r.headers.join(r.eol)}${r.headers.length ? r.eol : ''}${r.eol}${r.body}`, junk: [...r.junk] }));

test('fuzz: the HTTP/1.1 request path never crashes or stalls the gateway', async (t) => {
  const pid = gw.proc.pid;
  await fuzz(t, 'http1', request, async ({ text, junk }) => {
    const bytes = Buffer.concat([Buffer.from(text, 'latin1'), Buffer.from(junk)]);
    const { raw, stalled } = await exchange(gw.port, bytes);
    assert.equal(stalled, false, `no answer and no close within 5 s for ${JSON.stringify(text.slice(0, 200))}`);
    assert.equal(gw.proc.exitCode, null, `the gateway exited: ${gw.stderr().slice(-500)}`);
    if (raw.length === 0) return; // a clean close
    const head = raw.toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3}) /.exec(head);
    assert.ok(m, `not a status line: ${JSON.stringify(head.slice(0, 80))}`);
    const status = Number(m[1]);
    assert.ok(status >= 100 && status < 600);
    // The gateway's own errors carry a code (AWS routes answer AWS's bodies, which carry none).
    if (status >= 400 && /content-type: application\/json/i.test(head) && !/x-amzn-/i.test(head) && !/x-amz-apigw-id/i.test(head)) {
      const jsonStart = head.indexOf('\r\n\r\n');
      const bodyText = head.slice(jsonStart + 4);
      if (bodyText.startsWith('{') && !bodyText.includes('"Internal server error"') && !bodyText.includes('"Not Found"')) {
        assert.match(bodyText, /"code":"[A-Z_]+"/, `an uncoded error: ${bodyText.slice(0, 200)}`);
      }
    }
  });
  await assertAlive(gw, pid);
});
