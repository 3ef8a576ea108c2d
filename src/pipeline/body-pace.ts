/**
 * How fast a client must send its request body (issue 11, "slow request bodies"): the longest pause
 * between two chunks (`server.limits.bodyIdleTimeoutMs`) and a minimum rate after a grace time
 * (`bodyMinBytesPerSecond`, `bodyMinRateGraceMs`), as Apache's mod_reqtimeout `body=20,MinRate=500`:
 * a body may take the grace time plus one second per `bodyMinBytesPerSecond` bytes received.
 *
 * Only time the gateway spends *waiting for the client* counts. While whoever reads the body is not
 * reading (the upstream pool is busy, the upstream applies backpressure), the clock stops: that
 * slowness is not the client's. The owner says when it waits (`wait`) and when it holds (`hold`);
 * each chunk re-arms the idle deadline (a tail re-arm in the deadline queue, O(1)).
 *
 * HTTP/1.1's `requestTimeoutMs` still bounds the whole request; HTTP/2 streams have no such timer in
 * Node, so these are what bound a stream whose body never ends.
 */
import type { Limits } from '../compile/types.js';
import { DEADLINES, Deadline, type DeadlineLane } from '../util/deadline-queue.js';

/** A client too slow with its body: answered 408 REQUEST_TIMEOUT, the connection closed. */
export class BodyTimeoutError extends Error {
  readonly code = 'TURNPIKE_CLIENT_BODY_TIMEOUT';
}

/** Who is told when the pace is broken (the idle deadline passed). */
export interface PaceOwner {
  paceFailed(err: BodyTimeoutError): void;
}

function onIdle(pace: BodyPace): void {
  pace.expired();
}

export class BodyPace {
  readonly #owner: PaceOwner;
  readonly #idleMs: number;
  /** Undefined when bodyIdleTimeoutMs is 0 (off). */
  readonly #lane: DeadlineLane | undefined;
  readonly #minRate: number;
  readonly #graceMs: number;
  readonly #deadline: Deadline<BodyPace>;
  #received = 0;
  /** Milliseconds spent waiting for the client so far (closed intervals). */
  #clientMs = 0;
  /** performance.now() when the current wait began; -1 while not waiting. */
  #since = -1;
  #ended = false;

  constructor(owner: PaceOwner, limits: Limits) {
    this.#owner = owner;
    this.#idleMs = limits.bodyIdleTimeoutMs;
    this.#lane = this.#idleMs > 0 ? DEADLINES.lane(this.#idleMs) : undefined;
    this.#minRate = limits.bodyMinBytesPerSecond;
    this.#graceMs = limits.bodyMinRateGraceMs;
    this.#deadline = new Deadline(onIdle, this as BodyPace, false);
  }

  /** The reader wants data: the client's clock runs. */
  wait(now = performance.now()): void {
    if (this.#ended || this.#since >= 0) return;
    this.#since = now;
    this.#lane?.start(this.#deadline, now);
  }

  /** The reader stopped reading (backpressure): not the client's time. */
  hold(now = performance.now()): void {
    if (this.#since < 0) return;
    this.#clientMs += now - this.#since;
    this.#since = -1;
    this.#deadline.cancel();
  }

  /** A chunk arrived; returns the error when the body has fallen below the minimum rate. */
  chunk(n: number, now = performance.now()): BodyTimeoutError | undefined {
    this.#received += n;
    if (this.#since >= 0) {
      this.#clientMs += now - this.#since;
      this.#since = now;
      this.#lane?.start(this.#deadline, now);
    }
    if (this.#minRate > 0 && this.#clientMs > this.#graceMs + (this.#received * 1000) / this.#minRate) {
      this.end();
      return new BodyTimeoutError(
        `request body slower than bodyMinBytesPerSecond (${this.#minRate}): ${this.#received} bytes in ${Math.round(this.#clientMs)} ms`,
      );
    }
    return undefined;
  }

  /** The body ended (or was abandoned): disarm. */
  end(): void {
    this.#ended = true;
    this.#since = -1;
    this.#deadline.cancel();
  }

  /** @internal the idle deadline passed. */
  expired(): void {
    if (this.#ended) return;
    this.end();
    this.#owner.paceFailed(new BodyTimeoutError(`no request body bytes for bodyIdleTimeoutMs (${this.#idleMs})`));
  }
}
