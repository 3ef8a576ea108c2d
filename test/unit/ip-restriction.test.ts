import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { buildCidrList, cidrListHas } from '../../src/plugins/ip-restriction/cidr.js';
import { ipRestriction } from '../../src/plugins/ip-restriction/index.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { instance, problemsOf, run } from '../helpers/ip-waf.js';

const has = (entries: string[], ip: string) => cidrListHas(buildCidrList(entries).list, ip);

test('CIDR matching: IPv4 ranges and single addresses, boundaries included', () => {
  assert.equal(has(['10.0.0.0/8'], '10.255.255.255'), true);
  assert.equal(has(['10.0.0.0/8'], '11.0.0.0'), false);
  assert.equal(has(['192.0.2.0/24'], '192.0.2.0'), true);
  assert.equal(has(['192.0.2.0/24'], '192.0.3.1'), false);
  assert.equal(has(['198.51.100.7'], '198.51.100.7'), true);
  assert.equal(has(['198.51.100.7'], '198.51.100.8'), false);
  assert.equal(has(['0.0.0.0/0'], '203.0.113.1'), true);
  assert.equal(has(['0.0.0.0/0'], '2001:db8::1'), false, 'an IPv4 catch-all does not match IPv6 clients');
});

test('CIDR matching: IPv6 ranges, compressed and expanded spellings, zone ids', () => {
  assert.equal(has(['2001:db8::/32'], '2001:db8:ffff::1'), true);
  assert.equal(has(['2001:db8::/32'], '2001:db9::1'), false);
  assert.equal(has(['2001:db8::/32'], '2001:0db8:0000:0000:0000:0000:0000:0001'), true);
  assert.equal(has(['::1'], '::1'), true);
  assert.equal(has(['::1'], '::2'), false);
  assert.equal(has(['fe80::/10'], 'fe80::1%eth0'), true);
});

test('CIDR matching: IPv4-mapped IPv6 clients match IPv4 entries and mapped entries match IPv4 clients', () => {
  assert.equal(has(['10.0.0.0/8'], '::ffff:10.1.2.3'), true);
  assert.equal(has(['10.0.0.0/8'], '::FFFF:10.1.2.3'), true);
  assert.equal(has(['10.0.0.0/8'], '::ffff:11.1.2.3'), false);
  assert.equal(has(['::ffff:10.0.0.0/104'], '10.9.9.9'), true);
  assert.equal(has(['::ffff:10.0.0.0/104'], '11.9.9.9'), false);
  assert.equal(has(['::ffff:192.0.2.7'], '192.0.2.7'), true);
});

test('CIDR matching: garbage is never in a list', () => {
  for (const ip of ['', 'unknown', '10.0.0', '1.2.3.4.5', '::ffff:999.1.1.1', 'fe80::1%']) assert.equal(has(['0.0.0.0/0', '::/0'], ip), false, ip);
});

test('CIDR parsing: every bad entry is reported by index', () => {
  const { problems } = buildCidrList(['10.0.0.0/8', '10.0.0.0/33', 'example.com', '2001:db8::/129', '1.2.3.4/x', '1.2.3.4/']);
  assert.deepEqual(
    problems.map((p) => p.index),
    [1, 2, 3, 4, 5],
  );
});

test('deny wins over allow; allow refuses everyone else; 403 in the gateway error style', async () => {
  const h = instance(ipRestriction, { allow: ['10.0.0.0/8', '2001:db8::/32'], deny: ['10.6.6.0/24'] });
  assert.equal(await run(h, { clientIp: '10.1.2.3' }), undefined);
  assert.equal(await run(h, { clientIp: '2001:db8::5' }), undefined);
  assert.equal(await run(h, { clientIp: '::ffff:10.1.2.3' }), undefined);
  for (const ip of ['10.6.6.6', '::ffff:10.6.6.1', '192.0.2.1', '2001:db9::1', '', 'garbage']) {
    const r = await run(h, { clientIp: ip });
    assert.equal(r?.status, 403, ip);
    const body = JSON.parse(r?.body as string);
    assert.deepEqual(body, { message: 'Forbidden', code: 'IP_FORBIDDEN', requestId: 'req-test-1' });
    assert.equal(r?.headers?.['content-type'], 'application/json');
  }
});

test('deny only: listed clients refused, others pass; an unparsable address is refused (fail closed)', async () => {
  const h = instance(ipRestriction, { deny: ['203.0.113.0/24', '2001:db8:bad::/48'] });
  assert.equal(await run(h, { clientIp: '198.51.100.1' }), undefined);
  assert.equal((await run(h, { clientIp: '203.0.113.9' }))?.status, 403);
  assert.equal((await run(h, { clientIp: '::ffff:203.0.113.9' }))?.status, 403);
  assert.equal((await run(h, { clientIp: '2001:db8:bad::1' }))?.status, 403);
  assert.equal(await run(h, { clientIp: '2001:db8:600d::1' }), undefined);
  assert.equal((await run(h, { clientIp: '' }))?.status, 403);
});

test('create() problems carry key paths: bad CIDRs, empty allow, nothing configured', () => {
  assert.deepEqual(problemsOf(() => instance(ipRestriction, { allow: ['10.0.0.0/8', 'nope'], deny: ['1.2.3.4/40'] })), [
    'allow.1: "nope" is not an IP address or CIDR (write 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32)',
    'deny.0: "1.2.3.4/40": prefix length must be 0-32',
  ]);
  assert.equal(problemsOf(() => instance(ipRestriction, { allow: [] }))[0]?.startsWith('allow: an empty "allow" list'), true);
  assert.equal(problemsOf(() => instance(ipRestriction, {})).length, 1);
});

test('compile reports a bad CIDR at its file:line:col key path; route config overrides the global one', () => {
  const deps = () => ({ logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });
  const bad = `
apis:
  - name: a
    routes:
      - path: /x
        integration: { type: mock }
        plugins:
          ip-restriction:
            allow: [10.0.0.0/8, 10.0.0.300]
`;
  try {
    buildTable(parseConfigText(bad, 'gw.yaml'), deps());
    assert.fail('expected a rejection');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    const d = e.diagnostics.find((x) => x.path.includes('ip-restriction'));
    assert.ok(d, e.message);
    assert.equal(d.path, 'apis[0].routes[0].plugins.ip-restriction.allow[1]');
    assert.equal(d.line, 9);
  }
  const ok = buildTable(
    parseConfigText(
      `
plugins:
  ip-restriction: { allow: [10.0.0.0/8] }
apis:
  - name: a
    routes:
      - { path: /x, integration: { type: mock } }
      - { path: /open, integration: { type: mock }, plugins: { ip-restriction: { enabled: false } } }
`,
      'gw.yaml',
    ),
    deps(),
  );
  assert.deepEqual(ok.routes.find((r) => r.path === '/x')?.pluginOrder, ['onRequest:ip-restriction']);
  assert.deepEqual(ok.routes.find((r) => r.path === '/open')?.pluginOrder, []);
});
