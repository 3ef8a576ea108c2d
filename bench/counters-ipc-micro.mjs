#!/usr/bin/env node
// Micro-benchmark behind src/stores/cluster-counters.ts: a worker's counter call answered by the
// primary's MemoryCounterStore, through (a) the cluster/child_process IPC channel (process.send,
// JSON) and (b) the Unix-socket store with binary frames. 64 calls in flight, as with wrk -c64.
// Prints ops/s and the worker's CPU-µs per call. Needs `npx tsc` first (imports dist/).
//   node bench/counters-ipc-micro.mjs [calls=200000]
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const N = Number(process.argv[2] ?? 200_000);
const INFLIGHT = 64;
const dist = new URL('../dist/src/stores/', import.meta.url);
const { MemoryCounterStore } = await import(new URL('memory-counters.js', dist));
const { serveCounters, ClusterCounterStore } = await import(new URL('cluster-counters.js', dist));

async function drive(call) {
  let sent = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await new Promise((resolve) => {
    let done = 0;
    const one = () => {
      if (sent >= N) return;
      sent++;
      call(sent).then(() => {
        if (++done === N) resolve();
        else one();
      });
    };
    for (let i = 0; i < INFLIGHT; i++) one();
  });
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  return { opsPerS: Math.round((N / ms) * 1000), cpuUsPerOp: ((c.user + c.system) / N).toFixed(2) };
}

const mode = process.env.MICRO_MODE;
if (mode === 'ipc') {
  const pending = new Map();
  process.on('message', (m) => {
    const p = pending.get(m.id);
    pending.delete(m.id);
    p(m.r);
  });
  const r = await drive((i) => new Promise((resolve) => {
    pending.set(i, resolve);
    process.send({ t: 'ctr', id: i, op: 'sliding', key: `rl:route:api/r:9:127.0.0.1|minute`, a: [60_000, 1e9, 1] });
  }));
  process.send({ t: 'result', r });
} else if (mode === 'socket') {
  const store = new ClusterCounterStore({ path: process.env.TURNPIKE_COUNTERS_SOCKET, timeoutMs: 5000 });
  const r = await drive(() => store.incrementSliding('rl:route:api/r:9:127.0.0.1|minute', 60_000, 1e9));
  process.send({ t: 'result', r });
  await store.close();
} else {
  const store = new MemoryCounterStore();
  const self = fileURLToPath(import.meta.url);
  const run = (m, env = {}) =>
    new Promise((resolve) => {
      const child = fork(self, [String(N)], { env: { ...process.env, MICRO_MODE: m, ...env } });
      child.on('message', (msg) => {
        if (msg.t === 'result') {
          resolve(msg.r);
          child.kill();
          return;
        }
        const r = store.incrementSliding(msg.key, msg.a[0], msg.a[1], msg.a[2]);
        child.send({ id: msg.id, r });
      });
    });
  const server = await serveCounters(store);
  for (let i = 0; i < 2; i++) {
    console.log(`ipc (process.send, JSON):   ${JSON.stringify(await run('ipc'))}`);
    console.log(`socket (binary frames):     ${JSON.stringify(await run('socket', { TURNPIKE_COUNTERS_SOCKET: server.path }))}`);
  }
  await server.close();
  await store.close();
}
