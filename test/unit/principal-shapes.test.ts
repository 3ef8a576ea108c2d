// The generic principal in AWS's event shapes (src/integrations/function/principal-shapes.ts): plugins
// leave facts, the function and mapping integrations shape them per payload format and API flavour.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PrincipalShapes } from '../../src/integrations/function/principal-shapes.js';
import type { Principal } from '../../src/pipeline/principal.js';

const claims = Object.freeze({ sub: 'u1', groups: ['a', 'b'], n: 5, ok: true, o: { x: 1 }, z: null });

test('a token principal: REST { claims } with comma lists; HTTP 1.0 { claims, scopes }; 2.0 { jwt }; templates { claims }', () => {
  const p: Principal = { kind: 'cognito', id: 'u1', claims, scopes: null };
  const rest = new PrincipalShapes('rest');
  const restClaims = { sub: 'u1', groups: 'a,b', n: '5', ok: 'true', o: '{"x":1}', z: '' };
  assert.deepEqual(rest.v1(p), { claims: restClaims });
  assert.deepEqual(rest.template(p), { claims: restClaims });
  const http = new PrincipalShapes('http');
  const httpClaims = { ...restClaims, groups: '[a b]' };
  assert.deepEqual(http.v1({ ...p, scopes: ['read'] }), { claims: httpClaims, scopes: ['read'] });
  assert.deepEqual(http.v2(p), { jwt: { claims: httpClaims, scopes: null } });
  // Stringified once per token (the claims object is shared by every request that presents it).
  assert.equal((http.v2(p) as { jwt: { claims: object } }).jwt.claims, (http.v2({ ...p }) as { jwt: { claims: object } }).jwt.claims);
});

test('a Lambda-authorizer principal: REST stringified context + principalId + integrationLatency; HTTP { lambda }', () => {
  const context = Object.freeze({ user: 'a', n: 1, flag: false });
  const p: Principal = { kind: 'lambda', id: 'p1', context, authorizerLatencyMs: 7 };
  const rest = new PrincipalShapes('rest');
  assert.deepEqual(rest.v1(p), { user: 'a', n: '1', flag: 'false', principalId: 'p1', integrationLatency: 7 });
  assert.deepEqual(rest.template(p), { user: 'a', n: 1, flag: false, principalId: 'p1' });
  const http = new PrincipalShapes('http');
  assert.deepEqual(http.v1(p), { lambda: { user: 'a', n: 1, flag: false } });
  assert.deepEqual(http.v2(p), { lambda: { user: 'a', n: 1, flag: false } });
  // A context key named __proto__ stays a plain key (never the prototype).
  const tricky = JSON.parse('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
  const shaped = rest.template({ kind: 'lambda', context: tricky }) as Record<string, unknown>;
  assert.deepEqual(Object.keys(shaped), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('an IAM principal: 2.0 { iam } from the signer identity; no 1.0 authorizer; API keys and mTLS give no authorizer', () => {
  const p: Principal = { kind: 'iam', id: 'AIDA1', identity: { accessKey: 'AKID', accountId: '123456789012', caller: 'AIDA1', user: 'AIDA1', userArn: 'arn:aws:iam::123456789012:user/ci' } };
  const http = new PrincipalShapes('http');
  assert.deepEqual(JSON.stringify(http.v2(p)), JSON.stringify({ iam: { accessKey: 'AKID', accountId: '123456789012', callerId: 'AIDA1', cognitoIdentity: null, principalOrgId: null, userArn: 'arn:aws:iam::123456789012:user/ci', userId: 'AIDA1' } }));
  assert.equal(new PrincipalShapes('rest').v1(p), undefined);
  assert.equal(http.v2({ kind: 'api-key', identity: { apiKey: 'k' } }), undefined);
  assert.equal(http.v1({ kind: 'mtls', identity: { clientCert: {} } }), undefined);
  assert.equal(http.v2(undefined), undefined);
});
