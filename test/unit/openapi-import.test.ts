// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${stageVariables.x} is AWS syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, type Diagnostic } from '../../src/config/diagnostics.js';
import {
  type AwsApiModel,
  detectApiType,
  exportAwsDocument,
  importAwsDocument,
  parseAwsSource,
  parseLambdaUri,
  sourceFromData,
} from '../../src/openapi/index.js';

const dir = join(process.cwd(), 'test/fixtures/openapi');
const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
const load = (name: string) => importAwsDocument(parseAwsSource(read(name), name));
const expected = (name: string): AwsApiModel => JSON.parse(read(name)) as AwsApiModel;
/** `line:col path severity` plus the message, for exact comparisons. */
const brief = (d: Diagnostic): string => `${d.line}:${d.column} ${d.path} ${d.severity}: ${d.message}`;
const where = (ds: readonly Diagnostic[]): string[] => ds.map((d) => `${d.line}:${d.column} ${d.path} ${d.severity}`);

function roundTrip(model: AwsApiModel): { model: AwsApiModel; diagnostics: Diagnostic[] } {
  // Through text, as a file would go: the export must be plain JSON.
  const text = JSON.stringify(exportAwsDocument(model, { format: 'openapi3' }));
  return importAwsDocument(parseAwsSource(text, 'export.json'));
}

const FIXTURES = [
  'petstore-swagger.json',
  'rest-extensions.yaml',
  'http-api.yaml',
  'pets-swagger2.yaml',
  'pets-openapi3.yaml',
  'unsupported.yaml',
  'broken.yaml',
];

describe('fixtures import to the expected models', () => {
  it("AWS's PetStore (Swagger 2.0, http + mock integrations)", () => {
    const { model, diagnostics } = load('petstore-swagger.json');
    assert.deepEqual(model, expected('petstore-swagger.model.json'));
    // ${uri} is LocalStack's placeholder, not a stage variable: flagged, never silently accepted.
    assert.deepEqual(where(diagnostics), [
      '106:18 paths["/pets"].get.x-amazon-apigateway-integration.uri warning',
      '157:18 paths["/pets"].post.x-amazon-apigateway-integration.uri warning',
      '256:18 paths["/pets/{petId}"].get.x-amazon-apigateway-integration.uri warning',
      '377:3 x-amazon-apigateway-documentation warning',
    ]);
    assert.equal(detectApiType(JSON.parse(read('petstore-swagger.json'))), 'rest');
  });

  it('REST extensions: every integration type, Lambda ARNs, stage variables, validators, gateway responses, authorizers', () => {
    const { model, diagnostics } = load('rest-extensions.yaml');
    assert.deepEqual(model, expected('rest-extensions.model.json'));
    assert.deepEqual(diagnostics.map(brief), [
      '67:9 paths["/items/{id}"].get.x-amazon-apigateway-integration.credentials warning: credentials (the IAM role API Gateway assumes to call the integration) are not used: Turnpike calls the integration itself',
      '71:9 paths["/items/{id}"].get.x-amazon-apigateway-integration.cacheNamespace warning: cacheNamespace is kept but stage caching is not implemented yet (issue 15); ignored',
      '72:9 paths["/items/{id}"].get.x-amazon-apigateway-integration.cacheKeyParameters warning: cacheKeyParameters are kept but stage caching is not implemented yet (issue 15): every request reaches the integration',
      '141:9 paths["/http/{proxy+}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration.tlsConfig warning: tlsConfig is applied to non-proxy http integrations only; this http_proxy integration verifies TLS as usual',
      '183:7 paths["/no-integration"].get warning: no x-amazon-apigateway-integration: the route GET /no-integration will refuse traffic',
      '211:9 components.securitySchemes.token-auth.x-amazon-apigateway-authorizer.authorizerCredentials warning: authorizerCredentials (the IAM role API Gateway assumes to invoke the authorizer) are not used: Turnpike invokes the function itself',
    ]);
    // Spot checks of what the snapshot pins, so a wrong snapshot cannot hide them.
    const byKey = new Map(model.routes.map((r) => [`${r.method} ${r.path}`, r]));
    const get = byKey.get('GET /items/{id}');
    assert.deepEqual(get?.integration?.lambdaFunction, { name: 'GetItem', region: 'us-east-1', accountId: '123456789012', qualifier: 'live' });
    assert.deepEqual(
      get?.integration?.responses.map((r) => [r.key, r.selectionPattern, r.statusCode]),
      [
        ['Not found.*', 'Not found.*', '404'],
        ['2\\d{2}', '2\\d{2}', '200'],
        ['default', undefined, '200'],
      ],
    );
    assert.equal(get?.integration?.passthroughBehavior, 'WHEN_NO_TEMPLATES');
    assert.equal(get?.integration?.httpMethod, 'POST');
    assert.equal(get?.apiKeyRequired, true);
    assert.equal(get?.requestValidator, 'all');
    assert.equal(byKey.get('PUT /items/{id}')?.requestValidator, 'params-only');
    assert.deepEqual(byKey.get('PUT /items/{id}')?.integration?.lambdaFunction, {
      name: '${stageVariables.putFunction}',
      region: 'eu-west-1',
      accountId: '123456789012',
    });
    assert.deepEqual(byKey.get('DELETE /legacy')?.integration?.lambdaFunction, { name: '${stageVariables.fnArn}', region: 'us-east-1' });
    assert.equal(byKey.get('ANY /http/{proxy+}')?.integration?.type, 'http_proxy');
    assert.equal(byKey.get('OPTIONS /mock')?.integration?.timeoutInMillis, 29_000);
    assert.equal(byKey.get('GET /no-integration')?.integration, undefined);
    assert.equal(model.apiKeySource, 'AUTHORIZER');
    assert.equal(model.basePath, '/prod');
    assert.equal(model.securitySchemes['token-auth']?.authorizer?.identitySource, 'method.request.header.Authorization');
    assert.equal(model.securitySchemes['token-auth']?.authorizer?.authorizerResultTtlInSeconds, 60);
  });

  it('HTTP API: $default, payloadFormatVersion, CORS, JWT and Lambda authorizers, reusable integrations', () => {
    const { model, diagnostics } = load('http-api.yaml');
    assert.deepEqual(model, expected('http-api.model.json'));
    assert.deepEqual(diagnostics.map(brief), [
      '66:9 paths["/orders/{orderId}"].get.x-amazon-apigateway-integration.tlsConfig warning: tlsConfig is applied to non-proxy http integrations only; this http_proxy integration verifies TLS as usual',
      '74:9 paths["/legacy/{proxy+}"].x-amazon-apigateway-any-method.x-amazon-apigateway-integration warning: payloadFormatVersion is missing; AWS requires it for HTTP API Lambda integrations. Assumed "2.0" (what the console picks); write it explicitly',
    ]);
    const byKey = new Map(model.routes.map((r) => [`${r.method} ${r.path}`, r]));
    assert.equal(model.apiType, 'http');
    assert.equal(byKey.get('ANY $default')?.integration?.lambdaFunction?.qualifier, '${stageVariables.alias}');
    assert.equal(byKey.get('POST /orders')?.integration?.payloadFormatVersion, '1.0'); // written as the number 1.0
    assert.equal(byKey.get('GET /orders')?.integration?.timeoutInMillis, 30_000);
    assert.equal(byKey.get('GET /orders/{orderId}')?.integration?.payloadFormatVersion, '1.0');
  });

  it('the Swagger 2.0 and OpenAPI 3.0 flavours of one API import to the same model', () => {
    const a = load('pets-swagger2.yaml');
    const b = load('pets-openapi3.yaml');
    assert.deepEqual(a.diagnostics, []);
    assert.deepEqual(b.diagnostics, []);
    assert.deepEqual(a.model, expected('pets.model.json'));
    assert.deepEqual(b.model, a.model);
    // The recursive model stays a reference, resolvable against model.models.
    assert.deepEqual(a.model.routes[1]?.requestBody, { required: true, models: { 'application/json': { $ref: '#/models/Pet' } } });
  });
});

describe('warnings name what is not supported, with line:col', () => {
  it('unknown and not-yet-supported extensions and fields', () => {
    const { model, diagnostics } = load('unsupported.yaml');
    assert.ok(diagnostics.every((d) => d.severity === 'warning'));
    assert.deepEqual(
      diagnostics.map((d) => `${d.line}:${d.column} ${d.path}`),
      [
        '1:1 ',
        '5:1 x-amazon-apigateway-documentation',
        '7:1 x-amazon-apigateway-endpoint-configuration',
        '9:1 x-amazon-apigateway-policy',
        '11:1 x-amazon-apigateway-minimum-compression-size',
        '13:1 x-amazon-apigateway-frobnicate',
        '14:1 x-amazon-apigateway-cors',
        '18:5 tags[0].x-amazon-apigateway-tag-value',
        '23:9 paths["/iam"].get.x-amazon-apigateway-auth',
        '24:7 paths["/iam"].get.x-amazon-apigateway-integraton',
        '29:9 paths["/iam"].get.x-amazon-apigateway-integration.frobnicate',
        '30:31 paths["/iam"].get.x-amazon-apigateway-integration.payloadFormatVersion',
        '35:15 paths["/form"].post.parameters[0].in',
        '42:21 paths["/form"].post.requestBody.content["application/json"].schema.$ref',
        '47:14 paths["/form"].post.x-amazon-apigateway-integration.uri',
      ],
    );
    // Each message names its culprit.
    const text = diagnostics.map((d) => d.message).join('\n');
    for (const name of [
      'x-amazon-apigateway-frobnicate',
      'x-amazon-apigateway-integraton',
      '"frobnicate"',
      'x-amazon-apigateway-tag-value',
      'cookie',
      'https://example.com/schemas/Thing.json',
      'AWS_IAM',
    ]) {
      assert.ok(text.includes(name), `no warning names ${name}`);
    }
    assert.equal(model.apiType, 'rest');
    assert.equal(model.cors, undefined);
    assert.equal(model.minimumCompressionSize, 1024);
    assert.deepEqual(model.resourcePolicy, { Version: '2012-10-17' });
    assert.equal(model.routes[0]?.authorizationType, 'AWS_IAM');
    assert.equal(model.routes[0]?.integration?.payloadFormatVersion, undefined);
  });

  it('errors for a broken document, each at its position', () => {
    const { diagnostics } = load('broken.yaml');
    assert.deepEqual(where(diagnostics), [
      '5:40 x-amazon-apigateway-request-validator error',
      '8:5 paths["/a/{rest+}/b"] error',
      // Imported with a warning as AWS does (the method is left out: test/unit/aws-documents.test.ts).
      '13:11 paths["/ok"].get.security[0].nobody warning',
      '16:17 paths["/ok"].get.responses["200"].$ref error',
      // An integration type Turnpike cannot run: that route answers 500, the document imports.
      '18:15 paths["/ok"].get.x-amazon-apigateway-integration.type warning',
      '22:9 paths["/ok"].post.x-amazon-apigateway-integration error',
      '23:26 paths["/ok"].post.x-amazon-apigateway-integration.timeoutInMillis error',
      '26:13 paths["/ok"].post.x-amazon-apigateway-integration.responses["("] error',
      '27:20 paths["/ok"].post.x-amazon-apigateway-integration.responses.default error',
    ]);
  });

  it('a document that is not OpenAPI is one error, not an exception', () => {
    for (const data of [null, 42, 'text', [], {}, { openapi: '2.5', paths: {} }]) {
      const { diagnostics, model } = importAwsDocument(sourceFromData(data));
      assert.ok(
        diagnostics.some((d) => d.severity === 'error'),
        JSON.stringify(data),
      );
      assert.deepEqual(model.routes, []);
    }
  });

  it('syntax errors come back as a ConfigError with a position; ${stageVariables.x} is not interpolated', () => {
    assert.throws(
      () => parseAwsSource('{"openapi": "3.0.1",}', 'bad.json'),
      (e: unknown) => e instanceof ConfigError && e.diagnostics[0]?.line === 1,
    );
    const src = parseAwsSource('uri: https://${stageVariables.host}/x\nfn: ${uri}\n', 'a.yaml');
    assert.deepEqual(src.data, { uri: 'https://${stageVariables.host}/x', fn: '${uri}' });
    assert.throws(() => parseAwsSource('a: !Ref Thing\n', 'cfn.yaml'), ConfigError);
  });
});

describe('refs', () => {
  it('resolves chains and protects against cycles', () => {
    const doc = {
      openapi: '3.0.1',
      info: { title: 't', version: '1' },
      paths: {
        '/a': {
          get: {
            parameters: [{ $ref: '#/components/parameters/A' }, { $ref: '#/components/parameters/Loop' }],
            responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Alias' } } } } },
            'x-amazon-apigateway-integration': { type: 'mock' },
          },
        },
      },
      components: {
        parameters: {
          A: { $ref: '#/components/parameters/B' },
          B: { name: 'b', in: 'query', schema: { type: 'string' } },
          Loop: { $ref: '#/components/parameters/Loop' },
        },
        schemas: {
          Alias: { $ref: '#/components/schemas/Real' },
          Real: { type: 'object', properties: { 'a/b': { type: 'string' } } },
          Ptr: { $ref: '#/components/schemas/Real/properties/a~1b' },
        },
      },
    };
    const { model, diagnostics } = importAwsDocument(sourceFromData(doc));
    assert.deepEqual(model.routes[0]?.parameters, [{ name: 'b', in: 'query', required: false, schema: { type: 'string' } }]);
    assert.deepEqual(model.routes[0]?.methodResponses['200']?.models, { 'application/json': { type: 'object', properties: { 'a/b': { type: 'string' } } } });
    assert.deepEqual(model.models.Ptr, { type: 'string' });
    assert.deepEqual(
      diagnostics.map((d) => [d.path, d.severity]),
      [['components.parameters.Loop.$ref', 'error']],
    );
  });
});

describe('Lambda URIs', () => {
  it('parses both ARN forms, qualifiers, partitions and stage variables', () => {
    const cases: [string, unknown][] = [
      ['arn:aws:lambda:us-east-1:123456789012:function:Fn', { name: 'Fn', region: 'us-east-1', accountId: '123456789012' }],
      ['arn:aws:lambda:us-east-1:123456789012:function:Fn:7', { name: 'Fn', region: 'us-east-1', accountId: '123456789012', qualifier: '7' }],
      [
        'arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/arn:aws-cn:lambda:cn-north-1:123456789012:function:Fn/invocations',
        { name: 'Fn', region: 'cn-north-1', accountId: '123456789012' },
      ],
      [
        'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:${stageVariables.fn}:${stageVariables.alias}/invocations',
        { name: '${stageVariables.fn}', region: 'us-east-1', accountId: '123456789012', qualifier: '${stageVariables.alias}' },
      ],
      ['arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${stageVariables.fn}/invocations', { name: '${stageVariables.fn}', region: 'us-east-1' }],
      ['arn:aws:apigateway:us-east-1:s3:path/bucket/key', undefined],
      ['https://example.com', undefined],
    ];
    for (const [uri, want] of cases) assert.deepEqual(parseLambdaUri(uri), want, uri);
  });
});

describe('detectApiType', () => {
  it('uses the signals AWS documents', () => {
    const base = { openapi: '3.0.1', info: { title: 't', version: '1' } };
    assert.equal(detectApiType({ ...base, paths: {} }), 'rest');
    assert.equal(detectApiType({ ...base, paths: {}, 'x-amazon-apigateway-cors': {} }), 'http');
    assert.equal(detectApiType({ ...base, paths: { $default: { 'x-amazon-apigateway-any-method': { isDefaultRoute: true } } } }), 'http');
    assert.equal(
      detectApiType({ ...base, paths: { '/': { get: { 'x-amazon-apigateway-integration': { type: 'aws_proxy', payloadFormatVersion: '2.0' } } } } }),
      'http',
    );
    assert.equal(detectApiType({ ...base, paths: {}, 'x-amazon-apigateway-cors': {}, 'x-amazon-apigateway-gateway-responses': {} }), 'rest');
    assert.equal(detectApiType({ swagger: '2.0', paths: {}, 'x-amazon-apigateway-cors': {} }), 'rest');
    assert.equal(detectApiType(null), 'rest');
  });

  it('an explicit apiType wins', () => {
    const { model } = importAwsDocument(parseAwsSource(read('pets-openapi3.yaml'), 'p.yaml'), { apiType: 'http' });
    assert.equal(model.apiType, 'http');
    assert.equal(model.routes[0]?.integration?.timeoutInMillis, 30_000);
  });
});

describe('round trip: import(export(model)) deep-equals model', () => {
  for (const name of FIXTURES) {
    it(name, () => {
      const first = load(name);
      const again = roundTrip(first.model);
      // Methods the import left out (an undefined security scheme) are not exported: there is nothing to export.
      const { omittedRoutes: _omitted, ...kept } = first.model;
      assert.deepEqual(again.model, kept);
      // What the first import accepted, the export does not turn into errors.
      if (!first.diagnostics.some((d) => d.severity === 'error'))
        assert.deepEqual(
          again.diagnostics.filter((d) => d.severity === 'error'),
          [],
        );
    });
  }
});

describe('property: never throws', () => {
  const json = fc.jsonValue({ maxDepth: 6 });
  const awsish = fc.record(
    {
      openapi: fc.constantFrom('3.0.1', '3.1.0', 2, undefined),
      swagger: fc.constantFrom('2.0', undefined),
      info: fc.oneof(fc.record({ title: fc.string(), version: fc.oneof(fc.string(), fc.integer()) }), json),
      paths: fc.dictionary(
        fc.oneof(fc.constantFrom('/', '/a/{b}', '/{proxy+}', '$default', '/x/{p+}/y', '__proto__'), fc.string()),
        fc.dictionary(
          fc.constantFrom('get', 'post', 'x-amazon-apigateway-any-method', 'parameters', '$ref', 'trace'),
          fc.oneof(
            json,
            fc.record({
              'x-amazon-apigateway-integration': fc.oneof(
                json,
                fc.record({ type: fc.constantFrom('aws_proxy', 'http', 'mock', 'AWS'), uri: json, responses: json, payloadFormatVersion: json }),
              ),
              parameters: json,
              security: json,
              responses: json,
              requestBody: json,
            }),
          ),
        ),
      ),
      components: fc.oneof(json, fc.record({ schemas: json, securitySchemes: json })),
      'x-amazon-apigateway-gateway-responses': json,
      'x-amazon-apigateway-cors': json,
      'x-amazon-apigateway-request-validators': json,
    },
    { requiredKeys: [] },
  );
  it('on arbitrary JSON values and AWS-shaped documents it returns diagnostics', () => {
    fc.assert(
      fc.property(fc.oneof(json, awsish), (data) => {
        const r = importAwsDocument(sourceFromData(data));
        assert.ok(Array.isArray(r.diagnostics));
        assert.ok(Array.isArray(r.model.routes));
        // And whatever it imported exports and re-imports without throwing.
        importAwsDocument(sourceFromData(JSON.parse(JSON.stringify(exportAwsDocument(r.model)))));
      }),
      { numRuns: 600 },
    );
  });
  it('self-referencing $refs of every shape terminate', () => {
    const ref = fc.constantFrom('#', '#/', '#/paths', '#/components/schemas/A', '#/components/schemas/B', '#/definitions/A', 'other.yaml#/x', '#/%zz', '#/a~2');
    const node = fc.letrec((tie) => ({
      n: fc.oneof(
        { depthSize: 'small' },
        fc.record({ $ref: ref }),
        fc.dictionary(fc.constantFrom('a', 'items', 'properties', '$ref'), tie('n'), { maxKeys: 3 }),
      ),
    })).n;
    fc.assert(
      fc.property(node, node, (a, b) => {
        const doc = {
          openapi: '3.0.1',
          info: { title: 't', version: '1' },
          paths: {
            '/': { post: { requestBody: { content: { 'application/json': { schema: a } } }, responses: { '200': { $ref: '#/components/schemas/B' } } } },
          },
          components: { schemas: { A: a, B: b } },
        };
        importAwsDocument(sourceFromData(doc));
      }),
      { numRuns: 300 },
    );
  });
});
