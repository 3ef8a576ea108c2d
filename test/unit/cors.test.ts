import assert from 'node:assert/strict';
import { fromAwsCors } from '../../src/aws/cors.js';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import type { AwsCors } from '../../src/openapi/types.js';
import {
  type CorsConfig,
  addActualHeaders,
  addPreflightHeaders,
  compileCors,
  corsConfigProblems,
  originAllowed,
  rawHeader,
  stripCorsHeaders,
} from '../../src/plugins/cors/index.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { HeaderList } from '../../src/util/header-list.js';

const deps = () => ({ logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });

function preflight(cfg: CorsConfig, origin: string, method: string, requestHeaders?: string) {
  const h = new HeaderList();
  const ok = addPreflightHeaders(compileCors(cfg), origin, method, requestHeaders, h);
  return { ok, headers: h.toObject() };
}

function actual(cfg: CorsConfig, origin: string, start: string[] = []) {
  const h = new HeaderList([...start]);
  stripCorsHeaders(h);
  addActualHeaders(compileCors(cfg), origin, h);
  return h.toObject();
}

test('origin matcher: exact origins, case of the config, no prefix or suffix matches', () => {
  const c = compileCors({ allowOrigins: ['https://App.Example.com', 'http://localhost:3000'] });
  assert.equal(originAllowed(c, 'https://app.example.com'), true);
  assert.equal(originAllowed(c, 'http://localhost:3000'), true);
  assert.equal(originAllowed(c, 'http://localhost:3001'), false);
  assert.equal(originAllowed(c, 'http://localhost'), false);
  assert.equal(originAllowed(c, 'https://app.example.com.evil.com'), false);
  assert.equal(originAllowed(c, 'http://app.example.com'), false, 'the scheme is part of the origin');
  assert.equal(c.wildcard, undefined, 'no RegExp when there are no wildcard origins');
});

test('origin matcher: AWS scheme wildcards "https://*" and "http://*"', () => {
  const c = compileCors({ allowOrigins: ['https://*'] });
  assert.equal(originAllowed(c, 'https://anything.example'), true);
  assert.equal(originAllowed(c, 'https://localhost:8443'), true);
  assert.equal(originAllowed(c, 'http://anything.example'), false);
  assert.equal(originAllowed(c, 'https://'), false);
});

test('origin matcher: subdomain wildcards match one or more labels, never the bare domain or a look-alike', () => {
  const c = compileCors({ allowOrigins: ['https://*.example.com', 'http://*.dev.test:8080'] });
  assert.equal(originAllowed(c, 'https://a.example.com'), true);
  assert.equal(originAllowed(c, 'https://a.b.example.com'), true);
  assert.equal(originAllowed(c, 'https://example.com'), false);
  assert.equal(originAllowed(c, 'https://aexample.com'), false);
  assert.equal(originAllowed(c, 'https://a.example.com.evil.net'), false);
  assert.equal(originAllowed(c, 'https://evil.net/.example.com'), false);
  assert.equal(originAllowed(c, 'https://a.example.com:8443'), false, 'no port in the pattern: none allowed');
  assert.equal(originAllowed(c, 'http://a.example.com'), false);
  assert.equal(originAllowed(c, 'http://x.dev.test:8080'), true);
  assert.equal(originAllowed(c, 'http://x.dev.test'), false);
  assert.equal(originAllowed(c, 'http://x.dev.test:80801'), false);
  assert.ok(c.wildcard instanceof RegExp, 'wildcards compile to one RegExp');
});

test('origin matcher: "*" allows every origin', () => {
  const c = compileCors({ allowOrigins: ['*', 'https://ignored.example'] });
  assert.equal(originAllowed(c, 'https://whatever.example'), true);
  assert.equal(originAllowed(c, 'null'), true);
});

test('config problems: trailing slash, path, bad wildcard, non-origin, credentials with "*"', () => {
  const problems = corsConfigProblems({
    allowOrigins: ['https://ok.example', 'https://a.example/', 'https://b.example/app', 'https://a*.example.com', 'example.com', '*'],
    allowCredentials: true,
  });
  assert.deepEqual(
    problems.map((p) => p.path),
    [['allowOrigins', 1], ['allowOrigins', 2], ['allowOrigins', 3], ['allowOrigins', 4], ['allowCredentials']],
  );
  assert.match(problems[0]?.message ?? '', /trailing slash/);
  assert.match(problems[4]?.message ?? '', /allowCredentials cannot be used with the "\*" origin/);
  assert.deepEqual(corsConfigProblems({ allowOrigins: ['https://*.example.com', 'https://*', 'null'], allowCredentials: true }), []);
  assert.throws(() => compileCors({ allowOrigins: ['*'], allowCredentials: true }, 'route:a/b'), /cors \(route:a\/b\) allowCredentials: allowCredentials cannot be used/);
});

test('preflight allowed: origin echoed, methods and headers as configured, max age, credentials, Vary', () => {
  const r = preflight(
    { allowOrigins: ['https://app.example'], allowMethods: ['get', 'POST'], allowHeaders: ['Content-Type', 'X-Api-Key'], maxAge: 300, allowCredentials: true },
    'https://app.example',
    'POST',
    'content-type, x-api-key',
  );
  assert.equal(r.ok, true);
  assert.deepEqual(r.headers, {
    vary: 'Origin',
    'access-control-allow-origin': 'https://app.example',
    'access-control-allow-credentials': 'true',
    'access-control-allow-methods': 'GET,POST',
    'access-control-allow-headers': 'content-type,x-api-key',
    'access-control-max-age': '300',
  });
});

test('preflight with "*" everywhere: origin "*", method and headers echoed (a literal "*" means nothing to credentialed requests)', () => {
  const r = preflight({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'] }, 'https://x.example', 'PATCH', 'x-one,x-two');
  assert.equal(r.ok, true);
  assert.deepEqual(r.headers, {
    vary: 'Access-Control-Request-Method, Access-Control-Request-Headers',
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'PATCH',
    'access-control-allow-headers': 'x-one,x-two',
  });
  const noHeaders = preflight({ allowOrigins: ['*'], allowHeaders: ['*'], allowMethods: ['GET'] }, 'https://x.example', 'GET');
  assert.equal(noHeaders.headers['access-control-allow-headers'], undefined);
});

test('preflight denied (origin, method or header not allowed): no CORS header at all, only Vary', () => {
  const cfg: CorsConfig = { allowOrigins: ['https://app.example'], allowMethods: ['GET'], allowHeaders: ['x-ok'] };
  for (const [origin, method, hdrs] of [
    ['https://evil.example', 'GET', undefined],
    ['https://app.example', 'DELETE', undefined],
    ['https://app.example', 'GET', 'x-ok, x-not-ok'],
  ] as const) {
    const r = preflight(cfg, origin, method, hdrs);
    assert.equal(r.ok, false, `${origin} ${method} ${hdrs}`);
    assert.deepEqual(r.headers, { vary: 'Origin' });
  }
  assert.equal(preflight({ allowOrigins: ['https://app.example'] }, 'https://app.example', 'GET').ok, false, 'no allowMethods: no method is allowed');
});

test('actual request: allow-origin, credentials and expose headers added; the integration\'s CORS headers dropped', () => {
  const cfg: CorsConfig = { allowOrigins: ['https://*.example.com'], exposeHeaders: ['X-Total', 'ETag'], allowCredentials: true };
  const upstream = ['content-type', 'text/plain', 'access-control-allow-origin', '*', 'vary', 'Accept', 'access-control-expose-headers', 'x-secret', 'x-other', '1'];
  assert.deepEqual(actual(cfg, 'https://app.example.com', upstream), {
    'content-type': 'text/plain',
    vary: ['Accept', 'Origin'],
    'x-other': '1',
    'access-control-allow-origin': 'https://app.example.com',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-total,etag',
  });
  assert.deepEqual(actual(cfg, 'https://evil.example', upstream), { 'content-type': 'text/plain', vary: ['Accept', 'Origin'], 'x-other': '1' });
  assert.deepEqual(actual({ allowOrigins: ['*'] }, 'https://evil.example'), { 'access-control-allow-origin': '*' }, 'no Vary when the answer is the same for every origin');
});

test('rawHeader finds a header whatever the case it was sent in', () => {
  const raw = ['Host', 'x', 'ORIGIN', 'https://a.example', 'Access-Control-Request-Method', 'PUT'];
  assert.equal(rawHeader(raw, 'origin'), 'https://a.example');
  assert.equal(rawHeader(raw, 'access-control-request-method'), 'PUT');
  assert.equal(rawHeader(raw, 'access-control-request-headers'), undefined);
});

test('fromAwsCors maps x-amazon-apigateway-cors one to one', () => {
  const aws: AwsCors = {
    allowOrigins: ['https://app.example'],
    allowMethods: ['GET', 'OPTIONS'],
    allowHeaders: ['authorization'],
    exposeHeaders: ['x-api-id'],
    maxAge: 600,
    allowCredentials: true,
  };
  assert.deepEqual(fromAwsCors(aws), { ...aws });
  const noAge = fromAwsCors({ ...aws, maxAge: undefined as unknown as number, allowCredentials: false });
  assert.equal('maxAge' in noAge, false);
  assert.equal(noAge.allowCredentials, false);
});

test('config load: credentials with "*" is rejected, unknown keys get a did-you-mean', () => {
  const withStar = `
apis:
  - name: a
    routes:
      - { path: /x, integration: { type: mock }, plugins: { cors: { allowOrigins: ['*'], allowCredentials: true } } }
`;
  assert.throws(() => buildTable(parseConfigText(withStar, 'test.yaml'), deps()), /allowCredentials cannot be used with the "\*" origin/);
  const typo = `
apis:
  - name: a
    routes:
      - { path: /x, integration: { type: mock }, plugins: { cors: { allowOrigin: ['*'] } } }
`;
  try {
    buildTable(parseConfigText(typo, 'test.yaml'), deps());
    assert.fail('expected a rejection');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /did you mean "allowOrigins"/);
  }
});
