/**
 * Shared-state contracts. The embedded default keeps counters in process memory; cluster mode
 * (Redis) implements the same interfaces, so plugins never know which one they use.
 * Results may be synchronous (memory) or promises (Redis): callers must accept both.
 */

export interface TokenBucketResult {
  allowed: boolean;
  /** Whole tokens left after this take. */
  remaining: number;
  /** When refused: ms until `cost` tokens are available again; 0 when allowed. */
  retryAfterMs: number;
}

export interface WindowResult {
  allowed: boolean;
  /** Count in the window after this call (refused calls are not counted). */
  count: number;
  remaining: number;
  /** Epoch ms at which the current window ends. */
  resetAtMs: number;
}

export interface SlotResult {
  allowed: boolean;
  /** Slots of the key held after this call (refused calls take none). */
  inFlight: number;
  /** Set by stores that release by acquisition rather than by key (the cluster primary's): pass it back to releaseSlot. */
  ticket?: number;
}

export interface CounterStore {
  /**
   * Token bucket with AWS API Gateway throttling semantics: the bucket holds up to `burst` tokens and
   * refills at `rate` tokens per second; a request takes `cost` (default 1) tokens or is refused.
   */
  takeToken(key: string, rate: number, burst: number, cost?: number): TokenBucketResult | Promise<TokenBucketResult>;
  /**
   * Fixed window (quotas: per day/week/month with AWS's reset semantics): the caller computes the
   * window from its calendar rules and passes its start and length; the counter resets with the window.
   */
  incrementWindow(key: string, windowStartMs: number, windowMs: number, limit: number, cost?: number): WindowResult | Promise<WindowResult>;
  /** Sliding window counter (Kong semantics): weighted previous window + current window. */
  incrementSliding(key: string, windowMs: number, limit: number, cost?: number): WindowResult | Promise<WindowResult>;
  /**
   * Concurrency slot (concurrency-limit): takes one of `max` slots of `key`, or is refused. Optional:
   * only the in-memory store and the cluster primary's store (which forwards to it) count slots; a slot
   * is only meaningful while its holder lives, which a shared store across nodes (Redis) cannot see.
   */
  acquireSlot?(key: string, max: number): SlotResult | Promise<SlotResult>;
  /**
   * Gives back a slot taken by acquireSlot (pass its result's `ticket`). Fire-and-forget; never goes
   * below zero, so a stray release cannot open more than `max` slots.
   */
  releaseSlot?(key: string, ticket?: number): void;
  /**
   * The deadline the config sets for this store's calls (undefined: the store's default). Only stores
   * whose deadline is a per-node setting take it (a cluster worker's link to its primary).
   */
  configureDeadline?(ms: number | undefined): void;
  close(): Promise<void>;
}

/**
 * Thrown (as a rejection) when a shared store cannot answer in time or answers with an error: Redis,
 * or the cluster primary's store reached from a worker. Plugins catch it and apply their fallback.
 */
export class CounterStoreUnavailable extends Error {
  readonly code = 'COUNTER_STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CounterStoreUnavailable';
  }
}
