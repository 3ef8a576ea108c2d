/**
 * Circuit breaker per target (closed → open → half-open → closed), kept in typed arrays indexed by
 * target position like the health state, so the balancers skip an open target exactly as they skip
 * an ejected one (through the Upstream's availability mask).
 *
 * Why lazy half-open: an open target's deadline is checked when a target is picked (`tick`, one
 * comparison against the earliest deadline), not by a timer per target, so there is nothing to cancel
 * on reload and the unit tests drive the state machine with an injected clock.
 */
import type { CircuitBreakerConfig } from '../config/schema.js';

export const CLOSED = 0;
export const OPEN = 1;
export const HALF_OPEN = 2;
export type BreakerState = typeof CLOSED | typeof OPEN | typeof HALF_OPEN;
export const STATE_NAMES = ['closed', 'open', 'half-open'] as const;

/** What one exchange with a target said about it. */
export const SUCCESS = 0;
export const FAILURE = 1;
/** No verdict (the client left, the body was too large): frees a half-open probe slot only. */
export const NEUTRAL = 2;
export type Verdict = typeof SUCCESS | typeof FAILURE | typeof NEUTRAL;

export interface BreakerOptions {
  now?: () => number;
  /** Called on every state change (after the change). */
  onTransition?: (index: number, from: BreakerState, to: BreakerState) => void;
  /** Called whenever allow[i] changes (the Upstream folds it into the balancers' mask beside health). */
  onAllow?: (index: number) => void;
}

export class CircuitBreaker {
  /** State per target (CLOSED, OPEN, HALF_OPEN). */
  readonly state: Uint8Array;
  /** 1 = the target may be picked: closed, or half-open with a free probe slot. */
  readonly allow: Uint8Array;
  /** Failure statuses as a lookup table (index = status). */
  readonly failureStatus: Uint8Array;
  readonly #consecutive: number;
  readonly #ratio: number;
  readonly #minRequests: number;
  readonly #windowMs: number;
  readonly #openMs: number;
  readonly #probeLimit: number;
  readonly #fails: Int32Array;
  readonly #winRequests: Int32Array;
  readonly #winFailures: Int32Array;
  readonly #winStart: Float64Array;
  readonly #openUntil: Float64Array;
  readonly #probes: Int32Array;
  /** Earliest openUntil of any open target (Infinity when none is open): tick() is one comparison until then. */
  #nextWake = Number.POSITIVE_INFINITY;
  readonly now: () => number;
  readonly #onTransition: BreakerOptions['onTransition'];
  readonly #onAllow: BreakerOptions['onAllow'];

  constructor(targets: number, config: CircuitBreakerConfig, opts: BreakerOptions = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.#onTransition = opts.onTransition;
    this.#onAllow = opts.onAllow;
    this.#consecutive = config.consecutiveFailures ?? 5;
    this.#ratio = config.failureRatio?.ratio ?? 0;
    this.#minRequests = config.failureRatio?.minRequests ?? 20;
    this.#windowMs = config.failureRatio?.windowMs ?? 10_000;
    this.#openMs = config.openMs ?? 30_000;
    this.#probeLimit = config.halfOpenRequests ?? 1;
    this.failureStatus = new Uint8Array(600);
    for (const s of config.failureStatuses ?? [502, 503, 504]) this.failureStatus[s] = 1;
    this.state = new Uint8Array(targets);
    this.allow = new Uint8Array(targets).fill(1);
    this.#fails = new Int32Array(targets);
    this.#winRequests = new Int32Array(targets);
    this.#winFailures = new Int32Array(targets);
    this.#winStart = new Float64Array(targets);
    this.#openUntil = new Float64Array(targets);
    this.#probes = new Int32Array(targets);
  }

  /** Moves open targets whose openMs has passed to half-open. Hot path: one comparison while none is due. */
  tick(now: number): void {
    if (now < this.#nextWake) return;
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] !== OPEN) continue;
      const until = this.#openUntil[i] as number;
      if (until <= now) {
        this.#probes[i] = 0;
        this.#set(i, HALF_OPEN, 1);
      } else if (until < next) next = until;
    }
    this.#nextWake = next;
  }

  /** The balancer chose target i: a half-open target uses up a probe slot. */
  onPick(i: number): void {
    if (this.state[i] !== HALF_OPEN) return;
    const n = (this.#probes[i] as number) + 1;
    this.#probes[i] = n;
    if (n >= this.#probeLimit) this.#allow(i, 0);
  }

  /** Whether a finished exchange counts as a failure: `failed` (connect failure/timeout) or a failure status. */
  verdict(failed: boolean, status: number, noVerdict: boolean): Verdict {
    if (noVerdict) return NEUTRAL;
    if (failed) return FAILURE;
    return status > 0 && this.failureStatus[status] === 1 ? FAILURE : SUCCESS;
  }

  report(i: number, v: Verdict, now = this.now()): void {
    const st = this.state[i];
    if (st === OPEN) return; // answers of requests sent before it opened say nothing new
    if (st === HALF_OPEN) {
      if (v === NEUTRAL) {
        const n = Math.max(0, (this.#probes[i] as number) - 1);
        this.#probes[i] = n;
        if (n < this.#probeLimit) this.#allow(i, 1);
      } else if (v === SUCCESS) {
        this.#reset(i, now);
        this.#set(i, CLOSED, 1);
      } else this.#open(i, now);
      return;
    }
    if (v === NEUTRAL) return;
    if (this.#ratio > 0 && now - (this.#winStart[i] as number) >= this.#windowMs) {
      this.#winStart[i] = now;
      this.#winRequests[i] = 0;
      this.#winFailures[i] = 0;
    }
    const reqs = (this.#winRequests[i] as number) + 1;
    this.#winRequests[i] = reqs;
    if (v === SUCCESS) {
      this.#fails[i] = 0;
      return;
    }
    const fails = (this.#fails[i] as number) + 1;
    this.#fails[i] = fails;
    const winFails = (this.#winFailures[i] as number) + 1;
    this.#winFailures[i] = winFails;
    if (fails >= this.#consecutive || (this.#ratio > 0 && reqs >= this.#minRequests && winFails / reqs >= this.#ratio)) this.#open(i, now);
  }

  #open(i: number, now: number): void {
    const until = now + this.#openMs;
    this.#openUntil[i] = until;
    if (until < this.#nextWake) this.#nextWake = until;
    this.#probes[i] = 0;
    this.#reset(i, now);
    this.#set(i, OPEN, 0);
  }

  #reset(i: number, now: number): void {
    this.#fails[i] = 0;
    this.#winRequests[i] = 0;
    this.#winFailures[i] = 0;
    this.#winStart[i] = now;
  }

  #set(i: number, to: BreakerState, allow: number): void {
    const from = this.state[i] as BreakerState;
    this.state[i] = to;
    this.#allow(i, allow);
    if (from !== to) this.#onTransition?.(i, from, to);
  }

  #allow(i: number, v: number): void {
    if (this.allow[i] === v) return;
    this.allow[i] = v;
    this.#onAllow?.(i);
  }
}
