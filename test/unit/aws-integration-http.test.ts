// AWS REST non-proxy `http` integrations (and PetStore's mocks), through a real RequestContext on a
// real server, against a real upstream. Expectations come from AWS recordings
// (/work/shared/aws-groundtruth/localstack/*.snapshot.json); see docs/aws-integrations.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AwsIntegration } from '../../src/integrations/aws/index.js';
import { importAwsDocument, sourceFromData } from '../../src/openapi/index.js';
import type { AwsRoute } from '../../src/openapi/types.js';
import { call, type Harness, startAwsHarness } from '../helpers/aws-harness.js';
import { build, model, pools, resp } from '../helpers/aws-models.js';
import { ROOT } from '../helpers/gateway.js';
import { deadPort, startUpstream, type Upstream } from '../helpers/upstream.js';

const PETSTORE_ENDPOINT = 'http://petstore-demo-endpoint.execute-api.com';
let upstream: Upstream;
const open: { h: Harness; i: AwsIntegration }[] = [];

async function serve(i: AwsIntegration, path: string): Promise<Harness> {
  const h = await startAwsHarness(i, path);
  open.push({ h, i });
  return h;
}

before(async () => {
  upstream = await startUpstream((req, res, body) => {
    const url = req.url ?? '/';
    if (url.startsWith('/slow')) {
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, 1500);
      return;
    }
    const status = /\/status\/(\d{3})/.exec(url);
    const text = JSON.stringify({ method: req.method, url, headers: req.headers, rawHeaders: req.rawHeaders, body: body.toString() });
    res.writeHead(status ? Number(status[1]) : 200, {
      'content-type': 'application/json',
      'x-backend': 'yes',
      'access-control-allow-credentials': 'true',
      server: 'stand-in',
    });
    res.end(text);
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

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

// ---------------------------------------------------------------------------------------------
// PetStore (AWS's example API, imported with the real importer)

function petstoreRoutes(): AwsRoute[] {
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'aws', 'petstore-swagger.json'), 'utf8')
    // The example's `${uri}` placeholder is filled by AWS's console; here it becomes a stage variable.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AWS placeholders, not JS templates
    .replaceAll('${uri}', '${stageVariables.uri}');
  const { model: api } = importAwsDocument(sourceFromData(JSON.parse(text)), { apiType: 'rest' });
  return api.routes;
}

function petstore(method: string, path: string): AwsIntegration {
  const r = petstoreRoutes().find((x) => x.method === method && x.path === path);
  assert.ok(r?.integration, `${method} ${path} in petstore`);
  return build(r.integration, method, path, {
    route: r,
    stage: 'dev',
    stageVariables: { uri: `${PETSTORE_ENDPOINT}/petstore/pets` },
    rewriteOrigin: (o) => (o === PETSTORE_ENDPOINT ? upstream.url : o),
  });
}

test('PetStore GET /pets: stage-variable URI, query mappings, only mapped data reaches the backend', async () => {
  const h = await serve(petstore('GET', '/pets'), '/pets');
  const r = await call(`${h.url}/pets?type=dog&page=2&other=x`, { headers: { 'X-Custom': 'client', Accept: 'application/xml', 'User-Agent': 'client/1' } });
  assert.equal(r.status, 200);
  const echo = JSON.parse(r.body) as Echo;
  assert.equal(echo.method, 'GET');
  // the backend sees the URI path and only the mapped query parameters (document order: page, type)
  assert.equal(echo.url, '/petstore/pets?page=2&type=dog');
  assert.equal(echo.headers['x-custom'], undefined, 'client headers are not forwarded by a non-proxy http integration');
  assert.equal(echo.headers.accept, 'application/json');
  assert.equal(echo.headers['user-agent'], 'AmazonAPIGateway_abc123defg');
  assert.equal(echo.headers['x-amzn-apigateway-api-id'], 'abc123defg');
  assert.match(String(echo.headers['x-amzn-trace-id']), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  assert.equal(echo.headers['content-type'], undefined, 'GET: no Content-Type');
  // client answer: mapped CORS header + application/json; the backend's own headers stay behind
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['x-backend'], undefined);
  assert.equal(r.headers['access-control-allow-credentials'], undefined);
  assert.equal(r.headers.server, undefined);
  assert.equal(r.headers['x-amzn-requestid'], r.headers['x-request-id']);
});

test('PetStore GET /pets/{petId}: path mapping fills the URI template', async () => {
  const h = await serve(petstore('GET', '/pets/{petId}'), '/pets/{petId}');
  const r = await call(`${h.url}/pets/42`);
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as Echo).url, '/petstore/pets/42');
  assert.equal(r.headers['access-control-allow-origin'], '*');
});

test('PetStore POST /pets: the body passes through with the client Content-Type', async () => {
  const h = await serve(petstore('POST', '/pets'), '/pets');
  const r = await call(`${h.url}/pets`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"type":"cat","price":123.11}' });
  const echo = JSON.parse(r.body) as Echo;
  assert.equal(echo.method, 'POST');
  assert.equal(echo.body, '{"type":"cat","price":123.11}');
  assert.equal(echo.headers['content-type'], 'application/json');
  assert.equal(echo.headers['content-length'], '29');
});

test('PetStore OPTIONS /pets and /pets/{petId}: mock CORS answers with exactly the mapped headers', async () => {
  const h1 = await serve(petstore('OPTIONS', '/pets'), '/pets');
  const r1 = await call(`${h1.url}/pets`, { method: 'OPTIONS' });
  assert.equal(r1.status, 200);
  assert.equal(r1.body, '');
  assert.equal(r1.headers['access-control-allow-methods'], 'POST,GET,OPTIONS');
  assert.equal(r1.headers['access-control-allow-headers'], 'Content-Type,X-Amz-Date,Authorization,X-Api-Key');
  assert.equal(r1.headers['access-control-allow-origin'], '*');
  assert.equal(r1.headers['content-type'], 'application/json');
  assert.equal(r1.headers['content-length'], '0');
  const h2 = await serve(petstore('OPTIONS', '/pets/{petId}'), '/pets/{petId}');
  const r2 = await call(`${h2.url}/pets/7`, { method: 'OPTIONS' });
  assert.equal(r2.status, 200);
  assert.equal(r2.headers['access-control-allow-methods'], 'GET,OPTIONS');
  assert.equal(upstream.seen.filter((s) => s.method === 'OPTIONS').length, 0, 'a mock never calls a backend');
});

test('PetStore GET /: mock with an HTML response template and a mapped Content-Type', async () => {
  const h = await serve(petstore('GET', '/'), '/');
  const r = await call(`${h.url}/`, { headers: { Accept: 'text/html' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/html');
  assert.match(r.body, /<h1>Welcome to your Pet Store API<\/h1>/);
  assert.ok(r.body.includes('<a href="/dev/pets/" target="_blank">'), '$context.stage rendered');
});

// ---------------------------------------------------------------------------------------------
// Header remapping (TestApiGatewayHeaderRemapping::test_apigateway_header_remapping_http[HTTP])

const REMAP_HEADERS = [
  'Accept',
  'Accept-Charset',
  'Accept-Encoding',
  'Age',
  'Authorization',
  'Connection',
  'Content-Encoding',
  'Content-Length',
  'Content-MD5',
  'Content-Type',
  'Date',
  'Expect',
  'Host',
  'Max-Forwards',
  'Pragma',
  'Proxy-Authenticate',
  'Range',
  'Referer',
  'Server',
  'TE',
  'Transfer-Encoding',
  'Trailer',
  'Upgrade',
  'User-Agent',
  'Via',
  'Warn',
  'WWW-Authenticate',
];
// The test's REQUEST_PARAMETERS without the special cases (Content-Length, Transfer-Encoding), which get their own routes.
const REMAP_REQUEST_PARAMETERS: Record<string, string> = {
  'integration.request.header.Accept': "'text/html'",
  'integration.request.header.Accept-Charset': "'UTF-16'",
  'integration.request.header.Accept-Encoding': "'zstd'",
  'integration.request.header.Age': "'request_params_age'",
  'integration.request.header.Authorization': "'request_params_authorization'",
  'integration.request.header.Content-Encoding': "'compress'",
  'integration.request.header.Content-MD5': "'request_params_Content-MD5'",
  'integration.request.header.Content-Type': "'application/json'",
  'integration.request.header.Date': "'request_params_Date'",
  'integration.request.header.Expect': "'200-ok'",
  'integration.request.header.Host': 'method.request.header.Host',
  'integration.request.header.Max-Forwards': "'2'",
  'integration.request.header.Pragma': "'no-cache'",
  'integration.request.header.Range': "'bytes=0-499'",
  'integration.request.header.Referer': "'https://example.com/page'",
  'integration.request.header.Server': "'https://example.com/page'",
  'integration.request.header.Trailer': "'user-agent'",
  'integration.request.header.Upgrade': "'HTTP/2.0'",
  'integration.request.header.User-Agent': "'Override-Agent'",
  'integration.request.header.Warn': '\'110 anderson/1.3.37 "Response is stale"\'',
  'integration.request.header.WWW-Authenticate': "'Basic YWxhZGRpbjpvcGVuc2VzYW1l'",
  'integration.request.header.Connection': "'keep-alive'",
  'integration.request.header.Proxy-Authenticate': '\'Basic realm="Access to the internal site"\'',
  'integration.request.header.TE': "'gzip'",
  'integration.request.header.Via': "'othersite.net'",
};
// What the test client sends (its Connection/Expect/TE/Transfer-Encoding/Trailer are left out: node's client
// and server give them transport meaning; AWS drops all four before mapping anyway).
const CLIENT_HEADERS: Record<string, string> = {
  Accept: 'application/json',
  'Accept-Charset': 'UTF-8',
  'Accept-Encoding': 'br',
  Age: 'request_Age',
  Authorization: 'Unauthorized',
  'Content-Encoding': 'deflate',
  'Content-MD5': 'request_Content-MD5',
  'Content-Type': 'application/json',
  Date: 'request_Date',
  'Max-Forwards': '2',
  Pragma: 'cache',
  'Proxy-Authenticate': 'Basic',
  Range: 'bytes=500-999',
  Referer: 'https://example.com/',
  Server: 'https://example.com/',
  Upgrade: 'HTTP/2.0',
  'User-Agent': 'localStack/0.0',
  Via: 'p.example.net',
  Warn: '299 localStack/0.0',
  'WWW-Authenticate': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
};

test('header remapping [HTTP] no-param: the backend sees only API Gateway defaults; the client only Content-Type', async () => {
  const h = await serve(build(model('http', { uri: `${upstream.url}/post`, httpMethod: 'POST' }), 'GET', '/no-param'), '/no-param');
  const r = await call(`${h.url}/no-param`, { headers: CLIENT_HEADERS });
  assert.equal(r.status, 200);
  const echo = JSON.parse(r.body) as Echo;
  // recorded: Accept, Content-Length, Host, User-Agent, X-Amzn-Apigateway-Api-Id, X-Amzn-Trace-Id (+ Connection, which the echo server hid)
  const names = Object.keys(echo.headers)
    .filter((n) => n !== 'connection')
    .sort();
  assert.deepEqual(names, ['accept', 'content-length', 'host', 'user-agent', 'x-amzn-apigateway-api-id', 'x-amzn-trace-id']);
  assert.equal(echo.headers.accept, 'application/json');
  assert.equal(echo.headers['content-length'], '0');
  assert.equal(echo.body, '');
  // recorded response headers: Content-Type application/json plus API Gateway's own
  assert.equal(r.headers['content-type'], 'application/json');
  for (const n of ['x-backend', 'access-control-allow-credentials', 'server', 'x-amzn-remapped-server']) assert.equal(r.headers[n], undefined, n);
});

test('header remapping [HTTP] full: mapped headers reach the backend, hop-by-hop ones do not; response headers are remapped', async () => {
  const template = `{${REMAP_HEADERS.map((x) => `"${x}": "$input.params('${x}')"`).join(',')}}`;
  const responseParameters: Record<string, string> = {};
  for (const x of REMAP_HEADERS) responseParameters[`method.response.header.${x}`] = `'response_param_${x}'`;
  const m = model('http', {
    uri: `${upstream.url}/post`,
    httpMethod: 'POST',
    requestParameters: REMAP_REQUEST_PARAMETERS,
    requestTemplates: { 'application/json': template },
    responses: [resp('200', { responseParameters })],
  });
  const h = await serve(build(m, 'GET', '/full'), '/full');
  const r = await call(`${h.url}/full`, { headers: CLIENT_HEADERS });
  assert.equal(r.status, 200);
  // the rendered template saw the method request: dropped headers read as '' (recorded "full-integration".body)
  const sent = upstream.seen.at(-1);
  assert.ok(sent);
  const rendered = JSON.parse(sent.body) as Record<string, string>;
  for (const x of [
    'Connection',
    'Content-Length',
    'Content-MD5',
    'Expect',
    'Max-Forwards',
    'Proxy-Authenticate',
    'Server',
    'TE',
    'Transfer-Encoding',
    'Trailer',
    'Upgrade',
    'WWW-Authenticate',
  ]) {
    assert.equal(rendered[x], '', `${x} is invisible to templates`);
  }
  assert.equal(rendered.Accept, 'application/json');
  assert.equal(rendered['Accept-Charset'], 'UTF-8');
  assert.equal(rendered.Authorization, 'Unauthorized');
  assert.equal(rendered['User-Agent'], 'localStack/0.0');
  assert.equal(rendered.Via, 'p.example.net');
  // backend headers (recorded "full-integration".headers)
  const bh = sent.headers;
  const want: Record<string, string> = {
    accept: 'text/html',
    'accept-charset': 'UTF-16',
    'accept-encoding': 'zstd',
    age: 'request_params_age',
    authorization: 'request_params_authorization',
    'content-encoding': 'compress',
    'content-md5': 'request_params_Content-MD5',
    'content-type': 'application/json',
    'max-forwards': '2',
    pragma: 'no-cache',
    range: 'bytes=0-499',
    referer: 'https://example.com/page',
    server: 'https://example.com/page',
    trailer: 'user-agent',
    'user-agent': 'Override-Agent',
    warn: '110 anderson/1.3.37 "Response is stale"',
    'www-authenticate': 'Basic YWxhZGRpbjpvcGVuc2VzYW1l',
    'x-amzn-apigateway-api-id': 'abc123defg',
  };
  for (const [k, v] of Object.entries(want)) assert.equal(bh[k], v, k);
  assert.equal(bh['content-length'], String(Buffer.byteLength(sent.body)), 'Content-Length is the real body length');
  assert.equal(bh.host, `127.0.0.1:${h.port}`, 'Host mapped from method.request.header.Host');
  for (const k of ['expect', 'proxy-authenticate', 'te', 'via', 'transfer-encoding']) assert.equal(bh[k], undefined, `${k} never reaches the backend`);
  // client answer (recorded "full-integration".response-headers)
  const remapped = [
    'Authorization',
    'Connection',
    'Content-Length',
    'Content-MD5',
    'Date',
    'Expect',
    'Host',
    'Max-Forwards',
    'Proxy-Authenticate',
    'Server',
    'Trailer',
    'Upgrade',
    'User-Agent',
    'WWW-Authenticate',
  ];
  for (const x of remapped) assert.equal(r.headers[`x-amzn-remapped-${x.toLowerCase()}`], `response_param_${x}`, x);
  for (const x of [
    'Accept',
    'Accept-Charset',
    'Accept-Encoding',
    'Age',
    'Content-Encoding',
    'Content-Type',
    'Pragma',
    'Range',
    'Referer',
    'TE',
    'Via',
    'Warn',
  ]) {
    assert.equal(r.headers[x.toLowerCase()], `response_param_${x}`, x);
  }
  assert.equal(r.headers['transfer-encoding'], undefined);
  assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
});

test('header remapping [HTTP]: mapping Content-Length or Transfer-Encoding is a configuration error (500)', async () => {
  for (const [name, value] of [
    ['Content-Length', "'0'"],
    ['Transfer-Encoding', "'deflate'"],
  ] as const) {
    const m = model('http', { uri: `${upstream.url}/post`, httpMethod: 'POST', requestParameters: { [`integration.request.header.${name}`]: value } });
    const h = await serve(build(m, 'GET', `/${name}`), `/${name}`);
    const before = upstream.seen.length;
    const r = await call(`${h.url}/${name}`, { headers: { Accept: 'application/json' } });
    assert.equal(r.status, 500, name);
    assert.equal(r.body, '{"message": "Internal server error"}');
    assert.equal(r.headers['content-length'], '36', 'recorded Content-Length');
    assert.equal(r.headers['x-amzn-errortype'], 'InternalServerErrorException');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(upstream.seen.length, before, 'the backend is not called');
  }
});

// ---------------------------------------------------------------------------------------------
// Status codes and selection

test('test_http_integration_invoke_status_code_passthrough[HTTP]: a 400 with only a default response answers 200 with the body', async () => {
  const h = await serve(
    build(
      model('http', {
        uri: `${upstream.url}/status/{code}`,
        httpMethod: 'GET',
        requestParameters: { 'integration.request.path.code': 'method.request.path.code' },
      }),
      'GET',
      '/{code}',
    ),
    '/{code}',
  );
  const ok = await call(`${h.url}/200`);
  assert.equal(ok.status, 200);
  const bad = await call(`${h.url}/400`);
  assert.equal(bad.status, 200, 'recorded: non-matching-response status_code 200');
  assert.equal((JSON.parse(bad.body) as Echo).url, '/status/400');
});

test('test_http_integration_status_code_selection: selectionPattern 4\\d{2} selects 400, anything else the default', async () => {
  const m = model('http', {
    uri: `${upstream.url}/status/{status}`,
    httpMethod: 'GET',
    requestParameters: { 'integration.request.path.status': 'method.request.path.status' },
    responses: [resp('400', { selectionPattern: '4\\d{2}' }), resp('200')],
  });
  const h = await serve(build(m, 'GET', '/{status}'), '/{status}');
  assert.equal((await call(`${h.url}/404`)).status, 400);
  assert.equal((await call(`${h.url}/201`)).status, 200);
  assert.equal((await call(`${h.url}/500`)).status, 200);
});

test('selection patterns match the whole status code (Java matches(), anchored)', async () => {
  const m = model('http', {
    uri: `${upstream.url}/status/{s}`,
    httpMethod: 'GET',
    requestParameters: { 'integration.request.path.s': 'method.request.path.s' },
    responses: [resp('502', { selectionPattern: '5' }), resp('404', { selectionPattern: '40[0-4]' })],
  });
  const h = await serve(build(m, 'GET', '/{s}'), '/{s}');
  assert.equal((await call(`${h.url}/404`)).status, 404);
  // '5' does not match '503' as a whole and there is no default response: configuration error
  const r = await call(`${h.url}/503`);
  assert.equal(r.status, 500);
  assert.equal(r.body, '{"message": "Internal server error"}');
});

test('response parameters from the integration response: header, multivalueheader, body, body JSONPath', async () => {
  const m = model('http', {
    uri: `${upstream.url}/x`,
    httpMethod: 'POST',
    responses: [
      resp('200', {
        responseParameters: {
          'method.response.header.X-From-Backend': 'integration.response.header.X-Backend',
          'method.response.header.X-Method': 'integration.response.body.method',
          'method.response.header.X-Ctx': 'context.identity.sourceIp',
          'method.response.header.X-Stage': 'stageVariables.color',
          'method.response.header.X-Missing': 'integration.response.header.Nope',
        },
      }),
    ],
  });
  const h = await serve(build(m, 'POST', '/x', { stageVariables: { color: 'blue' } }), '/x');
  const r = await call(`${h.url}/x`, { method: 'POST', body: '{}' });
  assert.equal(r.headers['x-from-backend'], 'yes');
  assert.equal(r.headers['x-method'], 'POST');
  assert.equal(r.headers['x-ctx'], '127.0.0.1');
  assert.equal(r.headers['x-stage'], 'blue');
  assert.equal(r.headers['x-missing'], undefined);
});

test('request parameters: multivalue query, header, static, context, stage variable, body JSONPath', async () => {
  const m = model('http', {
    uri: `${upstream.url}/q?fixed=1`,
    httpMethod: 'POST',
    requestParameters: {
      'integration.request.querystring.all': 'method.request.multivaluequerystring.v',
      'integration.request.querystring.last': 'method.request.querystring.v',
      'integration.request.header.x-h': 'method.request.header.X-In',
      'integration.request.header.x-static': "'s t'",
      'integration.request.header.x-req': 'context.requestId',
      'integration.request.header.x-stage': 'stageVariables.color',
      'integration.request.header.x-name': 'method.request.body.pet.name',
    },
  });
  const h = await serve(build(m, 'POST', '/q', { stageVariables: { color: 'red' } }), '/q');
  const r = await call(`${h.url}/q?v=1&v=2`, {
    method: 'POST',
    headers: { 'x-in': 'hello', 'Content-Type': 'application/json' },
    body: '{"pet":{"name":"rex"}}',
  });
  const echo = JSON.parse(r.body) as Echo;
  assert.equal(echo.url, '/q?fixed=1&all=1&all=2&last=2');
  assert.equal(echo.headers['x-h'], 'hello');
  assert.equal(echo.headers['x-static'], 's t');
  assert.equal(echo.headers['x-req'], r.headers['x-request-id']);
  assert.equal(echo.headers['x-stage'], 'red');
  assert.equal(echo.headers['x-name'], 'rex');
});

// ---------------------------------------------------------------------------------------------
// Failures

test('timeoutInMillis: a slow backend answers 504 {"message": "Endpoint request timed out"}', async () => {
  const h = await serve(build(model('http', { uri: `${upstream.url}/slow`, httpMethod: 'GET', timeoutInMillis: 200 }), 'GET', '/slow'), '/slow');
  const t0 = performance.now();
  const r = await call(`${h.url}/slow`);
  assert.equal(r.status, 504);
  assert.equal(r.body, '{"message": "Endpoint request timed out"}');
  assert.equal(r.body, '{"message": "Endpoint request timed out"}');
  assert.ok(performance.now() - t0 < 1400, 'answered at the integration timeout, not when the backend finished');
});

test('connection refused: 500 {"message": "Internal server error"}', async () => {
  const port = await deadPort();
  const h = await serve(build(model('http', { uri: `http://127.0.0.1:${port}/x`, httpMethod: 'GET' }), 'GET', '/dead'), '/dead');
  const r = await call(`${h.url}/dead`);
  assert.equal(r.status, 500);
  assert.equal(r.body, '{"message": "Internal server error"}');
  assert.equal(r.headers['x-amzn-errortype'], 'InternalServerErrorException');
});

test('passthroughBehavior on an http integration: NEVER without templates answers 415', async () => {
  const h = await serve(build(model('http', { uri: `${upstream.url}/x`, httpMethod: 'POST', passthroughBehavior: 'NEVER' }), 'POST', '/never'), '/never');
  const before = upstream.seen.length;
  const r = await call(`${h.url}/never`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hi' });
  assert.equal(r.status, 415);
  assert.equal(r.body, '{"message": "Unsupported Media Type"}');
  assert.equal(upstream.seen.length, before);
});
