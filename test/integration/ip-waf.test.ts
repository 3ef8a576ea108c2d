/**
 * waf body rules on bodies sent chunked (HTTP framing: the process tier) and `turnpike validate` on a
 * ReDoS-prone rule (CLI output). Everything else about ip-restriction and waf runs in-process:
 * test/inject/ip-waf.test.ts, with the same gateway A config.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, runCli, startGateway, tempConfig } from '../helpers/gateway.js';
import { ipWafConfig } from '../helpers/ip-waf.js';
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


let up: Upstream;
let gwA: RunningGateway;

before(async () => {
  up = await startUpstream();
  gwA = await startGateway(ipWafConfig(up.url));
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
