#!/usr/bin/env node
// Instructions per request, counted by valgrind's callgrind: what a plugin chain costs in CPU work,
// independent of CPU steal and of whatever else the machine is doing (req/s and CPU-µs/req on a shared
// VM move ±20-40 % between runs; instruction counts for the same build and load repeat within ~1 %).
//
// Each contender is the Turnpike process `npm run bench` measures (same generated configs), started
// under `valgrind --tool=callgrind --instr-atstart=no`: start-up and a warm-up (so V8 has compiled
// the hot path) are not counted; then counting is switched on with `callgrind_control -i on`, a fixed
// number of requests is sent by this script at a fixed concurrency over keep-alive connections, and
// counting is switched off. The total counts every thread of the process (JIT, GC helpers), user space
// only (kernel time for sockets is not in it; it is the same per request for every contender here).
//
//   node bench/instructions.mjs            (needs valgrind; BENCH_ONLY=..., INSTR_REQUESTS, INSTR_WARMUP)
//   INSTR_PROFILE=1 node bench/instructions.mjs
//                                          also the split: node runs with --perf-basic-prof, and each
//                                          contender's median window is annotated (callgrind_annotate, self
//                                          cost) with JIT'd code named through V8's perf map (/tmp/perf-PID.map);
//                                          per-request figures to bench/results/instructions-profile-NAME.txt
//
// Reported: Ir/request per contender, each one's ratio to the minimal node:http + undici proxy (the
// steady form of the "CPU vs minimal" goal) and each Turnpike row's ratio to the pass-through. Results go to stdout
// (Markdown) and bench/results/instructions-latest.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_KEY, turnpikeConfig, turnpikeKeyedConfig } from './turnpike-configs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REQUESTS = Number(process.env.INSTR_REQUESTS ?? 1000);
const WINDOWS = Number(process.env.INSTR_WINDOWS ?? 7);
const WARMUP = Number(process.env.INSTR_WARMUP ?? 8000);
const CONCURRENCY = 16;
const PROFILE = process.env.INSTR_PROFILE === '1';
const log = (...a) => process.stderr.write(`[instructions] ${a.join(' ')}\n`);

if (spawnSync('valgrind', ['--version']).status !== 0) {
  log('valgrind not found (apt-get install valgrind)');
  process.exit(1);
}

// The commit is read before anything runs: the figures belong to the build that was started.
const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-instr-'));
const live = new Set();
const killAll = () => {
  for (const c of live) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {}
  }
};
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function start(cmd, args, name) {
  const out = fs.openSync(path.join(dir, `${name}.log`), 'a');
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', out, out], env: { ...process.env, NODE_ENV: 'production' } });
  live.add(child);
  child.on('exit', () => live.delete(child));
  return child;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
function get(port, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/hello', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
  });
}

async function load(port, headers, n) {
  let sent = 0;
  let bad = 0;
  const worker = async () => {
    while (sent < n) {
      sent++;
      if ((await get(port, headers)) !== 200) bad++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return bad;
}

async function waitUp(port, headers, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await get(port, headers)) === 200) return;
    } catch {}
    if (Date.now() > end) throw new Error(`no 200 on port ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const control = (...args) => execFileSync('callgrind_control', args, { encoding: 'utf8' });

/** The dump files of a process (one per counted window), in dump order. */
const dumpFiles = (pid) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.startsWith(`cg.${pid}.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));

/** Ir of each dump (one per counted window), in dump order. */
function windowsIr(pid) {
  return dumpFiles(pid).map((f) => Number(/^totals:\s+(\d+)/m.exec(fs.readFileSync(path.join(dir, f), 'utf8'))?.[1] ?? 0));
}

/**
 * Self cost per request by function for one dump: callgrind_annotate names what the node binary and the
 * libraries have symbols for (V8 builtins, C++), and shows JIT'd code as a bare address, which V8's perf
 * map (--perf-basic-prof: one `start size name` line per code object) names. Code objects that moved
 * or died before the map was read stay `JIT:?`.
 */
function profileOf(pid, file, requests) {
  const out = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', path.join(dir, file)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  let map = [];
  try {
    map = fs
      .readFileSync(`/tmp/perf-${pid}.map`, 'utf8')
      .split('\n')
      .map((l) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => ({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[1]}`) + BigInt(`0x${m[2]}`), name: m[3] }))
      .sort((a, b) => (a.start < b.start ? -1 : 1));
  } catch {}
  const jitName = (addr) => {
    let lo = 0;
    let hi = map.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = map[mid];
      if (addr < e.start) hi = mid - 1;
      else if (addr >= e.end) lo = mid + 1;
      else return `JIT ${e.name}`;
    }
    return 'JIT:?';
  };
  const byName = new Map();
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (m === null || m[2].startsWith('PROGRAM TOTALS')) continue;
    const ir = Number(m[1].replaceAll(',', ''));
    const addr = /^\?\?\?:0x([0-9a-f]+) /.exec(m[2]);
    const name = addr !== null ? jitName(BigInt(`0x${addr[1]}`)) : m[2].replace(/ \[\/usr\/bin\/node\]$/, '');
    byName.set(name, (byName.get(name) ?? 0) + ir);
  }
  return [...byName].map(([name, ir]) => ({ name, perReq: ir / requests })).sort((a, b) => b.perReq - a.perReq);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const upstreamPort = await freePort();
start(process.execPath, ['bench/upstream.mjs', String(upstreamPort)], 'upstream');

// The same configs as bench/run.mjs (turnpike-configs.mjs); Redis gets a long deadline, as valgrind is slow.
const redisUrl = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const passConfig = turnpikeConfig(upstreamPort);
const keyed = (policy) => turnpikeKeyedConfig(upstreamPort, policy, { url: redisUrl, timeoutMs: 5000 });

const turnpikeArgv = (file, port, adminPort) => ['bin/turnpike', 'serve', file, '--port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort), '--workers', '1'];
const CONTENDERS = [
  // The ~40-line node:http + undici proxy of bench/run.mjs: the "what plain Node costs" baseline.
  { name: 'minimal', label: 'minimal node:http + undici proxy', argv: (_file, port) => ['bench/minimal-proxy.mjs', String(port), `http://127.0.0.1:${upstreamPort}`], headers: { 'x-api-key': BENCH_KEY } },
  { name: 'turnpike', label: 'Turnpike, 1 route (pass-through)', config: passConfig, headers: { 'x-api-key': BENCH_KEY } },
  { name: 'turnpike-keyauth-local', label: 'Turnpike, api-key + rate-limit (local policy)', config: keyed('local'), headers: { 'x-api-key': BENCH_KEY } },
  { name: 'turnpike-keyauth-redis', label: 'Turnpike, api-key + rate-limit (Redis policy)', config: keyed('redis'), headers: { 'x-api-key': BENCH_KEY } },
];
const only = process.env.BENCH_ONLY?.split(',');
const rows = [];
for (const c of CONTENDERS.filter((x) => !only || only.includes(x.name))) {
  // The config lives in a directory of its own: serve watches the config's directory, and a log file
  // written next to it woke the watcher (a timer and a stat of every config file) on every batch of
  // log lines — the rig's cost, not the gateway's (~3-4k instructions per request under valgrind).
  const file = path.join(dir, 'config', `${c.name}.yaml`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (c.config !== undefined) fs.writeFileSync(file, c.config);
  const port = await freePort();
  const adminPort = await freePort();
  const child = start(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${dir}/cg.%p`, process.execPath, ...(PROFILE ? ['--perf-basic-prof'] : []), ...(c.argv ?? turnpikeArgv)(file, port, adminPort)],
    c.name,
  );
  log(`${c.name}: starting under valgrind (pid ${child.pid})`);
  await waitUp(port, c.headers, 180_000);
  log(`${c.name}: warm-up, ${WARMUP} requests`);
  const warmBad = await load(port, c.headers, WARMUP);
  // Several counted windows, each dumped on its own: a window that caught a major GC or a burst of
  // optimising compilation stands out, and the median is not moved by it.
  control('-i', 'on', String(child.pid));
  let bad = 0;
  const t0 = Date.now();
  for (let w = 0; w < WINDOWS; w++) {
    bad += await load(port, c.headers, REQUESTS);
    control('-d', String(child.pid));
  }
  control('-i', 'off', String(child.pid));
  const secs = (Date.now() - t0) / 1000;
  process.kill(-child.pid, 'SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const perWindow = windowsIr(child.pid)
    .slice(0, WINDOWS)
    .map((ir) => ir / REQUESTS);
  const perReq = median(perWindow);
  if (PROFILE) {
    // The median window's split (the one the headline figure is), and the lowest window's.
    const files = dumpFiles(child.pid).slice(0, WINDOWS);
    const pick = (x) => files[perWindow.indexOf(x)];
    const text = [`# ${c.label}: self instructions per request by function (commit ${commit})`, ''];
    for (const [what, f] of [['median window', pick(perReq) ?? pick([...perWindow].sort((a, b) => a - b)[(perWindow.length - 1) >> 1])], ['lowest window', pick(Math.min(...perWindow))]]) {
      if (f === undefined) continue;
      const rowsOf = profileOf(child.pid, f, REQUESTS);
      text.push(`## ${what} (${f})`, '', ...rowsOf.slice(0, 80).map((r) => `${Math.round(r.perReq).toString().padStart(7)}  ${r.name}`), '');
    }
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(ROOT, 'bench', 'results', `instructions-profile-${c.name}.txt`), text.join('\n'));
    log(`${c.name}: profile in bench/results/instructions-profile-${c.name}.txt`);
  }
  const k = (x) => `${Math.round(x / 1000)}k`;
  log(`${c.name}: ${Math.round(perReq).toLocaleString('en-US')} instructions/request, median of ${perWindow.length} windows of ${REQUESTS} (${perWindow.map(k).join(' ')}) in ${secs.toFixed(1)} s under valgrind; non-200: ${bad + warmBad}`);
  rows.push({ ...c, perReq, perWindow, bad: bad + warmBad });
}
agent.destroy();

const minRow = rows.find((r) => r.name === 'minimal');
const baseRow = rows.find((r) => r.name === 'turnpike');
const base = baseRow?.perReq;
const baseLow = baseRow ? Math.min(...baseRow.perWindow) : undefined;
const lines = [
  `# Turnpike instructions per request — ${new Date().toISOString()}`,
  '',
  `Commit \`${commit}\`, node ${process.version}, valgrind callgrind; after ${WARMUP} warm-up requests, ${WINDOWS} counted windows of ${REQUESTS} requests each (the figure is the median window), ${CONCURRENCY} keep-alive connections, GET /hello (every request carries the x-api-key header).`,
  '',
  '| contender | instructions/request (median window) | lowest window | windows (k instructions/request) | vs minimal (median) | vs pass-through (median) | vs pass-through (lowest) | non-200 |',
  '|---|--:|--:|---|--:|--:|--:|--:|',
  ...rows.map((r) => {
    const low = Math.min(...r.perWindow);
    const ratio = (x, b) => (b ? `${(x / b).toFixed(3)}×` : '—');
    const turnpike = r.name.startsWith('turnpike');
    return `| ${r.label} | ${Math.round(r.perReq).toLocaleString('en-US')} | ${Math.round(low).toLocaleString('en-US')} | ${r.perWindow.map((x) => Math.round(x / 1000)).join(' ')} | ${ratio(r.perReq, minRow?.perReq)} | ${turnpike ? ratio(r.perReq, base) : '—'} | ${turnpike ? ratio(low, baseLow) : '—'} | ${r.bad} |`;
  }),
  '',
  'Windows are not all alike: one that catches a major GC or a burst of optimising compilation (both run on their own schedule, and under valgrind every time-driven task also runs ~50× more often per request) counts far more instructions. The median window is the headline; the lowest window is the path itself with the least background work.',
  '',
  'A proxy bound by its CPU serves requests/s in inverse proportion to its work per request, so "vs pass-through" 1.08× means about 1/1.08 = 0.93× the throughput, all else equal. Kernel work (socket reads and writes) is not counted and is the same for each row, so the ratios slightly overstate the difference in total CPU.',
  '',
];
const md = lines.join('\n');
process.stdout.write(md);
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'instructions-latest.md'), md);
if (!process.env.BENCH_KEEP_TMP && !PROFILE) fs.rmSync(dir, { recursive: true, force: true });
if (PROFILE) log(`callgrind files kept in ${dir}`);
process.exit(0); // the upstream child would keep the loop alive; the exit handler kills it
