// Issue 10, defects 1-3, through the real gateway process:
// - every security construct the AWS importer knows is enforced or refused, never served open;
// - the check order is AWS's: authentication (authorizer, IAM, API key) before request validation;
// - every answer Turnpike makes itself on an AWS route renders through the API's gateway responses.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashApiKey } from '../../src/security/api-keys.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { deadPort, startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = 'k'.repeat(40);
const ALLOW_ALL = `export const handler = async (event) => ({ principalId: 'u', policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }] } });\n`;
const ALLOW_V2 = `export const handler = async () => ({ isAuthorized: true });\n`;

let upstream: Upstream;
const gateways: RunningGateway[] = [];

/** A directory with the document, its authorizer functions and a gateway config naming it. */
async function serveDocument(doc: string, gatewayExtra = ''): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-fail-closed-'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'allowAll.mjs'), ALLOW_ALL);
  writeFileSync(join(dir, 'functions', 'allowV2.mjs'), ALLOW_V2);
  writeFileSync(join(dir, 'api.yaml'), doc);
  const gw = await startGateway(`${gatewayExtra}\napis:\n  - name: api\n    openapi: api.yaml\n`, { dir });
  gateways.push(gw);
  return gw;
}

const proxyTo = (path: string) =>
  `{ type: http_proxy, httpMethod: GET, uri: "${upstream.url}${path}", payloadFormatVersion: '1.0' }`;

before(async () => {
  upstream = await startUpstream();
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await upstream?.close();
});

describe('no security construct fails open', () => {
  // Each route requires one construct; a request without credentials must never reach the upstream.
  const REST_CASES: { path: string; security: string; status: number }[] = [
    { path: '/iam-extension', security: 'x-amazon-apigateway-auth: { type: AWS_IAM }', status: 403 },
    { path: '/iam-scheme', security: 'security: [{ sigv4: [] }]', status: 403 },
    { path: '/api-key', security: 'security: [{ api_key: [] }]', status: 403 },
    { path: '/api-key-renamed', security: 'security: [{ keyScheme: [] }]', status: 403 },
    { path: '/api-key-first-of-two', security: 'security: [{ api_key: [] }, { tokenAuth: [] }]', status: 403 },
    { path: '/token', security: 'security: [{ tokenAuth: [] }]', status: 401 },
    { path: '/request', security: 'security: [{ requestAuth: [] }]', status: 401 },
    { path: '/cognito', security: 'security: [{ cognito: [] }]', status: 401 },
    { path: '/oauth2', security: 'security: [{ oauth: [read] }]', status: 500 },
    { path: '/bearer', security: 'security: [{ bearer: [] }]', status: 500 },
    { path: '/oidc', security: 'security: [{ oidc: [] }]', status: 500 },
    { path: '/query-key', security: 'security: [{ queryKey: [] }]', status: 500 },
    { path: '/custom-authtype', security: 'security: [{ customType: [] }]', status: 500 },
    { path: '/iam-and-key', security: 'security: [{ sigv4: [], api_key: [] }]', status: 403 },
  ];
  const restDoc = () => `openapi: 3.0.1
info: { title: fail-closed, version: '1' }
paths:
  /open:
    get:
      x-amazon-apigateway-integration: ${proxyTo('/open')}
${REST_CASES.map(
  (c) => `  ${c.path}:
    get:
      ${c.security}
      x-amazon-apigateway-integration: ${proxyTo(c.path)}`,
).join('\n')}
components:
  securitySchemes:
    sigv4: { type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4 }
    api_key: { type: apiKey, name: x-api-key, in: header }
    keyScheme: { type: apiKey, name: X-API-Key, in: header }
    tokenAuth:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: { type: token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:allowAll/invocations", authorizerResultTtlInSeconds: 0 }
    requestAuth:
      type: apiKey
      name: Unused
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: { type: request, identitySource: method.request.header.X-Token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:allowAll/invocations", authorizerResultTtlInSeconds: 0 }
    cognito:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: cognito_user_pools
      x-amazon-apigateway-authorizer: { type: cognito_user_pools, providerARNs: ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"] }
    oauth: { type: oauth2, flows: { clientCredentials: { tokenUrl: "https://auth.example.com/token", scopes: { read: r } } } }
    bearer: { type: http, scheme: bearer }
    oidc: { type: openIdConnect, openIdConnectUrl: "https://auth.example.com/.well-known/openid-configuration" }
    queryKey: { type: apiKey, name: token, in: query }
    customType: { type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: custom }
`;

  test('REST: every construct refuses a request without credentials; only the open route reaches the upstream', async () => {
    const gw = await serveDocument(restDoc());
    const before = upstream.seen.length;
    const open = await fetch(`${gw.url}/dev/open`);
    assert.equal(open.status, 200, 'the open route reaches the upstream (the harness can tell)');
    assert.equal(upstream.seen.length, before + 1);
    for (const c of REST_CASES) {
      const res = await fetch(`${gw.url}/dev${c.path}`);
      const body = await res.text();
      assert.equal(res.status, c.status, `${c.path}: ${body}`);
      assert.ok(res.headers.get('x-amzn-requestid'), `${c.path}: x-amzn-RequestId`);
    }
    assert.equal(upstream.seen.length, before + 1, 'no secured route reached the upstream');
    // IAM with credentials configured: an unsigned request is still refused as AWS does.
    const iamDir = await serveDocument(
      restDoc(),
      `plugins:\n  aws-iam:\n    credentials:\n      - { accessKeyId: AKIDFAILCLOSED000001, secretAccessKey: "s3cr3tKeyForTheFailClosedTest0000000000", userArn: "arn:aws:iam::123456789012:user/ci", accountId: "123456789012" }\n`,
    );
    for (const p of ['/iam-extension', '/iam-scheme']) {
      const res = await fetch(`${iamDir.url}/dev${p}`);
      assert.equal(res.status, 403, p);
      assert.deepEqual(await res.json(), { message: 'Missing Authentication Token' });
    }
    assert.equal(upstream.seen.length, before + 1, 'still nothing reached the upstream');
  });

  test('HTTP API: JWT, Lambda REQUEST (2.0) and awsSigv4 schemes are enforced; an unknown scheme refuses with 500', async () => {
    const gw = await serveDocument(`openapi: 3.0.1
info: { title: fail-closed-http, version: '1' }
x-amazon-apigateway-importexport-version: '1.0'
paths:
  /jwt:
    get:
      security: [{ jwtAuth: [] }]
      x-amazon-apigateway-integration: ${proxyTo('/jwt')}
  /lambda:
    get:
      security: [{ lambdaAuth: [] }]
      x-amazon-apigateway-integration: ${proxyTo('/lambda')}
  /iam:
    get:
      security: [{ sigv4: [] }]
      x-amazon-apigateway-integration: ${proxyTo('/iam')}
  /bearer:
    get:
      security: [{ bearer: [] }]
      x-amazon-apigateway-integration: ${proxyTo('/bearer')}
components:
  securitySchemes:
    jwtAuth:
      type: oauth2
      x-amazon-apigateway-authorizer: { type: jwt, identitySource: $request.header.Authorization, jwtConfiguration: { issuer: "https://issuer.example.com", audience: [a] } }
    lambdaAuth:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authorizer: { type: request, identitySource: $request.header.Authorization, authorizerPayloadFormatVersion: '2.0', enableSimpleResponses: true, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:allowV2/invocations" }
    sigv4: { type: apiKey, name: Authorization, in: header, x-amazon-apigateway-authtype: awsSigv4 }
    bearer: { type: http, scheme: bearer }
`);
    const before = upstream.seen.length;
    const expect: [string, number][] = [
      ['/jwt', 401],
      ['/lambda', 401],
      ['/iam', 403],
      ['/bearer', 500],
    ];
    for (const [p, status] of expect) {
      const res = await fetch(`${gw.url}${p}`);
      assert.equal(res.status, status, `${p}: ${await res.text()}`);
    }
    assert.equal(upstream.seen.length, before, 'nothing reached the upstream');
    // The authorizer does run when credentials are given (the 401 above was not a broken route).
    const ok = await fetch(`${gw.url}/lambda`, { headers: { authorization: 'anything' } });
    assert.equal(ok.status, 200);
  });
});

describe('check order and gateway responses', () => {
  let gw: RunningGateway;
  let dead: number;
  before(async () => {
    dead = await deadPort();
    gw = await serveDocument(
      `openapi: 3.0.1
info: { title: ordered, version: '1' }
x-amazon-apigateway-request-validators:
  all: { validateRequestBody: true, validateRequestParameters: true }
x-amazon-apigateway-gateway-responses:
  DEFAULT_4XX:
    responseParameters:
      gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
    responseTemplates:
      application/json: '{"error":$context.error.messageString,"type":"$context.error.responseType","details":"$context.error.validationErrorString"}'
  DEFAULT_5XX:
    responseParameters:
      gatewayresponse.header.Access-Control-Allow-Origin: "'*'"
paths:
  /keyed:
    post:
      security: [{ api_key: [] }]
      x-amazon-apigateway-request-validator: all
      parameters: [{ name: q, in: query, required: true, schema: { type: string } }]
      requestBody: { content: { application/json: { schema: { type: object, required: [name] } } } }
      x-amazon-apigateway-integration: { type: http_proxy, httpMethod: POST, uri: "${upstream.url}/keyed" }
  /authorized:
    get:
      security: [{ tokenAuth: [] }]
      x-amazon-apigateway-request-validator: all
      parameters: [{ name: q, in: query, required: true, schema: { type: string } }]
      x-amazon-apigateway-integration: ${proxyTo('/authorized')}
  /dead:
    get:
      x-amazon-apigateway-integration: { type: http_proxy, httpMethod: GET, uri: "http://127.0.0.1:${dead}/x" }
  /blocked:
    get:
      x-amazon-apigateway-integration: ${proxyTo('/blocked')}
components:
  securitySchemes:
    api_key: { type: apiKey, name: x-api-key, in: header }
    tokenAuth:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer: { type: token, authorizerUri: "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:allowAll/invocations", authorizerResultTtlInSeconds: 0 }
`,
      `usagePlans:
  tiny: { apiStages: [{ api: api, stage: dev }], throttle: { rateLimit: 0.001, burstLimit: 2 } }
apiKeys:
  - { id: key1, name: ci, hash: "${hashApiKey(KEY)}", usagePlans: [tiny] }
plugins:
  waf: { rules: [{ id: no-evil, action: block, when: [{ field: query, name: evil, operator: equals, value: "yes" }] }] }
`,
    );
  });

  const answer = async (res: Response) => ({ status: res.status, origin: res.headers.get('access-control-allow-origin'), requestId: res.headers.get('x-amzn-requestid'), body: await res.text() });

  test('authentication before validation: no key and no parameter is 403, not 400; an authorizer failure is 401', async () => {
    const before = upstream.seen.length;
    const noKey = await answer(await fetch(`${gw.url}/dev/keyed`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }));
    assert.equal(noKey.status, 403, noKey.body);
    assert.deepEqual(JSON.parse(noKey.body), { error: 'Forbidden', type: 'INVALID_API_KEY', details: '' });
    const noToken = await answer(await fetch(`${gw.url}/dev/authorized`));
    assert.equal(noToken.status, 401, noToken.body);
    assert.equal(JSON.parse(noToken.body).type, 'UNAUTHORIZED');
    assert.equal(upstream.seen.length, before);
  });

  test('every early answer renders through the gateway responses: DEFAULT_4XX/5XX headers inherited, validationErrorString filled', async () => {
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
    const params = await answer(await fetch(`${gw.url}/dev/keyed`, { method: 'POST', body: '{"name":"x"}', headers }));
    assert.equal(params.status, 400);
    assert.deepEqual(JSON.parse(params.body), {
      error: 'Missing required request parameters: [q]',
      type: 'BAD_REQUEST_PARAMETERS',
      details: 'Missing required request parameters: [q]',
    });
    const body = await answer(await fetch(`${gw.url}/dev/keyed?q=1`, { method: 'POST', body: '{}', headers }));
    assert.equal(body.status, 400);
    // The string is substituted as is (AWS's templates do no escaping): the quotes it contains end the JSON string.
    assert.equal(body.body, '{"error":"Invalid request body","type":"BAD_REQUEST_BODY","details":"[object has missing required properties (["name"])]"}');
    // The burst of 2 is spent by the two requests above: throttled, through DEFAULT_4XX too.
    const throttled = await answer(await fetch(`${gw.url}/dev/keyed?q=1`, { method: 'POST', body: '{"name":"x"}', headers }));
    assert.equal(throttled.status, 429);
    assert.equal(JSON.parse(throttled.body).type, 'THROTTLED');
    const waf = await answer(await fetch(`${gw.url}/dev/blocked?evil=yes`));
    assert.equal(waf.status, 403);
    assert.equal(JSON.parse(waf.body).type, 'WAF_FILTERED');
    const unauthorized = await answer(await fetch(`${gw.url}/dev/authorized`));
    const failure = await answer(await fetch(`${gw.url}/dev/dead`));
    assert.equal(failure.status, 500, 'a refused connection is never a 504 (AWS: 500 Internal server error)');
    assert.deepEqual(JSON.parse(failure.body), { message: 'Internal server error' });
    for (const a of [params, body, throttled, waf, unauthorized, failure]) {
      assert.equal(a.origin, '*', `${a.status} ${a.body}: Access-Control-Allow-Origin from DEFAULT_4XX/DEFAULT_5XX`);
      assert.ok(a.requestId, 'x-amzn-RequestId on every REST answer');
    }
  });
});

describe('error dialects of native APIs', () => {
  test('native JSON with code and request id by default; errorDialect aws-rest answers AWS default gateway responses', async () => {
    const gw = await startGateway(`
usagePlans:
  p: { apiStages: [{ api: native }, { api: aws }] }
apiKeys:
  - { id: k, name: k, hash: "${hashApiKey(KEY)}", usagePlans: [p] }
apis:
  - name: native
    plugins: { api-key: {} }
    routes: [{ path: /n, integration: { type: mock } }]
  - name: aws
    errorDialect: aws-rest
    plugins: { api-key: {} }
    routes: [{ path: /a, integration: { type: mock } }]
`);
    gateways.push(gw);
    const n = await fetch(`${gw.url}/n`);
    assert.equal(n.status, 403);
    const nb = (await n.json()) as Record<string, string>;
    assert.equal(nb.code, 'INVALID_API_KEY');
    assert.equal(nb.message, 'Forbidden');
    assert.ok(nb.requestId && nb.requestId === n.headers.get('x-request-id'), 'the body names the request id the gateway answered with');
    const a = await fetch(`${gw.url}/a`);
    assert.equal(a.status, 403);
    assert.equal(await a.text(), '{"message":"Forbidden"}');
    assert.equal(a.headers.get('x-amzn-errortype'), 'ForbiddenException');
    assert.ok(a.headers.get('x-amzn-requestid'));
    assert.equal((await fetch(`${gw.url}/n`, { headers: { 'x-api-key': KEY } })).status, 200);
  });
});
