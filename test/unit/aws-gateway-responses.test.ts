// Gateway responses (src/integrations/aws/gateway-responses.ts): AWS defaults for every type, customisation,
// DEFAULT_4XX/DEFAULT_5XX inheritance, header mappings, templates. Where a body or header was
// recorded against AWS (/work/shared/aws-groundtruth/localstack), the recorded value is asserted.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  DEFAULT_GATEWAY_RESPONSES,
  GATEWAY_RESPONSE_TYPES,
  type GatewayAnswer,
  GatewayResponseConfigError,
  type GatewayResponseInput,
  GatewayResponses,
  type GatewayResponseType,
} from '../../src/integrations/aws/gateway-responses.js';
import type { AwsGatewayResponse } from '../../src/openapi/types.js';
import { GROUND_TRUTH } from '../helpers/gateway.js';

const GROUND = `${GROUND_TRUTH}/localstack`;

function input(over: Partial<GatewayResponseInput> = {}, req: Partial<GatewayResponseInput['request']> = {}): GatewayResponseInput {
  return {
    requestId: 'req-1',
    stage: 'dev',
    stageVariables: { env: 'production' },
    request: { headers: {}, query: new URLSearchParams(), path: {}, ...req },
    ...over,
  };
}
function header(a: GatewayAnswer, name: string): string | undefined {
  const hit = a.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase());
  assert.ok(hit.length <= 1, `header ${name} appears ${hit.length} times`);
  return hit[0]?.[1];
}
function gr(p: Partial<AwsGatewayResponse>): AwsGatewayResponse {
  return { responseParameters: {}, responseTemplates: {}, ...p };
}
function recorded(file: string, testName: string): Record<string, unknown> | undefined {
  try {
    const all = JSON.parse(readFileSync(`${GROUND}/${file}`, 'utf8')) as Record<string, { 'recorded-content': Record<string, unknown> }>;
    const key = Object.keys(all).find((k) => k.endsWith(`::${testName}`));
    return key ? all[key]!['recorded-content'] : undefined;
  } catch {
    return undefined;
  }
}

// AWS "Gateway response types for API Gateway" (default status codes).
const AWS_DEFAULT_STATUS: Record<GatewayResponseType, number> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_BODY: 400,
  BAD_REQUEST_PARAMETERS: 400,
  DEFAULT_4XX: 400,
  DEFAULT_5XX: 500,
  EXPIRED_TOKEN: 403,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  INVALID_SIGNATURE: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  RESOURCE_NOT_FOUND: 404,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  WAF_FILTERED: 403,
};

test('REST defaults: every type answers its AWS status, JSON message body and x-amzn-ErrorType', () => {
  const g = new GatewayResponses('rest', {});
  assert.equal(GATEWAY_RESPONSE_TYPES.length, 21);
  for (const t of GATEWAY_RESPONSE_TYPES) {
    const d = DEFAULT_GATEWAY_RESPONSES.rest[t];
    const a = g.answer(t, input());
    assert.equal(a.status, AWS_DEFAULT_STATUS[t], t);
    assert.equal(d.status, AWS_DEFAULT_STATUS[t], t);
    assert.deepEqual(JSON.parse(a.body), { message: d.message }, t);
    assert.match(a.body, /^\{"message": ?(null|"[^"]*")\}$/, t);
    assert.equal(header(a, 'content-type'), 'application/json', t);
    assert.ok(d.errorType && /^[A-Z][A-Za-z]+Exception$/.test(d.errorType), t);
    assert.equal(header(a, 'x-amzn-ErrorType'), d.errorType, t);
  }
});

test('REST default bodies, byte for byte', () => {
  const g = new GatewayResponses('rest', {});
  const expect: Array<[GatewayResponseType, string, string]> = [
    ['MISSING_AUTHENTICATION_TOKEN', '{"message":"Missing Authentication Token"}', 'MissingAuthenticationTokenException'],
    ['INVALID_API_KEY', '{"message":"Forbidden"}', 'ForbiddenException'],
    ['UNAUTHORIZED', '{"message":"Unauthorized"}', 'UnauthorizedException'],
    ['ACCESS_DENIED', '{"message":"User is not authorized to access this resource"}', 'AccessDeniedException'],
    ['THROTTLED', '{"message":"Too Many Requests"}', 'TooManyRequestsException'],
    ['QUOTA_EXCEEDED', '{"message":"Limit Exceeded"}', 'LimitExceededException'],
    ['DEFAULT_5XX', '{"message": "Internal server error"}', 'InternalServerErrorException'],
    ['API_CONFIGURATION_ERROR', '{"message": "Internal server error"}', 'InternalServerErrorException'],
    ['INTEGRATION_TIMEOUT', '{"message": "Endpoint request timed out"}', 'InternalServerErrorException'],
    ['BAD_REQUEST_BODY', '{"message": "Invalid request body"}', 'BadRequestException'],
    ['UNSUPPORTED_MEDIA_TYPE', '{"message": "Unsupported Media Type"}', 'BadRequestException'],
    ['AUTHORIZER_CONFIGURATION_ERROR', '{"message": null}', 'AuthorizerConfigurationException'],
  ];
  for (const [t, body, errorType] of expect) {
    const a = g.answer(t, input());
    assert.equal(a.body, body, t);
    assert.equal(header(a, 'x-amzn-ErrorType'), errorType, t);
  }
});

test('recordings: not-found and validator messages match AWS', () => {
  const g = new GatewayResponses('rest', {});
  const nf = g.answer('MISSING_AUTHENTICATION_TOKEN', input());
  const rec = recorded('test_apigateway_common.snapshot.json', 'test_routing_not_found') as Record<string, { content: unknown; errorType: string }> | undefined;
  const expected = rec?.['not-found'] ?? { content: { message: 'Missing Authentication Token' }, errorType: 'MissingAuthenticationTokenException' };
  assert.deepEqual(JSON.parse(nf.body), expected.content);
  assert.equal(header(nf, 'x-amzn-ErrorType'), expected.errorType);
  assert.equal(nf.status, 403);

  const val = recorded('test_apigateway_common.snapshot.json', 'test_api_gateway_request_validator') as Record<string, { message: string }> | undefined;
  for (const [key, missing] of [
    ['missing-all-required-request-params-post', 'x-header-param, issuer, qs1'],
    ['missing-required-headers-request-params-get', 'x-header-param'],
    ['missing-required-qs-request-params-get', 'qs1'],
  ] as const) {
    const a = g.answer('BAD_REQUEST_PARAMETERS', input({ message: `Missing required request parameters: [${missing}]` }));
    assert.equal(a.status, 400);
    assert.equal(header(a, 'x-amzn-ErrorType'), 'BadRequestException');
    assert.deepEqual(JSON.parse(a.body), val?.[key] ?? { message: `Missing required request parameters: [${missing}]` });
  }
  const body = g.answer('BAD_REQUEST_BODY', input());
  assert.deepEqual(JSON.parse(body.body), val?.['invalid-request-body'] ?? { message: 'Invalid request body' });
});

test('recordings: REST 500 is 36 bytes with InternalServerErrorException (TestApiGatewayHeaderRemapping)', () => {
  const g = new GatewayResponses('rest', {});
  const a = g.answer('API_CONFIGURATION_ERROR', input());
  const rec = recorded('test_apigateway_integrations.snapshot.json', 'test_apigateway_header_remapping_aws[AWS_PROXY]') as
    | Record<string, { body: unknown; 'response-headers': Record<string, string> }>
    | undefined;
  const cl = rec?.['content-length'];
  assert.equal(Buffer.byteLength(a.body), Number(cl?.['response-headers']['Content-Length'] ?? 36));
  assert.deepEqual(JSON.parse(a.body), cl?.body ?? { message: 'Internal server error' });
  assert.equal(header(a, 'x-amzn-ErrorType'), cl?.['response-headers']['x-amzn-ErrorType'] ?? 'InternalServerErrorException');
  assert.equal(a.status, 500);
});

test('HTTP API defaults: reason-phrase messages, compact JSON, no error-type header, customisation ignored', () => {
  const g = new GatewayResponses('http', { DEFAULT_4XX: gr({ statusCode: '418', responseParameters: { 'gatewayresponse.header.X-A': "'1'" } }) });
  assert.equal(g.warnings.length, 1);
  const expect: Partial<Record<GatewayResponseType, [number, string]>> = {
    MISSING_AUTHENTICATION_TOKEN: [404, '{"message":"Not Found"}'],
    RESOURCE_NOT_FOUND: [404, '{"message":"Not Found"}'],
    UNAUTHORIZED: [401, '{"message":"Unauthorized"}'],
    ACCESS_DENIED: [403, '{"message":"Forbidden"}'],
    THROTTLED: [429, '{"message":"Too Many Requests"}'],
    DEFAULT_5XX: [500, '{"message":"Internal Server Error"}'],
    INTEGRATION_FAILURE: [500, '{"message":"Internal Server Error"}'],
    INTEGRATION_TIMEOUT: [503, '{"message":"Service Unavailable"}'],
  };
  for (const t of GATEWAY_RESPONSE_TYPES) {
    const a = g.answer(t, input());
    const d = DEFAULT_GATEWAY_RESPONSES.http[t];
    assert.equal(a.status, d.status, t);
    assert.equal(a.body, `{"message":${JSON.stringify(d.message)}}`, t);
    assert.equal(header(a, 'x-amzn-ErrorType'), undefined, t);
    assert.equal(header(a, 'X-A'), undefined, t);
    assert.deepEqual(a.headers, [['content-type', 'application/json']], t);
    const e = expect[t];
    if (e) assert.deepEqual([a.status, a.body], e, t);
  }
});

test('message override replaces $context.error.message', () => {
  const g = new GatewayResponses('rest', {});
  const a = g.answer('BAD_REQUEST_PARAMETERS', input({ message: 'Missing required request parameters: [q]' }));
  assert.equal(a.body, '{"message": "Missing required request parameters: [q]"}');
  const b = g.answer('UNAUTHORIZED', input({ message: 'quote " and \\ backslash' }));
  assert.deepEqual(JSON.parse(b.body), { message: 'quote " and \\ backslash' });
});

test('customised type: status override, static and request-sourced headers, template with $context.error.*', () => {
  const g = new GatewayResponses('rest', {
    INVALID_API_KEY: gr({
      statusCode: '456',
      responseParameters: {
        'gatewayresponse.header.api-key': 'method.request.header.x-api-key',
        'gatewayresponse.header.Access-Control-Allow-Origin': "'*'",
        'gatewayresponse.header.X-Q': 'method.request.querystring.q',
        'gatewayresponse.header.X-P': 'method.request.path.id',
        'gatewayresponse.header.X-Req': 'context.requestId',
        'gatewayresponse.header.X-Principal': 'context.authorizer.principalId',
        'gatewayresponse.header.X-Env': 'stageVariables.env',
        'gatewayresponse.header.X-Absent': 'method.request.header.nope',
      },
      responseTemplates: {
        'application/json':
          '{"message":$context.error.messageString,"type":"$context.error.responseType","raw":"$context.error.message","id":"$context.requestId","stage":"$context.stage","env":"$stageVariables.env","who":"$context.authorizer.principalId"}',
      },
    }),
  });
  const a = g.answer(
    'INVALID_API_KEY',
    input(
      { context: { authorizer: { principalId: 'user-7' } } },
      { headers: { 'X-Api-Key': 'k123' }, query: new URLSearchParams('q=1&q=2'), path: { id: '42' } },
    ),
  );
  assert.equal(a.status, 456);
  assert.equal(header(a, 'x-amzn-ErrorType'), 'ForbiddenException');
  assert.equal(header(a, 'api-key'), 'k123');
  assert.equal(header(a, 'Access-Control-Allow-Origin'), '*');
  assert.equal(header(a, 'X-Q'), '2');
  assert.equal(header(a, 'X-P'), '42');
  assert.equal(header(a, 'X-Req'), 'req-1');
  assert.equal(header(a, 'X-Principal'), 'user-7');
  assert.equal(header(a, 'X-Env'), 'production');
  assert.equal(header(a, 'X-Absent'), undefined);
  assert.deepEqual(JSON.parse(a.body), {
    message: 'Forbidden',
    type: 'INVALID_API_KEY',
    raw: 'Forbidden',
    id: 'req-1',
    stage: 'dev',
    env: 'production',
    who: 'user-7',
  });
  // Other 4XX types are untouched by a specific customisation.
  const other = g.answer('UNAUTHORIZED', input());
  assert.equal(other.status, 401);
  assert.equal(header(other, 'Access-Control-Allow-Origin'), undefined);
});

test('inheritance: uncustomised types fall back to a customised DEFAULT_4XX / DEFAULT_5XX of their class', () => {
  const g = new GatewayResponses('rest', {
    DEFAULT_4XX: gr({
      responseParameters: { 'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example'" },
      responseTemplates: { 'application/json': '{"error":$context.error.messageString,"type":"$context.error.responseType"}' },
    }),
    DEFAULT_5XX: gr({ statusCode: '503', responseParameters: { 'gatewayresponse.header.Retry-After': "'5'" } }),
    UNAUTHORIZED: gr({ responseTemplates: { 'application/json': '{"auth":"required"}' } }),
  });
  // 4XX: inherits headers and template, keeps its own status and error type.
  const mat = g.answer('MISSING_AUTHENTICATION_TOKEN', input());
  assert.equal(mat.status, 403);
  assert.equal(header(mat, 'x-amzn-ErrorType'), 'MissingAuthenticationTokenException');
  assert.equal(header(mat, 'Access-Control-Allow-Origin'), 'https://app.example');
  assert.deepEqual(JSON.parse(mat.body), { error: 'Missing Authentication Token', type: 'MISSING_AUTHENTICATION_TOKEN' });
  const thr = g.answer('THROTTLED', input());
  assert.equal(thr.status, 429);
  assert.deepEqual(JSON.parse(thr.body), { error: 'Too Many Requests', type: 'THROTTLED' });
  // A specific customisation wins entirely (no merge with DEFAULT_4XX).
  const un = g.answer('UNAUTHORIZED', input());
  assert.equal(un.status, 401);
  assert.equal(un.body, '{"auth":"required"}');
  assert.equal(header(un, 'Access-Control-Allow-Origin'), undefined);
  // 5XX: DEFAULT_5XX status applies to every 5XX type; no templates = AWS default template (compact).
  for (const t of ['INTEGRATION_TIMEOUT', 'API_CONFIGURATION_ERROR', 'DEFAULT_5XX', 'AUTHORIZER_FAILURE'] as const) {
    const a = g.answer(t, input());
    assert.equal(a.status, 503, t);
    assert.equal(header(a, 'Retry-After'), '5', t);
    assert.equal(header(a, 'Access-Control-Allow-Origin'), undefined, t);
    assert.equal(a.body, `{"message":${JSON.stringify(DEFAULT_GATEWAY_RESPONSES.rest[t].message)}}`, t);
  }
  assert.equal(g.status('INTEGRATION_FAILURE'), 503);
  assert.equal(g.status('INVALID_API_KEY'), 403);
});

test('DEFAULT_4XX status override changes every 4XX type that is not customised itself', () => {
  const g = new GatewayResponses('rest', { DEFAULT_4XX: gr({ statusCode: '400' }), ACCESS_DENIED: gr({}) });
  assert.equal(g.answer('MISSING_AUTHENTICATION_TOKEN', input()).status, 400);
  assert.equal(g.answer('UNAUTHORIZED', input()).status, 400);
  assert.equal(g.answer('ACCESS_DENIED', input()).status, 403);
  assert.equal(g.answer('INTEGRATION_TIMEOUT', input()).status, 504);
});

test('templates chosen by Accept, application/json by default; content-type follows the template', () => {
  const g = new GatewayResponses('rest', {
    RESOURCE_NOT_FOUND: gr({
      responseTemplates: {
        'text/html': '<p>$context.error.message</p>',
        'application/json': '{"nf":$context.error.messageString}',
        'application/xml': '<e>$context.error.message</e>',
      },
    }),
  });
  const json = g.answer('RESOURCE_NOT_FOUND', input());
  assert.equal(json.body, '{"nf":"Not Found"}');
  assert.equal(header(json, 'content-type'), 'application/json');
  const html = g.answer('RESOURCE_NOT_FOUND', input({}, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9' } }));
  assert.equal(html.body, '<p>Not Found</p>');
  assert.equal(header(html, 'content-type'), 'text/html');
  const xml = g.answer('RESOURCE_NOT_FOUND', input({}, { headers: { Accept: 'text/html;q=0.5, application/xml' } }));
  assert.equal(xml.body, '<e>Not Found</e>');
  const none = g.answer('RESOURCE_NOT_FOUND', input({}, { headers: { accept: 'image/png' } }));
  assert.equal(none.body, '{"nf":"Not Found"}');
});

test('a customised header may replace Content-Type; header values with control characters are dropped', () => {
  const g = new GatewayResponses('rest', {
    DEFAULT_4XX: gr({
      responseParameters: {
        'gatewayresponse.header.Content-Type': "'application/problem+json'",
        'gatewayresponse.header.X-Bad': 'context.bad',
      },
    }),
  });
  const a = g.answer('DEFAULT_4XX', input({ context: { bad: 'a\r\nInjected: 1' } }));
  assert.equal(header(a, 'content-type'), 'application/problem+json');
  assert.equal(header(a, 'X-Bad'), undefined);
  assert.equal(header(a, 'Injected'), undefined);
});

test('a template the VTL engine cannot parse is served by simple substitution (AWS does not use VTL here)', () => {
  const g = new GatewayResponses('rest', {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a VTL ${...} reference, not JavaScript
    THROTTLED: gr({ responseTemplates: { 'application/json': '{"m":$context.error.messageString,"x":"#if(","id":"${context.requestId}"}' } }),
  });
  assert.equal(g.warnings.length, 1);
  const a = g.answer('THROTTLED', input());
  assert.equal(a.body, '{"m":"Too Many Requests","x":"#if(","id":"req-1"}');
});

test('invalid customisations are refused with every problem listed', () => {
  assert.throws(
    () =>
      new GatewayResponses('rest', {
        NOT_A_TYPE: gr({}),
        DEFAULT_4XX: gr({
          statusCode: '99',
          responseParameters: {
            'method.response.header.X': "'a'",
            'gatewayresponse.header.Bad Name': "'a'",
            'gatewayresponse.header.X-Body': 'method.request.body.x',
          },
        }),
      }),
    (e: unknown) => {
      assert.ok(e instanceof GatewayResponseConfigError);
      const fields = e.problems.map((p) => `${p.type}:${p.field}`);
      assert.deepEqual(fields.sort(), [
        'DEFAULT_4XX:responseParameters.gatewayresponse.header.Bad Name',
        'DEFAULT_4XX:responseParameters.gatewayresponse.header.X-Body',
        'DEFAULT_4XX:responseParameters.method.response.header.X',
        'DEFAULT_4XX:statusCode',
        'NOT_A_TYPE:',
      ]);
      return true;
    },
  );
});

test('multi-value sources and request headers given as arrays', () => {
  const g = new GatewayResponses('rest', {
    DEFAULT_4XX: gr({
      responseParameters: {
        'gatewayresponse.header.X-All': 'method.request.multivaluequerystring.t',
        'gatewayresponse.header.X-Last': 'method.request.header.x-multi',
        'gatewayresponse.header.X-Every': 'method.request.multivalueheader.x-multi',
      },
    }),
  });
  const a = g.answer('QUOTA_EXCEEDED', input({}, { headers: { 'x-multi': ['a', 'b'] }, query: new URLSearchParams('t=1&t=2') }));
  assert.equal(header(a, 'X-All'), '1,2');
  assert.equal(header(a, 'X-Last'), 'b');
  assert.equal(header(a, 'X-Every'), 'a,b');
});
