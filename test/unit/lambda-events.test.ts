// biome-ignore-all lint/suspicious/noExplicitAny: recorded fixtures are untyped JSON, walked field by field.
// Lambda proxy events checked field by field against events recorded from real AWS
// (test/fixtures/lambda/aws/*, see docs/lambda-events.md for sources).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildEventV1,
  buildEventV2,
  formatRequestTime,
  isBinaryBody,
  matchesBinaryMediaTypes,
  type ForwardedHeaders,
  type ProxyRequest,
} from '../../src/integrations/function/events.js';

const dir = join(process.cwd(), 'test/fixtures/lambda');
const load = (name: string): any => JSON.parse(readFileSync(join(dir, name), 'utf8'));

const REQUEST_TIME = /^\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/;

/**
 * Deep comparison with a recorded value. Recorded placeholders that stand for time are checked by format;
 * ids were fed in as the recorded placeholders, so they compare exactly. One snapshot artefact: LocalStack's
 * key_value transformer replaced multiValueHeaders.X-Forwarded-* lists with a bare placeholder string.
 */
function assertMatchesRecorded(actual: unknown, recorded: unknown, where: string): void {
  if (recorded === '<request-time>') {
    assert.match(String(actual), REQUEST_TIME, `${where}: requestTime format`);
    return;
  }
  if (recorded === '<request-time-epoch>') {
    assert.ok(Number.isInteger(actual), `${where}: requestTimeEpoch must be an integer`);
    return;
  }
  if (typeof recorded === 'string' && /^<X-Forwarded-[A-Za-z]+>$/.test(recorded) && Array.isArray(actual)) {
    assert.deepEqual(actual, [recorded], where);
    return;
  }
  if (recorded !== null && typeof recorded === 'object' && !Array.isArray(recorded)) {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${where}: expected an object`);
    const a = actual as Record<string, unknown>;
    const r = recorded as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(r).sort(), `${where}: key set`);
    for (const k of Object.keys(r)) assertMatchesRecorded(a[k], r[k], `${where}.${k}`);
    return;
  }
  assert.deepEqual(actual, recorded, where);
}

function baseRequest(over: Partial<ProxyRequest> = {}): ProxyRequest {
  return {
    method: 'GET',
    path: '/dev/pets',
    resourcePath: '/pets',
    routeKey: 'GET /pets',
    stage: 'dev',
    rawQuery: '',
    rawHeaders: ['Host', 'api.example.com', 'User-Agent', 'ua/1'],
    pathParameters: null,
    stageVariables: null,
    body: undefined,
    binary: false,
    sourceIp: '203.0.113.9',
    userAgent: 'ua/1',
    requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    extendedRequestId: 'ZhDrKF5dDoEEHfA=',
    domainName: 'api.example.com',
    domainPrefix: 'api',
    apiId: 'abc123',
    accountId: '123456789012',
    protocol: 'HTTP/1.1',
    requestTimeEpoch: 1428582896000,
    ...over,
  };
}

interface CaseRequest {
  method: string;
  path: string;
  rawQuery: string;
  resourcePath: string;
  stage: string;
  pathParameters: Record<string, string> | null;
  rawHeaders: [string, string][];
  body: string | null;
  requestId: string;
  extendedRequestId: string;
  resourceId: string;
  deploymentId: string;
  apiId: string;
  domainPrefix: string;
  domainName: string;
  accountId: string;
  sourceIp: string;
  userAgent: string;
}

/** The headers API Gateway itself adds; the case files list them among the received headers. */
const AWS_ADDED = new Set(['x-amzn-trace-id', 'x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto']);

/**
 * Splits the recorded headers into what the client sent and what API Gateway added (passed as `forwarded`,
 * so the builder adds them as the integration does). The recorded X-Forwarded-For is a placeholder standing
 * for the whole chain; it is fed in as the peer address with no incoming chain.
 */
function splitForwarded(pairs: readonly (readonly [string, string])[]): { rawHeaders: string[]; forwarded: ForwardedHeaders } {
  const rawHeaders: string[] = [];
  const added: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (AWS_ADDED.has(k.toLowerCase())) added[k.toLowerCase()] = v;
    else rawHeaders.push(k, v);
  }
  assert.equal(Object.keys(added).length, 4, 'the recording carries all four AWS-added headers');
  return {
    rawHeaders,
    forwarded: {
      peerIp: added['x-forwarded-for'] as string,
      port: added['x-forwarded-port'] as string,
      proto: added['x-forwarded-proto'] as string,
      traceId: added['x-amzn-trace-id'] as string,
    },
  };
}

function toProxyRequest(c: CaseRequest): ProxyRequest {
  const { rawHeaders, forwarded } = splitForwarded(c.rawHeaders);
  return {
    method: c.method,
    path: c.path,
    resourcePath: c.resourcePath,
    routeKey: '',
    stage: c.stage,
    rawQuery: c.rawQuery,
    rawHeaders,
    forwarded,
    pathParameters: c.pathParameters,
    stageVariables: null,
    body: c.body === null ? undefined : Buffer.from(c.body),
    binary: false,
    sourceIp: c.sourceIp,
    userAgent: c.userAgent,
    requestId: c.requestId,
    extendedRequestId: c.extendedRequestId,
    resourceId: c.resourceId,
    deploymentId: c.deploymentId,
    domainName: c.domainName,
    domainPrefix: c.domainPrefix,
    apiId: c.apiId,
    accountId: c.accountId,
    protocol: 'HTTP/1.1',
    requestTimeEpoch: 1722641683000,
  };
}

describe('REST payload 1.0: recorded events (localstack test_apigateway_lambda snapshots)', () => {
  const snapshot = load('aws/test_apigateway_lambda.snapshot.json');
  const { cases } = load('rest-event-cases.json') as {
    cases: { snapshot: string; name: string; contentKey?: string; request: CaseRequest }[];
  };
  it('covers every recorded proxy event', () => {
    assert.equal(cases.length, 12);
  });
  for (const c of cases) {
    it(c.name, () => {
      const content = snapshot[c.snapshot]['recorded-content'][c.name];
      const recorded = structuredClone(c.contentKey ? content[c.contentKey] : content);
      const event = buildEventV1(toProxyRequest(c.request), { apiType: 'rest' });
      // The recording is the event echoed back by a handler that JSON-parsed the body.
      if (recorded.body !== null && typeof recorded.body === 'object') {
        assert.equal(typeof event.body, 'string');
        event.body = JSON.parse(event.body as string);
      }
      assertMatchesRecorded(event, recorded, c.name);
    });
  }
});

describe('REST payload 1.0: powertools recorded event (apigw-rest-no-auth.json)', () => {
  const recorded = load('aws/apigw-rest-no-auth.json');
  const rh: string[] = [];
  // HTTPie (python-requests) also sent Connection and Content-Length: 0 for the body-less POST; both are dropped.
  rh.push('Connection', 'keep-alive', 'Content-Length', '0');
  // What reached API Gateway's regional part from CloudFront: the recorded headers minus the four API Gateway
  // adds, plus CloudFront's X-Forwarded-For naming the client. API Gateway appends its peer (the CloudFront
  // edge, 130.176.209.21): recorded 'X-Forwarded-For: 15.248.3.126, 130.176.209.21'.
  for (const [k, v] of Object.entries(recorded.headers as Record<string, string>)) {
    if (AWS_ADDED.has(k.toLowerCase())) continue;
    rh.push(k, v);
    if (k === 'X-Amz-Cf-Id') rh.push('X-Forwarded-For', '15.248.3.126');
  }
  const rc = recorded.requestContext;
  const req: ProxyRequest = baseRequest({
    method: 'POST',
    path: '/prod/no-auth',
    resourcePath: '/no-auth',
    stage: 'prod',
    rawHeaders: rh,
    sourceIp: rc.identity.sourceIp,
    userAgent: rc.identity.userAgent,
    requestId: rc.requestId,
    extendedRequestId: rc.extendedRequestId,
    resourceId: rc.resourceId,
    deploymentId: rc.deploymentId,
    domainName: rc.domainName,
    domainPrefix: rc.domainPrefix,
    apiId: rc.apiId,
    accountId: rc.accountId,
    requestTimeEpoch: rc.requestTimeEpoch,
    forwarded: { peerIp: '130.176.209.21', port: '443', proto: 'https', traceId: recorded.headers['X-Amzn-Trace-Id'] },
  });
  it('equals the recorded event exactly, requestTime and the X-Forwarded-* / X-Amzn-Trace-Id headers included', () => {
    assert.deepEqual(buildEventV1(req, { apiType: 'rest' }), recorded);
  });
  it('has the recorded key order (top level, headers, requestContext, identity)', () => {
    const ev = buildEventV1(req, { apiType: 'rest' }) as any;
    assert.deepEqual(Object.keys(ev), Object.keys(recorded));
    assert.deepEqual(Object.keys(ev.headers), Object.keys(recorded.headers));
    assert.deepEqual(Object.keys(ev.multiValueHeaders), Object.keys(recorded.multiValueHeaders));
    assert.deepEqual(Object.keys(ev.requestContext), Object.keys(recorded.requestContext));
    assert.deepEqual(Object.keys(ev.requestContext.identity), Object.keys(recorded.requestContext.identity));
  });
});

describe('REST payload 1.0: SAM CLI sample (AwsProxy.json)', () => {
  it('every field of the sample is present in the built event', () => {
    const sample = load('aws/AwsProxy.json');
    const ev = buildEventV1(baseRequest(), { apiType: 'rest' }) as any;
    for (const k of Object.keys(sample)) assert.ok(k in ev, `top-level ${k}`);
    for (const k of Object.keys(sample.requestContext)) assert.ok(k in ev.requestContext, `requestContext.${k}`);
    for (const k of Object.keys(sample.requestContext.identity))
      assert.ok(k in ev.requestContext.identity, `identity.${k}`);
    // The sample's requestTime/requestTimeEpoch pair pins the time format.
    assert.equal(formatRequestTime(sample.requestContext.requestTimeEpoch), sample.requestContext.requestTime);
  });
});

describe('REST payload 1.0: rules', () => {
  it('headers keeps the last value of a repeated header, multiValueHeaders all, under the first spelling', () => {
    const ev = buildEventV1(baseRequest({ rawHeaders: ['X-Tag', 'a', 'x-tag', 'b', 'X-TAG', 'c'] })) as any;
    assert.deepEqual(ev.headers, { 'X-Tag': 'c' });
    assert.deepEqual(ev.multiValueHeaders, { 'X-Tag': ['a', 'b', 'c'] });
  });
  it('keeps the Cookie header and multi-valued query parameters (last one in queryStringParameters)', () => {
    const ev = buildEventV1(baseRequest({ rawHeaders: ['Cookie', 'a=1; b=2'], rawQuery: 'a=1&a=2&b=&c' })) as any;
    assert.deepEqual(ev.headers, { Cookie: 'a=1; b=2' });
    assert.deepEqual(ev.queryStringParameters, { a: '2', b: '', c: '' });
    assert.deepEqual(ev.multiValueQueryStringParameters, { a: ['1', '2'], b: [''], c: [''] });
  });
  it("a header or query parameter named '__proto__' stays an ordinary key", () => {
    const ev = buildEventV1(baseRequest({ rawHeaders: ['__proto__', 'h'], rawQuery: '__proto__=1&__proto__=2' })) as any;
    assert.equal(JSON.stringify(ev.headers), '{"__proto__":"h"}');
    assert.equal(JSON.stringify(ev.multiValueQueryStringParameters), '{"__proto__":["1","2"]}');
    assert.equal(Object.getPrototypeOf(ev.queryStringParameters), Object.prototype);
    const v2 = buildEventV2(baseRequest({ rawHeaders: ['__proto__', 'a', '__proto__', 'b'], rawQuery: '__proto__=1' })) as any;
    assert.equal(JSON.stringify(v2.headers), '{"__proto__":"a,b"}');
    assert.equal(JSON.stringify(v2.queryStringParameters), '{"__proto__":"1"}');
  });
  it('leaves a malformed percent escape as sent', () => {
    const ev = buildEventV1(baseRequest({ rawQuery: 'q=100%&r=%E2%9C%93' })) as any;
    assert.deepEqual(ev.queryStringParameters, { q: '100%', r: '✓' });
  });
  it('null for empty maps, body null without a body, stage variables passed through', () => {
    const ev = buildEventV1(baseRequest({ stageVariables: { env: 'dev' }, pathParameters: {} })) as any;
    assert.equal(ev.queryStringParameters, null);
    assert.equal(ev.multiValueQueryStringParameters, null);
    assert.equal(ev.pathParameters, null);
    assert.deepEqual(ev.stageVariables, { env: 'dev' });
    assert.equal(ev.body, null);
    assert.equal(ev.isBase64Encoded, false);
    assert.equal('authorizer' in ev.requestContext, false);
  });
  it('base64-encodes a binary body and sets isBase64Encoded', () => {
    const bytes = Buffer.from([0xff, 0x00, 0x10]);
    const ev = buildEventV1(baseRequest({ method: 'POST', body: bytes, binary: true })) as any;
    assert.equal(ev.body, bytes.toString('base64'));
    assert.equal(ev.isBase64Encoded, true);
  });
  it('an empty body is null even when binary', () => {
    const ev = buildEventV1(baseRequest({ method: 'POST', body: Buffer.alloc(0), binary: true })) as any;
    assert.equal(ev.body, null);
    assert.equal(ev.isBase64Encoded, false);
  });
  it('authorizer and identity overrides land in requestContext', () => {
    const ev = buildEventV1(
      baseRequest({ authorizer: { principalId: 'u1', claims: { sub: 'x' } }, identity: { apiKey: 'k', apiKeyId: 'kid', user: 'u1' } }),
    ) as any;
    assert.deepEqual(ev.requestContext.authorizer, { principalId: 'u1', claims: { sub: 'x' } });
    assert.equal(ev.requestContext.identity.apiKey, 'k');
    assert.equal(ev.requestContext.identity.apiKeyId, 'kid');
    assert.equal(ev.requestContext.identity.user, 'u1');
    assert.equal(ev.requestContext.identity.caller, null);
  });
  it('strips the stage prefix only at a segment boundary', () => {
    assert.equal((buildEventV1(baseRequest({ path: '/dev' })) as any).path, '/');
    assert.equal((buildEventV1(baseRequest({ path: '/devices/1' })) as any).path, '/devices/1');
    const ev = buildEventV1(baseRequest({ path: '/dev/a//b/' })) as any;
    assert.equal(ev.path, '/a//b/');
    assert.equal(ev.requestContext.path, '/dev/a//b/');
  });
  it('derives stable resourceId / deploymentId when none are given', () => {
    const a = buildEventV1(baseRequest()) as any;
    const b = buildEventV1(baseRequest()) as any;
    assert.match(a.requestContext.resourceId, /^[0-9a-z]{6}$/);
    assert.match(a.requestContext.deploymentId, /^[0-9a-z]{6}$/);
    assert.equal(a.requestContext.resourceId, b.requestContext.resourceId);
  });
  it('query decoding matches WHATWG form decoding for well-formed input (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1 }), fc.string()), { minLength: 1, maxLength: 6 }), (pairs) => {
        const raw = new URLSearchParams(pairs).toString();
        const ev = buildEventV1(baseRequest({ rawQuery: raw })) as any;
        const expected = new Map<string, string[]>();
        for (const [k, v] of new URLSearchParams(raw)) {
          const list = expected.get(k);
          if (list) list.push(v);
          else expected.set(k, [v]);
        }
        assert.deepEqual(new Map(Object.entries(ev.multiValueQueryStringParameters)), expected);
        for (const [k, list] of expected) assert.equal(Object.getOwnPropertyDescriptor(ev.queryStringParameters, k)?.value, list.at(-1));
      }),
      { numRuns: 200 },
    );
  });
});

describe('HTTP API payload 1.0', () => {
  const { event: captured } = load('http-v1-captured.json');
  const rc = captured.requestContext;
  const req = baseRequest({
    path: '/dev/api/core/services',
    resourcePath: '/api/core/services',
    routeKey: 'GET /api/core/services',
    stage: 'dev',
    rawQuery: 'name=',
    rawHeaders: ['content-length', '0', 'host', rc.domainName, 'user-agent', rc.identity.userAgent, 'accept', 'application/json, text/plain, */*'],
    sourceIp: rc.identity.sourceIp,
    userAgent: rc.identity.userAgent,
    requestId: rc.requestId,
    extendedRequestId: undefined,
    domainName: rc.domainName,
    domainPrefix: rc.domainPrefix,
    apiId: rc.apiId,
    accountId: rc.accountId,
    requestTimeEpoch: rc.requestTimeEpoch,
  });
  it('requestContext equals the captured one (key order included)', () => {
    const ev = buildEventV1(req, { apiType: 'http' }) as any;
    assert.deepEqual(ev.requestContext, rc);
    assert.deepEqual(Object.keys(ev.requestContext), Object.keys(rc));
    assert.deepEqual(Object.keys(ev.requestContext.identity), Object.keys(rc.identity));
  });
  it('top level: version 1.0, path keeps the stage, same key order as the capture', () => {
    const ev = buildEventV1(req, { apiType: 'http' }) as any;
    assert.deepEqual(Object.keys(ev), Object.keys(captured));
    for (const k of ['version', 'resource', 'path', 'httpMethod', 'pathParameters', 'stageVariables', 'body', 'isBase64Encoded'])
      assert.deepEqual(ev[k], captured[k], k);
    assert.deepEqual(ev.queryStringParameters, captured.queryStringParameters);
    assert.deepEqual(ev.multiValueQueryStringParameters, captured.multiValueQueryStringParameters);
  });
  it('capitalises Content-Length, Host and User-Agent and keeps other client headers as sent', () => {
    const ev = buildEventV1(req, { apiType: 'http' }) as any;
    for (const k of ['Content-Length', 'Host', 'User-Agent', 'accept']) assert.deepEqual(ev.headers[k], captured.headers[k], k);
    assert.deepEqual(ev.multiValueHeaders.accept, captured.multiValueHeaders.accept);
  });
  it('adds X-Amzn-Trace-Id and X-Forwarded-For/Port/Proto capitalised, as captured', () => {
    const names = ['X-Amzn-Trace-Id', 'X-Forwarded-For', 'X-Forwarded-Port', 'X-Forwarded-Proto'];
    const ev = buildEventV1(
      {
        ...req,
        forwarded: { peerIp: rc.identity.sourceIp, port: '443', proto: 'https', traceId: captured.headers['X-Amzn-Trace-Id'] },
      },
      { apiType: 'http' },
    ) as any;
    for (const k of names) {
      assert.deepEqual(ev.headers[k], captured.headers[k], k);
      assert.deepEqual(ev.multiValueHeaders[k], captured.multiValueHeaders[k], k);
    }
    // No lower-case duplicates.
    for (const k of names) assert.equal(k.toLowerCase() in ev.headers, false, k.toLowerCase());
  });
});

describe('HTTP API payload 2.0', () => {
  it('equals the powertools recorded event exactly (apigw-http-no-auth.json), key order included', () => {
    const recorded = load('aws/apigw-http-no-auth.json');
    const rc = recorded.requestContext;
    const rh: string[] = ['Connection', 'keep-alive'];
    // The four headers API Gateway adds come from `forwarded`; no proxy in front (x-forwarded-for = sourceIp).
    for (const [k, v] of Object.entries(recorded.headers as Record<string, string>)) if (!AWS_ADDED.has(k)) rh.push(k, v);
    const ev = buildEventV2(
      baseRequest({
        method: 'POST',
        path: '/lambda',
        resourcePath: '/lambda',
        routeKey: 'POST /lambda',
        stage: '$default',
        rawHeaders: rh,
        sourceIp: rc.http.sourceIp,
        userAgent: rc.http.userAgent,
        requestId: rc.requestId,
        domainName: rc.domainName,
        domainPrefix: rc.domainPrefix,
        apiId: rc.apiId,
        accountId: rc.accountId,
        requestTimeEpoch: rc.timeEpoch,
        authorizer: rc.authorizer,
        body: Buffer.alloc(0),
        binary: true, // no Content-Type: binary by the rule, but an empty body is never encoded
        forwarded: { peerIp: rc.http.sourceIp, port: '443', proto: 'https', traceId: recorded.headers['x-amzn-trace-id'] },
      }),
    ) as any;
    assert.deepEqual(ev, recorded);
    assert.deepEqual(Object.keys(ev), Object.keys(recorded));
    assert.deepEqual(Object.keys(ev.headers), Object.keys(recorded.headers));
    assert.deepEqual(Object.keys(ev.requestContext), Object.keys(rc));
  });
  it('matches the documented sample (SAM HttpApi.json; header names lower-cased as the current docs state)', () => {
    const sample = load('aws/HttpApi.json');
    const src = sample.requestContext;
    const ev = buildEventV2(
      baseRequest({
        method: 'POST',
        path: '/my/path',
        routeKey: '$default',
        stage: '$default',
        rawQuery: sample.rawQueryString,
        rawHeaders: ['Header1', 'value1', 'Header2', 'value1', 'Cookie', 'cookie1; cookie2', 'Header2', 'value2'],
        pathParameters: sample.pathParameters,
        stageVariables: sample.stageVariables,
        body: Buffer.from('hello'),
        binary: true,
        sourceIp: src.http.sourceIp,
        userAgent: src.http.userAgent,
        requestId: src.requestId,
        domainName: 'id.execute-api.us-east-1.amazonaws.com',
        domainPrefix: src.domainPrefix,
        apiId: src.apiId,
        accountId: '123456789012',
        requestTimeEpoch: src.timeEpoch,
        authorizer: src.authorizer,
        authentication: src.authentication,
      }),
    ) as any;
    assert.deepEqual(ev.cookies, sample.cookies);
    assert.deepEqual(ev.headers, { header1: 'value1', header2: 'value1,value2' });
    assert.deepEqual(ev.queryStringParameters, sample.queryStringParameters);
    assert.equal(ev.rawQueryString, sample.rawQueryString);
    assert.deepEqual(ev.pathParameters, sample.pathParameters);
    assert.deepEqual(ev.stageVariables, sample.stageVariables);
    assert.equal(ev.isBase64Encoded, true);
    assert.equal(ev.body, Buffer.from('hello').toString('base64'));
    assert.deepEqual(ev.requestContext.authorizer, src.authorizer);
    assert.deepEqual(ev.requestContext.authentication, src.authentication);
    assert.deepEqual(Object.keys(ev.requestContext.http), Object.keys(src.http));
    assert.equal(formatRequestTime(src.timeEpoch).slice(2), src.time.slice(2)); // sample's day is hand-edited
    assert.deepEqual(Object.keys(ev), Object.keys(sample));
  });
  it('rawQueryString stays encoded, queryStringParameters are decoded and comma-joined', () => {
    const ev = buildEventV2(baseRequest({ rawQuery: 'a=x%2Cy&a=z&q=my%3Fqs%2Fvalue&s=a+b' })) as any;
    assert.equal(ev.rawQueryString, 'a=x%2Cy&a=z&q=my%3Fqs%2Fvalue&s=a+b');
    assert.deepEqual(ev.queryStringParameters, { a: 'x,y,z', q: 'my?qs/value', s: 'a b' });
  });
  it('several Cookie headers all land in cookies; no cookie key without cookies', () => {
    const ev = buildEventV2(baseRequest({ rawHeaders: ['cookie', 'a=1', 'Cookie', 'b=2;c=3', 'X-A', '1'] })) as any;
    assert.deepEqual(ev.cookies, ['a=1', 'b=2', 'c=3']);
    assert.deepEqual(ev.headers, { 'x-a': '1' });
    const none = buildEventV2(baseRequest()) as any;
    assert.equal('cookies' in none, false);
    assert.equal('queryStringParameters' in none, false);
    assert.equal('pathParameters' in none, false);
    assert.equal('stageVariables' in none, false);
    assert.equal('body' in none, false);
    assert.equal('authorizer' in none.requestContext, false);
    assert.equal(none.rawQueryString, '');
  });
  it('a text body is sent as UTF-8 with isBase64Encoded false', () => {
    const ev = buildEventV2(baseRequest({ method: 'POST', body: Buffer.from('{"a":"é"}'), binary: false })) as any;
    assert.equal(ev.body, '{"a":"é"}');
    assert.equal(ev.isBase64Encoded, false);
  });
});

describe('headers API Gateway adds (forwarded)', () => {
  const fwd: ForwardedHeaders = {
    peerIp: '198.51.100.7',
    port: '8443',
    proto: 'https',
    traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793',
  };
  const incomingTrace = 'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1';

  it('REST 1.0 without incoming forwarding headers: peer address, port, proto, trace id', () => {
    const ev = buildEventV1(baseRequest({ forwarded: fwd }), { apiType: 'rest' }) as any;
    assert.deepEqual(ev.headers, {
      Host: 'api.example.com',
      'User-Agent': 'ua/1',
      'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
      'X-Forwarded-For': '198.51.100.7',
      'X-Forwarded-Port': '8443',
      'X-Forwarded-Proto': 'https',
    });
    assert.deepEqual(ev.multiValueHeaders, {
      Host: ['api.example.com'],
      'User-Agent': ['ua/1'],
      'X-Amzn-Trace-Id': ['Root=1-5759e988-bd862e3fe1be46a994272793'],
      'X-Forwarded-For': ['198.51.100.7'],
      'X-Forwarded-Port': ['8443'],
      'X-Forwarded-Proto': ['https'],
    });
  });

  it('REST 1.0 with an incoming X-Forwarded-For chain and trace id: chain kept, peer appended; client port/proto replaced', () => {
    const ev = buildEventV1(
      baseRequest({
        rawHeaders: [
          'Host', 'api.example.com',
          'x-forwarded-for', '203.0.113.9, 10.0.0.2',
          'X-Forwarded-For', '10.0.0.3',
          'x-forwarded-port', '1',
          'X-Forwarded-Proto', 'gopher',
          'x-amzn-trace-id', incomingTrace,
          'X-Other', 'o',
        ],
        forwarded: { ...fwd, proto: 'http', port: '8080', traceId: incomingTrace },
      }),
      { apiType: 'rest' },
    ) as any;
    assert.deepEqual(ev.headers, {
      Host: 'api.example.com',
      'X-Other': 'o',
      'X-Amzn-Trace-Id': incomingTrace,
      'X-Forwarded-For': '203.0.113.9, 10.0.0.2, 10.0.0.3, 198.51.100.7',
      'X-Forwarded-Port': '8080',
      'X-Forwarded-Proto': 'http',
    });
    assert.deepEqual(ev.multiValueHeaders, {
      Host: ['api.example.com'],
      'X-Other': ['o'],
      'X-Amzn-Trace-Id': [incomingTrace],
      'X-Forwarded-For': ['203.0.113.9, 10.0.0.2, 10.0.0.3, 198.51.100.7'],
      'X-Forwarded-Port': ['8080'],
      'X-Forwarded-Proto': ['http'],
    });
    // requestContext.identity.sourceIp stays what the caller resolved (the gateway's clientIp).
    assert.equal(ev.requestContext.identity.sourceIp, '203.0.113.9');
  });

  it('HTTP API 1.0: same values, capitalised names', () => {
    const ev = buildEventV1(
      baseRequest({ rawHeaders: ['host', 'api.example.com', 'x-forwarded-for', '203.0.113.9'], forwarded: fwd }),
      { apiType: 'http' },
    ) as any;
    assert.deepEqual(ev.headers, {
      Host: 'api.example.com',
      'X-Amzn-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
      'X-Forwarded-For': '203.0.113.9, 198.51.100.7',
      'X-Forwarded-Port': '8443',
      'X-Forwarded-Proto': 'https',
    });
    assert.deepEqual(ev.multiValueHeaders['X-Forwarded-For'], ['203.0.113.9, 198.51.100.7']);
  });

  it('payload 2.0 without incoming forwarding headers: lower-case names', () => {
    const ev = buildEventV2(baseRequest({ forwarded: fwd })) as any;
    assert.deepEqual(ev.headers, {
      host: 'api.example.com',
      'user-agent': 'ua/1',
      'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-port': '8443',
      'x-forwarded-proto': 'https',
    });
  });

  it('payload 2.0 with an incoming X-Forwarded-For and trace id', () => {
    const ev = buildEventV2(
      baseRequest({
        rawHeaders: [
          'Host', 'api.example.com',
          'X-Forwarded-For', '203.0.113.9',
          'X-Forwarded-Port', '1',
          'X-Amzn-Trace-Id', incomingTrace,
        ],
        forwarded: { ...fwd, traceId: incomingTrace },
      }),
    ) as any;
    assert.deepEqual(ev.headers, {
      host: 'api.example.com',
      'x-amzn-trace-id': incomingTrace,
      'x-forwarded-for': '203.0.113.9, 198.51.100.7',
      'x-forwarded-port': '8443',
      'x-forwarded-proto': 'https',
    });
  });

  it('an empty incoming X-Forwarded-For counts as none', () => {
    const ev = buildEventV2(baseRequest({ rawHeaders: ['X-Forwarded-For', ' '], forwarded: fwd })) as any;
    assert.equal(ev.headers['x-forwarded-for'], '198.51.100.7');
  });

  it('without forwarded, received headers are reflected as they are', () => {
    const rawHeaders = ['X-Forwarded-For', '203.0.113.9', 'X-Amzn-Trace-Id', incomingTrace];
    assert.deepEqual((buildEventV1(baseRequest({ rawHeaders })) as any).headers, {
      'X-Forwarded-For': '203.0.113.9',
      'X-Amzn-Trace-Id': incomingTrace,
    });
    assert.deepEqual((buildEventV2(baseRequest({ rawHeaders })) as any).headers, {
      'x-forwarded-for': '203.0.113.9',
      'x-amzn-trace-id': incomingTrace,
    });
  });
});

describe('isBinaryBody', () => {
  it('HTTP API: text only for text/*, application/json, application/xml, application/javascript', () => {
    for (const ct of ['text/plain', 'text/html; charset=utf-8', 'TEXT/CSV', 'application/json', 'Application/JSON;charset=UTF-8', 'application/xml', 'application/javascript'])
      assert.equal(isBinaryBody(ct, undefined, 'http'), false, ct);
    for (const ct of [undefined, '', 'application/octet-stream', 'image/png', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/vnd.ms-excel'])
      assert.equal(isBinaryBody(ct, undefined, 'http'), true, String(ct));
  });
  it('HTTP API ignores binaryMediaTypes', () => {
    assert.equal(isBinaryBody('application/json', ['*/*'], 'http'), false);
  });
  it('REST: binary only when Content-Type matches binaryMediaTypes (exact, type/*, */*)', () => {
    assert.equal(isBinaryBody('application/octet-stream', undefined, 'rest'), false);
    assert.equal(isBinaryBody('application/octet-stream', [], 'rest'), false);
    assert.equal(isBinaryBody('application/octet-stream', ['application/octet-stream'], 'rest'), true);
    assert.equal(isBinaryBody('image/png', ['image/*'], 'rest'), true);
    assert.equal(isBinaryBody('image/png; q=1', ['IMAGE/PNG'], 'rest'), true);
    assert.equal(isBinaryBody('application/json', ['image/*'], 'rest'), false);
    assert.equal(isBinaryBody('text/plain', ['*/*'], 'rest'), true);
    assert.equal(isBinaryBody(undefined, ['*/*'], 'rest'), false);
  });
  it('matchesBinaryMediaTypes', () => {
    assert.equal(matchesBinaryMediaTypes('image/png', ['image/jpeg']), false);
    assert.equal(matchesBinaryMediaTypes('imagex/png', ['image/*']), false);
  });
});

describe('formatRequestTime', () => {
  it('formats like 09/Apr/2015:12:34:56 +0000 in UTC', () => {
    assert.equal(formatRequestTime(1428582896000), '09/Apr/2015:12:34:56 +0000');
    assert.equal(formatRequestTime(1718635693506), '17/Jun/2024:14:48:13 +0000');
    assert.equal(formatRequestTime(Date.UTC(2024, 0, 1, 0, 0, 0)), '01/Jan/2024:00:00:00 +0000');
  });
});
