/**
 * One request's retries: allocated only when its upstream has `retries` (the proxy's fast path never
 * sees it). Each try is its own ProxyHandler; this object holds what they share (the path without the
 * target's base path, the headers, the body, the deadline, the targets tried).
 *
 * A retry happens only while nothing has been sent downstream (no status line, no response hook run),
 * never for a method the policy refuses, and never once any byte of a streamed request body has been
 * read (undici reads the body only after the connection is up, so a refused connection leaves it intact).
 */
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../pipeline/context.js';
import { REASONS, type RetryPolicy, type RetryReason } from '../../upstream/retry.js';
import type { Target, Upstream } from '../../upstream/upstream.js';
import { Deadline } from '../../util/deadline-queue.js';
import { type UpstreamLimits, timeoutFields, upstreamTimeoutError } from '../../upstream/timeouts.js';
import { PacedBody } from './paced-body.js';
import { ProxyHandler } from './proxy.js';

function runRetry(state: RetryState): void {
  state.next();
}

function onRetryTotal(state: RetryState): void {
  state.totalExpired();
}

export class RetryState {
  readonly ctx: RequestContext;
  readonly upstream: Upstream;
  readonly policy: RetryPolicy;
  /** Path and query after the target's base path (each target may have its own). */
  readonly relPath: string;
  readonly body: Buffer | Readable | null;
  readonly limits: UpstreamLimits;
  /** performance.now() by which the whole exchange, retries included, must be done (timeouts.totalMs). */
  readonly deadline: number;
  /** The one total deadline of every try and backoff (a try has no total deadline of its own). */
  readonly total: Deadline<RetryState>;
  /** The try in progress (or the last one, during a backoff). */
  current: ProxyHandler | undefined = undefined;
  /** The exchange is over: answered, given up, or the client left. */
  ended = false;
  /** The route's retryNonIdempotent (undefined: the upstream's). */
  readonly nonIdempotent: boolean | undefined;
  /** Indexes of the targets tried, in order. */
  readonly tried: number[] = [];
  retries = 0;
  /** Why the try in progress is a retry (-1 for the first try). */
  reason = -1;

  constructor(
    ctx: RequestContext,
    upstream: Upstream,
    policy: RetryPolicy,
    relPath: string,
    body: Buffer | Readable | null,
    limits: UpstreamLimits,
    nonIdempotent: boolean | undefined,
  ) {
    this.ctx = ctx;
    this.upstream = upstream;
    this.policy = policy;
    this.relPath = relPath;
    this.body = body;
    this.limits = limits;
    this.nonIdempotent = nonIdempotent;
    const now = performance.now();
    this.deadline = now + limits.totalMs;
    this.total = new Deadline(onRetryTotal, this as RetryState, false);
    limits.total.start(this.total, now);
  }

  dispatch(target: Target): void {
    const ctx = this.ctx;
    const upstream = this.upstream;
    this.tried.push(target.index);
    const handler = new ProxyHandler(ctx, this.limits, this);
    const body = this.body;
    if (body !== null && !Buffer.isBuffer(body)) handler.body = body;
    handler.attemptReason = this.reason;
    this.current = handler;
    if (upstream.tracksInflight) {
      upstream.onStart(target);
      handler.upstream = upstream;
      handler.target = target;
    }
    ctx.upstreamTarget = target.origin;
    // The first-byte deadline is firstByteMs; the total one (this.total) cuts it short when it comes first.
    target.pool.dispatch({ origin: target.origin, method: ctx.method, path: target.basePath + this.relPath, headers: ctx.upstreamHeaders.list, body }, handler);
    handler.sending = false;
  }

  /** The exchange is over: the total deadline is no longer needed. Idempotent. */
  end(): void {
    this.ended = true;
    this.total.cancel();
  }

  /** The total deadline passed: abort the try in flight, or answer now during a backoff. */
  totalExpired(): void {
    if (this.ended) return;
    const err = upstreamTimeoutError('total', this.limits.totalMs, this.total.startedAt);
    const h = this.current;
    if (h !== undefined && !h.done) {
      h.timeout(err);
      return;
    }
    this.end();
    const ctx = this.ctx;
    if (ctx.clientGone || ctx.res.headersSent) return;
    ctx.table.logger.warn({ requestId: ctx.id, route: ctx.route?.id, retries: this.retries, ...timeoutFields(err) }, 'upstream total timeout between retries');
    ctx.sendError('UPSTREAM_TIMEOUT');
  }

  /** Whether the body can be sent again: none, buffered, or a stream of which nothing was read. */
  replayable(): boolean {
    const b = this.body;
    if (b === null || Buffer.isBuffer(b)) return true;
    const req = this.ctx.req;
    // A streamed body reads the client only once undici reads it (PacedBody): intact until then.
    // A chunked body is never replayed (its length is unknown until it ends).
    return b instanceof PacedBody && !b.started && this.ctx.contentLength > 0 && !req.readableDidRead && !req.destroyed;
  }

  /**
   * Decides whether a failed try is retried (and takes the retry from the budget). Called before
   * anything of the failed try's answer reaches the client.
   */
  may(reason: RetryReason): boolean {
    const ctx = this.ctx;
    if (this.retries >= this.policy.maxRetries || ctx.clientGone || ctx.res.headersSent || ctx.response !== undefined) return false;
    if (!this.policy.methodAllowed(ctx.method, this.nonIdempotent)) return false;
    if (!this.replayable()) return false;
    if (this.deadline - performance.now() <= 1) return false;
    if (!this.policy.budget.tryRetry()) {
      const stats = this.upstream.stats;
      if (stats !== undefined) stats.budgetExhausted++;
      return false;
    }
    this.retries++;
    this.reason = reason;
    return true;
  }

  /** The retried try in progress ended: `ok` = it got an answer that is not itself a failure. */
  record(reason: number, ok: boolean): void {
    this.upstream.stats?.retry(reason, ok);
  }

  /** Starts the next try after the backoff. */
  schedule(): void {
    const ctx = this.ctx;
    ctx.table.logger.debug(
      { requestId: ctx.id, upstream: this.upstream.name, retry: this.retries, reason: REASONS[this.reason as RetryReason], tried: this.tried },
      'retrying upstream request',
    );
    // Always through a timer, even at 0 ms: the failed try's undici callback must return before the
    // next dispatch (no re-entrant dispatch from inside a handler).
    setTimeout(runRetry, this.policy.backoffMs(this.retries - 1), this);
  }

  next(): void {
    const ctx = this.ctx;
    if (this.ended) return; // the total deadline answered during the backoff
    if (ctx.clientGone) {
      this.end();
      return;
    }
    if (this.deadline - performance.now() <= 1) {
      this.end();
      ctx.sendError('UPSTREAM_TIMEOUT');
      return;
    }
    const t = this.upstream.pickExcluding(ctx, this.tried);
    if (t === undefined) {
      this.end();
      ctx.sendError('SERVICE_UNAVAILABLE');
      return;
    }
    this.dispatch(t);
  }

  isRetryStatus(status: number): boolean {
    const st = this.policy.statuses;
    return st !== undefined && st[status] === 1;
  }
}

