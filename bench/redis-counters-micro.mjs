#!/usr/bin/env node
// Micro-benchmark of the Redis counter store's client side (src/stores/redis-counters.ts): 64
// incrementSliding calls in flight against a Redis (default the machine's), calls/s and the client's
// CPU-µs per call. Needs `npx tsc` first (imports dist/).
//   node bench/redis-counters-micro.mjs [calls=100000] [redis://127.0.0.1:6379]
const dist = new URL('../dist/src/stores/', import.meta.url);
const { RedisClients } = await import(new URL('redis-counters.js', dist));
const N = Number(process.argv[2] ?? 100_000);
const url = process.argv[3] ?? 'redis://127.0.0.1:6379';
const reg = new RedisClients();
const lease = reg.acquire(url, { prefix: `bench-micro-${process.pid}:`, timeoutMs: 1000 });
const store = lease.store;
const key = 'rl:api:bench:40:benchKey0123456789abcdefghijklmnopqrstuv|minute';
await store.incrementSliding(key, 60_000, 1e12);
for (let round = 0; round < 3; round++) {
  let sent = 0;
  let done = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((resolve) => {
    const one = () => {
      if (sent >= N) return;
      sent++;
      store.incrementSliding(key, 60_000, 1e12).then(() => {
        if (++done === N) resolve();
        else one();
      });
    };
    for (let i = 0; i < 64; i++) one();
  });
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  console.log(`round ${round + 1}: ${Math.round((N / ms) * 1000)} calls/s, ${((c.user + c.system) / N).toFixed(2)} client CPU-µs/call`);
}
await lease.release();
