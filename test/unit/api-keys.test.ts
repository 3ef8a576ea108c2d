/**
 * API keys and usage plans without a process: hashing, lookup, quota calendar math, the token bucket
 * as the plugin uses it (fixed clock), the plugin's hooks on a stand-in context, and config problems.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import type { RequestContext } from '../../src/pipeline/context.js';
import type { EarlyAnswer, PluginHooks } from '../../src/pipeline/types.js';
import { instantiate } from '../helpers/plugin-deps.js';
import { apiKey, FORBIDDEN, QUOTA_EXCEEDED, THROTTLED } from '../../src/plugins/api-key/index.js';
import {
  equalConstantTime,
  generateApiKey,
  generateKeyId,
  hashApiKey,
  KeyIndex,
  parseKeyHash,
  quotaLimit,
  quotaWindow,
} from '../../src/security/api-keys.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);

test('hashApiKey is sha256:<hex> of the UTF-8 key (FIPS 180-2 "abc" vector)', () => {
  assert.equal(hashApiKey('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.match(hashApiKey(generateApiKey()), /^sha256:[0-9a-f]{64}$/);
});

test('parseKeyHash accepts only sha256: with 64 lower-case hex digits', () => {
  const good = hashApiKey('k');
  assert.equal(parseKeyHash(good)?.length, 32);
  for (const bad of [good.toUpperCase(), good.slice(7), `sha1:${good.slice(7)}`, good.slice(0, -1), `${good}0`, `sha256:${'g'.repeat(64)}`]) {
    assert.equal(parseKeyHash(bad), undefined, bad);
  }
});

test('generated keys are 40 alphanumeric characters, ids 10 lower-case; no repeats', () => {
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const k = generateApiKey();
    assert.match(k, /^[A-Za-z0-9]{40}$/);
    keys.add(k);
    assert.match(generateKeyId(), /^[a-z0-9]{10}$/);
  }
  assert.equal(keys.size, 200);
});

test('generated keys use the whole alphabet evenly (no modulo bias towards A-H)', () => {
  const counts = new Map<string, number>();
  for (let i = 0; i < 500; i++) for (const c of generateApiKey()) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // 20,000 characters over 62 symbols: about 323 each; a biased generator puts A-H near 400+.
  for (const [c, n] of counts) assert.ok(n > 220 && n < 430, `${c}: ${n}`);
});

test('KeyIndex finds a key by its value only: not by a prefix, an extension, another case or the hash', () => {
  const key = generateApiKey();
  const other = generateApiKey();
  const index = new KeyIndex<string>();
  assert.equal(index.add(hashApiKey(key), 'k1'), true);
  assert.equal(index.add(hashApiKey(other), 'k2'), true);
  assert.equal(index.add(hashApiKey(key), 'dup'), false, 'the same hash twice is refused');
  assert.equal(index.add('plaintext', 'bad'), false, 'a malformed hash is refused');
  assert.equal(index.size, 2);
  assert.equal(index.find(key), 'k1');
  assert.equal(index.find(other), 'k2');
  for (const wrong of [key.slice(0, -1), `${key}x`, key.toLowerCase() === key ? key.toUpperCase() : key.toLowerCase(), '', hashApiKey(key), hashApiKey(key).slice(7), ' '.repeat(40)]) {
    assert.equal(index.find(wrong), undefined, JSON.stringify(wrong));
  }
  // Non-ASCII input is hashed as UTF-8, not rejected or mangled.
  const unicode = 'clé-🔑-0123456789abcdef';
  index.add(hashApiKey(unicode), 'u');
  assert.equal(index.find(unicode), 'u');
});

test('KeyIndex per-connection memo: a repeat on one connection is answered from it; any other value is looked up afresh', () => {
  const key = generateApiKey();
  const other = generateApiKey();
  const index = new KeyIndex<string>();
  index.add(hashApiKey(key), 'k1');
  index.add(hashApiKey(other), 'k2');
  const conn = {};
  const conn2 = {};
  assert.equal(index.find(key, conn), 'k1');
  assert.equal(index.find(key, conn), 'k1', 'repeat on the same connection');
  // A different value on the same connection (a pooling load balancer mixing clients) is never given the memo's answer.
  assert.equal(index.find(other, conn), 'k2');
  // (The key is random: its last character may itself be 'x', so pick one that surely differs.)
  assert.equal(index.find(`${key.slice(0, -1)}${key.endsWith('x') ? 'y' : 'x'}`, conn), undefined, 'same length, last character differs');
  assert.equal(index.find(key.slice(0, -1), conn), undefined, 'shorter');
  assert.equal(index.find(key, conn), 'k1', 'back to the first key');
  // A miss is memoised as a miss, never turned into the previous hit.
  const wrong = generateApiKey();
  assert.equal(index.find(wrong, conn2), undefined);
  assert.equal(index.find(wrong, conn2), undefined);
  assert.equal(index.find(key, conn2), 'k1');
  // A new index (what a reload builds) shares nothing with the old one's memo.
  const reloaded = new KeyIndex<string>();
  reloaded.add(hashApiKey(other), 'k2');
  assert.equal(reloaded.find(key, conn), undefined, 'key removed by the reload');
  assert.equal(reloaded.find(other, conn), 'k2');
});


test('KeyIndex memo compares whole code units: same-length values that differ anywhere, beyond latin1, odd lengths and past the scratch size', () => {
  // Keys the memo holds as words (UTF-16 code units); a value that only agrees in the low byte of each
  // unit, or in all but one position, is a different value and must be looked up, never answered from the memo.
  const cases: [string, string][] = [
    ['a\u0101bc', 'a\u0001bc'], // same low bytes (what a latin1 copy would make equal)
    ['abcde', 'abcdf'], // odd length: the padding half-word must not decide
    ['abcd', 'abce'],
    ['🔑key', '🔐key'], // surrogate pairs
    ['x'.repeat(300), `${'x'.repeat(299)}y`], // longer than the scratch buffer: the string compare
  ];
  for (const [key, near] of cases) {
    const index = new KeyIndex<string>();
    index.add(hashApiKey(key), 'hit');
    const conn = {};
    assert.equal(index.find(key, conn), 'hit');
    assert.equal(index.find(key, conn), 'hit', `${JSON.stringify(key)}: repeat from the memo`);
    assert.equal(index.find(near, conn), undefined, `${JSON.stringify(near)} is not ${JSON.stringify(key)}`);
    assert.equal(index.find(near, conn), undefined, `${JSON.stringify(near)}: its miss is memoised`);
    assert.equal(index.find(key, conn), 'hit', `${JSON.stringify(key)}: after the near miss`);
    // An odd-length value after an even one on the same connection: the scratch's stale bytes must not matter.
    assert.equal(index.find(`${key}z`, conn), undefined);
    assert.equal(index.find(key, conn), 'hit');
  }
});
test('equalConstantTime: equal only for the same characters; different lengths are unequal', () => {
  assert.equal(equalConstantTime('abc', 'abc'), true);
  assert.equal(equalConstantTime('', ''), true);
  assert.equal(equalConstantTime('abc', 'abd'), false);
  assert.equal(equalConstantTime('abc', 'xbc'), false);
  assert.equal(equalConstantTime('abc', 'ab'), false);
  assert.equal(equalConstantTime('ab', 'abc'), false);
  assert.equal(equalConstantTime('é', 'e'), false);
  assert.equal(equalConstantTime('🔑', '🔑'), true);
});

test('quota periods: DAY from 00:00 UTC, WEEK from Sunday 00:00 UTC, MONTH from the 1st; ends are the next start', () => {
  // 2026-11-21 is a Saturday.
  assert.equal(new Date(at('2026-11-21T12:00:00Z')).getUTCDay(), 6);
  const day = quotaWindow('DAY', at('2026-11-21T23:59:59.999Z'));
  assert.deepEqual([iso(day.startMs), iso(day.endMs)], ['2026-11-21T00:00:00.000Z', '2026-11-22T00:00:00.000Z']);
  assert.equal(iso(quotaWindow('DAY', at('2026-11-22T00:00:00.000Z')).startMs), '2026-11-22T00:00:00.000Z');

  const week = quotaWindow('WEEK', at('2026-11-21T23:59:59.999Z'));
  assert.deepEqual([iso(week.startMs), iso(week.endMs)], ['2026-11-15T00:00:00.000Z', '2026-11-22T00:00:00.000Z']);
  // Sunday 00:00 starts a new week; Saturday 23:59 belongs to the old one.
  assert.equal(iso(quotaWindow('WEEK', at('2026-11-22T00:00:00.000Z')).startMs), '2026-11-22T00:00:00.000Z');
  // Across a month and year end.
  assert.equal(iso(quotaWindow('WEEK', at('2027-01-01T10:00:00Z')).startMs), '2026-12-27T00:00:00.000Z');

  const month = quotaWindow('MONTH', at('2026-12-31T23:59:59.999Z'));
  assert.deepEqual([iso(month.startMs), iso(month.endMs)], ['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
  const feb = quotaWindow('MONTH', at('2028-02-29T08:00:00Z'));
  assert.deepEqual([iso(feb.startMs), iso(feb.endMs)], ['2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z']);
});

test('quota offset: subtracted from the limit only in the period containing the key\'s createdAt (AWS QuotaSettings)', () => {
  const created = at('2026-11-18T15:00:00Z');
  const sameWeek = quotaWindow('WEEK', at('2026-11-21T00:00:00Z')).startMs;
  const nextWeek = quotaWindow('WEEK', at('2026-11-23T00:00:00Z')).startMs;
  assert.equal(quotaLimit(100, 30, 'WEEK', sameWeek, created), 70);
  assert.equal(quotaLimit(100, 30, 'WEEK', nextWeek, created), 100);
  assert.equal(quotaLimit(100, 300, 'WEEK', sameWeek, created), 0, 'never below 0');
  assert.equal(quotaLimit(100, 30, 'WEEK', sameWeek, undefined), 100, 'no createdAt: no initial period');
  assert.equal(quotaLimit(100, 0, 'WEEK', sameWeek, created), 100);
});

// ------------------------------------------------------------------------------------------------
// The plugin's hooks on a stand-in context, counters on a fixed clock.

const KEY_A = generateApiKey();
const KEY_B = generateApiKey();
const KEY_OFF = generateApiKey();
const KEY_NOPLAN = generateApiKey();
const KEY_OTHER = generateApiKey();

function config(): GatewayConfig {
  return {
    apis: [
      { name: 'shop', routes: [] },
      { name: 'other', routes: [] },
      { name: 'aws', openapi: 'x.yaml', stages: { dev: {}, prod: {} } },
    ],
    usagePlans: {
      gold: { apiStages: [{ api: 'shop' }, { api: 'aws', stage: 'prod' }], throttle: { rateLimit: 2, burstLimit: 3 }, quota: { limit: 5, period: 'DAY' } },
      elsewhere: { apiStages: [{ api: 'other' }] },
    },
    apiKeys: [
      { id: 'a', name: 'A', hash: hashApiKey(KEY_A), usagePlans: ['gold'] },
      { id: 'b', name: 'B', hash: hashApiKey(KEY_B), usagePlans: ['gold'] },
      { id: 'off', name: 'Off', hash: hashApiKey(KEY_OFF), enabled: false, usagePlans: ['gold'] },
      { id: 'noplan', name: 'No plan', hash: hashApiKey(KEY_NOPLAN) },
      { id: 'other', name: 'Other', hash: hashApiKey(KEY_OTHER), usagePlans: ['elsewhere'] },
    ],
  } as GatewayConfig;
}

function hooksFor(cfg: GatewayConfig, counters: MemoryCounterStore, source?: 'HEADER' | 'AUTHORIZER'): PluginHooks {
  return instantiate(apiKey, source ? { source } : {}, { config: cfg, stores: { counters } });
}

interface FakeCtx {
  req: { headers: Record<string, string | undefined> };
  route: { api: string; name: string; stage: string | undefined };
  state: Record<string, unknown> | undefined;
  principal: unknown;
}

function ctx(headers: Record<string, string | undefined>, api = 'shop', name = 'GET /x', principal?: unknown, stage?: string): FakeCtx {
  return { req: { headers }, route: { api, name, stage }, state: undefined, principal };
}

/** authenticate then rateLimit, as the runner calls them; the first early answer or undefined. */
async function run(hooks: PluginHooks, c: FakeCtx): Promise<EarlyAnswer | undefined> {
  const a = await hooks.authenticate?.(c as unknown as RequestContext);
  if (a) return a;
  return (await hooks.rateLimit?.(c as unknown as RequestContext)) ?? undefined;
}

test('authenticate: missing, empty, unknown, disabled, plan-less and other-API keys are refused with INVALID_API_KEY', async () => {
  const hooks = hooksFor(config(), new MemoryCounterStore(() => 0));
  assert.deepEqual(FORBIDDEN, { deny: 'INVALID_API_KEY' });
  for (const h of [{}, { 'x-api-key': '' }, { 'x-api-key': generateApiKey() }, { 'x-api-key': KEY_OFF }, { 'x-api-key': KEY_NOPLAN }, { 'x-api-key': KEY_OTHER }]) {
    assert.equal(await run(hooks, ctx(h)), FORBIDDEN, JSON.stringify(Object.keys(h)));
  }
  // Two x-api-key headers reach Node joined by ", ": never a valid key.
  assert.equal(await run(hooks, ctx({ 'x-api-key': `${KEY_A}, ${KEY_A}` })), FORBIDDEN);
});

test('authenticate: a valid key sets identity.apiKey and apiKeyId (requestContext.identity on AWS)', async () => {
  const hooks = hooksFor(config(), new MemoryCounterStore(() => 0));
  const c = ctx({ 'x-api-key': KEY_A });
  assert.equal(await run(hooks, c), undefined);
  assert.deepEqual((c.principal as { identity: unknown }).identity, { apiKey: KEY_A, apiKeyId: 'a' });
  // An earlier authorizer's principal is kept and extended.
  const c2 = ctx({ 'x-api-key': KEY_A }, 'shop', 'GET /x', { kind: 'jwt', principalId: 'u1', identity: { caller: 'x' } });
  assert.equal(await run(hooks, c2), undefined);
  assert.deepEqual(c2.principal, { kind: 'jwt', principalId: 'u1', identity: { caller: 'x', apiKey: KEY_A, apiKeyId: 'a' } });
});

test('stages: a plan listing {api, stage} covers that stage of an AWS-document API only', async () => {
  const hooks = hooksFor(config(), new MemoryCounterStore(() => 0));
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_B }, 'aws', 'prod GET /pets', undefined, 'prod')), undefined);
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_B }, 'aws', 'dev GET /pets', undefined, 'dev')), FORBIDDEN);
  // The stage is the route's field, never parsed out of its name.
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_B }, 'aws', 'prod GET /pets', undefined, 'dev')), FORBIDDEN);
});

test('source AUTHORIZER reads principal.usageIdentifierKey and ignores x-api-key', async () => {
  const hooks = hooksFor(config(), new MemoryCounterStore(() => 0), 'AUTHORIZER');
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_A })), FORBIDDEN);
  assert.equal(await run(hooks, ctx({}, 'shop', 'GET /x', { kind: 'lambda', principalId: 'p', usageIdentifierKey: KEY_OFF })), FORBIDDEN);
  const c = ctx({}, 'shop', 'GET /x', { kind: 'lambda', principalId: 'p', usageIdentifierKey: KEY_A });
  assert.equal(await run(hooks, c), undefined);
  assert.equal((c.principal as { identity: Record<string, unknown> }).identity.apiKeyId, 'a');
});

test('throttle: token bucket with burst 3 and rate 2/s (fixed clock); each key has its own bucket', async () => {
  let now = 1_000_000;
  const counters = new MemoryCounterStore(() => now);
  const cfg = config();
  delete (cfg.usagePlans as Record<string, { quota?: unknown }>).gold!.quota;
  const hooks = hooksFor(cfg, counters);
  const a = () => run(hooks, ctx({ 'x-api-key': KEY_A }));
  assert.deepEqual(THROTTLED, { deny: 'THROTTLED' });
  for (let i = 0; i < 3; i++) assert.equal(await a(), undefined, `burst request ${i + 1}`);
  assert.equal(await a(), THROTTLED);
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_B })), undefined, 'key b has its own bucket');
  now += 499; // 0.998 tokens: still refused
  assert.equal(await a(), THROTTLED);
  now += 1; // 1 token
  assert.equal(await a(), undefined);
  assert.equal(await a(), THROTTLED);
  now += 10_000; // refills to the burst, never beyond
  for (let i = 0; i < 3; i++) assert.equal(await a(), undefined);
  assert.equal(await a(), THROTTLED);
  await counters.close();
});

test('quota: the (limit+1)th request of the period is 429 Limit Exceeded; the throttle still applies; per-key counts', async () => {
  const counters = new MemoryCounterStore(() => 0); // bucket clock frozen: no refill
  const cfg = config();
  const gold = (cfg.usagePlans as Record<string, { throttle?: unknown; quota?: unknown }>).gold!;
  gold.throttle = { rateLimit: 0, burstLimit: 4 };
  gold.quota = { limit: 2, period: 'MONTH' };
  const hooks = hooksFor(cfg, counters);
  const a = () => run(hooks, ctx({ 'x-api-key': KEY_A }));
  assert.deepEqual(QUOTA_EXCEEDED, { deny: 'QUOTA_EXCEEDED' });
  assert.deepEqual(THROTTLED, { deny: 'THROTTLED' });
  assert.equal(await a(), undefined);
  assert.equal(await a(), undefined);
  assert.equal(await a(), QUOTA_EXCEEDED);
  assert.equal(await a(), QUOTA_EXCEEDED);
  assert.equal(await a(), THROTTLED, 'burst of 4 spent');
  assert.equal(await run(hooks, ctx({ 'x-api-key': KEY_B })), undefined, 'key b has its own quota');
  await counters.close();
});

// ------------------------------------------------------------------------------------------------
// Config problems the schema cannot express, reported by `turnpike validate` / reload.

function problems(yaml: string): string {
  try {
    buildTable(parseConfigText(yaml, 'test.yaml'), { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  assert.fail('expected the config to be rejected');
}

const H1 = hashApiKey('one-key-0123456789abcdef');
const H2 = hashApiKey('two-key-0123456789abcdef');
const base = (extra: string) => `
apis:
  - name: shop
    plugins: { api-key: {} }
    routes:
      - { path: /x, integration: { type: mock } }
${extra}`;

test('config: unknown plan, unknown api, stage on a native API, duplicate id and hash, two plans for one stage', () => {
  const msg = problems(
    base(`
usagePlans:
  p1: { apiStages: [{ api: shop }] }
  p2: { apiStages: [{ api: shop }] }
  p3: { apiStages: [{ api: nope }, { api: shop, stage: prod }] }
apiKeys:
  - { id: k1, name: one, hash: "${H1}", usagePlans: [p1, missing] }
  - { id: k1, name: dup, hash: "${H2}", usagePlans: [p1, p2] }
  - { id: k3, name: same, hash: "${H1}" }
`),
  );
  assert.match(msg, /apiKeys\[0\]\.usagePlans\[1\]: unknown usage plan "missing"/);
  assert.match(msg, /usagePlans\.p3\.apiStages\[0\]: unknown api "nope"/);
  assert.match(msg, /usagePlans\.p3\.apiStages\[1\]: api "shop" is a native API without stages/);
  assert.match(msg, /apiKeys\[1\]\.id: duplicate key id "k1"/);
  assert.match(msg, /apiKeys\[1\]\.usagePlans\[1\]: plans "p1" and "p2" both cover api "shop"/);
  assert.match(msg, /apiKeys\[2\]\.hash: the same key hash appears twice/);
});

test('config: the schema refuses plaintext keys and unknown quota periods', () => {
  const msg = problems(
    base(`
usagePlans:
  p1: { apiStages: [{ api: shop }], quota: { limit: 5, period: YEAR } }
apiKeys:
  - { id: k1, name: one, hash: "my-secret-key-in-clear" }
`),
  );
  assert.match(msg, /apiKeys\.0\.hash|apiKeys\[0\]\.hash/);
  assert.match(msg, /usagePlans\.p1\.quota\.period/);
});

test('config: a valid setup compiles', () => {
  buildTable(
    parseConfigText(
      base(`
usagePlans:
  p1: { apiStages: [{ api: shop }], throttle: { rateLimit: 0.5, burstLimit: 1 }, quota: { limit: 10, period: WEEK, offset: 2 } }
apiKeys:
  - { id: k1, name: one, hash: "${H1}", usagePlans: [p1], createdAt: "2026-11-21T10:00:00Z" }
  - { id: k2, name: two, hash: "${H2}", enabled: false }
`),
      'test.yaml',
    ),
    { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() },
  );
});
