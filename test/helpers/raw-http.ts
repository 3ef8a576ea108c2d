/**
 * A raw-socket HTTP/1.1 client for edge tests: writes exactly the bytes given (no normalisation of
 * the request line, headers or framing, unlike fetch/undici), reads one full response and parses
 * its status line, headers and body (Content-Length, chunked, or until close).
 */
import net from 'node:net';

export interface RawResponse {
  /** 0 when the connection closed (or timed out) before a complete status line and headers. */
  status: number;
  /** Lower-case header names; repeated names joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** The response was complete (framing satisfied) when we stopped reading. */
  complete: boolean;
  /** How the exchange ended: a full response, the peer closed/reset, or our timeout fired. */
  outcome: 'response' | 'closed' | 'timeout';
  /** Every byte received. */
  raw: Buffer;
  /** Milliseconds from connect to the end of the exchange. */
  elapsedMs: number;
  /** With `waitForCloseMs`: the server closed the connection within that time after its response. */
  closedAfterResponse: boolean;
}

export interface RawOptions {
  host?: string;
  /** Give up after this long (default 5000 ms); outcome 'timeout'. */
  timeoutMs?: number;
  /** Delay between the parts of the request (default 0: all written at once). */
  intervalMs?: number;
  /** Keep writing parts even after the server started answering (default false). */
  keepWritingAfterResponse?: boolean;
  /** After a complete response, wait up to this long for the server to close the connection. */
  waitForCloseMs?: number;
}

/** Sends the given parts (written in order, `intervalMs` apart) and reads one response. */
export function rawRequest(port: number, parts: string | Buffer | readonly (string | Buffer)[], opts: RawOptions = {}): Promise<RawResponse> {
  const list = typeof parts === 'string' || Buffer.isBuffer(parts) ? [parts] : [...parts];
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const interval = opts.intervalMs ?? 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: opts.host ?? '127.0.0.1', noDelay: true });
    const chunks: Buffer[] = [];
    let done = false;
    let closed = false;
    let responded = false;
    let writeTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: RawResponse['outcome']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (writeTimer !== undefined) clearTimeout(writeTimer);
      const raw = Buffer.concat(chunks);
      const parsed = parseResponse(raw);
      sock.destroy();
      resolve({ ...parsed, outcome: parsed.complete ? 'response' : outcome, raw, elapsedMs: performance.now() - started, closedAfterResponse: closed && parsed.complete });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    const onClose = () => {
      closed = true;
      finish('closed');
    };
    sock.on('error', onClose);
    sock.on('close', onClose);
    sock.on('end', onClose);
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      if (responded || !parseResponse(Buffer.concat(chunks)).complete) return;
      responded = true;
      if (opts.waitForCloseMs === undefined) return finish('response');
      clearTimeout(timer);
      setTimeout(() => finish('response'), opts.waitForCloseMs);
    });
    let i = 0;
    const writeNext = () => {
      writeTimer = undefined;
      if (done || sock.destroyed || !sock.writable) return;
      if (chunks.length > 0 && !opts.keepWritingAfterResponse) return;
      const part = list[i++];
      if (part === undefined) return;
      sock.write(part, () => {
        if (i < list.length) writeTimer = setTimeout(writeNext, interval);
      });
    };
    sock.once('connect', writeNext);
  });
}

interface Parsed {
  status: number;
  headers: Record<string, string>;
  body: string;
  complete: boolean;
}

/** Parses one HTTP/1.1 response from the bytes so far; `complete` says whether it is all there. */
export function parseResponse(raw: Buffer): Parsed {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', complete: false };
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
  const status = m ? Number(m[1]) : 0;
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const k = line.slice(0, c).trim().toLowerCase();
    const v = line.slice(c + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const rest = raw.subarray(end + 4);
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, headers, body: '', complete: true };
  const cl = headers['content-length'];
  if (cl !== undefined) {
    const n = Number(cl);
    return { status, headers, body: rest.subarray(0, n).toString('utf8'), complete: rest.length >= n };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    let p = 0;
    for (;;) {
      const eol = rest.indexOf('\r\n', p);
      if (eol < 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      const size = Number.parseInt(rest.subarray(p, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      if (size === 0) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: rest.indexOf('\r\n', eol + 2) >= 0 };
      if (rest.length < eol + 2 + size + 2) return { status, headers, body: Buffer.concat(out).toString('utf8'), complete: false };
      out.push(rest.subarray(eol + 2, eol + 2 + size));
      p = eol + 2 + size + 2;
    }
  }
  // No framing: the body runs until close; never "complete" before that.
  return { status, headers, body: rest.toString('utf8'), complete: false };
}

/** A GET request in raw bytes: `GET ${target} HTTP/1.1` with Host and the given extra header lines. */
export function rawGet(target: string, extra: readonly string[] = [], method = 'GET'): string {
  return `${method} ${target} HTTP/1.1\r\nHost: gw.test\r\n${extra.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`;
}
