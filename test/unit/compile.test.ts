import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, fullSchema, parseConfigText } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { PHASES } from '../../src/pipeline/phases.js';
import { BUNDLED_PLUGINS } from '../../src/plugins/registry.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { ROOT } from '../helpers/gateway.js';

const deps = () => ({ logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });

function build(yaml: string) {
  return buildTable(parseConfigText(yaml, 'test.yaml'), deps());
}

function errorsOf(yaml: string): string[] {
  try {
    build(yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  assert.fail('expected the config to be rejected');
}

test('the phase order is the documented lifecycle', () => {
  assert.deepEqual(
    [...PHASES],
    ['onRequest', 'authenticate', 'authorize', 'rateLimit', 'transformRequest', 'beforeIntegration', 'transformResponse', 'beforeSend', 'log'],
  );
});

test('bundled plugins: names, phases and priorities are pinned', () => {
  const table = build(`
plugins:
  response-headers: { set: { a: b } }
  request-termination: { status: 418 }
  cors: { allowOrigins: ['*'] }
apis:
  - name: a
    routes:
      - { path: /x, integration: { type: mock } }
`);
  const route = table.routes[0];
  assert.ok(route);
  assert.deepEqual(route.pluginOrder, ['onRequest:cors', 'onRequest:request-termination', 'transformResponse:cors', 'transformResponse:response-headers']);
  assert.deepEqual(
    BUNDLED_PLUGINS.map((p) => [p.name, p.priority]),
    [
      ['cors', 1000],
      ['response-headers', 100],
      ['request-termination', 10],
      ['request-validation', 1000],
      ['api-key', 900],
      ['aws-iam', 1100],
      ['jwt', 1050],
      ['lambda-authorizer', 1000],
      ['ip-restriction', 3000],
      ['waf', 2900],
      ['rate-limit', 800],
      ['concurrency-limit', 750],
    ],
  );
});

test('bundled plugins: within each phase no two share a priority, so the order never depends on names', () => {
  const byPhase = new Map<string, Map<number, string>>();
  for (const p of BUNDLED_PLUGINS) {
    for (const phase of p.phases) {
      const seen = byPhase.get(phase) ?? new Map<number, string>();
      const other = seen.get(p.priority);
      assert.equal(other, undefined, `${p.name} and ${other} share priority ${p.priority} in ${phase}`);
      seen.set(p.priority, p.name);
      byPhase.set(phase, seen);
    }
  }
  assert.deepEqual(
    Object.fromEntries(BUNDLED_PLUGINS.map((p) => [p.name, p.phases])),
    {
      cors: ['onRequest', 'transformResponse'],
      'response-headers': ['transformResponse'],
      'request-termination': ['onRequest'],
      'request-validation': ['transformRequest'],
      'api-key': ['authenticate', 'rateLimit'],
      'aws-iam': ['authenticate'],
      jwt: ['authenticate', 'authorize'],
      'lambda-authorizer': ['authenticate'],
      'ip-restriction': ['onRequest'],
      waf: ['onRequest'],
      'rate-limit': ['rateLimit', 'transformResponse'],
      'concurrency-limit': ['rateLimit'],
    },
  );
});

test('route plugin config wins over API and global; enabled: false turns an inherited plugin off', () => {
  const table = build(`
plugins:
  response-headers: { set: { x-level: global } }
apis:
  - name: a
    plugins:
      response-headers: { set: { x-level: api } }
    routes:
      - name: inherits
        path: /inherits
        integration: { type: mock }
      - name: overrides
        path: /overrides
        plugins:
          response-headers: { set: { x-level: route } }
        integration: { type: mock }
      - name: disabled
        path: /disabled
        plugins:
          response-headers: { enabled: false }
        integration: { type: mock }
  - name: b
    routes:
      - name: global
        path: /global
        integration: { type: mock }
`);
  const byName = Object.fromEntries(table.routes.map((r) => [r.name, r]));
  assert.equal(byName.inherits?.responseHooks.length, 1);
  assert.equal(byName.overrides?.responseHooks.length, 1);
  assert.equal(byName.disabled?.responseHooks.length, 0);
  assert.equal(byName.global?.responseHooks.length, 1);
  // one instance per config object: the API-level instance is shared, not rebuilt per route
  assert.notEqual(byName.inherits?.responseHooks[0], byName.overrides?.responseHooks[0]);
  assert.notEqual(byName.inherits?.responseHooks[0], byName.global?.responseHooks[0]);
});

test('reference errors name the file position, key path and the fix', () => {
  const lines = errorsOf(`
upstreams:
  backend:
    targets: [{ url: "http://127.0.0.1:1" }]
apis:
  - name: a
    routes:
      - path: /x
        integration: { type: http, upstream: backnd }
      - path: /y/{id}
        integration: { type: http, upstream: backend, path: "/z/{other}" }
`);
  assert.deepEqual(lines, [
    'test.yaml:9:46 apis[0].routes[0].integration.upstream: unknown upstream "backnd"; defined: backend',
    'test.yaml:11:61 apis[0].routes[1].integration.path: parameter {other} is not in the route path /y/{id}',
  ]);
});

test('duplicate route names and catastrophic regexes are rejected', () => {
  const lines = errorsOf(`
apis:
  - name: a
    routes:
      - { name: r, path: /x, integration: { type: mock } }
      - { name: r, path: /y, integration: { type: mock } }
      - { name: s, path: /z, headers: { x-v: "~(a+)+$" }, integration: { type: mock } }
`);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /^test\.yaml:6:\d+ apis\[0\]\.routes\[1\]\.name: duplicate route name "r"/);
  assert.match(lines[1] ?? '', /^test\.yaml:7:\d+ apis\[0\]\.routes\[2\]\.headers\.x-v: .*catastrophic/);
});

test('trusted proxies must be addresses or CIDRs', () => {
  const lines = errorsOf(`
server:
  trustedProxies: ["10.0.0.0/8", "nonsense", "::1/129"]
apis: []
`);
  assert.equal(lines.length, 2);
  assert.match(lines[0] ?? '', /server\.trustedProxies\[1\]: "nonsense" is not an IP address or CIDR/);
  assert.match(lines[1] ?? '', /server\.trustedProxies\[2\]: "::1\/129" has an invalid prefix length/);
});

test('an OpenAPI document is detected and named as such', () => {
  const lines = errorsOf(`openapi: 3.0.1\ninfo: { title: t, version: '1' }\npaths: {}\n`);
  assert.match(lines[0] ?? '', /OpenAPI document/);
});

test('the published JSON Schema is up to date (run `npm run schema` after changing src/config/schema.ts)', () => {
  const published = JSON.parse(readFileSync(`${ROOT}/schema/turnpike.schema.json`, 'utf8')) as Record<string, unknown>;
  const { $schema: _s, ...rest } = published;
  assert.deepEqual(rest, JSON.parse(JSON.stringify(fullSchema())));
});

test('the bundled example config compiles', () => {
  const table = buildTable(parseConfigText(readFileSync(`${ROOT}/examples/gateway.yaml`, 'utf8'), 'examples/gateway.yaml'), deps());
  assert.equal(table.routes.length, 4);
});
