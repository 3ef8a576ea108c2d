#!/usr/bin/env node
// Added latency per warm function call: the process runtime (this checkout's dist/, a process per
// function on the Lambda Runtime API) against the worker-thread runtime it replaced (another build's
// dist/ that still has runtime/worker.js, e.g. a checkout of main before issue 11). Sequential calls
// of an async handler that returns a small object, on one warm environment; prints mean, p50, p99 and
// the gateway's CPU per call. Needs `npx tsc` first.
//   node bench/function-warm.mjs [calls=3000] [threadDist=../main/dist]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const N = Number(process.argv[2] ?? 3000);
const threadDist = resolve(process.argv[3] ?? new URL('../../main/dist', import.meta.url).pathname);
const processDist = new URL('../dist', import.meta.url).pathname;

const dir = mkdtempSync(join(tmpdir(), 'turnpike-fn-bench-'));
const module = join(dir, 'handler.mjs');
writeFileSync(module, 'export const handler = async (event) => ({ statusCode: 200, body: JSON.stringify({ ok: true, n: event.n }) });\n');

async function run(label, dist) {
  const { FunctionPool } = await import(join(dist, 'src/integrations/function/runtime/index.js'));
  const pool = new FunctionPool({ name: 'bench', module, concurrency: 1 }, { log: () => {} });
  const event = { version: '2.0', rawPath: '/bench', headers: { host: 'x' }, n: 0 };
  for (let i = 0; i < 300; i++) await pool.invoke({ ...event, n: i }); // warm: process up, JIT done
  const times = new Float64Array(N);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    const r = await pool.invoke({ ...event, n: i });
    times[i] = performance.now() - s;
    if (!r.ok) throw new Error(`${label}: ${JSON.stringify(r)}`);
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await pool.close();
  times.sort();
  const us = (ms) => `${(ms * 1000).toFixed(0).padStart(6)} µs`;
  console.log(
    `${label.padEnd(26)} mean ${us(wall / N)}  p50 ${us(times[Math.floor(N * 0.5)])}  p99 ${us(times[Math.floor(N * 0.99)])}  gateway CPU ${us((cpu.user + cpu.system) / 1000 / N)}/call`,
  );
}

console.log(`${N} sequential warm calls, node ${process.version}`);
await run('worker thread (before)', threadDist);
await run('process + Runtime API', processDist);
