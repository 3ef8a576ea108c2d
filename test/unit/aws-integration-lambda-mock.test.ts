// AWS REST non-proxy `aws` (Lambda) and `mock` integrations through a real RequestContext on a real
// server. The Lambda runtime is stood in for by a fake Invoker (the runtime has its own tests).
// Recorded outputs: test_apigateway_lambda.snapshot.json, test_apigateway_integrations.snapshot.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type AwsIntegration, mockStatus } from '../../src/integrations/aws/index.js';
import { call, fakeInvoker, type Harness, startAwsHarness } from '../helpers/aws-harness.js';
import { build, model, pools, resp } from '../helpers/aws-models.js';
import { ROOT } from '../helpers/gateway.js';

const FIX = join(ROOT, 'test', 'fixtures', 'templates');
const open: { h: Harness; i: AwsIntegration }[] = [];
async function serve(i: AwsIntegration, path: string): Promise<Harness> {
  const h = await startAwsHarness(i, path);
  open.push({ h, i });
  return h;
}
after(async () => {
  for (const { h, i } of open) {
    await h.close();
    i.close();
  }
  await pools.closeAll();
});

const LAMBDA_URI = 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:111111111111:function:f/invocations';

test('test_lambda_aws_integration: the body goes to the function, its result comes back (recorded {"message": "hello world"})', async () => {
  const inv = fakeInvoker((e) => e);
  const h = await serve(build(model('aws', { uri: LAMBDA_URI, httpMethod: 'POST' }), 'POST', '/test', { invoker: inv }), '/test');
  const r = await call(`${h.url}/test`, { method: 'POST', body: JSON.stringify({ message: 'hello world' }) });
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { message: 'hello world' });
  assert.equal(r.headers['content-type'], 'application/json');
  assert.deepEqual(inv.events[0], { message: 'hello world' });
});

test('test_lambda_aws_integration_with_request_template: $input.params reads the query string (recorded {"param1": "foobar"})', async () => {
  const inv = fakeInvoker((e) => e);
  const m = model('aws', {
    uri: LAMBDA_URI,
    httpMethod: 'POST',
    requestTemplates: { 'application/json': '{"param1": "$input.params(\'param1\')"}' },
    responses: [resp('200', { selectionPattern: '' })],
  });
  const h = await serve(build(m, 'GET', '/test', { invoker: inv }), '/test');
  for (const q of ['param1=foobar', 'param1=foobar&Signature=1']) {
    const r = await call(`${h.url}/test?${q}`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { param1: 'foobar' });
  }
});

test('test_lambda_selection_patterns: errorMessage selects 405/502, success takes the default (recorded bodies)', async () => {
  // lambda_select_pattern.py, in JavaScript
  const inv = fakeInvoker((e) => {
    const code = (e as { statusCode: string }).statusCode;
    if (code === '200') return 'Pass';
    if (code === '400') throw new Error('Error: Raising 400 from within the Lambda function');
    if (code === '500') throw new Error('Error: Raising 500 from within the Lambda function');
    return 'Error Value in the json request should either be 400 or 500 to demonstrate';
  });
  const m = model('aws', {
    uri: LAMBDA_URI,
    httpMethod: 'POST',
    requestTemplates: { 'application/json': '{"statusCode": "$input.params(\'statusCode\')"}' },
    responses: [resp('405', { selectionPattern: '.*400.*' }), resp('502', { selectionPattern: '.*5\\d\\d.*' }), resp('200')],
  });
  const h = await serve(build(m, 'GET', '/{statusCode}', { invoker: inv }), '/{statusCode}');
  const ok = await call(`${h.url}/200`);
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.body), 'Pass');
  const e400 = await call(`${h.url}/400`);
  assert.equal(e400.status, 405);
  const b400 = JSON.parse(e400.body) as { errorMessage: string; errorType: string; trace: string[] };
  assert.equal(b400.errorMessage, 'Error: Raising 400 from within the Lambda function');
  assert.equal(b400.errorType, 'Error');
  assert.ok(Array.isArray(b400.trace));
  const e500 = await call(`${h.url}/500`);
  assert.equal(e500.status, 502);
  assert.equal((JSON.parse(e500.body) as { errorMessage: string }).errorMessage, 'Error: Raising 500 from within the Lambda function');
});

test('a failed function with no matching pattern takes the default response (status 200, error body)', async () => {
  const inv = fakeInvoker(() => {
    throw new Error('nothing matches this');
  });
  const m = model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', responses: [resp('400', { selectionPattern: 'Bad.*' }), resp('200')] });
  const h = await serve(build(m, 'POST', '/x', { invoker: inv }), '/x');
  const r = await call(`${h.url}/x`, { method: 'POST', body: '{}' });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as { errorMessage: string }).errorMessage, 'nothing matches this');
});

test('test_lambda_aws_integration_response_with_mapping_templates: request-template.vm + response-template.vm (recorded 202/400)', async () => {
  // lambda_mapping_responses.py, in JavaScript
  const inv = fakeInvoker((e) => {
    const status = (e as { body: { httpStatus: string } }).body.httpStatus;
    return Number.parseInt(status, 10) >= 400 ? { statusCode: 200, body: 'customerror' } : { statusCode: 200, body: 'noerror' };
  });
  const m = model('aws', {
    uri: LAMBDA_URI,
    httpMethod: 'POST',
    requestTemplates: { 'application/json': readFileSync(join(FIX, 'request-template.vm'), 'utf8') },
    responses: [resp('200', { selectionPattern: '', responseTemplates: { 'application/json': readFileSync(join(FIX, 'response-template.vm'), 'utf8') } })],
  });
  const h = await serve(build(m, 'POST', '/test', { invoker: inv }), '/test');
  const r1 = await call(`${h.url}/test`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ httpStatus: '200' }) });
  assert.deepEqual({ statusCode: r1.status, body: JSON.parse(r1.body) }, { body: { body: 'noerror', statusCode: 200 }, statusCode: 202 });
  const r2 = await call(`${h.url}/test`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ httpStatus: '400', errorMessage: 'Test Bad request' }),
  });
  assert.deepEqual({ statusCode: r2.status, body: JSON.parse(r2.body) }, { body: { body: 'customerror', statusCode: 200 }, statusCode: 400 });
  // the event the request template built: $context fields filled
  const ev = inv.events[0] as { apiContext: Record<string, string>; body: unknown };
  assert.equal(ev.apiContext.apiId, 'abc123defg');
  assert.equal(ev.apiContext.method, 'POST');
  assert.equal(ev.apiContext.stage, 'dev');
  assert.equal(ev.apiContext.path, '/dev/test');
  assert.equal(ev.apiContext.protocol, 'HTTP/1.1');
  assert.equal(ev.apiContext.sourceIp, '127.0.0.1');
  assert.deepEqual(ev.body, { httpStatus: '200' });
});

test('header remapping [AWS]: mapping Authorization/Connection/Expect/Proxy-Authenticate/TE into a Lambda request is a 500', async () => {
  const inv = fakeInvoker((e) => e);
  for (const name of ['Authorization', 'Connection', 'Expect', 'Proxy-Authenticate', 'TE', 'Content-Length']) {
    const m = model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', requestParameters: { [`integration.request.header.${name}`]: "'x'" } });
    const h = await serve(build(m, 'GET', '/h', { invoker: inv }), '/h');
    const r = await call(`${h.url}/h`);
    assert.equal(r.status, 500, name);
    assert.equal(r.body, '{"message": "Internal server error"}');
  }
  assert.equal(inv.events.length, 0);
});

test('Lambda: integration timeout answers 504; an invoke that throws answers 500', async () => {
  const slow = fakeInvoker(() => 'late', { delayMs: 1000 });
  const h1 = await serve(build(model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', timeoutInMillis: 100 }), 'POST', '/slow', { invoker: slow }), '/slow');
  const r1 = await call(`${h1.url}/slow`, { method: 'POST', body: '{}' });
  assert.equal(r1.status, 504);
  assert.equal(r1.body, '{"message": "Endpoint request timed out"}');
  const broken = { invoke: () => Promise.reject(new Error('ResourceNotFoundException')) };
  const h2 = await serve(build(model('aws', { uri: LAMBDA_URI, httpMethod: 'POST' }), 'POST', '/gone', { invoker: broken }), '/gone');
  const r2 = await call(`${h2.url}/gone`, { method: 'POST', body: '{}' });
  assert.equal(r2.status, 500);
  assert.equal(r2.body, '{"message": "Internal server error"}');
});

test('$input.json on a body that is not JSON answers 400', async () => {
  const inv = fakeInvoker((e) => e);
  const m = model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', requestTemplates: { 'application/json': '{"b": $input.json(\'$\')}' } });
  const h = await serve(build(m, 'POST', '/j', { invoker: inv }), '/j');
  const r = await call(`${h.url}/j`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{not json' });
  assert.equal(r.status, 400);
  assert.equal(r.body, '{"message": "Could not parse request body into json"}');
  assert.equal(inv.events.length, 0);
});

// ---------------------------------------------------------------------------------------------
// Passthrough behaviours

test('passthroughBehavior: WHEN_NO_MATCH passes an unmatched body; WHEN_NO_TEMPLATES and NEVER answer 415', async () => {
  const templates = { 'application/json': '{"wrapped": $input.json(\'$\')}' };
  const inv = fakeInvoker((e) => e);
  const mk = (pb: 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER', t: Record<string, string>, path: string) =>
    serve(build(model('aws', { uri: LAMBDA_URI, httpMethod: 'POST', passthroughBehavior: pb, requestTemplates: t }), 'POST', path, { invoker: inv }), path);
  const match = await mk('WHEN_NO_MATCH', templates, '/a');
  const text = await call(`${match.url}/a`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'plain words' });
  assert.equal(text.status, 200);
  assert.equal(JSON.parse(text.body), 'plain words', 'not JSON: the raw string is the event');
  const json = await call(`${match.url}/a`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: '{"a":1}' });
  assert.deepEqual(JSON.parse(json.body), { wrapped: { a: 1 } });
  const noCt = await call(`${match.url}/a`, { method: 'POST', body: '{"a":2}' });
  assert.deepEqual(JSON.parse(noCt.body), { wrapped: { a: 2 } }, 'no Content-Type means application/json');

  const wnt = await mk('WHEN_NO_TEMPLATES', templates, '/b');
  const r415 = await call(`${wnt.url}/b`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
  assert.equal(r415.status, 415);
  assert.equal(r415.body, '{"message": "Unsupported Media Type"}');
  const wntEmpty = await mk('WHEN_NO_TEMPLATES', {}, '/c');
  assert.equal((await call(`${wntEmpty.url}/c`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '"x"' })).status, 200);

  const never = await mk('NEVER', templates, '/d');
  assert.equal((await call(`${never.url}/d`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' })).status, 415);
  assert.equal((await call(`${never.url}/d`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status, 200);
});

// ---------------------------------------------------------------------------------------------
// Mock

test('mock: statusCode from the request template selects the response; unparseable statusCode is a 500', async () => {
  const m = model('mock', {
    requestTemplates: { 'application/json': '{"statusCode": $input.params(\'code\')}' },
    responses: [resp('404', { selectionPattern: '404' }), resp('200', { responseTemplates: { 'application/json': '{"ok": true}' } })],
  });
  const h = await serve(build(m, 'GET', '/m/{code}'), '/m/{code}');
  const a = await call(`${h.url}/m/404`);
  assert.equal(a.status, 404);
  assert.equal(a.body, '');
  const b = await call(`${h.url}/m/200`);
  assert.equal(b.status, 200);
  assert.equal(b.body, '{"ok": true}');
  const c = await call(`${h.url}/m/abc`);
  assert.equal(c.status, 500);
  assert.equal(c.body, '{"message": "Internal server error"}');
});

test('test_integration_mock_with_path_param: `{statusCode: 200}` (unquoted key, recorded template) is accepted', async () => {
  assert.equal(mockStatus('{statusCode: 200}'), 200);
  assert.equal(mockStatus('{"statusCode": "201"}'), 201);
  assert.equal(mockStatus(''), undefined);
  const m = model('mock', {
    requestTemplates: { 'application/json': '{statusCode: 200}' },
    requestParameters: { 'integration.request.path.integrationPath': 'method.request.path.testPath' },
  });
  const h = await serve(build(m, 'GET', '/{testPath}'), '/{testPath}');
  assert.equal((await call(`${h.url}/abc`)).status, 200);
});

test('test_integration_mock_with_response_override_in_request_template [True] and [False] (recorded 444)', async () => {
  const request = '#set($context.responseOverride.status = 444)\n#set($context.responseOverride.header.foo = "bar")\n{"statusCode": 200}';
  const withTemplate = model('mock', {
    requestTemplates: { 'application/json': request },
    responses: [
      resp('200', {
        responseTemplates: {
          'application/json':
            '{"custom": "is also passed around", "fooHeader": "$context.responseOverride.header.foo", "statusOverride": "$context.responseOverride.status"}',
        },
      }),
    ],
  });
  const h1 = await serve(build(withTemplate, 'GET', '/t'), '/t');
  const r1 = await call(`${h1.url}/t`);
  assert.equal(r1.status, 444);
  assert.deepEqual(JSON.parse(r1.body), { custom: 'is also passed around', fooHeader: 'bar', statusOverride: '444' });
  assert.equal(r1.headers.foo, 'bar');
  const h2 = await serve(build(model('mock', { requestTemplates: { 'application/json': request } }), 'GET', '/f'), '/f');
  const r2 = await call(`${h2.url}/f`);
  assert.equal(r2.status, 444);
  assert.equal(r2.body, '');
});

test('test_integration_mock_with_request_overrides_in_response_template (recorded three answers)', async () => {
  const m = model('mock', {
    requestTemplates: { 'application/json': '#set($context.requestOverride.path.path = $input.params("path"))\n{"statusCode": 200}' },
    responses: [
      resp('200', {
        responseTemplates: {
          'application/json':
            '#set($p = $context.requestOverride.path.path)\n#if($p == "path1")path was path one#elseif($p == "path2")path was path two#{else}this is the else clause#end',
        },
      }),
    ],
  });
  const h = await serve(build(m, 'GET', '/{path}'), '/{path}');
  assert.equal((await call(`${h.url}/path1`)).body, 'path was path one');
  assert.equal((await call(`${h.url}/path2`)).body, 'path was path two');
  assert.equal((await call(`${h.url}/other`)).body, 'this is the else clause');
});

test('test_integration_mock_with_vtl_map_assignation (recorded body)', async () => {
  const tpl = [
    '#set($paramsMap = {})',
    '#set($paramsMap.foo = "bar")',
    '#set($dummy = $paramsMap.put("putFoo", "putBar"))',
    '#set($paramsMap.nested = {})',
    '#set($paramsMap.nested.foo = "nestedFoo")',
    '{"value": "$paramsMap.foo", "value2": "$paramsMap.get(\'putFoo\')", "value3": "$paramsMap.nested.foo"}',
  ].join('\n');
  const m = model('mock', {
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    responses: [resp('200', { responseTemplates: { 'application/json': tpl } })],
  });
  const h = await serve(build(m, 'GET', '/v'), '/v');
  const r = await call(`${h.url}/v`);
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), { value: 'bar', value2: 'putBar', value3: 'nestedFoo' });
});

test('response template choice: Accept first, then application/json', async () => {
  const m = model('mock', {
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    responses: [resp('200', { responseTemplates: { 'text/plain': 'plain', 'application/json': '{"j":1}' } })],
  });
  const h = await serve(build(m, 'GET', '/acc'), '/acc');
  assert.equal((await call(`${h.url}/acc`, { headers: { Accept: 'text/plain' } })).body, 'plain');
  assert.equal((await call(`${h.url}/acc`, { headers: { Accept: 'image/png' } })).body, '{"j":1}');
  assert.equal((await call(`${h.url}/acc`)).body, '{"j":1}');
});
