/**
 * The Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), served to ONE
 * function process on its own loopback port: the port is the process's identity, so an answer can only
 * be for the invocation this process was given, and a result reaches the gateway only through here
 * (never through stdout, never through a message the handler could forge for another process).
 *
 *   GET  /2018-06-01/runtime/invocation/next            long poll: the next event (Lambda-Runtime-* headers)
 *   POST /2018-06-01/runtime/invocation/{id}/response   the result (6 MB cap on what is read: 413 past it)
 *   POST /2018-06-01/runtime/invocation/{id}/error      a function error {errorType, errorMessage, stackTrace}
 *   POST /2018-06-01/runtime/init/error                 the handler could not be loaded
 *
 * Any language's runtime client speaks this (issue 12 builds Python and `provided` on it); the gateway's
 * own Node bootstrap is one such client (bootstrap.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaError } from './protocol.js';

export const RUNTIME_API_PREFIX = '/2018-06-01/runtime';

/** What the API tells its owner (the pool's slot). */
export interface RuntimeApiEvents {
  /** The process asked for work: it is initialised and idle. */
  ready(): void;
  /** The result of invocation `id`, read whole (at most maxResponseBytes). */
  response(id: string, body: Buffer): void;
  /** The process posted a result larger than the cap (the body was not read past it). */
  responseTooLarge(id: string): void;
  error(id: string, error: LambdaError): void;
  initError(error: LambdaError): void;
}

/** One event handed to the process. */
export interface Delivery {
  requestId: string;
  deadlineMs: number;
  functionArn: string;
  traceId: string;
  eventJson: string;
}

/** Error bodies are small; one larger than this is cut, not read. */
const MAX_ERROR_BYTES = 256 * 1024;

const json = (res: ServerResponse, status: number, body: unknown, close = false): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
};

export class RuntimeApi {
  readonly #events: RuntimeApiEvents;
  readonly #maxResponseBytes: number;
  readonly #server: Server;
  /** The process's pending GET /next, if it waits. */
  #waiting: ServerResponse | undefined;
  /** An event given before the process asked for it. */
  #pending: Delivery | undefined;
  /** The invocation the process holds (delivered, not yet answered). */
  #current: string | undefined;
  #closed = false;
  address = '';

  constructor(events: RuntimeApiEvents, maxResponseBytes: number) {
    this.#events = events;
    this.#maxResponseBytes = maxResponseBytes;
    this.#server = createServer({ noDelay: true, requestTimeout: 0, headersTimeout: 10_000, keepAliveTimeout: 600_000 }, (req, res) => this.#handle(req, res));
    // A long poll may idle for the function's whole idle time.
    this.#server.timeout = 0;
    // Never what keeps the gateway alive: a running invocation holds its deadline timer, a kill its process handle.
    this.#server.unref();
    this.#server.on('connection', (s) => s.unref());
  }

  /** Listens on an ephemeral loopback port; resolves with host:port (AWS_LAMBDA_RUNTIME_API). */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      // exclusive: in a cluster worker a plain listen(0) is handed to the primary, which gives every worker
      // (and every server in one worker) the SAME port and spreads connections over them round robin: a
      // function process then reached another process's Runtime API (409 on GET next, a 500 to the client).
      this.#server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
        const a = this.#server.address() as AddressInfo;
        this.address = `127.0.0.1:${a.port}`;
        resolve(this.address);
      });
    });
  }

  /** True while the process waits in GET /next. */
  get waiting(): boolean {
    return this.#waiting !== undefined;
  }

  /** An event was handed over but the process has not asked for it yet. */
  get holding(): boolean {
    return this.#pending !== undefined;
  }

  /** Hands an event to the process: at once if it waits in /next, else when it next asks. */
  deliver(d: Delivery): void {
    this.#current = undefined;
    const res = this.#waiting;
    if (res && !res.destroyed) {
      this.#waiting = undefined;
      this.#send(res, d);
    } else this.#pending = d;
  }

  /** The invocation was settled elsewhere (timeout, crash): a late answer for it is refused. */
  forget(): void {
    this.#current = undefined;
    this.#pending = undefined;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiting = undefined;
    this.#server.close();
    this.#server.closeAllConnections();
  }

  #send(res: ServerResponse, d: Delivery): void {
    this.#current = d.requestId;
    const body = Buffer.from(d.eventJson);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': body.length,
      'lambda-runtime-aws-request-id': d.requestId,
      'lambda-runtime-deadline-ms': String(d.deadlineMs),
      'lambda-runtime-invoked-function-arn': d.functionArn,
      'lambda-runtime-trace-id': d.traceId,
    });
    res.end(body);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    if (!url.startsWith(RUNTIME_API_PREFIX)) {
      json(res, 404, { errorMessage: 'Not found', errorType: 'NotFound' });
      return;
    }
    const path = url.slice(RUNTIME_API_PREFIX.length);
    if (req.method === 'GET' && path === '/invocation/next') {
      this.#next(res);
      return;
    }
    if (req.method === 'POST' && path === '/init/error') {
      this.#read(req, res, MAX_ERROR_BYTES, (body) => {
        json(res, 202, { status: 'OK' });
        this.#events.initError(errorOf(body, req));
      });
      return;
    }
    const m = /^\/invocation\/([^/]{1,128})\/(response|error)$/.exec(path);
    if (req.method !== 'POST' || !m) {
      json(res, 404, { errorMessage: 'Not found', errorType: 'NotFound' });
      return;
    }
    const id = decodeURIComponent(m[1] as string);
    if (this.#current === undefined || id !== this.#current) {
      req.resume();
      json(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
      return;
    }
    if (m[2] === 'response') {
      this.#read(
        req,
        res,
        this.#maxResponseBytes,
        (body) => {
          if (this.#current !== id) {
            json(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
            return;
          }
          this.#current = undefined;
          json(res, 202, { status: 'OK' });
          this.#events.response(id, body);
        },
        () => {
          if (this.#current !== id) return;
          this.#current = undefined;
          this.#events.responseTooLarge(id);
        },
      );
      return;
    }
    this.#read(req, res, MAX_ERROR_BYTES, (body) => {
      if (this.#current !== id) {
        json(res, 400, { errorMessage: 'Invalid request ID', errorType: 'InvalidRequestID' });
        return;
      }
      this.#current = undefined;
      json(res, 202, { status: 'OK' });
      this.#events.error(id, errorOf(body, req));
    });
  }

  #next(res: ServerResponse): void {
    if (this.#waiting && !this.#waiting.destroyed) {
      json(res, 409, { errorMessage: 'A request for the next invocation is already waiting', errorType: 'Conflict' });
      return;
    }
    const d = this.#pending;
    if (d) {
      this.#pending = undefined;
      this.#send(res, d);
      return;
    }
    this.#waiting = res;
    res.on('close', () => {
      if (this.#waiting === res) this.#waiting = undefined;
    });
    this.#current = undefined;
    this.#events.ready();
  }

  /** Reads a body of at most `max` bytes; past it answers 413 and stops reading (the connection is closed). */
  #read(req: IncomingMessage, res: ServerResponse, max: number, done: (body: Buffer) => void, tooLarge?: () => void): void {
    const over = (): void => {
      json(res, 413, { errorMessage: `Exceeded maximum allowed payload size (${max} bytes).`, errorType: 'RequestEntityTooLarge' }, true);
      req.destroy();
      tooLarge?.();
    };
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > max) {
      over();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let stopped = false;
    req.on('data', (c: Buffer) => {
      if (stopped) return;
      size += c.length;
      if (size > max) {
        stopped = true;
        over();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!stopped) done(Buffer.concat(chunks, size));
    });
    req.on('error', () => {});
  }
}

/** Lambda's error document ({errorType, errorMessage, stackTrace}) as the pool's LambdaError. */
function errorOf(body: Buffer, req: IncomingMessage): LambdaError {
  const header = req.headers['lambda-runtime-function-error-type'];
  let doc: Record<string, unknown> = {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) doc = v as Record<string, unknown>;
  } catch {
    // not JSON: the header (or 'Unhandled') names it
  }
  const trace = doc.stackTrace;
  return {
    errorType: String(doc.errorType ?? (typeof header === 'string' && header !== '' ? header : 'Unhandled')).slice(0, 1024),
    errorMessage: String(doc.errorMessage ?? '').slice(0, 64 * 1024),
    stack: Array.isArray(trace) ? trace.slice(0, 200).map((l) => String(l).slice(0, 4096)) : [],
  };
}
