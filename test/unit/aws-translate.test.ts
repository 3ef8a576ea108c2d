// The AWS front end's translator (src/aws/translate.ts): an imported REST and HTTP API document become a
// native config that the native validator accepts, with a side map back into the document; and a
// document whose translated config the native validator refuses is reported at the document's
// file:line:col and AWS key path (in-process; the CLI's report: test/integration/aws-validate-positions.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sourceOf, type Translation, translateAwsApi } from '../../src/aws/translate.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText, validateDocument } from '../../src/config/index.js';
import { sourceFromData } from '../../src/openapi/source.js';
import { importAwsDocument, parseAwsSource } from '../../src/openapi/index.js';
import { pino } from 'pino';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';

const REST = `openapi: 3.0.1
info: { title: pets, version: "1" }
x-amazon-apigateway-gateway-responses:
  MISSING_AUTHENTICATION_TOKEN:
    statusCode: "404"
    responseTemplates: { application/json: '{"message":"no such thing"}' }
paths:
  /pets/{id}:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:getPet/invocations
        timeoutInMillis: 5000
  /pets:
    post:
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: POST
        uri: "\${stageVariables.backend}/v1/pets"
        requestParameters:
          integration.request.header.x-source: "'turnpike'"
    get:
      security: [{ api_key: [] }]
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: { application/json: '{"statusCode": 200}' }
        responses: { default: { statusCode: "200" } }
  /admin:
    get:
      security: [{ basic: [] }]
      x-amazon-apigateway-integration: { type: mock, requestTemplates: { application/json: '{"statusCode": 200}' }, responses: { default: { statusCode: "200" } } }
components:
  securitySchemes:
    api_key: { type: apiKey, name: x-api-key, in: header }
    basic: { type: http, scheme: basic }
`;

const HTTP = `openapi: 3.0.1
info: { title: greeter, version: "1" }
x-amazon-apigateway-cors: { allowOrigins: ["https://app.example.com"], allowMethods: [GET] }
paths:
  /hello/{name}:
    get:
      security: [{ jwt: [greet] }]
      x-amazon-apigateway-integration:
        type: aws_proxy
        uri: arn:aws:lambda:us-east-1:123456789012:function:hello
        payloadFormatVersion: "2.0"
components:
  securitySchemes:
    jwt:
      type: oauth2
      flows: {}
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: { issuer: "https://issuer.example.com", audience: [greeter] }
`;

function translated(text: string, api: Parameters<typeof translateAwsApi>[1]['api'], claim = () => true): { t: Translation; doc: ReturnType<typeof parseAwsSource> } {
  const doc = parseAwsSource(text, 'doc.yaml');
  const imported = importAwsDocument(doc);
  assert.deepEqual(imported.diagnostics.filter((d) => d.severity === 'error'), []);
  const t = translateAwsApi(imported.model, { api, document: { file: doc.file, locate: (p) => doc.locate(p) }, claimTableDefault: claim });
  return { t, doc };
}

/** The line of the first occurrence of `needle` in `text` (1-based). */
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

type Route = { name: string; stage?: string; path: string; methods: string[]; integration: Record<string, unknown>; plugins?: Record<string, Record<string, unknown>> };

test('a REST document becomes native config: staged routes, function / aws-http-proxy / aws-mapping integrations, security plugins, refusals and not-found routes', () => {
  let claims = 0;
  const { t } = translated(REST, { name: 'pets', stages: { dev: { variables: { backend: 'https://b.example.com' } }, prod: { variables: { backend: 'https://p.example.com' } } } }, () => claims++ === 0);
  assert.deepEqual(t.problems, []);
  const api = t.config.apis[0];
  assert.equal(api.name, 'pets');
  assert.equal(api.apiType, 'rest');
  assert.equal(api.errorDialect, 'aws-rest');
  assert.equal(api.gatewayResponses?.MISSING_AUTHENTICATION_TOKEN?.statusCode, '404');
  assert.deepEqual(api.stages, { dev: { variables: { backend: 'https://b.example.com' }, basePath: '/dev' }, prod: { variables: { backend: 'https://p.example.com' }, basePath: '/prod' } });
  const routes = api.routes as unknown as Route[];
  const byName = (n: string) => {
    const r = routes.find((x) => x.name === n);
    assert.ok(r, `no route ${n}: ${routes.map((x) => x.name).join(', ')}`);
    return r;
  };

  // Every route has a real stage; paths are the resource paths (the stage's basePath adds the prefix).
  for (const r of routes) assert.ok(r.stage === 'dev' || r.stage === 'prod', `${r.name}: ${r.stage}`);
  const fn = byName('dev GET /pets/{id}');
  assert.equal(fn.path, '/pets/{id}');
  assert.deepEqual(fn.methods, ['GET']);
  assert.equal(fn.integration.type, 'function');
  assert.equal(fn.integration.function, 'getPet');
  assert.equal(fn.integration.payloadVersion, '1.0');
  assert.equal(fn.integration.timeoutMs, 5000);
  assert.equal('apiType' in fn.integration, false, 'the function integration takes its flavour from the API');

  const proxy = byName('prod POST /pets');
  assert.equal(proxy.integration.type, 'aws-http-proxy');
  assert.equal(proxy.integration.url, 'https://p.example.com');
  assert.equal(proxy.integration.path, '/v1/pets');
  assert.deepEqual(proxy.integration.requestParameters, { 'integration.request.header.x-source': "'turnpike'" });

  const keyed = byName('dev GET /pets');
  assert.equal(keyed.integration.type, 'aws-mapping');
  assert.deepEqual(keyed.plugins?.['api-key'], { source: 'HEADER' });

  // Security Turnpike cannot enforce: an ordinary route that refuses with its catalogue code.
  const admin = byName('dev GET /admin');
  assert.deepEqual(admin.plugins?.['request-termination'], { code: 'ROUTE_MISCONFIGURED' });
  assert.ok(t.refusals.some((r) => r.route === 'dev GET /admin' && r.code === 'ROUTE_MISCONFIGURED' && /basic/.test(r.why)));

  // Not-found routes: a method a resource lacks, the stage's catch-all and root, unknown stages once per table.
  const notFound = routes.filter((r) => r.name.includes('(not found)'));
  for (const r of notFound) assert.deepEqual(r.plugins?.['request-termination'], { code: 'ROUTE_NOT_FOUND' }, r.name);
  assert.deepEqual(
    notFound.filter((r) => r.stage === 'dev').map((r) => r.path).sort(),
    ['$default', '/', '/admin', '/pets', '/pets/{id}', '/{proxy+}'].sort(),
  );
  assert.deepEqual(notFound.filter((r) => r.path === '$default').map((r) => r.name), ['dev (not found) $default']);

  // The whole translation is a config the native validator accepts.
  const value = validateDocument(sourceFromData(t.config, 'doc.yaml'));
  assert.equal(value.apis[0]?.routes?.length, routes.length);
});

test('an HTTP API document: $default stage at /, cors from x-amazon-apigateway-cors, jwt from the authorizer, payload 2.0', () => {
  const { t } = translated(HTTP, { name: 'greeter' });
  assert.deepEqual(t.problems, []);
  const api = t.config.apis[0];
  assert.equal(api.apiType, 'http');
  assert.equal(api.errorDialect, 'aws-http');
  assert.deepEqual(api.stages, { $default: {} });
  assert.deepEqual(api.plugins?.cors, { allowOrigins: ['https://app.example.com'], allowMethods: ['GET'], allowHeaders: [], exposeHeaders: [], allowCredentials: false });
  const routes = api.routes as unknown as Route[];
  const hello = routes.find((r) => r.name === '$default GET /hello/{name}');
  assert.ok(hello);
  assert.equal(hello.stage, '$default');
  assert.equal(hello.integration.type, 'function');
  assert.equal(hello.integration.payloadVersion, '2.0');
  assert.equal(hello.plugins?.jwt?.issuer, 'https://issuer.example.com');
  assert.deepEqual(hello.plugins?.jwt?.audience, ['greeter']);
  assert.deepEqual(hello.plugins?.jwt?.requiredScopes, ['greet']);
  // Unknown routes: the table's catch-all and the root, as routes of the stage.
  assert.deepEqual(routes.filter((r) => r.name.includes('(not found)')).map((r) => r.path).sort(), ['$default', '/']);
  validateDocument(sourceFromData(t.config, 'doc.yaml'));
});

test('the side map points native key paths at the document: exact keys, else the nearest mapped parent', () => {
  const { t, doc } = translated(REST, { name: 'pets', stages: { dev: { variables: { backend: 'https://b.example.com' } } } });
  const routes = t.config.apis[0].routes as unknown as Route[];
  const ri = routes.findIndex((r) => r.name === 'dev GET /pets/{id}');
  const timeout = sourceOf(t.sources, ['apis', 0, 'routes', ri, 'integration', 'timeoutMs']);
  assert.deepEqual(timeout?.awsKeyPath, ['paths', '/pets/{id}', 'get', 'x-amazon-apigateway-integration', 'timeoutInMillis']);
  assert.equal(timeout?.file, 'doc.yaml');
  assert.equal(timeout?.position.line, lineOf(REST, 'timeoutInMillis: 5000'));
  // Not mapped itself: its integration's place.
  const deep = sourceOf(t.sources, ['apis', 0, 'routes', ri, 'integration', 'binaryMediaTypes', 0]);
  assert.deepEqual(deep?.awsKeyPath, ['paths', '/pets/{id}', 'get', 'x-amazon-apigateway-integration']);
  assert.deepEqual(deep?.position, doc.locate(['paths', '/pets/{id}', 'get', 'x-amazon-apigateway-integration']));
  assert.deepEqual(sourceOf(t.sources, ['apis', 0, 'gatewayResponses', 'X'])?.awsKeyPath, ['x-amazon-apigateway-gateway-responses']);
});

test('a document whose translated config the native validator refuses is reported at the OpenAPI position and AWS key path', () => {
  // The importer honours a timeout above AWS's (with a warning); the native function integration allows at most 900000.
  const text = REST.replace('timeoutInMillis: 5000', 'timeoutInMillis: 1000000').replace(/"\$\{stageVariables\.backend\}\/v1\/pets"/, 'https://b.example.com/v1/pets');
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-translate-'));
  const file = join(dir, 'doc.yaml');
  writeFileSync(file, text);
  const logger = pino({ level: 'silent' });
  let error: unknown;
  try {
    buildTable(parseConfigText(text, file), { logger, metrics: new GatewayMetrics(), pools: new PoolRegistry() });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError, String(error));
  const d = error.diagnostics.find((x) => /900000/.test(x.message));
  assert.ok(d, error.message);
  assert.equal(d.file, file);
  assert.equal(d.line, lineOf(text, 'timeoutInMillis: 1000000'));
  assert.ok(d.column > 0);
  assert.equal(d.path, 'paths["/pets/{id}"].get.x-amazon-apigateway-integration.timeoutInMillis');
  assert.match(d.message, /translated config: apis\[0\]\.routes\[\d+\]\.integration\.timeoutMs/);
  assert.equal(d.severity, 'error');
});
