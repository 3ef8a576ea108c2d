// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the config interpolation syntax under test, not a template literal.
/**
 * FileConfigStore: the read-only store of the embedded mode. It shows the served text as written
 * (`${VAR}` kept, so environment secrets stay out of the Admin API), follows the served text (a reload is
 * visible at once), serves an AWS document as the one API it becomes, and refuses every write.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReadOnlyStoreError } from '../../src/cluster/entities.js';
import { FileConfigStore, type ServedConfig } from '../../src/cluster/file-store.js';

const YAML = `
server:
  logLevel: warn
shared: &shared
  targets: [{ url: "http://\${BACKEND_HOST}:8080" }]
upstreams:
  users:
    <<: *shared
    balancer: p2c
plugins:
  jwt: { secret: "\${JWT_SECRET}" }
apis:
  - name: shop
    routes:
      - name: items
        path: /items/{id}
        integration: { type: http, upstream: users }
      - { methods: [GET, POST], path: /orders, integration: { type: mock } }
apiKeys:
  - { id: k1, name: one, hash: "sha256:${'a'.repeat(64)}" }
`;

test('reads the served text as written: ${VAR} placeholders kept, YAML merge keys resolved, document order kept', async () => {
  process.env.JWT_SECRET = 'super-secret-value';
  const store = new FileConfigStore(() => ({ file: 'gateway.yaml', text: YAML, version: 'v1' }));
  assert.equal(store.backend, 'file');
  assert.equal(store.writable, false);
  assert.equal(await store.version(), 'v1');
  const plugin = await store.get('plugins', 'jwt');
  assert.deepEqual(plugin?.body, { secret: '${JWT_SECRET}' });
  const users = await store.get('upstreams', 'users');
  assert.deepEqual(users?.body, { targets: [{ url: 'http://${BACKEND_HOST}:8080' }], balancer: 'p2c' });
  const snap = await store.snapshot();
  assert.equal(snap.version, 'v1');
  assert.ok(!JSON.stringify(snap.document).includes('super-secret-value'));
  assert.deepEqual(
    (await store.list('routes', 'shop')).map((r) => r.key),
    ['items', 'GET,POST /orders'],
  );
  assert.deepEqual((await store.get('settings', 'server'))?.body, { logLevel: 'warn' });
  assert.equal((await store.get('apiKeys', 'k1'))?.body.name, 'one');
  assert.equal(await store.get('routes', 'items'), undefined, 'a route is found only under its API');
  assert.equal(await store.get('upstreams', 'nope'), undefined);
  delete process.env.JWT_SECRET;
});

test('follows the served config: a reload is visible on the next read; answers are copies', async () => {
  const served: ServedConfig = { file: 'gateway.yaml', text: YAML, version: 'v1' };
  const store = new FileConfigStore(() => served);
  const first = await store.get('upstreams', 'users');
  (first?.body as Record<string, unknown>).balancer = 'mutated';
  assert.equal((await store.get('upstreams', 'users'))?.body.balancer, 'p2c');
  served.text = YAML.replace('balancer: p2c', 'balancer: least-connections');
  served.version = 'v2';
  assert.equal((await store.get('upstreams', 'users'))?.body.balancer, 'least-connections');
  assert.equal((await store.snapshot()).version, 'v2');
});

test('every write is refused with ReadOnlyStoreError, whose message says to edit the file or use --database', async () => {
  const store = new FileConfigStore(() => ({ file: 'gateway.yaml', text: YAML, version: 'v1' }));
  await assert.rejects(store.put('upstreams', 'x', { targets: [] }), (e: unknown) => e instanceof ReadOnlyStoreError && /edit the file/.test(e.message) && /--database/.test(e.message));
  await assert.rejects(store.delete('apis', 'shop'), ReadOnlyStoreError);
  assert.ok(await store.get('apis', 'shop'));
});

test('an AWS OpenAPI document is listed as the one API it is served as', async () => {
  const file = join(process.cwd(), 'test/fixtures/openapi/pets-openapi3.yaml');
  const store = new FileConfigStore(() => ({ file, text: readFileSync(file, 'utf8'), version: 'v9' }));
  const apis = await store.list('apis');
  assert.deepEqual(
    apis.map((a) => a.body),
    [{ name: 'Pets', openapi: 'pets-openapi3.yaml' }],
  );
  assert.deepEqual(await store.list('routes'), []);
  assert.deepEqual((await store.snapshot()).document, { apis: [{ name: 'Pets', openapi: 'pets-openapi3.yaml' }] });
});
