/**
 * Reload sees every input (issue 10), through the real process: the config version covers every file
 * a config reads, and each of those files is watched. A referenced OpenAPI document, a function module,
 * a handler found by convention beside an AWS document (renamed .js -> .cjs), TLS certificate and key:
 * an edit to any of them reloads without touching the main file; a broken edit is rejected naming that
 * file; a touch that changes nothing compiles nothing. (Cluster mode: the last test of lifecycle-workers,
 * on that file's shared gateway.)
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { type CertFiles, type TestPki, createPki } from '../helpers/certs.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { metricSum, request, scrape, waitFor, writeAtomic } from '../helpers/lifecycle.js';

const pki: TestPki | undefined = createPki();

/** An HTTP API document whose routes call `hello` (functions/hello.* beside it, found by convention). */
function apiDoc(paths: string[], extra = ''): string {
  return `openapi: 3.0.1
info: { title: inputs, version: '1.0' }
paths:
${paths
  .map(
    (p) => `  ${p}:
    get:
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:lambda:us-east-1:123456789012:function:hello
        payloadFormatVersion: '2.0'
`,
  )
  .join('')}${extra}`;
}

/** A CommonJS handler (no package.json above the temp dir) that answers with its own file name. */
const HELLO_CJS = `exports.handler = async () => ({ statusCode: 200, body: require('node:path').basename(__filename) });\n`;
const echoModule = (answer: string) => `export const handler = async () => ({ statusCode: 200, body: ${JSON.stringify(answer)} });\n`;

/** The main config: the OpenAPI document and a native function are referenced, never inlined. */
const mainConfig = (withTls: boolean) => `server:
  accessLog: false
${withTls ? '  tls:\n    certificates:\n      - { hosts: [svc.test], cert: live.crt, key: live.key }\n' : ''}functions:
  echo: { module: echo.mjs }
apis:
  - name: inputs
    openapi: aws/api.yaml
  - name: native
    routes:
      - { name: echo, methods: [GET], path: /echo, integration: { type: function, function: echo } }
`;

/** A temp dir laid out as an operator would: gateway.yaml, echo.mjs, aws/api.yaml, aws/functions/hello.js, live.crt/key. */
function layout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-inputs-'));
  mkdirSync(join(dir, 'aws', 'functions'), { recursive: true });
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc(['/one']));
  writeFileSync(join(dir, 'aws', 'functions', 'hello.js'), HELLO_CJS);
  writeFileSync(join(dir, 'echo.mjs'), echoModule('echo v1'));
  if (pki !== undefined) {
    copyFileSync(one.cert, join(dir, 'live.crt'));
    copyFileSync(one.key, join(dir, 'live.key'));
  }
  return dir;
}

/** Waits for a log line that appears after index `since`. */
function logAfter(gw: RunningGateway, since: number, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000) {
  return waitFor('log line', () => gw.logs.slice(since).find(pred), timeoutMs, 20);
}
const reloaded = (l: Record<string, unknown>) => l.msg === 'config reloaded';
const rejected = (l: Record<string, unknown>) => l.msg === 'reload: config rejected; still serving the previous config';

async function version(gw: RunningGateway): Promise<string> {
  return ((await (await fetch(`${gw.adminUrl}/ready`)).json()) as { version: string }).version;
}

/** SHA-256 fingerprint of the certificate the HTTPS listener serves for svc.test (a new handshake each time). */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'svc.test', ca: pki?.ca.certPem }, () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

let one: CertFiles;
let two: CertFiles;
let gw: RunningGateway;
let dir: string;

before(async () => {
  if (pki !== undefined) {
    one = pki.server('inputs-one', ['svc.test']);
    two = pki.server('inputs-two', ['svc.test']);
  }
  dir = layout();
  gw = await startGateway(mainConfig(pki !== undefined), { dir, args: pki !== undefined ? ['--https-port', '0'] : [] });
});
after(async () => {
  await gw?.stop();
});

test('an edit to the referenced OpenAPI document reloads: the new route is served, the main file untouched', async () => {
  const mainMtime = statSync(gw.file).mtimeMs;
  assert.equal((await request(`${gw.url}/one`)).body, 'hello.js');
  assert.equal((await request(`${gw.url}/two`)).status, 404);
  const since = gw.logs.length;
  writeAtomic(join(dir, 'aws', 'api.yaml'), apiDoc(['/one', '/two']));
  await logAfter(gw, since, reloaded);
  const two = await request(`${gw.url}/two`);
  assert.equal(two.status, 200);
  assert.equal(two.body, 'hello.js');
  assert.equal(statSync(gw.file).mtimeMs, mainMtime);
});

test('a broken edit to the referenced document is rejected naming that document and the key path; the last good config keeps serving', async () => {
  const before = await scrape(gw.adminUrl);
  const servedVersion = await version(gw);
  const since = gw.logs.length;
  const doc = join(dir, 'aws', 'api.yaml');
  writeAtomic(doc, apiDoc(['/one', '/two']).replace(/type: aws_proxy\n(?![\s\S]*type: aws_proxy)/, 'type: [bogus]\n'));
  const line = await logAfter(gw, since, rejected);
  const diagnostics = line.diagnostics as string[];
  assert.equal(diagnostics.length, 1, diagnostics.join('\n'));
  assert.match(
    diagnostics[0] as string,
    new RegExp(`^${doc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ paths\\["/two"\\]\\.get\\.x-amazon-apigateway-integration\\.type: integration type must be one of`),
  );
  const afterScrape = await scrape(gw.adminUrl);
  assert.equal(metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'failure' }), metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'failure' }) + 1);
  assert.equal(await version(gw), servedVersion);
  assert.equal((await request(`${gw.url}/one`)).status, 200);
  assert.equal((await request(`${gw.url}/two`)).status, 200);
  // Fixed again (to what is served): nothing to build.
  const since2 = gw.logs.length;
  writeAtomic(doc, apiDoc(['/one', '/two']));
  const unchanged = await logAfter(gw, since2, (l) => l.msg === 'config unchanged');
  assert.equal(unchanged.version, servedVersion);
});

test('a touch that changes no content compiles nothing: same version, counted as unchanged', async () => {
  const before = await scrape(gw.adminUrl);
  const servedVersion = await version(gw);
  const since = gw.logs.length;
  const later = new Date(Date.now() + 5_000);
  utimesSync(join(dir, 'aws', 'api.yaml'), later, later);
  utimesSync(join(dir, 'echo.mjs'), later, later);
  const line = await logAfter(gw, since, (l) => l.msg === 'config unchanged');
  assert.equal(line.compiled, false, 'the version was decided from the inputs, without a compile');
  assert.equal(line.version, servedVersion);
  const afterScrape = await scrape(gw.adminUrl);
  assert.ok(
    metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'unchanged' }) > metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'unchanged' }),
  );
  assert.equal(metricSum(afterScrape.samples, 'turnpike_config_reloads_total', { result: 'success' }), metricSum(before.samples, 'turnpike_config_reloads_total', { result: 'success' }));
  assert.equal(gw.logs.slice(since).filter(reloaded).length, 0);
  assert.equal(await version(gw), servedVersion);
});

test('an edited function module answers with the new code after the reload', async () => {
  assert.equal((await request(`${gw.url}/echo`)).body, 'echo v1');
  const since = gw.logs.length;
  writeFileSync(join(dir, 'echo.mjs'), echoModule('echo v2'));
  await logAfter(gw, since, reloaded);
  // A plain write may be seen half done (truncated, then written): the next event reloads again.
  await waitFor('the new code', async () => (await request(`${gw.url}/echo`)).body === 'echo v2', 5_000);
});

test('a handler renamed from .js to .cjs beside the AWS document is found after the reload', async () => {
  assert.equal((await request(`${gw.url}/one`)).body, 'hello.js');
  const since = gw.logs.length;
  renameSync(join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'aws', 'functions', 'hello.cjs'));
  await logAfter(gw, since, reloaded);
  const res = await request(`${gw.url}/one`);
  assert.equal(res.status, 200);
  assert.equal(res.body, 'hello.cjs');
});

test('replaced certificate and key files are served after the reload (main file untouched)', { skip: pki === undefined && 'openssl CLI not available' }, async () => {
  const port = (await gw.waitForLog((l) => l.msg === 'listening')).httpsPort as number;
  assert.equal(await servedFingerprint(port), new X509Certificate(one.certPem).fingerprint256);
  const since = gw.logs.length;
  // As a renewal tool would: new files renamed into place, key first.
  writeAtomic(join(dir, 'live.key'), two.keyPem);
  writeAtomic(join(dir, 'live.crt'), two.certPem);
  await logAfter(gw, since, (l) => l.msg === 'tls certificates reloaded');
  assert.equal(await servedFingerprint(port), new X509Certificate(two.certPem).fingerprint256);
});
