// Soak and overload table (issue 11, "Done means"): `npm run bench:attacks`.
// For each attack the real gateway process (bin/turnpike serve --workers 1) is started on 127.0.0.1
// with a config fit for it and a local upstream. A control client (sequential keep-alive GETs to a
// fast route, 20 ms apart) runs through three windows: baseline (3 s), attack (5 s), after (3 s).
// Per window: control p50/p99/max and errors. The gateway's RSS (VmRSS) and open fds (/proc/PID/fd)
// at the end of the baseline, their peak during the attack, and 3 s after it stopped. Plus what the
// attack itself got (statuses, closes). The attacks are the ones of test/integration/ (client-abort,
// slow-body, overload, crafted-bodies), with the same configs; the tests assert, this only measures.
//
// The control client runs in a worker thread, so the attack's own sockets in this process do not
// queue behind it on one event loop (the machine still has only its cores to share).
// Uses the built dist/ (npx tsc -p tsconfig.json first): the test helpers start the gateway.
//
//   npm run bench:attacks                    (writes bench/results/attacks-<date>.md)
//   node bench/attacks.mjs rapid-reset owasp (only the named attacks)
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = fileURLToPath(new URL('..', import.meta.url));
const { startGateway } = await import(`${root}dist/test/helpers/gateway.js`);
const { startUpstream } = await import(`${root}dist/test/helpers/upstream.js`);
const { createPki } = await import(`${root}dist/test/helpers/certs.js`);
const { craftedConfig, FREEZING_VALUE } = await import(`${root}dist/test/inject/crafted-config.js`);

// Windows, in ms; ATTACK_MS / AFTER_MS override the defaults for a longer soak (e.g. AFTER_MS=30000:
// does RSS come back?). GATEWAY_NODE_OPTIONS is passed to the gateway process as NODE_OPTIONS, e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it under one attack (written when it exits).
const BASELINE_MS = 3_000;
const ATTACK_MS = Number(process.env.ATTACK_MS ?? 5_000);
const AFTER_MS = Number(process.env.AFTER_MS ?? 3_000);
const GATEWAY_ENV = process.env.GATEWAY_NODE_OPTIONS ? { env: { NODE_OPTIONS: process.env.GATEWAY_NODE_OPTIONS } } : {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- the gateway process: RSS and fds from /proc ---------------------------------------------------

function procStats(pid) {
  try {
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    return { rss, fds };
  } catch {
    return { rss: Number.NaN, fds: Number.NaN };
  }
}

// --- the control client (worker thread) ------------------------------------------------------------

const CONTROL = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let phase = 'baseline';
let stopped = false;
const samples = [];
parentPort.on('message', (m) => {
  if (m === 'stop') stopped = true;
  else phase = m;
});
function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(workerData.url, { agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, ms: performance.now() - t0 }));
      res.on('error', () => resolve({ ok: false, status: 'reset', ms: performance.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, status: e.message === 'timeout' ? 'timeout' : e.code ?? 'error', ms: performance.now() - t0 }));
  });
}
(async () => {
  while (!stopped) {
    const p = phase;
    const r = await once();
    samples.push({ phase: p, ...r });
    await new Promise((r) => setTimeout(r, 20));
  }
  agent.destroy();
  parentPort.postMessage(samples);
})();
`;

function startControl(url) {
  const w = new Worker(CONTROL, { eval: true, workerData: { url } });
  return {
    phase: (p) => w.postMessage(p),
    stop: () =>
      new Promise((resolve) => {
        w.once('message', (samples) => {
          void w.terminate();
          resolve(samples);
        });
        w.postMessage('stop');
      }),
  };
}

function summary(samples, phase) {
  const s = samples.filter((x) => x.phase === phase);
  const ms = s
    .filter((x) => x.ok)
    .map((x) => x.ms)
    .sort((a, b) => a - b);
  const q = (p) => (ms.length === 0 ? Number.NaN : ms[Math.min(ms.length - 1, Math.ceil(ms.length * p) - 1)]);
  const errors = s.filter((x) => !x.ok);
  const kinds = [...new Set(errors.map((x) => String(x.status)))].join('/');
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: ms.length === 0 ? Number.NaN : ms[ms.length - 1], errors: errors.length, kinds };
}

// --- one run ---------------------------------------------------------------------------------------

async function run(attack) {
  const env = await attack.setup();
  const gw = env.gw;
  const pid = gw.proc.pid;
  const control = startControl(`${gw.url}${env.controlPath}`);
  await sleep(BASELINE_MS);
  const base = procStats(pid);
  control.phase('attack');
  const peak = { rss: base.rss, fds: base.fds };
  const sampler = setInterval(() => {
    const s = procStats(pid);
    peak.rss = Math.max(peak.rss, s.rss);
    peak.fds = Math.max(peak.fds, s.fds);
  }, 200);
  const handle = attack.start(env);
  await sleep(ATTACK_MS);
  const outcome = `${await handle.stop()}${attack.note?.() ?? ''}`;
  clearInterval(sampler);
  control.phase('after');
  await sleep(AFTER_MS);
  const after = procStats(pid);
  const samples = await control.stop();
  const alive = gw.proc.exitCode === null;
  await gw.stop();
  await env.close?.();
  return {
    name: attack.name,
    outcome,
    alive,
    base,
    peak,
    after,
    win: Object.fromEntries(['baseline', 'attack', 'after'].map((p) => [p, summary(samples, p)])),
  };
}

// --- the attacks -----------------------------------------------------------------------------------

/** HTTP/2 rapid reset (CVE-2023-44487 shape): HEADERS then RST_STREAM, half at once, half after 50 ms; a 4-connection pool. */
const rapidReset = {
  name: 'rapid-reset',
  what: 'HTTP/2 HEADERS + RST_STREAM flood (half reset at once, half after 50 ms) on a route whose upstream pool holds 4 connections',
  setup: () => h2Setup(false),
  start: rapidResetStart,
};

/** The gateway with an HTTPS listener and one catch-all route on a 4-connection pool (`buffered`: requestBuffering). */
async function h2Setup(buffered) {
  const pki = createPki();
  if (pki === undefined) throw new Error('openssl CLI not available');
  const cert = pki.server('gw', ['gw.test']);
  const upstream = http.createServer((req, res) => {
    req.resume();
    if (req.url?.startsWith('/fast')) return void res.end('ok');
    const t = setTimeout(() => res.end(Buffer.alloc(256 * 1024, 120)), 300);
    res.on('close', () => clearTimeout(t));
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const upUrl = `http://127.0.0.1:${upstream.address().port}`;
  const gw = await startGateway(
    `
server:
  accessLog: false
  tls:
    default: { cert: "${cert.cert}", key: "${cert.key}" }
  limits: { requestTimeoutMs: 3000, headersTimeoutMs: 3000, bodyIdleTimeoutMs: 2000 }
upstreams:
  small:
    connections: 4
    timeouts: { totalMs: 120000, firstByteMs: 120000 }
    targets: [{ url: "${upUrl}" }]
apis:
  - name: a
    routes:
      - { path: "/{proxy+}", requestBuffering: ${buffered}, integration: { type: http, upstream: small } }
`,
    { args: ['--https-port', '0'], ...GATEWAY_ENV },
  );
  const httpsPort = (await gw.waitForLog((l) => l.msg === 'listening')).httpsPort;
  return {
    gw,
    controlPath: '/fast/control',
    ca: pki.ca.certPem,
    httpsPort,
    close: async () => {
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(() => r()));
    },
  };
}

function rapidResetStart(env) {
  let stopping = false;
  let streams = 0;
  let sessions = 0;
  let goaway = 0;
  const open = [];
  const connect = () => {
    const s = http2.connect(`https://127.0.0.1:${env.httpsPort}`, { ca: env.ca, servername: 'gw.test' });
    s.on('error', () => undefined);
    s.on('goaway', () => goaway++);
    sessions++;
    open.push(s);
    return s;
  };
  const loop = (async () => {
    let s = connect();
    while (!stopping) {
      for (let i = 0; i < 200 && !stopping; i++) {
        // Node's own rapid-reset guard may end a session with GOAWAY: the attacker reconnects.
        if (s.closed || s.destroyed) s = connect();
        const st = s.request({ ':path': `/slow/rst${streams}` });
        st.on('error', () => undefined);
        if (streams % 2 === 0) st.close(http2.constants.NGHTTP2_CANCEL);
        else setTimeout(() => st.close(http2.constants.NGHTTP2_CANCEL), 50);
        streams++;
      }
      await sleep(20);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      for (const s of open) s.destroy();
      return `${streams} streams reset on ${sessions} session(s), ${goaway} GOAWAY from the gateway`;
    },
  };
}

/** Slow bodies: 300 clients declare 100 bytes and send one byte every 2 s to a buffered route (4-connection pool). */
const slowBodies = {
  name: 'slow-bodies',
  what: '300 connections each declaring a 100-byte body and sending 1 byte every 2 s (requestBuffering route, 4-connection pool; bodyMinBytesPerSecond 500 after a 4 s grace)',
  async setup() {
    const up = await startUpstream();
    const gw = await startGateway(
      `
server:
  accessLog: false
  limits: { bodyIdleTimeoutMs: 3000, bodyMinBytesPerSecond: 500, bodyMinRateGraceMs: 4000 }
upstreams:
  small:
    connections: 4
    targets: [{ url: "${up.url}" }]
apis:
  - name: native
    routes:
      - { path: "/buffered/{proxy+}", requestBuffering: true, integration: { type: http, upstream: small } }
`,
      GATEWAY_ENV,
    );
    return { gw, controlPath: '/buffered/control', close: () => up.close() };
  },
  start(env) {
    const socks = [];
    const first = [];
    for (let i = 0; i < 300; i++) {
      const c = net.connect(env.gw.port, '127.0.0.1');
      c.on('error', () => undefined);
      c.write(`POST /buffered/slow${i} HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\n`);
      socks.push(c);
      let text = '';
      c.setEncoding('latin1').on('data', (d) => (text += d));
      first.push(() => (text === '' ? (c.destroyed ? 'closed without answer' : 'still open') : (text.split('\r\n')[0] ?? '')));
    }
    const timer = setInterval(() => {
      for (const c of socks) if (!c.destroyed) c.write('x');
    }, 2_000);
    return {
      async stop() {
        clearInterval(timer);
        const lines = first.map((f) => f());
        for (const c of socks) c.destroy();
        return countOf(lines);
      },
    };
  },
};

/** Idle-connection flood: 1,100 connections from 127.0.0.2 (maxConnectionsPerClient 1000, maxConnections 1200), held open. */
const idleFlood = {
  name: 'idle-flood',
  what: '1,100 idle connections from one address (127.0.0.2), held for the attack window (maxConnectionsPerClient 1000, maxConnections 1200)',
  async setup() {
    const gw = await startGateway(
      `
server:
  accessLog: false
  limits:
    headersTimeoutMs: 30000
    requestTimeoutMs: 30000
    keepAliveTimeoutMs: 30000
    maxConnections: 1200
    maxConnectionsPerClient: 1000
apis:
  - name: t
    routes:
      - { methods: [GET], path: "/mock", integration: { type: mock, status: 200, body: { ok: true } } }
`,
      GATEWAY_ENV,
    );
    return { gw, controlPath: '/mock' };
  },
  start(env) {
    const socks = [];
    const got = [];
    for (let i = 0; i < 1_100; i++) {
      const s = net.connect({ port: env.gw.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (c) => (data += c));
      s.on('error', () => undefined);
      socks.push(s);
      got.push(() =>
        data !== ''
          ? /"code":"(\w+)"/.exec(data)
            ? `${data.split('\r\n')[0]} ${/"code":"(\w+)"/.exec(data)?.[1]}`
            : data.split('\r\n')[0]
          : s.destroyed
            ? 'closed'
            : 'held open',
      );
    }
    return {
      async stop() {
        const lines = got.map((f) => f());
        for (const s of socks) s.destroy();
        return countOf(lines);
      },
    };
  },
};

/** The OWASP e-mail pattern in a request-validator model: a 38-byte value that takes V8 over a minute; 4 attackers in a loop. */
function craftedSetup() {
  return async () => {
    const up = await startUpstream();
    const { dir, config } = craftedConfig(up.url);
    const gw = await startGateway(`server: { accessLog: false }\n${config}`, { dir, ...GATEWAY_ENV });
    return { gw, controlPath: '/native/up', close: () => up.close() };
  };
}

function loopAttack(concurrency, send) {
  let stopping = false;
  const statuses = [];
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopping) {
      try {
        statuses.push(await send());
      } catch (e) {
        statuses.push(e.cause?.code ?? e.message);
      }
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return countOf(statuses);
    },
  };
}

const owasp = {
  name: 'owasp-pattern',
  what: "POST {\"email\": 37 × 'a' + '!'} against a model with the OWASP e-mail pattern (exponential on V8), 4 attackers back to back",
  setup: craftedSetup(),
  start(env) {
    return loopAttack(4, async () => {
      const res = await fetch(`${env.gw.url}/dev/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: FREEZING_VALUE }),
      });
      await res.arrayBuffer();
      return res.status;
    });
  },
};

/** 8 MB JSON bodies through the console's passthrough template ($input.json('$') over the whole body). */
const bigTemplate = {
  name: 'template-8mb',
  what: "8 MB JSON bodies through the console's passthrough template ($input.json('$')), one attacker back to back",
  setup: craftedSetup(),
  start(env) {
    const items = [];
    let size = 0;
    while (size < 8_000_000) {
      items.push({ id: items.length, name: `item-${items.length}`, price: 9.5, tags: ['a', 'b'] });
      size += 60;
    }
    const body = JSON.stringify(items);
    return loopAttack(1, async () => {
      const res = await fetch(`${env.gw.url}/dev/passthrough`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.arrayBuffer();
      return res.status;
    });
  },
};

/** A function flooding its console: stdout and stderr at full speed (short lines, 64 KiB lines, no newlines). */
const consoleFlood = {
  name: 'console-flood',
  what: 'a function writing to stdout and stderr as fast as the gateway reads them for 1 s per invocation (short lines, 64 KiB lines, 16 KiB runs without a newline), 4 attackers back to back (concurrency 4)',
  async setup() {
    const gw = await startGateway(
      `
server: { accessLog: false }
functions:
  flood: { module: "${root}bench/fixtures/console-flood.mjs", timeoutMs: 10000, concurrency: 4 }
apis:
  - name: t
    routes:
      - { path: /flood, integration: { type: function, function: flood } }
      - { methods: [GET], path: "/mock", integration: { type: mock, status: 200, body: { ok: true } } }
`,
      GATEWAY_ENV,
    );
    return { gw, controlPath: '/mock' };
  },
  start(env) {
    return loopAttack(4, async () => {
      const res = await fetch(`${env.gw.url}/flood?ms=1000`);
      const body = await res.text();
      // The function's own count of what it wrote: the gateway read it all, or the write would have stalled.
      const bytes = /"bytes":(\d+)/.exec(body)?.[1];
      flooded += Number(bytes ?? 0);
      return res.status;
    });
  },
  note: () => `; ${(flooded / 1e6).toFixed(0)} MB written by the function`,
};
let flooded = 0;

/**
 * HTTP/2 streams opened and never finished: POSTs that send a few body bytes and then nothing, 100 per
 * connection (the advertised SETTINGS_MAX_CONCURRENT_STREAMS) on 10 connections, each stream replaced
 * by a new one when the gateway ends it, on the route the control uses (a 4-connection upstream pool).
 */
const h2Unfinished = {
  name: 'h2-unfinished',
  what: 'HTTP/2 POST streams that send 10 body bytes and never end, 100 per connection on 10 TLS connections, each replaced when the gateway ends it (requestBuffering route, 4-connection upstream pool; requestTimeoutMs 3000, bodyIdleTimeoutMs 2000)',
  setup: () => h2Setup(true),
  start: h2UnfinishedStart,
};
/** The same on a streamed route (no requestBuffering): every unfinished body holds an upstream connection. */
const h2UnfinishedStreamed = {
  name: 'h2-unfinished-streamed',
  what: 'as h2-unfinished, on a streamed route (requestBuffering false, the native default)',
  setup: () => h2Setup(false),
  start: h2UnfinishedStart,
};

function h2UnfinishedStart(env) {
  let stopping = false;
  let opened = 0;
  const got = [];
  const sessions = [];
  const open = (s) => {
    if (stopping || s.closed || s.destroyed) return;
    opened++;
    const st = s.request({ ':method': 'POST', ':path': `/slow/unfinished${opened}`, 'content-type': 'text/plain' }, { endStream: false });
    st.on('response', (h) => got.push(String(h[':status'])));
    st.on('error', () => undefined);
    st.write('0123456789');
    st.resume();
    st.on('close', () => {
      if (st.rstCode !== undefined && st.rstCode !== 0 && !stopping) got.push(`reset ${st.rstCode}`);
      setImmediate(() => open(s)); // keep 100 open on this connection
    });
  };
  const connect = () => {
    if (stopping) return;
    // From 127.0.0.2: the per-client bounds (maxRequestsPerClient) are the attacker's, not the control's.
    const s = http2.connect(`https://127.0.0.1:${env.httpsPort}`, { ca: env.ca, servername: 'gw.test', localAddress: '127.0.0.2' });
    s.on('error', () => undefined);
    s.on('goaway', () => got.push('GOAWAY'));
    s.on('close', () => setTimeout(connect, 100)); // the attacker comes back
    sessions.push(s);
    s.once('remoteSettings', (set) => {
      for (let i = 0; i < Math.min(100, set.maxConcurrentStreams ?? 100); i++) open(s);
    });
  };
  for (let i = 0; i < 10; i++) connect();
  return {
    async stop() {
      stopping = true;
      for (const s of sessions) s.destroy();
      return `${opened} streams opened; answers: ${countOf(got)}`;
    },
  };
}

function countOf(values) {
  const m = new Map();
  for (const v of values) m.set(String(v), (m.get(String(v)) ?? 0) + 1);
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${n} × ${k}`)
    .join('; ');
}

// --- main ------------------------------------------------------------------------------------------

const all = [rapidReset, slowBodies, idleFlood, owasp, bigTemplate, consoleFlood, h2Unfinished, h2UnfinishedStreamed];
const only = process.argv.slice(2);
const chosen = only.length === 0 ? all : all.filter((a) => only.includes(a.name));
const load0 = loadavg();
const rows = [];
for (const a of chosen) {
  process.stderr.write(`${a.name}...\n`);
  try {
    rows.push({ ...(await run(a)), what: a.what });
  } catch (e) {
    rows.push({ name: a.name, what: a.what, failed: String(e?.stack ?? e) });
  }
}
const load1 = loadavg();

const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const win = (w) => `${f(w.p50)} / ${f(w.p99)} / ${f(w.max)}${w.errors > 0 ? ` (${w.errors} err: ${w.kinds})` : ''} n=${w.n}`;
const mem = (s) => `${f(s.rss)} MB / ${s.fds}`;
const lines = [
  `Soak and overload run, ${new Date().toISOString()} (node ${process.version}; load average before ${load0.map((x) => x.toFixed(2)).join(', ')}, after ${load1.map((x) => x.toFixed(2)).join(', ')})`,
  '',
  'Control: sequential keep-alive GETs, 20 ms apart, to a fast route; latency in ms as p50 / p99 / max (errors) n=requests. Windows: baseline 3 s, attack 5 s, after 3 s. Gateway RSS / open fds at the end of the baseline, the peak during the attack, 3 s after it stopped.',
  '',
  '| attack | control baseline | control during | control after | RSS/fds baseline | peak | after | gateway up | p99 < 100 ms during | what the attack got |',
  '|---|---|---|---|---|---|---|---|---|---|',
];
for (const r of rows) {
  if (r.failed) {
    lines.push(`| ${r.name} | failed: ${r.failed.split('\n')[0]} | | | | | | | | |`);
    continue;
  }
  const ok = r.win.attack.p99 < 100 && r.win.attack.errors === 0;
  lines.push(
    `| ${r.name} | ${win(r.win.baseline)} | ${win(r.win.attack)} | ${win(r.win.after)} | ${mem(r.base)} | ${mem(r.peak)} | ${mem(r.after)} | ${r.alive ? 'yes' : 'NO'} | ${ok ? 'yes' : 'no'} | ${r.outcome} |`,
  );
}
lines.push('', 'Attacks:', ...rows.map((r) => `- ${r.name}: ${r.what}`));
const text = `${lines.join('\n')}\n`;
process.stdout.write(text);
const dir = join(root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '');
const out = join(dir, `attacks-${stamp}Z.md`);
writeFileSync(out, `# Soak and overload (bench/attacks.mjs)\n\n${text}`);
process.stderr.write(`wrote ${out}\n`);
