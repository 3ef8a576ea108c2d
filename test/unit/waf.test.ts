import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { waf, type WafConfig } from '../../src/plugins/waf/index.js';
import { captureLogger, fakeCtx, instance, problemsOf, run } from '../helpers/ip-waf.js';

type Cond = NonNullable<WafConfig['rules']>[number]['when'][number];
/** One block rule with one condition. */
const blockIf = (c: Cond) => instance(waf, { rules: [{ id: 'r1', action: 'block', when: [c] }] });
const blocked = async (c: Cond, r: Parameters<typeof fakeCtx>[0]) => (await run(blockIf(c), r))?.status === 403;

test('regex: compiled once, case flag, any of a list', async () => {
  const c: Cond = { field: 'path', operator: 'regex', value: '^/admin(/|$)' };
  assert.equal(await blocked(c, { path: '/admin/users' }), true);
  assert.equal(await blocked(c, { path: '/administrator' }), false);
  assert.equal(await blocked(c, { path: '/ADMIN' }), false);
  assert.equal(await blocked({ ...c, caseInsensitive: true }, { path: '/ADMIN' }), true);
  assert.equal(await blocked({ field: 'path', operator: 'regex', value: ['^/a$', '^/b$'] }, { path: '/b' }), true);
});

test('contains, equals, starts-with (strings and lists, case-insensitive option)', async () => {
  assert.equal(await blocked({ field: 'method', operator: 'equals', value: 'TRACE' }, { method: 'TRACE' }), true);
  assert.equal(await blocked({ field: 'method', operator: 'equals', value: ['TRACE', 'CONNECT'] }, { method: 'GET' }), false);
  assert.equal(await blocked({ field: 'path', operator: 'starts-with', value: '/internal/' }, { path: '/internal/x' }), true);
  assert.equal(await blocked({ field: 'path', operator: 'starts-with', value: '/internal/' }, { path: '/public/internal/' }), false);
  assert.equal(await blocked({ field: 'header', name: 'X-Debug', operator: 'contains', value: 'on' }, { headers: [['x-debug', 'turn-on']] }), true);
  assert.equal(await blocked({ field: 'header', name: 'x-debug', operator: 'equals', value: 'ON', caseInsensitive: true }, { headers: [['X-Debug', 'on']] }), true);
  assert.equal(await blocked({ field: 'header', name: 'x-debug', operator: 'equals', value: 'ON' }, { headers: [['X-Debug', 'on']] }), false);
});

test('query: decoded (+ and %XX), per argument by name, raw as received', async () => {
  assert.equal(await blocked({ field: 'query', operator: 'contains', value: 'drop me' }, { rawQuery: 'q=drop+me' }), true);
  assert.equal(await blocked({ field: 'query', operator: 'contains', value: 'drop me' }, { rawQuery: 'q=drop%20me' }), true);
  assert.equal(await blocked({ field: 'query-raw', operator: 'contains', value: 'drop me' }, { rawQuery: 'q=drop%20me' }), false);
  assert.equal(await blocked({ field: 'query-raw', operator: 'contains', value: '%20' }, { rawQuery: 'q=drop%20me' }), true);
  const byName: Cond = { field: 'query', name: 'debug', operator: 'equals', value: 'true' };
  assert.equal(await blocked(byName, { rawQuery: 'a=1&debug=true' }), true);
  assert.equal(await blocked(byName, { rawQuery: 'debug=false&debug=tr%75e' }), true, 'any occurrence, decoded');
  assert.equal(await blocked(byName, { rawQuery: 'xdebug=true' }), false);
});

test('header without a name inspects every header, duplicates included (Node would drop a second User-Agent)', async () => {
  const c: Cond = { field: 'header', operator: 'contains', value: '${jndi:' };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell payload, not a template literal.
  assert.equal(await blocked(c, { headers: [['x-a', 'fine'], ['x-b', '${jndi:ldap://x}']] }), true);
  assert.equal(await blocked(c, { headers: [['x-a', 'fine']] }), false);
  const ua: Cond = { field: 'header', name: 'user-agent', operator: 'contains', value: 'evil' };
  assert.equal(await blocked(ua, { headers: [['User-Agent', 'fine'], ['user-agent', 'evil']] }), true);
});

test('size-gt: path, header, all headers, body (content-length without reading; chunked bodies are read)', async () => {
  assert.equal(await blocked({ field: 'path', operator: 'size-gt', value: 10 }, { path: '/0123456789' }), true);
  assert.equal(await blocked({ field: 'path', operator: 'size-gt', value: 11 }, { path: '/0123456789' }), false);
  assert.equal(await blocked({ field: 'header', name: 'cookie', operator: 'size-gt', value: 4 }, { headers: [['cookie', 'a=123']] }), true);
  assert.equal(await blocked({ field: 'header', operator: 'size-gt', value: 20 }, { headers: [['aaaaaaaaaa', 'bbbbbbbbbb'], ['c', 'd']] }), true);
  assert.equal(await blocked({ field: 'header', operator: 'size-gt', value: 22 }, { headers: [['aaaaaaaaaa', 'bbbbbbbbbb'], ['c', 'd']] }), false);
  const h = blockIf({ field: 'body', operator: 'size-gt', value: 5 });
  const known = fakeCtx({ method: 'POST', body: '123456' });
  assert.equal((await run(h, known))?.status, 403);
  assert.equal(known.bodyReads, 0, 'a known content-length is enough');
  const chunked = fakeCtx({ method: 'POST', body: '123456', chunked: true });
  assert.equal((await run(h, chunked))?.status, 403);
  assert.equal(chunked.bodyReads, 1);
  assert.equal(await run(h, { method: 'POST', body: '12345' }), undefined);
});

test('count-gt: query arguments, one argument, header fields, path segments', async () => {
  assert.equal(await blocked({ field: 'query', operator: 'count-gt', value: 2 }, { rawQuery: 'a=1&b=2&c=3' }), true);
  assert.equal(await blocked({ field: 'query', operator: 'count-gt', value: 2 }, { rawQuery: 'a=1&b=2&' }), false);
  assert.equal(await blocked({ field: 'query', name: 'id', operator: 'count-gt', value: 1 }, { rawQuery: 'id=1&id=2' }), true, 'parameter pollution');
  assert.equal(await blocked({ field: 'header', operator: 'count-gt', value: 2 }, { headers: [['a', '1'], ['b', '2'], ['c', '3']] }), true);
  assert.equal(await blocked({ field: 'header', name: 'host', operator: 'count-gt', value: 1 }, { headers: [['host', 'a'], ['Host', 'b']] }), true);
  assert.equal(await blocked({ field: 'path', operator: 'count-gt', value: 3 }, { path: '/a/b/c/d' }), true);
  assert.equal(await blocked({ field: 'path', operator: 'count-gt', value: 3 }, { path: '/a/b/c/' }), false);
});

test('ip-in (v4, v6, mapped) and negate', async () => {
  const office: Cond = { field: 'ip', operator: 'ip-in', value: ['10.0.0.0/8', '2001:db8::/32'] };
  assert.equal(await blocked(office, { clientIp: '10.2.3.4' }), true);
  assert.equal(await blocked(office, { clientIp: '::ffff:10.2.3.4' }), true);
  assert.equal(await blocked(office, { clientIp: '2001:db8::1' }), true);
  assert.equal(await blocked(office, { clientIp: '192.0.2.1' }), false);
  assert.equal(await blocked({ ...office, negate: true }, { clientIp: '192.0.2.1' }), true);
  assert.equal(await blocked({ field: 'header', name: 'x-missing', operator: 'contains', value: 'x', negate: true }, {}), true);
});

test('body content rule: the body is read only when the request has one; first bodyInspectBytes only', async () => {
  const h = instance(waf, { bodyInspectBytes: 16, rules: [{ id: 'no-eval', action: 'block', when: [{ field: 'body', operator: 'contains', value: 'eval(' }] }] });
  const get = fakeCtx({});
  assert.equal(await run(h, get), undefined);
  assert.equal(get.bodyReads, 0);
  assert.equal((await run(h, { method: 'POST', body: '{"x":"eval(1)"}' }))?.status, 403);
  assert.equal(await run(h, { method: 'POST', body: `${' '.repeat(16)}eval(1)` }), undefined, 'past the inspection limit');
  const sync = h.onRequest?.(fakeCtx({}) as never);
  assert.equal(sync instanceof Promise, false, 'no body to read: the hook answers synchronously');
});

test('all conditions of a rule must hold', async () => {
  const h = instance(waf, {
    rules: [
      {
        id: 'admin-outside-office',
        action: 'block',
        when: [
          { field: 'path', operator: 'starts-with', value: '/admin' },
          { field: 'ip', operator: 'ip-in', value: ['10.0.0.0/8'], negate: true },
        ],
      },
    ],
  });
  assert.equal((await run(h, { path: '/admin', clientIp: '192.0.2.1' }))?.status, 403);
  assert.equal(await run(h, { path: '/admin', clientIp: '10.0.0.1' }), undefined);
  assert.equal(await run(h, { path: '/public', clientIp: '192.0.2.1' }), undefined);
});

test('actions in order: count logs and counts then goes on, allow stops (managed set skipped), block answers 403 without the rule id', async () => {
  const { logger, lines } = captureLogger();
  const h = instance(
    waf,
    {
      managed: ['sqli'],
      rules: [
        { id: 'count-post', action: 'count', when: [{ field: 'method', operator: 'equals', value: 'POST' }] },
        { id: 'allow-health', action: 'allow', when: [{ field: 'path', operator: 'equals', value: '/health' }] },
        { id: 'block-secret-rule-7', action: 'block', when: [{ field: 'path', operator: 'starts-with', value: '/private' }] },
      ],
    },
    logger,
  );
  const registry = new client.Registry();
  // count: continues, so the block rule still fires
  const ctx = fakeCtx({ method: 'POST', path: '/private/x' }, registry);
  const r = await run(h, ctx);
  assert.equal(r?.status, 403);
  const body = r?.body as string;
  assert.equal(JSON.parse(body).code, 'WAF_BLOCKED');
  assert.deepEqual(JSON.parse(body), { message: 'Forbidden', code: 'WAF_BLOCKED', requestId: 'req-test-1' });
  assert.equal(body.includes('block-secret-rule-7'), false);
  assert.equal(JSON.stringify(r?.headers).includes('block-secret-rule-7'), false);
  const warn = lines.find((l) => l.ruleId === 'block-secret-rule-7');
  assert.equal(warn?.level, 40);
  assert.equal(warn?.requestId, 'req-test-1');
  assert.equal(warn?.action, 'block');
  assert.ok(lines.find((l) => l.ruleId === 'count-post' && l.action === 'count'));
  const metric = await registry.getSingleMetricAsString('turnpike_waf_rule_matches_total');
  assert.match(metric, /turnpike_waf_rule_matches_total\{rule="count-post",action="count"\} 1/);
  assert.match(metric, /turnpike_waf_rule_matches_total\{rule="block-secret-rule-7",action="block"\} 1/);
  // allow: stops before the managed set would block the injection
  assert.equal(await run(h, { path: '/health', rawQuery: "id=1' OR 1=1--" }), undefined);
  assert.equal((await run(h, { path: '/other', rawQuery: "id=1' OR 1=1--" }))?.status, 403);
  // count only: goes through
  assert.equal(await run(h, { method: 'POST', path: '/public' }), undefined);
});

test('managedAction count: managed matches are logged, not blocked; disabledRules turns a rule off', async () => {
  const { logger, lines } = captureLogger();
  const h = instance(waf, { managed: ['xss'], managedAction: 'count' }, logger);
  assert.equal(await run(h, { rawQuery: 'q=<script>alert(1)</script>' }), undefined);
  assert.equal(lines.find((l) => l.ruleId === 'core-xss-script')?.action, 'count');
  const off = instance(waf, { managed: ['xss'], disabledRules: ['core-xss-js-uri'] });
  assert.equal(await run(off, { rawQuery: 'next=javascript:void(0)' }), undefined);
  assert.equal((await run(instance(waf, { managed: ['xss'] }), { rawQuery: 'next=javascript:void(0)' }))?.status, 403);
  assert.equal((await run(off, { rawQuery: 'q=<img src=x onerror=alert(1)>' }))?.status, 403);
});

test('managed sqli and xss inspect User-Agent, Referer and the headers listed in inspectHeaders (logged by name)', async () => {
  const { logger, lines } = captureLogger();
  const h = instance(waf, { managed: ['sqli', 'xss'], inspectHeaders: ['X-Forwarded-Host'] }, logger);
  assert.equal((await run(h, { headers: [['Referer', "https://example.com/?q=1' OR '1'='1"]] }))?.status, 403);
  assert.equal(lines.at(-1)?.field, 'header:referer');
  assert.equal((await run(h, { headers: [['User-Agent', 'Mozilla/5.0 <img onclick=alert(1)>']] }))?.status, 403);
  assert.equal(lines.at(-1)?.field, 'header:user-agent');
  assert.equal((await run(h, { headers: [['x-forwarded-host', '"><script>alert(1)</script>']] }))?.status, 403);
  assert.equal(lines.at(-1)?.field, 'header:x-forwarded-host');
  assert.equal(await run(instance(waf, { managed: ['sqli', 'xss'] }), { headers: [['x-forwarded-host', '"><script>alert(1)</script>']] }), undefined, 'not listed');
  // UTF-8 in a header reaches Node as latin1: full-width brackets are still seen.
  const cookie = Buffer.from('x=＜script＞alert(1)＜/script＞', 'utf8').toString('latin1');
  assert.equal((await run(h, { headers: [['Cookie', cookie]] }))?.status, 403);
  for (const ua of ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36', 'curl/8.5.0'])
    assert.equal(await run(h, { headers: [['User-Agent', ua], ['Referer', 'https://example.com/page?version=1.0&action=view#top']] }), undefined, ua);
  assert.deepEqual(
    problemsOf(() => instance(waf, { managed: ['traversal'], inspectHeaders: ['x-a'] })).map((p) => p.split(':')[0]),
    ['inspectHeaders'],
  );
});

test('managed set: names and values are inspected one by one (a query, a form body, cookies)', async () => {
  const h = instance(waf, { managed: ['sqli', 'xss'] });
  assert.equal((await run(h, { rawQuery: `id=${encodeURIComponent('1 UN/**/ION SEL/**/ECT 1')}` }))?.status, 403);
  assert.equal((await run(h, { rawQuery: 'u_id[$ne]=2' }))?.status, 403, 'an argument name');
  assert.equal(await run(h, { rawQuery: 'status=online&once=true' }), undefined, 'on…= needs the = inside one value');
  assert.equal((await run(h, { rawQuery: 'x=%20onload%3d%20' }))?.status, 403);
  const form = [['content-type', 'application/x-www-form-urlencoded']] as [string, string][];
  assert.equal((await run(h, { method: 'POST', body: 'email=admin%40example.com%27%3B', headers: form }))?.status, 403);
  assert.equal(await run(h, { method: 'POST', body: "email='foo';'bar'", headers: form }), undefined);
  assert.equal((await run(h, { headers: [['cookie', 'a=1; PHPSESSID%3Cf%20o%20r%20m=1234']] }))?.status, 403, 'a cookie name');
});

test('managed body inspection: form bodies decode +, JSON escapes are decoded, inspectBody: false skips the body', async () => {
  const h = instance(waf, { managed: ['sqli', 'xss'] });
  const form = fakeCtx({ method: 'POST', body: "user=admin'+OR+1%3D1--", headers: [['content-type', 'application/x-www-form-urlencoded']] });
  assert.equal((await run(h, form))?.status, 403);
  assert.equal((await run(h, { method: 'POST', body: '{"bio":"\\u003cscript\\u003ealert(1)"}', headers: [['content-type', 'application/json']] }))?.status, 403);
  assert.equal(await run(h, { method: 'POST', body: '{"name":"O\'Brien","plan":"select a plan"}', headers: [['content-type', 'application/json']] }), undefined);
  const noBody = instance(waf, { managed: ['sqli'], inspectBody: false });
  const ctx = fakeCtx({ method: 'POST', body: "x' OR 1=1--" });
  assert.equal(await run(noBody, ctx), undefined);
  assert.equal(ctx.bodyReads, 0, 'the body is not even buffered');
});

test('config problems with key paths: ReDoS-prone and invalid regexes, operator/field mismatches, bad CIDRs, duplicates, unknown managed ids', () => {
  const problems = problemsOf(() =>
    instance(waf, {
      managed: ['sqli'],
      disabledRules: ['core-nope'],
      rules: [
        { id: 'a', action: 'block', when: [{ field: 'path', operator: 'regex', value: '(a+)+$' }] },
        { id: 'b', action: 'block', when: [{ field: 'query', operator: 'regex', value: ['ok', '([a-z]*)*x', '('] }] },
        { id: 'c', action: 'block', when: [{ field: 'path', operator: 'ip-in', value: ['10.0.0.0/8'] }] },
        { id: 'd', action: 'block', when: [{ field: 'ip', operator: 'ip-in', value: ['10.0.0.0/8', '10.1/8'] }] },
        { id: 'a', action: 'count', when: [{ field: 'body', operator: 'count-gt', value: 3 }] },
        { id: 'e', action: 'block', when: [{ field: 'path', operator: 'size-gt', value: 'big' }] },
        { id: 'f', action: 'block', when: [{ field: 'method', name: 'x', operator: 'equals', value: 'GET' }] },
      ],
    }),
  );
  const paths = problems.map((p) => p.split(':')[0]);
  assert.deepEqual(paths, [
    'rules.0.when.0.value',
    'rules.1.when.0.value.1',
    'rules.1.when.0.value.2',
    'rules.2.when.0.operator',
    'rules.3.when.0.value.1',
    'rules.4.id',
    'rules.4.when.0.operator',
    'rules.5.when.0.value',
    'rules.6.when.0.name',
    'disabledRules.0',
  ]);
  assert.match(problems[0] as string, /backtrack catastrophically/);
  assert.match(problems[2] as string, /invalid regular expression/);
  assert.equal(problemsOf(() => instance(waf, {})).length, 1);
});

test('no-match cost: a plain GET with the whole managed set and ten rules stays synchronous and allocates no body read', () => {
  const rules = Array.from({ length: 10 }, (_, i) => ({ id: `r${i}`, action: 'block' as const, when: [{ field: 'path' as const, operator: 'starts-with' as const, value: `/blocked${i}` }] }));
  const h = instance(waf, { managed: ['sqli', 'xss', 'traversal', 'scanners'], rules });
  const ctx = fakeCtx({ path: '/pets/42', rawQuery: 'limit=10&sort=name', headers: [['user-agent', 'curl/8.5.0'], ['accept', '*/*']] });
  const out = h.onRequest?.(ctx as never);
  assert.equal(out, undefined);
  assert.equal(ctx.bodyReads, 0);
});
