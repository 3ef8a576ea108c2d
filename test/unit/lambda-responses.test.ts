// biome-ignore-all lint/suspicious/noExplicitAny: recorded fixtures are untyped JSON, walked field by field.
// Reading Lambda proxy results, checked against responses recorded from real AWS
// (test/fixtures/lambda/response-cases.json + aws/test_apigateway_lambda.snapshot.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  finishProxyAnswer,
  LAMBDA_ERROR_ANSWERS,
  lambdaErrorAnswer,
  type ErrorAnswer,
} from '../../src/integrations/function/errors.js';
import { readResponseV1, readResponseV2 } from '../../src/integrations/function/responses.js';

const dir = join(process.cwd(), 'test/fixtures/lambda');
const load = (name: string): any => JSON.parse(readFileSync(join(dir, name), 'utf8'));

const cases = load('response-cases.json');
const snapshot = load('aws/test_apigateway_lambda.snapshot.json');
const recordedRest = snapshot[cases.restSnapshot]['recorded-content'];

/** Headers AWS's edge adds to every answer (not the function's): left out of the comparison. */
const INFRA = new Set([
  'connection',
  'content-length',
  'date',
  'via',
  'x-amz-cf-id',
  'x-amz-cf-pop',
  'x-amzn-trace-id',
  'x-cache',
  'x-amz-apigw-id',
  'x-amzn-requestid',
]);

/** What python-requests' dict(response.headers) shows: names merged case-insensitively under the first
 * spelling, values joined with ', '. */
function asRequestsDict(headers: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  const first = new Map<string, string>();
  for (const [k, v] of headers) {
    const lower = k.toLowerCase();
    const key = first.get(lower);
    if (key === undefined) {
      first.set(lower, k);
      out[k] = v;
    } else out[key] = `${out[key]}, ${v}`;
  }
  return out;
}

/** The recorded `content`: JSON when the body parsed as JSON, else the text. */
function contentOf(a: ErrorAnswer): unknown {
  const text = a.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

describe('REST payload 1.0 responses: recorded (test_aws_proxy_response_payload_format_validation)', () => {
  it('covers every recorded case', () => {
    assert.deepEqual(cases.rest.map((c: { name: string }) => c.name).sort(), Object.keys(recordedRest).sort());
  });
  for (const c of cases.rest as { name: string; status: number; result?: unknown; threw?: boolean }[]) {
    it(c.name, () => {
      const rec = recordedRest[c.name];
      const answer = c.threw
        ? lambdaErrorAnswer('functionError', 'rest')
        : finishProxyAnswer(readResponseV1(c.result, { apiType: 'rest' }), 'rest');
      assert.equal(answer.status, c.status);
      assert.deepEqual(contentOf(answer), rec.content);
      if (rec.headers) {
        const expected: Record<string, string> = {};
        for (const [k, v] of Object.entries(rec.headers as Record<string, string>))
          if (!INFRA.has(k.toLowerCase())) expected[k] = v;
        assert.deepEqual(asRequestsDict(answer.headers), expected);
      }
    });
  }
  it('headers + multiValueHeaders with one name send both values, multiValueHeaders first, names as given', () => {
    const a = readResponseV1(
      { statusCode: 200, multiValueHeaders: { 'tesT-Multi': ['value-multi'] }, headers: { 'test-multi': 'value-solo' } },
      { apiType: 'rest' },
    );
    assert.ok(a.ok);
    assert.deepEqual(a.headers, [
      ['tesT-Multi', 'value-multi'],
      ['test-multi', 'value-solo'],
      ['Content-Type', 'application/json'],
    ]);
  });
  it('isBase64Encoded bodies are decoded only when the request Accept matches binaryMediaTypes', () => {
    const result = { statusCode: 200, body: Buffer.from([1, 2, 255]).toString('base64'), isBase64Encoded: true };
    const decoded = readResponseV1(result, { apiType: 'rest', binaryMediaTypes: ['image/*'], accept: 'image/png' });
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.body, Buffer.from([1, 2, 255]));
    const literal = readResponseV1(result, { apiType: 'rest', binaryMediaTypes: ['image/*'], accept: 'application/json' });
    assert.ok(literal.ok);
    assert.equal(literal.body.toString(), result.body);
    const notFirst = readResponseV1(result, { apiType: 'rest', binaryMediaTypes: ['image/*'], accept: 'text/html, image/png' });
    assert.ok(notFirst.ok);
    assert.equal(notFirst.body.toString(), result.body);
  });
  it('a Content-Type from the function replaces the default', () => {
    const a = readResponseV1({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'hi' }, { apiType: 'rest' });
    assert.ok(a.ok);
    assert.deepEqual(a.headers, [['content-type', 'text/plain']]);
    assert.equal(a.body.toString(), 'hi');
  });
  it('malformed shapes: null, arrays, object body, non-string header values, out-of-range status', () => {
    for (const bad of [
      null,
      undefined,
      42,
      [],
      { statusCode: 200, body: { a: 1 } },
      { statusCode: 200, headers: { a: { b: 1 } } },
      { statusCode: 200, headers: 'x' },
      { statusCode: 200, multiValueHeaders: { a: [{}] } },
      { statusCode: 99 },
      { statusCode: 600 },
      { statusCode: 200.5 },
      { statusCode: '20x' },
      { statusCode: true },
      { statusCode: 200, isBase64Encoded: 'yes' },
      { statusCode: 200, errorMessage: 'boom' },
    ]) {
      const a = readResponseV1(bad, { apiType: 'rest' });
      assert.equal(a.ok, false, JSON.stringify(bad));
      assert.equal(finishProxyAnswer(a, 'rest').status, 502, JSON.stringify(bad));
    }
  });
  it('number and boolean bodies and header values are sent as text', () => {
    const a = readResponseV1({ statusCode: 200, headers: { 'x-n': 5, 'x-b': false }, body: 12 }, { apiType: 'rest' });
    assert.ok(a.ok);
    assert.deepEqual(a.headers.slice(0, 2), [
      ['x-n', '5'],
      ['x-b', 'false'],
    ]);
    assert.equal(a.body.toString(), '12');
  });
});

describe('HTTP API payload 1.0 responses (statuses asserted by localstack aws-validated test, v1)', () => {
  for (const c of cases.httpV1 as { name: string; status: number; result: unknown }[]) {
    it(c.name, () => {
      const answer = finishProxyAnswer(readResponseV1(c.result, { apiType: 'http' }), 'http');
      assert.equal(answer.status, c.status);
      if (c.status === 500) assert.deepEqual(JSON.parse(answer.body.toString()), { message: 'Internal Server Error' });
    });
  }
  it('isBase64Encoded is always honoured; no default Content-Type', () => {
    const a = readResponseV1({ statusCode: 200, body: Buffer.from('test-data').toString('base64'), isBase64Encoded: true }, { apiType: 'http' });
    assert.ok(a.ok);
    assert.equal(a.body.toString(), 'test-data');
    assert.deepEqual(a.headers, []);
  });
  it('both header maps are sent', () => {
    const a = readResponseV1(
      { statusCode: 200, multiValueHeaders: { 'test-multi': ['value-multi'] }, headers: { 'test-multi': 'value-solo' } },
      { apiType: 'http' },
    );
    assert.ok(a.ok);
    assert.deepEqual(a.headers, [
      ['test-multi', 'value-multi'],
      ['test-multi', 'value-solo'],
    ]);
  });
});

describe('HTTP API payload 2.0 responses (statuses asserted by localstack aws-validated test, v2)', () => {
  for (const c of cases.httpV2 as { name: string; status: number; result: unknown }[]) {
    it(c.name, () => {
      const answer = finishProxyAnswer(readResponseV2(c.result), 'http');
      assert.equal(answer.status, c.status);
      if (c.status === 500) {
        assert.deepEqual(JSON.parse(answer.body.toString()), { message: 'Internal Server Error' });
        assert.deepEqual(answer.headers, [['Content-Type', 'application/json']]);
      }
    });
  }
  it('fake-null: the string "null" answers exactly the 4 bytes null (asserted)', () => {
    const a = readResponseV2('null');
    assert.ok(a.ok);
    assert.deepEqual(a.body, Buffer.from('null'));
  });
  it('inference: a string is the body as is; objects, numbers, arrays are JSON; all 200 application/json', () => {
    const cases2: [unknown, string][] = [
      ['Hello from Lambda!', 'Hello from Lambda!'],
      [{ message: 'Hello from Lambda!' }, '{"message":"Hello from Lambda!"}'],
      [{}, '{}'],
      [{ headers: { 'test-header': 'value' } }, '{"headers":{"test-header":"value"}}'],
      [42, '42'],
      [[1, 'a'], '[1,"a"]'],
      [true, 'true'],
      [null, 'null'],
      [undefined, 'null'],
    ];
    for (const [result, body] of cases2) {
      const a = readResponseV2(result);
      assert.ok(a.ok, String(result));
      assert.equal(a.status, 200);
      assert.deepEqual(a.headers, [['content-type', 'application/json']]);
      assert.equal(a.body.toString(), body);
    }
  });
  it('cookies become set-cookie headers, after the other headers', () => {
    const a = readResponseV2({
      statusCode: 201,
      headers: { 'x-a': '1' },
      cookies: ['test-cookie=value', 'test-cookie2=value1; Path=/'],
      body: 'ok',
    });
    assert.ok(a.ok);
    assert.equal(a.status, 201);
    assert.deepEqual(a.headers, [
      ['x-a', '1'],
      ['set-cookie', 'test-cookie=value'],
      ['set-cookie', 'test-cookie2=value1; Path=/'],
    ]);
    assert.equal(a.body.toString(), 'ok');
  });
  it('isBase64Encoded bodies are decoded', () => {
    const a = readResponseV2({ statusCode: 200, body: Buffer.from([0, 1, 2]).toString('base64'), isBase64Encoded: true });
    assert.ok(a.ok);
    assert.deepEqual(a.body, Buffer.from([0, 1, 2]));
  });
  it('an object with errorMessage is a function error; a statusCode object with errorMessage is not', () => {
    const e = readResponseV2({ errorMessage: 'x', errorType: 'Error' });
    assert.equal(e.ok, false);
    assert.equal(!e.ok && e.kind, 'functionError');
    const ok = readResponseV2({ statusCode: 200, errorMessage: 'x' });
    assert.ok(ok.ok);
  });
  it('malformed: cookies not an array, non-string cookie, bad statusCode, object body', () => {
    for (const bad of [
      { statusCode: 200, cookies: 'a=1' },
      { statusCode: 200, cookies: [1] },
      { statusCode: 'abc' },
      { statusCode: 200, body: { a: 1 } },
      { statusCode: 200, headers: [] },
    ]) {
      const a = readResponseV2(bad);
      assert.equal(a.ok, false, JSON.stringify(bad));
      assert.equal(!a.ok && a.kind, 'malformed');
    }
  });
});

describe('error answers', () => {
  it('REST: malformed / function error 502, rejected invocations 500, integration timeout 504', () => {
    const recordedBody = { message: 'Internal server error' }; // recorded: wrong-format, empty-response...
    for (const f of ['malformedResponse', 'functionError', 'functionTimeout'] as const) {
      const a = lambdaErrorAnswer(f, 'rest');
      assert.equal(a.status, 502, f);
      assert.deepEqual(JSON.parse(a.body.toString()), recordedBody);
    }
    for (const f of ['functionNotFound', 'throttled'] as const) {
      const a = lambdaErrorAnswer(f, 'rest');
      assert.equal(a.status, 500, f);
      assert.deepEqual(JSON.parse(a.body.toString()), recordedBody);
    }
    const t = lambdaErrorAnswer('integrationTimeout', 'rest');
    assert.equal(t.status, 504);
    assert.equal(t.body.toString(), '{"message": "Endpoint request timed out"}');
    assert.equal(lambdaErrorAnswer('malformedResponse', 'rest').body.toString(), '{"message": "Internal server error"}');
  });
  it('HTTP API: 500 Internal Server Error for every failure but the integration timeout (503)', () => {
    for (const f of Object.keys(LAMBDA_ERROR_ANSWERS.http) as (keyof typeof LAMBDA_ERROR_ANSWERS.http)[]) {
      const a = lambdaErrorAnswer(f, 'http');
      if (f === 'integrationTimeout') {
        assert.equal(a.status, 503);
        assert.equal(a.body.toString(), '{"message":"Service Unavailable"}');
      } else {
        assert.equal(a.status, 500, f);
        assert.equal(a.body.toString(), '{"message":"Internal Server Error"}');
      }
      assert.deepEqual(a.headers, [['Content-Type', 'application/json']]);
    }
  });
  it('finishProxyAnswer passes a good answer through untouched', () => {
    const a = readResponseV2({ statusCode: 204 });
    const f = finishProxyAnswer(a, 'http');
    assert.equal(f.status, 204);
    assert.equal(f.body.length, 0);
  });
});
