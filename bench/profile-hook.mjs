// Profiles the process it is loaded into, for bench runs against a gateway started by a helper that
// does not take node flags (--cpu-prof is refused in NODE_OPTIONS; --import is allowed):
//
//   GATEWAY_NODE_OPTIONS="--import=$PWD/bench/profile-hook.mjs" PROFILE_DIR=/tmp/prof node bench/attacks.mjs template-8mb
//
// Writes PROFILE_DIR/<pid>.cpuprofile (the main thread's CPU profile, open in Chrome DevTools or
// speedscope) and PROFILE_DIR/<pid>.heapprofile (sampled allocations still live at exit) when the
// process exits, and PROFILE_DIR/<pid>.memory.jsonl: every 500 ms the event loop's delay over the
// last 500 ms (p50/p99/max, ms) and process.memoryUsage() in MB (rss beyond heapTotal + external is
// memory no JS heap of the main thread accounts for: worker-thread heaps, allocator caches). The inspector session is the process's own, so its answers arrive synchronously
// and the 'exit' handler can still write them.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.PROFILE_DIR ?? '/tmp/turnpike-profile';
mkdirSync(dir, { recursive: true });
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', { samplingInterval: 64 * 1024 });
process.on('exit', () => {
  session.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(r.profile));
  });
  session.post('HeapProfiler.stopSampling', (err, r) => {
    if (!err) writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(r.profile));
  });
});

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
const mb = (n) => Math.round(n / 1e5) / 10;
setInterval(() => {
  const m = process.memoryUsage();
  const line = {
    t: Date.now(),
    eld: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
    rss: mb(m.rss),
    heapTotal: mb(m.heapTotal),
    heapUsed: mb(m.heapUsed),
    external: mb(m.external),
    arrayBuffers: mb(m.arrayBuffers),
  };
  eld.reset();
  appendFileSync(join(dir, `${process.pid}.memory.jsonl`), `${JSON.stringify(line)}\n`);
}, 500).unref();
