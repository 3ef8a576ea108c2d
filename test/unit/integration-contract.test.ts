/**
 * The integration contract typed from its schema (issue 10, the shape §3 and §6): a definition is
 * `IntegrationDefinition<typeof schema>`, its `create()` gets the schema's static type with every
 * defaulted property present, and defaults are written in the schema only — compile applies them once
 * per route (src/plugins/schema-defaults.ts), exactly as for plugins (test/unit/plugin-config.test.ts).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import type { TObject } from '@sinclair/typebox';
import Ajv2019Module from 'ajv/dist/2019.js';
import { createGateway } from '../../src/gateway.js';
import type { AwsMappingSchema, awsMappingIntegration } from '../../src/integrations/aws/definition.js';
import type { functionIntegration } from '../../src/integrations/function/definition.js';
import type { FunctionIntegrationSchema } from '../../src/integrations/function/schema.js';
import type { httpIntegration } from '../../src/integrations/http/definition.js';
import type { HttpIntegrationSchema } from '../../src/integrations/http/schema.js';
import type { mockIntegration } from '../../src/integrations/mock/definition.js';
import type { MockIntegrationSchema } from '../../src/integrations/mock/schema.js';
import { BUNDLED_INTEGRATIONS } from '../../src/integrations/registry.js';
import type { IntegrationConfig, IntegrationDefinition, IntegrationDeps } from '../../src/integrations/types.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import { applyDefaults } from '../../src/plugins/schema-defaults.js';
import { HeaderList } from '../../src/util/header-list.js';
import { startUpstream } from '../helpers/upstream.js';

const Ajv = Ajv2019Module.default;
const ROOT = resolve(import.meta.dirname, '../../..');

// ---- Compile-time checks: these lines fail `tsc` (and so the build) when a type drifts. ----

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type SchemaOf<D> = D extends { configSchema: infer S extends TObject } ? S : never;
type ConfigOf<D> = D extends { create(config: infer C, deps: IntegrationDeps): unknown } ? C : never;
/** create()'s config is exactly the type derived from the definition's own configSchema: no hand-written interface, no cast. */
type TypedFromItsSchema<D> = Equals<ConfigOf<D>, IntegrationConfig<SchemaOf<D>>>;

const everyDefinitionTypedFromItsSchema: [
  TypedFromItsSchema<typeof httpIntegration>,
  TypedFromItsSchema<typeof mockIntegration>,
  TypedFromItsSchema<typeof functionIntegration>,
  TypedFromItsSchema<typeof awsMappingIntegration>,
] = [true, true, true, true];
// The check itself can fail: a definition typed from a hand-written interface is not typed from its schema.
const handWritten: TypedFromItsSchema<{ configSchema: typeof MockIntegrationSchema; create(config: { type: 'mock'; status: number }, deps: IntegrationDeps): unknown }> = false;

type Http = IntegrationConfig<typeof HttpIntegrationSchema>;
type Mock = IntegrationConfig<typeof MockIntegrationSchema>;
type Fn = IntegrationConfig<typeof FunctionIntegrationSchema>;
type AwsMapping = IntegrationConfig<typeof AwsMappingSchema>;
// Fn['apiType'] has no schema default on purpose: absent means "the route's API decides" (src/integrations/function/definition.ts).
const defaultedArePresent: [Http['preserveHost'], Mock['status']] extends [boolean, number] ? true : false = true;
const apiTypeFollowsTheApi: undefined extends Fn['apiType'] ? true : false = true;
const optionalStayOptional: [undefined extends Http['url'] ? 1 : 0, undefined extends Mock['body'] ? 1 : 0, undefined extends Fn['timeoutMs'] ? 1 : 0] = [1, 1, 1];
const requiredStayRequired: [undefined extends Fn['function'] ? 0 : 1, undefined extends AwsMapping['apiId'] ? 0 : 1] = [1, 1];
// A route's timeouts override its upstream's key by key: no key of them may be defaulted (see the runtime test below).
const routeTimeoutsStayUnset: undefined extends NonNullable<Http['timeouts']>['firstByteMs'] ? true : false = true;

test('the config types: every definition typed from its own schema; defaulted present, optional optional, required required', () => {
  assert.deepEqual(everyDefinitionTypedFromItsSchema, [true, true, true, true]);
  assert.equal(handWritten, false);
  assert.deepEqual([defaultedArePresent, apiTypeFollowsTheApi, optionalStayOptional, requiredStayRequired, routeTimeoutsStayUnset], [true, true, [1, 1, 1], [1, 1], true]);
});

// ---- Runtime checks: defaults live in the schema, and only there. ----

/** A small valid config per bundled type: what the defaults are applied to. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  http: { type: 'http', url: 'http://127.0.0.1:9', timeouts: { totalMs: 100 } },
  mock: { type: 'mock' },
  function: { type: 'function', function: 'f' },
  'aws-mapping': {
    type: 'aws-mapping',
    integration: { type: 'mock', requestParameters: {}, requestTemplates: {}, responses: [], timeoutInMillis: 29_000 },
    apiType: 'rest',
    resourcePath: '/m',
    method: 'GET',
    apiId: 'a',
    accountId: '000000000000',
    stageVariables: {},
  },
  'aws-http-proxy': { type: 'aws-http-proxy', url: 'http://127.0.0.1:9', apiType: 'rest' },
};
/** The folder of each bundled type's code. */
const FOLDERS: Record<string, string> = { http: 'http', mock: 'mock', function: 'function', 'aws-mapping': 'aws', 'aws-http-proxy': 'aws' };
/**
 * Defaults a description announces that a schema `default` cannot state, and what stands for them.
 * Anything else a description calls a default must be the property's schema `default`.
 */
const NOT_SCHEMA_DEFAULTS: Record<string, string> = {
  'http.path': 'the request path (the absence of a template)',
  'http.timeouts.connectMs': "inherited from the upstream's timeouts",
  'http.timeouts.firstByteMs': "inherited from the upstream's timeouts",
  'http.timeouts.totalMs': "inherited from the upstream's timeouts",
  'http.timeouts.idleMs': 'no idle limit (the absence of one)',
  'aws-mapping.templateBudget': "the config's server.limits.template* (per config, not per integration)",
  'aws-http-proxy.path': 'the request path (the absence of a template)',
  'aws-http-proxy.timeouts.idleMs': 'no idle limit (the absence of one)',
  'function.apiType': "the route's API's apiType (a translated AWS route sets none of its own), else http",
  'function.payloadVersion': 'depends on apiType (REST APIs only have 1.0)',
  'function.timeoutMs': "depends on apiType (AWS's 29 s for REST, 30 s for HTTP APIs)",
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every property schema under `schema.properties`, recursively, with its dotted key path. */
function properties(schema: Json, prefix: string, out: [string, Json][] = []): [string, Json][] {
  if (!isObject(schema.properties)) return out;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (!isObject(prop)) continue;
    out.push([`${prefix}.${key}`, prop]);
    properties(prop, `${prefix}.${key}`, out);
  }
  return out;
}

test('every bundled type: a sample per type, compile applies exactly the defaults ajv applies (one source: the schema)', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), BUNDLED_INTEGRATIONS.map((d) => d.type).sort(), 'a sample per bundled type');
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  for (const d of BUNDLED_INTEGRATIONS) {
    const sample = SAMPLES[d.type] as Json;
    const byAjv = structuredClone(sample);
    const check = ajv.compile(d.configSchema);
    assert.ok(check(byAjv), `${d.type}: the sample is valid (${JSON.stringify(check.errors)})`);
    assert.deepEqual(applyDefaults(d.configSchema, sample), byAjv, d.type);
  }
});

test('every default a schema description announces is that property\'s schema default, or a listed dependent one', () => {
  const seenNotSchema = new Set<string>();
  for (const d of BUNDLED_INTEGRATIONS) {
    for (const [path, prop] of properties(d.configSchema as unknown as Json, d.type)) {
      const description = typeof prop.description === 'string' ? prop.description : '';
      if ('default' in prop) {
        assert.ok(!(path in NOT_SCHEMA_DEFAULTS), `${path} has a schema default: drop it from NOT_SCHEMA_DEFAULTS`);
        // The docs are generated from descriptions: the one they state is the one applied.
        assert.ok(description.includes(`default ${String(prop.default)}`) || description.includes('(default)'), `${path}: description "${description}" does not state its default ${JSON.stringify(prop.default)}`);
      } else if (/\bdefault\b/i.test(description)) {
        assert.ok(path in NOT_SCHEMA_DEFAULTS, `${path} announces a default ("${description}") the schema does not hold: give it \`withDefault(...)\``);
        seenNotSchema.add(path);
      }
    }
  }
  assert.deepEqual([...seenNotSchema].sort(), Object.keys(NOT_SCHEMA_DEFAULTS).sort(), 'NOT_SCHEMA_DEFAULTS lists only what the schemas describe');
});

test('no integration writes a schema default again in code (`config.status ?? 200`)', () => {
  assert.deepEqual(Object.keys(FOLDERS).sort(), BUNDLED_INTEGRATIONS.map((d) => d.type).sort(), 'a folder per bundled type');
  let scanned = 0;
  for (const d of BUNDLED_INTEGRATIONS) {
    const defaulted = properties(d.configSchema as unknown as Json, d.type).filter(([, p]) => 'default' in p).map(([path]) => path.split('.').pop() as string);
    const dir = join(ROOT, 'src/integrations', FOLDERS[d.type] as string);
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 0, `${d.type}: sources found in ${dir}`);
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      scanned++;
      for (const key of defaulted) assert.doesNotMatch(text, new RegExp(`\\.${key}\\s*\\?\\?`), `${FOLDERS[d.type]}/${f} defaults "${key}" in code; the schema holds it`);
    }
  }
  assert.ok(scanned >= BUNDLED_INTEGRATIONS.length);
  // The scan can fail: the pattern finds the form it forbids.
  assert.match('this.#status = config.status ?? 200;', /\.status\s*\?\?/);
});

test('create() receives its config with the schema defaults applied, through compile, for every bundled type', async () => {
  const seen = new Map<string, unknown>();
  const probes: IntegrationDefinition<never>[] = BUNDLED_INTEGRATIONS.map((d) => ({
    type: d.type,
    description: d.description,
    configSchema: d.configSchema,
    create(config: unknown) {
      seen.set(d.type, config);
      return { integration: { type: d.type, describe: () => ({}), invoke: (ctx: RequestContext) => ctx.send(204, new HeaderList([]), undefined) } };
    },
  }));
  const routes = Object.entries(SAMPLES).map(([type, sample]) => `      - { path: /${type}, integration: ${JSON.stringify(sample)} }`);
  const gw = await createGateway({ integrations: probes, source: { text: `apis:\n  - name: a\n    routes:\n${routes.join('\n')}\n` } });
  try {
    for (const d of BUNDLED_INTEGRATIONS) {
      const sample = SAMPLES[d.type] as Json;
      assert.deepEqual(seen.get(d.type), applyDefaults(d.configSchema, sample), d.type);
      assert.equal((await gw.inject({ url: `/${d.type}` })).status, 204, d.type);
    }
    assert.equal((seen.get('mock') as Mock).status, 200);
    assert.equal((seen.get('http') as Http).preserveHost, false);
    // No schema default: the definition resolves it from the route's API (an unset one is http).
    assert.equal((seen.get('function') as Fn).apiType, undefined);
    // Nested: a route's timeouts stay what the route wrote, nothing filled in.
    assert.deepEqual((seen.get('http') as Http).timeouts, { totalMs: 100 });
  } finally {
    await gw.close();
  }
});

test('http: a route that sets one timeout keeps its upstream\'s others (no schema default overrides them)', async () => {
  // The upstream answers after 3 s; its own firstByteMs is 300 ms. The route sets only totalMs (10 s):
  // with a filled-in firstByteMs default (30 s) the answer would be the upstream's 200 after 3 s.
  const up = await startUpstream((_req, res) => {
    setTimeout(() => res.end('late'), 3000).unref();
  });
  const gw = await createGateway({
    source: {
      text: `upstreams:\n  slow: { targets: [{ url: "${up.url}" }], timeouts: { firstByteMs: 300 } }\napis:\n  - name: a\n    routes:\n      - { path: /x, integration: { type: http, upstream: slow, timeouts: { totalMs: 10000 } } }\n`,
    },
  });
  try {
    const t0 = performance.now();
    const r = await gw.inject({ url: '/x' });
    const ms = performance.now() - t0;
    assert.equal(r.status, 504);
    assert.equal(r.json<{ code: string }>().code, 'UPSTREAM_TIMEOUT');
    assert.ok(ms < 2500, `answered by the upstream's firstByteMs, not later (${Math.round(ms)} ms)`);
  } finally {
    await gw.close();
    await up.close();
  }
});
