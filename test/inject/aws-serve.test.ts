// AWS documents served in-process (test/helpers/inject.ts): an HTTP API document, and a native config serving
// a REST document under two stages. The REST document served with CLI flags (--stage, --stage-variable)
// and `turnpike validate` stay in test/integration/aws-serve.test.ts (process concerns).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

const FIX = `${ROOT}/test/fixtures/aws`;
let backend: Upstream;
let httpApi: InjectedGateway;
let staged: InjectedGateway;

before(async () => {
  backend = await startUpstream();
  const httpDir = mkdtempSync(join(tmpdir(), 'turnpike-aws-'));
  cpSync(`${FIX}/http-api`, httpDir, { recursive: true });
  httpApi = await injectGateway(readFileSync(`${FIX}/http-api/openapi.yaml`, 'utf8'), { dir: httpDir, fileName: 'openapi.yaml' });
  // The native config serving the same REST document under two stages, its backend pointed at a local stand-in.
  staged = await injectGateway(`
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
  await Promise.all([httpApi?.close(), staged?.close()]);
  await backend?.close();
});

test('HTTP API document: served at / on $default, payload 2.0, unknown route 404 Not Found', async () => {
  const res = await httpApi.fetch(`${httpApi.url}/hello/ada`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { greeting: 'hello ada', routeKey: 'GET /hello/{name}', stage: '$default' });
  const missing = await httpApi.fetch(`${httpApi.url}/nope`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { message: 'Not Found' });
});

test('native config: one document under two stages with their own stage variables in integration URIs', async () => {
  const dev = (await (await staged.fetch(`${staged.url}/dev/items/a?q=1`)).json()) as { url: string };
  const prod = (await (await staged.fetch(`${staged.url}/prod/items/a?q=1`)).json()) as { url: string };
  assert.equal(dev.url, '/dev-api/items/a?q=1');
  assert.equal(prod.url, '/prod-api/items/a?q=1');
});
