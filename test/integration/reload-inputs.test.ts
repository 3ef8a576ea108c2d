/**
 * Reload sees every input (issue 10), through the real process, for the kinds of input
 * lifecycle-reload-inputs.test.ts does not cover: an upstream's CA file (`upstreams.*.tls.ca`), and a
 * handler created later in the `functions/` directory beside an AWS document (the directory is listed
 * as an input, src/config/inputs.ts, and watched for module files appearing in it), including the
 * directory itself appearing after the start.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createPki } from '../helpers/certs.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { request, waitFor, writeAtomic } from '../helpers/lifecycle.js';

const pki = createPki();
const running: RunningGateway[] = [];
const servers: https.Server[] = [];
after(async () => {
  for (const gw of running) await gw.stop();
  for (const s of servers) s.close();
});

/** An HTTP API document: each path calls the Lambda function named beside it (the native functions map, else functions/NAME.* by convention). */
function apiDoc(routes: Record<string, string>): string {
  return `openapi: 3.0.1
info: { title: inputs, version: '1.0' }
paths:
${Object.entries(routes)
  .map(([p, fn]) => `  ${p}:\n    get:\n      x-amazon-apigateway-integration: { type: aws_proxy, httpMethod: POST, uri: 'arn:aws:lambda:us-east-1:123456789012:function:${fn}', payloadFormatVersion: '2.0' }\n`)
  .join('')}`;
}
const handler = (answer: string) => `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(answer)} });\n`;

/** Waits for a log line after index `since`. */
function logAfter(gw: RunningGateway, since: number, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000) {
  return waitFor('log line', () => gw.logs.slice(since).find(pred), timeoutMs, 20);
}
const reloaded = (l: Record<string, unknown>) => l.msg === 'config reloaded';
const rejected = (l: Record<string, unknown>) => l.msg === 'reload: config rejected; still serving the previous config';

test('a handler created later beside the AWS document is found: the rejected version names it, creating the file reloads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-reload-inputs-'));
  mkdirSync(join(dir, 'aws', 'functions'), { recursive: true });
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc({ '/one': 'hello' }));
  writeFileSync(join(dir, 'aws', 'functions', 'hello.mjs'), handler('hello'));
  const gw = await startGateway('server: { accessLog: false }\napis:\n  - name: inputs\n    openapi: aws/api.yaml\n', { dir });
  running.push(gw);
  assert.equal((await request(`${gw.url}/one`)).body, 'hello');

  let since = gw.logs.length;
  writeAtomic(join(dir, 'aws', 'api.yaml'), apiDoc({ '/one': 'hello', '/two': 'world' }));
  const line = await logAfter(gw, since, rejected);
  assert.match((line.diagnostics as string[]).join('\n'), /Lambda function "world" has no handler/);
  assert.equal((await request(`${gw.url}/two`)).status, 404, 'the last good config keeps serving');

  // No file was named world.* before: the listed directory's watch sees it appear.
  since = gw.logs.length;
  writeAtomic(join(dir, 'aws', 'functions', 'world.mjs'), handler('world'));
  await logAfter(gw, since, reloaded);
  const two = await request(`${gw.url}/two`);
  assert.equal(two.status, 200);
  assert.equal(two.body, 'world');
});

test('a functions/ directory created after the start is listed and watched: its handler is found', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-reload-inputs-'));
  mkdirSync(join(dir, 'aws'));
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc({ '/one': 'hello' }));
  // `hello` comes from the native functions map (looked up first): no functions/ directory yet.
  writeFileSync(join(dir, 'hello.mjs'), handler('native hello'));
  const gw = await startGateway('server: { accessLog: false }\nfunctions:\n  hello: { module: hello.mjs }\napis:\n  - name: inputs\n    openapi: aws/api.yaml\n', { dir });
  running.push(gw);
  assert.equal((await request(`${gw.url}/one`)).body, 'native hello');

  let since = gw.logs.length;
  writeAtomic(join(dir, 'aws', 'api.yaml'), apiDoc({ '/one': 'hello', '/late': 'late' }));
  await logAfter(gw, since, rejected);
  since = gw.logs.length;
  mkdirSync(join(dir, 'aws', 'functions'));
  // The directory's appearance may reload (and be rejected again) before the file is there; the file's
  // appearance in the now listed directory reloads once more.
  writeFileSync(join(dir, 'aws', 'functions', 'late.mjs'), handler('late'));
  await logAfter(gw, since, reloaded);
  await waitFor('the late handler', async () => (await request(`${gw.url}/late`)).body === 'late', 5_000);
});

test('an upstream CA file replaced in place is a new version: the upstream is trusted after the reload, main file untouched', { skip: pki === undefined && 'openssl CLI not available' }, async () => {
  const p = pki as NonNullable<typeof pki>;
  const cert = p.server('reload-upstream', ['127.0.0.1']);
  const other = p.otherCa('reload-untrusted');
  const upstream = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('secure upstream'));
  servers.push(upstream);
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;

  const dir = mkdtempSync(join(tmpdir(), 'turnpike-reload-inputs-'));
  writeFileSync(join(dir, 'ca.pem'), other.certPem);
  const gw = await startGateway(
    `server: { accessLog: false }
upstreams:
  secure: { targets: [{ url: "https://127.0.0.1:${port}" }], tls: { ca: ca.pem } }
apis:
  - name: up
    routes:
      - { path: /up, integration: { type: http, upstream: secure } }
`,
    { dir },
  );
  running.push(gw);
  const untrusted = await request(`${gw.url}/up`);
  assert.equal(untrusted.status, 502, 'signed by a CA the upstream config does not trust');

  const since = gw.logs.length;
  writeAtomic(join(dir, 'ca.pem'), p.ca.certPem);
  await logAfter(gw, since, reloaded);
  const trusted = await request(`${gw.url}/up`);
  assert.equal(trusted.status, 200);
  assert.equal(trusted.body, 'secure upstream');
});
