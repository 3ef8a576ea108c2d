/**
 * Helpers for the proxy integration tests: raw-socket upstreams (for broken HTTP), a raw client that
 * sends exactly the bytes given, a bounded-await helper, and a throwaway self-signed certificate.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Rejects if `p` does not settle within `ms` (so a hang fails the test instead of stalling it). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface NetServer {
  server: net.Server;
  port: number;
  url: string;
  /** Number of accepted connections. */
  connections: () => number;
  close(): Promise<void>;
}

/** A plain TCP server on 127.0.0.1 (for upstreams that misbehave at the HTTP level). */
export async function startNetServer(onSocket: (s: net.Socket) => void): Promise<NetServer> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Runs `fn` once the first complete request head (up to CRLFCRLF) has arrived on the socket. */
export function onRequestHead(s: net.Socket, fn: (head: string) => void): void {
  let buf = '';
  let fired = false;
  s.setEncoding('latin1');
  s.on('data', (c: string) => {
    if (fired) return;
    buf += c;
    if (buf.includes('\r\n\r\n')) {
      fired = true;
      fn(buf);
    }
  });
}

export interface RawReply {
  /** 0 when no complete status line + headers arrived. */
  status: number;
  /** Lower-case names, every value kept in order. */
  headers: Record<string, string[]>;
  body: Buffer;
  /** The body framing (content-length or chunked terminator) was satisfied. */
  complete: boolean;
  raw: Buffer;
}

/** Writes `request` verbatim on a new connection and reads until the server closes (send `connection: close`). */
export function rawExchange(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`raw exchange: no close within ${timeoutMs} ms; got ${Buffer.concat(chunks).toString('latin1').slice(0, 300)}`));
    }, timeoutMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseReply(Buffer.concat(chunks)));
    });
    sock.write(request);
  });
}

export function parseReply(raw: Buffer): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const empty = { status: 0, headers: {}, body: Buffer.alloc(0), complete: false, raw };
  if (end < 0) return empty;
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return empty;
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).trim().toLowerCase();
    (headers[k] ??= []).push(line.slice(i + 1).trim());
  }
  let rest = raw.subarray(end + 4);
  let complete = false;
  if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v))) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) break;
      const size = Number.parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (!Number.isFinite(size)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      if (rest.length < nl + 2 + size + 2) break;
      parts.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
    rest = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length'][0]);
    complete = rest.length >= len;
    rest = rest.subarray(0, len);
  } else complete = true;
  return { status: Number(m[1]), headers, body: rest, complete, raw };
}

/** A self-signed certificate for 127.0.0.1/localhost made with the openssl CLI, or undefined without it. */
export function selfSignedCert(): { dir: string; keyFile: string; certFile: string; key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', keyFile, '-out', certFile, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore', timeout: 20_000 },
    );
  } catch {
    return undefined;
  }
  return { dir, keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}
