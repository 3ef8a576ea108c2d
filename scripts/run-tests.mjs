// Runs every compiled test file with node's test runner, in lanes, fastest tier first (docs/testing.md):
//   1. in-process: unit/, conformance/, fuzz/, inject/ (the gateway through createGateway().inject(), real
//      upstreams on 127.0.0.1) and src/**: no gateway process, mostly waiting on loopback I/O. Its files
//      run in a few long-lived worker processes (scripts/test-worker.mjs), each taking the next file
//      when it finishes one: every process that imports the gateway spends ~0.5 s of CPU loading its
//      ~700 modules, which a worker pays once instead of once per file. A file whose source carries
//      the pragma `// test-isolation: process` in its leading comments runs in its own process instead
//      (for process-wide state a test changes and cannot put back: see docs/testing.md);
//   2. integration/: real gateway processes, two files at a time (each file starts processes that
//      burn CPU at start-up; more at once slowed the timing-sensitive ones on the 2-core VM);
//   3. the deadline files (integration/*-timeouts): they assert latencies to a few tens of ms, so they
//      run one at a time with nothing else beside them.
// With --checks, lint and depcruise run beside the first lane.
// `node scripts/run-tests.mjs <substring>` runs only the files whose path contains it, in the same lanes.
//
// A file outside the workers runs as its own process, `node FILE` with node's reporters (not
// `node --test FILE`, which would add a runner process per file: about 0.2 s of CPU each), so that this
// script knows every file's wall and CPU time (Node 20's TAP has no per-file duration). Its output is
// printed in one piece when it ends, after `# file: PATH  wall W s  cpu C s`. A worker reports each
// file's wall and CPU over IPC (the file's CPU is the worker's while the file ran; workers run their
// files one at a time), and its output is printed in one piece when the worker ends, after a
// `# worker N:` line and one `# file:` line per file it ran. The run ends with the slowest files and
// each lane's wall time and CPU. A full run keeps its times
// in dist/.test-times.json (a filtered run, alone on the machine or with DOCTEST_PAGES, would skew
// them), and every run starts each lane's longest files first by them, or by scripts/test-times.json
// before the first full run (longest-processing-time first: a long file started last would run alone
// at the end of its lane while the other slots idle); files never timed go first, then by name. CPU is the file's process
// and the children it waited for (the gateways it started), read from /proc when the file exits;
// absent where there is no /proc.
//
// FILE_TIMEOUT_MS bounds each test file as a whole (node's --test-timeout does not apply to a file run
// directly): the CLI file takes ~50 s on an idle 2-core VM and ~115 s under heavy load, so 120 s was too
// tight for a slow CI machine. A file killed for it counts as a failure; in a worker, the worker is
// killed with it (a hung file's handles cannot be taken back otherwise) and the slot goes on with a
// new worker, so the files after it still run.
// The last line is the total over every file ("N passed, N failed"), which CI reads.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

// `--checks`: also run the static checks `npm test` runs (lint, import boundaries) beside the first
// phase, each reported like a file (`# check: ...`) and counted as one failure when it fails.
const args = process.argv.slice(2);
const withChecks = args.includes('--checks');
const filter = args.find((a) => a !== '--checks');
// Only compiled files whose source still exists: tsc never deletes output, so a test moved or removed
// in the source (e.g. from integration/ to inject/) would otherwise keep running from a stale dist/.
const sourceOf = (f) => f.replace(/^dist\//, '').replace(/\.js$/, '.ts');
const hasSource = (f) => existsSync(sourceOf(f));
const files = [...find('dist/src'), ...find('dist/test')].filter((f) => (!filter || f.includes(filter)) && hasSource(f));
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}

// `// test-isolation: process` among the comments before the source's first statement: the file runs
// in its own process even in the in-process lane. Read from the .ts source (tsc keeps comments, but the
// source is what a reader edits).
const ISOLATION_PRAGMA = /^\s*\/\/\s*test-isolation:\s*process\s*$/m;
function wantsOwnProcess(file) {
  const text = readFileSync(sourceOf(file), 'utf8');
  const firstStatement = /^(?!\s*(\/\/|\/\*|\*|$)).*$/m.exec(text);
  return ISOLATION_PRAGMA.test(firstStatement === null ? text : text.slice(0, firstStatement.index));
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
// Worker slots of the in-process lane. Its files mostly wait on loopback I/O and timers, so more slots
// than cores keep the cores busy; a worker costs one gateway import (~0.5 s of CPU) and its memory.
const IN_PROCESS_SLOTS = Number(process.env.TURNPIKE_TEST_WORKERS ?? 4);
const INTEGRATION_SLOTS = Number(process.env.TURNPIKE_TEST_INTEGRATION_SLOTS ?? 2);
const DEADLINE_SLOTS = Number(process.env.TURNPIKE_TEST_DEADLINE_SLOTS ?? 1);
// Lanes of one phase run at the same time; phases run one after the other. TURNPIKE_TEST_OVERLAP=1 runs
// the in-process lane beside the integration lane: less wall time on a busy machine, but on a quiet one
// both lanes are CPU-bound and the contention failed integration/crafted-bodies' render budget and
// control-client bounds in 3 runs of 4, so it is not the default.
const OVERLAP = process.env.TURNPIKE_TEST_OVERLAP === '1';
const lanes = [
  {
    name: 'in-process (unit, conformance, fuzz, inject)',
    phase: 1,
    concurrency: IN_PROCESS_SLOTS,
    workers: true,
    files: files.filter((f) => !f.includes('/integration/')),
  },
  {
    name: 'integration',
    phase: OVERLAP ? 1 : 2,
    concurrency: INTEGRATION_SLOTS,
    workers: false,
    files: files.filter((f) => f.includes('/integration/') && !isDeadlineFile(f)),
  },
  { name: 'integration deadlines', phase: 3, concurrency: DEADLINE_SLOTS, workers: false, files: files.filter(isDeadlineFile) },
].filter((l) => l.files.length > 0);

const reportDir = mkdtempSync(join(tmpdir(), 'turnpike-tests-'));
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const childEnv = process.stdout.isTTY ? { FORCE_COLOR: '1' } : {};
const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s
// TURNPIKE_TEST_FILE_TIMEOUT_MS: another bound (to try the timeout itself).
const FILE_TIMEOUT_MS = Number(process.env.TURNPIKE_TEST_FILE_TIMEOUT_MS ?? 300_000);
// TURNPIKE_TEST_PROGRESS=1: each worker file's `# file:` line also goes to stderr when the file ends (a
// worker's output is printed only when the worker ends).
const PROGRESS = process.env.TURNPIKE_TEST_PROGRESS === '1';
// How long a worker may take to exit once it has no more files (TURNPIKE_TEST_EXIT_GRACE_MS: to try it).
const EXIT_GRACE_MS = Number(process.env.TURNPIKE_TEST_EXIT_GRACE_MS ?? 30_000);
const WORKER = fileURLToPath(new URL('./test-worker.mjs', import.meta.url));
// node resolves --test-reporter as an import specifier: a file: URL, whatever the current directory.
const WORKER_REPORTER = new URL('./test-worker-reporter.mjs', import.meta.url).href;
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
const readCpuMs = (cpuFile) => {
  try {
    return (Number(readFileSync(cpuFile, 'utf8')) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
};
const seconds = (ms) => (ms / 1000).toFixed(1);

let passed = 0;
let failed = 0;
let status = 0;
/** @type {{ file: string, lane: string, wallMs: number, cpuMs: number | undefined }[]} */
const ran = [];
/** CPU per lane: every file process and every worker (start-up and loading included). */
const laneCpuMs = new Map();
const addLaneCpu = (lane, ms) => laneCpuMs.set(lane, (laneCpuMs.get(lane) ?? 0) + (ms ?? 0));
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
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TURNPIKE_TEST_CPU_FILE: cpuFile, ...childEnv } },
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
      const cpuMs = readCpuMs(cpuFile);
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
      const cpu = cpuMs === undefined ? '' : `  cpu ${seconds(cpuMs)} s`;
      const end = timedOut ? `  killed after ${FILE_TIMEOUT_MS / 1000} s` : code === 0 ? '' : `  exit ${code ?? signal}`;
      process.stdout.write(`# file: ${file}  wall ${seconds(wallMs)} s${cpu}${end}\n`);
      process.stdout.write(Buffer.concat(out));
      ran.push({ file, lane, wallMs, cpuMs });
      addLaneCpu(lane, cpuMs);
      resolve();
    });
  });
}

const CHECKS = [
  ['npm', ['run', '--silent', 'lint']],
  ['npm', ['run', '--silent', 'depcruise']],
];
/** The static checks one after the other: they are short and CPU-bound, one slot is enough. */
async function runChecks() {
  for (const [cmd, argv] of CHECKS) {
    const n = seq++;
    const cpuFile = join(reportDir, `${n}.cpu`);
    const started = performance.now();
    await new Promise((resolve) => {
      const child = spawn(cmd, argv, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${CPU_PRELOAD}`.trim(), TURNPIKE_TEST_CPU_FILE: cpuFile },
      });
      const out = [];
      child.stdout.on('data', (c) => out.push(c));
      child.stderr.on('data', (c) => out.push(c));
      child.on('close', (code, signal) => {
        const ok = code === 0;
        if (!ok) {
          failed += 1;
          status ||= code || 1;
        }
        const cpuMs = readCpuMs(cpuFile);
        addLaneCpu('checks', cpuMs);
        const cpu = cpuMs === undefined ? '' : `  cpu ${seconds(cpuMs)} s`;
        process.stdout.write(`# check: ${cmd} ${argv.join(' ')}  wall ${seconds(performance.now() - started)} s${cpu}${ok ? '' : `  exit ${code ?? signal}`}\n`);
        process.stdout.write(Buffer.concat(out));
        resolve();
      });
    });
  }
}

let workerSeq = 0;
/**
 * One test worker (scripts/test-worker.mjs): `run(file)` resolves true when the file ended, false when
 * the worker is gone (killed for the file timeout, or exited during the file), 'own process' when the
 * file cannot be loaded in a worker (top-level await); `finish()` lets it end.
 */
function startWorker(lane) {
  const id = ++workerSeq;
  const cpuFile = join(reportDir, `worker-${id}.cpu`);
  const countsFile = join(reportDir, `worker-${id}.late`);
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      `--require=${CPU_PRELOAD}`,
      `--test-reporter=${reporter}`,
      '--test-reporter-destination=stdout',
      `--test-reporter=${WORKER_REPORTER}`,
      `--test-reporter-destination=${countsFile}`,
      WORKER,
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, TURNPIKE_TEST_CPU_FILE: cpuFile, ...childEnv } },
  );
  const out = [];
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => out.push(c));
  /** @type {string[]} the worker's `# file:` lines, printed with its output */
  const lines = [];
  let failures = 0;
  let leftOpen = false;
  /** @type {{ file: string, done: (ok: boolean) => void, timer: NodeJS.Timeout, killed: boolean } | undefined} */
  let current;
  const ready = new Promise((resolve) => {
    child.on('message', (msg) => {
      if (msg?.type === 'ready') resolve(true);
      if (msg?.type !== 'end' || current === undefined || msg.file !== current.file) return;
      const c = current;
      current = undefined;
      clearTimeout(c.timer);
      if (msg.ownProcess) {
        c.done('own process');
        return;
      }
      passed += msg.pass;
      // A file whose suite failed with no failed test (a hook, an error while loading it) is one failure.
      const f = msg.fail + (msg.failed && msg.fail === 0 ? 1 : 0);
      failed += f;
      failures += f;
      if (f > 0) status ||= 1;
      const cpu = msg.cpuMs === undefined ? '' : `  cpu ${seconds(msg.cpuMs)} s`;
      const note = msg.unreported ? '  failed (no result reported)' : f > 0 ? `  failed ${f}` : '';
      lines.push(`# file: ${c.file}  wall ${seconds(msg.wallMs)} s${cpu}  worker ${id}${note}\n`);
      if (PROGRESS) process.stderr.write(lines.at(-1));
      ran.push({ file: c.file, lane, wallMs: msg.wallMs, cpuMs: msg.cpuMs });
      c.done(true);
    });
  });
  // Its end is 'exit' and then the end of its output: the 'close' event never comes for a child whose
  // IPC channel the parent disconnected (Node 20).
  const outputEnded = Promise.all([child.stdout, child.stderr].map((s) => new Promise((r) => s.once('close', r))));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise((resolve) => {
    void exited.then(async ({ code, signal }) => {
      // A process it started and left running holds the pipes: its output is cut after 10 s.
      await Promise.race([outputEnded, new Promise((r) => setTimeout(r, 10_000).unref())]);
      child.stdout.destroy();
      child.stderr.destroy();
      const c = current;
      current = undefined;
      if (c !== undefined) {
        clearTimeout(c.timer);
        // The file it was running counts as one failure: killed for the timeout, or the worker
        // exited under it (process.exit in a test, a crash).
        failed += 1;
        failures += 1;
        const why = c.killed ? `killed after ${FILE_TIMEOUT_MS / 1000} s (its worker with it)` : `worker exited (${code ?? signal}) during it`;
        lines.push(`# file: ${c.file}  worker ${id}  ${why}\n`);
        c.done(false);
      }
      // Errors node reported outside every test (scripts/test-worker-reporter.mjs), one failure each.
      let late = [];
      try {
        late = readFileSync(countsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        // no file: the worker was killed, or never got that far
      }
      if (leftOpen) {
        failed += 1;
        failures += 1;
        lines.push(`# worker ${id}: killed ${EXIT_GRACE_MS / 1000} s after its last file: a file left something running (its stderr names it)\n`);
      }
      for (const message of late) {
        failed += 1;
        failures += 1;
        lines.push(`# worker ${id}: failure outside its tests: ${String(message).split('\n')[0]}\n`);
      }
      if (code !== 0 || signal !== null) {
        status ||= code || 1;
        // An error outside every file (an uncaught exception between two files) fails the run.
        if (failures === 0) failed += 1;
      }
      const wallMs = performance.now() - started;
      const cpuMs = readCpuMs(cpuFile);
      addLaneCpu(lane, cpuMs);
      const cpu = cpuMs === undefined ? '' : `, cpu ${seconds(cpuMs)} s`;
      const end = code === 0 ? '' : `, exit ${code ?? signal}`;
      process.stdout.write(`# worker ${id}: ${lines.filter((l) => l.startsWith('# file:')).length} file(s) in one process, wall ${seconds(wallMs)} s${cpu} (start-up included)${end}\n`);
      for (const l of lines) process.stdout.write(l);
      process.stdout.write(Buffer.concat(out));
      resolve();
    });
  });
  // A worker that dies before it is ready answers every run() with false.
  const gone = closed.then(() => false);
  return {
    closed,
    /** @param {string} file */
    async run(file) {
      if (!(await Promise.race([ready, gone]))) return false;
      return new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null || !child.connected) return done(false);
        const timer = setTimeout(() => {
          if (current === undefined) return;
          current.killed = true;
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
        }, FILE_TIMEOUT_MS);
        current = { file, done, timer, killed: false };
        child.send({ type: 'run', file });
      });
    },
    finish() {
      if (child.connected) child.disconnect();
      // Its files are done; what still runs then is what one of them left behind (a child process, a
      // server): in its own process that file would have hung until the file timeout.
      setTimeout(() => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        leftOpen = true;
        child.kill('SIGKILL');
      }, EXIT_GRACE_MS).unref();
    },
  };
}

async function runLane(lane) {
  const queue = [...lane.files].sort(longestFirst);
  const started = performance.now();
  const slot = async () => {
    let worker;
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      if (!lane.workers || wantsOwnProcess(f)) {
        await runFile(f, lane.name);
        continue;
      }
      worker ??= startWorker(lane.name);
      const ran = await worker.run(f);
      if (ran === 'own process') await runFile(f, lane.name);
      else if (!ran) {
        await worker.closed;
        worker = undefined;
      }
    }
    if (worker !== undefined) {
      worker.finish();
      await worker.closed;
    }
  };
  await Promise.all(Array.from({ length: Math.min(lane.concurrency, queue.length) }, slot));
  return performance.now() - started;
}

// How busy the machine's cores were with this lane's processes (their CPU over wall × cores): well under
// 100 % on a quiet machine means the lane waits (sleeps, timers, I/O) and more files at a time could
// help; near 100 % means it is CPU-bound and only less work makes it faster. Other users of the
// machine are not counted.
const CORES = availableParallelism();
const laneFigures = [];
async function runAndReport(lane) {
  if (lanes.length > 1) console.log(`# lane: ${lane.name}: ${lane.files.length} file(s), ${lane.concurrency} at a time`);
  const ms = await runLane(lane);
  const cpuMs = laneCpuMs.get(lane.name) ?? 0;
  const figure = `${lane.name}: wall ${seconds(ms)} s, CPU ${seconds(cpuMs)} s (${((100 * cpuMs) / (ms * CORES)).toFixed(0)} % of ${CORES} cores)`;
  laneFigures.push(figure);
  if (lanes.length > 1) console.log(`# lane done: ${figure}`);
}
let first = true;
for (const phase of [...new Set(lanes.map((l) => l.phase))].sort()) {
  await Promise.all([...lanes.filter((l) => l.phase === phase).map(runAndReport), ...(first && withChecks ? [runChecks()] : [])]);
  first = false;
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
for (const r of slowest) console.log(`#   ${seconds(r.wallMs).padStart(6)} ${r.cpuMs === undefined ? '     -' : seconds(r.cpuMs).padStart(6)}  ${r.file}`);
for (const figure of laneFigures) console.log(`# lane ${figure}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(status);
