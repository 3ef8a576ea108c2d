/**
 * The data plane: accepts requests, runs the compiled pipeline of the table current at accept time,
 * and swaps tables atomically on reload. A retired table is closed when its last request ends.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { CompiledRoute, RouteTable } from '../compile/types.js';
import { ERRORS, GatewayError } from '../errors/catalogue.js';
import { writeAccessLine } from '../observability/access-log.js';
import { rawDestination } from '../observability/logger.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { BodyTimeoutError } from '../pipeline/body-pace.js';
import { BodyTooLargeError, RequestContext } from '../pipeline/context.js';
import { runRequestHooks } from '../pipeline/runner.js';
import type { EarlyAnswer } from '../pipeline/types.js';
import { normalizeTarget } from './path.js';
import { scanRequestHeaders } from './request-scan.js';

/** Node builds these for us (createServer's IncomingMessage/ServerResponse options), so the context is a declared field, not an ad-hoc property. */
export class GatewayRequest extends IncomingMessage {}
export class GatewayResponse extends ServerResponse<GatewayRequest> {
  ctx: RequestContext | undefined = undefined;
}

export class Gateway {
  #table: RouteTable;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly protocol: 'http' | 'https';
  /** Set while draining: new requests on kept-alive connections get `connection: close`. */
  draining = false;

  constructor(table: RouteTable, logger: Logger, metrics: GatewayMetrics, protocol: 'http' | 'https' = 'http') {
    this.#table = table;
    table.activate();
    this.logger = logger;
    this.metrics = metrics;
    this.protocol = protocol;
    metrics.setConfigVersion(table.version);
  }

  get table(): RouteTable {
    return this.#table;
  }

  /** Atomic swap: requests already running keep the table they started with. */
  swap(next: RouteTable): void {
    const prev = this.#table;
    next.activate();
    this.#table = next;
    this.metrics.setConfigVersion(next.version);
    prev.retired = true;
    if (prev.inflight === 0) void prev.close();
  }

  readonly onRequest = (req: GatewayRequest, res: GatewayResponse): void => {
    this.handle(req, res, undefined, undefined);
  };

  /** Upgrade requests: WebSocket on routes that allow it; anything else (h2c...) is served as a plain request with the upgrade stripped. */
  readonly onUpgrade = (req: GatewayRequest, socket: Duplex, head: Buffer): void => {
    socket.on('error', noop);
    const res = new GatewayResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as import('node:net').Socket);
    res.once('finish', () => socket.end());
    const isWebSocket = /^websocket$/i.test(String(req.headers.upgrade ?? '').trim());
    this.handle(req, res, isWebSocket ? socket : undefined, head);
  };

  handle(req: GatewayRequest, res: GatewayResponse, wsSocket: Duplex | undefined, head: Buffer | undefined): void {
    const table = this.#table;
    table.inflight++;
    this.metrics.inflight++;
    const start = performance.now();
    const ctx = new RequestContext(req, res, table, '', start, this.protocol);
    res.ctx = ctx;
    res.on('close', onResponseClose); // not once(): that wraps the listener in a closure per request
    if (this.draining) res.shouldKeepAlive = false;

    const scan = scanRequestHeaders(ctx, req.rawHeaders, table.limits.headerCount);
    (ctx as { id: string }).id = scan.requestId ?? randomUUID();
    ctx.upstreamHeaders.list.push('x-request-id', ctx.id);
    if (scan.error !== undefined) return void this.fail(ctx, scan.error);
    // llhttp accepts 'GET /x' (HTTP/0.9) and 'HTTP/2.0' in an HTTP/1 request line; neither is HTTP/1.x
    // (HTTP/2 compat requests, which carry `.stream`, are the real thing).
    if (req.httpVersionMajor !== 1 && !('stream' in req)) return void this.fail(ctx, 'BAD_REQUEST');

    const url = req.url ?? '/';
    if (url.length > table.limits.urlBytes) return void this.fail(ctx, 'URI_TOO_LONG');
    const target = normalizeTarget(url);
    if (!target.ok) {
      ctx.errorDetail = target.reason;
      return void this.fail(ctx, 'BAD_PATH');
    }
    ctx.path = target.path;
    ctx.rawQuery = target.rawQuery;

    let match = table.router.lookup(ctx.method, ctx.host, target.path, req.headers, target.rawQuery);
    // A trailing slash never selects a different, less protected route: `/admin/` (also `/admin/.`)
    // goes where `/admin` goes, and is then routed, authorized and forwarded as `/admin`.
    const p = target.path;
    if (p.length > 1 && p.charCodeAt(p.length - 1) === 47 /* '/' */) {
      const bare = p.slice(0, -1);
      const exact = table.router.lookup(ctx.method, ctx.host, bare, req.headers, target.rawQuery);
      // Only when that selects another route: a catch-all keeps the trailing slash it was given.
      const differs = exact.kind === 'found' ? match.kind !== 'found' || match.value !== exact.value : exact.kind === 'method-not-allowed' && match.kind !== 'found';
      if (differs) {
        match = exact;
        ctx.path = bare;
      }
    }
    if (match.kind !== 'found') {
      if (match.kind === 'method-not-allowed') {
        ctx.errorDetail = match.allow.join(', ');
        return void this.fail(ctx, 'METHOD_NOT_ALLOWED');
      }
      return void this.fail(ctx, 'ROUTE_NOT_FOUND');
    }
    const route = match.value;
    ctx.route = route;
    ctx.params = match.params;
    if (target.encodedSlash && !route.allowEncodedSlashes) return void this.fail(ctx, 'ENCODED_SLASH');
    if (ctx.contentLength > route.maxBodyBytes) {
      res.shouldKeepAlive = false; // the body will not be read: close rather than drain it
      return void this.fail(ctx, 'BODY_TOO_LARGE');
    }
    if (head === undefined && ctx.contentLength !== 0 && ctx.contentLength !== -1) {
      // A response that ends before the request body was read to the end (a chunked body stopped at the
      // limit, an upstream that answered early) leaves the rest of that body on the connection: Node
      // would neither parse the next request nor close, so the client would stall. Close instead.
      res.on('finish', closeIfBodyUnread);
    }
    if (head !== undefined && wsSocket === undefined && ctx.contentLength !== 0 && ctx.contentLength !== -1) {
      // A non-WebSocket upgrade (h2c) with a body: Node stopped parsing at the headers, so feed the body ourselves.
      attachUpgradeBody(ctx, req.socket, head);
    }

    if (wsSocket !== undefined && route.websocket && route.integration.upgrade !== undefined) {
      return void this.runUpgrade(ctx, route, wsSocket, head as Buffer);
    }

    if (route.needsRequestBody) {
      ctx.readBody().then(
        () => this.runPipeline(ctx, route),
        (err: unknown) => {
          // A body refused half-read is never drained: the connection closes after the answer.
          if (err instanceof BodyTimeoutError || err instanceof BodyTooLargeError) res.shouldKeepAlive = false;
          this.fail(ctx, err instanceof BodyTooLargeError ? 'BODY_TOO_LARGE' : err instanceof BodyTimeoutError ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST', err);
        },
      );
      return;
    }
    this.runPipeline(ctx, route);
  }

  private runPipeline(ctx: RequestContext, route: CompiledRoute): void {
    try {
      const early = route.requestHooks.length === 0 ? undefined : runRequestHooks(ctx, route.requestHooks);
      if (early === undefined) {
        const r = route.integration.invoke(ctx);
        if (r !== undefined) r.catch((err: unknown) => this.fail(ctx, undefined, err));
      } else if (early instanceof Promise) {
        early.then(
          (e) => {
            if (e !== undefined) return ctx.sendEarly(e);
            if (ctx.clientGone) return;
            return route.integration.invoke(ctx);
          },
        ).catch((err: unknown) => this.fail(ctx, undefined, err));
      } else {
        const r = ctx.sendEarly(early as EarlyAnswer);
        if (r !== undefined) r.catch((err: unknown) => this.fail(ctx, undefined, err));
      }
    } catch (err) {
      this.fail(ctx, undefined, err);
    }
  }

  private runUpgrade(ctx: RequestContext, route: CompiledRoute, socket: Duplex, head: Buffer): void {
    const go = () => {
      const res = ctx.res as GatewayResponse;
      res.detachSocket(socket as import('node:net').Socket);
      ctx.response = { status: 101, headers: ctx.upstreamHeaders };
      socket.once('close', () => finishRequest(ctx, ctx.errorCode !== undefined ? ERRORS[ctx.errorCode].status : 101));
      res.removeListener('close', onResponseClose);
      route.integration.upgrade?.(ctx, socket, head);
    };
    try {
      const early = route.requestHooks.length === 0 ? undefined : runRequestHooks(ctx, route.requestHooks);
      if (early === undefined) {
        go();
        return;
      }
      if (early instanceof Promise) {
        early.then((e) => (e === undefined ? go() : ctx.sendEarly(e))).catch((err: unknown) => this.fail(ctx, undefined, err));
        return;
      }
      void ctx.sendEarly(early as EarlyAnswer);
    } catch (err) {
      this.fail(ctx, undefined, err);
    }
  }

  /** Answers with a catalogue error; unexpected errors become 500 and are logged with the request id. */
  fail(ctx: RequestContext, code: import('../errors/catalogue.js').ErrorCode | undefined, err?: unknown): void {
    let c = code;
    if (c === undefined) {
      if (err instanceof GatewayError) c = err.code;
      else if (err instanceof BodyTooLargeError) c = 'BODY_TOO_LARGE';
      else if (err instanceof BodyTimeoutError) c = 'REQUEST_TIMEOUT';
      else {
        c = 'INTERNAL_ERROR';
        this.logger.error({ err, requestId: ctx.id, route: ctx.route?.id }, 'request failed');
      }
    }
    if (ctx.res.headersSent || ctx.res.destroyed) {
      ctx.errorCode = c;
      if (!ctx.res.writableEnded) ctx.res.destroy();
      return;
    }
    const r = ctx.sendError(c);
    if (r !== undefined) r.catch(() => ctx.res.destroy());
  }
}

function noop(): void {}

/** 'finish' listener shared by every request with a body (Node calls it with `this` = the response). */
function closeIfBodyUnread(this: GatewayResponse): void {
  const req = this.req;
  // An injected request (createGateway().inject) has a socket with nothing to close.
  if (!req.complete && typeof req.socket.destroySoon === 'function') req.socket.destroySoon();
}

function attachUpgradeBody(ctx: RequestContext, socket: import('node:net').Socket, head: Buffer): void {
  const body = new PassThrough();
  let left = ctx.contentLength;
  const feed = (chunk: Buffer) => {
    if (left <= 0) return;
    const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
    left -= part.length;
    body.write(part);
    if (left <= 0) {
      socket.off('data', feed);
      body.end();
    }
  };
  if (head.length > 0) feed(head);
  if (left > 0) socket.on('data', feed);
  (ctx as { req: unknown }).req = Object.assign(body, { headers: ctx.req.headers, socket: ctx.req.socket });
}

/** 'close' listener shared by every request (Node calls it with `this` = the response). */
function onResponseClose(this: GatewayResponse): void {
  const ctx = this.ctx;
  if (ctx === undefined) return;
  this.ctx = undefined;
  let status = this.statusCode;
  // writableEnded too: an HTTP/2 stream the client reset (RST_STREAM, or its session destroyed or
  // sent GOAWAY) makes Http2ServerResponse emit 'finish' and 'close' with writableFinished === true
  // although the gateway never ended it; only `end()` having been called means the answer was whole.
  if (!this.writableFinished || !this.writableEnded) {
    // Client went away (or we aborted): stop the upstream exchange and log 499 as nginx does.
    ctx.abort(new Error('client closed the connection'));
    if (!this.headersSent) status = 499;
  }
  finishRequest(ctx, status);
}

/** Each done hook runs even if another throws (a slot must never leak because of a sibling's bug). */
function runDoneHooks(ctx: RequestContext, hooks: readonly import('../pipeline/types.js').DoneHook[]): void {
  for (const h of hooks) {
    try {
      h(ctx);
    } catch (err) {
      ctx.table.logger.error({ err, requestId: ctx.id, route: ctx.route?.id }, 'done hook failed');
    }
  }
}

function finishRequest(ctx: RequestContext, status: number): void {
  const table = ctx.table;
  const latency = performance.now() - ctx.start;
  const route = ctx.route;
  const stats = route?.stats ?? table.metrics.unrouted;
  stats.record(ctx.method, status, latency / 1000, ctx.upstreamMs < 0 ? -1 : ctx.upstreamMs / 1000, ctx.bytesIn, ctx.bytesOut);
  if (table.accessLog && table.logger.levelVal <= 30) writeAccessLine(rawDestination(table.logger), ctx, status, latency);
  if (route !== undefined && route.logHooks.length > 0 && ctx.response !== undefined) {
    for (const h of route.logHooks) h(ctx as import('../pipeline/types.js').ResponseContext);
  }
  if (route !== undefined && route.doneHooks.length > 0) runDoneHooks(ctx, route.doneHooks);
  table.inflight--;
  table.metrics.inflight--;
  if (table.retired && table.inflight === 0) void table.close();
}

