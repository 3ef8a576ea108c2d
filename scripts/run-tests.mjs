// Runs every compiled test file with node's test runner, in lanes, fastest tier first (docs/testing.md):
//   1. in-process: unit/, conformance/, fuzz/, inject/ (the gateway through createGateway().inject(), real
//      upstreams on 127.0.0.1) and src/**: no gateway process, mostly waiting on loopback I/O, so
//      four files at a time;
//   2. integration/: real gateway processes, two files at a time (each file starts processes that
//      burn CPU at start-up; more at once slowed the timing-sensitive ones on the 2-core VM);
//   3. the deadline files (integration/*-timeouts): they assert latencies to a few tens of ms, so they
//      run one at a time with nothing else beside them.
// `node scripts/run-tests.mjs <substring>` runs only the files whose path contains it, in the same lanes.
//
// Each file runs as its own process, `node FILE` with node's reporters (not `node --test FILE`, which
// would add a runner process per file: about 0.2 s of CPU each, 30 s over the suite on a 2-core VM),
// so that this script knows every file's wall and CPU time (Node 20's TAP has no per-file duration).
// A file's output is printed in one piece when it ends, after `# file: PATH  wall W s  cpu C s`, and
// the run ends with the slowest files and each lane's wall time and CPU. A full run keeps its times
// in dist/.test-times.json (a filtered run, alone on the machine or with DOCTEST_PAGES, would skew
// them), and every run starts each lane's longest files first by them, or by scripts/test-times.json
// before the first full run (longest-processing-time first: a long file started last would run alone
// at the end of its lane while the other slots idle); files never timed go first, then by name. CPU is the file's process
// and the children it waited for (the gateways it started), read from /proc when the file exits;
// absent where there is no /proc.
//
// FILE_TIMEOUT_MS bounds each test file as a whole (node's --test-timeout does not apply to a file run
// directly): the CLI file takes ~50 s on an idle 2-core VM and ~115 s under heavy load, so 120 s was too
// tight for a slow CI machine. A file killed for it counts as a failure.
// The last line is the total over every file ("N passed, N failed"), which CI reads.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

function find(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv[2];
// Only compiled files whose source still exists: tsc never deletes output, so a test moved or removed
// in the source (e.g. from integration/ to inject/) would otherwise keep running from a stale dist/.
const hasSource = (f) => existsSync(f.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
const files = [...find('dist/src'), ...find('dist/test')].filter((f) => (!filter || f.includes(filter)) && hasSource(f));
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}

const TIMES = 'dist/.test-times.json';
// A fresh checkout (CI: npm ci, then tsc) has no dist/.test-times.json yet: the order then comes from
// scripts/test-times.json, one full run's wall times committed with the tests (refresh it with
// `cp dist/.test-times.json scripts/test-times.json` after a full run when files were added or got
// much longer). Only the order depends on it.
const SEED_TIMES = 'scripts/test-times.json';
/** @type {Record<string, { wallMs: number, cpuMs?: number }>} */
let times = {};
for (const f of [TIMES, SEED_TIMES]) {
  try {
    times = JSON.parse(readFileSync(f, 'utf8'));
    break;
  } catch {
    // next source; with none, name order
  }
}
// Longest first; a file never timed counts as longest (it may be).
const longestFirst = (a, b) => (times[b]?.wallMs ?? Infinity) - (times[a]?.wallMs ?? Infinity) || a.localeCompare(b);

const isDeadlineFile = (f) => f.includes('/integration/') && /-timeouts\.test\.js$/.test(f);
const lanes = [
  { name: 'in-process (unit, conformance, inject)', concurrency: 4, files: files.filter((f) => !f.includes('/integration/')) },
  { name: 'integration', concurrency: 2, files: files.filter((f) => f.includes('/integration/') && !isDeadlineFile(f)) },
  { name: 'integration deadlines', concurrency: 1, files: files.filter(isDeadlineFile) },
].filter((l) => l.files.length > 0);

const reportDir = mkdtempSync(join(tmpdir(), 'turnpike-tests-'));
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
const FILE_TIMEOUT_MS = 300_000;
// Required into the file's process: at exit, its own CPU plus that of the children it reaped. The
// variable is removed at once, so a child the file forks (which inherits --require) writes nothing.
const CPU_PRELOAD = join(reportDir, 'cpu-at-exit.cjs');
writeFileSync(
  CPU_PRELOAD,
  `const { readFileSync, writeFileSync } = require('node:fs');
const out = process.env.TURNPIKE_TEST_CPU_FILE;
delete process.env.TURNPIKE_TEST_CPU_FILE;
if (out) process.on('exit', () => {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // after "pid (comm) ": state is field 3, so utime, stime, cutime, cstime (14..17) are 11..14
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    writeFileSync(out, String([11, 12, 13, 14].reduce((s, i) => s + Number(f[i]), 0)));
  } catch {}
});
`,
);

let passed = 0;
let failed = 0;
let status = 0;
/** @type {{ file: string, lane: string, wallMs: number, cpuMs: number | undefined }[]} */
const ran = [];
let seq = 0;

function runFile(file, lane) {
  const n = seq++;
  const tap = join(reportDir, `${n}.tap`);
  const cpuFile = join(reportDir, `${n}.cpu`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        `--require=${CPU_PRELOAD}`,
        `--test-reporter=${reporter}`,
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${tap}`,
        file,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TURNPIKE_TEST_CPU_FILE: cpuFile, ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}) } },
    );
    const out = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, FILE_TIMEOUT_MS);
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      let cpuMs;
      try {
        cpuMs = (Number(readFileSync(cpuFile, 'utf8')) * 1000) / CLK_TCK;
      } catch {
        cpuMs = undefined;
      }
      if (code !== 0) status = code ?? 1;
      let summary = '';
      try {
        summary = readFileSync(tap, 'utf8');
      } catch {
        status ||= 1;
      }
      const p = Number(/^# pass (\d+)$/m.exec(summary)?.[1] ?? 0);
      const f = Number(/^# fail (\d+)$/m.exec(summary)?.[1] ?? 0);
      passed += p;
      failed += f;
      // A file that failed without a failed test (a crash before its summary, a signal, the file
      // timeout, an error outside any test) counts as one failure.
      if ((code !== 0 || signal !== null) && f === 0) failed += 1;
      const cpu = cpuMs === undefined ? '' : `  cpu ${(cpuMs / 1000).toFixed(1)} s`;
      const end = timedOut ? `  killed after ${FILE_TIMEOUT_MS / 1000} s` : code === 0 ? '' : `  exit ${code ?? signal}`;
      process.stdout.write(`# file: ${file}  wall ${(wallMs / 1000).toFixed(1)} s${cpu}${end}\n`);
      process.stdout.write(Buffer.concat(out));
      ran.push({ file, lane, wallMs, cpuMs });
      resolve();
    });
  });
}

async function runLane(lane) {
  const queue = [...lane.files].sort(longestFirst);
  const started = performance.now();
  const slot = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runFile(f, lane.name);
  };
  await Promise.all(Array.from({ length: Math.min(lane.concurrency, queue.length) }, slot));
  return performance.now() - started;
}

// How busy the machine's cores were with this lane's files (their CPU over wall × cores): well under
// 100 % on a quiet machine means the lane waits (sleeps, timers, I/O) and more files at a time could
// help; near 100 % means it is CPU-bound and only less work makes it faster. Other users of the
// machine are not counted.
const CORES = availableParallelism();
const laneFigures = [];
for (const lane of lanes) {
  if (lanes.length > 1) console.log(`# lane: ${lane.name}: ${lane.files.length} file(s), ${lane.concurrency} at a time`);
  const ms = await runLane(lane);
  const cpuMs = ran.filter((r) => r.lane === lane.name).reduce((s, r) => s + (r.cpuMs ?? 0), 0);
  const figure = `${lane.name}: wall ${(ms / 1000).toFixed(1)} s, files' CPU ${(cpuMs / 1000).toFixed(1)} s (${((100 * cpuMs) / (ms * CORES)).toFixed(0)} % of ${CORES} cores)`;
  laneFigures.push(figure);
  if (lanes.length > 1) console.log(`# lane done: ${figure}`);
}
rmSync(reportDir, { recursive: true, force: true });

if (!filter) {
  for (const r of ran) times[r.file] = { wallMs: Math.round(r.wallMs), ...(r.cpuMs === undefined ? {} : { cpuMs: Math.round(r.cpuMs) }) };
  try {
    writeFileSync(TIMES, `${JSON.stringify(times, null, 1)}\n`);
  } catch {
    // a read-only dist/ only loses the ordering hint
  }
}

const slowest = [...ran].sort((a, b) => b.wallMs - a.wallMs).slice(0, 10);
console.log('# slowest files (wall s, cpu s):');
for (const r of slowest) console.log(`#   ${(r.wallMs / 1000).toFixed(1).padStart(6)} ${r.cpuMs === undefined ? '     -' : (r.cpuMs / 1000).toFixed(1).padStart(6)}  ${r.file}`);
for (const figure of laneFigures) console.log(`# lane ${figure}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(status);
