// Property test of the request-target handling through the real gateway process (DESIGN habit 13):
// random targets built from the pieces path attacks are made of (%xx, dots, slashes, backslashes,
// unicode, long runs) go over raw sockets. The gateway always answers, in time, with one of
// 200/400/404/405/414, never a 5xx; whenever the upstream is reached, it received exactly
// normalizeTarget(target) (path and query); and a target normalizeTarget rejects never gets through.
//
// The target normalizeTarget is given is what Node hands the gateway: the request line's bytes
// decoded as latin1 (we send the generated string as UTF-8), so raw 'é' arrives as the two
// bytes C3 A9 and is forwarded as %C3%A9; and llhttp skips extra spaces before 'HTTP/1.1', so
// trailing spaces are not part of it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { normalizeTarget } from '../../src/server/path.js';
import { type RecordingUpstream, assertAlive, startRecordingUpstream } from '../helpers/edge.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { rawRequest } from '../helpers/raw-http.js';

const RUNS = 300;
const ALLOWED = new Set([200, 400, 404, 405, 414]);

let up: RecordingUpstream;
let gw: RunningGateway;

before(async () => {
  up = await startRecordingUpstream();
  gw = await startGateway(`
server:
  accessLog: false
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: fuzz
    routes:
      - name: ok
        path: /ok
        integration: { type: mock, body: { ok: true } }
      - name: admin
        methods: [POST]
        path: /admin
        integration: { type: mock, body: { admin: true } }
      - name: files
        methods: [GET]
        path: /files/{proxy+}
        allowEncodedSlashes: true
        integration: { type: http, upstream: backend }
      - name: all
        methods: [GET]
        path: /{proxy+}
        integration: { type: http, upstream: backend }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

// Tricky but valid pieces (most targets built only from these must reach the upstream) ...
const VALID = [
  '/', '//', '.', '..', '...', '%2e', '%2E', '%2e%2E', '.%2e', 'a', 'b', 'admin', 'files', '%61', '%7E', '~', '%C3%A9', '%E2%82%AC',
  '%F0%9F%98%80', 'é', '€', '😀', '\u00ff', ';', ';x=1', '?', '?q=1', '?a=%2F&b=..', '#', '#frag', '+', '&', '=', '%20', '"', '<', '>',
  '{', '}', '|', '^', '`', '[', ']', "'", '*', '@', ':', '$', '!', '%3B', '%3f', '%23', '%25',
];
// ... and pieces that must be refused (by Node's parser or by normalizeTarget) or need an opt-in.
const POISON = ['%2F', '%2f', '%5C', '%5c', '\\', '%', '%4', '%G1', '%00', '%01', '%7F', '%C0%AE', '%C0%AF', '%FF', '%ED%A0%80', '%E2%82', '..;', ' ', '\t'];
const LONG = 'x'.repeat(9_000); // past urlBytes (8192): 414

const piece = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom(...VALID) },
  { weight: 3, arbitrary: fc.constantFrom(...POISON) },
  // any other characters, except CR/LF, which would end the request line and start a second request
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((s) => !/[\r\n]/.test(s)) },
  { weight: 1, arbitrary: fc.constant(LONG) },
);
const prefix = fc.constantFrom('/', '/', '/', '/', '//', '/admin', '/files/', '/ok', 'http://evil.example', 'http://evil.example/', 'HTTPS://evil.example:1/', '*', '');
const targetArb = fc.tuple(prefix, fc.array(piece, { maxLength: 10 })).map(([p, parts]) => p + parts.join(''));

test(`random request targets (${RUNS} runs): always a 200/400/404/405/414 answer, and the upstream gets exactly normalizeTarget(target)`, async (t) => {
  const pid = gw.proc.pid;
  const started = performance.now();
  const statuses = new Map<number, number>();
  let reached = 0;
  await fc.assert(
    fc.asyncProperty(targetArb, async (target) => {
      const before = up.arrivals.length;
      const res = await rawRequest(gw.port, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: fuzz.test\r\nConnection: close\r\n\r\n`, 'utf8'), { timeoutMs: 2_000 });
      assert.equal(res.outcome, 'response', `no answer within 2 s (${res.outcome})`);
      assert.ok(ALLOWED.has(res.status), `status ${res.status}: ${res.body.slice(0, 200)}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status !== 200 || res.headers['content-type']?.startsWith('application/json')) {
        // gateway answers (errors, mock) always carry a request id
        assert.ok(res.headers['x-request-id'], 'x-request-id missing');
      }
      const arrived = up.arrivals.slice(before);
      assert.ok(arrived.length <= 1);
      const seen = arrived[0]?.url;
      const n = normalizeTarget(Buffer.from(target, 'utf8').toString('latin1').replace(/ +$/, ''));
      // A trailing slash never selects another route: `/ok/` is served by the `/ok` route (docs/routing.md).
      const effective = n.ok && n.path === '/ok/' ? '/ok' : n.ok ? n.path : '';
      if (seen !== undefined) {
        reached++;
        assert.ok(n.ok, `upstream reached with ${seen} but normalizeTarget rejects the target`);
        assert.equal(seen, n.rawQuery ? `${n.path}?${n.rawQuery}` : n.path);
        assert.equal(res.status, 200);
      } else if (res.status === 200) {
        // only the mock route answers 200 without the upstream
        assert.ok(n.ok && effective === '/ok', `200 without the upstream for ${JSON.stringify(target)}`);
      }
      if (!n.ok) assert.ok(res.status === 400 || res.status === 414, `normalizeTarget rejects it but the gateway answered ${res.status}`);
    }),
    { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31), endOnFailure: true },
  );
  assert.ok(performance.now() - started < 20_000, 'fuzz run took too long');
  t.diagnostic(`statuses ${JSON.stringify([...statuses])}, upstream reached ${reached}/${RUNS}`);
  // the property is only worth something if a good share of the targets actually got through
  assert.ok(reached >= RUNS * 0.1, `only ${reached} of ${RUNS} targets reached the upstream`);
  assert.ok((statuses.get(400) ?? 0) >= RUNS * 0.05, 'too few rejected targets: the generator lost its poison');
  await assertAlive(gw, pid);
});
