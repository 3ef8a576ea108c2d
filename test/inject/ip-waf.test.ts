/**
 * ip-restriction and waf in-process (test/helpers/inject.ts) with a real upstream on 127.0.0.1; bodies sent
 * chunked and `turnpike validate` stay in test/integration/ip-waf.test.ts.
 * Gateway A trusts 127.0.0.1 as a proxy, so X-Forwarded-For picks the client address; gateway B
 * trusts nobody, so the same X-Forwarded-For is a spoofing attempt and must be ignored.
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { SECRET_RULE, ipWafConfig } from '../helpers/ip-waf.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with exactly these headers (and an optional body), as the process tier's fresh connection sent it. */
function call(gw: InjectedGateway, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return gw.send({ method, target: path, headers, body });
}


let up: Upstream;
let gwA: InjectedGateway;
let gwB: InjectedGateway;

before(async () => {
  up = await startUpstream();
  gwA = await injectGateway(ipWafConfig(up.url));
  gwB = await injectGateway(`
upstreams:
  app: { targets: [{ url: ${up.url} }] }
apis:
  - name: ip
    routes:
      - path: /tenants
        integration: { type: http, upstream: app }
        plugins: { ip-restriction: { allow: [10.0.0.0/8] } }
      - path: /local
        integration: { type: http, upstream: app }
        plugins: { ip-restriction: { allow: ['::ffff:127.0.0.1', 10.0.0.0/8] } }
`);
});

after(async () => {
  await gwA?.close();
  await gwB?.close();
  await up?.close();
});

test('allow and deny lists on the client resolved through a trusted proxy (v4, v6; deny wins; 403 with the request id)', async () => {
  const ok = await call(gwA, 'GET', '/ip/x', { 'x-forwarded-for': '10.1.2.3' });
  assert.equal(ok.status, 200);
  assert.equal((await call(gwA, 'GET', '/ip/x', { 'x-forwarded-for': '2001:db8::7' })).status, 200);
  for (const xff of ['10.6.6.6', '192.0.2.1', '2001:db9::1', '10.1.2.3, 192.0.2.9']) {
    const r = await call(gwA, 'GET', '/ip/x', { 'x-forwarded-for': xff, 'x-request-id': 'ip-test-1' });
    assert.equal(r.status, 403, xff);
    assert.deepEqual(JSON.parse(r.body), { message: 'Forbidden', code: 'IP_FORBIDDEN', requestId: 'ip-test-1' });
    assert.equal(r.headers['x-request-id'], 'ip-test-1');
  }
  // No X-Forwarded-For: the client is the proxy itself (127.0.0.1), not allowed.
  assert.equal((await call(gwA, 'GET', '/ip/x')).status, 403);
  // A route turns the API's restriction off.
  assert.equal((await call(gwA, 'GET', '/ip/open')).status, 200);
});

test('X-Forwarded-For spoofing: a client that is not a trusted proxy cannot claim an allowed address', async () => {
  const before = up.seen.length;
  const spoofs: Record<string, string>[] = [{ 'x-forwarded-for': '10.1.2.3' }, { 'x-forwarded-for': '10.1.2.3, 10.1.2.4' }, { 'x-real-ip': '10.1.2.3' }, { forwarded: 'for=10.1.2.3' }];
  for (const headers of spoofs) {
    const r = await call(gwB, 'GET', '/tenants', headers);
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.equal(JSON.parse(r.body).code, 'IP_FORBIDDEN');
  }
  assert.equal(up.seen.length, before, 'nothing reached the upstream');
  // The real peer (IPv4, listed as IPv4-mapped IPv6) is allowed, whatever it claims.
  assert.equal((await call(gwB, 'GET', '/local', { 'x-forwarded-for': '192.0.2.1' })).status, 200);
});

test('waf block: 403 WAF_BLOCKED with the request id; the rule id is logged (warn) and never sent to the client', async () => {
  const r = await call(gwA, 'GET', '/waf/private/data', { 'x-request-id': 'waf-block-1' });
  assert.equal(r.status, 403);
  assert.deepEqual(JSON.parse(r.body), { message: 'Forbidden', code: 'WAF_BLOCKED', requestId: 'waf-block-1' });
  const everything = JSON.stringify(r.headers) + r.body;
  assert.equal(everything.includes(SECRET_RULE), false);
  const line = await gwA.waitForLog((l) => l.requestId === 'waf-block-1' && l.ruleId === SECRET_RULE);
  assert.equal(line.level, 'warn');
  assert.equal(line.action, 'block');
  const access = await gwA.waitForLog((l) => (l.requestId === 'waf-block-1' || l.id === 'waf-block-1') && l.status === 403);
  assert.equal(JSON.stringify(access).includes(SECRET_RULE), false, 'the access log line does not carry it either');
});

test('waf managed set through the gateway: SQL injection, XSS, encoded traversal, scanner user agent; benign traffic passes', async () => {
  const blockedCases: [string, Record<string, string>][] = [
    ["/waf/items?id=1'%20OR%201=1--", {}],
    ['/waf/items?q=1+UNION+SELECT+password+FROM+users', {}],
    ['/waf/items?q=%3Cscript%3Ealert(1)%3C/script%3E', {}],
    ['/waf/items?next=javascript:alert(1)', {}],
    ['/waf/static/css/%2e%2e/%2e%2e/x', {}],
    ['/waf/items?file=..%2F..%2Fetc%2Fpasswd', {}],
    ['/waf/items', { 'user-agent': 'sqlmap/1.7.2#stable (https://sqlmap.org)' }],
    ['/waf/items', { cookie: "session=abc' OR '1'='1" }],
  ];
  for (const [path, headers] of blockedCases) {
    const r = await call(gwA, 'GET', path, headers);
    assert.equal(r.status, 403, path);
    assert.equal(JSON.parse(r.body).code, 'WAF_BLOCKED', path);
    assert.equal(r.body.includes('core-'), false);
  }
  for (const path of ["/waf/people?name=O'Brien", '/waf/plans?q=select+a+plan', '/waf/calc?q=1%3D1+is+math', '/waf/books?q=JavaScript%3A+The+Good+Parts', '/waf/items?status=online']) {
    const r = await call(gwA, 'GET', path, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0' });
    assert.equal(r.status, 200, path);
  }
});

test('issue 19: sqlmap tamper evasions of UNION SELECT are blocked in a query and in a form body; nothing reaches the upstream', async () => {
  const evasions = [
    '1 /*!50000UNION*/ /*!50000SELECT*/ password FROM users', // MySQL versioned comments
    '1 /*!UNION*/ /*!SELECT*/ password FROM users',
    '1 UNION#x\nSELECT password FROM users', // line comments between the keywords
    '1 UNION-- x\nSELECT password FROM users',
    '1 UN/**/ION SEL/**/ECT password FROM users', // comments inside the keywords
    'UNI/*x*/ON ALL SELE/*y*/CT password FROM users',
  ];
  const before = up.seen.length;
  for (const [i, payload] of evasions.entries()) {
    const q = await call(gwA, 'GET', `/waf/items?id=${encodeURIComponent(payload)}`, { 'x-request-id': `evasion-q-${i}` });
    assert.equal(q.status, 403, JSON.stringify(payload));
    assert.deepEqual(JSON.parse(q.body), { message: 'Forbidden', code: 'WAF_BLOCKED', requestId: `evasion-q-${i}` });
    const f = await call(gwA, 'POST', '/waf/items', { 'content-type': 'application/x-www-form-urlencoded' }, `id=${encodeURIComponent(payload)}`);
    assert.equal(f.status, 403, JSON.stringify(payload));
    assert.equal(JSON.parse(f.body).code, 'WAF_BLOCKED');
  }
  assert.equal(up.seen.length, before, 'the upstream saw none of them');
  // Referer is inspected too (CRS does at paranoia 1); a browser's Referer passes.
  const ref = await call(gwA, 'GET', '/waf/items', { referer: `https://example.com/?q=${encodeURIComponent('1 UN/**/ION SEL/**/ECT 1')}` });
  assert.equal(ref.status, 403);
  const fine = await call(gwA, 'GET', '/waf/items', { referer: 'https://www.google.com/search?q=union+station+select+hotels', 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36' });
  assert.equal(fine.status, 200);
});

test('waf allow stops evaluation (the managed set does not run); count logs and lets the request through', async () => {
  const allowed = await call(gwA, 'GET', "/waf/items?id=1'%20OR%201=1--", { 'x-forwarded-for': '10.9.1.1' });
  assert.equal(allowed.status, 200);
  const counted = await call(gwA, 'POST', '/waf/items', { 'x-request-id': 'waf-count-1', 'content-type': 'text/plain' }, 'hello');
  assert.equal(counted.status, 200);
  assert.equal(JSON.parse(counted.body).body, 'hello', 'the buffered body reaches the upstream intact');
  const line = await gwA.waitForLog((l) => l.requestId === 'waf-count-1' && l.ruleId === 'count-posts');
  assert.equal(line.action, 'count');
  const metrics = await (await gwA.fetch(`${gwA.adminUrl}/metrics`)).text();
  assert.match(metrics, /turnpike_waf_rule_matches_total\{rule="count-posts",action="count"\} [1-9]/);
  assert.match(metrics, new RegExp(`turnpike_waf_rule_matches_total\\{rule="${SECRET_RULE}",action="block"\\} [1-9]`));
});

test('waf body rules: a custom content rule and the managed set inspect bodies; nothing blocked reaches the upstream', async () => {
  const before = up.seen.length;
  const a = await call(gwA, 'POST', '/waf/run', { 'content-type': 'application/json' }, '{"code":"eval(atob(x))"}');
  assert.equal(a.status, 403);
  const c = await call(gwA, 'POST', '/waf/login', { 'content-type': 'application/x-www-form-urlencoded' }, "user=admin'+OR+1%3D1--&pass=x");
  assert.equal(c.status, 403);
  const d = await call(gwA, 'POST', '/waf/notes', { 'content-type': 'application/json' }, '{"text":"\\u003cscript\\u003ealert(1)"}');
  assert.equal(d.status, 403);
  assert.equal(up.seen.length, before);
  const ok = await call(gwA, 'POST', '/waf/notes', { 'content-type': 'application/json' }, '{"name":"O\'Brien","text":"select a plan"}');
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(JSON.parse(ok.body).body).name, "O'Brien");
});
