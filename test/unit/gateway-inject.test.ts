// The gateway as an object: createGateway() + inject() run the full pipeline without a socket.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Type } from '@sinclair/typebox';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import { BUNDLED_INTEGRATIONS } from '../../src/integrations/registry.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { HeaderList } from '../../src/util/header-list.js';
import { hashApiKey } from '../../src/security/api-keys.js';

const KEY = 'k'.repeat(40);
const open: EmbeddedGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});

const CONFIG = `
usagePlans:
  p: { apiStages: [{ api: shop }] }
apiKeys:
  - { id: k, name: k, hash: "${hashApiKey(KEY)}", usagePlans: [p] }
apis:
  - name: shop
    routes:
      - { path: /hello, integration: { type: mock, body: { hello: world } } }
      - path: /orders
        methods: [POST]
        integration: { type: mock, status: 201 }
        plugins:
          api-key: {}
          request-validation:
            parameters: [{ in: query, name: v }]
            body: { schemas: { application/json: { type: object, required: [item] } } }
`;

test('inject runs match, phases, integration and response phases: answers, denials in the native dialect, check order', async () => {
  const gw = await createGateway({ source: { text: CONFIG } });
  open.push(gw);
  const hello = await gw.inject({ url: '/hello' });
  assert.equal(hello.status, 200);
  assert.deepEqual(hello.json(), { hello: 'world' });
  assert.ok(hello.headers['x-request-id'], 'the request id is on every answer');

  const missing = await gw.inject({ url: '/nope' });
  assert.equal(missing.status, 404);
  assert.equal(missing.json<{ code: string }>().code, 'ROUTE_NOT_FOUND');

  // No key and nothing valid: the key is checked first (403), never the schema (400).
  const noKey = await gw.inject({ method: 'POST', url: '/orders', body: {} });
  assert.equal(noKey.status, 403);
  assert.deepEqual(noKey.json(), { message: 'Forbidden', code: 'INVALID_API_KEY', requestId: noKey.headers['x-request-id'] });
  const noParam = await gw.inject({ method: 'POST', url: '/orders', headers: { 'x-api-key': KEY }, body: { item: 'x' } });
  assert.equal(noParam.json<{ code: string }>().code, 'BAD_REQUEST_PARAMETERS');
  const badBody = await gw.inject({ method: 'POST', url: '/orders?v=1', headers: { 'x-api-key': KEY }, body: { other: 1 } });
  assert.equal(badBody.status, 400);
  assert.equal(badBody.json<{ code: string }>().code, 'BAD_REQUEST_BODY');
  const ok = await gw.inject({ method: 'POST', url: '/orders?v=1', headers: { 'x-api-key': KEY }, body: { item: 'x' } });
  assert.equal(ok.status, 201);
  assert.deepEqual(
    gw.routes().map((r) => r.path),
    ['/hello', '/orders'],
  );
});

test('listen serves the same table over HTTP; reload swaps only a config that compiles', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-embed-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'apis:\n  - name: a\n    routes: [{ path: /v, integration: { type: mock, body: { v: 1 } } }]\n');
  const gw = await createGateway({ source: { file } });
  open.push(gw);
  const { port } = await gw.listen();
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/v`)).json(), { v: 1 });
  writeFileSync(file, 'apis:\n  - name: a\n    routes: [{ path: /v, integration: { type: mock, body: { v: 2 } } }]\n');
  await gw.reload();
  assert.deepEqual((await gw.inject({ url: '/v' })).json(), { v: 2 });
  writeFileSync(file, 'apis:\n  - name: a\n    routes: [{ path: /v, integration: { type: nonsense } }]\n');
  await assert.rejects(gw.reload(), /integration/);
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/v`)).json(), { v: 2 }, 'the last good config keeps serving');
});

test('a config that does not compile is refused by createGateway with its positions', async () => {
  await assert.rejects(createGateway({ source: { text: 'apis:\n  - name: a\n    routes: [{ path: /x, integration: { type: http } }]\n', file: 'broken.yaml' } }), /broken\.yaml:3/);
});

test('examples/embedded/embed.mjs runs as docs/embedding.md says', () => {
  const r = spawnSync(process.execPath, ['examples/embedded/embed.mjs'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['400 BAD_REQUEST_BODY', '201 {"created":true}', '201']);
});

test('an integration type is a registered definition: an embedder adds one and a config names it', async () => {
  const echoMethod = {
    type: 'echo-method',
    description: 'answers with the request method',
    configSchema: Type.Object({ type: Type.Literal('echo-method'), prefix: Type.String() }, { additionalProperties: false }),
    create(config: { prefix: string }) {
      return {
        integration: {
          type: 'echo-method',
          describe: () => ({ type: 'echo-method' }),
          invoke: (ctx: RequestContext) => ctx.send(200, new HeaderList(['content-type', 'text/plain']), `${config.prefix}${ctx.method}`),
        },
      };
    },
  };
  const config = 'apis:\n  - name: a\n    routes: [{ path: /m, integration: { type: echo-method, prefix: "got " } }]\n';
  const gw = await createGateway({ source: { text: config }, integrations: [...BUNDLED_INTEGRATIONS, echoMethod as never] });
  open.push(gw);
  assert.equal((await gw.inject({ method: 'PUT', url: '/m' })).text(), 'got PUT');
  // Without the definition the same config is refused at its key path.
  await assert.rejects(createGateway({ source: { text: config, file: 'c.yaml' } }), /c\.yaml:3.*integration/);
  // And the schema of a registered type is enforced like a bundled one.
  await assert.rejects(
    createGateway({ source: { text: config.replace('prefix: "got "', 'prefix: 7, extra: 1'), file: 'c.yaml' }, integrations: [...BUNDLED_INTEGRATIONS, echoMethod as never] }),
    /c\.yaml:3/,
  );
});

test('inject gives the pipeline the request line as sent and the client every response header line', async () => {
  const { startUpstream } = await import('../helpers/upstream.js');
  const up = await startUpstream((req, res) => {
    res.writeHead(200, ['set-cookie', 'a=1', 'set-cookie', 'b=2', 'content-type', 'text/plain']);
    res.end(req.url);
  });
  try {
    const gw = await createGateway({ source: { text: `apis:\n  - name: a\n    routes: [{ path: "/{proxy+}", integration: { type: http, url: "${up.url}" } }]\n` } });
    open.push(gw);
    // A WHATWG URL parse would re-encode the quote (it%27s) and resolve %2e%2e before the gateway saw
    // it; the gateway's own path handling must be what resolves the dot segment.
    const res = await gw.inject({ url: "/x/%2e%2e/y?q=it's" });
    assert.equal(res.text(), "/y?q=it's");
    assert.equal(up.seen[0]?.url, "/y?q=it's");
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    const encoded = await gw.inject({ url: '/caf%C3%A9/a%20b?x=%41' });
    assert.equal(encoded.text(), '/caf%C3%A9/a%20b?x=%41');
  } finally {
    await up.close();
  }
});
