// `turnpike serve|validate|routes template.yaml` through the real process: the start-up log's stage
// URLs (both forms, for every API), the {api-id}.execute-api.localhost hosts on a real socket, the
// template flags (--parameter-overrides in both spellings, --import-value, --region), and problems
// reported at the template's file:line:col and key path. The translation itself is tested in-process
// (test/inject/sam-serve.test.ts).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiId } from '../../src/sam/ids.js';
import { ROOT, type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';

const FIX = `${ROOT}/test/fixtures/sam`;

function copy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `turnpike-sam-${name}-`));
  cpSync(`${FIX}/${name}`, dir, { recursive: true });
  return dir;
}

/** A GET with a Host header of our choosing (fetch cannot set Host). */
function getWithHost(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let two: RunningGateway;
const rest = apiId('ServerlessRestApi');
const httpApi = apiId('ServerlessHttpApi');

before(async () => {
  const dir = copy('two-apis');
  two = await startGateway(readFileSync(`${dir}/template.yaml`, 'utf8'), { dir, fileName: 'template.yaml' });
});
after(async () => {
  await two?.stop();
});

test('the listening line names every API stage at both of its URLs, and each URL answers', async () => {
  const line = await two.waitForLog((l) => l.msg === 'listening');
  const urls = line.stageUrls as Record<string, string[]>;
  assert.deepEqual(urls, {
    'ServerlessRestApi/Prod': [`http://${rest}.execute-api.localhost:${two.port}/Prod/`, `http://127.0.0.1:${two.port}/${rest}/Prod/`],
    'ServerlessHttpApi/$default': [`http://${httpApi}.execute-api.localhost:${two.port}/`, `http://127.0.0.1:${two.port}/${httpApi}/`],
  });
  const byPath = await fetch(`http://127.0.0.1:${two.port}/${rest}/Prod/hello`);
  assert.equal(byPath.status, 200);
  assert.equal(((await byPath.json()) as { function: string }).function, 'RestFunction');
  const byHost = await getWithHost(two.port, `${httpApi}.execute-api.localhost:${two.port}`, '/hello');
  assert.equal(byHost.status, 200);
  assert.equal((JSON.parse(byHost.body) as { function: string }).function, 'HttpFunction');
  const restByHost = await getWithHost(two.port, `${rest}.execute-api.localhost`, '/Prod/hello');
  assert.equal(restByHost.status, 200);
});

test('--parameter-overrides (SAM spelling) and --region reach the template', async () => {
  const dir = copy('shop');
  const gw = await startGateway(readFileSync(`${dir}/template.yaml`, 'utf8'), {
    dir,
    fileName: 'template.yaml',
    args: ['--parameter-overrides', 'ParameterKey=Stage,ParameterValue=v2', '--parameter-overrides', 'EnableAdmin=true', '--region', 'eu-west-1'],
  });
  try {
    const line = await gw.waitForLog((l) => l.msg === 'listening');
    assert.deepEqual(Object.keys(line.stageUrls as object), ['ShopApi/v2']);
    const res = await fetch(`${gw.url}/v2/health`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { stage: string }).stage, 'v2');
    const routes = await runCli(['routes', `${dir}/template.yaml`, '--json', '--parameter-overrides', 'Stage=v2 EnableAdmin=true']);
    assert.equal(routes.code, 0, routes.stderr);
    assert.ok((JSON.parse(routes.stdout) as { routes: { path: string }[] }).routes.some((r) => r.path === '/v2/admin'));
  } finally {
    await gw.stop();
  }
});

test('validate: a missing parameter, an S3 CodeUri and an unresolvable import are errors at the template\'s lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-sam-bad-'));
  const file = join(dir, 'template.yaml');
  writeFileSync(
    file,
    `AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Bucket:
    Type: String
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: nodejs20.x
      Handler: app.handler
      CodeUri: s3://my-bucket/code.zip
      Environment:
        Variables:
          SHARED: !ImportValue shared-table
      Events:
        Get:
          Type: Api
          Properties:
            Path: /x
            Method: get
`,
  );
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /template\.yaml:5:\d+ Parameters\.Bucket: .*--parameter-overrides Bucket=VALUE/);
  assert.match(r.stderr, /template\.yaml:12:\d+ Resources\.Fn\.Properties\.CodeUri: CodeUri names an S3 object/);
  assert.match(r.stderr, /template\.yaml:15:\d+ Resources\.Fn\.Properties\.Environment\.Variables\.SHARED.*shared-table.*--import-value/);
});

test('validate: a handler file that is not there is reported at the template\'s Handler, not at the generated config', async () => {
  const dir = copy('hello-world');
  const file = join(dir, 'template.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('Handler: app.lambdaHandler', 'Handler: missing.lambdaHandler'));
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /template\.yaml:18:\d+ Resources\.HelloWorldFunction\.Properties\.Handler: handler file not found: .*missing\.js .* \(generated config: functions\.HelloWorldFunction\.handler\)/);
});

test('--import-value answers Fn::ImportValue', async () => {
  const dir = copy('hello-world');
  const file = join(dir, 'template.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('TARGET: world', 'TARGET: !ImportValue shared-name'));
  const bad = await runCli(['validate', file]);
  assert.equal(bad.code, 1);
  const ok = await runCli(['validate', file, '--import-value', 'shared-name=everyone']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('export: a template API as the AWS document that re-imports to it (--api with several APIs)', async () => {
  const r = await runCli(['export', `${FIX}/two-apis/template.yaml`, '--api', 'ServerlessHttpApi']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { openapi: string; paths: Record<string, unknown> };
  assert.equal(doc.openapi, '3.0.1');
  assert.deepEqual(Object.keys(doc.paths).sort(), ['$default', '/hello']);
  assert.ok(!r.stdout.includes('x-turnpike-source'), 'the side map into the template is not part of the document');
});
