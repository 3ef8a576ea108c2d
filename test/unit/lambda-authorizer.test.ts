import assert from 'node:assert/strict';
import { PrincipalShapes } from '../../src/integrations/function/principal-shapes.js';
import { lambdaAuthorizerConfigFromAws } from '../../src/aws/security.js';
import { gatewayResponseTypeOf } from '../../src/aws/dialect.js';
import { GatewayResponses } from '../../src/integrations/aws/gateway-responses.js';
import { test } from 'node:test';
import pino from 'pino';
import type { Invoker } from '../../src/integrations/function/index.js';
import {
  type AuthorizerResult,
  createLambdaAuthorizer,
  type LambdaAuthorizerConfig,
  principalOf,
  readAuthorizerResult,
} from '../../src/plugins/lambda-authorizer/index.js';
import { evaluatePolicy } from '../../src/security/iam-policy.js';
import { DEADLINES } from '../../src/util/deadline-queue.js';

const invoker: Invoker = { invoke: async () => ({ ok: true, payload: null, durationMs: 0 }) };
const deps = { logger: pino({ level: 'silent' }), functions: { invoker: (name: string) => (name === 'auth' ? invoker : undefined) }, deadlines: DEADLINES };

function problemsOf(config: LambdaAuthorizerConfig): { path: (string | number)[]; message: string }[] {
  try {
    createLambdaAuthorizer(config, deps);
    return [];
  } catch (e) {
    const p = (e as { problems?: { path: (string | number)[]; message: string }[] }).problems;
    assert.ok(p, `expected problems, got ${(e as Error).message}`);
    return p;
  }
}

test('config: usable configs have no problems; defaults give a TOKEN authorizer on Authorization', () => {
  assert.deepEqual(problemsOf({ function: 'auth' }), []);
  assert.deepEqual(problemsOf({ function: 'auth', format: 'request', identitySource: ['method.request.header.X-User', 'method.request.querystring.t'] }), []);
  assert.deepEqual(problemsOf({ function: 'auth', format: 'request', identitySource: 'method.request.header.X, context.identity.sourceIp, stageVariables.v' }), []);
  assert.deepEqual(problemsOf({ function: 'auth', format: 'request', resultTtlSeconds: 0 }), []);
  assert.deepEqual(problemsOf({ function: 'auth', format: '2.0' }), []);
  assert.deepEqual(problemsOf({ function: 'auth', format: '2.0', simpleResponses: true, identitySource: ['$request.header.X', '$request.querystring.y', '$context.routeKey', '$stageVariables.s'] }), []);
  assert.deepEqual(problemsOf({ function: 'auth', identityValidationExpression: '^Bearer [A-Za-z0-9._-]+$' }), []);
});

test('config: problems carry the key path within the plugin config', () => {
  const cases: [LambdaAuthorizerConfig, (string | number)[]][] = [
    [{ function: 'nope' }, ['function']],
    [{ function: 'auth', identitySource: 'method.request.path.id' }, ['identitySource']],
    [{ function: 'auth', format: 'request', identitySource: ['method.request.header.X', 'bogus.x'] }, ['identitySource', 1]],
    [{ function: 'auth', identitySource: ['method.request.header.A', 'method.request.header.B'] }, ['identitySource']],
    [{ function: 'auth', identitySource: 'method.request.querystring.token' }, ['identitySource']],
    [{ function: 'auth', format: 'request' }, ['identitySource']],
    [{ function: 'auth', format: 'request', identitySource: ['context.nope'], resultTtlSeconds: 0 }, ['identitySource', 0]],
    [{ function: 'auth', simpleResponses: true }, ['simpleResponses']],
    [{ function: 'auth', format: '1.0', simpleResponses: true }, ['simpleResponses']],
    [{ function: 'auth', identityValidationExpression: '(a+)+$' }, ['identityValidationExpression']],
    [{ function: 'auth', identityValidationExpression: '([' }, ['identityValidationExpression']],
    [{ function: 'auth', format: 'request', identitySource: ['method.request.header.X'], identityValidationExpression: 'x' }, ['identityValidationExpression']],
  ];
  for (const [config, path] of cases) {
    const problems = problemsOf(config);
    assert.ok(problems.length > 0, JSON.stringify(config));
    assert.deepEqual(problems[0]?.path, path, JSON.stringify(config));
  }
});

test('AWS default answers for the authorizer denials: REST bodies and x-amzn-ErrorType, HTTP API reason phrases', () => {
  const input = (message?: string) => ({ requestId: 'r1', stage: 'dev', stageVariables: {}, request: { headers: {}, query: new URLSearchParams(), path: {} }, ...(message ? { message } : {}) });
  const rest = new GatewayResponses('rest', undefined);
  const http = new GatewayResponses('http', undefined);
  const u = rest.answer(gatewayResponseTypeOf('UNAUTHORIZED'), input());
  assert.equal(u.status, 401);
  assert.equal(u.body, '{"message":"Unauthorized"}');
  assert.deepEqual(u.headers.find(([k]) => k === 'x-amzn-ErrorType'), ['x-amzn-ErrorType', 'UnauthorizedException']);
  const d = rest.answer(gatewayResponseTypeOf('ACCESS_DENIED'), input('User is not authorized to access this resource with an explicit deny'));
  assert.equal(d.status, 403);
  assert.equal(d.body, '{"message":"User is not authorized to access this resource with an explicit deny"}');
  assert.deepEqual(d.headers.find(([k]) => k === 'x-amzn-ErrorType'), ['x-amzn-ErrorType', 'AccessDeniedException']);
  const c = rest.answer(gatewayResponseTypeOf('AUTHORIZER_CONFIGURATION_ERROR'), input());
  assert.equal(c.status, 500);
  assert.equal(c.body, '{"message": null}');
  assert.deepEqual(c.headers.find(([k]) => k === 'x-amzn-ErrorType'), ['x-amzn-ErrorType', 'AuthorizerConfigurationException']);
  assert.equal(http.answer(gatewayResponseTypeOf('ACCESS_DENIED'), input()).body, '{"message":"Forbidden"}');
  assert.equal(http.answer(gatewayResponseTypeOf('UNAUTHORIZED'), input()).body, '{"message":"Unauthorized"}');
  const h = http.answer(gatewayResponseTypeOf('AUTHORIZER_CONFIGURATION_ERROR'), input());
  assert.equal(h.status, 500);
  assert.equal(h.body, '{"message":"Internal Server Error"}');
  assert.equal(h.headers.find(([k]) => k === 'x-amzn-ErrorType'), undefined);
});

const POLICY = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:*:*:*/*/GET/*' }] };

test('results: a policy answer is compiled and kept for re-evaluation', () => {
  const r = readAuthorizerResult({ principalId: 'u1', policyDocument: POLICY, context: { a: 'x', n: 2, b: false }, usageIdentifierKey: 'k' }, { format: 'token', simple: false });
  assert.ok(r.ok);
  if (!r.ok || r.result.kind !== 'policy') return;
  assert.equal(r.result.principalId, 'u1');
  assert.equal(r.result.usageIdentifierKey, 'k');
  assert.equal(evaluatePolicy(r.result.policy, 'arn:aws:execute-api:us-east-1:1:api/prod/GET/x'), 'allow');
  assert.equal(evaluatePolicy(r.result.policy, 'arn:aws:execute-api:us-east-1:1:api/prod/POST/x'), 'implicit-deny');
});

test('results: malformed answers are refused (→ 500)', () => {
  const rest = { format: 'token' as const, simple: false };
  const bad: [unknown, typeof rest][] = [
    [null, rest],
    ['{"principalId":"u"}', rest],
    [{ policyDocument: POLICY }, rest], // REST needs principalId
    [{ principalId: 'u' }, rest],
    [{ principalId: 'u', policyDocument: { Statement: [{ Effect: 'Maybe', Action: '*', Resource: '*' }] } }, rest],
    [{ principalId: 'u', policyDocument: POLICY, context: { o: { a: 1 } } }, rest],
    [{ principalId: 'u', policyDocument: POLICY, context: { o: [1] } }, rest],
    [{ principalId: 'u', policyDocument: POLICY, context: 'x' }, rest],
    [{ principalId: { a: 1 }, policyDocument: POLICY }, rest],
    [{ principalId: 'u', policyDocument: POLICY, usageIdentifierKey: 5 }, rest],
    [{ isAuthorized: 'true' }, { format: '2.0', simple: true } as never],
    [{}, { format: '2.0', simple: true } as never],
  ];
  for (const [payload, opts] of bad) assert.equal(readAuthorizerResult(payload, opts).ok, false, JSON.stringify(payload));
  // HTTP APIs: no principalId needed, nested context allowed.
  assert.equal(readAuthorizerResult({ policyDocument: POLICY, context: { o: { a: 1 } } }, { format: '2.0', simple: false }).ok, true);
  assert.equal(readAuthorizerResult({ isAuthorized: false }, { format: '2.0', simple: true }).ok, true);
});

test('principal: REST stringifies the context beside principalId and integrationLatency; HTTP APIs pass it as lambda', () => {
  const result: AuthorizerResult = { kind: 'simple', isAuthorized: true, context: { user: 'a', n: 1 } };
  const http = principalOf(result, 5, undefined);
  assert.equal(http.kind, 'lambda');
  assert.deepEqual(new PrincipalShapes('http').v2(http), { lambda: { user: 'a', n: 1 } });
  const r = readAuthorizerResult({ principalId: 'p', policyDocument: POLICY, context: { n: 1, ok: true, s: 'x' }, usageIdentifierKey: 'key' }, { format: 'token', simple: false });
  assert.ok(r.ok);
  if (!r.ok) return;
  const rest = principalOf(r.result, 12, { kind: 'mtls', identity: { clientCert: { subjectDN: 'CN=x' } } });
  const shapes = new PrincipalShapes('rest');
  assert.deepEqual(shapes.v1(rest), { n: '1', ok: 'true', s: 'x', principalId: 'p', integrationLatency: 12 });
  assert.deepEqual(shapes.template(rest), { n: 1, ok: true, s: 'x', principalId: 'p' });
  assert.equal(rest.id, 'p');
  assert.equal(rest.usageIdentifierKey, 'key');
  assert.deepEqual(rest.identity, { clientCert: { subjectDN: 'CN=x' } });
});

test('lambdaAuthorizerConfigFromAws: token, request and HTTP API request authorizers', () => {
  assert.deepEqual(
    lambdaAuthorizerConfigFromAws(
      {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        authorizer: { type: 'token', identityValidationExpression: '^Bearer .+$', authorizerResultTtlInSeconds: 60 },
      },
      'rest',
      'auth',
    ),
    { function: 'auth', format: 'token', identitySource: ['method.request.header.Authorization'], resultTtlSeconds: 60, identityValidationExpression: '^Bearer .+$' },
  );
  assert.deepEqual(
    lambdaAuthorizerConfigFromAws(
      { type: 'apiKey', name: 'Unused', in: 'header', authorizer: { type: 'request', identitySource: 'method.request.header.X-User, method.request.querystring.t' } },
      'rest',
      'auth',
    ),
    { function: 'auth', format: 'request', identitySource: ['method.request.header.X-User', 'method.request.querystring.t'] },
  );
  assert.deepEqual(
    lambdaAuthorizerConfigFromAws(
      {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        authorizer: { type: 'request', identitySource: '$request.header.Authorization', authorizerPayloadFormatVersion: '2.0', enableSimpleResponses: true, authorizerResultTtlInSeconds: 300 },
      },
      'http',
      'auth',
    ),
    { function: 'auth', format: '2.0', identitySource: ['$request.header.Authorization'], resultTtlSeconds: 300, simpleResponses: true },
  );
  const noSource = lambdaAuthorizerConfigFromAws({ type: 'apiKey', authorizer: { type: 'request', authorizerPayloadFormatVersion: '1.0', authorizerResultTtlInSeconds: 300 } }, 'http', 'auth');
  assert.deepEqual(noSource, { function: 'auth', format: '1.0', identitySource: [], resultTtlSeconds: 0 });
  assert.equal(lambdaAuthorizerConfigFromAws({ type: 'apiKey', authorizer: { type: 'cognito_user_pools' } }, 'rest', 'x'), undefined);
  assert.equal(lambdaAuthorizerConfigFromAws({ type: 'oauth2', authorizer: { type: 'jwt' } }, 'http', 'x'), undefined);
  assert.equal(lambdaAuthorizerConfigFromAws({ type: 'apiKey' }, 'rest', 'x'), undefined);
  // Every config it produces is accepted by the plugin.
  for (const c of [noSource]) assert.deepEqual(problemsOf(c as LambdaAuthorizerConfig), []);
});
