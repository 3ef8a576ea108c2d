import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

let gw: RunningGateway | undefined;
after(async () => {
  await gw?.stop();
});

const DOC = `openapi: 3.0.1
info: { title: hot, version: '1.0' }
x-amazon-apigateway-documentation: { version: '1' }
paths:
  /v:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:lambda:us-east-1:123456789012:function:version
`;

test('unsupported AWS extensions are named at start-up; a changed handler file is reloaded in watch mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-aws-start-'));
  mkdirSync(join(dir, 'functions'));
  const handler = join(dir, 'functions', 'version.mjs');
  writeFileSync(handler, `export const handler = async () => ({ statusCode: 200, body: 'v1' });\n`);
  gw = await startGateway(DOC, { dir, fileName: 'openapi.yaml' });
  const warning = await gw.waitForLog((l) => l.msg === 'config warning' && String(l.warning).includes('x-amazon-apigateway-documentation'));
  assert.match(String(warning.warning), /openapi\.yaml:\d+:\d+/);
  assert.equal(await (await fetch(`${gw.url}/dev/v`)).text(), 'v1');
  writeFileSync(handler, `export const handler = async () => ({ statusCode: 200, body: 'v2' });\n`);
  const deadline = Date.now() + 5000;
  let body = 'v1';
  while (body !== 'v2' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    body = await (await fetch(`${gw.url}/dev/v`)).text();
  }
  assert.equal(body, 'v2');
});
