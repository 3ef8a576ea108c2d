// Issue 11, "crafted bodies on AWS routes": one gateway config for the inject and process tiers
// (test/inject/crafted-names.test.ts, test/integration/crafted-bodies.test.ts). A native API (http and
// function routes) beside a REST document (non-proxy mock, non-proxy http, HTTP_PROXY, a validated
// model with the OWASP e-mail pattern) and an HTTP API document (HTTP_PROXY).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/gateway.js';

/** Names that are Object.prototype members: plain names everywhere request data becomes an object. */
export const PROTO_NAMES = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty'] as const;

/** The OWASP validation-regex e-mail pattern: exponential on V8 (38 bytes of `a` and a `!` take over a minute). */
export const OWASP_EMAIL = String.raw`^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$`;
/** The pattern the issue names: flagged (star height 2), though V8 happens to run it fast. */
export const COMMON_EMAIL = String.raw`^([a-zA-Z0-9_\.\-])+\@(([a-zA-Z0-9\-])+\.)+([a-zA-Z0-9]{2,4})+$`;
/** 38 bytes that freeze V8 on OWASP_EMAIL. */
export const FREEZING_VALUE = `${'a'.repeat(37)}!`;

/**
 * The AWS console's "Method Request passthrough" template (abridged context block): $input.json('$')
 * parses and re-serialises the whole body, which costs seconds of CPU for an 8 MB JSON body.
 */
export const PASSTHROUGH_TEMPLATE = `#set($allParams = $input.params())
{
"body-json" : $input.json('$'),
"params" : {
#foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
"$type" : {
    #foreach($paramName in $params.keySet())
    "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
        #if($foreach.hasNext),#end
    #end
}
    #if($foreach.hasNext),#end
#end
},
"stage-variables" : {
#foreach($key in $stageVariables.keySet())
"$key" : "$util.escapeJavaScript($stageVariables.get($key))"
    #if($foreach.hasNext),#end
#end
},
"context" : {
    "http-method" : "$context.httpMethod",
    "stage" : "$context.stage",
    "source-ip" : "$context.identity.sourceIp",
    "request-id" : "$context.requestId",
    "resource-path" : "$context.resourcePath"
    }
}
`;

/** A query string and header set using every proto name: `constructor=q-constructor&...`. */
export const PROTO_QUERY = PROTO_NAMES.map((n) => `${n}=q-${n}`).join('&');
export const PROTO_HEADERS: Record<string, string> = Object.fromEntries(PROTO_NAMES.filter((n) => n !== '__proto__').map((n) => [n, `h-${n}`]));

const mock = (template: string) => ({
  type: 'mock',
  requestTemplates: { 'application/json': '{"statusCode": 200}' },
  responses: { default: { statusCode: '200', responseTemplates: { 'application/json': template } } },
});

/** Writes the REST document into a temp dir; returns the native config that serves it, and the HTTP API document's text. */
export function craftedConfig(upstreamUrl: string): { dir: string; config: string; httpApi: string } {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-crafted-'));
  const params = PROTO_NAMES.map((n) => `"${n}":"$util.escapeJavaScript($input.params('${n}'))"`).join(',');
  const rest = {
    openapi: '3.0.1',
    info: { title: 'crafted', version: '1.0' },
    'x-amazon-apigateway-request-validators': { body: { validateRequestBody: true, validateRequestParameters: false } },
    paths: {
      '/mock': { get: { 'x-amazon-apigateway-integration': mock(`{${params},"all":"$util.escapeJavaScript($input.params().querystring)"}`) } },
      '/mapped': {
        get: {
          'x-amazon-apigateway-integration': {
            type: 'http',
            httpMethod: 'GET',
            uri: `${upstreamUrl}/mapped`,
            requestParameters: Object.fromEntries(
              PROTO_NAMES.flatMap((n) => [
                [`integration.request.querystring.${n}`, `method.request.querystring.${n}`],
                ...(n === '__proto__' ? [] : [[`integration.request.header.x-${n.toLowerCase()}`, `method.request.header.${n}`]]),
              ]),
            ),
            responses: { default: { statusCode: '200' } },
          },
        },
      },
      '/proxy': { get: { 'x-amazon-apigateway-integration': { type: 'http_proxy', httpMethod: 'GET', uri: `${upstreamUrl}/proxy` } } },
      '/signup': {
        post: {
          'x-amazon-apigateway-request-validator': 'body',
          requestBody: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Signup' } } } },
          'x-amazon-apigateway-integration': mock('{"ok":true}'),
        },
      },
      '/passthrough': {
        post: {
          'x-amazon-apigateway-integration': {
            type: 'http',
            httpMethod: 'POST',
            uri: `${upstreamUrl}/passthrough`,
            requestTemplates: { 'application/json': PASSTHROUGH_TEMPLATE },
            passthroughBehavior: 'WHEN_NO_TEMPLATES',
            responses: { default: { statusCode: '200' } },
          },
        },
      },
    },
    components: {
      schemas: {
        Signup: { type: 'object', required: ['email'], properties: { email: { type: 'string', pattern: OWASP_EMAIL }, alt: { type: 'string', pattern: COMMON_EMAIL } } },
      },
    },
  };
  const http = {
    openapi: '3.0.1',
    info: { title: 'crafted-http', version: '1.0' },
    paths: {
      '/hproxy': {
        get: { 'x-amazon-apigateway-integration': { type: 'http_proxy', httpMethod: 'GET', uri: `${upstreamUrl}/hproxy`, payloadFormatVersion: '1.0' } },
      },
    },
  };
  writeFileSync(join(dir, 'rest.json'), JSON.stringify(rest, null, 2));
    const config = `
functions:
  echo: { module: "${ROOT}/test/fixtures/gateway-functions/echo.mjs" }
apis:
  - name: native
    routes:
      - { name: up, path: /native/up, integration: { type: http, url: "${upstreamUrl}" } }
      - { name: fn-v1, path: /native/fn1, integration: { type: function, function: echo, apiType: rest } }
      - { name: fn-v2, path: /native/fn2, integration: { type: function, function: echo } }
  - name: rest
    openapi: ./rest.json
`;
  // The HTTP API apart: two documents would both claim the $default catch-all.
  return { dir, config, httpApi: JSON.stringify(http, null, 2) };
}

/** An 8 MB JSON body of small objects: the costly shape for $input.json('$') (parse + re-serialise). */
export function bigJsonBody(): string {
  const items: unknown[] = [];
  let size = 0;
  while (size < 8_000_000) {
    items.push({ id: items.length, name: `item-${items.length}`, price: 9.5, tags: ['a', 'b'] });
    size += 60;
  }
  return JSON.stringify(items);
}
