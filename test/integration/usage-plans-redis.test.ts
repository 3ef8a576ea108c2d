/**
 * Usage plans counted in Redis (`server.counters.policy: redis`): two gateway processes sharing the
 * machine's Redis and one usage-plan quota of N admit exactly N across both, and a throttle burst is
 * shared too. With a private Redis that the test kills, `fallback: local` keeps counting in memory and
 * `fallback: reject` answers 503, both promptly, with the warning logged and the metric counted.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { createClient } from 'redis';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys.js';
import { type RunningGateway, runCli, startGateway, tempConfig } from '../helpers/gateway.js';
import { metricSum, scrape } from '../helpers/lifecycle.js';
import { type PrivateRedis, startRedisServer } from '../helpers/redis.js';

const MAIN_URL = 'redis://127.0.0.1:6379';
const prefix = `test-${randomUUID()}:`;
const KEY_Q = generateApiKey();
const KEY_T = generateApiKey();
const QUOTA = 40;

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

interface Answer {
  status: number;
  body: string;
  ms: number;
}
function call(gw: RunningGateway, path: string, key: string): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: gw.port, path, agent, headers: { 'x-api-key': key } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function config(counters: string): string {
  return `
server:
  counters:
${counters}
apis:
  - name: quota
    plugins: { api-key: {} }
    routes:
      - { path: /q, integration: { type: mock, body: { ok: true } } }
  - name: throttled
    plugins: { api-key: {} }
    routes:
      - { path: /t, integration: { type: mock, body: { ok: true } } }
  - name: perkey
    plugins:
      api-key: {}
      rate-limit: { limits: [{ window: hour, limit: 3 }], key: [apiKey], policy: redis }
    routes:
      - { path: /pk, integration: { type: mock, body: { ok: true } } }
  - name: rawkey
    routes:
      - path: /raw
        integration: { type: mock, body: { ok: true } }
        plugins: { rate-limit: { limits: [{ window: hour, limit: 2 }], key: [apiKey], policy: redis } }
  - name: limited
    routes:
      - path: /rl
        integration: { type: mock, body: { ok: true } }
        plugins: { rate-limit: { limits: [{ window: hour, limit: 10 }], key: [route], policy: redis } }
usagePlans:
  monthly:
    apiStages: [{ api: quota }]
    quota: { limit: ${QUOTA}, period: MONTH }
  tight:
    apiStages: [{ api: throttled }]
    throttle: { rateLimit: 0.001, burstLimit: 6 }
  perkey:
    apiStages: [{ api: perkey }]
apiKeys:
  - { id: q, name: Q, hash: "${hashApiKey(KEY_Q)}", usagePlans: [monthly, perkey] }
  - { id: t, name: T, hash: "${hashApiKey(KEY_T)}", usagePlans: [tight, perkey] }
`;
}

let a: RunningGateway;
let b: RunningGateway;
let priv: PrivateRedis;
let fbLocal: RunningGateway;
let fbReject: RunningGateway;

before(async () => {
  priv = await startRedisServer();
  const shared = config(`    policy: redis\n    redis: { url: "\${REDIS_URL}", prefix: "${prefix}", timeoutMs: 500 }`);
  const env = { REDIS_URL: MAIN_URL };
  [a, b, fbLocal, fbReject] = await Promise.all([
    startGateway(shared, { env }),
    startGateway(shared, { env }),
    // 300 ms rather than the 50 ms default: the first call also connects, and on a loaded CI machine
    // that missed 50 ms (the reject gateway then answered 503 before Redis was ever killed).
    startGateway(config(`    policy: redis\n    redis: { url: "${priv.url}", timeoutMs: 300 }\n    fallback: local`)),
    startGateway(config(`    policy: redis\n    redis: { url: "${priv.url}", timeoutMs: 300 }\n    fallback: reject`)),
  ]);
});

after(async () => {
  agent.destroy();
  await Promise.all([a, b, fbLocal, fbReject].map((g) => g?.stop()));
  await priv?.kill();
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `turnpike:${prefix}*`, COUNT: 1000 })) keys.push(...(batch as unknown as string[]));
  if (keys.length > 0) await c.del(keys);
  await c.close();
});

test(`two gateways, one Redis: a quota of ${QUOTA} per month admits exactly ${QUOTA} of 300 requests spread across both`, async () => {
  const answers: { node: 'a' | 'b'; r: Answer }[] = [];
  for (let batch = 0; batch < 6; batch++) {
    const part = await Promise.all(Array.from({ length: 50 }, async (_, i) => ({ node: (i % 2 ? 'b' : 'a') as 'a' | 'b', r: await call(i % 2 ? b : a, '/q', KEY_Q) })));
    answers.push(...part);
  }
  assert.equal(answers.filter((x) => x.r.status !== 200 && x.r.status !== 429).length, 0);
  assert.equal(answers.filter((x) => x.r.status === 200).length, QUOTA);
  assert.ok(answers.some((x) => x.node === 'a' && x.r.status === 200) && answers.some((x) => x.node === 'b' && x.r.status === 200));
  const refused = answers.find((x) => x.r.status === 429)!;
  assert.equal(JSON.parse(refused.r.body).code, 'QUOTA_EXCEEDED');
  // The counter is really in Redis under the configured namespace.
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `turnpike:${prefix}fw:api-key:quota:q:*`, COUNT: 1000 })) keys.push(...(batch as unknown as string[]));
  assert.equal(keys.length, 1);
  assert.equal(await c.get(keys[0]!), String(QUOTA));
  await c.close();
});

test('two gateways, one Redis: a throttle burst of 6 is shared (6 admitted across both, not 12)', async () => {
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2 ? b : a, '/t', KEY_T)));
  assert.equal(answers.filter((r) => r.status === 200).length, 6);
  assert.ok(answers.filter((r) => r.status === 429).every((r) => JSON.parse(r.body).message === 'Too Many Requests'));
});

test('Redis killed: fallback local counts in memory, fallback reject answers 503; nothing hangs; logged and counted', async () => {
  assert.equal((await call(fbLocal, '/q', KEY_Q)).status, 200);
  assert.equal((await call(fbReject, '/q', KEY_Q)).status, 200);
  await priv.kill();
  // The local fallback counts afresh in memory: the quota of 40 per key, so the throttled route shows it: burst 6.
  const local: Answer[] = [];
  for (let i = 0; i < 8; i++) local.push(await call(fbLocal, '/t', KEY_T));
  const rejected = await Promise.all(Array.from({ length: 5 }, () => call(fbReject, '/q', KEY_Q)));
  for (const r of [...local, ...rejected]) assert.ok(r.ms < 1000, `request took ${r.ms.toFixed(0)} ms`);
  assert.deepEqual(local.map((r) => r.status), [200, 200, 200, 200, 200, 200, 429, 429]);
  assert.deepEqual(rejected.map((r) => r.status), [503, 503, 503, 503, 503]);
  assert.equal(JSON.parse(rejected[0]!.body).code, 'COUNTERS_UNAVAILABLE');
  const m1 = await scrape(fbLocal.adminUrl);
  assert.ok(metricSum(m1.samples, 'turnpike_counter_fallback_total', { plugin: 'api-key', store: 'redis', fallback: 'local' }) >= 8);
  const m2 = await scrape(fbReject.adminUrl);
  assert.ok(metricSum(m2.samples, 'turnpike_counter_fallback_total', { plugin: 'api-key', store: 'redis', fallback: 'reject' }) >= 5);
  const isWarn = (l: Record<string, unknown>) => typeof l.msg === 'string' && l.msg.startsWith('api-key: Redis unavailable');
  for (let i = 0; i < 40 && !(fbLocal.logs.some(isWarn) && fbReject.logs.some(isWarn)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fbLocal.logs.some(isWarn) && fbReject.logs.some(isWarn));
});

test('rate-limit policy redis without its own redis block uses server.counters.redis: shared by both gateways, under its prefix', async () => {
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => call(i % 2 ? b : a, '/rl', KEY_Q)));
  assert.equal(answers.filter((r) => r.status === 200).length, 10);
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `turnpike:${prefix}rl:*`, COUNT: 1000 })) keys.push(...(batch as unknown as string[]));
  assert.equal(keys.length, 1, keys.join(','));
  await c.close();
});

/** Every Redis key under this run's prefix that matches `pattern`. */
async function redisKeys(pattern: string): Promise<string[]> {
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `turnpike:${prefix}${pattern}`, COUNT: 1000 })) keys.push(...(batch as unknown as string[]));
  await c.close();
  return keys;
}

test('rate-limit key apiKey: counted per key across both gateways under the key id; no key value ever becomes a Redis key name', async () => {
  const seq = async (key: string, n: number, path = '/pk') => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await call(i % 2 ? b : a, path, key)).status);
    return out;
  };
  assert.deepEqual(await seq(KEY_Q, 4), [200, 200, 200, 429]);
  assert.deepEqual(await seq(KEY_T, 4), [200, 200, 200, 429], 'a second key has its own counter');
  // Without the api-key plugin the header is not a verified key: it is counted by its SHA-256.
  const raw = `raw-${randomUUID()}`;
  assert.deepEqual(await seq(raw, 3, '/raw'), [200, 200, 429]);
  const names = await redisKeys('rl:*');
  for (const k of [KEY_Q, KEY_T, raw]) assert.ok(!names.some((n) => n.includes(k)), `a key value in ${names.join(', ')}`);
  assert.ok(names.some((n) => n.includes(':q|hour')) && names.some((n) => n.includes(':t|hour')), names.join(', '));
  assert.ok(names.some((n) => n.includes(`sha256:${createHash('sha256').update(raw).digest('hex')}|hour`)), names.join(', '));
});

test('policy redis without redis.url is a config error that names the fix; validate never connects', async () => {
  const bad = await runCli(['validate', tempConfig(config('    policy: redis'))]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr + bad.stdout, /server\.counters\.redis is missing/);
  // An unreachable Redis is not a config error: clients connect on the first request only.
  const ok = await runCli(['validate', tempConfig(config('    policy: redis\n    redis: { url: "redis://127.0.0.1:1" }'))]);
  assert.equal(ok.code, 0, ok.stderr);
});
