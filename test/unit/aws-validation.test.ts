// Request validation for AWS REST API documents: the AWS validators translated (src/aws/request-validation.ts)
// into the request-validation plugin's validator (src/plugins/request-validation/validator.ts).
// The "recorded" tests replay the requests of LocalStack's AWS-validated tests
// (tests/aws/services/apigateway/test_apigateway_common.py) against the answers AWS gave, kept in
// aws-groundtruth/localstack/test_apigateway_common.snapshot.json (excerpt: test/fixtures/aws-validation/recorded-answers.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { requestValidationConfig } from '../../src/aws/request-validation.js';
import {
  compileRequestValidator as compileSpec,
  RequestValidatorCompileError,
  type RequestToValidate,
  type RequestValidator,
  ValidatorStates,
} from '../../src/plugins/request-validation/validator.js';
import { type AwsApiModel, type AwsRoute, importAwsDocument, parseAwsSource } from '../../src/openapi/index.js';

const dir = join(process.cwd(), 'test/fixtures/aws-validation');

/**
 * What serving a route does: the AWS validator as plugin config, compiled. The results are compared
 * without `details` (validationErrorString, tested on its own below).
 */
const STATES = new ValidatorStates(); // one config version's
function compileRequestValidator(r: AwsRoute, model: AwsApiModel): RequestValidator | undefined {
  const c = requestValidationConfig(r, model);
  const v = c === undefined ? undefined : compileSpec(c, STATES);
  if (v === undefined) return undefined;
  return {
    readsBody: v.readsBody,
    validate(req) {
      const out = v.validate(req);
      if (out.ok) return out;
      const { details: _d, ...rest } = out;
      return rest as typeof out;
    },
  };
}

function load(name: string): AwsApiModel {
  const r = importAwsDocument(parseAwsSource(readFileSync(join(dir, name), 'utf8'), name));
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], `${name} imports without errors`);
  return r.model;
}

function route(model: AwsApiModel, method: string, path: string): AwsRoute {
  const r = model.routes.find((x) => x.method === method && x.path === path);
  assert.ok(r, `${method} ${path} in the fixture`);
  return r;
}

function validator(model: AwsApiModel, method: string, path: string): RequestValidator {
  const v = compileRequestValidator(route(model, method, path), model);
  assert.ok(v, `${method} ${path} has a validator`);
  return v;
}

interface Req {
  body?: string | Buffer;
  /** Sets the Content-Type header the way an HTTP client would. */
  json?: unknown;
  contentType?: string;
  headers?: Record<string, string | string[]>;
  query?: string;
  path?: Record<string, string>;
}

function req(r: Req = {}): RequestToValidate {
  let body: Buffer | undefined = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
  let contentType = r.contentType;
  if (r.json !== undefined) {
    body = Buffer.from(JSON.stringify(r.json));
    contentType ??= 'application/json';
  }
  const headers: Record<string, string | string[]> = { ...(r.headers ?? {}) };
  if (contentType !== undefined) headers['content-type'] = contentType;
  return { body, contentType, headers, query: new URLSearchParams(r.query ?? ''), pathParams: r.path ?? {} };
}

/** What the gateway answers: status and the JSON body AWS's default gateway response carries. */
function answer(v: RequestValidator, r: RequestToValidate): { status: number; body?: { message: string }; kind?: string } {
  const res = v.validate(r);
  return res.ok ? { status: 200 } : { status: 400, body: { message: res.message }, kind: res.kind };
}

// An excerpt of the LocalStack snapshot (the AWS answers), kept beside the fixtures.
const snapshot = JSON.parse(readFileSync(join(dir, 'recorded-answers.json'), 'utf8')) as Record<string, { 'recorded-content': Record<string, unknown> }>;
/** A recorded AWS answer body; the literal the test spells out must equal it. */
function recorded(testName: string, key: string, fallback: { message: string }): { message: string } {
  const entry = Object.entries(snapshot).find(([k]) => k.endsWith(`::${testName}`));
  const value = entry?.[1]['recorded-content'][key] as { message: string } | undefined;
  assert.ok(value, `recording ${testName} / ${key}`);
  assert.deepEqual(value, fallback, 'the literal in this test matches the recording');
  return value;
}

describe('recorded: test_api_gateway_request_validator', () => {
  const T = 'test_api_gateway_request_validator';
  const model = load('recorded.yaml');
  const post = validator(model, 'POST', '/test/{test}');
  const get = validator(model, 'GET', '/test/{test}');
  const all = { headers: { 'x-header-param': 'test' }, query: 'qs1=test', path: { test: 'value' } };

  test('before the model is attached: every parameter present passes, with or without a body', () => {
    const noModel = (m: string): RequestValidator => {
      const r = { ...route(model, m, '/test/{test}') };
      delete r.requestBody;
      const v = compileRequestValidator(r, model);
      assert.ok(v);
      return v;
    };
    assert.deepEqual(answer(noModel('POST'), req({ ...all, json: { test: 'test' } })), { status: 200 });
    assert.deepEqual(answer(noModel('GET'), req(all)), { status: 200 });
  });

  test('missing-all-required-request-params-post: header, path (not in the resource path) and query, in AWS order', () => {
    // update_method replaced method.request.path.test by method.request.path.issuer, a path part the
    // resource /test/{test} does not have: it can never be present.
    const r: AwsRoute = {
      ...route(model, 'POST', '/test/{test}'),
      parameters: [
        { name: 'qs1', in: 'query', required: true },
        { name: 'issuer', in: 'path', required: true },
        { name: 'x-header-param', in: 'header', required: true },
      ],
    };
    const v = compileRequestValidator(r, model);
    assert.ok(v);
    const expected = recorded(T, 'missing-all-required-request-params-post', { message: 'Missing required request parameters: [x-header-param, issuer, qs1]' });
    // The body ({"test":"test"}) is also invalid for testSchema: parameters are checked first and win.
    assert.deepEqual(answer(v, req({ json: { test: 'test' }, path: { test: 'value' } })), { status: 400, body: expected, kind: 'BAD_REQUEST_PARAMETERS' });
  });

  test('missing-required-headers-request-params-get', () => {
    const expected = recorded(T, 'missing-required-headers-request-params-get', { message: 'Missing required request parameters: [x-header-param]' });
    assert.deepEqual(answer(get, req({ query: 'qs1=test', path: { test: 'value' } })), { status: 400, body: expected, kind: 'BAD_REQUEST_PARAMETERS' });
  });

  test('missing-required-qs-request-params-get', () => {
    const expected = recorded(T, 'missing-required-qs-request-params-get', { message: 'Missing required request parameters: [qs1]' });
    assert.deepEqual(answer(get, req({ headers: { 'x-header-param': 'test' }, path: { test: 'value' } })), {
      status: 400,
      body: expected,
      kind: 'BAD_REQUEST_PARAMETERS',
    });
  });

  test('invalid-request-body: {"test":"test"} against testSchema (a and b required)', () => {
    const expected = recorded(T, 'invalid-request-body', { message: 'Invalid request body' });
    assert.deepEqual(answer(post, req({ ...all, json: { test: 'test' } })), { status: 400, body: expected, kind: 'BAD_REQUEST_BODY' });
  });

  test('GET with an empty body is validated as {} against the application/json model: 400', () => {
    assert.equal(answer(get, req(all)).kind, 'BAD_REQUEST_BODY', 'no Content-Type');
    assert.equal(answer(get, req({ ...all, contentType: 'application/json' })).kind, 'BAD_REQUEST_BODY', 'Content-Type: application/json');
  });

  test('valid-request-body: {"a":1,"b":2} passes', () => {
    assert.deepEqual(answer(post, req({ ...all, json: { a: 1, b: 2 } })), { status: 200 });
  });

  test('remove-validator: no validator, nothing is checked', () => {
    for (const m of ['GET', 'POST']) {
      const r = { ...route(model, m, '/test/{test}') };
      delete r.requestValidator;
      assert.equal(compileRequestValidator(r, model), undefined);
    }
  });
});

for (const fixture of ['recorded.yaml', 'aws-model-urls.json']) {
  describe(`recorded: $ref between models (${fixture})`, () => {
    const model = load(fixture);

    test('test_api_gateway_request_validator_with_ref_models: array of $ref testSchema', () => {
      const v = validator(model, 'POST', '/list');
      const failed = recorded('test_api_gateway_request_validator_with_ref_models', 'failed-validation', { message: 'Invalid request body' });
      assert.deepEqual(answer(v, req({ json: [{ a: 1, b: 2 }] })), { status: 200 }, 'successful');
      assert.deepEqual(answer(v, req({ json: [] })), { status: 200 });
      assert.deepEqual(answer(v, req({ json: [{ a: 1, b: 2 }, { a: 1 }] })), { status: 400, body: failed, kind: 'BAD_REQUEST_BODY' }, 'failed-validation');
      assert.deepEqual(answer(v, req({ json: [{ a: '1', b: 2 }] })), { status: 400, body: failed, kind: 'BAD_REQUEST_BODY' });
      assert.deepEqual(answer(v, req({ json: { a: 1, b: 2 } })), { status: 400, body: failed, kind: 'BAD_REQUEST_BODY' }, 'an object is not the list');
    });

    test('test_api_gateway_request_validator_with_ref_one_ofmodels: oneOf [null, $ref StatusModel]', () => {
      const T = 'test_api_gateway_request_validator_with_ref_one_ofmodels';
      const v = validator(model, 'POST', '/one-of');
      const invalid = { message: 'Invalid request body' };
      recorded(T, 'failed-validation-no-data', invalid);
      recorded(T, 'failed-validation-bad-data', invalid);
      assert.deepEqual(answer(v, req({ json: { status: null } })), { status: 200 }, 'successful');
      assert.deepEqual(answer(v, req({ json: { status: { Status: 'OK', Order: 1 } } })), { status: 200 }, 'successful-with-data');
      assert.deepEqual(answer(v, req({ json: {} })), { status: 400, body: invalid, kind: 'BAD_REQUEST_BODY' }, 'failed-validation-no-data');
      assert.deepEqual(answer(v, req({ contentType: 'application/json' })), { status: 400, body: invalid, kind: 'BAD_REQUEST_BODY' }, 'no body at all');
      assert.deepEqual(answer(v, req({ json: { status: { Status: 'OK' } } })), { status: 400, body: invalid, kind: 'BAD_REQUEST_BODY' }, 'bad data');
      assert.deepEqual(answer(v, req({ json: { status: { Status: 'OK', Order: 1.5 } } })), { status: 400, body: invalid, kind: 'BAD_REQUEST_BODY' });
      assert.deepEqual(answer(v, req({ json: { status: 'OK' } })), { status: 400, body: invalid, kind: 'BAD_REQUEST_BODY' });
    });
  });
}

describe('parameters', () => {
  const model = load('edge.yaml');
  const v = validator(model, 'GET', '/params');
  const present = { 'x-api-thing': 'v', 'a-header': 'v' };

  test('several missing: ordered by method.request.<location>.<name> (code points), optional ones never listed', () => {
    assert.deepEqual(v.validate(req()), {
      ok: false,
      kind: 'BAD_REQUEST_PARAMETERS',
      message: 'Missing required request parameters: [X-Api-Thing, a-header, Zeta, alpha]',
    });
  });

  test('header names compare case-insensitively; the document default validator applies', () => {
    assert.equal(route(model, 'GET', '/params').requestValidator, 'all');
    assert.deepEqual(v.validate(req({ headers: present, query: 'Zeta=1&alpha=2' })), { ok: true });
    assert.deepEqual(v.validate(req({ headers: { 'X-API-THING': 'v', 'A-Header': 'v' }, query: 'Zeta=1&alpha=2' })), { ok: true });
  });

  test('query names are case-sensitive', () => {
    const r = v.validate(req({ headers: present, query: 'zeta=1&ALPHA=2' }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.message, 'Missing required request parameters: [Zeta, alpha]');
  });

  test('blank values count as missing (empty or whitespace only)', () => {
    const r = v.validate(req({ headers: { 'x-api-thing': '', 'a-header': '  ' }, query: 'Zeta=&alpha=%20' }));
    assert.equal(!r.ok && r.message, 'Missing required request parameters: [X-Api-Thing, a-header, Zeta, alpha]');
  });

  test('a repeated query parameter is judged by its last value (what method.request.querystring.x holds)', () => {
    assert.deepEqual(v.validate(req({ headers: present, query: 'Zeta=1&alpha=&alpha=2' })), { ok: true });
    const r = v.validate(req({ headers: present, query: 'Zeta=1&alpha=2&alpha=' }));
    assert.equal(!r.ok && r.message, 'Missing required request parameters: [alpha]');
  });

  test('a header given as a list passes when any value is not blank', () => {
    assert.deepEqual(v.validate(req({ headers: { 'x-api-thing': ['', 'v'], 'a-header': 'v' }, query: 'Zeta=1&alpha=2' })), { ok: true });
    const r = v.validate(req({ headers: { 'x-api-thing': [], 'a-header': 'v' }, query: 'Zeta=1&alpha=2' }));
    assert.equal(!r.ok && r.message, 'Missing required request parameters: [X-Api-Thing]');
  });

  test('{proxy+} is the path parameter "proxy"', () => {
    const p = validator(model, 'GET', '/files/{proxy+}');
    assert.deepEqual(p.validate(req({ path: { proxy: 'a/b' } })), { ok: true });
    assert.equal(p.validate(req()).ok, false);
  });

  test('validateRequestParameters only: the body is not validated', () => {
    const p = validator(model, 'POST', '/params-only/{id}');
    assert.deepEqual(p.validate(req({ path: { id: '1' }, query: 'q=1', body: 'not json', contentType: 'application/json' })), { ok: true });
    const r = p.validate(req({ path: { id: '1' }, json: { name: 'x' } }));
    assert.equal(!r.ok && r.message, 'Missing required request parameters: [q]');
  });

  test('validateRequestBody only: parameters are not checked', () => {
    const b = validator(model, 'POST', '/body-only');
    assert.deepEqual(b.validate(req({ json: { name: 'x' } })), { ok: true });
    assert.deepEqual(b.validate(req({ json: {} })), { ok: false, kind: 'BAD_REQUEST_BODY', message: 'Invalid request body' });
  });

  test('nothing to validate: no validator object', () => {
    assert.equal(compileRequestValidator(route(model, 'POST', '/none'), model), undefined, 'validator with both flags off');
    assert.equal(compileRequestValidator(route(model, 'GET', '/no-validator-needed'), model), undefined, 'no required parameter, no body model');
    const r = { ...route(model, 'POST', '/body-only'), requestValidator: 'no-such-validator' };
    assert.equal(compileRequestValidator(r, model), undefined, 'unknown validator name (the importer reports it)');
  });
});

describe('body', () => {
  const model = load('edge.yaml');
  const invalid = { ok: false, kind: 'BAD_REQUEST_BODY', message: 'Invalid request body' };

  test('the model is chosen by the request media type; no matching model and no $default: not validated', () => {
    const v = validator(model, 'POST', '/types');
    assert.deepEqual(v.validate(req({ body: '{"name":"x"}', contentType: 'application/json; charset=utf-8' })), { ok: true });
    assert.deepEqual(v.validate(req({ body: '{}', contentType: 'Application/JSON' })), invalid);
    assert.deepEqual(v.validate(req({ body: '"text"', contentType: 'text/plain' })), { ok: true });
    assert.deepEqual(v.validate(req({ body: '{"name":"x"}', contentType: 'text/plain' })), invalid, 'text/plain model: a string');
    assert.deepEqual(v.validate(req({ body: 'plain words', contentType: 'text/plain' })), invalid, 'the body is parsed as JSON');
    assert.deepEqual(v.validate(req({ body: '<xml/>', contentType: 'application/xml' })), { ok: true }, 'no model for application/xml');
  });

  test('$default model for unmatched media types', () => {
    const v = validator(model, 'POST', '/default-model');
    assert.deepEqual(v.validate(req({ body: '[1]', contentType: 'application/xml' })), { ok: true });
    assert.deepEqual(v.validate(req({ body: '{}', contentType: 'application/xml' })), invalid);
    assert.deepEqual(v.validate(req({ body: '<xml/>', contentType: 'application/xml' })), invalid);
    assert.deepEqual(v.validate(req({ body: '[1]', contentType: 'application/json' })), invalid, 'application/json has its own model');
    assert.deepEqual(v.validate(req({ body: '{"name":"n"}' })), { ok: true }, 'no Content-Type: application/json');
  });

  test('empty body is {}; whitespace, invalid JSON and trailing garbage are invalid', () => {
    const open: AwsApiModel = { ...model, models: {} };
    const r: AwsRoute = { ...route(model, 'POST', '/body-only'), requestBody: { required: true, models: { 'application/json': { type: 'object' } } } };
    const v = compileRequestValidator(r, open);
    assert.ok(v);
    assert.deepEqual(v.validate(req()), { ok: true }, 'no body');
    assert.deepEqual(v.validate(req({ body: Buffer.alloc(0), contentType: 'application/json' })), { ok: true }, 'zero-length body');
    assert.deepEqual(v.validate(req({ body: '  ', contentType: 'application/json' })), invalid);
    assert.deepEqual(v.validate(req({ body: '{"a":', contentType: 'application/json' })), invalid);
    assert.deepEqual(v.validate(req({ body: '{} {}', contentType: 'application/json' })), invalid);
    assert.deepEqual(v.validate(req({ body: 'null', contentType: 'application/json' })), invalid);
    assert.deepEqual(v.validate(req({ body: '{"a":1}', contentType: 'application/json' })), { ok: true });
  });

  test('recursive model ($ref #/models/Node)', () => {
    const v = validator(model, 'POST', '/tree');
    assert.deepEqual(v.validate(req({ json: { value: 1, children: [{ value: 2, children: [{ value: 3 }] }] } })), { ok: true });
    assert.deepEqual(v.validate(req({ json: { value: 1, children: [{ value: 2, children: [{ children: [] }] }] } })), invalid);
  });

  test('draft 4: boolean exclusive bounds, formats, keywords draft 4 does not know, own properties only', () => {
    const v = validator(model, 'POST', '/draft4');
    const ok = (body: Record<string, unknown>) =>
      assert.deepEqual(v.validate(req({ json: { constructor: 'c', ...body } })), { ok: true }, JSON.stringify(body));
    const bad = (body: Record<string, unknown>) => assert.deepEqual(v.validate(req({ json: { constructor: 'c', ...body } })), invalid, JSON.stringify(body));
    ok({});
    ok({ below10: 9.99 });
    bad({ below10: 10 });
    ok({ upTo10: 10 });
    bad({ upTo10: 10.5 });
    bad({ above0: 0 });
    ok({ above0: 0.001 });
    ok({ when: '2024-01-10T00:06:10Z' });
    bad({ when: 'yesterday' });
    ok({ mail: 'a@example.com' });
    bad({ mail: 'not-an-address' });
    ok({ other: 'not-a-uuid' }); // uuid is not a draft-4 format: ignored
    ok({ newer: 2 }); // const is draft 6: ignored
    bad({ newer: 'x' });
    bad({ maybe: null }); // nullable is OpenAPI, not JSON Schema
    ok({ code: 'ABC' });
    bad({ code: 'abc' });
    bad({ extra: 1 }); // additionalProperties: false
    assert.deepEqual(v.validate(req({ json: {} })), invalid, 'required "constructor" is not met by Object.prototype');
  });
});

describe('compilation', () => {
  test('compiled once per schema object: routes sharing a model share the compiled function', () => {
    let reads = 0;
    const schema = new Proxy({ type: 'object', required: ['a'] } as Record<string, unknown>, {
      ownKeys(t) {
        reads++;
        return Reflect.ownKeys(t);
      },
    });
    const model: AwsApiModel = { ...load('edge.yaml'), models: {} };
    const base = { ...model.routes[0], requestValidator: 'body-only' } as AwsRoute;
    const a = compileRequestValidator(
      { ...base, path: '/a', requestBody: { required: false, models: { 'application/json': schema, 'application/x-json': schema } } },
      model,
    );
    const afterFirst = reads;
    const b = compileRequestValidator({ ...base, path: '/b', requestBody: { required: false, models: { 'application/json': schema } } }, model);
    assert.ok(a && b);
    assert.ok(afterFirst > 0);
    assert.equal(reads, afterFirst, 'the second route and the second content type reuse the compiled schema');
    assert.equal(b.validate(req({ json: {} })).ok, false);
    assert.equal(b.validate(req({ json: { a: 1 } })).ok, true);
  });

  test('an unresolvable $ref or an invalid pattern refuses to compile, naming the route and content type', () => {
    const model = load('edge.yaml');
    const base = { ...route(model, 'POST', '/body-only') };
    const bad = (schema: unknown) => () =>
      compileRequestValidator({ ...base, requestBody: { required: false, models: { 'application/json': schema } } }, model);
    assert.throws(
      bad({ $ref: '#/models/Nope' }),
      (e: unknown) =>
        e instanceof RequestValidatorCompileError && e.contentType === 'application/json' && /Nope/.test(e.message),
    );
    assert.throws(bad({ $ref: 'https://apigateway.amazonaws.com/restapis/x/models/Nope' }), RequestValidatorCompileError);
    assert.throws(bad({ $ref: 'other.json#/Pet' }), RequestValidatorCompileError);
    assert.throws(bad({ type: 'string', pattern: '(' }), RequestValidatorCompileError);
    // A good model still compiles afterwards on the same API.
    assert.ok(compileRequestValidator({ ...base, requestBody: { required: false, models: { 'application/json': { $ref: '#/models/Strict' } } } }, model));
  });
});

describe('validationErrorString', () => {
  const spec = (schema: unknown) => compileSpec({ body: { schemas: { 'application/json': schema }, dialect: 'draft-04' } });
  const details = (schema: unknown, body: string) => {
    const r = spec(schema)?.validate({ body: Buffer.from(body), contentType: 'application/json', headers: {}, query: new URLSearchParams(), pathParams: {} });
    assert.ok(r && !r.ok);
    return r.details;
  };
  test('reports in the draft-4 validator wording AWS fills $context.error.validationErrorString with', () => {
    assert.equal(details({ type: 'object', required: ['name', 'age'] }, '{}'), '[object has missing required properties (["age","name"])]');
    assert.equal(
      details({ type: 'object', properties: { n: { type: 'integer' } } }, '{"n":"x"}'),
      '[instance type (string) does not match any allowed primitive type (allowed: ["integer"])]',
    );
    assert.equal(details({ enum: ['a', 'b'] }, '"c"'), '[instance value ("c") not found in enum (possible values: ["a","b"])]');
    assert.equal(details({ type: 'integer', minimum: 1 }, '0'), '[numeric instance is lower than the required minimum (minimum: 1, found: 0)]');
    assert.equal(details({ type: 'string', maxLength: 2 }, '"abc"'), '[string "abc" is too long (length: 3, required maximum: 2)]');
    assert.equal(
      details({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false, required: ['a'] }, '{"b":1}'),
      '[object has missing required properties (["a"]), object instance has properties which are not allowed by the schema: ["b"]]',
    );
    assert.match(details({ type: 'object' }, '{"a":'), /^\[Invalid JSON: /);
  });
  test('missing parameters: the message itself', () => {
    const v = compileSpec({ parameters: [{ in: 'query', name: 'q' }] });
    const r = v?.validate({ body: undefined, contentType: undefined, headers: {}, query: new URLSearchParams(), pathParams: {} });
    assert.deepEqual(r, { ok: false, kind: 'BAD_REQUEST_PARAMETERS', message: 'Missing required request parameters: [q]', details: 'Missing required request parameters: [q]' });
  });
  test('draft-07 schemas keep later keywords (const applies)', () => {
    const v = compileSpec({ body: { schemas: { $default: { const: 1 } } } });
    const req = (body: string) => ({ body: Buffer.from(body), contentType: 'text/plain', headers: {}, query: new URLSearchParams(), pathParams: {} });
    assert.equal(v?.validate(req('1')).ok, true);
    assert.equal(v?.validate(req('2')).ok, false);
  });
});
