// SAM and CloudFormation templates served in-process (test/helpers/inject.ts), each answered through
// its real handlers (test/fixtures/sam/*): the implicit API of `sam init`'s hello world, an explicit
// REST API with a DefinitionBody using Fn::Sub, a TOKEN authorizer, API keys with a usage plan, CORS,
// Parameters and Conditions; an HTTP API with a JWT authorizer against a real local issuer; raw
// AWS::ApiGateway resources with a VTL mock method; and two APIs on one port. Serving through the real
// process (flags, start-up log) is test/integration/sam-serve.test.ts.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configureAwsServing } from '../../src/config/index.js';
import { apiId } from '../../src/sam/ids.js';
import { localApiKeyValue } from '../../src/sam/transform.js';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Issuer, makeKey, mint, type SigningKey, startIssuer } from '../helpers/jwt.js';

const FIX = `${ROOT}/test/fixtures/sam`;

/** Serves a copy of a fixture folder's template.yaml, with template parameters as --parameter-overrides would give them. */
async function serveFixture(name: string, parameterOverrides?: Record<string, string>): Promise<InjectedGateway> {
  const dir = mkdtempSync(join(tmpdir(), `turnpike-sam-${name}-`));
  cpSync(`${FIX}/${name}`, dir, { recursive: true });
  configureAwsServing(parameterOverrides === undefined ? {} : { parameterOverrides });
  try {
    return await injectGateway(readFileSync(`${dir}/template.yaml`, 'utf8'), { dir, fileName: 'template.yaml' });
  } finally {
    configureAwsServing({});
  }
}

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

describe('hello world (implicit ServerlessRestApi, Node ESM handler)', () => {
  let gw: InjectedGateway;
  before(async () => {
    gw = await serveFixture('hello-world');
  });
  after(() => gw?.close());

  test('GET /Prod/hello answers through app.lambdaHandler with Globals and the function environment merged', async () => {
    const res = await gw.fetch(`${gw.url}/Prod/hello`);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { message: 'hello world', resource: '/hello', stage: 'Prod', method: 'GET', functionName: 'HelloWorldFunction' });
  });

  test('an ANY event with a path parameter; unknown paths answer as API Gateway (403 Missing Authentication Token)', async () => {
    const res = await gw.fetch(`${gw.url}/Prod/hello/ada`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    assert.equal((await json(res)).message, 'hello ada');
    const missing = await gw.fetch(`${gw.url}/Prod/nope`);
    assert.equal(missing.status, 403);
    assert.deepEqual(await missing.json(), { message: 'Missing Authentication Token' });
  });

  test('the implicit API answers on its own {api-id}.execute-api.localhost host too', async () => {
    const res = await gw.fetch(`${gw.url}/Prod/hello`, { headers: { host: `${apiId('ServerlessRestApi')}.execute-api.localhost:3000` } });
    assert.equal(res.status, 200);
  });

  test('keys Turnpike does not run are warnings naming the template key path', () => {
    const warnings = gw.logs.filter((l) => l.msg === 'config warning').map((l) => String(l.warning));
    assert.ok(
      warnings.some((w) => /template\.yaml:\d+:\d+ Resources\.HelloWorldFunction\.Properties\.Architectures: warning:/.test(w)),
      warnings.join('\n'),
    );
  });
});

describe('explicit Api: DefinitionBody with Fn::Sub, TOKEN authorizer, API key and usage plan, CORS, Parameters and Conditions', () => {
  let gw: InjectedGateway;
  const key = localApiKeyValue('ShopApiApiKey');
  before(async () => {
    gw = await serveFixture('shop');
  });
  after(() => gw?.close());

  test('the DefinitionBody route resolves its !Sub integration URI to ItemsFunction; authorizer first, then the API key', async () => {
    const noToken = await gw.fetch(`${gw.url}/v1/items`, { headers: { 'x-api-key': key } });
    assert.equal(noToken.status, 401);
    assert.deepEqual(await noToken.json(), { message: 'Unauthorized' });
    const noKey = await gw.fetch(`${gw.url}/v1/items`, { headers: { authorization: 'allow' } });
    assert.equal(noKey.status, 403);
    const ok = await gw.fetch(`${gw.url}/v1/items`, { headers: { authorization: 'allow', 'x-api-key': key } });
    assert.equal(ok.status, 200);
    const body = await json(ok);
    assert.equal(body.function, 'ItemsFunction');
    assert.equal(body.stage, 'v1');
    assert.equal(body.principal, 'shopper-1');
    assert.equal(body.tier, 'classic', 'Globals environment with Fn::FindInMap over the Stage parameter');
    assert.equal(body.table, 'ItemsTable', 'Ref of a resource not run locally is its logical id');
  });

  test('the usage plan quota (3 a day) answers 429 Limit Exceeded once spent', async () => {
    const call = () => gw.fetch(`${gw.url}/v1/items`, { headers: { authorization: 'allow', 'x-api-key': key } });
    // One call was spent by the test above.
    assert.equal((await call()).status, 200);
    assert.equal((await call()).status, 200);
    const over = await call();
    assert.equal(over.status, 429);
    assert.deepEqual(await over.json(), { message: 'Limit Exceeded' });
  });

  test('an event with Authorizer NONE and ApiKeyRequired false is public', async () => {
    const res = await gw.fetch(`${gw.url}/v1/health`);
    assert.equal(res.status, 200);
    assert.equal((await json(res)).resource, '/health');
  });

  test('CORS: SAM\'s OPTIONS mock method answers the configured headers without the authorizer or key', async () => {
    const res = await gw.fetch(`${gw.url}/v1/items`, { method: 'OPTIONS', headers: { origin: 'https://a.example', 'access-control-request-method': 'GET' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), 'GET,OPTIONS');
    assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type,Authorization,X-Api-Key');
    assert.equal(res.headers.get('access-control-max-age'), '600');
  });

  test('a resource whose Condition is false does not exist', async () => {
    const res = await gw.fetch(`${gw.url}/v1/admin`, { headers: { authorization: 'allow', 'x-api-key': key } });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), { message: 'Missing Authentication Token' });
  });
});

test('parameter overrides change the stage, the mapping and the conditions', async () => {
  const gw = await serveFixture('shop', { Stage: 'v2', EnableAdmin: 'true' });
  try {
    const key = localApiKeyValue('ShopApiApiKey');
    const items = await gw.fetch(`${gw.url}/v2/items`, { headers: { authorization: 'allow', 'x-api-key': key } });
    assert.equal(items.status, 200);
    assert.equal((await json(items)).tier, 'next');
    const admin = await gw.fetch(`${gw.url}/v2/admin`, { headers: { authorization: 'allow', 'x-api-key': key } });
    assert.equal(admin.status, 200);
    assert.equal((await json(admin)).function, 'AdminFunction');
    assert.equal((await gw.fetch(`${gw.url}/v1/health`)).status, 403, 'stage v1 is not served');
  } finally {
    await gw.close();
  }
});

describe('HttpApi with a JWT authorizer (a real local issuer)', () => {
  let gw: InjectedGateway;
  let iss: Issuer;
  let key: SigningKey;
  before(async () => {
    key = await makeKey('k1');
    iss = await startIssuer([key]);
    gw = await serveFixture('http-jwt', { IssuerUrl: iss.url, Audience: 'orders-api,other' });
  });
  after(async () => {
    await gw?.close();
    await iss?.close();
  });

  test('no token: 401; a token without the scope: 403; with it: the handler sees the claims', async () => {
    assert.equal((await gw.fetch(`${gw.url}/orders`)).status, 401);
    const noScope = await mint(key, { iss: iss.url, aud: 'orders-api', sub: 'u1', scope: 'orders/write' });
    assert.equal((await gw.fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${noScope}` } })).status, 403);
    const good = await mint(key, { iss: iss.url, aud: 'other', sub: 'u1', scope: 'orders/read' });
    const res = await gw.fetch(`${gw.url}/orders`, { headers: { authorization: `Bearer ${good}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { routeKey: 'GET /orders', stage: '$default', sub: 'u1' });
  });

  test('Authorizer NONE is public; CorsConfiguration answers preflights', async () => {
    assert.equal((await gw.fetch(`${gw.url}/status`)).status, 200);
    const pre = await gw.fetch(`${gw.url}/orders`, { method: 'OPTIONS', headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://shop.example');
  });
});

describe('plain CloudFormation with raw AWS::ApiGateway resources', () => {
  let gw: InjectedGateway;
  before(async () => {
    gw = await serveFixture('raw');
  });
  after(() => gw?.close());

  test('a Lambda proxy Method on a Resource tree, served on the Stage resource\'s stage, with an ApiKey / UsagePlan / UsagePlanKey', async () => {
    const key = { 'x-api-key': 'partner-key-0123456789abcdef' };
    assert.equal((await gw.fetch(`${gw.url}/live/pets`)).status, 403);
    const res = await gw.fetch(`${gw.url}/live/pets`, { headers: key });
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { pets: ['rex'], resource: '/pets', function: 'pets-fn' });
    assert.equal((await gw.fetch(`${gw.url}/live/pets`, { headers: key })).status, 200);
    const over = await gw.fetch(`${gw.url}/live/pets`, { headers: key });
    assert.equal(over.status, 429, 'the plan\'s quota of 2 a day');
  });

  test('a MOCK Method with VTL request and response templates and stage variables', async () => {
    const res = await gw.fetch(`${gw.url}/live/pets/7`);
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), { id: '7', stage: 'live', greeting: 'hi' });
  });
});

describe('two APIs on one port', () => {
  let gw: InjectedGateway;
  const rest = apiId('ServerlessRestApi');
  const http = apiId('ServerlessHttpApi');
  before(async () => {
    gw = await serveFixture('two-apis');
  });
  after(() => gw?.close());

  test('each API on its {api-id}.execute-api.localhost host, as on AWS', async () => {
    const r = await gw.fetch(`${gw.url}/Prod/hello`, { headers: { host: `${rest}.execute-api.localhost:8080` } });
    assert.equal(r.status, 200);
    assert.deepEqual(await json(r), { function: 'RestFunction', version: '1.0', stage: 'Prod', path: '/hello' });
    const h = await gw.fetch(`${gw.url}/hello`, { headers: { host: `${http}.execute-api.localhost` } });
    assert.equal(h.status, 200);
    assert.deepEqual(await json(h), { function: 'HttpFunction', version: '2.0', stage: '$default', path: '/hello' });
    const fallback = await gw.fetch(`${gw.url}/anything/else`, { headers: { host: `${http}.execute-api.localhost` } });
    assert.equal((await json(fallback)).function, 'HttpFunction', 'the $default route of the HTTP API');
  });

  test('without a Host header: each API under /{api-id}', async () => {
    const r = await gw.fetch(`${gw.url}/${rest}/Prod/hello`);
    assert.equal(r.status, 200);
    assert.equal((await json(r)).function, 'RestFunction');
    const h = await gw.fetch(`${gw.url}/${http}/hello`);
    assert.equal(h.status, 200);
    assert.equal((await json(h)).function, 'HttpFunction');
    const other = await gw.fetch(`${gw.url}/${http}/x/y`);
    assert.equal((await json(other)).function, 'HttpFunction');
  });
});

test('a problem in a DefinitionBody is reported at the template\'s line and key path, with the generated one after', async () => {
  const text = `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      DefinitionBody:
        swagger: '2.0'
        info: { title: t }
        paths:
          /x:
            get:
              x-amazon-apigateway-integration:
                type: [carrier_pigeon]
                uri: !Sub http://\${AWS::Region}.example
`;
  await assert.rejects(
    injectGateway(text, { fileName: 'template.yaml' }),
    (e: Error) =>
      /template\.yaml:15:23 Resources\.Api\.Properties\.DefinitionBody\.paths\["\/x"\]\.get\.x-amazon-apigateway-integration\.type: integration type must be one of .* \(generated OpenAPI: paths\["\/x"\]\.get\.x-amazon-apigateway-integration\.type\)/.test(e.message),
  );
});
