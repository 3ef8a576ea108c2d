import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Denial, type ErrorCode, ERRORS, errorBody, isDenial } from '../errors/catalogue.js';
import { HeaderList } from '../util/header-list.js';
import type { CompiledRoute, RouteTable } from '../compile/types.js';
import { BodyPace } from './body-pace.js';
import { runResponseHooks } from './runner.js';
import type { EarlyAnswer } from './types.js';

export interface ResponseState {
  status: number;
  headers: HeaderList;
}

/**
 * Everything one request carries through the pipeline. One instance per request, plain fields
 * (no getters on the hot path, no per-request closures); the table is read once at accept time
 * and kept to the end, so a reload never changes a request mid-flight.
 */
export class RequestContext {
  readonly id: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly table: RouteTable;
  /** performance.now() at accept. */
  readonly start: number;
  readonly startEpochMs: number;
  readonly method: string;
  /** Normalized path: what is routed, authorized and forwarded. */
  path = '/';
  rawQuery = '';
  /** Host header as received (port included), '' when absent. */
  host = '';
  /** Client address resolved through trusted proxies only. */
  clientIp: string;
  /** Address of the TCP peer. */
  peerIp: string;
  protocol: 'http' | 'https';
  route: CompiledRoute | undefined = undefined;
  params: Record<string, string> | undefined = undefined;
  /** Headers that will be sent upstream (hop-by-hop already removed, X-Forwarded-* set). */
  upstreamHeaders: HeaderList;
  /** Set once a response status and headers exist (response phases see it). */
  response: ResponseState | undefined = undefined;
  /** Identity set by an authenticate hook. */
  principal: unknown = undefined;
  /** Per-request scratch space for plugins, keyed by plugin name. */
  state: Record<string, unknown> | undefined = undefined;
  /** Buffered request body, when a plugin asked for it. */
  body: Buffer | undefined = undefined;
  contentLength = -1;
  bytesIn = 0;
  bytesOut = 0;
  upstreamMs = -1;
  errorCode: ErrorCode | undefined = undefined;
  errorDetail: string | undefined = undefined;
  /** Name of the upstream target that served the request, for the access log. */
  upstreamTarget: string | undefined = undefined;
  /** Set by the HTTP integration while an upstream exchange is open; called when the client goes away. */
  upstreamAbort: ((err: Error) => void) | undefined = undefined;
  /** The client closed the connection before the response finished. */
  clientGone = false;
  /** X-Amzn-Trace-Id of the request; '' until requestTraceId() (util/trace-id.ts) computes it. */
  traceId = '';
  #abort: AbortController | undefined = undefined;
  #bodyPromise: Promise<Buffer> | undefined = undefined;

  constructor(req: IncomingMessage, res: ServerResponse, table: RouteTable, id: string, start: number, protocol: 'http' | 'https') {
    this.req = req;
    this.res = res;
    this.table = table;
    this.id = id;
    this.start = start;
    this.startEpochMs = Date.now();
    this.method = req.method ?? 'GET';
    this.peerIp = req.socket.remoteAddress ?? '';
    this.clientIp = this.peerIp;
    this.protocol = protocol;
    this.upstreamHeaders = new HeaderList();
  }

  /**
   * Aborted (with the reason abort() was given) when the client goes away before the answer is complete:
   * the server calls abort() when the connection closes early. Nothing else aborts it — there is no
   * per-request deadline: each limit (upstream timeouts, a function's or an authorizer's timeout) is
   * armed by whoever owns it, on the deadline queue (src/util/deadline-queue.ts). Created on first use only.
   */
  get signal(): AbortSignal {
    if (this.#abort === undefined) this.#abort = new AbortController();
    return this.#abort.signal;
  }

  /** Called by the server when the client connection closes early. */
  abort(reason: Error): void {
    this.clientGone = true;
    this.#abort?.abort(reason);
    const up = this.upstreamAbort;
    if (up !== undefined) {
      this.upstreamAbort = undefined;
      up(reason);
    }
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  /** Buffers the request body (bounded by the route's body limit); later calls return the same buffer. */
  readBody(): Promise<Buffer> {
    if (this.#bodyPromise === undefined) this.#bodyPromise = readRequestBody(this);
    return this.#bodyPromise;
  }

  /** Sends a complete response (after running the response phases). Never throws. */
  send(status: number, headers: HeaderList, body: string | Buffer | undefined): void | Promise<void> {
    this.response = { status, headers };
    const route = this.route;
    if (route !== undefined && route.responseHooks.length > 0) {
      const r = runResponseHooks(this, route.responseHooks);
      if (r !== undefined) return r.then(() => writeWhole(this, body), (err: unknown) => this.failResponseHooks(err, body));
    }
    writeWhole(this, body);
  }

  /** Answers with a catalogue error. */
  sendError(code: ErrorCode, detail?: string): void | Promise<void> {
    if (detail !== undefined) this.errorDetail = detail;
    return this.sendDenial({ deny: code });
  }

  /**
   * Answers a refusal in the route's error dialect: AWS APIs render their gateway responses, every
   * other route native JSON `{message, code, requestId}`. The denial's headers are added either way.
   */
  sendDenial(d: Denial): void | Promise<void> {
    const code = d.deny;
    this.errorCode = code;
    if (this.res.headersSent) {
      // Too late for a clean answer: abort so the client never mistakes a truncated body for a complete one.
      this.res.destroy();
      return;
    }
    const custom = this.route?.errorAnswer?.(d, this);
    if (custom !== undefined) {
      const list: string[] = [];
      for (const [k, v] of custom.headers) list.push(k.toLowerCase(), v);
      const headers = new HeaderList(list);
      if (d.headers !== undefined) for (const k of Object.keys(d.headers)) headers.set(k.toLowerCase(), d.headers[k] as string);
      return this.send(custom.status, headers, custom.body);
    }
    const headers = new HeaderList(['content-type', 'application/json']);
    if (code === 'METHOD_NOT_ALLOWED' && this.errorDetail !== undefined) headers.append('allow', this.errorDetail);
    if (d.headers !== undefined) for (const k of Object.keys(d.headers)) headers.set(k.toLowerCase(), d.headers[k] as string);
    return this.send(ERRORS[code].status, headers, errorBody(code, this.id, d.message));
  }

  /** Answers with a hook's early answer: a denial in the route's dialect, or the response the hook built. */
  sendEarly(early: EarlyAnswer): void | Promise<void> {
    if (isDenial(early)) return this.sendDenial(early);
    const headers = new HeaderList();
    let body: string | Buffer | undefined;
    if (early.body === undefined || early.body === null) body = undefined;
    else if (typeof early.body === 'string' || Buffer.isBuffer(early.body)) body = early.body;
    else {
      body = JSON.stringify(early.body);
      headers.append('content-type', 'application/json');
    }
    if (early.headers) for (const k of Object.keys(early.headers)) headers.set(k.toLowerCase(), early.headers[k] as string);
    return this.send(early.status, headers, body);
  }

  private failResponseHooks(err: unknown, _body: string | Buffer | undefined): void {
    this.table.logger.error({ err, requestId: this.id }, 'response hook failed');
    this.response = undefined;
    this.errorCode = 'INTERNAL_ERROR';
    writeWhole(this, errorBody('INTERNAL_ERROR', this.id), 500);
  }
}

function writeWhole(ctx: RequestContext, body: string | Buffer | undefined, forceStatus?: number): void {
  const res = ctx.res;
  if (res.headersSent || res.destroyed) return;
  const state = ctx.response;
  let status = forceStatus ?? state?.status ?? 500;
  let list: string[];
  if (state === undefined || forceStatus !== undefined) list = ['content-type', 'application/json'];
  else list = state.headers.list;
  list.push('x-request-id', ctx.id);
  if (body !== undefined) {
    const len = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    list.push('content-length', String(len));
    ctx.bytesOut = len;
  } else if (status !== 204 && status !== 304 && !(status >= 100 && status < 200)) {
    list.push('content-length', '0');
  }
  try {
    res.writeHead(status, list);
  } catch (err) {
    // A hook or mock set an invalid header value: answer 500 rather than crash.
    ctx.table.logger.error({ err, requestId: ctx.id }, 'invalid response headers');
    status = 500;
    ctx.errorCode = 'INTERNAL_ERROR';
    body = errorBody('INTERNAL_ERROR', ctx.id);
    res.writeHead(500, 'Internal Server Error', ['content-type', 'application/json', 'x-request-id', ctx.id, 'content-length', String(Buffer.byteLength(body))]);
  }
  if (ctx.method === 'HEAD' || body === undefined) res.end();
  else res.end(body);
}

function readRequestBody(ctx: RequestContext): Promise<Buffer> {
  const limit = ctx.route?.maxBodyBytes ?? ctx.table.limits.bodyBytes;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const req = ctx.req;
    // Buffering reads as fast as the client sends, so all of the wait is the client's (body-pace.ts).
    const pace = new BodyPace({ paceFailed: (err) => fail(err) }, ctx.table.limits);
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new BodyTooLargeError());
        return;
      }
      const slow = pace.chunk(chunk.length);
      if (slow !== undefined) return fail(slow);
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      ctx.bytesIn = size;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      ctx.body = body;
      resolve(body);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      pace.end();
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
    pace.wait();
  });
}

export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
}
