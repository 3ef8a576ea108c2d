// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';

const AUTH = `${ROOT}/test/fixtures/authorizers`;
const FN = `${ROOT}/test/fixtures/gateway-functions`;
const LOG_DIR = mkdtempSync(join(tmpdir(), 'turnpike-authz-'));
// The authorizer functions append to this log; as root they run as another user (server.functionRunAs).
chmodSync(LOG_DIR, 0o777);
const LOG = join(LOG_DIR, 'auth.log');
const ARN = 'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod';
let gw: InjectedGateway;

/** Authorizer invocations so far whose identity is `identity`, with the events they got. */
function calls(identity: string): Record<string, any>[] {
  if (!existsSync(LOG)) return [];
  return readFileSync(LOG, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { identity: string; event: Record<string, any> })
    .filter((l) => l.identity === identity)
    .map((l) => l.event);
}

let seq = 0;
/** A fresh identity per test, so the authorizer caches never mix tests. */
const id = (kind: string) => `${kind}.${process.pid}.${++seq}`;

before(async () => {
  gw = await injectGateway(`
functions:
  auth: { module: "${AUTH}/policy.mjs", environment: { AUTH_LOG: "${LOG}" } }
  simple: { module: "${AUTH}/simple.mjs", environment: { AUTH_LOG: "${LOG}" } }
  echo: { module: "${FN}/echo.mjs" }
apis:
  - name: token
    errorDialect: aws-rest
    plugins:
      lambda-authorizer: { function: auth, format: token, stage: prod, apiId: abc123, region: eu-west-1, accountId: "123456789012", basePath: /t }
    routes:
      - { path: /t/items, methods: [GET, POST], integration: { type: function, function: echo, apiType: rest } }
      - { path: "/t/items/{id}", methods: [GET, DELETE], integration: { type: function, function: echo, apiType: rest } }
  - name: nocache
    errorDialect: aws-rest
    plugins:
      lambda-authorizer: { function: auth, resultTtlSeconds: 0, identitySource: method.request.header.X-Token, identityValidationExpression: "(allow|deny)[.0-9]+" }
    routes:
      - { path: /nc, methods: [GET], integration: { type: function, function: echo, apiType: rest } }
  - name: request
    errorDialect: aws-rest
    plugins:
      lambda-authorizer:
        function: auth
        format: request
        identitySource: [method.request.header.X-User, method.request.querystring.tenant]
        stage: dev
        stageVariables: { env: test }
    routes:
      - { path: "/r/{id}", methods: [GET], integration: { type: function, function: echo, apiType: rest } }
  - name: simple
    errorDialect: aws-http
    plugins:
      lambda-authorizer: { function: simple, format: "2.0", simpleResponses: true, identitySource: ["$request.header.X-User"] }
    routes:
      - { path: "/s/{id}", methods: [POST], integration: { type: function, function: echo } }
  - name: httpv1
    errorDialect: aws-http
    plugins:
      lambda-authorizer: { function: auth, format: "1.0", identitySource: ["$request.header.X-User", "$request.querystring.q"] }
    routes:
      - { path: /h1, methods: [GET], integration: { type: function, function: echo, payloadVersion: "1.0" } }
  - name: httpv2
    errorDialect: aws-http
    plugins:
      lambda-authorizer: { function: auth, format: "2.0", identitySource: "$request.header.X-User" }
    routes:
      - { path: /h2, methods: [GET, PUT], integration: { type: function, function: echo } }
`);
});
after(async () => {
  await gw?.close();
});

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => gw.fetch(`${gw.url}${path}`, { method, headers });

test('TOKEN allow: the event is {type, authorizationToken, methodArn}; principalId and context reach the integration', async () => {
  const token = id('allow');
  const res = await get('/t/items/42?x=1', { authorization: token });
  assert.equal(res.status, 200);
  const { event } = (await res.json()) as { event: Record<string, any> };
  assert.deepEqual(event.requestContext.authorizer.principalId, 'user-allow');
  assert.equal(event.requestContext.authorizer.user, 'alice');
  assert.equal(event.requestContext.authorizer.n, '1', 'REST passes context values as strings');
  assert.equal(event.requestContext.authorizer.ok, 'true');
  assert.equal(typeof event.requestContext.authorizer.integrationLatency, 'number');
  const seen = calls(token);
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0], { type: 'TOKEN', authorizationToken: token, methodArn: `${ARN}/GET/items/42` });
});

test('missing identity source: 401 Unauthorized without calling the function', async () => {
  const before = readFileSync(LOG, 'utf8').length;
  const res = await get('/t/items');
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('x-amzn-errortype'), 'UnauthorizedException');
  assert.deepEqual(await res.json(), { message: 'Unauthorized' });
  const empty = await get('/t/items', { authorization: '' });
  assert.equal(empty.status, 401);
  await empty.arrayBuffer();
  assert.equal(readFileSync(LOG, 'utf8').length, before, 'the authorizer function was not invoked');
});

test('explicit Deny: 403 with AWS\'s explicit-deny message', async () => {
  const res = await get('/t/items', { authorization: id('deny') });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('x-amzn-errortype'), 'AccessDeniedException');
  assert.deepEqual(await res.json(), { message: 'User is not authorized to access this resource with an explicit deny' });
});

test('no matching Allow: 403 implicit deny', async () => {
  const res = await get('/t/items', { authorization: id('other') });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'User is not authorized to access this resource' });
});

test("the function failing with 'Unauthorized': 401", async () => {
  const res = await get('/t/items', { authorization: id('unauthorized') });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { message: 'Unauthorized' });
});

test('any other error, a malformed result or a nested context: 500 AuthorizerConfigurationException', async () => {
  for (const kind of ['boom', 'malformed', 'nested']) {
    const res = await get('/t/items', { authorization: id(kind) });
    assert.equal(res.status, 500, kind);
    assert.equal(res.headers.get('x-amzn-errortype'), 'AuthorizerConfigurationException');
    assert.equal(await res.text(), '{"message": null}');
  }
});

test('caching: a second request with the same token within the TTL does not invoke the function', async () => {
  const token = id('allow');
  for (let i = 0; i < 3; i++) {
    const res = await get('/t/items', { authorization: token });
    assert.equal(res.status, 200);
    const { event } = (await res.json()) as { event: Record<string, any> };
    assert.equal(event.requestContext.authorizer.principalId, 'user-allow');
    if (i > 0) assert.equal(event.requestContext.authorizer.integrationLatency, 0);
  }
  assert.equal(calls(token).length, 1);
});

test('the cached POLICY is re-evaluated per request: GET allowed, POST with the same token denied without a new invocation', async () => {
  const token = id('getonly');
  const ok = await get('/t/items', { authorization: token });
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
  const post = await get('/t/items', { authorization: token }, 'POST');
  assert.equal(post.status, 403);
  assert.deepEqual(await post.json(), { message: 'User is not authorized to access this resource' });
  const other = await get('/t/items/7', { authorization: token });
  assert.equal(other.status, 200, 'GET/* covers other paths');
  await other.arrayBuffer();
  const del = await get('/t/items/7', { authorization: token }, 'DELETE');
  assert.equal(del.status, 403);
  await del.arrayBuffer();
  assert.equal(calls(token).length, 1, 'one invocation for all four requests');
});

test('a cached explicit Deny keeps denying; a policy for one ARN does not cover another', async () => {
  const token = id('allowarn');
  const a = await get('/t/items/1', { authorization: token });
  assert.equal(a.status, 200);
  await a.arrayBuffer();
  const b = await get('/t/items/2', { authorization: token });
  assert.equal(b.status, 403, 'the cached policy names /items/1 only');
  await b.arrayBuffer();
  assert.equal(calls(token).length, 1);
  const deny = id('deny');
  for (let i = 0; i < 2; i++) {
    const r = await get('/t/items', { authorization: deny });
    assert.equal(r.status, 403);
    assert.deepEqual(await r.json(), { message: 'User is not authorized to access this resource with an explicit deny' });
  }
  assert.equal(calls(deny).length, 1);
});

test('resultTtlSeconds 0: every request invokes the function; identityValidationExpression mismatch is 401 without a call', async () => {
  const token = id('allow');
  for (let i = 0; i < 2; i++) {
    const res = await get('/nc', { 'x-token': token });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  }
  assert.equal(calls(token).length, 2);
  const bad = id('other');
  const res = await get('/nc', { 'x-token': bad });
  assert.equal(res.status, 401);
  await res.arrayBuffer();
  assert.equal(calls(bad).length, 0);
});

test('REQUEST: every identity source required; the event is the request with methodArn and no body', async () => {
  const user = id('allow');
  const missing = await get(`/r/5`, { 'x-user': user });
  assert.equal(missing.status, 401, 'tenant query parameter missing');
  await missing.arrayBuffer();
  assert.equal(calls(`${user}`).length, 0);
  const res = await get(`/r/5?tenant=t1&tenant=t2`, { 'x-user': user });
  assert.equal(res.status, 200);
  const { event: integrationEvent } = (await res.json()) as { event: Record<string, any> };
  assert.equal(integrationEvent.requestContext.authorizer.principalId, 'user-allow');
  // The fixture logs the event with identity = x-user header for REQUEST events.
  const seen = calls(user);
  assert.equal(seen.length, 1);
  const e = seen[0] as Record<string, any>;
  assert.equal(e.type, 'REQUEST');
  assert.equal(e.methodArn, 'arn:aws:execute-api:us-east-1:000000000000:request/dev/GET/r/5');
  assert.equal(e.resource, '/r/{id}');
  assert.equal(e.path, '/r/5');
  assert.equal(e.httpMethod, 'GET');
  assert.equal(e.headers['x-user'], user);
  // API Gateway's own headers, as in AWS's REQUEST authorizer input example, and the same as the integration's event.
  const port = String(gw.port);
  assert.equal(e.headers['X-Forwarded-For'], '127.0.0.1');
  assert.equal(e.headers['X-Forwarded-Port'], port);
  assert.equal(e.headers['X-Forwarded-Proto'], 'http');
  assert.deepEqual(e.multiValueHeaders['X-Forwarded-For'], ['127.0.0.1']);
  assert.match(e.headers['X-Amzn-Trace-Id'], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  assert.equal(e.headers['X-Amzn-Trace-Id'], integrationEvent.headers['X-Amzn-Trace-Id'], 'one trace id per request');
  assert.deepEqual(e.queryStringParameters, { tenant: 't2' });
  assert.deepEqual(e.multiValueQueryStringParameters, { tenant: ['t1', 't2'] });
  assert.deepEqual(e.pathParameters, { id: '5' });
  assert.deepEqual(e.stageVariables, { env: 'test' });
  assert.equal(e.requestContext.stage, 'dev');
  assert.equal(e.requestContext.httpMethod, 'GET');
  assert.equal('body' in e, false);
  // Cached by (header, query): another tenant is another identity.
  const again = await get(`/r/5?tenant=t2`, { 'x-user': user });
  assert.equal(again.status, 200);
  await again.arrayBuffer();
  assert.equal(calls(user).length, 1, 'same identity source values: served from the cache');
  const otherTenant = await get(`/r/5?tenant=t3`, { 'x-user': user });
  assert.equal(otherTenant.status, 200);
  await otherTenant.arrayBuffer();
  assert.equal(calls(user).length, 2);
});

test('HTTP API 2.0 simple responses: isAuthorized true passes {lambda: context}; false is 403 Forbidden; malformed 500', async () => {
  const user = `ok-${process.pid}-${++seq}`;
  const res = await gw.fetch(`${gw.url}/s/9?a=b`, { method: 'POST', headers: { 'x-user': user, 'content-type': 'application/json' }, body: '{"secret":1}' });
  assert.equal(res.status, 200);
  const { event } = (await res.json()) as { event: Record<string, any> };
  assert.equal(event.version, '2.0');
  assert.deepEqual(event.requestContext.authorizer, { lambda: { user, level: 3, nested: { a: [1, 2] } } });
  const seen = calls(user);
  assert.equal(seen.length, 1);
  const e = seen[0] as Record<string, any>;
  assert.equal(e.version, '2.0');
  assert.equal(e.type, 'REQUEST');
  assert.equal(e.routeArn, 'arn:aws:execute-api:us-east-1:000000000000:simple/$default/POST/s/9');
  assert.deepEqual(e.identitySource, [user]);
  assert.equal(e.routeKey, 'POST /s/{id}');
  assert.equal(e.rawPath, '/s/9');
  assert.equal(e.rawQueryString, 'a=b');
  assert.equal(e.headers['x-user'], user);
  assert.equal(e.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(e.headers['x-forwarded-proto'], 'http');
  assert.equal(e.headers['x-forwarded-port'], String(gw.port));
  assert.equal(e.headers['x-amzn-trace-id'], event.headers['x-amzn-trace-id'], 'one trace id per request');
  assert.deepEqual(e.pathParameters, { id: '9' });
  assert.equal(e.requestContext.http.method, 'POST');
  assert.equal('body' in e, false, 'authorizers never see the body');

  const no = await gw.fetch(`${gw.url}/s/9`, { method: 'POST', headers: { 'x-user': `no-${seq}` } });
  assert.equal(no.status, 403);
  assert.equal(no.headers.get('x-amzn-errortype'), null);
  assert.deepEqual(await no.json(), { message: 'Forbidden' });
  const bad = await gw.fetch(`${gw.url}/s/9`, { method: 'POST', headers: { 'x-user': `bad-${seq}` } });
  assert.equal(bad.status, 500);
  assert.deepEqual(await bad.json(), { message: 'Internal Server Error' });
  const missing = await gw.fetch(`${gw.url}/s/9`, { method: 'POST' });
  assert.equal(missing.status, 401);
  assert.deepEqual(await missing.json(), { message: 'Unauthorized' });
});

test('HTTP API 1.0 payload: methodArn, identitySource and authorizationToken as a joined string; policy evaluated', async () => {
  const user = id('getonly');
  const res = await get('/h1?q=v', { 'x-user': user });
  assert.equal(res.status, 200);
  const { event } = (await res.json()) as { event: Record<string, any> };
  assert.deepEqual(event.requestContext.authorizer, { lambda: { user: 'alice', n: 1, ok: true } });
  const seen = calls(`${user},v`);
  assert.equal(seen.length, 1);
  const e = seen[0] as Record<string, any>;
  assert.equal(e.version, '1.0');
  assert.equal(e.type, 'REQUEST');
  assert.equal(e.methodArn, 'arn:aws:execute-api:us-east-1:000000000000:httpv1/$default/GET/h1');
  assert.equal(e.identitySource, `${user},v`);
  assert.equal(e.authorizationToken, `${user},v`);
  assert.equal(e.resource, '/h1');
  assert.equal(e.httpMethod, 'GET');
});

test('HTTP API 2.0 with an IAM policy: GET-only policy cached, PUT denied with 403 Forbidden and no new call', async () => {
  const user = id('getonly');
  const ok = await get('/h2', { 'x-user': user });
  assert.equal(ok.status, 200);
  await ok.arrayBuffer();
  const put = await get('/h2', { 'x-user': user }, 'PUT');
  assert.equal(put.status, 403);
  assert.deepEqual(await put.json(), { message: 'Forbidden' });
  assert.equal(calls(user).length, 1);
  const un = await get('/h2', { 'x-user': id('unauthorized') });
  assert.equal(un.status, 401);
  await un.arrayBuffer();
});
