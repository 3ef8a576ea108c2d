/**
 * Retry policy of one upstream, compiled once per config: which failures and methods are retried,
 * the retry budget and the backoff. The proxy (src/integrations/http/proxy.ts) asks it only on a
 * failure path; an upstream without `retries` has no policy and the proxy never looks.
 */
import type { RetriesConfig } from '../config/schema.js';

export const IDEMPOTENT = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] as const;

/** Why a retry was attempted: the `reason` label. */
export const REASONS = ['connect_failure', 'reset', 'connect_timeout', 'status'] as const;
export type RetryReason = 0 | 1 | 2 | 3;
export const R_CONNECT_FAILURE = 0;
export const R_RESET = 1;
export const R_CONNECT_TIMEOUT = 2;
export const R_STATUS = 3;

/**
 * The retry reason for an undici error, or -1 when the error is not retried. Only failures where the
 * upstream cannot have answered: refused/unreachable, reset or closed before any response byte, connect
 * timeout. A first-byte timeout is not retried: the upstream may be working on the request.
 */
export function retryReasonOf(err: unknown): RetryReason | -1 {
  switch ((err as { code?: string } | null)?.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return R_CONNECT_FAILURE;
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return R_RESET;
    case 'UND_ERR_CONNECT_TIMEOUT':
      return R_CONNECT_TIMEOUT;
    default:
      return -1;
  }
}

const WINDOW_BUCKETS = 10;
const BUCKET_MS = 1_000;

/**
 * Retry budget: retries over the last 10 s may be at most `percent` of the requests in that window,
 * or `minPerSecond * 10`, whichever is larger (Envoy's retry budget expressed as a share of traffic
 * rather than of concurrency: it bounds the extra load a failing upstream gets from retries, which is
 * what a budget is for, and it is testable with sequential requests). Ten one-second buckets in a ring.
 */
export class RetryBudget {
  readonly #percent: number;
  readonly #floor: number;
  readonly #now: () => number;
  readonly #requests = new Int32Array(WINDOW_BUCKETS);
  readonly #retries = new Int32Array(WINDOW_BUCKETS);
  #totalRequests = 0;
  #totalRetries = 0;
  /** Index of the current one-second bucket (floor(now / 1000)). */
  #second = -1;

  constructor(percent: number, minPerSecond: number, now: () => number = Date.now) {
    this.#percent = percent / 100;
    this.#floor = minPerSecond * WINDOW_BUCKETS;
    this.#now = now;
  }

  #advance(): number {
    const sec = Math.floor(this.#now() / BUCKET_MS);
    const prev = this.#second;
    if (sec !== prev) {
      const steps = prev < 0 ? WINDOW_BUCKETS : Math.min(WINDOW_BUCKETS, sec - prev);
      for (let k = 1; k <= steps; k++) {
        const b = (((sec - steps + k) % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
        this.#totalRequests -= this.#requests[b] as number;
        this.#totalRetries -= this.#retries[b] as number;
        this.#requests[b] = 0;
        this.#retries[b] = 0;
      }
      this.#second = sec;
    }
    return ((sec % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
  }

  /** A request (its first try) went to the upstream. */
  onRequest(): void {
    const b = this.#advance();
    this.#requests[b] = (this.#requests[b] as number) + 1;
    this.#totalRequests++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    const b = this.#advance();
    const allowed = Math.max(this.#floor, this.#percent * this.#totalRequests);
    if (this.#totalRetries + 1 > allowed) return false;
    this.#retries[b] = (this.#retries[b] as number) + 1;
    this.#totalRetries++;
    return true;
  }

  /** [requests, retries] in the window (tests, admin). */
  snapshot(): [number, number] {
    this.#advance();
    return [this.#totalRequests, this.#totalRetries];
  }
}

export class RetryPolicy {
  readonly maxRetries: number;
  /** Retried statuses as a lookup table (index = status); undefined when no status is retried. */
  readonly statuses: Uint8Array | undefined;
  readonly #methods: ReadonlySet<string> | undefined;
  readonly retryNonIdempotent: boolean;
  readonly budget: RetryBudget;
  readonly baseMs: number;
  readonly maxMs: number;
  readonly #random: () => number;

  constructor(config: RetriesConfig, now?: () => number, random: () => number = Math.random) {
    this.maxRetries = config.maxRetries ?? 1;
    const st = config.statuses ?? [];
    if (st.length > 0) {
      this.statuses = new Uint8Array(600);
      for (const s of st) this.statuses[s] = 1;
    }
    this.retryNonIdempotent = config.retryNonIdempotent ?? false;
    // undefined = any method (retryNonIdempotent without a list).
    this.#methods = config.methods !== undefined ? new Set(config.methods) : this.retryNonIdempotent ? undefined : new Set(IDEMPOTENT);
    this.budget = new RetryBudget(config.budget?.percent ?? 20, config.budget?.minPerSecond ?? 3, now);
    this.baseMs = config.backoff?.baseMs ?? 25;
    this.maxMs = Math.max(this.baseMs, config.backoff?.maxMs ?? 250);
    this.#random = random;
  }

  /**
   * Whether `method` may be retried. `nonIdempotent` is the route's override of retryNonIdempotent
   * (undefined: the upstream's). Idempotent methods are never refused by the override.
   */
  methodAllowed(method: string, nonIdempotent: boolean | undefined): boolean {
    const idempotent = (IDEMPOTENT as readonly string[]).includes(method);
    const mayNonIdempotent = nonIdempotent ?? this.retryNonIdempotent;
    if (!idempotent && !mayNonIdempotent) return false;
    if (this.#methods === undefined) return true;
    // A route that opts in covers every method; the list limits only the upstream-wide default.
    return this.#methods.has(method) || (!idempotent && nonIdempotent === true);
  }

  /** Fully jittered exponential backoff: uniform in [0, min(maxMs, baseMs * 2^n)) for the (n+1)-th retry. */
  backoffMs(n: number): number {
    return Math.floor(this.#random() * Math.min(this.maxMs, this.baseMs * 2 ** n));
  }
}

/** Non-idempotent methods listed in retries.methods without retryNonIdempotent: the compiler rejects them. */
export function nonIdempotentListed(config: RetriesConfig): string[] {
  if (config.retryNonIdempotent === true) return [];
  return (config.methods ?? []).filter((m) => !(IDEMPOTENT as readonly string[]).includes(m));
}
