/**
 * The plugin contract typed from the schema (issue 10, the shape §6): `create()` gets the schema's static
 * type with every defaulted property present, and the defaults come from the schema only, applied once
 * per instance by compile (src/plugins/schema-defaults.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Ajv2019Module from 'ajv/dist/2019.js';
import type { PluginConfig } from '../../src/pipeline/types.js';
import { BUNDLED_PLUGINS } from '../../src/plugins/registry.js';
import { applyDefaults } from '../../src/plugins/schema-defaults.js';
import type { schema as rateLimitSchema } from '../../src/plugins/rate-limit/schema.js';
import type { schema as wafSchema } from '../../src/plugins/waf/schema.js';
import { createGateway } from '../../src/gateway.js';

const Ajv = Ajv2019Module.default;

// Compile-time checks: these lines fail `tsc` (and so the build) when the derived type drifts.
type RateLimit = PluginConfig<typeof rateLimitSchema>;
type Waf = PluginConfig<typeof wafSchema>;
const defaultedArePresent: [RateLimit['key'], RateLimit['policy'], RateLimit['headers'], Waf['paranoia']] extends [string[], 'local' | 'redis', boolean, number] ? true : false = true;
const optionalStaysOptional: undefined extends RateLimit['redis'] ? true : false = true;
const requiredStaysRequired: undefined extends RateLimit['limits'] ? false : true = true;

test('the config type: defaulted properties are present, optional ones optional, required ones required', () => {
  assert.deepEqual([defaultedArePresent, optionalStaysOptional, requiredStaysRequired], [true, true, true]);
});

test('applyDefaults: fills absent properties through objects and arrays, keeps given values, copies, never mutates', () => {
  const schema = BUNDLED_PLUGINS.find((p) => p.name === 'rate-limit')?.configSchema as object;
  const input = { limits: [{ window: 'second', limit: 5 }], redis: { url: 'redis://127.0.0.1:6379' }, headers: false };
  const frozen = structuredClone(input);
  const a = applyDefaults(schema, input) as Record<string, unknown>;
  assert.deepEqual(input, frozen, 'the input is not modified');
  assert.deepEqual(a, { ...input, key: ['ip'], policy: 'local', fallback: 'local', redis: { url: 'redis://127.0.0.1:6379', timeoutMs: 50 } });
  const b = applyDefaults(schema, { limits: [] }) as { key: string[] };
  (a.key as string[]).push('route');
  assert.deepEqual(b.key, ['ip'], 'two instances never share a default array');

  const waf = BUNDLED_PLUGINS.find((p) => p.name === 'waf')?.configSchema as object;
  const w = applyDefaults(waf, { rules: [{ id: 'r', action: 'block', when: [{ field: 'path', operator: 'contains', value: 'x', negate: true }] }] }) as {
    rules: { when: { negate: boolean; caseInsensitive: boolean }[] }[];
  };
  assert.deepEqual(w.rules[0]?.when[0], { field: 'path', operator: 'contains', value: 'x', negate: true, caseInsensitive: false });
});

/** A small valid config per bundled plugin: what the defaults are applied to. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  cors: {},
  'response-headers': {},
  'request-termination': {},
  'request-validation': { body: { schemas: { 'application/json': { type: 'object' } } } },
  'api-key': {},
  'aws-iam': { credentials: [{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's', userArn: 'arn:aws:iam::123456789012:user/a', accountId: '123456789012' }] },
  jwt: { issuer: 'https://issuer.example', audience: ['api'] },
  'lambda-authorizer': { function: 'auth' },
  'ip-restriction': {},
  waf: { rules: [{ id: 'r', action: 'block', when: [{ field: 'path', operator: 'contains', value: 'x' }] }] },
  'rate-limit': { limits: [{ window: 'second', limit: 1 }], redis: { url: 'redis://127.0.0.1:6379' } },
  'concurrency-limit': { max: 1 },
};

test('every bundled plugin: compile applies exactly the defaults config validation applies (one source: the schema)', () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), BUNDLED_PLUGINS.map((p) => p.name).sort(), 'a sample per bundled plugin');
  const ajv = new Ajv({ useDefaults: true, strict: false, allErrors: true });
  for (const p of BUNDLED_PLUGINS) {
    const sample = SAMPLES[p.name] as Record<string, unknown>;
    const byAjv = structuredClone(sample);
    const check = ajv.compile(p.configSchema);
    assert.ok(check(byAjv), `${p.name}: the sample is valid (${JSON.stringify(check.errors)})`);
    assert.deepEqual(applyDefaults(p.configSchema, sample), byAjv, p.name);
  }
});

test('create() receives its config with the defaults applied (a custom plugin through createGateway)', async () => {
  let seen: unknown;
  const probe = {
    name: 'probe',
    priority: 1,
    phases: ['onRequest'] as const,
    description: 'records its config',
    configSchema: BUNDLED_PLUGINS.find((p) => p.name === 'request-termination')?.configSchema,
    create(config: unknown) {
      seen = config;
      return {};
    },
  };
  const gw = await createGateway({
    plugins: [...BUNDLED_PLUGINS, probe as never],
    source: { text: 'apis:\n  - name: a\n    routes:\n      - { path: /x, integration: { type: mock }, plugins: { probe: { status: 418 } } }\n' },
  });
  try {
    assert.deepEqual(seen, { status: 418, message: 'Service Unavailable', contentType: 'application/json' });
  } finally {
    await gw.close();
  }
});
