import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

// AWS's PetStore example (test/fixtures/aws/petstore/petstore.json: LocalStack's recorded copy with AWS's
// published endpoint URL put back) served as it is, its HTTP integrations pointed at a local stand-in.
const PETS = [
  { id: 1, type: 'dog', price: 249.99 },
  { id: 2, type: 'cat', price: 124.99 },
];
let petstore: Upstream;
let gw: InjectedGateway;
let validated: InjectedGateway;

before(async () => {
  petstore = await startUpstream((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, value: unknown) => {
      const text = JSON.stringify(value);
      res.writeHead(status, { 'content-type': 'application/json', 'x-backend': 'petstore' });
      res.end(text);
    };
    if (url.pathname === '/petstore/pets' && req.method === 'GET') return send(200, { pets: PETS, query: Object.fromEntries(url.searchParams) });
    if (url.pathname === '/petstore/pets' && req.method === 'POST') return send(200, { pet: JSON.parse(body.toString() || '{}'), message: 'success' });
    const m = /^\/petstore\/pets\/(\d+)$/.exec(url.pathname);
    if (m && req.method === 'GET') return send(200, PETS.find((p) => String(p.id) === m[1]) ?? {});
    send(404, { message: 'not found' });
  });
  gw = await injectGateway(`
apis:
  - name: petstore
    openapi: ${ROOT}/test/fixtures/aws/petstore/petstore.json
    stages:
      test: {}
    endpointOverrides:
      "http://petstore-demo-endpoint.execute-api.com": "${petstore.url}"
`);
  validated = await injectGateway(`apis:\n  - name: validated\n    openapi: ${ROOT}/test/fixtures/aws/validated.yaml\n`);
});
after(async () => {
  await Promise.all([gw?.close(), validated?.close()]);
  await petstore?.close();
});

test('PetStore: GET /pets maps only the declared query parameters and adds the CORS header', async () => {
  const res = await gw.fetch(`${gw.url}/test/pets?type=dog&page=2&secret=x`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(res.headers.get('x-backend'), null, 'non-proxy integrations return only mapped headers');
  const body = (await res.json()) as { pets: unknown[]; query: Record<string, string> };
  assert.deepEqual(body.query, { type: 'dog', page: '2' });
  assert.equal(body.pets.length, 2);
  const seen = petstore.seen.at(-1);
  assert.equal(seen?.headers['x-forwarded-for'], undefined, 'client headers are not forwarded unless mapped');
});

test('PetStore: GET /pets/{petId} maps the path parameter into the URI', async () => {
  const res = await gw.fetch(`${gw.url}/test/pets/2`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id: 2, type: 'cat', price: 124.99 });
  assert.equal(petstore.seen.at(-1)?.url, '/petstore/pets/2');
});

test('PetStore: POST /pets passes the body through', async () => {
  const res = await gw.fetch(`${gw.url}/test/pets`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"bird","price":9.5}' });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { pet: { type: 'bird', price: 9.5 }, message: 'success' });
});

test('PetStore: the mock OPTIONS methods answer the CORS preflight without the backend', async () => {
  const before = petstore.seen.length;
  const res = await gw.fetch(`${gw.url}/test/pets`, { method: 'OPTIONS' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-methods'), 'POST,GET,OPTIONS');
  assert.equal(res.headers.get('access-control-allow-headers'), 'Content-Type,X-Amz-Date,Authorization,X-Api-Key');
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.equal(petstore.seen.length, before);
});

test('PetStore: GET / renders the HTML response template (at /{stage} and /{stage}/)', async () => {
  const bare = await gw.fetch(`${gw.url}/test`);
  assert.equal(bare.status, 200);
  await bare.arrayBuffer();
  const res = await gw.fetch(`${gw.url}/test/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(await res.text(), /<html>[\s\S]*Welcome to your Pet Store API/);
});

test('PetStore: an unknown method on a resource is 403 Missing Authentication Token', async () => {
  const res = await gw.fetch(`${gw.url}/test/pets/2`, { method: 'DELETE' });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'Missing Authentication Token' });
  assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
});

test('request validators: missing parameters, invalid body (customised gateway response), valid request', async () => {
  const missing = await validated.fetch(`${validated.url}/dev/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
  assert.equal(missing.status, 400);
  assert.deepEqual(await missing.json(), { message: 'Missing required request parameters: [tenant]' });
  const invalid = await validated.fetch(`${validated.url}/dev/items`, { method: 'POST', headers: { 'content-type': 'application/json', tenant: 't1' }, body: '{"price":-1}' });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.headers.get('x-reason'), 'schema');
  const body = (await invalid.json()) as { error: string; requestId: string };
  assert.equal(body.error, 'Invalid request body');
  assert.equal(body.requestId, invalid.headers.get('x-request-id'));
  const ok = await validated.fetch(`${validated.url}/dev/items`, { method: 'POST', headers: { 'content-type': 'application/json', tenant: 't1' }, body: '{"name":"lamp","price":3}' });
  assert.equal(ok.status, 201);
  assert.deepEqual(await ok.json(), { created: true, stage: 'dev' });
});
