/**
 * Helpers for the lifecycle, CLI and observability tests: the process tree and listening sockets
 * read from /proc (Linux), Prometheus text parsing, atomic config writes, raw HTTP requests.
 */
import { readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';

/** Direct children of a process (the cluster workers of a primary). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface ListeningSocket {
  /** Local address as dotted IPv4. */
  address: string;
  port: number;
  inode: string;
}

/** Sockets in LISTEN state on a TCP (IPv4) port, from /proc/net/tcp. */
export function listeningSockets(port: number): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  const lines = readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [addrHex, portHex] = (cols[1] as string).split(':') as [string, string];
    if (cols[3] !== '0A' || Number.parseInt(portHex, 16) !== port) continue;
    const bytes = (addrHex.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).reverse();
    out.push({ address: bytes.join('.'), port, inode: cols[9] as string });
  }
  return out;
}

/** The pids, among `candidates`, that hold an open file descriptor on the given socket inode. */
export function pidsHoldingSocket(inode: string, candidates: number[]): number[] {
  const want = `socket:[${inode}]`;
  const holders: number[] = [];
  for (const pid of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) {
          holders.push(pid);
          break;
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return holders;
}

/** Polls until fn returns a truthy value, or throws after timeoutMs. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits, when needed, until at least `marginMs` remain in the current clock-aligned window. A sliding
 * window limit of L per W legitimately admits more once a flood runs past a boundary by more than W/L
 * (the previous window's count is weighed down as the new one ages), so an exactness test of a large
 * limit per short window must not straddle one.
 */
export async function clearOfWindowEdge(windowMs: number, marginMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await sleep(left + 50);
}

/** Writes like an editor does: a temp file in the same directory, renamed over the target. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format into samples plus the declared TYPE of each metric family. */
export function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) {
      types.set(t[1] as string, t[2] as string);
      continue;
    }
    const h = /^# HELP (\S+) (.*)$/.exec(line);
    if (h) {
      help.set(h[1] as string, h[2] as string);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types, help };
}

/** Sum of the samples of `name` whose labels include `match`. */
export function metricSum(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

export async function scrape(adminUrl: string) {
  const res = await fetch(`${adminUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return { contentType: res.headers.get('content-type') ?? '', ...parseMetrics(await res.text()) };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no pooling), so a test controls exactly when it starts. */
export function request(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; agent?: http.Agent; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: init.agent ?? false, timeout: init.timeoutMs ?? 15_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.end(init.body);
  });
}

/** Resolves with the connection error code (e.g. ECONNREFUSED) or 'connected'. */
export function tryConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
