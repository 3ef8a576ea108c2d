/**
 * /openapi.json: a well-formed OpenAPI 3.1 document (every path has operations with responses, path
 * parameters match the templates, every $ref resolves, every schema compiles as JSON Schema 2020-12),
 * whose entity schemas are the config schema's own, and whose schemas the API's real answers satisfy.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import pino from 'pino';
import { buildAdminOpenApi } from '../../src/admin/openapi.js';
import { createAdminServer } from '../../src/admin/server.js';
import { fullSchema } from '../../src/config/index.js';
import { BUNDLED_PLUGINS, pluginSchemas } from '../../src/plugins/registry.js';
import { MemoryConfigStore } from '../helpers/memory-config-store.js';

const Ajv2020 = Ajv2020Module.default;
// biome-ignore lint/suspicious/noExplicitAny: the generated document is walked as untyped JSON.
type Obj = Record<string, any>;
const doc = buildAdminOpenApi() as Obj;
const plain = (x: unknown) => JSON.parse(JSON.stringify(x)) as Obj;

function pointer(root: Obj, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local refs: ${ref}`);
  let cur: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

test('top level: OpenAPI 3.1.0 with info, paths, components and a bearer security scheme', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.deepEqual(doc.components.securitySchemes.adminToken, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.adminToken.description });
  assert.deepEqual(doc.security, [{ adminToken: [] }]);
  // The document survives a JSON round trip unchanged (no Symbols, functions or undefined left from TypeBox).
  assert.deepEqual(plain(doc), doc);
});

test('every path item has only operations with responses, unique operationIds, and parameters matching its template', () => {
  const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
  const ITEM_KEYS = new Set([...METHODS, 'parameters', 'summary', 'description', 'servers']);
  const ids = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Obj)) {
    assert.match(path, /^\//);
    for (const k of Object.keys(item)) assert.ok(ITEM_KEYS.has(k), `${path}: unexpected key ${k}`);
    const ops = Object.entries(item).filter(([k]) => METHODS.has(k)) as [string, Obj][];
    assert.ok(ops.length > 0, `${path} has no operation`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of ops) {
      assert.equal(typeof op.operationId, 'string', `${method} ${path}`);
      assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      const codes = Object.keys(op.responses ?? {});
      assert.ok(codes.length > 0, `${method} ${path} has no responses`);
      for (const c of codes) assert.match(c, /^([1-5]\d\d|default)$/);
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])] as Obj[];
      const inPath = params.filter((p) => p.in === 'path');
      assert.deepEqual(inPath.map((p) => p.name).sort(), templated, `${method} ${path}: path parameters`);
      for (const p of inPath) assert.equal(p.required, true);
      if (op.requestBody !== undefined) assert.ok(Object.keys(op.requestBody.content).length > 0);
    }
  }
  for (const p of ['/config', '/settings', '/upstreams', '/upstreams/{name}', '/apis/{name}/routes/{route}', '/api-keys/{id}', '/openapi.json']) {
    assert.ok(doc.paths[p], `missing ${p}`);
  }
  assert.deepEqual(doc.paths['/openapi.json'].get.security, [], '/openapi.json is public');
});

test('every $ref resolves', () => {
  let refs = 0;
  const stack: unknown[] = [doc];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref') {
        refs++;
        assert.equal(typeof x, 'string');
        assert.notEqual(pointer(doc, x as string), undefined, `unresolved ${x}`);
      } else stack.push(x);
    }
  }
  assert.ok(refs > 50, `expected many refs, found ${refs}`);
});

test('every component schema compiles as JSON Schema 2020-12', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(doc, 'admin');
  for (const name of Object.keys(doc.components.schemas)) {
    assert.doesNotThrow(() => ajv.compile({ $ref: `admin#/components/schemas/${name}` }), name);
  }
});

test('entity schemas are the config schema\'s own (found independently by walking fullSchema())', () => {
  const root = plain(fullSchema());
  const s = doc.components.schemas as Obj;
  const withoutName = (x: Obj) => {
    const { name: _n, ...properties } = x.properties;
    return { ...x, properties, required: (x.required as string[]).filter((r) => r !== 'name') };
  };
  const onlyValue = (rec: Obj) => Object.values(rec.patternProperties)[0] as Obj;
  const normalizeRequired = (x: Obj) => ({ ...x, required: x.required ?? [] });
  assert.deepEqual(s.Settings, root.properties.server);
  assert.deepEqual(withoutName(s.Upstream), normalizeRequired(onlyValue(root.properties.upstreams)));
  assert.deepEqual(withoutName(s.Function), normalizeRequired(onlyValue(root.properties.functions)));
  assert.deepEqual(withoutName(s.UsagePlan), normalizeRequired(onlyValue(root.properties.usagePlans)));
  assert.deepEqual(s.ApiKey, root.properties.apiKeys.items);
  assert.deepEqual(s.Route, root.properties.apis.items.properties.routes.items);
  const { routes: _r, ...apiProps } = root.properties.apis.items.properties;
  assert.deepEqual(s.Api.properties, apiProps);
  // Route plugin configs are the bundled plugins' schemas, so a plugin option is described where it is used.
  assert.deepEqual(Object.keys(s.Route.properties.plugins.properties).sort(), Object.keys(pluginSchemas(BUNDLED_PLUGINS)).sort());
  for (const name of Object.keys(pluginSchemas(BUNDLED_PLUGINS))) {
    assert.deepEqual(withoutName(s[`Plugin.${name}`]), normalizeRequired(root.properties.plugins.properties[name]), name);
  }
});

test('global plugin entities carry "name": no bundled plugin has a top-level option of that name', () => {
  for (const [name, schema] of Object.entries(pluginSchemas(BUNDLED_PLUGINS))) {
    assert.ok(!Object.hasOwn(schema.properties, 'name'), `plugin ${name} has a "name" option; the /plugins representation would collide`);
  }
});

test('the API\'s real answers satisfy the schemas it publishes', async () => {
  const store = new MemoryConfigStore({
    server: { logLevel: 'warn' },
    plugins: { 'response-headers': { set: { 'x-a': '1' } } },
    upstreams: { users: { targets: [{ url: 'http://127.0.0.1:9' }], balancer: 'p2c' } },
    functions: { hello: { endpoint: 'http://127.0.0.1:9' } },
    usagePlans: { basic: { apiStages: [{ api: 'shop' }] } },
    apis: [{ name: 'shop', basePath: '/shop', routes: [{ name: 'items', path: '/items/{id}', integration: { type: 'http', upstream: 'users' } }] }],
  });
  const token = 'openapi-test-token-0123456789';
  const server = createAdminServer(
    { metrics: async () => ({ contentType: 'text/plain', body: '' }), ready: () => ({ ready: true }), routes: () => ({}), status: () => ({}) },
    pino({ level: 'silent' }),
    { store, token },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const served = await (await fetch(`${base}/openapi.json`)).json();
    assert.deepEqual(served, doc);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(doc, 'admin');
    const get = async (path: string, init: RequestInit = {}) => {
      const r = await fetch(base + path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
      return { status: r.status, body: (await r.json()) as unknown };
    };
    const check = (schema: string, value: unknown) => {
      const v = ajv.compile({ $ref: `admin#/components/schemas/${schema}` });
      assert.ok(v(value), `${schema}: ${JSON.stringify(v.errors)} for ${JSON.stringify(value)}`);
    };
    check('Settings', (await get('/settings')).body);
    check('Plugin', (await get('/plugins/response-headers')).body);
    check('Upstream', (await get('/upstreams/users')).body);
    check('Function', (await get('/functions/hello')).body);
    check('UsagePlan', (await get('/usage-plans/basic')).body);
    check('Api', (await get('/apis/shop')).body);
    check('Route', (await get('/apis/shop/routes/items')).body);
    const created = await get('/api-keys', { method: 'POST', body: JSON.stringify({ name: 'k' }) });
    assert.equal(created.status, 201);
    check('ApiKeyCreated', created.body);
    check('ApiKey', (await get(`/api-keys/${(created.body as { id: string }).id}`)).body);
    check('Error', (await get('/upstreams/none')).body);
    const rejected = await get('/upstreams/users', { method: 'PATCH', body: JSON.stringify({ balancer: 'fastest' }) });
    assert.equal(rejected.status, 400);
    assert.ok(((rejected.body as { errors: unknown[] }).errors ?? []).length > 0);
    check('Error', rejected.body);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
