// The REST document served by `turnpike serve` with CLI flags, and `turnpike validate` (process concerns);
// the HTTP API document and the staged native config run in-process: test/inject/aws-serve.test.ts.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';

const FIX = `${ROOT}/test/fixtures/aws`;
let rest: RunningGateway;

before(async () => {
  // A REST document served as it is, beside its functions/ folder, with a stage variable from the CLI.
  const restDir = mkdtempSync(join(tmpdir(), 'turnpike-aws-'));
  cpSync(`${FIX}/rest-lambda`, restDir, { recursive: true });
  rest = await startGateway(readFileSync(`${FIX}/rest-lambda/openapi.yaml`, 'utf8'), {
    dir: restDir,
    fileName: 'openapi.yaml',
    args: ['--stage', 'prod', '--stage-variable', 'prefix=v1'],
  });
});
after(async () => {
  await rest?.stop();
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

test('validate: an undefined stage variable is reported; unknown extensions are warnings', async () => {
  const r = await runCli(['validate', `${FIX}/rest-lambda/openapi.yaml`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stage variable\(s\) prefix that stage "dev" does not define/);
  const ok = await runCli(['validate', `${FIX}/rest-lambda/openapi.yaml`, '--stage-variable', 'prefix=x']);
  assert.equal(ok.code, 0, ok.stderr);
});
