// biome-ignore-all lint/suspicious/noExplicitAny: the echoed event is untyped JSON.
// The headers API Gateway adds to Lambda proxy events (X-Forwarded-For/Port/Proto, X-Amzn-Trace-Id),
// checked through a real gateway process with a local handler that echoes its event.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;
const TRACE = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/;
let gw: RunningGateway;

before(async () => {
  gw = await startGateway(`
functions:
  echo: { module: "${FN}/echo.mjs" }
  throws: { module: "${FN}/throws.mjs" }
apis:
  - name: fwd
    routes:
      - { name: v2, methods: [GET], path: /v2, integration: { type: function, function: echo } }
      - { name: v1-http, methods: [GET], path: /v1-http, integration: { type: function, function: echo, payloadVersion: "1.0" } }
      - { name: rest, methods: [GET], path: /rest, integration: { type: function, function: echo, apiType: rest } }
      - { name: rest-throws, methods: [GET], path: /rest-throws, integration: { type: function, function: throws, apiType: rest } }
`);
});
after(async () => {
  await gw?.stop();
});

async function eventOf(path: string, headers: Record<string, string> = {}): Promise<Record<string, any>> {
  const res = await fetch(`${gw.url}${path}`, { headers });
  assert.equal(res.status, 200);
  return ((await res.json()) as { event: Record<string, any> }).event;
}

test('REST event: X-Forwarded-For is the peer, port the listener port, proto http, a fresh trace id', async () => {
  const ev = await eventOf('/rest');
  assert.equal(ev.headers['X-Forwarded-For'], '127.0.0.1');
  assert.equal(ev.headers['X-Forwarded-Port'], String(gw.port));
  assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
  assert.match(ev.headers['X-Amzn-Trace-Id'], TRACE);
  assert.deepEqual(ev.multiValueHeaders['X-Forwarded-For'], ['127.0.0.1']);
  assert.deepEqual(ev.multiValueHeaders['X-Forwarded-Port'], [String(gw.port)]);
  assert.deepEqual(ev.multiValueHeaders['X-Forwarded-Proto'], ['http']);
  assert.deepEqual(ev.multiValueHeaders['X-Amzn-Trace-Id'], [ev.headers['X-Amzn-Trace-Id']]);
  // The trace id's time part is the request's start (epoch seconds, hex).
  const secs = Number.parseInt(ev.headers['X-Amzn-Trace-Id'].slice(7, 15), 16);
  assert.ok(Math.abs(secs - Math.floor(ev.requestContext.requestTimeEpoch / 1000)) <= 1);
  const again = await eventOf('/rest');
  assert.notEqual(again.headers['X-Amzn-Trace-Id'], ev.headers['X-Amzn-Trace-Id']);
});

test('REST event: an incoming X-Forwarded-For chain gets the peer appended; a valid trace id is kept; client port/proto replaced', async () => {
  const trace = 'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1';
  const ev = await eventOf('/rest', {
    'x-forwarded-for': '203.0.113.9, 10.1.2.3',
    'x-forwarded-port': '1',
    'x-forwarded-proto': 'https',
    'x-amzn-trace-id': trace,
  });
  assert.equal(ev.headers['X-Forwarded-For'], '203.0.113.9, 10.1.2.3, 127.0.0.1');
  assert.equal(ev.headers['X-Forwarded-Port'], String(gw.port));
  assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
  assert.equal(ev.headers['X-Amzn-Trace-Id'], trace);
  for (const lower of ['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-amzn-trace-id']) {
    assert.equal(ev.headers[lower], undefined, lower);
    assert.equal(ev.multiValueHeaders[lower], undefined, lower);
  }
  // No trusted proxies configured: the event's sourceIp stays the peer.
  assert.equal(ev.requestContext.identity.sourceIp, '127.0.0.1');
});

test('an invalid incoming trace id is replaced', async () => {
  const ev = await eventOf('/rest', { 'x-amzn-trace-id': 'Root=not-a-trace' });
  assert.match(ev.headers['X-Amzn-Trace-Id'], TRACE);
});

test('HTTP API payload 2.0: lower-case names', async () => {
  const ev = await eventOf('/v2', { 'X-Forwarded-For': '198.51.100.1' });
  assert.equal(ev.headers['x-forwarded-for'], '198.51.100.1, 127.0.0.1');
  assert.equal(ev.headers['x-forwarded-port'], String(gw.port));
  assert.equal(ev.headers['x-forwarded-proto'], 'http');
  assert.match(ev.headers['x-amzn-trace-id'], TRACE);
  assert.equal(ev.requestContext.http.sourceIp, '127.0.0.1');
});

test('HTTP API payload 1.0: capitalised names, as in the captured AWS event', async () => {
  const ev = await eventOf('/v1-http');
  assert.equal(ev.version, '1.0');
  assert.equal(ev.headers['X-Forwarded-For'], '127.0.0.1');
  assert.equal(ev.headers['X-Forwarded-Port'], String(gw.port));
  assert.equal(ev.headers['X-Forwarded-Proto'], 'http');
  assert.match(ev.headers['X-Amzn-Trace-Id'], TRACE);
  assert.deepEqual(ev.multiValueHeaders['X-Forwarded-For'], ['127.0.0.1']);
});

test('REST answers carry x-amzn-requestid and the event\'s trace id (as recorded for AWS_PROXY); HTTP API answers neither', async () => {
  const res = await fetch(`${gw.url}/rest`);
  assert.equal(res.status, 200);
  const ev = ((await res.json()) as { event: Record<string, any> }).event;
  assert.equal(res.headers.get('x-amzn-requestid'), res.headers.get('x-request-id'));
  assert.equal(res.headers.get('x-amzn-requestid'), ev.requestContext.requestId);
  assert.equal(res.headers.get('x-amzn-trace-id'), ev.headers['X-Amzn-Trace-Id']);
  const http = await fetch(`${gw.url}/v2`);
  await http.arrayBuffer();
  assert.equal(http.headers.get('x-amzn-requestid'), null);
  assert.equal(http.headers.get('x-amzn-trace-id'), null);
  // A function error: the gateway's 502 carries the request id; no trace id (the function gave no answer).
  const failed = await fetch(`${gw.url}/rest-throws`);
  assert.equal(failed.status, 502);
  await failed.arrayBuffer();
  assert.equal(failed.headers.get('x-amzn-requestid'), failed.headers.get('x-request-id'));
  assert.equal(failed.headers.get('x-amzn-errortype'), 'InternalServerErrorException');
  assert.equal(failed.headers.get('x-amzn-trace-id'), null);
});
