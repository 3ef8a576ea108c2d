// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${uri} is LocalStack's placeholder in the recorded PetStore document, not a template literal.
// Every recorded AWS behaviour in ../shared/aws-groundtruth (README.md there: LocalStack snapshots recorded
// against real AWS, powertools and SAM CLI sample events, AWS's PetStore document and mapping templates),
// visited one case at a time. A case is a snapshot test's recorded-content key, or a whole file for the
// other kinds. Each case is in exactly one of three lists:
//   CHECKED    checked here, against Turnpike served in process (createGateway().inject());
//   ELSEWHERE  checked by a named unit test (e.g. the event builder against a recorded event): this file
//              verifies that test names the case, so removing it fails here;
//   SKIPPED    not checkable yet, with the reason and the issue that will cover it (reviewed list).
// A case in none of them, or a list entry matching no case, fails the first test: nothing is silently unchecked.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { importAwsDocument, parseAwsSource } from '../../src/openapi/index.js';
import { GROUND_TRUTH, ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway, type RawAnswer } from '../helpers/inject.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

interface Case {
  /** `file :: test :: key` for snapshot keys, the file's path for whole files. */
  id: string;
  file: string;
  /** The snapshot test's short name (after the last `::`), for snapshot keys. */
  test?: string;
  key?: string;
  recorded: unknown;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

function allCases(): Case[] {
  const out: Case[] = [];
  for (const path of listFiles(GROUND_TRUTH).sort()) {
    const file = relative(GROUND_TRUTH, path);
    if (file === 'README.md') continue; // the sources table, not a recording
    if (file.endsWith('.snapshot.json')) {
      const snap = JSON.parse(readFileSync(path, 'utf8')) as Record<string, { 'recorded-content': Record<string, unknown> }>;
      for (const [name, entry] of Object.entries(snap)) {
        const test = name.split('::').pop() as string;
        for (const [key, recorded] of Object.entries(entry['recorded-content'])) out.push({ id: `${file} :: ${test} :: ${key}`, file, test, key, recorded });
      }
    } else out.push({ id: file, file, recorded: readFileSync(path, 'utf8') });
  }
  return out;
}

/** A case selector: a whole file, every key of a snapshot test, or some keys of it. */
interface Selector {
  file?: string;
  test?: string;
  keys?: RegExp;
  /** Keys of the test left to another list (its setup and management calls). */
  except?: RegExp;
}
const matches = (s: Selector, c: Case): boolean =>
  (s.file === undefined || s.file === c.file) &&
  (s.test === undefined || s.test === c.test) &&
  (s.keys === undefined || (c.key !== undefined && s.keys.test(c.key))) &&
  (s.except === undefined || c.key === undefined || !s.except.test(c.key));

/** Setup and management keys inside otherwise served tests (SKIPPED lists them). */
const NOT_SERVED = /^(api_id|apigw-id|register-lambda|deploy-1|change-request-path-names|revert-request-path-names|get-models-with-ref|put-|delete-integration|get-integration-after-delete)/;

// ---------------------------------------------------------------------------------------------
// SKIPPED: reviewed. Management API recordings are answers of the control plane (create/get/update/delete
// calls and their validation errors), which issue 13 builds; setup steps only carry generated ids.

const MANAGEMENT = 'a management API call (control-plane answer), not a served request';
const SETUP = 'a setup step: the recording holds only generated ids or the registered function';
const SKIPPED: (Selector & { reason: string; issue: string })[] = [
  { keys: /^(api_id|apigw-id|register-lambda)$/, reason: SETUP, issue: '13 (the management API returns these ids)' },
  { test: 'test_api_key_required_for_methods', reason: `${MANAGEMENT}: usage plans and keys created and updated`, issue: '13' },
  { test: 'test_usage_plan_crud', reason: MANAGEMENT, issue: '13' },
  { test: 'test_create_update_stages', reason: MANAGEMENT, issue: '13' },
  { test: 'test_documentation_parts_and_versions', reason: MANAGEMENT, issue: '13' },
  { test: 'test_create_delete_deployments[True]', reason: MANAGEMENT, issue: '13' },
  { test: 'test_create_delete_deployments[False]', reason: MANAGEMENT, issue: '13' },
  { test: 'test_create_update_deployments', reason: MANAGEMENT, issue: '13' },
  { test: 'test_update_stage_remove_wildcard', reason: MANAGEMENT, issue: '13' },
  { test: 'test_put_integration_responses', reason: MANAGEMENT, issue: '13' },
  { test: 'test_put_integration_response_with_response_template', reason: MANAGEMENT, issue: '13' },
  { test: 'test_put_integration_validation', reason: `${MANAGEMENT}: PutIntegration's validation errors`, issue: '13' },
  { test: 'test_put_integration_aws_proxy_uri', reason: `${MANAGEMENT}: PutIntegration's validation errors`, issue: '13' },
  { test: 'test_api_gateway_request_validator', keys: /^(deploy-1|change-request-path-names|revert-request-path-names)$/, reason: MANAGEMENT, issue: '13' },
  { test: 'test_api_gateway_request_validator_with_ref_models', keys: /^get-models-with-ref$/, reason: MANAGEMENT, issue: '13' },
  { test: 'test_api_gateway_request_validator_with_ref_one_ofmodels', keys: /^get-models-with-ref$/, reason: MANAGEMENT, issue: '13' },
  { test: 'test_lambda_aws_integration', keys: /^put-/, reason: MANAGEMENT, issue: '13' },
  { test: 'test_lambda_aws_integration_with_request_template', keys: /^(put-|delete-|get-)/, reason: MANAGEMENT, issue: '13' },
  {
    test: 'test_create_execute_api_vpc_endpoint',
    reason: 'an EC2 VPC endpoint and a private API created through the control planes; private endpoints are AWS networking',
    issue: 'none: out of scope (docs/aws-compatibility.md: endpoint types are AWS network settings)',
  },
  {
    test: 'test_http_proxy_integration_request_data_mappings',
    keys: /^http-proxy-invocation$/,
    // LocalStack's test source: HTTP_PROXY to `{echo}?testVar={pathVar}&testQs={qsVar}` on /{pathVariable},
    // integration.request.path.qsVar <- method.request.querystring.testVar among its requestParameters.
    reason:
      'a query string in the HTTP_PROXY URI template and integration path variables mapped from query-string sources: the http_proxy translation (src/aws/translate.ts) keeps only the URI path and maps path variables from method.request.path sources',
    issue: '12 (follow-up: HTTP_PROXY URI query templates)',
  },
];

// ---------------------------------------------------------------------------------------------
// ELSEWHERE: checked by a unit test that names the case (the case's snapshot test name, or for whole
// files an identical copy under test/fixtures that the named test reads).

const ELSEWHERE: (Selector & { by: string[] })[] = [
  { test: 'test_api_gateway_request_validator', except: NOT_SERVED, by: ['test/unit/aws-validation.test.ts'] },
  { test: 'test_api_gateway_request_validator_with_ref_models', except: NOT_SERVED, by: ['test/unit/aws-validation.test.ts'] },
  { test: 'test_api_gateway_request_validator_with_ref_one_ofmodels', except: NOT_SERVED, by: ['test/unit/aws-validation.test.ts'] },
  { test: 'test_input_path_template_formatting', except: NOT_SERVED, by: ['test/unit/templates-aws.test.ts'] },
  { test: 'test_input_body_formatting', except: NOT_SERVED, by: ['test/unit/templates-aws.test.ts'] },
  { test: 'test_http_integration_invoke_status_code_passthrough[HTTP]', except: NOT_SERVED, by: ['test/unit/aws-integration-http.test.ts'] },
  { test: 'test_http_integration_invoke_status_code_passthrough[HTTP_PROXY]', except: NOT_SERVED, by: ['test/unit/aws-integration-http.test.ts'] },
  { test: 'test_apigateway_header_remapping_http[HTTP]', except: NOT_SERVED, by: ['test/unit/aws-integration-http.test.ts'] },
  { test: 'test_apigateway_header_remapping_http[HTTP_PROXY]', except: NOT_SERVED, by: ['test/unit/aws-integration-http.test.ts'] },
  { test: 'test_apigateway_header_remapping_aws[AWS]', except: NOT_SERVED, by: ['test/unit/aws-gateway-responses.test.ts'] },
  { test: 'test_apigateway_header_remapping_aws[AWS_PROXY]', except: NOT_SERVED, by: ['test/unit/aws-gateway-responses.test.ts'] },
  { test: 'test_lambda_aws_proxy_integration', except: NOT_SERVED, by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/rest-event-cases.json'] },
  { test: 'test_lambda_aws_proxy_integration_request_data_mapping', except: NOT_SERVED, by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/rest-event-cases.json'] },
  { test: 'test_lambda_aws_integration', except: NOT_SERVED, by: ['test/unit/aws-integration-lambda-mock.test.ts'] },
  { test: 'test_lambda_aws_integration_with_request_template', except: NOT_SERVED, by: ['test/unit/aws-integration-lambda-mock.test.ts'] },
  { test: 'test_lambda_selection_patterns', except: NOT_SERVED, by: ['test/unit/aws-integration-lambda-mock.test.ts'] },
  { test: 'test_lambda_aws_integration_response_with_mapping_templates', except: NOT_SERVED, by: ['test/unit/aws-integration-lambda-mock.test.ts'] },
  { file: 'powertools/apigw-rest-no-auth.json', by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/aws/apigw-rest-no-auth.json'] },
  { file: 'powertools/apigw-http-no-auth.json', by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/aws/apigw-http-no-auth.json'] },
  { file: 'sam-cli/AwsProxy.json', by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/aws/AwsProxy.json'] },
  { file: 'sam-cli/HttpApi.json', by: ['test/unit/lambda-events.test.ts', 'test/fixtures/lambda/aws/HttpApi.json'] },
  { file: 'localstack/request-template.vm', by: ['test/unit/templates-aws.test.ts', 'test/fixtures/templates/request-template.vm'] },
  { file: 'localstack/response-template.vm', by: ['test/unit/templates-aws.test.ts', 'test/fixtures/templates/response-template.vm'] },
];

// ---------------------------------------------------------------------------------------------
// CHECKED here: Turnpike serving documents that reproduce each recorded setup.

const LAMBDA = (fn: string) => `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:111111111111:function:${fn}/invocations`;
const json = (v: unknown) => JSON.stringify(v);
const mock = (extra: Record<string, unknown> = {}) => ({ type: 'mock', requestTemplates: { 'application/json': '{"statusCode": 200}' }, ...extra });
/** The integration response every LocalStack setup adds (status 200, no template). */
const DEFAULT_200 = { default: { statusCode: '200' } };
const respond = (template: string) => ({ default: { statusCode: '200', responseTemplates: { 'application/json': template } } });
const DOCUMENT = {
  openapi: '3.0.1',
  info: { title: 'groundtruth', version: '1' },
  paths: {
    '/lambda-from-body': { post: { 'x-amazon-apigateway-integration': { type: 'aws_proxy', httpMethod: 'POST', uri: LAMBDA('fromBody') } } },
    // LocalStack's setup: ANY on a resource, AWS_PROXY with integrationHttpMethod GET ("GET is not allowed").
    '/get-proxy': { 'x-amazon-apigateway-any-method': { 'x-amazon-apigateway-integration': { type: 'aws_proxy', httpMethod: 'GET', uri: LAMBDA('fromBody') } } },
    '/exists': { get: { 'x-amazon-apigateway-integration': mock({ responses: respond('{"message": "exists"}') }) } },
    '/trace-mock': { get: { 'x-amazon-apigateway-integration': mock({ responses: DEFAULT_200 }) } },
    '/trace-proxy': { get: { 'x-amazon-apigateway-integration': { type: 'aws_proxy', httpMethod: 'POST', uri: LAMBDA('hello') } } },
    '/override-t': {
      get: {
        'x-amazon-apigateway-integration': mock({
          requestTemplates: { 'application/json': '#set($context.responseOverride.status = 444)\n#set($context.responseOverride.header.foo = "bar")\n{"statusCode": 200}' },
          responses: respond('{"custom": "is also passed around", "fooHeader": "$context.responseOverride.header.foo", "statusOverride": "$context.responseOverride.status"}'),
        }),
      },
    },
    '/override-f': {
      get: {
        'x-amazon-apigateway-integration': mock({
          requestTemplates: { 'application/json': '#set($context.responseOverride.status = 444)\n#set($context.responseOverride.header.foo = "bar")\n{"statusCode": 200}' },
          responses: DEFAULT_200,
        }),
      },
    },
    '/ro/{path}': {
      get: {
        parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' } }],
        'x-amazon-apigateway-integration': mock({
          requestTemplates: { 'application/json': '#set($context.requestOverride.path.path = $input.params("path"))\n{"statusCode": 200}' },
          responses: respond('#set($p = $context.requestOverride.path.path)\n#if($p == "path1")path was path one#elseif($p == "path2")path was path two#{else}this is the else clause#end'),
        }),
      },
    },
    '/mp/{testPath}': {
      get: {
        parameters: [{ name: 'testPath', in: 'path', required: true, schema: { type: 'string' } }],
        // The recorded integration, as PutIntegration stored it.
        'x-amazon-apigateway-integration': {
          type: 'mock',
          passthroughBehavior: 'when_no_match',
          requestParameters: { 'integration.request.path.integrationPath': 'method.request.path.testPath' },
          requestTemplates: { 'application/json': '{statusCode: 200}' },
          timeoutInMillis: 29000,
          responses: DEFAULT_200,
        },
      },
    },
    '/vtl': {
      get: {
        'x-amazon-apigateway-integration': mock({
          responses: respond(
            [
              '#set($paramsMap = {})',
              '#set($paramsMap.foo = "bar")',
              '#set($dummy = $paramsMap.put("putFoo", "putBar"))',
              '#set($paramsMap.nested = {})',
              '#set($paramsMap.nested.foo = "nestedFoo")',
              '{"value": "$paramsMap.foo", "value2": "$paramsMap.get(\'putFoo\')", "value3": "$paramsMap.nested.foo"}',
            ].join('\n'),
          ),
        }),
      },
    },
    '/http-lambda': { post: { 'x-amazon-apigateway-integration': { type: 'http', httpMethod: 'POST', uri: 'http://backend.example/', responses: DEFAULT_200 } } },
    '/http-proxy-lambda': { post: { 'x-amazon-apigateway-integration': { type: 'http_proxy', httpMethod: 'POST', uri: 'http://backend.example/' } } },
    '/http-method': { 'x-amazon-apigateway-any-method': { 'x-amazon-apigateway-integration': { type: 'http', httpMethod: 'POST', uri: 'http://backend.example/', responses: DEFAULT_200 } } },
    '/http-proxy-method': { 'x-amazon-apigateway-any-method': { 'x-amazon-apigateway-integration': { type: 'http_proxy', httpMethod: 'POST', uri: 'http://backend.example/' } } },
  },
};

let gw: InjectedGateway;
let backend: Upstream;
let petstore: InjectedGateway;

before(async () => {
  backend = await startUpstream();
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-groundtruth-'));
  cpSync(join(ROOT, 'test/fixtures/aws-documents/functions'), join(dir, 'functions'), { recursive: true });
  writeFileSync(join(dir, 'groundtruth.json'), json(DOCUMENT));
  gw = await injectGateway(
    `apis:\n  - name: gtapi\n    openapi: groundtruth.json\n    endpointOverrides: { "http://backend.example": "${backend.url}" }\n    stages:\n      test: {}\n`,
    { dir },
  );
  // AWS's PetStore document with its ${uri} placeholder filled in, as LocalStack's test fills it before importing.
  const pets = mkdtempSync(join(tmpdir(), 'turnpike-groundtruth-'));
  writeFileSync(join(pets, 'petstore.json'), readFileSync(join(GROUND_TRUTH, 'localstack/petstore-swagger.json'), 'utf8').replaceAll('${uri}', 'http://backend.example/petstore/pets'));
  petstore = await injectGateway(`apis:\n  - name: petstore\n    openapi: petstore.json\n    endpointOverrides: { "http://backend.example": "${backend.url}" }\n    stages:\n      dev: {}\n`, { dir: pets });
});
after(async () => {
  await Promise.all([gw?.close(), petstore?.close()]);
  await backend?.close();
});

const send = (method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> =>
  gw.send({ method, target: `/test${target}`, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body });

/** Header value as a client sees it: repeated lines joined with ', ' (as recorded through CloudFront). */
const header = (a: RawAnswer, name: string): string | undefined => {
  const v = a.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
};
/** What CloudFront and API Gateway's front add to every answer: not Turnpike's to reproduce. */
const EDGE_HEADERS = new Set(['connection', 'date', 'via', 'x-amz-cf-id', 'x-amz-cf-pop', 'x-amzn-trace-id', 'x-cache', 'x-amz-apigw-id', 'x-amzn-requestid']);
/** What a Lambda function URL's front adds to the request (the recorded backend is one): not API Gateway's. */
const FUNCTION_URL_HEADERS = /^(x-amzn-tls-|x-forwarded-)/;

const responseCases = (JSON.parse(readFileSync(join(ROOT, 'test/fixtures/lambda/response-cases.json'), 'utf8')) as { rest: { name: string; status: number; result?: unknown; threw?: boolean }[] }).rest;

type Check = (c: Case) => Promise<void>;
const CHECKED: (Selector & { check: Check })[] = [
  {
    test: 'test_aws_proxy_response_payload_format_validation',
    // What the handler returned: test/fixtures/lambda/response-cases.json (from LocalStack's test source).
    async check(c) {
      const sent = responseCases.find((r) => r.name === c.key);
      assert.ok(sent, `response-cases.json has no request for ${c.key}`);
      const a = await send('POST', '/lambda-from-body', {}, sent.threw ? '' : json(sent.result));
      assert.equal(a.status, sent.status);
      const rec = c.recorded as { content: unknown; headers?: Record<string, string> };
      if (typeof rec.content === 'string') assert.equal(a.body, rec.content);
      else assert.deepEqual(JSON.parse(a.body), rec.content);
      for (const [name, value] of Object.entries(rec.headers ?? {})) {
        if (EDGE_HEADERS.has(name.toLowerCase())) continue;
        assert.equal(header(a, name), value, `header ${name}`);
      }
    },
  },
  {
    test: 'test_routing_not_found',
    async check(c) {
      if (c.key === 'working-route') {
        const rec = c.recorded as { message: string; statusCode: number };
        const a = await send('GET', '/exists');
        assert.equal(a.status, rec.statusCode);
        assert.equal((JSON.parse(a.body) as { message: string }).message, rec.message);
        return;
      }
      const rec = c.recorded as { content: unknown; errorType: string };
      const a = c.key === 'not-found' ? await send('GET', '/does-not-exist') : await send('POST', '/exists', {}, '{}');
      assert.equal(a.status, 403);
      assert.deepEqual(JSON.parse(a.body), rec.content);
      assert.equal(header(a, 'x-amzn-ErrorType'), rec.errorType);
    },
  },
  {
    test: 'test_invocation_trace_id',
    keys: /req-headers/,
    // The answer's headers: a MOCK answer carries no X-Amzn-Trace-Id, an AWS_PROXY answer does; both JSON with a request id.
    async check(c) {
      const rec = c.recorded as Record<string, string>;
      const traced = c.key?.startsWith('trace-id') === true;
      const a = await send('GET', c.key?.endsWith('MOCK') ? '/trace-mock' : '/trace-proxy', traced ? { 'X-Amzn-Trace-Id': 'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1' } : {});
      assert.equal(a.status, 200);
      assert.equal(header(a, 'content-type'), rec['content-type']);
      assert.equal(a.headers['x-amzn-requestid'] !== undefined, 'x-amzn-requestid' in rec, 'x-amzn-requestid');
      assert.equal(a.headers['x-amzn-trace-id'] !== undefined, 'x-amzn-trace-id' in rec, 'x-amzn-trace-id');
    },
  },
  {
    test: 'test_lambda_aws_proxy_integration_non_post_method',
    async check(c) {
      const a = await send('GET', '/get-proxy', { 'User-Agent': 'python-requests/testing' });
      assert.equal(a.status, 500);
      assert.deepEqual(JSON.parse(a.body), c.recorded);
    },
  },
  {
    test: 'test_integration_mock_with_response_override_in_request_template[True]',
    async check(c) {
      const rec = c.recorded as { body: unknown; status_code: number };
      const a = await send('GET', '/override-t');
      assert.equal(a.status, rec.status_code);
      assert.deepEqual(JSON.parse(a.body), rec.body);
      assert.equal(header(a, 'foo'), 'bar');
    },
  },
  {
    test: 'test_integration_mock_with_response_override_in_request_template[False]',
    async check(c) {
      const rec = c.recorded as { body: string; status_code: number };
      const a = await send('GET', '/override-f');
      assert.equal(a.status, rec.status_code);
      assert.equal(`b'${a.body}'`, rec.body);
    },
  },
  {
    test: 'test_integration_mock_with_request_overrides_in_response_template',
    async check(c) {
      const path = { 'invoke-path1': 'path1', 'invoke-path2': 'path2', 'invoke-path-else': 'other' }[c.key as string];
      const a = await send('GET', `/ro/${path}`);
      assert.equal(a.status, 200);
      assert.equal(a.body, (c.recorded as { response: string }).response);
    },
  },
  {
    test: 'test_integration_mock_with_path_param',
    // The recording is the integration PutIntegration stored: served as recorded, it answers.
    async check(c) {
      const rec = c.recorded as { requestTemplates: Record<string, string>; requestParameters: Record<string, string> };
      const op = DOCUMENT.paths['/mp/{testPath}'].get['x-amazon-apigateway-integration'];
      assert.deepEqual([op.requestTemplates, op.requestParameters], [rec.requestTemplates, rec.requestParameters]);
      assert.equal((await send('GET', '/mp/abc')).status, 200);
    },
  },
  {
    test: 'test_integration_mock_with_vtl_map_assignation',
    async check(c) {
      const rec = c.recorded as { body: unknown; status_code: number };
      const a = await send('GET', '/vtl');
      assert.equal(a.status, rec.status_code);
      assert.deepEqual(JSON.parse(a.body), rec.body);
    },
  },
  ...(['HTTP', 'HTTP_PROXY'] as const).map((kind) => ({
    test: `test_http_integration_with_lambda[${kind}]`,
    keys: /^http-invocation-lambda-url$/,
    // What the backend (a function URL echoing the request) saw: method, path, body and API Gateway's headers.
    async check(c: Case) {
      const rec = (c.recorded as { content: { method: string; path: string; data: unknown; headers: Record<string, string> } }).content;
      const a = await send('POST', kind === 'HTTP' ? '/http-lambda' : '/http-proxy-lambda', { Accept: 'application/xml', 'User-Agent': 'test/integration', 'Accept-Encoding': 'gzip, deflate' }, json({ message: 'hello world' }).replace(':', ': '));
      assert.equal(a.status, 200);
      const seen = backend.seen.at(-1);
      assert.ok(seen);
      assert.equal(seen.method, rec.method);
      assert.equal(new URL(seen.url, 'http://x').pathname, rec.path);
      assert.deepEqual(JSON.parse(seen.body), rec.data);
      const expected = Object.keys(rec.headers).filter((h) => !FUNCTION_URL_HEADERS.test(h));
      assert.deepEqual(expected.filter((h) => seen.headers[h] === undefined), [], 'headers the backend should have seen');
      for (const h of ['accept', 'content-length', 'content-type']) assert.equal(seen.headers[h], rec.headers[h], h);
      if (kind === 'HTTP_PROXY') assert.equal(seen.headers['user-agent'], rec.headers['user-agent']);
      else assert.match(seen.headers['user-agent'] as string, /^AmazonAPIGateway_/);
    },
  })),
  ...(['HTTP', 'HTTP_PROXY'] as const).map((kind) => ({
    test: `test_http_integration_method[${kind}]`,
    keys: /^http-invocation-lambda-url-/,
    // An ANY method with a POST integration. LocalStack's loop names its keys post/put/get but sends POST
    // every time (its test source: `method="POST"`), so each key is a POST.
    async check(c: Case) {
      const rec = c.recorded as { method: string; data: unknown; headers: Record<string, string> };
      const a = await send('POST', kind === 'HTTP' ? '/http-method' : '/http-proxy-method', { Accept: 'application/json', 'User-Agent': 'test/integration', 'Accept-Encoding': 'gzip, deflate' }, json({ message: 'hello world' }).replace(':', ': '));
      assert.equal(a.status, 200);
      const seen = backend.seen.at(-1);
      assert.ok(seen);
      assert.equal(seen.method, rec.method);
      assert.deepEqual(JSON.parse(seen.body), rec.data);
      assert.deepEqual(Object.keys(rec.headers).filter((h) => seen.headers[h] === undefined), []);
    },
  })),
  {
    file: 'localstack/petstore-swagger.json',
    // It imports as written; served, its mock CORS method answers with the mapped headers and GET /pets
    // reaches the backend with the mapped query string.
    async check(c) {
      const imported = importAwsDocument(parseAwsSource(c.recorded as string, 'petstore-swagger.json'));
      assert.deepEqual(imported.diagnostics.filter((d) => d.severity === 'error'), []);
      const a = await petstore.send({ method: 'OPTIONS', target: '/dev/pets', headers: {} });
      assert.equal(a.status, 200);
      assert.equal(a.headers['access-control-allow-origin'], '*');
      const list = await petstore.send({ method: 'GET', target: '/dev/pets?type=dog&page=2', headers: {} });
      assert.equal(list.status, 200);
      const seen = backend.seen.at(-1);
      assert.equal(seen?.method, 'GET');
      const url = new URL(seen?.url ?? '', 'http://x');
      assert.equal(url.pathname, '/petstore/pets');
      assert.deepEqual([...url.searchParams].sort(), [
        ['page', '2'],
        ['type', 'dog'],
      ]);
    },
  },
];

// ---------------------------------------------------------------------------------------------

const cases = allCases();

describe('AWS ground truth: every recorded case', () => {
  it('is checked here, checked elsewhere or skipped with a reason and an issue, exactly once; no list entry is stale', () => {
    assert.ok(cases.length > 200, `only ${cases.length} cases found under ${GROUND_TRUTH}`);
    const problems: string[] = [];
    for (const c of cases) {
      const n = [CHECKED, ELSEWHERE, SKIPPED].reduce((sum, list) => sum + (list as Selector[]).filter((s) => matches(s, c)).length, 0);
      if (n === 0) problems.push(`unchecked: ${c.id}`);
      if (n > 1) problems.push(`listed ${n} times: ${c.id}`);
    }
    for (const s of [...CHECKED, ...ELSEWHERE, ...SKIPPED] as Selector[]) if (!cases.some((c) => matches(s, c))) problems.push(`stale entry: ${json(s)}`);
    for (const s of SKIPPED) if (s.reason.trim() === '' || s.issue.trim() === '') problems.push(`skip without reason or issue: ${json(s)}`);
    assert.deepEqual(problems, []);
  });

  describe('checked elsewhere: the named test names the case', () => {
    for (const s of ELSEWHERE) {
      it(`${s.file ?? s.test} -> ${s.by.join(', ')}`, () => {
        for (const f of s.by) assert.ok(existsSync(join(ROOT, f)), `${f} is missing`);
        const text = s.by.map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
        if (s.test !== undefined) assert.ok(text.includes(s.test.replace(/\[.*$/, '')), `${s.by.join(', ')} never names ${s.test}`);
        if (s.file !== undefined) {
          // The fixture copy the unit test reads is the recorded file, byte for byte.
          const copy = s.by.find((f) => f.startsWith('test/fixtures/'));
          assert.ok(copy, 'a whole-file case names its fixture copy');
          assert.equal(readFileSync(join(ROOT, copy), 'utf8'), readFileSync(join(GROUND_TRUTH, s.file), 'utf8'));
          const name = copy.split('/').pop() as string;
          assert.ok(text.split('\n').some((l) => !l.startsWith('{') && l.includes(name)), `${s.by[0]} never reads ${name}`);
        }
      });
    }
  });

  describe('checked here, through inject()', () => {
    for (const c of cases) {
      const entry = CHECKED.find((s) => matches(s, c));
      if (entry !== undefined) it(c.id, () => entry.check(c));
    }
  });
});
