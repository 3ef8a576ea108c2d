// Binary payloads of REST non-proxy integrations: binaryMediaTypes + contentHandling, through a real
// RequestContext on a real server (test/helpers/aws-harness.ts) against a real upstream on 127.0.0.1.
// Spec: AWS "Content type conversions in API Gateway" (request and response tables) and "Working with
// binary media types for REST APIs"; 500 cases from LocalStack's AWS-validated
// test_apigw_s3_binary_support_* tests (docs/aws-integrations.md, "Binary payloads").
import assert from 'node:assert/strict';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import type { AwsIntegration } from '../../src/integrations/aws/index.js';
import { fakeInvoker, type Harness, startAwsHarness } from '../helpers/aws-harness.js';
import { build, model, pools, resp } from '../helpers/aws-models.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** Raw gzip bytes: not valid UTF-8, not base64 (the LocalStack tests' object). */
const RAW = gzipSync(Buffer.from('compressed data, should be invalid UTF-8 string'));
const B64 = RAW.toString('base64');
const LAMBDA_URI = 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:111111111111:function:f/invocations';

const open: { h: Harness; i: AwsIntegration }[] = [];
async function serve(i: AwsIntegration, path = '/obj'): Promise<Harness> {
  const h = await startAwsHarness(i, path);
  open.push({ h, i });
  return h;
}

/** What the upstream received last (raw bytes), and what it should answer next. */
let upstream: Upstream;
const received: { body: Buffer; headers: http.IncomingHttpHeaders }[] = [];
let answer: { type: string; body: Buffer } = { type: 'application/json', body: Buffer.from('{}') };

before(async () => {
  upstream = await startUpstream((req, res, body) => {
    received.push({ body, headers: req.headers });
    res.writeHead(200, { 'content-type': answer.type, 'content-length': answer.body.length });
    res.end(answer.body);
  });
});
after(async () => {
  for (const { h, i } of open) {
    await h.close();
    i.close();
  }
  await upstream.close();
  await pools.closeAll();
});

interface BinResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A client that sends and receives raw bytes. */
function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<BinResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = opts.body === undefined ? undefined : Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function httpModel(extra: Parameters<typeof model>[1] = {}) {
  return model('http', { uri: `${upstream.url}/store`, httpMethod: 'POST', ...extra });
}

async function lastReceived(run: () => Promise<BinResponse>): Promise<{ r: BinResponse; got: Buffer | undefined }> {
  const before = received.length;
  const r = await run();
  return { r, got: received.length > before ? (received.at(-1) as { body: Buffer }).body : undefined };
}

// ---------------------------------------------------------------------------------------------
// Request side (first table)

test('request: binary Content-Type matching binaryMediaTypes, contentHandling unset -> the bytes pass through untouched', async () => {
  const h = await serve(build(httpModel(), 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: RAW }));
  assert.equal(r.status, 200);
  assert.ok(got?.equals(RAW), 'upstream got the exact bytes');
  assert.equal(received.at(-1)?.headers['content-type'], 'image/png');
});

test('request: wildcard entries (image/*, */*) and Content-Type parameters match; CONVERT_TO_BINARY leaves binary data as is', async () => {
  for (const bmt of [['image/*'], ['*/*'], ['IMAGE/PNG']]) {
    const h = await serve(build(httpModel({ contentHandling: 'CONVERT_TO_BINARY' }), 'POST', '/obj', { binaryMediaTypes: bmt }));
    const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png; charset=binary' }, body: RAW }));
    assert.equal(r.status, 200, `binaryMediaTypes ${bmt.join(',')}`);
    assert.ok(got?.equals(RAW), `binaryMediaTypes ${bmt.join(',')}: bytes untouched`);
  }
});

test('request: a text Content-Type (no binaryMediaTypes match) is a UTF-8 string: invalid bytes become U+FFFD', async () => {
  const h = await serve(build(httpModel(), 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: RAW }));
  assert.equal(r.status, 200);
  assert.ok(got);
  assert.equal(got.equals(RAW), false);
  assert.ok(got.equals(Buffer.from(RAW.toString('utf8'), 'utf8')), 'the UTF-8 decoding of the body (with replacement characters)');
});

test('request: CONVERT_TO_TEXT base64-encodes a binary payload; the template reads the base64 string in $input.body', async () => {
  const m = httpModel({ contentHandling: 'CONVERT_TO_TEXT', requestTemplates: { 'image/png': '{"data": "$input.body", "len": $input.body.length()}' } });
  const h = await serve(build(m, 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: RAW }));
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(String(got)), { data: B64, len: B64.length });

  // Pass-through (no template for the type): the base64 text itself.
  const p = await serve(build(httpModel({ contentHandling: 'CONVERT_TO_TEXT' }), 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const pass = await lastReceived(() => send(`${p.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: RAW }));
  assert.equal(pass.r.status, 200);
  assert.equal(String(pass.got), B64);
});

test('request: CONVERT_TO_TEXT on a text payload keeps the text', async () => {
  const h = await serve(build(httpModel({ contentHandling: 'CONVERT_TO_TEXT' }), 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'plain text' }));
  assert.equal(r.status, 200);
  assert.equal(String(got), 'plain text');
});

test('request: Lambda `aws` integration with CONVERT_TO_TEXT gets the binary body as base64 in its event (AWS "Convert binary data to text data")', async () => {
  const inv = fakeInvoker((e) => ({ size: Buffer.from((e as { body: string }).body, 'base64').length }));
  const m = model('aws', {
    uri: LAMBDA_URI,
    httpMethod: 'POST',
    contentHandling: 'CONVERT_TO_TEXT',
    requestTemplates: { 'application/octet-stream': '{"body": "$input.body"}' },
  });
  const h = await serve(build(m, 'POST', '/obj', { invoker: inv, binaryMediaTypes: ['application/octet-stream'] }));
  const r = await send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: RAW });
  assert.equal(r.status, 200);
  assert.deepEqual(inv.events.at(-1), { body: B64 });
  assert.deepEqual(JSON.parse(String(r.body)), { size: RAW.length });
});

test('request: CONVERT_TO_BINARY base64-decodes a text payload; a body that is not base64 is 500 and the backend is not called', async () => {
  // No binaryMediaTypes at all: every request is text (table rows 1-3).
  const h = await serve(build(httpModel({ contentHandling: 'CONVERT_TO_BINARY' }), 'POST', '/obj'));
  const ok = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: B64 }));
  assert.equal(ok.r.status, 200);
  assert.ok(ok.got?.equals(RAW), 'upstream got the decoded blob');

  for (const [body, type] of [
    [RAW, 'image/png'],
    ['this is a UTF8 text typed object', 'text/plain'],
  ] as const) {
    const bad = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': type }, body }));
    assert.equal(bad.r.status, 500);
    assert.deepEqual(JSON.parse(String(bad.r.body)), { message: 'Internal server error' });
    assert.equal(bad.got, undefined, 'backend not called');
  }
});

test('request: CONVERT_TO_BINARY with a matching request template is 500 (the rendered text is not base64; AWS-validated)', async () => {
  const m = httpModel({ contentHandling: 'CONVERT_TO_BINARY', requestTemplates: { 'application/json': '{"data": "$input.body"}' } });
  const h = await serve(build(m, 'PUT', '/obj'));
  const noMatch = await lastReceived(() => send(`${h.url}/obj`, { method: 'PUT', headers: { 'Content-Type': 'image/png' }, body: B64 }));
  assert.equal(noMatch.r.status, 200);
  assert.ok(noMatch.got?.equals(RAW));
  const match = await lastReceived(() => send(`${h.url}/obj`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: B64 }));
  assert.equal(match.r.status, 500);
  assert.equal(match.got, undefined);
});

test('request: a binary payload (no conversion) cannot go through a mapping template: 500', async () => {
  const m = httpModel({ requestTemplates: { 'image/png': '{"data": "$input.body"}' } });
  const h = await serve(build(m, 'POST', '/obj', { binaryMediaTypes: ['image/png'] }));
  const { r, got } = await lastReceived(() => send(`${h.url}/obj`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: RAW }));
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-amzn-errortype'], 'InternalServerErrorException');
  assert.equal(got, undefined);
});

// ---------------------------------------------------------------------------------------------
// Response side (second table)

const PNG_RESPONSE = { 'method.response.header.Content-Type': 'integration.response.header.Content-Type' };

test('response: binary payload (Content-Type in binaryMediaTypes): binary Accept -> bytes, text Accept -> base64; only the first Accept type counts', async () => {
  answer = { type: 'image/png', body: RAW };
  const m = httpModel({ httpMethod: 'GET', responses: [resp('200', { responseParameters: PNG_RESPONSE })] });
  const h = await serve(build(m, 'GET', '/obj', { binaryMediaTypes: ['image/png'] }));
  const bin = await send(`${h.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(bin.status, 200);
  assert.equal(bin.headers['content-type'], 'image/png');
  assert.ok(bin.body.equals(RAW));
  const txt = await send(`${h.url}/obj`, { headers: { Accept: 'text/plain' } });
  assert.equal(String(txt.body), B64);
  const firstBinary = await send(`${h.url}/obj`, { headers: { Accept: 'image/png, text/plain;q=0.9' } });
  assert.ok(firstBinary.body.equals(RAW));
  const firstText = await send(`${h.url}/obj`, { headers: { Accept: 'text/plain, image/png' } });
  assert.equal(String(firstText.body), B64);
  const none = await send(`${h.url}/obj`);
  assert.equal(String(none.body), B64, 'no Accept is a text type');
});

test('response: integration response CONVERT_TO_TEXT gives base64 even for a binary Accept; the response template reads it in $input.body', async () => {
  answer = { type: 'image/png', body: RAW };
  const m = httpModel({
    httpMethod: 'GET',
    responses: [resp('200', { contentHandling: 'CONVERT_TO_TEXT', responseTemplates: { 'application/json': '{"img": "$input.body"}' } })],
  });
  const h = await serve(build(m, 'GET', '/obj', { binaryMediaTypes: ['image/png'] }));
  const r = await send(`${h.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(String(r.body)), { img: B64 });
});

test('response: binary payload with CONVERT_TO_BINARY and a text Accept stays binary; through a response template it is 500', async () => {
  answer = { type: 'image/png', body: RAW };
  const plain = await serve(build(httpModel({ httpMethod: 'GET', responses: [resp('200', { contentHandling: 'CONVERT_TO_BINARY' })] }), 'GET', '/obj', { binaryMediaTypes: ['image/png'] }));
  const r = await send(`${plain.url}/obj`, { headers: { Accept: 'text/plain' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(RAW));
  const tpl = await serve(
    build(httpModel({ httpMethod: 'GET', responses: [resp('200', { responseTemplates: { 'application/json': '{"img": "$input.body"}' } })] }), 'GET', '/obj', {
      binaryMediaTypes: ['image/png'],
    }),
  );
  const t = await send(`${tpl.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(t.status, 500);
  assert.deepEqual(JSON.parse(String(t.body)), { message: 'Internal server error' });
});

test('response: text payload with a binary Accept is base64-decoded (500 when it is not base64); CONVERT_TO_TEXT keeps the text', async () => {
  const m = httpModel({ httpMethod: 'GET', responses: [resp('200', { responseParameters: { 'method.response.header.Content-Type': "'image/png'" } })] });
  const h = await serve(build(m, 'GET', '/obj', { binaryMediaTypes: ['image/png'] }));
  answer = { type: 'text/plain', body: Buffer.from(B64) };
  const dec = await send(`${h.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(dec.status, 200);
  assert.ok(dec.body.equals(RAW));
  const asText = await send(`${h.url}/obj`, { headers: { Accept: 'text/plain' } });
  assert.equal(String(asText.body), B64);
  answer = { type: 'text/plain', body: Buffer.from('this is a UTF8 text typed object') };
  const bad = await send(`${h.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(bad.status, 500);

  answer = { type: 'text/plain', body: Buffer.from(B64) };
  const keep = await serve(build(httpModel({ httpMethod: 'GET', responses: [resp('200', { contentHandling: 'CONVERT_TO_TEXT' })] }), 'GET', '/obj', { binaryMediaTypes: ['image/png'] }));
  const k = await send(`${keep.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(String(k.body), B64);
});

test('response: without binaryMediaTypes, CONVERT_TO_BINARY still base64-decodes (row "Text or binary data | Undefined | CONVERT_TO_BINARY")', async () => {
  answer = { type: 'application/json', body: Buffer.from(B64) };
  const h = await serve(build(httpModel({ httpMethod: 'GET', responses: [resp('200', { contentHandling: 'CONVERT_TO_BINARY' })] }), 'GET', '/obj'));
  const r = await send(`${h.url}/obj`, { headers: { Accept: 'application/json' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(RAW));
  // and with nothing configured the bytes are UTF-8 text (row 1)
  answer = { type: 'application/octet-stream', body: RAW };
  const t = await serve(build(httpModel({ httpMethod: 'GET' }), 'GET', '/obj'));
  const tr = await send(`${t.url}/obj`, { headers: { Accept: 'application/octet-stream' } });
  assert.ok(tr.body.equals(Buffer.from(RAW.toString('utf8'))));
});

test('response: Lambda non-proxy returning a base64 string + CONVERT_TO_BINARY answers the binary blob (AWS "Convert text data to a binary payload")', async () => {
  const inv = fakeInvoker(() => B64);
  const png = { 'method.response.header.Content-Type': "'image/png'" };
  const m = model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', responses: [resp('200', { contentHandling: 'CONVERT_TO_BINARY', responseParameters: png })] });
  const h = await serve(build(m, 'GET', '/obj', { invoker: inv, binaryMediaTypes: ['application/octet-stream'] }));
  const r = await send(`${h.url}/obj`, { headers: { Accept: 'application/octet-stream' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'image/png');
  assert.ok(r.body.equals(RAW));

  // The usual variant: the function returns {body: base64}; the template picks it, then the conversion decodes.
  const inv2 = fakeInvoker(() => ({ body: B64 }));
  const m2 = model('aws', {
    uri: LAMBDA_URI,
    httpMethod: 'POST',
    responses: [resp('200', { contentHandling: 'CONVERT_TO_BINARY', responseParameters: png, responseTemplates: { 'application/json': "$input.path('$.body')" } })],
  });
  const h2 = await serve(build(m2, 'GET', '/obj', { invoker: inv2 }));
  const r2 = await send(`${h2.url}/obj`);
  assert.equal(r2.status, 200);
  assert.ok(r2.body.equals(RAW));

  // Without the conversion (text Accept, nothing set) the client gets the JSON string.
  const h3 = await serve(build(model('aws', { uri: LAMBDA_URI, httpMethod: 'POST' }), 'GET', '/obj', { invoker: inv, binaryMediaTypes: ['application/octet-stream'] }));
  const r3 = await send(`${h3.url}/obj`, { headers: { Accept: 'application/json' } });
  assert.equal(String(r3.body), JSON.stringify(B64));
});

test('mock integration: an empty response is unaffected by a binary Accept', async () => {
  const m = model('mock', { requestTemplates: { 'application/json': '{"statusCode": 200}' }, responses: [resp('200')] });
  const h = await serve(build(m, 'GET', '/obj', { binaryMediaTypes: ['*/*'] }));
  const r = await send(`${h.url}/obj`, { headers: { Accept: 'image/png' } });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
});
