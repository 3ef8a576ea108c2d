// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${Name} is Fn::Sub's syntax, not a template literal.
// Fuzzing in CI (test/fuzz/harness.ts, docs/testing.md "Fuzzing"): the template -> native config
// translation (src/sam/transform.ts and its parts). Any shape where a template has resources, properties,
// events, auth and raw API Gateway resources either translates or is reported: templateDocument never
// throws anything but ConfigError, its native data is plain JSON (it crosses structuredClone and the
// primary -> worker boundary), and every problem names a key path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseTemplate } from '../../src/sam/template.js';
import { templateDocument } from '../../src/sam/source.js';
import { transformTemplate } from '../../src/sam/transform.js';
import { fuzz } from './harness.js';

const TYPES = [
  'AWS::Serverless::Function',
  'AWS::Lambda::Function',
  'AWS::Serverless::Api',
  'AWS::Serverless::HttpApi',
  'AWS::Serverless::LayerVersion',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::Stage',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::ApiKey',
  'AWS::ApiGateway::UsagePlan',
  'AWS::ApiGateway::UsagePlanKey',
  'AWS::ApiGateway::Authorizer',
  'AWS::ApiGatewayV2::Api',
  'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration',
  'AWS::DynamoDB::Table',
];
const ids = fc.constantFrom('A', 'B', 'Fn', 'Api', 'Res', 'Key', 'Plan');
const leaf = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('/x', '/{proxy+}', 'get', 'ANY', 'nodejs20.x', 'python3.12', 'app.handler', 'src/', 's3://b/k', 'PER_API', 'SHARED', 'TOKEN', 'REQUEST', 'AWS_PROXY', 'MOCK', 'Api', 'HttpApi', 'NONE', '$default'),
  fc.integer({ min: -5, max: 100 }),
  fc.boolean(),
  fc.constant(null),
);
const intrinsic = fc.oneof(ids.map((id) => ({ Ref: id })), ids.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })), fc.constant({ 'Fn::Sub': 'arn:${AWS::Region}:${Fn.Arn}' }));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, intrinsic, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('Path', 'Method', 'Type', 'Properties', 'Auth', 'Authorizers', 'DefaultAuthorizer', 'FunctionArn', 'UsagePlan', 'CreateUsagePlan', 'Quota', 'Limit', 'Period', 'Cors', 'Variables', 'RestApiId', 'ApiId', 'paths', 'get', 'Events', 'Layers', 'Environment', 'Integration', 'ParentId', 'PathPart', 'ResourceId', 'HttpMethod', 'StageName', 'Body', 'DefinitionBody', 'Target'), tie('v'), { maxKeys: 5 })),
})).v;
const properties = fc.dictionary(
  fc.constantFrom('Handler', 'Runtime', 'CodeUri', 'Code', 'Events', 'Layers', 'Environment', 'Timeout', 'StageName', 'DefinitionBody', 'Auth', 'Cors', 'CorsConfiguration', 'RestApiId', 'ApiId', 'ResourceId', 'HttpMethod', 'Integration', 'ParentId', 'PathPart', 'Body', 'Target', 'ApiStages', 'KeyId', 'UsagePlanId', 'Value', 'MethodSettings', 'GatewayResponses', 'ContentUri', 'PackageType', 'ProtocolType', 'RouteKey', 'Type'),
  value,
  { maxKeys: 8 },
);
const template = fc.record({
  Transform: fc.constant('AWS::Serverless-2016-10-31'),
  Globals: fc.option(fc.record({ Function: properties, Api: properties }), { nil: undefined }),
  Resources: fc.dictionary(ids, fc.record({ Type: fc.constantFrom(...TYPES), Properties: properties, Condition: fc.option(fc.constant('C'), { nil: undefined }) }), { minKeys: 1, maxKeys: 6 }),
  Conditions: fc.constant({ C: { 'Fn::Equals': ['a', 'a'] } }),
});

test('fuzz: any template translates or is reported, and its native data is plain JSON', async (t) => {
  await fuzz(t, 'sam-transform', template, (tpl) => {
    // Pretty-printed, as JSON templates are written (the sniff looks for top-level keys at line starts).
    const text = JSON.stringify(tpl, null, 2);
    const file = '/fuzz/template.json';
    const r = transformTemplate(parseTemplate(text, file));
    for (const p of r.problems) assert.ok(Array.isArray(p.path) && typeof p.message === 'string' && p.message !== '');
    // With an error the load stops (the resolver leaves undefined where it failed); without, the data is served.
    if (!r.problems.some((p) => p.severity === 'error')) assert.deepEqual(JSON.parse(JSON.stringify(r.config)), r.config, 'the native data is plain JSON');
    try {
      const doc = templateDocument(text, file);
      assert.ok(doc !== undefined);
      structuredClone(doc.data);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
    }
  });
});
