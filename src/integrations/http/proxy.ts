/**
 * The proxy loop: one undici dispatch per request with a handler object (no per-request closures),
 * streaming both bodies. Uses undici's raw-header handler interface (onHeaders with Buffer pairs),
 * which is what undici's core calls natively, so no header objects are built in between.
 */
import type { Dispatcher } from 'undici';
import { type ErrorCode } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import { runResponseHooks } from '../../pipeline/runner.js';
import { R_STATUS, retryReasonOf } from '../../upstream/retry.js';
import { HOP_BY_HOP, HeaderList, connectionTokens } from '../../util/header-list.js';
import type { RetryState } from './retry.js';

export function upstreamErrorCode(err: unknown): ErrorCode {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
    case 'TURNPIKE_TOTAL_TIMEOUT':
      return 'UPSTREAM_TIMEOUT';
    case 'TURNPIKE_BODY_LIMIT':
      return 'BODY_TOO_LARGE';
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'UND_ERR_DESTROYED':
      return 'UPSTREAM_UNAVAILABLE';
    default:
      if (code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_INFO') return 'UPSTREAM_BAD_RESPONSE';
      // undici 7 builds HTTPParserError with `code` undefined (it indexes llhttp's name->number map
      // with the number), so a response that is not HTTP at all is recognised by the error's name.
      if ((err as { name?: string } | null)?.name === 'HTTPParserError') return 'UPSTREAM_BAD_RESPONSE';
      // TLS failures and anything unknown from the upstream side are a bad gateway, never a hang.
      return 'UPSTREAM_UNAVAILABLE';
  }
}

export class BodyLimitError extends Error {
  readonly code = 'TURNPIKE_BODY_LIMIT';
}

class TotalTimeoutError extends Error {
  readonly code = 'TURNPIKE_TOTAL_TIMEOUT';
}

function onTotalTimeout(handler: ProxyHandler): void {
  handler.timer = undefined;
  if (handler.abortUpstream !== undefined) handler.abortUpstream(new TotalTimeoutError('upstream total timeout'));
  // Still queued in the pool (every connection busy): undici has not handed us an abort yet, so
  // answer now and abort the request the moment it is dispatched (onConnect).
  else handler.expire();
}

const kHandler = Symbol('proxyHandler');
type ResWithHandler = import('node:http').ServerResponse & { [kHandler]?: ProxyHandler };

/** 'drain' listener shared by every request: Node calls it with `this` = the response. */
function onDrain(this: ResWithHandler): void {
  const r = this[kHandler]?.resume;
  if (r !== undefined) r();
}

export class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly ctx: RequestContext;
  readonly sentAt: number;
  abortUpstream: ((err: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  /** Set only for balancers that count requests in flight; finish() reports the end once. */
  upstream: import('../../upstream/upstream.js').Upstream | undefined = undefined;
  target: import('../../upstream/upstream.js').Target | undefined = undefined;
  /** Set only for upstreams with `retries`: the request's shared retry state. */
  retry: RetryState | undefined = undefined;
  /** Why this try is a retry (a RetryReason), -1 for a first try. */
  attemptReason = -1;
  /** The upstream answered with a retried status: its body is read and dropped, then the retry starts. */
  discarding = false;
  /** The upstream's status (0 until headers arrive): the circuit breaker's verdict. */
  status = 0;
  #done = false;

  constructor(ctx: RequestContext, totalMs: number) {
    this.ctx = ctx;
    this.sentAt = performance.now();
    this.timer = setTimeout(onTotalTimeout, totalMs, this);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#done || this.ctx.clientGone) {
      // Timed out while queued, or the client left before a connection was free: never send it.
      abort(new TotalTimeoutError('request expired before it was sent'));
      return;
    }
    this.abortUpstream = abort;
    this.ctx.upstreamAbort = abort;
  }

  /** The total deadline passed before undici dispatched the request. */
  expire(): void {
    this.finish(false, true);
    const ctx = this.ctx;
    if (ctx.clientGone) return;
    ctx.table.logger.warn({ requestId: ctx.id, route: ctx.route?.id }, 'upstream request expired in the pool queue');
    if (!ctx.res.headersSent) ctx.sendError('UPSTREAM_TIMEOUT');
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const ctx = this.ctx;
    this.resume = resume;
    ctx.upstreamMs = performance.now() - this.sentAt;
    if (statusCode < 200) return true; // 1xx informational: not forwarded (100-continue is handled by undici)
    this.status = statusCode;
    const retry = this.retry;
    if (retry !== undefined) {
      const again = retry.isRetryStatus(statusCode);
      if (this.attemptReason >= 0) retry.record(this.attemptReason, !again);
      if (again && retry.may(R_STATUS)) {
        // Nothing of this answer reaches the client; reading it to the end keeps the connection reusable.
        this.discarding = true;
        return true;
      }
    }
    const list: string[] = [];
    let dropTokens: string[] | undefined;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = (rawHeaders[i] as Buffer).toString('latin1').toLowerCase();
      if (HOP_BY_HOP.has(name)) {
        if (name === 'connection') {
          const v = (rawHeaders[i + 1] as Buffer).toString('latin1');
          // 'keep-alive' / 'close' (nearly every response) name no other header: skip the split.
          if (v !== 'keep-alive' && v !== 'close' && v !== 'Keep-Alive' && v !== 'Close') dropTokens = connectionTokens(v);
        }
        continue;
      }
      // The gateway's id is added in writeHead; an upstream echoing it back would make the client see it twice.
      if (name === 'x-request-id') continue;
      list.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
    }
    const headers = new HeaderList(list);
    if (dropTokens !== undefined) for (const t of dropTokens) headers.delete(t);
    ctx.response = { status: statusCode, headers };
    const route = ctx.route;
    if (route !== undefined && route.responseHooks.length > 0) {
      const pending = runResponseHooks(ctx, route.responseHooks);
      if (pending !== undefined) {
        pending.then(
          () => {
            if (this.#done) return;
            if (this.writeHead()) resume();
          },
          (err: unknown) => {
            ctx.table.logger.error({ err, requestId: ctx.id }, 'response hook failed');
            this.abortUpstream?.(err as Error);
          },
        );
        return false; // paused until the hooks finish
      }
    }
    return this.writeHead();
  }

  private writeHead(): boolean {
    const ctx = this.ctx;
    const res = ctx.res;
    const state = ctx.response;
    if (state === undefined || res.destroyed) return false;
    state.headers.list.push('x-request-id', ctx.id);
    try {
      res.writeHead(state.status, state.headers.list);
    } catch (err) {
      // An upstream header Node refuses to send (invalid characters): the answer is a 502, not a crash.
      ctx.table.logger.warn({ err, requestId: ctx.id }, 'upstream sent an invalid header');
      ctx.response = undefined;
      this.finish();
      this.abortUpstream?.(Object.assign(new Error('invalid upstream header'), { code: 'HPE_INVALID_HEADER_TOKEN' }));
      return false;
    }
    // Headers normally go out with the first body chunk (or at end), saving a syscall on small
    // responses; an event stream may wait long for its first event, so its headers go out now.
    const type = state.headers.get('content-type');
    if (type !== undefined && type.startsWith('text/event-stream')) res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    const ctx = this.ctx;
    ctx.bytesOut += chunk.length;
    if (ctx.method === 'HEAD') return true;
    const res = ctx.res as ResWithHandler;
    if (res.write(chunk)) return true;
    res[kHandler] = this;
    res.once('drain', onDrain);
    return false;
  }

  onComplete(): void {
    if (this.discarding) {
      this.finish();
      (this.retry as RetryState).schedule();
      return;
    }
    this.finish();
    const res = this.ctx.res;
    if (!res.headersSent && !res.destroyed) {
      // Completed without headers having been written (should not happen): treat as bad response.
      this.ctx.sendError('UPSTREAM_BAD_RESPONSE');
      return;
    }
    res.end();
  }

  onError(err: Error): void {
    if (this.#done && this.abortUpstream === undefined) return; // expired in the queue: already answered
    const ctx = this.ctx;
    const code = upstreamErrorCode(err);
    // Passive health and the breaker count the upstream's faults only (not a client that left or a body too large).
    const failed = !ctx.clientGone && (code === 'UPSTREAM_TIMEOUT' || code === 'UPSTREAM_UNAVAILABLE');
    const noVerdict = ctx.clientGone || code === 'BODY_TOO_LARGE';
    const retry = this.retry;
    if (retry !== undefined && !ctx.clientGone) {
      if (this.discarding) {
        // The retry was decided when the status arrived; the dropped body failing changes nothing.
        this.finish(false);
        retry.schedule();
        return;
      }
      // A retried try that got headers was judged in onHeaders already.
      if (this.attemptReason >= 0 && this.status === 0) retry.record(this.attemptReason, false);
      const reason = retryReasonOf(err);
      if (reason !== -1 && retry.may(reason)) {
        this.finish(failed);
        retry.schedule();
        return;
      }
    }
    this.finish(failed, noVerdict);
    if (ctx.clientGone) return;
    if (!ctx.res.headersSent) {
      ctx.table.logger.warn({ requestId: ctx.id, route: ctx.route?.id, err: { code: (err as { code?: string }).code, message: err.message } }, 'upstream request failed');
      // The rest of a refused body will not be read: say so instead of promising keep-alive.
      if (code === 'BODY_TOO_LARGE') ctx.res.shouldKeepAlive = false;
      ctx.sendError(code);
    } else {
      // Status line already sent: abort the client connection so a truncated body never looks complete.
      // No error argument: it would surface as a socket 'error' -> the listener's clientError, which
      // would relabel this upstream failure as the client's (BAD_REQUEST) in the access log.
      ctx.errorCode = code;
      ctx.res.destroy();
    }
  }

  private finish(failed = false, noVerdict = false): void {
    this.#done = true;
    const upstream = this.upstream;
    if (upstream !== undefined) {
      this.upstream = undefined;
      upstream.onEnd(this.target as import('../../upstream/upstream.js').Target, failed, this.status, noVerdict);
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.ctx.upstreamAbort = undefined;
  }
}
