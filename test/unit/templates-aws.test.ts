// Reproduces outputs recorded against real AWS API Gateway
// (/work/shared/aws-groundtruth/localstack/*.snapshot.json, LocalStack's
// AWS-validated snapshots). The recorded value is asserted byte for byte; the
// inputs (template, body) are reconstructed from the test and snapshot key
// names where the test source was not available (see docs/mapping-templates.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileTemplate, type TemplateRequest, type TemplateVariables } from '../../src/templates/index.js';
import { GROUND_TRUTH, ROOT } from '../helpers/gateway.js';

const FIX = join(ROOT, 'test', 'fixtures', 'templates');
const GROUND = `${GROUND_TRUTH}/localstack`;

function req(body: string, extra: Partial<TemplateRequest> = {}): TemplateRequest {
  return { body, path: {}, querystring: {}, header: {}, ...extra };
}
function vars(context: Record<string, unknown> = {}): TemplateVariables {
  return { context: { stage: 'dev', requestId: 'req-1', ...context }, stageVariables: {} };
}
function render(src: string, body: string, extra: Partial<TemplateRequest> = {}, ctx: Record<string, unknown> = {}) {
  return compileTemplate(src).render(req(body, extra), vars(ctx));
}

function recorded(file: string, testName: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(join(GROUND, file), 'utf8');
  } catch {
    return {};
  }
  const all = JSON.parse(text) as Record<string, { 'recorded-content': Record<string, unknown> }>;
  const key = Object.keys(all).find((k) => k.endsWith(`::${testName}`));
  return key ? all[key]!['recorded-content'] : {};
}

// Values copied from test_apigateway_common.snapshot.json so the test runs without the shared folder;
// a second assertion checks them against the file when it is present.
const PATH_FORMATTING: Array<[key: string, template: string, body: string, expected: string]> = [
  ['dict-response', "$input.path('$')", '{"foo": "bar"}', '{foo=bar}'],
  ['json-list', "$input.path('$')", '[{"foo": "bar"}]', '[{"foo":"bar"}]'],
  ['nested-dict', "$input.path('$.nested')", '{"nested": {"foo": "bar"}}', '{foo=bar}'],
  ['nested-list', "$input.path('$.nested')", '{"nested": [{"foo": "bar"}]}', '[{"foo":"bar"}]'],
  ['dict-in-list', "$input.path('$[0]')", '[{"foo": "bar"}]', '{foo=bar}'],
  ['list-with-nested-list', "$input.path('$[0]')", '[[{"foo": "bar"}]]', '[{"foo":"bar"}]'],
  ['dict-with-nested-list', "$input.path('$')", '{"foo": [{"nested": "bar"}]}', '{foo=[{"nested":"bar"}]}'],
  ['bigger-dict', "$input.path('$')", '{"bigger": "dict", "to": "test", "with": "separators"}', '{bigger=dict, to=test, with=separators}'],
  ['to-string', "$input.path('$').toString()", '{"foo": "bar"}', '{foo=bar}'],
  ['list-to-string', "$input.path('$').toString()", '{"list": [{"foo": "bar"}]}', '{list=[{"foo":"bar"}]}'],
];

const NULL_CHECK =
  '#set($body = $input.path(\'$\'))\n{"body": $body, "nested": $input.path(\'$.nested\'), "isNull": "#if($body == $null)true#{else}false#end", "isEmptyString": "#if("$body" == "")true#{else}false#end"}';
const NULL_CASES: Array<[key: string, body: string, expected: string]> = [
  ['empty-body', '', '{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}'],
  ['nested-empty-list', '[]', '{"body": [], "nested": , "isNull": "false", "isEmptyString": "false"}'],
  ['nested-null-list', 'null', '{"body": , "nested": , "isNull": "true", "isEmptyString": "true"}'],
];

test('test_input_path_template_formatting: $input.path prints maps the Java way and lists as JSON', () => {
  const rec = recorded('test_apigateway_common.snapshot.json', 'test_input_path_template_formatting');
  for (const [key, template, body, expected] of PATH_FORMATTING) {
    assert.equal(render(template, body).output, expected, key);
    if (key in rec) assert.equal(expected, rec[key], `fixture drifted from snapshot: ${key}`);
  }
  for (const [key, body, expected] of NULL_CASES) {
    assert.equal(render(NULL_CHECK, body).output, expected, key);
    if (key in rec) assert.equal(expected, rec[key], `fixture drifted from snapshot: ${key}`);
  }
});

test('test_input_body_formatting: $input.body, empty body as {}, urlEncode of body and of a missing attribute', () => {
  const rec = recorded('test_apigateway_common.snapshot.json', 'test_input_body_formatting') as Record<string, Record<string, string>>;
  const bodies: Record<string, string> = { 'empty-body': '', 'json-body': '{"some": "value"}', 'str-body': 'some raw data' };
  const raw = compileTemplate('$input.body');
  const sqs = compileTemplate('Action=SendMessage&MessageBody=$input.body');
  const attr = compileTemplate('$input.body.some');
  const enc = compileTemplate('EncodedBody=$util.urlEncode($input.body)&EncodedBodyAccess=$util.urlEncode($input.body.some)');
  const expected: Record<string, Record<string, string>> = {
    'response-raw-body': { 'empty-body': "b'{}'", 'json-body': 'b\'{"some": "value"}\'', 'str-body': "b'some raw data'" },
    'response-str-body-input': {
      'empty-body': "b'Action=SendMessage&MessageBody={}'",
      'json-body': 'b\'Action=SendMessage&MessageBody={"some": "value"}\'',
      'str-body': "b'Action=SendMessage&MessageBody=some raw data'",
    },
    'response-str-body-all': {
      'empty-body': "b'Action=SendMessage&MessageBody=Action=SendMessage&MessageBody={}'",
      'json-body': 'b\'Action=SendMessage&MessageBody=Action=SendMessage&MessageBody={"some": "value"}\'',
      'str-body': "b'Action=SendMessage&MessageBody=Action=SendMessage&MessageBody=some raw data'",
    },
    'response-body-attr-access': { 'empty-body': "b'{}'", 'json-body': "b'{}'", 'str-body': "b'{}'" },
    'response-url-encode': {
      'empty-body': "b'EncodedBody=%7B%7D&EncodedBodyAccess='",
      'json-body': "b'EncodedBody=%7B%22some%22%3A+%22value%22%7D&EncodedBodyAccess='",
      'str-body': "b'EncodedBody=some+raw+data&EncodedBodyAccess='",
    },
  };
  const py = (s: string) => `b'${s}'`;
  for (const [name, body] of Object.entries(bodies)) {
    const got: Record<string, string> = {};
    got['response-raw-body'] = py(raw.render(req(body), vars()).output);
    got['response-str-body-input'] = py(sqs.render(req(body), vars()).output);
    // request template on the way in, response template on the way out (echo integration)
    const once = sqs.render(req(body), vars()).output;
    got['response-str-body-all'] = py(sqs.render(req(once), vars()).output);
    // `$input.body` is a String: `.some` is null and renders empty; echoed back, an empty body reads as {}
    const attrOut = attr.render(req(body), vars()).output;
    assert.equal(attrOut, '', `${name}: $input.body.some renders empty`);
    got['response-body-attr-access'] = py(raw.render(req(attrOut), vars()).output);
    got['response-url-encode'] = py(enc.render(req(body), vars()).output);
    for (const key of Object.keys(expected)) {
      assert.equal(got[key], expected[key]![name], `${key}/${name}`);
      if (rec[key]) assert.equal(expected[key]![name], rec[key]![name], `fixture drifted: ${key}/${name}`);
    }
  }
  // response-str-body-output: the same template as a response template gives the same bytes
  assert.equal(py(sqs.render(req('{"some": "value"}'), vars()).output), expected['response-str-body-input']!['json-body']);
});

test('test_lambda_aws_integration_with_request_template: $input.params(name) reads the query string', () => {
  const t = compileTemplate(JSON.stringify({ param1: "$input.params('param1')" }));
  const out = t.render(req('', { querystring: { param1: 'foobar' } }), vars()).output;
  assert.deepEqual(JSON.parse(out), { param1: 'foobar' });
  const rec = recorded('test_apigateway_lambda.snapshot.json', 'test_lambda_aws_integration_with_request_template');
  if (rec['lambda-aws-integration-1']) assert.deepEqual(JSON.parse(out), rec['lambda-aws-integration-1']);
});

test('test_lambda_aws_integration_response_with_mapping_templates: response-template.vm sets the status', () => {
  const t = compileTemplate(readFileSync(join(FIX, 'response-template.vm'), 'utf8'), 'response-template.vm');
  const rec = recorded('test_apigateway_lambda.snapshot.json', 'test_lambda_aws_integration_response_with_mapping_templates') as Record<
    string,
    { body: unknown; statusCode: number }
  >;
  const cases: Array<[string, string, { body: unknown; statusCode: number }]> = [
    ['response-template-202', '{"statusCode": 200, "body": "noerror"}', { body: { body: 'noerror', statusCode: 200 }, statusCode: 202 }],
    ['response-template-400', '{"statusCode": 200, "body": "customerror"}', { body: { body: 'customerror', statusCode: 200 }, statusCode: 400 }],
  ];
  for (const [key, lambdaResult, want] of cases) {
    const r = t.render(req(lambdaResult), vars());
    assert.deepEqual({ body: JSON.parse(r.output), statusCode: r.overrides.status }, want, key);
    assert.equal(r.overrides.response.status, want.statusCode);
    if (rec[key]) assert.deepEqual(want, rec[key]);
  }
});

test('test_integration_mock_with_response_override_in_request_template: status 444 set in the request template reaches the response', () => {
  const request = compileTemplate('#set($context.responseOverride.status = 444)\n#set($context.responseOverride.header.foo = "bar")\n{"statusCode": 200}');
  const response = compileTemplate(
    '{"custom": "is also passed around", "fooHeader": "$context.responseOverride.header.foo", "statusOverride": "$context.responseOverride.status"}',
  );
  const r1 = request.render(req(''), vars());
  assert.equal(r1.overrides.status, 444);
  assert.deepEqual(r1.overrides.response.header, { foo: 'bar' });
  // the gateway hands the request template's overrides to the response template through $context
  const r2 = response.render(req('{"statusCode": 200}'), vars({ responseOverride: { status: r1.overrides.status, header: r1.overrides.response.header } }));
  const want = { custom: 'is also passed around', fooHeader: 'bar', statusOverride: '444' };
  assert.deepEqual(JSON.parse(r2.output), want);
  assert.equal(r2.overrides.status, 444);
  const rec = recorded('test_apigateway_integrations.snapshot.json', 'test_integration_mock_with_response_override_in_request_template[True]') as {
    response?: { body: unknown; status_code: number };
  };
  if (rec.response) assert.deepEqual({ body: want, status_code: 444 }, rec.response);
});

test('test_integration_mock_with_request_overrides_in_response_template: requestOverride.path is readable later', () => {
  const request = compileTemplate('#set($context.requestOverride.path.path = $input.params("path"))\n{"statusCode": 200}');
  const response = compileTemplate(
    '#set($p = $context.requestOverride.path.path)\n#if($p == "path1")path was path one#elseif($p == "path2")path was path two#{else}this is the else clause#end',
  );
  const run = (path: string) => {
    const r1 = request.render(req('', { path: { path } }), vars());
    return response.render(req(''), vars({ requestOverride: { path: r1.overrides.path } })).output;
  };
  assert.equal(run('path1'), 'path was path one');
  assert.equal(run('path2'), 'path was path two');
  assert.equal(run('other'), 'this is the else clause');
});

test('test_integration_mock_with_vtl_map_assignation: #set into a map, put(), nested maps', () => {
  const t = compileTemplate(
    [
      '#set($paramsMap = {})',
      '#set($paramsMap.foo = "bar")',
      '#set($dummy = $paramsMap.put("putFoo", "putBar"))',
      '#set($paramsMap.nested = {})',
      '#set($paramsMap.nested.foo = "nestedFoo")',
      '{"value": "$paramsMap.foo", "value2": "$paramsMap.get(\'putFoo\')", "value3": "$paramsMap.nested.foo"}',
    ].join('\n'),
  );
  const out = JSON.parse(t.render(req(''), vars()).output);
  const want = { value: 'bar', value2: 'putBar', value3: 'nestedFoo' };
  assert.deepEqual(out, want);
  const rec = recorded('test_apigateway_integrations.snapshot.json', 'test_integration_mock_with_vtl_map_assignation') as { response?: { body: unknown } };
  if (rec.response) assert.deepEqual(want, rec.response.body);
});

test('request-template.vm: the all-parameters template renders valid JSON', () => {
  const t = compileTemplate(readFileSync(join(FIX, 'request-template.vm'), 'utf8'), 'request-template.vm');
  const r = t.render(
    req('{"a": [1, 2.50], "s": "x\'y"}', {
      path: { id: '42' },
      querystring: { q: "it's", n: '1' },
      header: { 'Content-Type': 'application/json', 'X-Quote': 'say "hi"' },
    }),
    vars({ apiId: 'api1', httpMethod: 'POST', path: '/dev/items/42', protocol: 'HTTP/1.1', identity: { sourceIp: '192.0.2.1', userAgent: 'ua' } }),
  );
  // escapeJavaScript turns ' into \' which is not valid JSON (AWS documents this); a JSON client must undo it
  const parsed = JSON.parse(r.output.replace(/\\'/g, "'")) as Record<string, Record<string, unknown>>;
  assert.deepEqual(parsed.apiContext, {
    apiId: 'api1',
    method: 'POST',
    sourceIp: '192.0.2.1',
    userAgent: 'ua',
    path: '/dev/items/42',
    protocol: 'HTTP/1.1',
    requestId: 'req-1',
    stage: 'dev',
  });
  assert.deepEqual(parsed.path, { parameterMap: { id: '42' } });
  assert.deepEqual(parsed.querystring, { parameterMap: { q: "it's", n: '1' } });
  assert.deepEqual(parsed.header, { parameterMap: { 'Content-Type': 'application/json', 'X-Quote': 'say "hi"' } });
  assert.match(r.output, /"q": "it\\'s"/);
  // numbers keep their source text through $input.json
  assert.match(r.output, /"body": \{"a":\[1,2\.50\],"s":"x'y"\}/);
});
