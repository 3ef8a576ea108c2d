import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signRequest } from '../helpers/aws-iam.js';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Issuer, makeKey, mint, type SigningKey, startIssuer } from '../helpers/jwt.js';
import { hashApiKey } from '../../src/security/api-keys.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let signingKey: SigningKey;

// An AWS document's security is enforced by the security plugins, on exactly the routes that require it.
const CREDS = { accessKeyId: 'AKIDEXAMPLEGATEWAY01', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
let gw: InjectedGateway;
let secured: InjectedGateway;
let jwtApi: InjectedGateway;
let issuer: Issuer;
const KEY = 'k'.repeat(40);

before(async () => {
  gw = await injectGateway(`
apis:
  - name: iam-api
    openapi: ${ROOT}/test/fixtures/aws/iam.yaml
    plugins:
      aws-iam:
        credentials:
          - { accessKeyId: ${CREDS.accessKeyId}, secretAccessKey: "${CREDS.secretAccessKey}", userArn: "arn:aws:iam::123456789012:user/ci", accountId: "123456789012" }
`);
  secured = await injectGateway(`
usagePlans:
  basic: { apiStages: [{ api: secured, stage: dev }] }
apiKeys:
  - { id: key1, name: ci, hash: "${hashApiKey(KEY)}", usagePlans: [basic] }
apis:
  - name: secured
    openapi: ${ROOT}/test/fixtures/aws/secured/openapi.yaml
`);
  signingKey = await makeKey('k1');
  issuer = await startIssuer([signingKey]);
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-jwt-doc-'));
  writeFileSync(
    join(dir, 'api.yaml'),
    `openapi: 3.0.1
info: { title: jwt-api, version: '1' }
x-amazon-apigateway-importexport-version: '1.0'
paths:
  /me:
    get:
      security: [{ jwtAuth: [read] }]
      x-amazon-apigateway-integration: { type: aws_proxy, httpMethod: POST, uri: 'arn:aws:lambda:us-east-1:123456789012:function:me', payloadFormatVersion: '2.0' }
components:
  securitySchemes:
    jwtAuth:
      type: oauth2
      x-amazon-apigateway-authorizer:
        type: jwt
        identitySource: $request.header.Authorization
        jwtConfiguration: { issuer: "${issuer.url}", audience: [my-client] }
`,
  );
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `functions:\n  me: { module: ${ROOT}/test/fixtures/aws/secured/functions/whoami.mjs }\napis:\n  - name: jwt-api\n    openapi: api.yaml\n`,
  );
  jwtApi = await injectGateway(readFileSync(join(dir, 'gateway.yaml'), 'utf8'), { dir });
});
after(async () => {
  await Promise.all([gw?.close(), secured?.close(), jwtApi?.close()]);
  await issuer?.close();
});

test('AWS_IAM route: a request signed with the AWS SDK signer passes and its identity reaches the template', async () => {
  const signed = await signRequest(CREDS, { host: `127.0.0.1:${gw.port}`, path: '/dev/private' });
  const res = await gw.send(signed);
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(JSON.parse(res.body), { caller: 'arn:aws:iam::123456789012:user/ci' });
});

test('AWS_IAM route: unsigned and wrongly signed requests are refused as AWS does', async () => {
  const unsigned = await gw.fetch(`${gw.url}/dev/private`);
  assert.equal(unsigned.status, 403);
  assert.deepEqual(await unsigned.json(), { message: 'Missing Authentication Token' });
  const bad = await signRequest({ ...CREDS, secretAccessKey: 'not-the-secret' }, { host: `127.0.0.1:${gw.port}`, path: '/dev/private' });
  const res = await gw.send(bad);
  assert.equal(res.status, 403);
  assert.equal(res.headers['x-amzn-errortype'], 'InvalidSignatureException');
});

test('a route without AWS_IAM does not require a signature', async () => {
  const res = await gw.fetch(`${gw.url}/dev/public`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { public: true });
});

test('TOKEN authorizer from the document: allow, Unauthorized, and a cached policy re-evaluated per method', async () => {
  const ok = await secured.fetch(`${secured.url}/dev/token`, { headers: { authorization: 'allow-get' } });
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { authorizer: Record<string, unknown> };
  assert.equal(body.authorizer.principalId, 'user-7');
  assert.equal(body.authorizer.tier, 'gold');
  const post = await secured.fetch(`${secured.url}/dev/token`, { method: 'POST', headers: { authorization: 'allow-get' } });
  assert.equal(post.status, 403, 'the cached GET-only policy must not let a POST through');
  const denied = await secured.fetch(`${secured.url}/dev/token`, { headers: { authorization: 'nope' } });
  assert.equal(denied.status, 401);
  const missing = await secured.fetch(`${secured.url}/dev/token`);
  assert.equal(missing.status, 401);
});

test('api_key routes from the document require a key of a plan for this API and stage', async () => {
  const none = await secured.fetch(`${secured.url}/dev/keyed`);
  assert.equal(none.status, 403);
  assert.deepEqual(await none.json(), { message: 'Forbidden' });
  const ok = await secured.fetch(`${secured.url}/dev/keyed`, { headers: { 'x-api-key': KEY } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { apiKeyId: string }).apiKeyId, 'key1');
});

test('JWT authorizer from an HTTP API document: valid token and scope pass with claims in the event; others 401/403', async () => {
  const good = await mint(signingKey, { iss: issuer.url, aud: 'my-client', sub: 'ada', scope: 'read write' });
  const ok = await jwtApi.fetch(`${jwtApi.url}/me`, { headers: { authorization: `Bearer ${good}` } });
  assert.equal(ok.status, 200);
  const body = (await ok.json()) as { authorizer: { jwt: { claims: Record<string, string>; scopes: string[] } } };
  assert.equal(body.authorizer.jwt.claims.sub, 'ada');
  const noScope = await mint(signingKey, { iss: issuer.url, aud: 'my-client', sub: 'ada', scope: 'write' });
  assert.equal((await jwtApi.fetch(`${jwtApi.url}/me`, { headers: { authorization: `Bearer ${noScope}` } })).status, 403);
  const wrongAud = await mint(signingKey, { iss: issuer.url, aud: 'other', sub: 'ada', scope: 'read' });
  assert.equal((await jwtApi.fetch(`${jwtApi.url}/me`, { headers: { authorization: `Bearer ${wrongAud}` } })).status, 401);
  assert.equal((await jwtApi.fetch(`${jwtApi.url}/me`)).status, 401);
});
