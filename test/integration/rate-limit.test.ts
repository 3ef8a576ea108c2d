/**
 * rate-limit through the real gateway process (the local policy runs in-process: test/inject/rate-limit.test.ts):
 * the Redis policy shared by two gateway processes (exactness across nodes); a private Redis killed
 * mid-test gives the configured fallback without hanging any request.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { type PrivateRedis, startRedisServer } from '../helpers/redis.js';
import { clearOfWindowEdge } from '../helpers/lifecycle.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function call(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = http.request({ host: u.hostname, port: u.port, path, method: 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const run = randomUUID();
let up: Upstream;
let redisA: RunningGateway;
let redisB: RunningGateway;
let priv: PrivateRedis;
let fb: RunningGateway;

const route = (path: string, plugin: string) => `      - path: ${path}
        integration: { type: http, upstream: app }
        plugins:
          rate-limit: ${plugin}`;

before(async () => {
  up = await startUpstream();
  priv = await startRedisServer();
  const head = `upstreams:\n  app: { targets: [{ url: ${up.url} }] }\napis:\n  - name: rl\n    basePath: /rl\n    routes:\n`;
  const shared = head + route('/shared', `{ limits: [{ window: minute, limit: 100 }], key: ['header:x-run'], policy: redis, redis: { url: 'redis://127.0.0.1:6379', timeoutMs: 500 } }`) + '\n';
  [redisA, redisB] = await Promise.all([startGateway(shared), startGateway(shared)]);
  // The first call also connects: 300 ms, not the 50 ms default, so a busy machine cannot push it into
  // the fallback before the test has even stopped Redis. Every answer must still come within 1 s.
  fb = await startGateway(
    head +
      [
        route('/fb-local', `{ limits: [{ window: minute, limit: 3 }], key: [ip], policy: redis, redis: { url: '${priv.url}', timeoutMs: 300 }, fallback: local }`),
        route('/fb-reject', `{ limits: [{ window: minute, limit: 1000 }], key: [ip], policy: redis, redis: { url: '${priv.url}', timeoutMs: 300 }, fallback: reject }`),
      ].join('\n') +
      '\n',
  );
});

after(async () => {
  agent.destroy();
  await Promise.all([redisA, redisB, fb].map((g) => g?.stop()));
  await priv?.kill();
  await up?.close();
});

test('redis policy: two gateway processes, limit 100/minute, 1,000 requests across both admit 100 (±1)', async () => {
  // 100/minute is exact only within one minute (past a boundary by 0.6 s, one more is rightly admitted).
  await clearOfWindowEdge(60_000, 20_000);
  const headers = { 'x-run': `shared-${run}` };
  const results: Answer[] = [];
  for (let batch = 0; batch < 20; batch++) {
    const part = await Promise.all(Array.from({ length: 50 }, (_, i) => call(i % 2 === 0 ? redisA.url : redisB.url, '/rl/shared', headers)));
    results.push(...part);
  }
  const admitted = results.filter((r) => r.status === 200).length;
  assert.equal(results.filter((r) => r.status !== 200 && r.status !== 429).length, 0);
  assert.ok(admitted >= 99 && admitted <= 101, `admitted ${admitted}`);
  // Both nodes admitted and refused: the counter really is shared.
  assert.ok(results.some((r, i) => i % 2 === 1 && r.status === 429));
});

test('redis killed mid-test: fallback local keeps limiting, fallback reject answers 503; nothing hangs', async () => {
  assert.equal((await call(fb.url, '/rl/fb-local')).status, 200);
  assert.equal((await call(fb.url, '/rl/fb-reject')).status, 200);
  await priv.kill();
  const localAnswers: Answer[] = [];
  for (let i = 0; i < 5; i++) localAnswers.push(await call(fb.url, '/rl/fb-local'));
  const rejects = await Promise.all(Array.from({ length: 5 }, () => call(fb.url, '/rl/fb-reject')));
  for (const a of [...localAnswers, ...rejects]) assert.ok(a.ms < 1000, `request took ${a.ms} ms`);
  // The local fallback counts afresh in memory: 3 admitted, then 429.
  assert.deepEqual(localAnswers.map((a) => a.status), [200, 200, 200, 429, 429]);
  assert.deepEqual(rejects.map((a) => a.status), [503, 503, 503, 503, 503]);
  const metrics = await (await fetch(`${fb.adminUrl}/metrics`)).text();
  const m = /turnpike_rate_limit_redis_fallback_total\{[^}]*fallback="local"[^}]*\} (\d+)/.exec(metrics);
  assert.ok(m && Number(m[1]) >= 5, metrics.split('\n').filter((l) => l.includes('rate_limit')).join('\n'));
  // Log lines arrive through the child's stdout pipe: give them up to 2 s to be read.
  const isWarn = (l: Record<string, unknown>) => typeof l.msg === 'string' && l.msg.startsWith('rate-limit: Redis unavailable');
  for (let i = 0; i < 40 && fb.logs.filter(isWarn).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
  const warns = fb.logs.filter(isWarn);
  // Once a minute per plugin instance: one for each of the two routes.
  assert.equal(warns.length, 2);
});
