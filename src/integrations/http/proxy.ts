/**
 * The proxy loop: one undici dispatch per request with a handler object (no per-request closures),
 * streaming both bodies. Uses undici's raw-header handler interface (onHeaders with Buffer pairs),
 * which is what undici's core calls natively, so no header objects are built in between.
 *
 * Time limits (docs/proxying.md#timeouts) are Turnpike's own deadlines in the process's deadline
 * queue (src/util/deadline-queue.ts), not undici's: undici's headers and body timeouts are off
 * (its coarse timers fired up to ~1 s late), and a deadline that passes aborts the exchange through
 * the abort function undici hands to onConnect. Per exchange: `total` (armed when the request is
 * handed to the pool) and one `phase` entry that is the first-byte deadline from onConnect to the
 * response headers, then the idle deadline between body chunks (only when idleMs < totalMs: a
 * longer idle limit could never fire first, so it costs nothing). The connect timeout belongs to the
 * connection, not the request: the pool's connector arms it (src/upstream/upstream.ts).
 */
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import { runResponseHooks } from '../../pipeline/runner.js';
import { R_STATUS, retryReasonOf } from '../../upstream/retry.js';
import { TotalTimeoutError, type UpstreamLimits, timeoutFields, upstreamTimeoutError } from '../../upstream/timeouts.js';
import { Deadline } from '../../util/deadline-queue.js';
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
    case 'TURNPIKE_CLIENT_BODY_TIMEOUT':
      return 'REQUEST_TIMEOUT';
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

/** What the handler's phase deadline is timing. */
const PHASE_FIRST_BYTE = 1;
const PHASE_IDLE = 2;

function onTotalTimeout(handler: ProxyHandler): void {
  handler.timeout(upstreamTimeoutError('total', handler.limits.totalMs, handler.sentAt));
}

function onPhaseTimeout(handler: ProxyHandler): void {
  handler.phaseExpired();
}

const kHandler = Symbol('proxyHandler');
type ResWithHandler = import('node:http').ServerResponse & { [kHandler]?: ProxyHandler };

/** 'drain' listener shared by every request: Node calls it with `this` = the response. */
function onDrain(this: ResWithHandler): void {
  this[kHandler]?.resumeUpstream();
}

export class ProxyHandler implements Dispatcher.DispatchHandler {
  readonly ctx: RequestContext;
  readonly limits: UpstreamLimits;
  /** performance.now() when the request was handed to the pool (the total limit's start). */
  readonly sentAt: number;
  abortUpstream: ((err: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  /** The total deadline; undefined for a retried exchange, whose RetryState holds one for every try. */
  readonly total: Deadline<ProxyHandler> | undefined;
  /** First-byte deadline until the response headers, then the idle deadline (PHASE_*). */
  readonly phase: Deadline<ProxyHandler>;
  phaseKind = 0;
  /**
   * True while the integration is inside pool.dispatch(): an idle keep-alive connection calls
   * onConnect synchronously there, so sentAt is still "now" and the first-byte deadline needs no
   * clock read of its own.
   */
  sending = true;
  /** The request body when it is streamed (a first-byte deadline waits for its end; see phaseExpired). */
  body: Readable | null = null;
  /** Set only for balancers that count requests in flight; finish() reports the end once. */
  upstream: import('../../upstream/upstream.js').Upstream | undefined = undefined;
  target: import('../../upstream/upstream.js').Target | undefined = undefined;
  /** Set only for upstreams with `retries`: the request's shared retry state. */
  retry: RetryState | undefined = undefined;
  /** This try failed and another one follows: finish() leaves the retry state's total deadline armed. */
  retrying = false;
  /** Why this try is a retry (a RetryReason), -1 for a first try. */
  attemptReason = -1;
  /** The upstream answered with a retried status: its body is read and dropped, then the retry starts. */
  discarding = false;
  /** The upstream's status (0 until headers arrive): the circuit breaker's verdict. */
  status = 0;
  #done = false;

  constructor(ctx: RequestContext, limits: UpstreamLimits, retry?: RetryState) {
    this.ctx = ctx;
    this.limits = limits;
    const now = performance.now();
    this.sentAt = now;
    this.phase = new Deadline(onPhaseTimeout, this as ProxyHandler, false);
    if (retry === undefined) {
      const total = new Deadline(onTotalTimeout, this as ProxyHandler, false);
      limits.total.start(total, now);
      this.total = total;
    } else {
      this.retry = retry;
      this.total = undefined;
    }
  }

  get done(): boolean {
    return this.#done;
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#done || this.ctx.clientGone) {
      // Timed out while queued, or the client left before a connection was free: never send it.
      // Thrown, not abort()ed: undici's abort destroys the connection even before the request is
      // written, so a flood of abandoned requests (HTTP/2 HEADERS + RST_STREAM) queued behind a small
      // pool would cost a reconnect each; a throw here fails only this request (undici calls
      // onError and drops it from the queue) and the idle connection serves the next one.
      throw new TotalTimeoutError(this.#done ? 'request expired before it was sent' : 'client went away before the request was sent');
    }
    this.abortUpstream = abort;
    this.ctx.upstreamAbort = abort;
    this.phaseKind = PHASE_FIRST_BYTE;
    this.limits.firstByte.start(this.phase, this.sending ? this.sentAt : performance.now());
  }

  /** A deadline passed (total, or the retry state's): abort the exchange, or answer if it is still queued. */
  timeout(err: Error): void {
    if (this.#done) return;
    const abort = this.abortUpstream;
    if (abort !== undefined) abort(err);
    // Still queued in the pool (every connection busy): undici has not handed us an abort yet, so
    // answer now and abort the request the moment it is dispatched (onConnect).
    else this.expire(err);
  }

  /** The first-byte or idle deadline passed. */
  phaseExpired(): void {
    if (this.#done) return;
    if (this.phaseKind === PHASE_FIRST_BYTE) {
      // As undici's headers timeout: not while the request body is still going out at the client's
      // pace (a slow upload is the client's, bounded by server.limits.requestTimeoutMs); the limit
      // starts again when the body has been read to its end. A body paused because the upstream is
      // not reading it does not stop the deadline.
      const body = this.body;
      if (body !== null && !body.readableEnded && !body.destroyed && !body.isPaused()) {
        body.once('end', () => {
          if (!this.#done && this.phaseKind === PHASE_FIRST_BYTE && !this.phase.armed) this.limits.firstByte.start(this.phase);
        });
        return;
      }
      this.timeout(upstreamTimeoutError('firstByte', this.limits.firstByteMs, this.phase.startedAt));
    } else if (this.phaseKind === PHASE_IDLE) {
      this.timeout(upstreamTimeoutError('idle', this.limits.idleMs, this.phase.startedAt));
    }
  }

  /** The total deadline passed before undici dispatched the request. */
  expire(err: Error): void {
    this.finish(false, true);
    const ctx = this.ctx;
    if (ctx.clientGone) return;
    ctx.table.logger.warn({ requestId: ctx.id, route: ctx.route?.id, ...timeoutFields(err) }, 'upstream request expired in the pool queue');
    if (!ctx.res.headersSent) ctx.sendError('UPSTREAM_TIMEOUT');
  }

  /** Starts (or restarts) the idle deadline: the response is flowing to the client. */
  #armIdle(now: number): void {
    const idle = this.limits.idle;
    if (idle === undefined) return;
    this.phaseKind = PHASE_IDLE;
    idle.start(this.phase, now);
  }

  /** After backpressure or response hooks: read from the upstream again (undici's resume). */
  resumeUpstream(): void {
    const r = this.resume;
    if (r === undefined || this.#done) return;
    this.#armIdle(performance.now());
    r();
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    const ctx = this.ctx;
    this.resume = resume;
    const now = performance.now();
    ctx.upstreamMs = now - this.sentAt;
    if (statusCode < 200) return true; // 1xx informational: not forwarded (100-continue is handled by undici)
    this.phase.cancel();
    this.phaseKind = 0;
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
            if (this.writeHead()) this.resumeUpstream();
          },
          (err: unknown) => {
            ctx.table.logger.error({ err, requestId: ctx.id }, 'response hook failed');
            this.abortUpstream?.(err as Error);
          },
        );
        return false; // paused until the hooks finish
      }
    }
    if (!this.writeHead()) return false;
    this.#armIdle(now);
    return true;
  }

  private writeHead(): boolean {
    const ctx = this.ctx;
    const res = ctx.res;
    const state = ctx.response;
    if (res.destroyed) {
      // The client is gone (its 'close' may not have run yet): never leave the exchange paused on it.
      ctx.abort(new Error('client closed the connection'));
      return false;
    }
    if (state === undefined) return false;
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
    if (type?.startsWith('text/event-stream')) res.flushHeaders();
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true;
    const ctx = this.ctx;
    ctx.bytesOut += chunk.length;
    if (ctx.method === 'HEAD') return true;
    const res = ctx.res as ResWithHandler;
    const idle = this.limits.idle;
    if (res.write(chunk)) {
      if (idle !== undefined) idle.start(this.phase);
      return true;
    }
    if (res.destroyed) {
      // A destroyed response never emits 'drain': waiting for it would pin the upstream connection.
      ctx.abort(new Error('client closed the connection'));
      return false;
    }
    // Paused for the client: the upstream's silence from now on is ours, not an idle upstream.
    if (idle !== undefined) this.phase.cancel();
    res[kHandler] = this;
    res.once('drain', onDrain);
    return false;
  }

  onComplete(): void {
    if (this.discarding) {
      this.retrying = true;
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
    // A body too large or too slow is the client's fault, never the upstream's.
    const noVerdict = ctx.clientGone || code === 'BODY_TOO_LARGE' || code === 'REQUEST_TIMEOUT';
    const retry = this.retry;
    if (retry !== undefined && !ctx.clientGone) {
      if (this.discarding) {
        // The retry was decided when the status arrived; the dropped body failing changes nothing.
        this.retrying = true;
        this.finish(false);
        retry.schedule();
        return;
      }
      // A retried try that got headers was judged in onHeaders already.
      if (this.attemptReason >= 0 && this.status === 0) retry.record(this.attemptReason, false);
      const reason = retryReasonOf(err);
      if (reason !== -1 && retry.may(reason)) {
        this.retrying = true;
        this.finish(failed);
        retry.schedule();
        return;
      }
    }
    this.finish(failed, noVerdict);
    if (ctx.clientGone) return;
    const logged = { requestId: ctx.id, route: ctx.route?.id, err: { code: (err as { code?: string }).code, message: err.message }, ...timeoutFields(err) };
    if (!ctx.res.headersSent) {
      ctx.table.logger.warn(logged, 'upstream request failed');
      // The rest of a refused body will not be read: say so instead of promising keep-alive.
      if (code === 'BODY_TOO_LARGE' || code === 'REQUEST_TIMEOUT') ctx.res.shouldKeepAlive = false;
      ctx.sendError(code);
    } else {
      if (code === 'UPSTREAM_TIMEOUT') ctx.table.logger.warn(logged, 'upstream response timed out after its headers were sent');
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
    this.total?.cancel();
    this.phase.cancel();
    const retry = this.retry;
    if (retry !== undefined && !this.retrying) retry.end();
    this.ctx.upstreamAbort = undefined;
  }
}
