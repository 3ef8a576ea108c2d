/**
 * Upstream time limits (docs/proxying.md#timeouts): connect, first byte, idle between body chunks and
 * total. All four are deadlines in the process's deadline queue (src/util/deadline-queue.ts), armed by
 * the pool's connector (connect) and the proxy's handler (the rest); undici's own connect, headers and
 * body timeouts are switched off, because they run on its coarse timers (a 100 ms setting fired after
 * about 1 s).
 */
import { buildConnector, errors } from 'undici';
import { DEADLINES, Deadline, type DeadlineLane, type DeadlineQueue } from '../util/deadline-queue.js';
import type { UpstreamTimeouts } from './upstream.js';

export class TotalTimeoutError extends Error {
  readonly code = 'TURNPIKE_TOTAL_TIMEOUT';
}

export type TimeoutKind = 'connect' | 'firstByte' | 'idle' | 'total';

/** What an upstream timeout error carries for the log: which limit, its setting, how long it ran. */
export interface TimeoutDetail {
  timeout: TimeoutKind;
  limitMs: number;
  elapsedMs: number;
}

/**
 * The error a passed deadline aborts the exchange with. Connect, first-byte and idle timeouts keep
 * undici's classes and codes (UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT),
 * which the error mapping, the retry policy and the logs already tell apart; total is Turnpike's own.
 */
export function upstreamTimeoutError(kind: TimeoutKind, limitMs: number, startedAt: number, now = performance.now()): Error & TimeoutDetail {
  let err: Error;
  switch (kind) {
    case 'connect':
      err = new errors.ConnectTimeoutError(`upstream connect timeout (connectMs ${limitMs})`);
      break;
    case 'firstByte':
      err = new errors.HeadersTimeoutError(`no upstream response headers within firstByteMs (${limitMs})`);
      break;
    case 'idle':
      err = new errors.BodyTimeoutError(`upstream response body idle for idleMs (${limitMs})`);
      break;
    default:
      err = new TotalTimeoutError(`upstream total timeout (totalMs ${limitMs})`);
  }
  return Object.assign(err, { timeout: kind, limitMs, elapsedMs: Math.round((now - startedAt) * 1000) / 1000 });
}

/** A route's upstream time limits as lanes of the deadline queue: resolved once per compiled route. */
export class UpstreamLimits {
  readonly totalMs: number;
  readonly firstByteMs: number;
  /** Infinity when there is no idle limit shorter than totalMs. */
  readonly idleMs: number;
  readonly total: DeadlineLane;
  readonly firstByte: DeadlineLane;
  /** Undefined unless idleMs < totalMs (a longer idle limit could never fire before the total one). */
  readonly idle: DeadlineLane | undefined;

  constructor(t: UpstreamTimeouts, queue: DeadlineQueue = DEADLINES) {
    this.totalMs = t.totalMs;
    this.firstByteMs = t.firstByteMs;
    this.total = queue.lane(t.totalMs);
    this.firstByte = queue.lane(t.firstByteMs);
    const idle = t.idleMs;
    this.idleMs = idle !== undefined && idle < t.totalMs ? idle : Number.POSITIVE_INFINITY;
    this.idle = idle !== undefined && idle < t.totalMs ? queue.lane(idle) : undefined;
  }
}

/** The log fields of a timeout error (none for other errors). */
export function timeoutFields(err: unknown): Partial<TimeoutDetail> {
  const t = err as Partial<TimeoutDetail> | null;
  if (t?.timeout === undefined) return {};
  return { timeout: t.timeout, limitMs: t.limitMs, elapsedMs: t.elapsedMs };
}

/** One connection attempt under its connect deadline. */
class ConnectAttempt {
  readonly deadline: Deadline<ConnectAttempt>;
  readonly limitMs: number;
  socket: { destroy(err?: Error): unknown } | undefined = undefined;
  settled = false;
  callback: buildConnector.Callback;

  constructor(limitMs: number, callback: buildConnector.Callback) {
    this.limitMs = limitMs;
    this.callback = callback;
    this.deadline = new Deadline(onConnectTimeout, this as ConnectAttempt, false);
  }

  done(err: Error | null, socket: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.deadline.cancel();
    if (err !== null) (this.callback as (e: Error, s: null) => void)(err, null);
    else (this.callback as (e: null, s: unknown) => void)(null, socket);
  }
}

function onConnectTimeout(a: ConnectAttempt): void {
  if (a.settled) return;
  // Destroying the socket makes undici's connector report the error (and close what was opened).
  a.socket?.destroy(upstreamTimeoutError('connect', a.limitMs, a.deadline.startedAt));
}

/**
 * undici's connector (TCP, TLS, session cache) with its timeout off and a connect deadline of
 * `connectMs` on the deadline queue instead: a connection not established (TLS handshake included)
 * by then is destroyed with UND_ERR_CONNECT_TIMEOUT, which fails the requests waiting for it. One
 * deadline per connection attempt, none per request: keep-alive connections are reused.
 */
export function timedConnector(options: buildConnector.BuildOptions, connectMs: number, queue: DeadlineQueue = DEADLINES): buildConnector.connector {
  const connect = buildConnector({ ...options, timeout: 0 });
  const lane = queue.lane(connectMs);
  return (opts, callback) => {
    const attempt = new ConnectAttempt(connectMs, callback);
    const socket = connect(opts, (err: Error | null, s: unknown) => attempt.done(err, s));
    // undici types the connector as returning void; it returns the socket it opened.
    attempt.socket = socket as unknown as { destroy(err?: Error): unknown };
    if (!attempt.settled) lane.start(attempt.deadline);
    return socket;
  };
}
