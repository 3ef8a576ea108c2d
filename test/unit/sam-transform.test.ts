// The template -> native config translation (src/sam/transform.ts, apis.ts, functions.ts, raw-apis.ts)
// and the template source (src/sam/source.ts): the generated documents' shapes (as SAM generates them),
// Globals, ids, the warnings for what is not run, and positions mapped back to the template.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeGlobals } from '../../src/sam/context.js';
import { apiId, localId } from '../../src/sam/ids.js';
import { remapDiagnostics, templateDocument } from '../../src/sam/source.js';
import { parseTemplate } from '../../src/sam/template.js';
import { SOURCE_KEY, transformTemplate } from '../../src/sam/transform.js';

type Obj = Record<string, unknown>;
const t = (text: string) => transformTemplate(parseTemplate(text, '/proj/template.yaml'));
const HEAD = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n";
const apis = (config: Obj) => config.apis as Obj[];
const docOf = (config: Obj, i = 0) => (apis(config)[i] as Obj).openapi as Obj;

describe('ids', () => {
  it('are 10 lowercase letters and digits, start with a letter, and depend only on the logical id', () => {
    const a = apiId('MyApi');
    assert.match(a, /^[a-z][a-z0-9]{9}$/);
    assert.equal(apiId('MyApi'), a);
    assert.notEqual(apiId('OtherApi'), a);
    assert.notEqual(localId('root', 'MyApi'), a);
  });
});

describe('Globals', () => {
  it('merge as SAM merges: maps key by key, lists global items first, other values replaced', () => {
    assert.deepEqual(mergeGlobals({ Timeout: 3, Environment: { Variables: { A: '1', B: '2' } }, Layers: ['g'] }, { Timeout: 9, Environment: { Variables: { B: 'b' } }, Layers: ['l'] }), {
      Timeout: 9,
      Environment: { Variables: { A: '1', B: 'b' } },
      Layers: ['g', 'l'],
    });
  });
});

describe('functions', () => {
  it('become native functions entries: runtime, handler, codeUri, environment, timeoutMs, memoryMb, local layers', () => {
    const r = t(`${HEAD}Globals:
  Function:
    Runtime: python3.12
    Timeout: 7
    Layers: [!Ref Shared]
Resources:
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: { LayerName: shared, ContentUri: layers/shared }
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: my-fn
      CodeUri: fn/
      Handler: app.lambda_handler
      MemorySize: 512
      Layers: [arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:40]
      Environment: { Variables: { N: 3, TABLE: !Ref Table } }
  Table:
    Type: AWS::DynamoDB::Table
`);
    assert.deepEqual((r.config.functions as Obj)['my-fn'], {
      runtime: 'python3.12',
      handler: 'app.lambda_handler',
      codeUri: 'fn',
      environment: { N: '3', TABLE: 'Table' },
      timeoutMs: 7000,
      memoryMb: 512,
      layers: ['layers/shared'],
    });
    const warnings = r.problems.filter((p) => p.severity === 'warning').map((p) => `${p.path.join('.')}: ${p.message}`);
    assert.ok(warnings.some((w) => w.startsWith('Resources.Fn.Properties.Layers.1: layer arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:40 is not a local folder')), warnings.join('\n'));
    assert.ok(warnings.includes('Resources.Table.Type: AWS::DynamoDB::Table Table: this resource type is not run locally; ignored (Ref answers its logical id)'), warnings.join('\n'));
  });

  it('code in S3, inline code and container images are errors at their keys', () => {
    const r = t(`${HEAD}Resources:
  A:
    Type: AWS::Serverless::Function
    Properties: { Runtime: nodejs20.x, Handler: a.h, CodeUri: { Bucket: b, Key: k } }
  B:
    Type: AWS::Serverless::Function
    Properties: { Runtime: nodejs20.x, Handler: a.h, InlineCode: "exports.h = 1" }
  C:
    Type: AWS::Serverless::Function
    Properties: { PackageType: Image, ImageUri: 123.dkr.ecr/x }
`);
    const errors = r.problems.filter((p) => p.severity === 'error').map((p) => p.path.join('.'));
    assert.deepEqual(errors.sort(), ['Resources.A.Properties.CodeUri', 'Resources.B.Properties.InlineCode', 'Resources.C.Properties.PackageType']);
  });
});

describe('APIs as SAM generates them', () => {
  it('Api events without RestApiId make ServerlessRestApi (stage Prod, swagger 2.0, aws_proxy POST to the function ARN)', () => {
    const r = t(`${HEAD}Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      Events:
        Get: { Type: Api, Properties: { Path: '/items/{id}', Method: get, RequestParameters: [method.request.querystring.q, { method.request.header.X-Tenant: { Required: true } }] } }
        Any: { Type: Api, Properties: { Path: /any, Method: any } }
        Queue: { Type: SQS, Properties: { Queue: arn:aws:sqs:us-east-1:1:q } }
`);
    const api = apis(r.config)[0] as Obj;
    assert.equal(api.name, 'ServerlessRestApi');
    assert.deepEqual(api.stages, { Prod: {} });
    const doc = docOf(r.config);
    assert.equal(doc.swagger, '2.0');
    const paths = doc.paths as Record<string, Obj>;
    assert.deepEqual((paths['/items/{id}'] as Obj).get, {
      'x-amazon-apigateway-integration': {
        type: 'aws_proxy',
        httpMethod: 'POST',
        uri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Fn/invocations',
        passthroughBehavior: 'when_no_match',
      },
      responses: {},
      parameters: [
        { name: 'q', in: 'query', type: 'string' },
        { name: 'X-Tenant', in: 'header', required: true, type: 'string' },
      ],
      security: [],
    });
    assert.ok((paths['/any'] as Obj)['x-amazon-apigateway-any-method']);
    assert.ok(r.problems.some((p) => p.severity === 'warning' && p.path.join('.') === 'Resources.Fn.Properties.Events.Queue.Type'));
    assert.deepEqual(r.apis, [{ logicalId: 'ServerlessRestApi', id: apiId('ServerlessRestApi'), kind: 'rest', stage: 'Prod', hostPath: '/Prod', anyHostPath: '/Prod' }]);
  });

  it('HttpApi: OpenAPI 3.0.1, payload 2.0, an event with no Path and Method is $default; JWT and Lambda authorizers as security schemes', () => {
    const r = t(`${HEAD}Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt: { JwtConfiguration: { issuer: https://issuer.example, audience: [a] }, IdentitySource: $request.header.Authorization }
          Lam: { FunctionArn: !GetAtt Auth.Arn, Identity: { Headers: [X-Token] }, EnableSimpleResponses: true }
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      Events:
        All: { Type: HttpApi, Properties: { ApiId: !Ref Api } }
        Custom: { Type: HttpApi, Properties: { ApiId: !Ref Api, Path: /c, Method: POST, Auth: { Authorizer: Lam } } }
  Auth:
    Type: AWS::Serverless::Function
    Properties: { Runtime: nodejs20.x, Handler: auth.handler }
`);
    const doc = docOf(r.config);
    assert.equal(doc.openapi, '3.0.1');
    const paths = doc.paths as Record<string, Obj>;
    const all = (paths.$default as Obj)['x-amazon-apigateway-any-method'] as Obj;
    assert.deepEqual(all.security, [{ Jwt: [] }]);
    assert.equal((all['x-amazon-apigateway-integration'] as Obj).payloadFormatVersion, '2.0');
    assert.deepEqual(((paths['/c'] as Obj).post as Obj).security, [{ Lam: [] }]);
    const schemes = (doc.components as Obj).securitySchemes as Obj;
    assert.deepEqual(schemes.Jwt, { type: 'oauth2', 'x-amazon-apigateway-authorizer': { type: 'jwt', jwtConfiguration: { issuer: 'https://issuer.example', audience: ['a'] }, identitySource: '$request.header.Authorization' } });
    assert.deepEqual((schemes.Lam as Obj)['x-amazon-apigateway-authorizer'], {
      type: 'request',
      authorizerUri: 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Auth/invocations',
      authorizerPayloadFormatVersion: '2.0',
      authorizerResultTtlInSeconds: 300,
      enableSimpleResponses: true,
      identitySource: '$request.header.X-Token',
    });
    assert.deepEqual(apis(r.config)[0]?.stages, { $default: {} });
  });

  it('SHARED usage plans: one plan over every API that asks for it, one key; a warning says the key\'s local value', () => {
    const api = (name: string) => `  ${name}:
    Type: AWS::Serverless::Api
    Properties:
      StageName: s
      Auth: { ApiKeyRequired: true, UsagePlan: { CreateUsagePlan: SHARED, Quota: { Limit: 10, Period: WEEK } } }
`;
    const r = t(`${HEAD}Resources:\n${api('A')}${api('B')}`);
    const plans = r.config.usagePlans as Obj;
    assert.deepEqual(Object.keys(plans), ['ServerlessUsagePlan']);
    assert.deepEqual((plans.ServerlessUsagePlan as Obj).quota, { limit: 10, period: 'WEEK' });
    // Two APIs: each by host and by path.
    assert.deepEqual((plans.ServerlessUsagePlan as Obj).apiStages, [
      { api: 'A', stage: 's' },
      { api: 'A.path', stage: 's' },
      { api: 'B', stage: 's' },
      { api: 'B.path', stage: 's' },
    ]);
    assert.equal((r.config.apiKeys as Obj[]).length, 1);
    assert.equal(r.problems.filter((p) => /ServerlessApiKey .* serves it locally as/.test(p.message)).length, 1);
  });

  it('REST API properties as document extensions and plugins: BinaryMediaTypes, GatewayResponses, MethodSettings, the default authorizer on CORS preflights', () => {
    const r = t(`${HEAD}Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      BinaryMediaTypes: [image~1png]
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: 401
          ResponseParameters: { Headers: { WWW-Authenticate: "'Bearer'" } }
          ResponseTemplates: { application/json: '{"error": "$context.error.message"}' }
      MethodSettings:
        - { ResourcePath: '/*', HttpMethod: '*', ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }
        - { ResourcePath: /x, HttpMethod: GET, ThrottlingRateLimit: 1 }
      Cors: "'*'"
      Auth:
        DefaultAuthorizer: Tok
        Authorizers: { Tok: { FunctionArn: !GetAtt Fn.Arn } }
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      Events:
        X: { Type: Api, Properties: { RestApiId: !Ref Api, Path: /x, Method: get } }
`);
    const api = apis(r.config)[0] as Obj;
    const doc = api.openapi as Obj;
    assert.deepEqual(doc['x-amazon-apigateway-binary-media-types'], ['image/png']);
    assert.deepEqual(doc['x-amazon-apigateway-gateway-responses'], {
      UNAUTHORIZED: { statusCode: '401', responseParameters: { 'gatewayresponse.header.WWW-Authenticate': "'Bearer'" }, responseTemplates: { 'application/json': '{"error": "$context.error.message"}' } },
    });
    assert.deepEqual(api.plugins, { 'rate-limit': { limits: [{ tokenBucket: { rate: 5, burst: 10 } }], key: ['route'] } });
    assert.ok(r.problems.some((p) => p.severity === 'warning' && p.path.join('.') === 'Resources.Api.Properties.MethodSettings.1'));
    // SAM's default: AddDefaultAuthorizerToCorsPreflight is true, so the preflight needs the token too.
    const x = (doc.paths as Record<string, Obj>)['/x'] as Obj;
    assert.deepEqual((x.options as Obj).security, [{ Tok: [] }]);
    assert.deepEqual((x.get as Obj).security, [{ Tok: [] }]);
  });

  it('raw ApiGatewayV2 quick create (Target) is one $default route to the function', () => {
    const r = t(`AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties: { Runtime: nodejs20.x, Handler: a.h, Code: src }
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: { Name: quick, ProtocolType: HTTP, Target: !GetAtt Fn.Arn }
`);
    const paths = docOf(r.config).paths as Record<string, Obj>;
    assert.equal(((paths.$default as Obj)['x-amazon-apigateway-any-method'] as Obj)['x-amazon-apigateway-integration'] !== undefined, true);
  });
});

describe('the template source', () => {
  const text = `${HEAD}Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      Tracing: Active
      Events:
        Get: { Type: Api, Properties: { Path: /x, Method: get } }
`;

  it('gives native data whose key paths locate in the template, and warnings at template lines', () => {
    const doc = templateDocument(text, 'template.yaml');
    assert.ok(doc);
    assert.deepEqual(doc.locate(['functions', 'Fn', 'handler']), { line: 8, column: 16 });
    assert.deepEqual(doc.locate(['functions', 'Fn']), { line: 5, column: 5 });
    assert.equal(doc.warnings.length, 1);
    assert.equal(doc.warnings[0]?.path, 'Resources.Fn.Properties.Tracing');
    assert.equal(doc.warnings[0]?.line, 9);
    // The generated document carries its side map into the template.
    const meta = ((doc.data as Obj).apis as Obj[])[0]?.openapi as Obj;
    const at = (meta[SOURCE_KEY] as { at: Record<string, [string, number, number]> }).at;
    assert.deepEqual(at['paths["/x"].get'], ['Resources.Fn.Properties.Events.Get.Properties', 11, 39]);
  });

  it('diagnostics of the native config name the template key path, with the generated one after', () => {
    const doc = templateDocument(text, 'template.yaml');
    assert.ok(doc);
    const pos = doc.locate(['functions', 'Fn', 'handler']);
    const [d] = remapDiagnostics(doc, [{ file: 'template.yaml', line: pos.line, column: pos.column, path: 'functions.Fn.handler', message: 'handler file not found', severity: 'error' }]);
    assert.equal(d?.path, 'Resources.Fn.Properties.Handler');
    assert.equal(d?.message, 'handler file not found (generated config: functions.Fn.handler)');
  });

  it('a native config with a Resources key is not a template', () => {
    assert.equal(templateDocument('apis: []\nResources: {}\n', 'c.yaml'), undefined);
  });
});
