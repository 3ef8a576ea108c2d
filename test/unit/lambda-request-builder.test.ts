// One builder for the Lambda proxy event and the Lambda-authorizer REQUEST event (src/integrations/function/request.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyRequest } from '../../src/integrations/function/events.js';
import { authorizerRequestEvent, type LambdaEventFormat, proxyEvent } from '../../src/integrations/function/request.js';

const req: ProxyRequest = {
  method: 'POST',
  path: '/dev/pets/7',
  resourcePath: '/pets/{id}',
  routeKey: 'POST /pets/{id}',
  stage: 'dev',
  rawQuery: 'a=1&a=2',
  rawHeaders: ['Host', 'api.example.com', 'X-User', 'ada', 'Content-Type', 'application/json'],
  pathParameters: { id: '7' },
  stageVariables: { env: 'test' },
  body: Buffer.from('{"secret":true}'),
  binary: false,
  sourceIp: '192.0.2.1',
  userAgent: 'ua',
  requestId: 'r-1',
  domainName: 'api.example.com',
  domainPrefix: 'api',
  apiId: 'abc123',
  accountId: '123456789012',
  protocol: 'HTTP/1.1',
  requestTimeEpoch: 1_700_000_000_000,
  forwarded: { peerIp: '192.0.2.1', port: '443', proto: 'https', traceId: 'Root=1-00000000-000000000000000000000000' },
};

test('the authorizer REQUEST event is the proxy event of the same request, without the body, plus what authorizers get', () => {
  const cases: [LambdaEventFormat, Record<string, unknown>][] = [
    ['rest-1.0', { type: 'REQUEST', methodArn: 'arn:m' }],
    ['http-1.0', { version: '1.0', type: 'REQUEST', methodArn: 'arn:m', identitySource: 'ada', authorizationToken: 'ada' }],
    ['http-2.0', { version: '2.0', type: 'REQUEST', routeArn: 'arn:m', identitySource: ['ada'] }],
  ];
  for (const [format, extra] of cases) {
    const proxy = proxyEvent(req, format);
    assert.ok(String(proxy.body).includes('secret'), `${format}: the integration sees the body`);
    const auth = authorizerRequestEvent(req, format, 'arn:m', ['ada']);
    const { body: _b, isBase64Encoded: _i, version: _v, ...shared } = proxy;
    assert.deepEqual(auth, { ...extra, ...shared }, format);
    assert.ok(!JSON.stringify(auth).includes('secret'), `${format}: an authorizer never sees the body`);
  }
});
