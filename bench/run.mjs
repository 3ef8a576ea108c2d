#!/usr/bin/env node
// Turnpike comparative benchmark harness: `npm run bench`.
//
// Measures, in one run and on the same rig, an upstream reached directly and through several
// proxies (nginx, fast-gateway, fastify/@fastify/http-proxy, a minimal node:http+undici proxy,
// Turnpike with 1 and with 10,000 routes). Load generator and upstream are pinned to CPU 0, the
// proxy under test (its whole process tree) to CPU 1. See bench/README.md and docs/benchmark.md.
//
// Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, default 3), BENCH_ONLY=name,name,
//      BENCH_REDIS_URL (default: a redis-server the harness starts on CPU 0; for turnpike-keyauth-redis),
//      BENCH_CONNECTIONS (default 64), BENCH_NO_INSTALL=1 (never apt-get), BENCH_KEEP_TMP=1,
//      BENCH_LOADGEN=autocannon (force the fallback), BENCH_ROUNDS (default 1; >1 = interleaved rounds, medians reported), TURNPIKE_BIN (default bin/turnpike),
//      BENCH_INSTRUCTIONS=1 (append instructions per request under valgrind: bench/instructions.mjs).
// Progress goes to stderr; the Markdown report goes to stdout and to bench/results/.
// Exit status is non-zero only when the harness itself fails, never because a result is slow
// or a contender fails to start.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_KEY, turnpikeConfig, turnpikeKeyedConfig } from './turnpike-configs.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

const intEnv = (name, def, min) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new HarnessError(`${name} must be an integer >= ${min}, got ${raw}`);
  return n;
};
class HarnessError extends Error {}

const log = (...a) => process.stderr.write(`[bench] ${a.join(' ')}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Process management: every child gets its own process group (detached) so that the whole tree
// can be signalled; everything is torn down on normal exit, on error and on SIGINT/SIGTERM.
const live = new Set();
let procSeq = 0;

function startProcess({ name, cmd, args, cpu, logDir, env }) {
  const id = String(++procSeq).padStart(3, '0'); // unique log files per start (rounds, warm-ups)
  const out = path.join(logDir, `${id}-${name}.stdout.log`);
  const err = path.join(logDir, `${id}-${name}.stderr.log`);
  const outFd = fs.openSync(out, 'a');
  const errFd = fs.openSync(err, 'a');
  const [file, argv] = cpu !== null && rig.taskset ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', outFd, errFd],
    env: { ...process.env, ...env },
  });
  fs.closeSync(outFd);
  fs.closeSync(errFd);
  const proc = { name, child, pid: child.pid, out, err, exit: null, command: shellJoin([file, ...argv]) };
  proc.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exit = { code, signal };
      live.delete(proc);
      resolve(proc.exit);
    });
    child.on('error', (e) => {
      fs.appendFileSync(err, `spawn error: ${e.message}\n`);
      proc.exit = { code: null, signal: null, error: e.message };
      live.delete(proc);
      resolve(proc.exit);
    });
  });
  live.add(proc);
  return proc;
}

function signalGroup(proc, sig) {
  if (!proc.pid) return;
  try {
    process.kill(-proc.pid, sig);
  } catch {
    try {
      process.kill(proc.pid, sig);
    } catch {}
  }
}

async function stopProcess(proc) {
  if (!proc || proc.exit) return;
  signalGroup(proc, 'SIGTERM');
  const t = await Promise.race([proc.exited, sleep(3000).then(() => 'timeout')]);
  if (t === 'timeout') {
    signalGroup(proc, 'SIGKILL');
    await Promise.race([proc.exited, sleep(2000)]);
  }
  // Members of the group may outlive the leader (e.g. cluster workers): make sure they are gone.
  signalGroup(proc, 'SIGKILL');
}

async function stopAll() {
  await Promise.all([...live].map(stopProcess));
}

let tmpDir = null;
function cleanupTmp() {
  if (tmpDir && !process.env.BENCH_KEEP_TMP) fs.rmSync(tmpDir, { recursive: true, force: true });
}
process.on('exit', () => {
  for (const p of live) signalGroup(p, 'SIGKILL');
  cleanupTmp();
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    log(`${sig}: stopping all benchmark processes`);
    stopAll().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function shellJoin(argv) {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${String(a).replace(/'/g, `'\\''`)}'`)).join(' ');
}

function which(bin) {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, ...opts });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function httpGet(port, urlPath, timeoutMs = 1000, headers = {}) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

// Readiness: poll the port with a GET until it answers with any status, for up to 15 s.
async function waitReady(port, urlPath, proc, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc?.exit) return { ok: false, why: `exited early (${fmtExit(proc.exit)})` };
    const r = await httpGet(port, urlPath, 1000);
    if (r) return { ok: true, first: r };
    await sleep(100);
  }
  return { ok: false, why: `did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s` };
}

const fmtExit = (e) => (e.error ? `spawn error: ${e.error}` : e.signal ? `signal ${e.signal}` : `exit code ${e.code}`);

function tail(file, lines = 25) {
  try {
    const text = fs.readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc: utime+stime (+cutime+cstime of reaped children) of a process tree.

const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

function childrenOf(pid) {
  const kids = new Set();
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const k of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) {
          if (k) kids.add(Number(k));
        }
      } catch {}
    }
  } catch {}
  if (kids.size === 0) {
    const r = run('pgrep', ['-P', String(pid)]);
    for (const k of (r.stdout ?? '').trim().split(/\s+/)) if (k) kids.add(Number(k));
  }
  return [...kids];
}

function processTree(root) {
  const seen = new Set();
  const queue = [root];
  while (queue.length && seen.size < 10_000) {
    const pid = queue.shift();
    if (seen.has(pid) || !fs.existsSync(`/proc/${pid}`)) continue;
    seen.add(pid);
    queue.push(...childrenOf(pid));
  }
  return [...seen];
}

function statTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3; utime 14, stime 15, cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0; // process vanished between listing and reading
  }
}

function treeCpuMicros(root) {
  const pids = processTree(root);
  const ticks = pids.reduce((s, p) => s + statTicks(p), 0);
  return { us: (ticks * 1e6) / CLK_TCK, pids };
}

function affinityOf(pid) {
  try {
    return /Cpus_allowed_list:\s*(\S+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
}

// Make sure every process (and thread, -a) of the tree is on `cpu`; returns a note.
function pinTree(root, cpu) {
  if (!rig.taskset || cpu === null) return 'not pinned';
  const pids = processTree(root);
  const fixed = [];
  for (const pid of pids) {
    if (affinityOf(pid) !== cpu) {
      run('taskset', ['-a', '-p', '-c', cpu, String(pid)]);
      fixed.push(pid);
    }
  }
  const aff = [...new Set(pids.map(affinityOf))].join(',');
  return `${pids.length} process(es) on CPU ${aff}${fixed.length ? ` (re-pinned ${fixed.join(' ')})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Load generation: wrk, or autocannon when wrk is unavailable.

function parseWrkDuration(v, unit) {
  const n = Number(v);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : NaN;
}

function parseWrk(text) {
  const lat = (pct) => {
    const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? parseWrkDuration(m[1], m[2]) : NaN;
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const rin = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(text);
  const requests = Number(rin?.[1] ?? NaN);
  const seconds = rin ? parseWrkDuration(rin[2], rin[3]) / 1000 : NaN;
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = se ? se.slice(1).reduce((s, v) => s + Number(v), 0) : 0;
  return { rps, p50: lat(50), p99: lat(99), requests, seconds, non2xx, socketErrors };
}

function loadCommand(url, seconds, headers = {}) {
  const c = String(rig.connections);
  const h = Object.entries(headers);
  if (rig.loadgen === 'wrk') return ['wrk', '-t1', `-c${c}`, `-d${seconds}s`, '--latency', ...h.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
  return [process.execPath, rig.autocannon, '-c', c, '-d', String(seconds), ...h.flatMap(([k, v]) => ['-H', `${k}=${v}`]), '-j', url];
}

async function runLoad(url, seconds, logDir, label, headers) {
  const argv = loadCommand(url, seconds, headers);
  const [file, args] = rig.taskset ? ['taskset', ['-c', rig.loadCpu, ...argv]] : [argv[0], argv.slice(1)];
  const proc = startProcess({ name: `load-${label}`, cmd: file, args, cpu: null, logDir });
  const res = await Promise.race([proc.exited, sleep((seconds + 30) * 1000).then(() => null)]);
  if (!res) {
    await stopProcess(proc);
    return { error: 'load generator did not finish in time', command: shellJoin(argv) };
  }
  const out = fs.readFileSync(proc.out, 'utf8');
  const command = shellJoin(rig.taskset ? ['taskset', '-c', rig.loadCpu, ...argv] : argv);
  if (res.code !== 0) return { error: `load generator ${fmtExit(res)}: ${tail(proc.err, 5) || tail(proc.out, 5)}`, command };
  if (rig.loadgen === 'wrk') {
    const r = parseWrk(out);
    if (!Number.isFinite(r.rps) || !Number.isFinite(r.requests)) return { error: `cannot parse wrk output:\n${out}`, command };
    return { ...r, command, raw: out };
  }
  try {
    const j = JSON.parse(out.trim().split('\n').pop());
    return {
      rps: j.requests.average,
      p50: j.latency.p50,
      p99: j.latency.p99,
      requests: j.requests.total,
      seconds: j.duration ?? seconds,
      non2xx: j.non2xx ?? 0,
      socketErrors: (j.errors ?? 0) + (j.timeouts ?? 0),
      command,
      raw: out,
    };
  } catch (e) {
    return { error: `cannot parse autocannon output: ${e.message}`, command };
  }
}

// ---------------------------------------------------------------------------------------------
// Rig discovery and tool installation

const rig = {
  connections: 64,
  loadCpu: '0',
  proxyCpu: '1',
  taskset: false,
  loadgen: 'wrk',
  autocannon: path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'),
  nginx: null,
  notes: [],
};

function ensureTools() {
  const missing = ['nginx', 'wrk'].filter((b) => !which(b) && !fs.existsSync(`/usr/sbin/${b}`));
  if (missing.length) {
    const canInstall = process.getuid?.() === 0 && which('apt-get') && !process.env.BENCH_NO_INSTALL;
    if (canInstall) {
      log(`${missing.join(' and ')} missing: running apt-get install -y ${missing.join(' ')} (we are root)`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      let r = run('apt-get', ['install', '-y', ...missing], { env, timeout: 300_000, stdio: 'inherit' });
      if (r.status !== 0) {
        log('apt-get install failed; running apt-get update and retrying once');
        run('apt-get', ['update'], { env, timeout: 300_000, stdio: 'inherit' });
        r = run('apt-get', ['install', '-y', ...missing], { env, timeout: 300_000, stdio: 'inherit' });
      }
      rig.notes.push(`apt-get install -y ${missing.join(' ')}: ${r.status === 0 ? 'installed' : 'FAILED'}`);
    } else {
      rig.notes.push(`${missing.join(', ')} missing and not installed (not root, no apt-get, or BENCH_NO_INSTALL)`);
    }
  }
  rig.nginx = which('nginx') ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null);
  if (!rig.nginx) {
    const msg = '!!! nginx is NOT available: the nginx contender is SKIPPED !!!';
    log(msg);
    rig.notes.push(msg);
  }
  if (process.env.BENCH_LOADGEN === 'autocannon') {
    rig.loadgen = 'autocannon';
    rig.notes.push('BENCH_LOADGEN=autocannon: autocannon used instead of wrk (not comparable with wrk runs)');
  } else if (!which('wrk')) {
    rig.loadgen = 'autocannon';
    const msg = '!!! wrk is NOT available: falling back to autocannon (numbers are not comparable with wrk runs) !!!';
    log(msg);
    rig.notes.push(msg);
    if (!fs.existsSync(rig.autocannon)) throw new HarnessError('neither wrk nor autocannon (npm ci) is available');
  }
  rig.taskset = Boolean(which('taskset'));
  if (!rig.taskset) rig.notes.push('!!! taskset not found: NOTHING IS PINNED, numbers are much noisier !!!');
  if (os.cpus().length < 2) {
    rig.taskset = false;
    rig.notes.push('!!! fewer than 2 CPUs: NOTHING IS PINNED, proxy and load generator share the CPU !!!');
  }
}

function machineFacts() {
  const first = (r) => `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0];
  const git = (...a) => run('git', a, { cwd: ROOT }).stdout?.trim() ?? '';
  return {
    date: new Date(),
    sha: git('rev-parse', '--short', 'HEAD') || 'nogit',
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    nginx: rig.nginx ? first(run(rig.nginx, ['-v'])) : 'not available',
    wrk: which('wrk') ? first(run('wrk', ['-v'])) : 'not available',
    autocannon: (() => {
      try {
        return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')).version;
      } catch {
        return 'not installed';
      }
    })(),
    loadBefore: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    clkTck: CLK_TCK,
  };
}

const pkgVersion = (name) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

// ---------------------------------------------------------------------------------------------
// Contenders

const BENCH_PATH = '/hello';
const DEEP_PATH = '/r5000/items/42';
const EXTRA_ROUTES = 9_999;

function nginxConf(dir, port, upstreamPort) {
  return `# generated by bench/run.mjs
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log;   # default "combined" format, on, like Turnpike's request log
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

// Key auth + rate limit rows (configs in turnpike-configs.mjs): the key is sent by the load generator.
const BENCH_KEY_HEADERS = { 'x-api-key': BENCH_KEY };
// The bench starts its own redis-server (no persistence) pinned to CPU 0 with the load generator and
// the upstream, so Redis never takes CPU from the proxy under test (in production it runs elsewhere);
// BENCH_REDIS_URL uses an existing server instead (e.g. the machine's redis://127.0.0.1:6379).
let BENCH_REDIS_URL = process.env.BENCH_REDIS_URL || '';
let redisNote = '';

async function startBenchRedis(logDir) {
  if (BENCH_REDIS_URL) {
    redisNote = `Redis: ${BENCH_REDIS_URL} (BENCH_REDIS_URL), not pinned by the harness`;
    return;
  }
  const bin = which('redis-server');
  if (!bin) {
    BENCH_REDIS_URL = 'redis://127.0.0.1:6379';
    redisNote = `Redis: redis-server not found, using ${BENCH_REDIS_URL} (not pinned)`;
    return;
  }
  const port = await freePort();
  const proc = startProcess({ name: 'redis', cmd: bin, args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], cpu: rig.loadCpu, logDir });
  BENCH_REDIS_URL = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await redisReachable()); i++) await sleep(50);
  redisNote = `Redis: \`${proc.command}\` (started by the harness, pinned with the load generator and the upstream)`;
}

function redisReachable() {
  const u = new URL(BENCH_REDIS_URL);
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port || 6379), u.hostname);
    sock.setTimeout(1000, () => sock.destroy());
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
    sock.once('close', () => resolve(false));
  });
}
let redisUp = false;

const NODE_ENV = { NODE_ENV: 'production' };
const node = (script) => (ctx) => ({
  cmd: process.execPath,
  args: [script, String(ctx.port), `http://127.0.0.1:${ctx.upstreamPort}`],
  env: NODE_ENV,
});
// TURNPIKE_BIN lets you bench another build/checkout of the CLI (default: this repo's bin/turnpike).
const TURNPIKE_BIN = process.env.TURNPIKE_BIN || 'bin/turnpike';
const turnpike = (extraRoutes) => (ctx) => {
  const file = path.join(ctx.dir, `turnpike-${extraRoutes + 1}-routes.yaml`);
  fs.writeFileSync(file, turnpikeConfig(ctx.upstreamPort, extraRoutes));
  return {
    cmd: process.execPath,
    args: [TURNPIKE_BIN, 'serve', file, '--port', String(ctx.port), '--host', '127.0.0.1', '--admin-port', String(ctx.adminPort), '--workers', '1'],
    env: NODE_ENV,
  };
};

const turnpikeKeyed = (policy) => (ctx) => {
  const file = path.join(ctx.dir, `turnpike-keyauth-${policy}.yaml`);
  fs.writeFileSync(file, turnpikeKeyedConfig(ctx.upstreamPort, policy, { url: BENCH_REDIS_URL }));
  return {
    cmd: process.execPath,
    args: [TURNPIKE_BIN, 'serve', file, '--port', String(ctx.port), '--host', '127.0.0.1', '--admin-port', String(ctx.adminPort), '--workers', '1'],
    env: NODE_ENV,
  };
};

const CONTENDERS = [
  { name: 'direct', label: () => 'direct (load generator → upstream)', direct: true },
  {
    name: 'nginx',
    label: () => `nginx ${(/nginx\/(\S+)/.exec(machine.nginx) ?? [])[1] ?? ''} (keepalive 64)`.replace('  ', ' '),
    available: () => (rig.nginx ? null : 'nginx not available (see notes)'),
    start: (ctx) => {
      const conf = path.join(ctx.dir, 'nginx.conf');
      fs.writeFileSync(conf, nginxConf(ctx.dir, ctx.port, ctx.upstreamPort));
      return { cmd: rig.nginx, args: ['-p', `${ctx.dir}/`, '-e', `${ctx.dir}/nginx-error.log`, '-c', conf, '-g', 'daemon off;'] };
    },
  },
  { name: 'fast-gateway', label: () => `fast-gateway ${pkgVersion('fast-gateway')}`, start: node('bench/servers/fast-gateway.mjs') },
  {
    name: 'fastify',
    label: () => `fastify ${pkgVersion('fastify')} + @fastify/http-proxy ${pkgVersion('@fastify/http-proxy')}`,
    start: node('bench/servers/fastify-proxy.mjs'),
  },
  { name: 'minimal', label: () => `minimal node:http + undici ${pkgVersion('undici')}`, start: node('bench/minimal-proxy.mjs') },
  { name: 'turnpike', label: () => 'Turnpike, 1 route (pass-through)', start: turnpike(0), turnpike: true },
  { name: 'turnpike-10k', label: () => 'Turnpike, 10k routes, /hello → pass-through', start: turnpike(EXTRA_ROUTES), turnpike: true, vsTurnpike: true },
  {
    name: 'turnpike-10k-deep',
    label: () => `Turnpike, 10k routes, ${DEEP_PATH} → deep param route`,
    start: turnpike(EXTRA_ROUTES),
    turnpike: true,
    vsTurnpike: true,
    path: DEEP_PATH,
  },
  {
    name: 'turnpike-keyauth-local',
    label: () => 'Turnpike, api-key + rate-limit (local policy)',
    start: turnpikeKeyed('local'),
    turnpike: true,
    vsTurnpike: true,
    headers: BENCH_KEY_HEADERS,
  },
  {
    name: 'turnpike-keyauth-redis',
    label: () => 'Turnpike, api-key + rate-limit (Redis policy)',
    available: () => (redisUp ? null : `Redis not reachable at ${BENCH_REDIS_URL} (set BENCH_REDIS_URL)`),
    start: turnpikeKeyed('redis'),
    turnpike: true,
    vsTurnpike: true,
    headers: BENCH_KEY_HEADERS,
  },
];

// ---------------------------------------------------------------------------------------------
// One measurement

async function measure(contender, upstream, upstreamPort, dir) {
  const urlPath = contender.path ?? BENCH_PATH;
  const row = { name: contender.name, label: contender.label(), path: urlPath };
  const unavailable = contender.available?.();
  if (unavailable) return { ...row, status: 'skipped', note: unavailable };

  let proc = null;
  let port = upstreamPort;
  try {
    if (!contender.direct) {
      port = await freePort();
      const adminPort = await freePort();
      const spec = contender.start({ port, adminPort, upstreamPort, dir });
      proc = startProcess({ name: contender.name, cmd: spec.cmd, args: spec.args, env: spec.env, cpu: rig.proxyCpu, logDir: dir });
      row.command = proc.command;
      const ready = await waitReady(port, urlPath, proc);
      if (!ready.ok) {
        const stderr = tail(proc.err) || tail(proc.out);
        return { ...row, status: 'failed to start', note: ready.why, stderrTail: stderr };
      }
      row.pinning = pinTree(proc.pid, rig.proxyCpu);
    }
    // Correctness probe: the proxy must return the upstream's answer, or its numbers mean nothing.
    const probe = await httpGet(port, urlPath, 2000, contender.headers);
    row.probe = probe ? `${probe.status}${probe.body === upstream.body ? ' (upstream body)' : ' (NOT the upstream body)'}` : 'no answer';
    const url = `http://127.0.0.1:${port}${urlPath}`;

    if (rig.warmup > 0) {
      log(`${contender.name}: warm-up ${rig.warmup} s`);
      const w = await runLoad(url, rig.warmup, dir, `${contender.name}-warmup`, contender.headers);
      if (w.error) return { ...row, status: 'error', note: `warm-up: ${w.error}` };
    }
    const cpuRoot = proc ? proc.pid : upstream.proc.pid;
    const before = treeCpuMicros(cpuRoot);
    const upBefore = treeCpuMicros(upstream.proc.pid);
    log(`${contender.name}: measuring ${rig.duration} s on ${url}`);
    const r = await runLoad(url, rig.duration, dir, contender.name, contender.headers);
    const after = treeCpuMicros(cpuRoot);
    const upAfter = treeCpuMicros(upstream.proc.pid);
    row.loadCommand = r.command;
    if (r.error) return { ...row, status: 'error', note: r.error };
    if (proc?.exit) return { ...row, status: 'error', note: `died during the run (${fmtExit(proc.exit)})`, stderrTail: tail(proc.err) };
    const served = r.requests > 0 ? r.requests : NaN;
    return {
      ...row,
      status: 'ok',
      rps: r.rps,
      p50: r.p50,
      p99: r.p99,
      requests: r.requests,
      errors: r.non2xx + r.socketErrors,
      cpuUsPerReq: (after.us - before.us) / served,
      upstreamCpuUsPerReq: (upAfter.us - upBefore.us) / served,
      busy: (after.us - before.us) / (r.seconds * 1e6), // share of one CPU used by the measured tree
      pids: after.pids.length,
    };
  } catch (e) {
    return { ...row, status: 'error', note: `harness error: ${e.message}`, stderrTail: proc ? tail(proc.err) : '' };
  } finally {
    if (proc) await stopProcess(proc);
  }
}

function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function combineRounds(rounds) {
  const ok = rounds.filter((r) => r.status === 'ok');
  if (!ok.length) return rounds[rounds.length - 1];
  const out = { ...ok[0], rounds: ok.length, attempts: rounds.length };
  for (const k of ['rps', 'p50', 'p99', 'cpuUsPerReq', 'upstreamCpuUsPerReq', 'busy']) out[k] = median(ok.map((r) => r[k]));
  out.errors = ok.reduce((s, r) => s + r.errors, 0);
  out.requests = ok.reduce((s, r) => s + r.requests, 0);
  out.rpsRange = [Math.min(...ok.map((r) => r.rps)), Math.max(...ok.map((r) => r.rps))];
  out.cpuRange = [Math.min(...ok.map((r) => r.cpuUsPerReq)), Math.max(...ok.map((r) => r.cpuUsPerReq))];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

const f0 = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f2 = (n) => (Number.isFinite(n) ? n.toFixed(2) : '—');
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : '—');

/**
 * Paired ratios: each round's figure of `name` over the pass-through's figure of the same round. Both ran
 * back to back, under the same machine conditions, so the pair's ratio is far steadier than the ratio of
 * the two medians when the machine's speed drifts between rounds (steal on a shared VM).
 */
function pairedRatios(perContender, name) {
  const base = perContender.get('turnpike');
  const mine = perContender.get(name);
  if (base === undefined || mine === undefined) return undefined;
  const rps = [];
  const cpu = [];
  for (let i = 0; i < Math.min(base.length, mine.length); i++) {
    const a = base[i];
    const b = mine[i];
    if (a.status !== 'ok' || b.status !== 'ok') continue;
    if (a.rps > 0) rps.push(b.rps / a.rps);
    if (a.cpuUsPerReq > 0) cpu.push(b.cpuUsPerReq / a.cpuUsPerReq);
  }
  return rps.length === 0 ? undefined : { rps, cpu };
}

function report(rows, facts, startedAt, finishedAt, perContender = new Map()) {
  const by = Object.fromEntries(rows.filter((r) => r.status === 'ok').map((r) => [r.name, r]));
  const fg = by['fast-gateway'];
  const min = by.minimal;
  const tp = by.turnpike;
  const L = [];
  L.push(`# Turnpike benchmark — ${facts.date.toISOString()}`, '');
  L.push(`Commit \`${facts.sha}\`${facts.dirty ? ' (working tree has uncommitted changes)' : ''}.`);
  L.push(
    `Load: ${rig.loadgen}, 1 thread, ${rig.connections} connections, ${rig.duration} s measured after a ${rig.warmup} s warm-up, GET ${BENCH_PATH} unless stated${
      rig.rounds > 1 ? `; each figure is the median of ${rig.rounds} interleaved rounds` : ''
    }.`,
  );
  L.push(
    rig.taskset
      ? `Pinning: load generator + upstream on CPU ${rig.loadCpu}, proxy under test (whole process tree) on CPU ${rig.proxyCpu}.`
      : 'Pinning: **none** (see notes).',
    '',
  );
  L.push(
    '| contender | req/s | p50 ms | p99 ms | CPU-µs/req | req/s vs fast-gateway | CPU vs minimal | req/s vs Turnpike pass-through | errors |',
  );
  L.push('|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    if (r.status !== 'ok') {
      L.push(`| ${r.label} | **${r.status}** | — | — | — | — | — | — | — |`);
      continue;
    }
    const cpu = r.name === 'direct' ? `${f1(r.cpuUsPerReq)} †` : f1(r.cpuUsPerReq);
    L.push(
      `| ${r.label} | ${f0(r.rps)} | ${f2(r.p50)} | ${f2(r.p99)} | ${cpu} | ${ratio(r.rps, fg?.rps)} | ${
        r.name === 'direct' ? '—' : ratio(r.cpuUsPerReq, min?.cpuUsPerReq)
      } | ${r.name.startsWith('turnpike') ? ratio(r.rps, tp?.rps) : '—'} | ${r.errors}${
        r.probe && !r.probe.startsWith('200 (upstream body)') ? ` ⚠ probe: ${r.probe}` : ''
      } |`,
    );
  }
  L.push('');
  L.push(
    '† for `direct`, CPU-µs/req is the upstream\'s own cost (there is no proxy). For every other row it is the proxy\'s whole process tree (utime+stime from /proc), divided by requests completed. Lower is better; steadier than req/s on a noisy machine, but compare ratios within one run.',
  );
  L.push(
    '"req/s vs fast-gateway" > 1 means faster than fast-gateway; "CPU vs minimal" > 1 means more CPU per request than the ~40-line node:http+undici proxy; "errors" = non-2xx responses + socket errors reported by the load generator.',
  );
  L.push('');
  L.push('### Rig diagnostics', '');
  L.push(
    '"CPU busy" is the share of one core the measured process tree used during the run: a CPU-bound proxy should be near 100 %; much less means it was held back by something else (CPU 0, or other jobs stealing CPU 1). Upstream CPU-µs/req rises somewhat as req/s falls (less batching); a jump at similar req/s means the rig was disturbed.',
    '',
  );
  L.push('| contender | requests | CPU busy | upstream CPU-µs/req | probe |', '|---|--:|--:|--:|---|');
  for (const r of rows.filter((x) => x.status === 'ok')) {
    L.push(`| ${r.name} | ${f0(r.requests)} | ${f0(r.busy * 100)} % | ${f1(r.upstreamCpuUsPerReq)} | ${r.probe ?? '—'} |`);
  }
  L.push('');
  if (rig.rounds > 1) {
    L.push('Spread over rounds (min–max), with the number of successful rounds:');
    for (const r of rows.filter((x) => x.status === 'ok')) {
      L.push(
        `- ${r.name}: req/s ${f0(r.rpsRange[0])}–${f0(r.rpsRange[1])}, CPU-µs/req ${f1(r.cpuRange[0])}–${f1(r.cpuRange[1])} (${r.rounds}/${r.attempts} rounds)`,
      );
    }
    L.push('');
    const paired = rows
      .filter((r) => r.status === 'ok' && r.name.startsWith('turnpike-'))
      .map((r) => [r, pairedRatios(perContender, r.name)])
      .filter(([, p]) => p !== undefined);
    if (paired.length > 0) {
      L.push(
        '### Paired per-round ratios vs Turnpike pass-through',
        '',
        'Each round runs every contender back to back (ABBA order); the ratio of a round\'s pair cancels what the machine did to that round. The headline is the median over rounds; min–max shows the spread.',
        '',
        '| contender | req/s ratio (median) | req/s ratio min–max | CPU-µs/req ratio (median) | CPU ratio min–max | pairs |',
        '|---|--:|--:|--:|--:|--:|',
      );
      const x = (v) => `${v.toFixed(3)}×`;
      for (const [r, p] of paired) {
        L.push(
          `| ${r.label} | ${x(median(p.rps))} | ${x(Math.min(...p.rps))}–${x(Math.max(...p.rps))} | ${x(median(p.cpu))} | ${x(Math.min(...p.cpu))}–${x(Math.max(...p.cpu))} | ${p.rps.length} |`,
        );
      }
      L.push('');
    }
  }
  L.push('## Machine', '');
  L.push(`- nproc: ${facts.nproc} (${facts.cpuModel}), ${facts.kernel}`);
  L.push(`- node: ${facts.node}`);
  L.push(`- nginx: ${facts.nginx}`);
  L.push(`- wrk: ${facts.wrk}; autocannon ${facts.autocannon}${rig.loadgen === 'autocannon' ? ' (USED)' : ' (fallback, not used)'}`);
  L.push(`- load average before: ${facts.loadBefore}; after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  L.push(`- CLK_TCK: ${facts.clkTck}; run took ${Math.round((finishedAt - startedAt) / 1000)} s`);
  if (rig.notes.length) {
    L.push('', '## Notes', '');
    for (const n of rig.notes) L.push(`- ${n}`);
  }
  L.push('', '## Commands', '');
  L.push(`- upstream: \`${upstreamCommand}\``);
  for (const r of rows) {
    if (r.command) L.push(`- ${r.name}: \`${r.command}\`${r.pinning ? ` — ${r.pinning}` : ''}`);
    if (r.loadCommand) L.push(`  - load (${r.name}): \`${r.loadCommand}\``);
  }
  L.push('- Temporary configs (nginx.conf, Turnpike YAML) are generated by `bench/run.mjs` in a temp dir (`BENCH_KEEP_TMP=1` keeps it).');
  const bad = rows.filter((r) => r.status !== 'ok');
  if (bad.length) {
    L.push('', '## Contenders that did not run', '');
    const seen = new Map();
    for (const r of bad) {
      L.push(`### ${r.name}: ${r.status}`, '', r.note ?? '', '');
      if (r.stderrTail && seen.has(r.stderrTail)) L.push(`Same output as ${seen.get(r.stderrTail)}.`, '');
      else if (r.stderrTail) L.push('Last lines of its stderr (or stdout):', '', '```', r.stderrTail, '```', '');
      if (r.stderrTail && !seen.has(r.stderrTail)) seen.set(r.stderrTail, r.name);
    }
  }
  return `${L.join('\n').trimEnd()}\n`;
}

// ---------------------------------------------------------------------------------------------
// Main

let machine = null;
let upstreamCommand = '';

async function main() {
  const startedAt = Date.now();
  rig.duration = intEnv('BENCH_DURATION', 10, 1);
  rig.warmup = intEnv('BENCH_WARMUP', 3, 0);
  rig.connections = intEnv('BENCH_CONNECTIONS', 64, 1);
  rig.rounds = intEnv('BENCH_ROUNDS', 1, 1);
  const only = (process.env.BENCH_ONLY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only.filter((n) => !CONTENDERS.some((c) => c.name === n));
  if (unknown.length) {
    throw new HarnessError(`BENCH_ONLY: unknown contender(s) ${unknown.join(', ')}; known: ${CONTENDERS.map((c) => c.name).join(', ')}`);
  }
  const selected = only.length ? CONTENDERS.filter((c) => only.includes(c.name)) : CONTENDERS;

  ensureTools();
  machine = machineFacts();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-bench-'));
  fs.chmodSync(tmpDir, 0o755); // nginx workers run as an unprivileged user when we are root
  log(`temp dir ${tmpDir}; ${selected.map((c) => c.name).join(', ')}; ${rig.duration} s each (+${rig.warmup} s warm-up)`);

  if (selected.some((c) => c.name === 'turnpike-keyauth-redis')) {
    await startBenchRedis(tmpDir);
    redisUp = await redisReachable();
    rig.notes.push(redisUp ? redisNote : `${redisNote}: NOT reachable, the Redis row is skipped`);
  }
  const upstreamPort = await freePort();
  const up = startProcess({
    name: 'upstream',
    cmd: process.execPath,
    args: ['bench/upstream.mjs', String(upstreamPort)],
    cpu: rig.loadCpu,
    logDir: tmpDir,
    env: NODE_ENV,
  });
  upstreamCommand = up.command;
  const ready = await waitReady(upstreamPort, BENCH_PATH, up);
  if (!ready.ok) throw new HarnessError(`upstream failed to start: ${ready.why}\n${tail(up.err)}`);
  const upstream = { proc: up, body: ready.first.body };

  // Rounds are interleaved (A B C, A B C, ...) so that slow drifts in machine load hit every
  // contender alike; each contender's figures are the median over its successful rounds.
  const perContender = new Map(selected.map((c) => [c.name, []]));
  for (let round = 1; round <= rig.rounds; round++) {
    if (rig.rounds > 1) log(`round ${round}/${rig.rounds}`);
    // ABBA order (even rounds reversed): a contender's place in the round (what ran just before it,
    // drift within the round) then weighs on every contender alike.
    for (const c of round % 2 === 0 ? [...selected].reverse() : selected) {
      const prev = perContender.get(c.name);
      if (prev.length && prev.every((r) => r.status === 'skipped' || r.status === 'failed to start')) continue;
      const row = await measure(c, upstream, upstreamPort, tmpDir);
      prev.push(row);
      log(
        row.status === 'ok'
          ? `${c.name}: ${f0(row.rps)} req/s, p50 ${f2(row.p50)} ms, p99 ${f2(row.p99)} ms, ${f1(row.cpuUsPerReq)} CPU-µs/req, errors ${row.errors}`
          : `${c.name}: ${row.status}${row.note ? ` — ${row.note}` : ''}`,
      );
      if (up.exit) throw new HarnessError(`upstream died (${fmtExit(up.exit)}): ${tail(up.err)}`);
    }
  }
  await stopAll();
  const rows = selected.map((c) => combineRounds(perContender.get(c.name)));

  let md = report(rows, machine, startedAt, Date.now(), perContender);
  // BENCH_INSTRUCTIONS=1: the same Turnpike configs counted by callgrind (bench/instructions.mjs),
  // appended to this report; the steady figure for what the key-auth plugins cost on a noisy VM.
  if (process.env.BENCH_INSTRUCTIONS === '1') {
    log('instructions per request under valgrind (bench/instructions.mjs; several minutes)');
    const only = selected.filter((c) => c.name === 'minimal' || c.name === 'turnpike' || c.name.startsWith('turnpike-keyauth')).map((c) => c.name);
    const child = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'instructions.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      // The harness's own redis-server is stopped by now: the child uses BENCH_REDIS_URL if the caller set it, else the machine's.
      env: { ...process.env, BENCH_ONLY: only.join(',') || 'turnpike' },
    });
    md += child.status === 0 ? `\n${child.stdout.replace(/^# .*\n/, '## Instructions per request (BENCH_INSTRUCTIONS=1)\n')}` : `\n## Instructions per request\n\nbench/instructions.mjs failed (exit ${child.status}); see stderr.\n`;
  }
  process.stdout.write(md);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const d = machine.date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '');
  const file = path.join(RESULTS_DIR, `${d}-${machine.sha}.md`);
  fs.writeFileSync(file, md);
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  log(`wrote ${path.relative(ROOT, file)} and bench/results/latest.md`);
}

main().catch(async (e) => {
  log(`harness failure: ${e instanceof HarnessError ? e.message : e.stack}`);
  await stopAll();
  process.exitCode = 1;
});
