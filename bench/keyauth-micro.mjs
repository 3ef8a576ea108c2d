#!/usr/bin/env node
// Micro-benchmark of what key auth + a local rate limit add per request, in-process and without the
// network (the rig's noise hides single microseconds): the api-key authenticate + rateLimit hooks and
// the rate-limit rateLimit + transformResponse hooks on a stand-in request context, with the
// in-process MemoryCounterStore (sync fast path). Compare with the pass-through CPU-µs/req of
// `npm run bench`. Needs `npx tsc` first (imports dist/).   node bench/keyauth-micro.mjs [iterations]
import { createHash } from 'node:crypto';
import pino from 'pino';

const dist = new URL('../dist/src/', import.meta.url);
const { apiKey } = await import(new URL('plugins/api-key/index.js', dist));
const { rateLimit } = await import(new URL('plugins/rate-limit/index.js', dist));
const { MemoryCounterStore } = await import(new URL('stores/memory-counters.js', dist));
const { HeaderList } = await import(new URL('util/header-list.js', dist));

const N = Number(process.argv[2] ?? 1_000_000);
const KEY = 'benchKey0123456789abcdefghijklmnopqrstuv';
const config = {
  apis: [{ name: 'bench', routes: [] }],
  usagePlans: { bench: { apiStages: [{ api: 'bench' }] } },
  apiKeys: [{ id: 'bench', name: 'bench', hash: `sha256:${createHash('sha256').update(KEY).digest('hex')}`, usagePlans: ['bench'] }],
};
const counters = new MemoryCounterStore();
const deps = { logger: pino({ level: 'silent' }), scope: 'api:bench', functions: { invoker: () => undefined }, config, stores: { counters } };
const ak = apiKey.create({}, deps);
const rl = rateLimit.create({ limits: [{ window: 'minute', limit: 1_000_000_000 }], key: ['apiKey'] }, deps);
const route = { api: 'bench', name: 'pass', id: 'bench/pass' };

// One keep-alive connection (the key memo hits), or a new connection per request (it never does).
const KEEP_ALIVE = {};
let socket = KEEP_ALIVE;
function one() {
  const ctx = { req: { headers: { 'x-api-key': KEY, host: 'x' }, socket }, route, state: undefined, principal: undefined, clientIp: '127.0.0.1', table: undefined, response: undefined };
  if (ak.authenticate(ctx) !== undefined) throw new Error('refused');
  if (ak.rateLimit(ctx) !== undefined) throw new Error('throttled');
  if (rl.rateLimit(ctx) !== undefined) throw new Error('limited');
  ctx.response = { status: 200, headers: new HeaderList(['content-type', 'application/json', 'content-length', '102']) };
  rl.transformResponse(ctx);
}
function baseline() {
  const ctx = { req: { headers: { 'x-api-key': KEY, host: 'x' } }, route, state: undefined, principal: undefined, clientIp: '127.0.0.1', table: undefined, response: undefined };
  ctx.response = { status: 200, headers: new HeaderList(['content-type', 'application/json', 'content-length', '102']) };
}
function oneFresh() {
  socket = {};
  one();
  socket = KEEP_ALIVE;
}
for (const [name, f] of [
  ['baseline (context + response objects)', baseline],
  ['api-key + rate-limit hooks, keep-alive connection', one],
  ['api-key + rate-limit hooks, new connection each request', oneFresh],
]) {
  for (let i = 0; i < 100_000; i++) f();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) f();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(`${name}: ${((ms * 1000) / N).toFixed(2)} µs/req wall, ${((c.user + c.system) / N).toFixed(2)} CPU-µs/req`);
}
await counters.close();
