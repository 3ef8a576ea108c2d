// Real documents served the way AWS serves them (issue 12, "Real documents, as AWS accepts them"), in
// process: a REST body as SAM writes it (no `info`, the stage in servers' basePath), a token authorizer
// with an empty identityValidationExpression, a method naming an undefined security scheme, and
// integrations Turnpike cannot run beside ones it can; an HTTP API with an integrationSubtype route, and
// its payload 1.0 event's header names. Documents and functions: test/fixtures/aws-documents/.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stageUrls } from '../../src/server/stage-urls.js';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';

const FIX = `${ROOT}/test/fixtures/aws-documents`;
let rest: InjectedGateway;
let http: InjectedGateway;
let native: InjectedGateway;

async function serveDocument(name: string): Promise<InjectedGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-aws-documents-'));
  cpSync(`${FIX}/functions`, `${dir}/functions`, { recursive: true });
  return injectGateway(readFileSync(`${FIX}/${name}`, 'utf8'), { dir, fileName: name });
}

before(async () => {
  rest = await serveDocument('rest-sam-body.yaml');
  http = await serveDocument('http-subtype.yaml');
  // The same REST document named by a native config with its own stages: the config's stages win.
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-aws-documents-'));
  cpSync(FIX, dir, { recursive: true });
  native = await injectGateway(`apis:\n  - name: shop\n    openapi: rest-sam-body.yaml\n    stages:\n      beta: {}\n`, { dir });
});
after(async () => {
  await Promise.all([rest?.close(), http?.close(), native?.close()]);
});

const warnings = (gw: InjectedGateway) => gw.gateway.table.warnings.map((w) => `${w.path}: ${w.message}`);

test('a body without info is served, named after its file; its basePath (servers variable) is the stage', async () => {
  const res = await rest.fetch(`${rest.url}/prod/hello`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { stage: string }).stage, 'prod');
  assert.deepEqual([...new Set(rest.gateway.table.routes.map((r) => r.api))], ['rest-sam-body']);
  // dev (the default without a basePath) is not served: an unknown stage answers as an unknown resource.
  const dev = await rest.fetch(`${rest.url}/dev/hello`);
  assert.equal(dev.status, 403);
  assert.deepEqual(await dev.json(), { message: 'Missing Authentication Token' });
});

test('the stages a table serves and their URLs, as the listening line prints them; a config\'s own stages win over basePath', async () => {
  assert.deepEqual(stageUrls(rest.gateway.table, '127.0.0.1', 8080), [{ api: 'rest-sam-body', stage: 'prod', url: 'http://127.0.0.1:8080/prod/' }]);
  assert.deepEqual(stageUrls(http.gateway.table, '0.0.0.0', 3000), [{ api: 'queue-api', stage: '$default', url: 'http://localhost:3000/' }]);
  assert.deepEqual(stageUrls(native.gateway.table, '127.0.0.1', 80), [{ api: 'shop', stage: 'beta', url: 'http://127.0.0.1:80/beta/' }]);
  assert.equal((await native.fetch(`${native.url}/beta/hello`)).status, 200);
  assert.equal((await native.fetch(`${native.url}/prod/hello`)).status, 403);
});

test('an empty identityValidationExpression validates nothing: the authorizer decides', async () => {
  const ok = await rest.fetch(`${rest.url}/prod/secured`, { headers: { authorization: 'allow' } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { principal: string }).principal, 'user-1');
  const denied = await rest.fetch(`${rest.url}/prod/secured`, { headers: { authorization: 'nope' } });
  assert.equal(denied.status, 401);
  const missing = await rest.fetch(`${rest.url}/prod/secured`);
  assert.equal(missing.status, 401);
});

test('a method naming an undefined security scheme is imported with a warning and not created, as AWS does: never served unchecked', async () => {
  const res = await rest.fetch(`${rest.url}/prod/typo`, { headers: { authorization: 'allow' } });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'Missing Authentication Token' });
  // The resource's other method serves.
  assert.equal((await rest.fetch(`${rest.url}/prod/typo`, { method: 'POST', body: '{}' })).status, 200);
  assert.ok(
    warnings(rest).some((w) => w.startsWith('paths["/typo"].get.security[0].tokk: ') && w.includes('not defined') && w.includes('not created')),
    warnings(rest).join('\n'),
  );
});

test('REST: an AWS service action and an unknown integration type answer 500 with AWS\'s body, with a warning at their key; the other routes serve', async () => {
  for (const [method, path] of [
    ['POST', '/prod/queue'],
    ['GET', '/prod/weird'],
  ] as const) {
    const res = await rest.send({ method, target: path, headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 500, path);
    assert.equal(res.body, '{"message": "Internal server error"}', path);
    assert.equal(res.headers['x-amzn-errortype'], 'InternalServerErrorException');
  }
  const w = warnings(rest);
  assert.ok(w.some((x) => x.startsWith('paths["/queue"].post.x-amazon-apigateway-integration.uri: ') && x.includes('POST /queue answers 500')), w.join('\n'));
  assert.ok(w.some((x) => x.startsWith('paths["/weird"].get.x-amazon-apigateway-integration.type: ') && x.includes('GET /weird answers 500')), w.join('\n'));
  assert.equal((await rest.fetch(`${rest.url}/prod/hello`)).status, 200);
});

test('HTTP API: an integrationSubtype route answers 500 {"message":"Internal Server Error"} and warns; the Lambda route serves', async () => {
  const res = await http.send({ method: 'POST', target: '/send', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 500);
  assert.equal(res.body, '{"message":"Internal Server Error"}');
  const w = warnings(http);
  assert.ok(w.some((x) => x.startsWith('paths["/send"].post.x-amazon-apigateway-integration.integrationSubtype: ') && x.includes('POST /send answers 500')), w.join('\n'));
  assert.ok(w.some((x) => x.startsWith('paths["/send"].post.x-amazon-apigateway-integration.credentials: ')), w.join('\n'));
  assert.equal((await http.fetch(`${http.url}/hello`)).status, 200);
});

test('HTTP API payload 1.0: client header names arrive lower-cased, as in 2.0', async () => {
  const res = await http.send({ method: 'GET', target: '/hello', headers: { 'X-Custom-Header': 'a', Accept: 'application/json', 'User-Agent': 'ua/1' } });
  assert.equal(res.status, 200);
  const { headers } = JSON.parse(res.body) as { headers: Record<string, string> };
  assert.equal(headers['x-custom-header'], 'a');
  assert.equal(headers.accept, 'application/json');
  assert.equal(headers['X-Custom-Header'], undefined);
  // The names the captured AWS 1.0 event shows capitalised stay so.
  assert.equal(headers['User-Agent'], 'ua/1');
});
