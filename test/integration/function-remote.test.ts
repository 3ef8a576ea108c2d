// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
// Functions behind a Lambda-compatible Invoke API (`functions.NAME.endpoint`): a small Invoke server
// started here (POST /2015-03-31/functions/{name}/invocations) runs the Express app's serverless-http
// handler in this process, answers function errors as Lambda does (200 + X-Amz-Function-Error), and
// can be slow or missing. The gateway is the real process.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';
import { deadPort } from '../helpers/upstream.js';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

interface Invocation {
  name: string;
  headers: http.IncomingHttpHeaders;
  event: Record<string, any>;
}

let gw: RunningGateway;
let lambda: http.Server;
let lambdaUrl: string;
const invocations: Invocation[] = [];
const slowTimers = new Set<NodeJS.Timeout>();

function answer(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function startInvokeApi(app: Handler): Promise<void> {
  lambda = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) return answer(res, 404, { message: 'not an Invoke call' });
      const name = decodeURIComponent(m[1] as string);
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
      invocations.push({ name, headers: req.headers, event });
      const requestId = String(req.headers['x-amzn-requestid'] ?? 'req');
      const reqHeaders = { 'x-amzn-requestid': requestId, 'x-amz-executed-version': '$LATEST' };
      switch (name) {
        case 'express-app':
          app(event, { awsRequestId: requestId, functionName: name }).then(
            (result) => answer(res, 200, result, reqHeaders),
            (err: Error) => answer(res, 200, { errorType: err.name, errorMessage: err.message, stackTrace: [] }, { ...reqHeaders, 'x-amz-function-error': 'Unhandled' }),
          );
          return;
        case 'boom':
          return answer(
            res,
            200,
            { errorType: 'TypeError', errorMessage: 'boom from the remote handler', stackTrace: ['TypeError: boom from the remote handler', '    at handler (/var/task/index.mjs:3:9)'] },
            { ...reqHeaders, 'x-amz-function-error': 'Unhandled' },
          );
        case 'timesout':
          // Lambda's own timeout, reported as a function error.
          return answer(
            res,
            200,
            { errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: x Error: Task timed out after 3.00 seconds' },
            { ...reqHeaders, 'x-amz-function-error': 'Unhandled' },
          );
        case 'slow': {
          const t = setTimeout(() => {
            slowTimers.delete(t);
            if (!res.destroyed) answer(res, 200, { statusCode: 200, body: 'too late' }, reqHeaders);
          }, 5000);
          slowTimers.add(t);
          return;
        }
        default:
          return answer(
            res,
            404,
            { Type: 'User', message: `Function not found: arn:aws:lambda:us-east-1:000000000000:function:${name}` },
            { 'x-amzn-errortype': 'ResourceNotFoundException' },
          );
      }
    });
  });
  await new Promise<void>((r) => lambda.listen(0, '127.0.0.1', r));
  lambdaUrl = `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`;
}

before(async () => {
  const mod = (await import(pathToFileURL(`${ROOT}/test/fixtures/express-app/handler.mjs`).href)) as { handler: Handler };
  await startInvokeApi(mod.handler);
  const down = await deadPort();
  gw = await startGateway(`
functions:
  app: { endpoint: "${lambdaUrl}", remoteName: express-app, timeoutMs: 10000 }
  boom: { endpoint: "${lambdaUrl}" }
  timesout: { endpoint: "${lambdaUrl}" }
  slow: { endpoint: "${lambdaUrl}", timeoutMs: 10000 }
  ghost: { endpoint: "${lambdaUrl}" }
  down: { endpoint: "http://127.0.0.1:${down}", timeoutMs: 10000 }
  slowlocal: { module: "${ROOT}/test/fixtures/gateway-functions/slow.mjs", timeoutMs: 10000 }
apis:
  - name: remote
    routes:
      - { name: app-v2, path: "/v2/{proxy+}", integration: { type: function, function: app } }
      - { name: app-v1, path: "/v1/{proxy+}", integration: { type: function, function: app, apiType: rest } }
      - { name: boom-http, path: /boom-http, integration: { type: function, function: boom } }
      - { name: boom-rest, path: /boom-rest, integration: { type: function, function: boom, apiType: rest } }
      - { name: timesout-http, path: /timesout-http, integration: { type: function, function: timesout } }
      - { name: timesout-rest, path: /timesout-rest, integration: { type: function, function: timesout, apiType: rest } }
      - { name: slow-http, path: /slow-http, integration: { type: function, function: slow, timeoutMs: 400 } }
      - { name: slow-rest, path: /slow-rest, integration: { type: function, function: slow, apiType: rest, timeoutMs: 400 } }
      - { name: ghost-http, path: /ghost-http, integration: { type: function, function: ghost } }
      - { name: ghost-rest, path: /ghost-rest, integration: { type: function, function: ghost, apiType: rest } }
      - { name: down-http, path: /down-http, integration: { type: function, function: down } }
      - { name: down-rest, path: /down-rest, integration: { type: function, function: down, apiType: rest } }
      - { name: slowlocal-http, path: /slowlocal-http, integration: { type: function, function: slowlocal, timeoutMs: 400 } }
      - { name: slowlocal-rest, path: /slowlocal-rest, integration: { type: function, function: slowlocal, apiType: rest, timeoutMs: 400 } }
`);
});
after(async () => {
  await gw?.stop();
  for (const t of slowTimers) clearTimeout(t);
  if (lambda) {
    lambda.closeAllConnections();
    await new Promise<void>((r) => lambda.close(() => r()));
  }
});

test('success, payload 2.0: the Invoke API gets the event and the Express answer comes back', async () => {
  const before = invocations.length;
  const res = await fetch(`${gw.url}/v2/users/5/posts/9?tag=a&tag=b`, { headers: { cookie: 'k=v' } });
  assert.equal(res.status, 200);
  const b = (await res.json()) as Record<string, any>;
  assert.deepEqual(b.params, { id: '5', postId: '9' });
  assert.deepEqual(b.query, { tag: ['a', 'b'] });
  assert.deepEqual(b.cookies, { k: 'v' });
  const inv = invocations.slice(before).find((i) => i.name === 'express-app');
  assert.ok(inv, 'the remote name was invoked');
  assert.equal(inv.headers['content-type'], 'application/json');
  assert.equal(inv.headers['x-amz-invocation-type'], 'RequestResponse');
  assert.equal(inv.headers['x-amzn-requestid'], res.headers.get('x-request-id'));
  assert.equal(inv.event.version, '2.0');
  assert.equal(inv.event.rawPath, '/v2/users/5/posts/9');
  assert.equal(inv.event.requestContext.requestId, res.headers.get('x-request-id'));
});

test('success, payload 1.0 (REST): 201, JSON and several Set-Cookie through the Invoke API', async () => {
  const res = await fetch(`${gw.url}/v1/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' });
  assert.equal(res.status, 201);
  assert.deepEqual(((await res.json()) as Record<string, unknown>).received, { a: [1, 2] });
  assert.equal(res.headers.getSetCookie().length, 3);
  assert.match(res.headers.getSetCookie()[0] ?? '', /^session=abc123;/);
  const inv = invocations.at(-1);
  assert.equal(inv?.event.httpMethod, 'POST');
  assert.equal(inv?.event.resource, '/v1/{proxy+}');
  assert.deepEqual(inv?.event.pathParameters, { proxy: 'users' });
});

test('success: a binary body survives the Invoke API both ways (payload 2.0)', async () => {
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const res = await fetch(`${gw.url}/v2/binary`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
});

test('function error (X-Amz-Function-Error: Unhandled): REST 502, HTTP API 500, logged with the error', async () => {
  const r = await fetch(`${gw.url}/boom-rest`);
  assert.equal(r.status, 502);
  assert.equal(await r.text(), '{"message": "Internal server error"}');
  assert.equal(r.headers.get('x-amzn-errortype'), 'InternalServerErrorException');
  const h = await fetch(`${gw.url}/boom-http`);
  assert.equal(h.status, 500);
  assert.equal(await h.text(), '{"message":"Internal Server Error"}');
  const id = h.headers.get('x-request-id');
  const line = await gw.waitForLog((l) => l.msg === 'function error' && l.requestId === id);
  assert.equal(line.errorType, 'TypeError');
  assert.equal(line.errorMessage, 'boom from the remote handler');
  assert.equal(line.kind, 'unhandled');
});

test("the function's own timeout reported by Lambda is a function error: REST 502, HTTP API 500", async () => {
  const r = await fetch(`${gw.url}/timesout-rest`);
  assert.equal(r.status, 502);
  assert.deepEqual(await r.json(), { message: 'Internal server error' });
  const h = await fetch(`${gw.url}/timesout-http`);
  assert.equal(h.status, 500);
  assert.deepEqual(await h.json(), { message: 'Internal Server Error' });
});

test('a function the endpoint does not know (404 ResourceNotFoundException): 500 for both API types', async () => {
  const r = await fetch(`${gw.url}/ghost-rest`);
  assert.equal(r.status, 500);
  assert.equal(await r.text(), '{"message": "Internal server error"}');
  const h = await fetch(`${gw.url}/ghost-http`);
  assert.equal(h.status, 500);
  assert.equal(await h.text(), '{"message":"Internal Server Error"}');
});

test('endpoint down: an answer at once (the Invoke call is rejected: 500), no hang', async () => {
  for (const [path, body] of [
    ['/down-rest', '{"message": "Internal server error"}'],
    ['/down-http', '{"message":"Internal Server Error"}'],
  ] as const) {
    const t0 = Date.now();
    const res = await fetch(`${gw.url}${path}`, { signal: AbortSignal.timeout(5000) });
    assert.equal(res.status, 500, path);
    assert.equal(await res.text(), body);
    assert.ok(Date.now() - t0 < 2000, `${path} answered in ${Date.now() - t0} ms`);
  }
  const line = await gw.waitForLog((l) => l.msg === 'function error' && l.errorType === 'ECONNREFUSED');
  assert.equal(line.kind, 'crash');
});

test('slow endpoint (and, for contrast, a slow local function) past the integration timeout: REST 504, HTTP API 503', async () => {
  // The function's own timeout (10 s) is longer than the integration's (400 ms): the answer must be the
  // integration timeout, whichever of the two timers (gateway / invoker deadline) fires first.
  for (const [path, status, body] of [
    ['/slow-rest', 504, '{"message": "Endpoint request timed out"}'],
    ['/slow-http', 503, '{"message":"Service Unavailable"}'],
    ['/slowlocal-rest', 504, '{"message": "Endpoint request timed out"}'],
    ['/slowlocal-http', 503, '{"message":"Service Unavailable"}'],
  ] as const) {
    const t0 = Date.now();
    const res = await fetch(`${gw.url}${path}`, { signal: AbortSignal.timeout(8000) });
    const took = Date.now() - t0;
    assert.equal(res.status, status, path);
    assert.equal(await res.text(), body);
    assert.ok(took >= 350 && took < 2500, `${path} answered in ${took} ms`);
    const access = await gw.waitForLog((l) => l.type === 'access' && l.requestId === res.headers.get('x-request-id'), 3000);
    assert.equal(access.error, 'UPSTREAM_TIMEOUT', path);
  }
  // The gateway still serves the remote function afterwards.
  assert.equal((await fetch(`${gw.url}/v2/missing`)).status, 404);
});
