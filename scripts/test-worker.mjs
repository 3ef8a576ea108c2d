// A long-lived test process of the in-process lane (scripts/run-tests.mjs, docs/testing.md): it runs the
// compiled test files the runner sends over IPC, one at a time, so the ~0.5 s of CPU that Node spends
// loading the gateway's modules is paid once per worker instead of once per file.
//
// Each file runs inside a root-level `describe` named by its path, and is loaded with a synchronous
// require() of its ES module (Node >= 20.19 without a flag): every test, describe and hook the file
// declares at its top level is then declared inside that suite, so a file's `before`/`after`/`beforeEach`
// apply to its own tests only, and its `after` runs when the file ends rather than when the process does.
// A file whose module graph has a top-level await cannot be required (ERR_REQUIRE_ASYNC_MODULE, thrown
// before any of it runs): the worker says so and the runner runs that file in its own process.
//
// Messages: the runner sends { type: 'run', file }; the worker answers { type: 'end', file, wallMs, cpuMs,
// pass, fail, failed } once the file's suite has ended and the reporter below has counted it. When the
// runner disconnects, the event loop empties, node:test ends the root and prints the worker's summary.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe } from 'node:test';

const require = createRequire(import.meta.url);
const CLK_TCK = 100; // Linux USER_HZ

/** This process's CPU plus its reaped children's (the function runtimes, CLI runs a file waited for), in ms. */
function cpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ([11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

// The reporter (scripts/test-worker-reporter.mjs) runs in this process; it hands each file's counts
// here when node:test reports the file's suite, which can be a few ticks after the suite's promise.
/** @type {Map<string, (r: { pass: number, fail: number, failed: boolean }) => void>} */
const waiting = new Map();
/** @type {Map<string, { pass: number, fail: number, failed: boolean }>} */
const early = new Map();
globalThis[Symbol.for('turnpike.test-worker')] = {
  reported(name, result) {
    const w = waiting.get(name);
    if (w) w(result);
    else early.set(name, result);
  },
};
const REPORT_GRACE_MS = 10_000;

async function run(file) {
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  const counted = new Promise((resolveCount) => {
    const got = early.get(file);
    if (got) resolveCount(got);
    else waiting.set(file, resolveCount);
  });
  let ownProcess = false;
  await describe(file, () => {
    try {
      require(resolve(file));
    } catch (err) {
      // Thrown before any of the graph runs: the runner gives the file its own process instead.
      if (/** @type {{ code?: string }} */ (err)?.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
      ownProcess = true;
    }
  });
  if (ownProcess) {
    process.send?.({ type: 'end', file, ownProcess: true });
    return;
  }
  const wallMs = performance.now() - wall0;
  const cpu1 = cpuMs();
  // No count within the grace (the reporter never saw the suite end): the file counts as failed.
  const none = new Promise((r) => setTimeout(() => r(undefined), REPORT_GRACE_MS).unref());
  const result = await Promise.race([counted, none]);
  waiting.delete(file);
  early.delete(file);
  process.send?.({
    type: 'end',
    file,
    wallMs,
    cpuMs: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0,
    ...(result ?? { pass: 0, fail: 0, failed: true, unreported: true }),
  });
}

// Disconnected, the worker ends when its event loop is empty. If it is still here a few seconds later,
// a file left something running: name it on stderr before the runner kills the worker.
process.on('disconnect', () => {
  setTimeout(() => {
    const left = process
      ._getActiveHandles()
      .map((h) => {
        if (h?.spawnargs) return `child process: ${h.spawnargs.join(' ')}`;
        if (typeof h?.address === 'function' && h.listening) return `server: ${JSON.stringify(h.address())}`;
        if (h?.remoteAddress !== undefined) return `socket to ${h.remoteAddress}:${h.remotePort}`;
        return undefined;
      })
      .filter(Boolean);
    process.stderr.write(`# test worker still running after its last file; open: ${left.join('; ') || process.getActiveResourcesInfo().join(', ')}\n`);
  }, Math.min(5_000, Number(process.env.TURNPIKE_TEST_EXIT_GRACE_MS ?? 30_000) / 2)).unref();
});

process.on('message', (msg) => {
  if (msg && msg.type === 'run' && typeof msg.file === 'string') void run(msg.file);
});
process.send?.({ type: 'ready' });
