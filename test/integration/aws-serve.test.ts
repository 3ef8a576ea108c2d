import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const FIX = `${ROOT}/test/fixtures/aws`;
let backend: Upstream;
let rest: RunningGateway;
let httpApi: RunningGateway;
let staged: RunningGateway;

before(async () => {
  backend = await startUpstream();
  // A REST document served as it is, beside its functions/ folder, with a stage variable from the CLI.
  const restDir = mkdtempSync(join(tmpdir(), 'turnpike-aws-'));
  cpSync(`${FIX}/rest-lambda`, restDir, { recursive: true });
  rest = await startGateway(readFileSync(`${FIX}/rest-lambda/openapi.yaml`, 'utf8'), {
    dir: restDir,
    fileName: 'openapi.yaml',
    args: ['--stage', 'prod', '--stage-variable', 'prefix=v1'],
  });
  const httpDir = mkdtempSync(join(tmpdir(), 'turnpike-aws-'));
  cpSync(`${FIX}/http-api`, httpDir, { recursive: true });
  httpApi = await startGateway(readFileSync(`${FIX}/http-api/openapi.yaml`, 'utf8'), { dir: httpDir, fileName: 'openapi.yaml' });
  // The native config serving the same REST document under two stages, its backend pointed at a local stand-in.
  staged = await startGateway(`
apis:
  - name: orders
    openapi: ${FIX}/rest-lambda/openapi.yaml
    endpointOverrides: { "http://backend.example.com": "${backend.url}" }
    stages:
      dev: { variables: { prefix: dev-api } }
      prod: { variables: { prefix: prod-api } }
`);
});
after(async () => {
  await Promise.all([rest?.stop(), httpApi?.stop(), staged?.stop()]);
  await backend?.close();
});

test('REST document: the Lambda proxy route answers at /{stage}/... with the REST event', async () => {
  const res = await fetch(`${rest.url}/prod/orders/42`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { order: '42', stage: 'prod', path: '/orders/42', resource: '/orders/{orderId}', prefix: 'v1' });
});

test('REST document: unknown stage, resource or method is 403 Missing Authentication Token', async () => {
  for (const [method, path] of [
    ['GET', '/other/orders/42'],
    ['GET', '/'],
    ['POST', '/prod'],
    ['DELETE', '/prod/orders/42'],
  ] as const) {
    const res = await fetch(`${rest.url}${path}`, { method });
    assert.equal(res.status, 403, `${method} ${path}`);
    assert.deepEqual(await res.json(), { message: 'Missing Authentication Token' });
  }
});

test('REST document: a route that requires an API key refuses traffic until keys are supported', async () => {
  const res = await fetch(`${rest.url}/prod/secure`, { headers: { 'x-api-key': 'anything' } });
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { message: 'Forbidden' });
});

test('HTTP API document: served at / on $default, payload 2.0, unknown route 404 Not Found', async () => {
  const res = await fetch(`${httpApi.url}/hello/ada`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { greeting: 'hello ada', routeKey: 'GET /hello/{name}', stage: '$default' });
  const missing = await fetch(`${httpApi.url}/nope`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { message: 'Not Found' });
});

test('native config: one document under two stages with their own stage variables in integration URIs', async () => {
  const dev = (await (await fetch(`${staged.url}/dev/items/a?q=1`)).json()) as { url: string };
  const prod = (await (await fetch(`${staged.url}/prod/items/a?q=1`)).json()) as { url: string };
  assert.equal(dev.url, '/dev-api/items/a?q=1');
  assert.equal(prod.url, '/prod-api/items/a?q=1');
});

test('validate: an undefined stage variable is reported; unknown extensions are warnings', async () => {
  const r = await runCli(['validate', `${FIX}/rest-lambda/openapi.yaml`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stage variable\(s\) prefix that stage "dev" does not define/);
  const ok = await runCli(['validate', `${FIX}/rest-lambda/openapi.yaml`, '--stage-variable', 'prefix=x']);
  assert.equal(ok.code, 0, ok.stderr);
});
