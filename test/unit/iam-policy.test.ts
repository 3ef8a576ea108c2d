import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMethodArn, compilePolicy, evaluatePolicy, wildcardMatch } from '../../src/security/iam-policy.js';

const API = 'arn:aws:execute-api:us-east-1:123456789012:abc123';
const arn = (verb: string, path: string) => `${API}/prod/${verb}/${path}`;

function policy(...statements: unknown[]) {
  const r = compilePolicy({ Version: '2012-10-17', Statement: statements });
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.policy;
}
const allow = (Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({ Effect: 'Allow', Action, Resource });
const deny = (Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({ Effect: 'Deny', Action, Resource });

test('buildMethodArn: region, account, api, stage, verb and the path without its leading slash', () => {
  assert.equal(
    buildMethodArn({ region: 'eu-west-1', accountId: '123456789012', apiId: 'abc123', stage: 'prod', method: 'GET', path: '/pets/1' }),
    'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/pets/1',
  );
  assert.equal(buildMethodArn({ region: 'r', accountId: 'a', apiId: 'x', stage: '$default', method: 'POST', path: '/' }), 'arn:aws:execute-api:r:a:x/$default/POST/');
  assert.equal(buildMethodArn({ region: 'r', accountId: 'a', apiId: 'x', stage: 's', method: 'GET', path: 'a/b' }), 'arn:aws:execute-api:r:a:x/s/GET/a/b');
});

test('exact resource: allows that method ARN only', () => {
  const p = policy(allow(arn('GET', 'pets')));
  assert.equal(evaluatePolicy(p, arn('GET', 'pets')), 'allow');
  assert.equal(evaluatePolicy(p, arn('POST', 'pets')), 'implicit-deny');
  assert.equal(evaluatePolicy(p, arn('GET', 'pets/1')), 'implicit-deny');
  assert.equal(evaluatePolicy(p, arn('GET', 'Pets')), 'implicit-deny', 'resources are case-sensitive');
});

test('`*` matches any run of characters including slashes, `?` exactly one', () => {
  const p = policy(allow(`${API}/prod/GET/*`));
  assert.equal(evaluatePolicy(p, arn('GET', 'pets')), 'allow');
  assert.equal(evaluatePolicy(p, arn('GET', 'pets/1/toys')), 'allow');
  assert.equal(evaluatePolicy(p, arn('GET', '')), 'allow');
  assert.equal(evaluatePolicy(p, arn('POST', 'pets')), 'implicit-deny');
  assert.equal(evaluatePolicy(p, `${API}/dev/GET/pets`), 'implicit-deny');

  const q = policy(allow(`${API}/prod/GET/pets/?`));
  assert.equal(evaluatePolicy(q, arn('GET', 'pets/1')), 'allow');
  assert.equal(evaluatePolicy(q, arn('GET', 'pets/12')), 'implicit-deny');
  assert.equal(evaluatePolicy(q, arn('GET', 'pets/')), 'implicit-deny');

  const star = policy(allow('*'));
  assert.equal(evaluatePolicy(star, arn('DELETE', 'x/y')), 'allow');
  const mid = policy(allow(`${API}/*/GET/pets`));
  assert.equal(evaluatePolicy(mid, arn('GET', 'pets')), 'allow');
  assert.equal(evaluatePolicy(mid, `${API}/dev/GET/pets`), 'allow');
  assert.equal(evaluatePolicy(mid, arn('GET', 'pets/1')), 'implicit-deny');
});

test('regex metacharacters in a resource are literal', () => {
  const p = policy(allow(`${API}/prod/GET/a.b(c)+[d]$`));
  assert.equal(evaluatePolicy(p, arn('GET', 'a.b(c)+[d]$')), 'allow');
  assert.equal(evaluatePolicy(p, arn('GET', 'aXb(c)+[d]$')), 'implicit-deny');
  assert.equal(wildcardMatch('a**b', 'axxb'), true);
  assert.equal(wildcardMatch('a*b*c', 'abc'), true);
  assert.equal(wildcardMatch('a*b*c', 'acb'), false);
  assert.equal(wildcardMatch('*', ''), true);
  assert.equal(wildcardMatch('?', ''), false);
  assert.equal(wildcardMatch('', ''), true);
  assert.equal(wildcardMatch('', 'a'), false);
});

test('explicit Deny wins over any Allow, whatever the order', () => {
  const p = policy(allow('*'), deny(arn('DELETE', '*')));
  assert.equal(evaluatePolicy(p, arn('GET', 'pets')), 'allow');
  assert.equal(evaluatePolicy(p, arn('DELETE', 'pets')), 'explicit-deny');
  const q = policy(deny(arn('DELETE', '*')), allow('*'));
  assert.equal(evaluatePolicy(q, arn('DELETE', 'pets')), 'explicit-deny');
  const onlyDeny = policy(deny(arn('DELETE', '*')));
  assert.equal(evaluatePolicy(onlyDeny, arn('GET', 'pets')), 'implicit-deny');
});

test('actions: execute-api:Invoke, execute-api:*, *, case-insensitive; other actions do not apply', () => {
  for (const a of ['execute-api:Invoke', 'execute-api:*', '*', 'EXECUTE-API:invoke', 'execute-api:Inv?ke', ['s3:GetObject', 'execute-api:Invoke']]) {
    assert.equal(evaluatePolicy(policy(allow('*', a)), arn('GET', 'x')), 'allow', JSON.stringify(a));
  }
  for (const a of ['execute-api:ManageConnections', 's3:*', 'execute-api:InvokeX']) {
    assert.equal(evaluatePolicy(policy(allow('*', a)), arn('GET', 'x')), 'implicit-deny', a);
  }
  // A Deny for another action does not deny Invoke.
  assert.equal(evaluatePolicy(policy(allow('*'), deny('*', 'execute-api:ManageConnections')), arn('GET', 'x')), 'allow');
});

test('string and array forms, a single Statement object, NotAction / NotResource', () => {
  const single = compilePolicy({ Statement: { Effect: 'Allow', Action: ['execute-api:Invoke'], Resource: [arn('GET', 'a'), arn('GET', 'b')] } });
  assert.ok(single.ok);
  if (single.ok) {
    assert.equal(evaluatePolicy(single.policy, arn('GET', 'b')), 'allow');
    assert.equal(evaluatePolicy(single.policy, arn('GET', 'c')), 'implicit-deny');
  }
  const notRes = policy({ Effect: 'Allow', Action: 'execute-api:Invoke', NotResource: arn('DELETE', '*') });
  assert.equal(evaluatePolicy(notRes, arn('GET', 'a')), 'allow');
  assert.equal(evaluatePolicy(notRes, arn('DELETE', 'a')), 'implicit-deny');
  const notAct = policy({ Effect: 'Deny', NotAction: 's3:*', Resource: arn('POST', '*') });
  assert.equal(evaluatePolicy(notAct, arn('POST', 'a')), 'explicit-deny');
});

test('conditions fail closed: a conditional Allow never grants, a conditional Deny always applies', () => {
  const cond = { StringEquals: { 'aws:SourceIp': '1.2.3.4' } };
  assert.equal(evaluatePolicy(policy({ ...allow('*'), Condition: cond }), arn('GET', 'a')), 'implicit-deny');
  assert.equal(evaluatePolicy(policy(allow('*'), { ...deny('*'), Condition: cond }), arn('GET', 'a')), 'explicit-deny');
});

test('malformed policies are refused with a reason', () => {
  const bad: unknown[] = [
    undefined,
    null,
    'Allow',
    [],
    {},
    { Statement: 'x' },
    { Statement: [null] },
    { Statement: [{ Effect: 'allow', Action: '*', Resource: '*' }] },
    { Statement: [{ Effect: 'Permit', Action: '*', Resource: '*' }] },
    { Statement: [{ Effect: 'Allow', Resource: '*' }] },
    { Statement: [{ Effect: 'Allow', Action: '*' }] },
    { Statement: [{ Effect: 'Allow', Action: '*', NotAction: 'x', Resource: '*' }] },
    { Statement: [{ Effect: 'Allow', Action: [], Resource: '*' }] },
    { Statement: [{ Effect: 'Allow', Action: '*', Resource: [1] }] },
    { Statement: [{ Effect: 'Allow', Action: '*', Resource: { a: 1 } }] },
  ];
  for (const doc of bad) {
    const r = compilePolicy(doc);
    assert.equal(r.ok, false, JSON.stringify(doc));
    if (!r.ok) assert.ok(r.reason.length > 0);
  }
});

test('an empty Statement list allows nothing', () => {
  assert.equal(evaluatePolicy(policy(), arn('GET', 'a')), 'implicit-deny');
});

test('wildcard matching stays fast on hostile patterns', () => {
  // As a backtracking RegExp this pattern takes ages on 'aaaa...'; the matcher is O(pattern x subject).
  const p = policy(allow(`${'*a'.repeat(30)}*b`));
  const started = performance.now();
  assert.equal(evaluatePolicy(p, 'a'.repeat(5000)), 'implicit-deny');
  assert.ok(performance.now() - started < 1000);
});
