// `turnpike validate` on an AWS document whose translated native config the native validator refuses
// (a real process): the problem is printed at the OpenAPI document's file:line:col and AWS key path,
// with the translated key path it was found at. The translator itself: test/unit/aws-translate.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/gateway.js';

const DOC = `openapi: 3.0.1
info: { title: slow, version: "1" }
paths:
  /fast:
    get:
      x-amazon-apigateway-integration: { type: mock, requestTemplates: { application/json: '{"statusCode": 200}' }, responses: { default: { statusCode: "200" } } }
  /slow:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:slow/invocations
        timeoutInMillis: 1000000
`;

test('validate: a translated config the native validator refuses is reported at the OpenAPI position and AWS key path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-aws-positions-'));
  const file = join(dir, 'doc.yaml');
  writeFileSync(file, DOC);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stderr);
  const line = DOC.split('\n').findIndex((l) => l.includes('timeoutInMillis: 1000000')) + 1;
  const column = (DOC.split('\n')[line - 1] as string).indexOf('1000000') + 1;
  const expected = `${file}:${line}:${column} paths["/slow"].get.x-amazon-apigateway-integration.timeoutInMillis: must be an integer >= 50 and <= 900000 (got 1000000) (translated config: apis[0].routes[1].integration.timeoutMs)`;
  assert.ok(r.stderr.split('\n').includes(expected), `expected the line\n${expected}\nin\n${r.stderr}`);

  // The same document with a timeout the native config takes is valid (and its function is found beside it).
  writeFileSync(file, DOC.replace('1000000', '5000'));
  const missing = await runCli(['validate', file]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Lambda function "slow" has no handler/);
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'functions', 'slow.mjs'), 'export const handler = async () => ({ statusCode: 200, body: "ok" });\n');
  const ok = await runCli(['validate', file]);
  assert.equal(ok.code, 0, ok.stderr);
});
