/**
 * waf body rules on bodies sent chunked (HTTP framing: the process tier) and `turnpike validate` on a
 * ReDoS-prone rule (CLI output). Everything else about ip-restriction and waf runs in-process:
 * test/inject/ip-waf.test.ts, with the same gateway A config.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, runCli, startGateway, tempConfig } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (and an optional body), through a fresh connection. */
function call(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string, chunked = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined && !chunked) h['content-length'] = String(Buffer.byteLength(body));
    // host/port/path options, not a URL string: WHATWG URL parsing would resolve %2e%2e before sending.
    const u = new URL(base);
    const req = http.request({ host: u.hostname, port: u.port, path, method, headers: h, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const SECRET_RULE = 'block-private-7f3a';

let up: Upstream;
let gwA: RunningGateway;

before(async () => {
  up = await startUpstream();
  gwA = await startGateway(`
server:
  trustedProxies: [127.0.0.1/32]
upstreams:
  app: { targets: [{ url: ${up.url} }] }
apis:
  - name: ip
    basePath: /ip
    plugins:
      ip-restriction: { allow: [10.0.0.0/8, 2001:db8::/32], deny: [10.6.6.0/24] }
    routes:
      - { path: '/{proxy+}', integration: { type: http, upstream: app } }
      - path: /open
        integration: { type: http, upstream: app }
        plugins: { ip-restriction: { enabled: false } }
  - name: w
    basePath: /waf
    plugins:
      waf:
        managed: [sqli, xss, traversal, scanners]
        rules:
          - { id: allow-office, action: allow, when: [{ field: ip, operator: ip-in, value: [10.9.0.0/16] }] }
          - { id: ${SECRET_RULE}, action: block, when: [{ field: path, operator: starts-with, value: /waf/private }] }
          - { id: count-posts, action: count, when: [{ field: method, operator: equals, value: POST }] }
          - { id: no-eval-in-body, action: block, when: [{ field: body, operator: contains, value: 'eval(' }] }
          - { id: too-many-args, action: block, when: [{ field: query, operator: count-gt, value: 20 }] }
    routes:
      - { path: '/{proxy+}', integration: { type: http, upstream: app } }
`);
});

after(async () => {
  await gwA?.stop();
  await up?.close();
});

test('waf body rules inspect a body sent chunked (no content-length) as they do a fixed-length one', async () => {
  const before = up.seen.length;
  const b = await call(gwA.url, 'POST', '/waf/run', { 'content-type': 'application/json' }, '{"code":"eval(atob(x))"}', true);
  assert.equal(b.status, 403);
  assert.equal(up.seen.length, before);
  const ok = await call(gwA.url, 'POST', '/waf/notes', { 'content-type': 'application/json' }, '{"name":"O\'Brien","text":"select a plan"}', true);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(JSON.parse(ok.body).body).name, "O'Brien");
});

test('turnpike validate rejects a ReDoS-prone user regex with file:line:col and the key path', async () => {
  const file = tempConfig(`apis:
  - name: a
    routes:
      - path: /x
        integration: { type: mock }
        plugins:
          waf:
            rules:
              - id: bad
                action: block
                when:
                  - { field: query, operator: regex, value: '(a+)+$' }
`);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:12:\\d+ apis\\[0\\]\\.routes\\[0\\]\\.plugins\\.waf\\.rules\\[0\\]\\.when\\[0\\]\\.value: .*catastrophically`));
});
