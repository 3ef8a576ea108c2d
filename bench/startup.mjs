// Start-up benchmark (`npm run bench:startup`): median wall time, over several runs, of
//   - `node -e 0`                          the floor: what Node itself costs on this machine right now
//   - `bin/turnpike --version`, `--help`   the CLI without any subsystem
//   - `bin/turnpike serve examples/gateway.yaml --workers 1` (the quick start) until the first
//     successful proxied request: spawn -> GET /api/users/1 answered 200 by the demo upstream
//     through the gateway (the port is polled every few ms; refused connections are retried).
// Runs are interleaved (one of each per round), so load from other jobs spreads over all rows.
// Beside wall time each row has the CPU time (user+system) the command used up to that point, read
// from /proc (Linux): on a shared machine it moves much less than the wall time does.
// It is a benchmark, not a test: it asserts nothing beyond "the gateway answered".
//
//   STARTUP_RUNS=15 npm run bench:startup     (default 9 rounds)
//   TURNPIKE_BIN=../other/bin/turnpike npm run bench:startup
//   STARTUP_BASE=../other/bin/turnpike npm run bench:startup   (both builds, interleaved: before/after)
//   node bench/startup.mjs --json             (machine-readable rows on stdout)
//   STARTUP_INSTRUCTIONS=1 STARTUP_RUNS=1 npm run bench:startup
//       every command under `valgrind --tool=callgrind` instead: instructions executed (user space,
//       all threads) to exit or to the first 200. They do not move with the machine's load, unlike
//       wall and CPU time (which valgrind also inflates ~50x, so only the instruction column counts).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDemoUpstream } from '../examples/demo-upstream.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = process.env.TURNPIKE_BIN ?? `${root}bin/turnpike`;
const base = process.env.STARTUP_BASE;
const config = `${root}examples/gateway.yaml`;
const runs = Number(process.env.STARTUP_RUNS ?? 9);
const instructions = process.env.STARTUP_INSTRUCTIONS === '1';
const serveTimeoutMs = Number(process.env.STARTUP_SERVE_TIMEOUT_MS ?? (instructions ? 600_000 : 30_000));
const cgDir = instructions ? mkdtempSync(`${tmpdir()}/turnpike-startup-cg-`) : undefined;

/** How a node command is spawned: directly, or under callgrind (counting from the first instruction). */
function nodeCommand(args) {
  if (!instructions) return [process.execPath, args];
  return ['valgrind', ['--tool=callgrind', `--callgrind-out-file=${cgDir}/cg.%p`, process.execPath, ...args]];
}

/** Instructions (Ir) of a finished callgrind run, from its stderr summary. */
function collected(stderr) {
  const m = /Collected : (\d+)/.exec(stderr);
  return m ? Number(m[1]) : Number.NaN;
}

/** Instructions so far of a running callgrind process: dump its counters, read the dump's totals. */
async function dumpNow(pid) {
  await new Promise((resolve) => spawn('callgrind_control', ['--dump=ready', String(pid)], { stdio: 'ignore' }).on('exit', resolve));
  const f = readdirSync(cgDir).find((n) => n.startsWith(`cg.${pid}.`));
  if (f === undefined) return Number.NaN;
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(`${cgDir}/${f}`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}
const POLL_MS = 5;

if (!existsSync(`${root}dist/src/cli/main.js`) && process.env.TURNPIKE_BIN === undefined) {
  console.error('dist/ is missing: run `npx tsc -p tsconfig.json` (or npm run build) first');
  process.exit(1);
}

// /proc/<pid>/stat fields 14-17 (utime stime cutime cstime), in clock ticks (100 Hz on Linux).
const TICK_MS = 10;
function cpuTicks(pid, withChildren) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [u, s, cu, cs] = [f[11], f[12], f[13], f[14]].map(Number);
    return withChildren ? u + s + cu + cs : u + s;
  } catch {
    return Number.NaN;
  }
}

/** A free loopback port (closed again before use: a race, but only with this machine's other jobs). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Wall ms and CPU ms from spawn to exit; fails on a non-zero exit. The CPU figure is this process's
 * reaped-children time (cutime+cstime) before and after: nothing else is spawned meanwhile.
 */
function timeExit(args) {
  return new Promise((resolve, reject) => {
    const c0 = cpuTicks('self', true) - cpuTicks('self', false);
    const t0 = performance.now();
    const p = spawn(...nodeCommand(args), { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = performance.now() - t0;
      const cpu = (cpuTicks('self', true) - cpuTicks('self', false) - c0) * TICK_MS;
      if (code === 0) resolve({ ms, cpu, instr: instructions ? collected(err) : Number.NaN });
      else reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
    });
  });
}

function get(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2_000, () => req.destroy());
  });
}

/** Wall ms from spawning `serve` to the first 200 through the gateway, and the CPU ms it used by then; the process is then stopped. */
async function timeServe(bin, upstreamPort) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const p = spawn(...nodeCommand([bin, 'serve', config, '--port', String(port), '--host', '127.0.0.1', '--admin-port', String(adminPort), '--workers', '1']), {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DEMO_UPSTREAM_PORT: String(upstreamPort) },
    detached: true,
  });
  let err = '';
  let exited = false;
  p.stderr.on('data', (c) => (err += c));
  const exit = new Promise((resolve) => p.on('exit', (code) => { exited = true; resolve(code); }));
  try {
    for (;;) {
      if (exited) throw new Error(`serve exited before answering: ${err.slice(-500)}`);
      if (performance.now() - t0 > serveTimeoutMs) throw new Error(`serve did not answer within ${serveTimeoutMs} ms`);
      if ((await get(port, '/api/users/1')) === 200) {
        const ms = performance.now() - t0;
        return { ms, cpu: cpuTicks(p.pid, true) * TICK_MS, instr: instructions ? await dumpNow(p.pid) : Number.NaN };
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    if (!exited) {
      try {
        process.kill(-p.pid, 'SIGTERM');
      } catch {}
      const killer = setTimeout(() => !exited && process.kill(-p.pid, 'SIGKILL'), 5_000);
      await exit;
      clearTimeout(killer);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const upstream = createDemoUpstream();
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const upstreamPort = upstream.address().port;

const commands = (bin, tag) => [
  { name: `${tag}turnpike --version`, run: () => timeExit([bin, '--version']) },
  { name: `${tag}turnpike --help`, run: () => timeExit([bin, '--help']) },
  { name: `${tag}serve quick start → first 200 (1 worker)`, run: () => timeServe(bin, upstreamPort) },
];
const rows = [
  { name: 'node -e 0 (floor)', run: () => timeExit(['-e', '0']) },
  ...(base === undefined ? commands(bin, '') : [...commands(base, 'base: '), ...commands(bin, 'this: ')]),
].map((r) => ({ ...r, ms: [], cpu: [], instr: [] }));

const load0 = loadavg()[0];
for (let i = 0; i < runs; i++) {
  for (const r of rows) {
    const { ms, cpu, instr } = await r.run();
    r.ms.push(ms);
    r.cpu.push(cpu);
    r.instr.push(instr);
  }
  process.stderr.write(`round ${i + 1}/${runs}\n`);
}
upstream.close();
if (cgDir !== undefined) rmSync(cgDir, { recursive: true, force: true });

const fmt = (ms) => `${Math.round(ms)}`;
const out = rows.map((r) => ({
  name: r.name,
  runs: r.ms.length,
  median: median(r.ms),
  min: Math.min(...r.ms),
  max: Math.max(...r.ms),
  cpuMedian: median(r.cpu),
  ...(instructions ? { instructionsMedian: median(r.instr) } : {}),
}));
if (process.argv.includes('--json')) {
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} else {
  const w = Math.max(...out.map((r) => r.name.length));
  const head = instructions
    ? `| ${'command'.padEnd(w)} | instructions (M, median) | wall ms under valgrind |\n|${'-'.repeat(w + 2)}|-------------------------:|-----------------------:|\n`
    : `| ${'command'.padEnd(w)} | median ms | min ms | max ms | CPU ms (median) |\n|${'-'.repeat(w + 2)}|----------:|-------:|-------:|----------------:|\n`;
  const line = instructions
    ? (r) => `| ${r.name.padEnd(w)} | ${(r.instructionsMedian / 1e6).toFixed(0).padStart(24)} | ${fmt(r.median).padStart(22)} |`
    : (r) => `| ${r.name.padEnd(w)} | ${fmt(r.median).padStart(9)} | ${fmt(r.min).padStart(6)} | ${fmt(r.max).padStart(6)} | ${fmt(r.cpuMedian).padStart(15)} |`;
  process.stdout.write(
    `Node ${process.version}, ${availableParallelism()} CPUs, load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}, ${runs} interleaved rounds${instructions ? ', under callgrind' : ''}\n` +
      (base === undefined ? '' : `base: ${base}\nthis: ${bin}\n`) +
      '\n' +
      head +
      out.map(line).join('\n') +
      '\n',
  );
}
