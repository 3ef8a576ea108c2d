#!/usr/bin/env node
// Micro-benchmark of the shared deadline queue (src/util/deadline-queue.ts) against Node's timers:
// arming and cancelling one time limit per "request" while `inflight` others stay armed (the proxy's
// total timeout: armed when the request is sent, cancelled when it ends), ns per arm+cancel pair and
// CPU-µs per million. Needs `npx tsc` first (imports dist/).
//   node bench/deadline-micro.mjs [pairs=2000000] [inflight=256]
const { DeadlineQueue, Deadline } = await import(new URL('../dist/src/util/deadline-queue.js', import.meta.url));
const N = Number(process.argv[2] ?? 2_000_000);
const INFLIGHT = Number(process.argv[3] ?? 256);
const noop = () => undefined;

function timeIt(name, body) {
  body(N / 10); // warm-up (JIT)
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  body(N);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(`${name.padEnd(44)} ${((ms * 1e6) / N).toFixed(1).padStart(7)} ns/pair  ${((c.user + c.system) / (N / 1e6) / 1000).toFixed(1).padStart(7)} CPU-ms per million`);
}

for (let round = 1; round <= 3; round++) {
  console.log(`round ${round} (${INFLIGHT} others armed)`);
  {
    const ring = Array.from({ length: INFLIGHT }, () => setTimeout(noop, 60_000));
    let k = 0;
    timeIt('setTimeout + clearTimeout', (n) => {
      for (let i = 0; i < n; i++) {
        clearTimeout(ring[k]);
        ring[k] = setTimeout(noop, 60_000);
        k = k + 1 === INFLIGHT ? 0 : k + 1;
      }
    });
    for (const t of ring) clearTimeout(t);
  }
  {
    const q = new DeadlineQueue();
    const lane = q.lane(60_000);
    const ring = Array.from({ length: INFLIGHT }, () => {
      const d = new Deadline(noop, undefined, false);
      lane.start(d);
      return d;
    });
    let k = 0;
    timeIt('new Deadline + lane.start + cancel', (n) => {
      for (let i = 0; i < n; i++) {
        ring[k].cancel();
        const d = new Deadline(noop, undefined, false);
        lane.start(d);
        ring[k] = d;
        k = k + 1 === INFLIGHT ? 0 : k + 1;
      }
    });
    let k2 = 0;
    let now = performance.now();
    timeIt('lane.start(d, now) + cancel (no clock read)', (n) => {
      for (let i = 0; i < n; i++) {
        const d = ring[k2];
        d.cancel();
        now += 1e-6;
        lane.start(d, now);
        k2 = k2 + 1 === INFLIGHT ? 0 : k2 + 1;
      }
    });
    for (const d of ring) d.cancel();
  }
}
process.exit(0);
