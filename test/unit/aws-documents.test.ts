// Real documents as AWS accepts them, at the importer (src/openapi/import.ts) and translator
// (src/aws/translate.ts): nothing accepted is ignored silently. Every API Gateway extension key AWS
// documents (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html)
// and every field inside them is fed to the importer one at a time; each is either implemented (listed
// below with where) or warned about at its own key path. Served behaviour: test/inject/aws-documents.test.ts.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { formatPath } from '../../src/config/diagnostics.js';
import { defaultStage, defaultStageOf, importAwsDocument, sourceFromData } from '../../src/openapi/index.js';
import { stageUrls } from '../../src/server/stage-urls.js';

type Kind = 'rest' | 'http';
type Path = (string | number)[];
/** implemented: where it takes effect; warned: the importer names it at its key path. */
type Expect = { implemented: string } | 'warned';

const LAMBDA_URI = 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:fn/invocations';
const INTEGRATION: Path = ['paths', '/a', 'get', 'x-amazon-apigateway-integration'];
const AUTHORIZER: Path = ['components', 'securitySchemes', 'auth', 'x-amazon-apigateway-authorizer'];

function base(kind: Kind): Record<string, unknown> {
  if (kind === 'rest') {
    return {
      openapi: '3.0.1',
      info: { title: 't', version: '1' },
      'x-amazon-apigateway-request-validators': { all: { validateRequestBody: true, validateRequestParameters: true } },
      paths: { '/a': { get: { 'x-amazon-apigateway-integration': { type: 'http', httpMethod: 'GET', uri: 'https://example.com/a' } } } },
      components: {
        securitySchemes: {
          auth: {
            type: 'apiKey',
            name: 'Authorization',
            in: 'header',
            'x-amazon-apigateway-authtype': 'custom',
            'x-amazon-apigateway-authorizer': { type: 'token', authorizerUri: LAMBDA_URI },
          },
        },
      },
    };
  }
  return {
    openapi: '3.0.1',
    info: { title: 't', version: '1' },
    paths: { '/a': { get: { 'x-amazon-apigateway-integration': { type: 'aws_proxy', uri: LAMBDA_URI, payloadFormatVersion: '2.0' } } } },
    components: {
      securitySchemes: {
        auth: { type: 'oauth2', 'x-amazon-apigateway-authorizer': { type: 'jwt', jwtConfiguration: { issuer: 'https://issuer.example.com', audience: ['a'] } } },
      },
    },
  };
}

function setAt(doc: Record<string, unknown>, path: Path, value: unknown): void {
  let o = doc as Record<string | number, unknown>;
  path.slice(0, -1).forEach((k, i) => {
    o[k] ??= typeof path[i + 1] === 'number' ? [] : {};
    o = o[k] as Record<string | number, unknown>;
  });
  o[path[path.length - 1] as string | number] = value;
}

/** Every key, with a valid value, and what becomes of it. */
const CASES: [Kind, Path, unknown, Expect][] = [
  // Root
  ['rest', ['x-amazon-apigateway-api-key-source'], 'AUTHORIZER', { implemented: 'api-key plugin source' }],
  ['rest', ['x-amazon-apigateway-binary-media-types'], ['image/png'], { implemented: 'function and aws-mapping integrations' }],
  ['rest', ['x-amazon-apigateway-documentation'], { version: '1', documentationParts: [] }, 'warned'],
  ['rest', ['x-amazon-apigateway-endpoint-configuration'], { types: ['REGIONAL'] }, 'warned'],
  ['rest', ['x-amazon-apigateway-gateway-responses'], { DEFAULT_4XX: { statusCode: '400', responseParameters: {}, responseTemplates: { 'application/json': '{}' } } }, { implemented: 'aws error dialect' }],
  ['rest', ['x-amazon-apigateway-minimum-compression-size'], 1024, 'warned'],
  ['rest', ['x-amazon-apigateway-policy'], { Version: '2012-10-17', Statement: [] }, 'warned'],
  ['rest', ['x-amazon-apigateway-request-validators'], { all: { validateRequestBody: true, validateRequestParameters: true } }, { implemented: 'request-validation plugin' }],
  ['rest', ['x-amazon-apigateway-security-policy'], 'TLS_1_2', 'warned'],
  ['rest', ['x-amazon-apigateway-endpoint-access-mode'], 'STRICT', 'warned'],
  ['rest', ['tags', 0, 'x-amazon-apigateway-tag-value'], 'v', 'warned'],
  ['http', ['x-amazon-apigateway-importexport-version'], '1.0', { implemented: 'format marker: no behaviour on AWS either' }],
  ['http', ['x-amazon-apigateway-cors'], { allowOrigins: ['*'], allowMethods: ['GET'], allowHeaders: ['x'], exposeHeaders: ['y'], maxAge: 10, allowCredentials: false }, { implemented: 'cors plugin' }],
  ['http', ['components', 'x-amazon-apigateway-integrations'], { one: { type: 'aws_proxy', uri: LAMBDA_URI, payloadFormatVersion: '2.0' } }, { implemented: '$ref target of operations' }],
  // Operations
  ['rest', ['paths', '/b', 'x-amazon-apigateway-any-method'], { 'x-amazon-apigateway-integration': { type: 'mock', requestTemplates: { 'application/json': '{"statusCode": 200}' } } }, { implemented: 'ANY routes' }],
  ['rest', ['paths', '/a', 'get', 'x-amazon-apigateway-auth'], { type: 'NONE' }, { implemented: 'route authorization type' }],
  ['rest', ['paths', '/a', 'get', 'x-amazon-apigateway-request-validator'], 'all', { implemented: 'request-validation plugin (with x-amazon-apigateway-request-validators)' }],
  ['rest', ['x-amazon-apigateway-request-validator'], 'all', { implemented: 'default request validator (with x-amazon-apigateway-request-validators)' }],
  // x-amazon-apigateway-integration fields
  ['rest', [...INTEGRATION, 'passthroughBehavior'], 'when_no_match', { implemented: 'aws-mapping' }],
  ['rest', [...INTEGRATION, 'requestParameters'], { 'integration.request.header.x': "'v'" }, { implemented: 'aws-mapping' }],
  ['rest', [...INTEGRATION, 'requestTemplates'], { 'application/json': '{}' }, { implemented: 'aws-mapping' }],
  ['rest', [...INTEGRATION, 'responses'], { default: { statusCode: '200', responseParameters: {}, responseTemplates: {}, contentHandling: 'CONVERT_TO_TEXT' } }, { implemented: 'aws-mapping' }],
  ['rest', [...INTEGRATION, 'contentHandling'], 'CONVERT_TO_TEXT', { implemented: 'aws-mapping' }],
  ['rest', [...INTEGRATION, 'timeoutInMillis'], 5000, { implemented: 'integration timeouts' }],
  ['rest', [...INTEGRATION, 'connectionType'], 'INTERNET', { implemented: 'the default: Turnpike calls the uri' }],
  ['rest', [...INTEGRATION, 'connectionId'], 'abc123', 'warned'],
  ['rest', [...INTEGRATION, 'credentials'], 'arn:aws:iam::123456789012:role/r', 'warned'],
  ['rest', [...INTEGRATION, 'cacheKeyParameters'], ['method.request.path.id'], 'warned'],
  ['rest', [...INTEGRATION, 'cacheNamespace'], 'ns', 'warned'],
  ['rest', [...INTEGRATION, 'tlsConfig'], { insecureSkipVerification: true }, { implemented: 'aws-mapping http integrations' }],
  ['rest', [...INTEGRATION, 'description'], 'text', { implemented: 'documentation: no behaviour on AWS either' }],
  ['http', [...INTEGRATION, 'integrationSubtype'], 'SQS-SendMessage', 'warned'],
  ['http', [...INTEGRATION, 'responseParameters'], { '200': { 'overwrite:header.x': 'v' } }, 'warned'],
  ['http', [...INTEGRATION, 'contentHandling'], 'CONVERT_TO_TEXT', 'warned'],
  ['http', [...INTEGRATION, 'requestParameters'], { 'overwrite:header.x': 'v' }, 'warned'],
  ['http', [...INTEGRATION, 'timeoutInMillis'], 5000, { implemented: 'function integration timeout' }],
  // x-amazon-apigateway-authorizer fields
  ['rest', [...AUTHORIZER, 'identitySource'], 'method.request.header.Authorization', { implemented: 'lambda-authorizer identitySource' }],
  ['rest', [...AUTHORIZER, 'identityValidationExpression'], '^Bearer .+$', { implemented: 'lambda-authorizer' }],
  ['rest', [...AUTHORIZER, 'authorizerResultTtlInSeconds'], 60, { implemented: 'lambda-authorizer cache' }],
  ['rest', [...AUTHORIZER, 'authorizerCredentials'], 'arn:aws:iam::123456789012:role/r', 'warned'],
  ['rest', ['components', 'securitySchemes', 'pool'], { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'cognito_user_pools', 'x-amazon-apigateway-authorizer': { type: 'cognito_user_pools', providerARNs: ['arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc'] } }, { implemented: 'jwt plugin (Cognito)' }],
  ['http', [...AUTHORIZER, 'identitySource'], '$request.header.Authorization', { implemented: 'jwt identitySource' }],
  ['http', ['components', 'securitySchemes', 'lam'], { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authorizer': { type: 'request', authorizerUri: LAMBDA_URI, authorizerPayloadFormatVersion: '2.0', enableSimpleResponses: true, identitySource: '$request.header.Authorization', authorizerResultTtlInSeconds: 0 } }, { implemented: 'lambda-authorizer format 2.0, simple responses' }],
];

/** The extensions AWS documents (the page above), each of which CASES must feed at least once. */
const AWS_EXTENSIONS = [
  'any-method',
  'api-key-source',
  'auth',
  'authorizer',
  'authtype',
  'binary-media-types',
  'documentation',
  'endpoint-configuration',
  'gateway-responses',
  'integration',
  'integrations',
  'minimum-compression-size',
  'policy',
  'request-validator',
  'request-validators',
  'tag-value',
  'cors',
  'importexport-version',
  'security-policy',
  'endpoint-access-mode',
].map((e) => `x-amazon-apigateway-${e}`);

describe('every API Gateway extension key is implemented or warned about at its key path', () => {
  it('the cases cover every extension AWS documents', () => {
    const fed = new Set(CASES.flatMap(([, path, value]) => [...path, ...(value !== null && typeof value === 'object' ? Object.keys(value) : [])].map(String)));
    for (const [kind] of [['rest'], ['http']] as const) for (const k of JSON.stringify(base(kind)).match(/x-amazon-apigateway-[a-z-]+/g) ?? []) fed.add(k);
    assert.deepEqual(AWS_EXTENSIONS.filter((e) => !fed.has(e)), []);
  });
  for (const [kind, path, value, expect] of CASES) {
    it(`${kind} ${formatPath(path)}: ${expect === 'warned' ? 'warned' : `implemented (${expect.implemented})`}`, () => {
      const doc = base(kind);
      setAt(doc, path, value);
      const { diagnostics } = importAwsDocument(sourceFromData(doc, 'doc.json'), { apiType: kind });
      assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.path}: ${d.message}`), []);
      const at = formatPath(path);
      const warned = diagnostics.some((d) => d.severity === 'warning' && d.path === at);
      if (expect === 'warned') assert.ok(warned, `no warning at ${at}: ${diagnostics.map((d) => `${d.path}: ${d.message}`).join('; ')}`);
    });
  }
});

describe('documents as SAM and AWS exports write them', () => {
  const doc = (extra: Record<string, unknown>) => ({ paths: { '/a': { get: { 'x-amazon-apigateway-integration': { type: 'mock' } } } }, ...extra });
  it('a body without info imports without a problem; a non-map info is still an error', () => {
    const ok = importAwsDocument(sourceFromData(doc({ openapi: '3.0.1' })));
    assert.deepEqual(ok.diagnostics.filter((d) => d.severity === 'error'), []);
    assert.equal(ok.model.title, '');
    const swagger = importAwsDocument(sourceFromData(doc({ swagger: '2.0' })));
    assert.deepEqual(swagger.diagnostics.filter((d) => d.severity === 'error'), []);
    const bad = importAwsDocument(sourceFromData(doc({ openapi: '3.0.1', info: 'x' })));
    assert.deepEqual(bad.diagnostics.filter((d) => d.severity === 'error').map((d) => d.path), ['info']);
  });
  it('basePath names the stage a REST document is served under by default', () => {
    const stageOf = (extra: Record<string, unknown>) => defaultStage(importAwsDocument(sourceFromData(doc(extra))).model);
    assert.equal(stageOf({ swagger: '2.0', basePath: '/prod' }), 'prod');
    assert.equal(stageOf({ openapi: '3.0.1', servers: [{ url: 'https://x.execute-api.us-east-1.amazonaws.com/{basePath}', variables: { basePath: { default: 'Prod' } } }] }), 'Prod');
    assert.equal(stageOf({ openapi: '3.0.1', servers: [{ url: '/v1' }] }), 'v1');
    // Not a stage name (two segments), or none: dev.
    assert.equal(stageOf({ swagger: '2.0', basePath: '/api/v1' }), 'dev');
    assert.equal(stageOf({ openapi: '3.0.1' }), 'dev');
    // From the raw document, for a bare document served with --stage-variable and no --stage.
    assert.equal(defaultStageOf(doc({ swagger: '2.0', basePath: '/prod' })), 'prod');
    // HTTP APIs: $default whatever the servers say.
    const http = importAwsDocument(sourceFromData({ ...doc({ openapi: '3.0.1', servers: [{ url: '/prod' }] }), 'x-amazon-apigateway-cors': { allowOrigins: ['*'] } }));
    assert.equal(http.model.apiType, 'http');
    assert.equal(defaultStage(http.model), '$default');
  });
  it('an undefined security scheme: a warning at the requirement, the method left out as AWS leaves it out, the resource kept', () => {
    const { model, diagnostics } = importAwsDocument(
      sourceFromData({
        openapi: '3.0.1',
        paths: { '/a': { get: { security: [{ missing: [] }], 'x-amazon-apigateway-integration': { type: 'mock' } }, post: { 'x-amazon-apigateway-integration': { type: 'mock' } } } },
      }),
    );
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
    assert.deepEqual(diagnostics.filter((d) => d.severity === 'warning').map((d) => d.path), ['paths["/a"].get.security[0].missing']);
    assert.deepEqual(model.routes.map((r) => `${r.method} ${r.path}`), ['POST /a']);
    assert.deepEqual(model.omittedRoutes, [{ method: 'GET', path: '/a', reason: 'security scheme "missing" is not defined' }]);
  });
  it('a defined scheme Turnpike cannot enforce still refuses (issue 10): not the undefined-scheme path', () => {
    const { model } = importAwsDocument(
      sourceFromData({
        openapi: '3.0.1',
        components: { securitySchemes: { basic: { type: 'http', scheme: 'basic' } } },
        paths: { '/a': { get: { security: [{ basic: [] }], 'x-amazon-apigateway-integration': { type: 'mock' } } } },
      }),
    );
    assert.equal(model.omittedRoutes, undefined);
    assert.deepEqual(model.routes[0]?.security, [[{ scheme: 'basic', scopes: [] }]]);
  });
});

test('one integration Turnpike cannot run marks its route unservable; the document still imports', () => {
  const { model, diagnostics } = importAwsDocument(
    sourceFromData({
      openapi: '3.0.1',
      info: { title: 't', version: '1' },
      paths: {
        '/q': { post: { 'x-amazon-apigateway-integration': { type: 'aws', httpMethod: 'POST', uri: 'arn:aws:apigateway:us-east-1:sqs:path/123456789012/q' } } },
        '/x': { get: { 'x-amazon-apigateway-integration': { type: 'kafka' } } },
        '/ok': { get: { 'x-amazon-apigateway-integration': { type: 'mock' } } },
      },
    }),
  );
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  assert.deepEqual(
    model.routes.map((r) => [r.path, r.unservable !== undefined]),
    [
      ['/q', true],
      ['/x', true],
      ['/ok', false],
    ],
  );
});

test('stage URLs for the listening line: under /{stage}/, at a stage\'s own host, $default at /; native routes left out', () => {
  const route = (api: string, stage: string | undefined, path: string, hosts: string[] = []) => ({ api, stage, path, hosts });
  const routes = [
    route('shop', 'prod', '/prod/items'),
    route('shop', 'prod', '/prod/{proxy+}'),
    route('shop', 'beta', '/items', ['beta.example.com']),
    route('shop', 'prod', '$default'),
    route('queue', '$default', '/send'),
    route('native', undefined, '/health'),
  ];
  assert.deepEqual(stageUrls({ routes } as unknown as Parameters<typeof stageUrls>[0], '::', 8080), [
    { api: 'shop', stage: 'prod', url: 'http://localhost:8080/prod/' },
    { api: 'shop', stage: 'beta', url: 'http://beta.example.com:8080/' },
    { api: 'queue', stage: '$default', url: 'http://localhost:8080/' },
  ]);
  assert.deepEqual(stageUrls({ routes: [route('a', 'dev', '/dev/x')] } as unknown as Parameters<typeof stageUrls>[0], '::1', 80), [
    { api: 'a', stage: 'dev', url: 'http://[::1]:80/dev/' },
  ]);
});
