// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
// The function integration in-process (test/helpers/inject.ts) with real function modules on the gateway's own
// runtime; the worker-kills-the-process check stays in test/integration/function.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FUNCTIONS_CONFIG } from '../helpers/function-config.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';

let gw: InjectedGateway;

before(async () => {
  gw = await injectGateway(FUNCTIONS_CONFIG);
});
after(async () => {
  await gw?.close();
});

test('payload 2.0: the handler gets an HTTP API event and its response comes back', async () => {
  const res = await gw.fetch(`${gw.url}/v2/items/a%20b?x=1&x=2&y=z`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: 'c1=v1; c2=v2', 'X-Custom': 'One' },
    body: '{"n":1}',
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-fn'), 'echo');
  assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  const { event, env } = (await res.json()) as { event: Record<string, any>; env: string };
  assert.equal(env, 'hello');
  assert.equal(event.version, '2.0');
  assert.equal(event.routeKey, 'POST /v2/items/{id}');
  assert.equal(event.rawPath, '/v2/items/a%20b');
  assert.equal(event.rawQueryString, 'x=1&x=2&y=z');
  assert.deepEqual(event.queryStringParameters, { x: '1,2', y: 'z' });
  assert.deepEqual(event.pathParameters, { id: 'a b' });
  assert.deepEqual(event.cookies, ['c1=v1', 'c2=v2']);
  assert.equal(event.headers['x-custom'], 'One');
  assert.equal(event.headers.cookie, undefined);
  assert.equal(event.body, '{"n":1}');
  assert.equal(event.isBase64Encoded, false);
  assert.equal(event.requestContext.http.method, 'POST');
  assert.equal(event.requestContext.http.sourceIp, '127.0.0.1');
  assert.equal(event.requestContext.requestId, res.headers.get('x-request-id'));
  assert.equal(event.requestContext.stage, '$default');
});

test('payload 1.0 (REST semantics): resource, multi-value query, encoded path parameters', async () => {
  const res = await gw.fetch(`${gw.url}/v1/items/a%2Bb?x=1&x=2`);
  assert.equal(res.status, 200);
  assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
  const { event, invocations } = (await res.json()) as { event: Record<string, any>; invocations: number };
  assert.ok(invocations >= 1);
  assert.equal(event.resource, '/v1/items/{id}');
  assert.equal(event.path, '/v1/items/a%2Bb');
  assert.equal(event.httpMethod, 'GET');
  assert.deepEqual(event.queryStringParameters, { x: '2' });
  assert.deepEqual(event.multiValueQueryStringParameters, { x: ['1', '2'] });
  assert.deepEqual(event.pathParameters, { id: 'a%2Bb' });
  assert.equal(event.body, null);
  assert.equal(event.requestContext.resourcePath, '/v1/items/{id}');
});

test('a warm worker keeps module state between invocations', async () => {
  const a = (await (await gw.fetch(`${gw.url}/v1/items/1`)).json()) as { invocations: number };
  const b = (await (await gw.fetch(`${gw.url}/v1/items/1`)).json()) as { invocations: number };
  assert.ok(b.invocations > a.invocations, `${b.invocations} > ${a.invocations}`);
});

test('payload 2.0 inference: a plain object becomes a 200 JSON answer', async () => {
  const res = await gw.fetch(`${gw.url}/plain`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await res.json(), { hello: 'world' });
});

test('handler errors answer as AWS does for each API type, and are logged with the request id', async () => {
  const h = await gw.fetch(`${gw.url}/throws-http`);
  assert.equal(h.status, 500);
  assert.equal(await h.text(), '{"message":"Internal Server Error"}');
  const r = await gw.fetch(`${gw.url}/throws-rest`);
  assert.equal(r.status, 502);
  assert.equal(await r.text(), '{"message": "Internal server error"}');
  const id = r.headers.get('x-request-id');
  const line = await gw.waitForLog((l) => l.msg === 'function error' && l.requestId === id);
  assert.equal(line.errorType, 'TypeError');
  assert.equal(line.errorMessage, 'boom from the handler');
});

test('a malformed REST proxy response is a 502', async () => {
  const res = await gw.fetch(`${gw.url}/malformed-rest`);
  assert.equal(res.status, 502);
  assert.deepEqual(await res.json(), { message: 'Internal server error' });
});

test('a function timeout answers at once with the error, and the function still works after', async () => {
  const t0 = Date.now();
  const res = await gw.fetch(`${gw.url}/slow`);
  assert.equal(res.status, 500);
  assert.ok(Date.now() - t0 < 3000, 'answered near the 300 ms function timeout');
  const ok = await gw.fetch(`${gw.url}/plain`);
  assert.equal(ok.status, 200);
});

test('CommonJS callback-style handlers work', async () => {
  const res = await gw.fetch(`${gw.url}/cb/7`);
  assert.equal(res.status, 201);
  assert.equal(await res.text(), 'created 7');
});

test('a function named as Lambda names it (runtime, codeUri, handler file.export) is found and called', async () => {
  const res = await gw.fetch(`${gw.url}/lambda-style`);
  assert.equal(res.status, 200);
  const { env } = (await res.json()) as { env: string };
  assert.equal(env, 'lambda');
});
