/**
 * rate-limit's local policy in-process (test/helpers/inject.ts): N per window, stacking, header keys,
 * IETF headers, token bucket. The Redis policy shared by two gateway processes and the Redis outage
 * stay in test/integration/rate-limit.test.ts (they need separate processes and a killed server).
 */
import assert from 'node:assert/strict';
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function call(gw: InjectedGateway, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return gw.send({ method: 'GET', target: path, headers });
}

const run = randomUUID();
let up: Upstream;
let local: InjectedGateway;

const route = (path: string, plugin: string) => `      - path: ${path}
        integration: { type: http, upstream: app }
        plugins:
          rate-limit: ${plugin}`;

before(async () => {
  up = await startUpstream();
  const head = `upstreams:\n  app: { targets: [{ url: ${up.url} }] }\napis:\n  - name: rl\n    basePath: /rl\n    routes:\n`;
  local = await injectGateway(
    head +
      [
        route('/five', `{ limits: [{ window: minute, limit: 5 }], key: [ip, route] }`),
        route('/stacked', `{ limits: [{ window: second, limit: 3 }, { window: minute, limit: 100 }], key: [ip] }`),
        route('/by-user', `{ limits: [{ window: minute, limit: 2 }], key: ['header:x-user'] }`),
        route('/bucket', `{ limits: [{ tokenBucket: { rate: 1, burst: 4 } }], key: [ip], headers: false }`),
      ].join('\n') +
      '\n',
  );
});

after(async () => {
  await local?.close();
  await up?.close();
});

test('local policy: N per minute on a route, then 429 with Retry-After and IETF headers', async () => {
  const answers: Answer[] = [];
  for (let i = 0; i < 7; i++) answers.push(await call(local, '/rl/five'));
  assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 429, 429]);
  assert.equal(answers[0]!.headers['ratelimit-limit'], '5');
  assert.equal(answers[0]!.headers['ratelimit-remaining'], '4');
  assert.equal(answers[4]!.headers['ratelimit-remaining'], '0');
  const refused = answers[5]!;
  assert.equal(JSON.parse(refused.body).code, 'THROTTLED');
  const retry = Number(refused.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 60, `retry-after ${retry}`);
  assert.equal(refused.headers['ratelimit-remaining'], '0');
  assert.equal(refused.headers['ratelimit-limit'], '5');
  assert.ok(Number(refused.headers['ratelimit-reset']) >= 1);
});

test('stacked limits: the per-second limit refuses before the per-minute one', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await call(local, '/rl/stacked')).status);
  // Whole run within one second is likely but not certain: at least 3 pass, and a 429 appears.
  assert.ok(statuses.filter((s) => s === 200).length >= 3);
  assert.ok(statuses.includes(429), statuses.join(','));
});

test('key by header: each header value has its own counter', async () => {
  const a = [await call(local, '/rl/by-user', { 'x-user': `a-${run}` }), await call(local, '/rl/by-user', { 'x-user': `a-${run}` }), await call(local, '/rl/by-user', { 'x-user': `a-${run}` })];
  assert.deepEqual(a.map((x) => x.status), [200, 200, 429]);
  assert.equal((await call(local, '/rl/by-user', { 'x-user': `b-${run}` })).status, 200);
});

test('token bucket with headers: false — burst then 429 with Retry-After only', async () => {
  const answers: Answer[] = [];
  for (let i = 0; i < 6; i++) answers.push(await call(local, '/rl/bucket'));
  assert.ok(answers.slice(0, 4).every((a) => a.status === 200));
  const refused = answers.find((a) => a.status === 429);
  assert.ok(refused);
  assert.equal(refused.headers['ratelimit-limit'], undefined);
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(answers[0]!.headers['ratelimit-limit'], undefined);
});
