/**
 * In-process counters: the embedded default. Exact within one process; with --workers N each worker
 * has its own (the traffic-control work moves shared counting to the primary or Redis).
 * Entries expire lazily and by a periodic sweep so idle keys do not accumulate.
 */
import type { CounterStore, SlotResult, TokenBucketResult, WindowResult } from './types.js';

interface Bucket {
  tokens: number;
  updatedMs: number;
  expiresMs: number;
}
interface Window {
  startMs: number;
  count: number;
  prevCount: number;
  expiresMs: number;
}

export class MemoryCounterStore implements CounterStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #windows = new Map<string, Window>();
  /** Slots held per key; a key is dropped at zero, so no sweep is needed. */
  readonly #slots = new Map<string, number>();
  readonly #now: () => number;
  readonly #sweep: NodeJS.Timeout;

  constructor(now: () => number = Date.now, sweepMs = 60_000) {
    this.#now = now;
    this.#sweep = setInterval(() => this.sweep(), sweepMs);
    this.#sweep.unref();
  }

  takeToken(key: string, rate: number, burst: number, cost = 1): TokenBucketResult {
    const now = this.#now();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, updatedMs: now, expiresMs: 0 };
      this.#buckets.set(key, b);
    } else if (rate > 0) {
      b.tokens = Math.min(burst, b.tokens + ((now - b.updatedMs) / 1000) * rate);
      b.updatedMs = now;
    }
    // A bucket refilled to burst is indistinguishable from a new one: it may be dropped after that.
    b.expiresMs = now + (rate > 0 ? Math.ceil((burst / rate) * 1000) : 3_600_000);
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { allowed: true, remaining: Math.floor(b.tokens), retryAfterMs: 0 };
    }
    const retryAfterMs = rate > 0 ? Math.ceil(((cost - b.tokens) / rate) * 1000) : Number.POSITIVE_INFINITY;
    return { allowed: false, remaining: Math.floor(b.tokens), retryAfterMs };
  }

  incrementWindow(key: string, windowStartMs: number, windowMs: number, limit: number, cost = 1): WindowResult {
    let w = this.#windows.get(key);
    if (w === undefined || w.startMs !== windowStartMs) {
      w = { startMs: windowStartMs, count: 0, prevCount: 0, expiresMs: windowStartMs + windowMs };
      this.#windows.set(key, w);
    }
    const resetAtMs = windowStartMs + windowMs;
    if (w.count + cost > limit) return { allowed: false, count: w.count, remaining: Math.max(0, limit - w.count), resetAtMs };
    w.count += cost;
    return { allowed: true, count: w.count, remaining: limit - w.count, resetAtMs };
  }

  incrementSliding(key: string, windowMs: number, limit: number, cost = 1): WindowResult {
    const now = this.#now();
    // Hot path: not `now - (now % windowMs)`. An epoch in ms is past the small-integer range, so `%` is a
    // floating-point remainder, which V8 compiles to a call into C (fmod); division, floor and product are
    // three instructions, and exact here (quotient and divisor together need far fewer than 53 bits).
    const start = Math.floor(now / windowMs) * windowMs;
    let w = this.#windows.get(key);
    if (w === undefined) {
      w = { startMs: start, count: 0, prevCount: 0, expiresMs: start + 2 * windowMs };
      this.#windows.set(key, w);
    } else if (w.startMs !== start) {
      // One window later the current count becomes the previous one; further apart, both are stale.
      w.prevCount = start - w.startMs === windowMs ? w.count : 0;
      w.count = 0;
      w.startMs = start;
      w.expiresMs = start + 2 * windowMs;
    }
    const weight = (windowMs - (now - start)) / windowMs;
    const estimated = w.prevCount * weight + w.count;
    const resetAtMs = start + windowMs;
    if (estimated + cost > limit) return { allowed: false, count: Math.ceil(estimated), remaining: Math.max(0, Math.floor(limit - estimated)), resetAtMs };
    w.count += cost;
    return { allowed: true, count: Math.ceil(estimated + cost), remaining: Math.max(0, Math.floor(limit - estimated - cost)), resetAtMs };
  }

  acquireSlot(key: string, max: number): SlotResult {
    const n = this.#slots.get(key) ?? 0;
    if (n >= max) return { allowed: false, inFlight: n };
    this.#slots.set(key, n + 1);
    return { allowed: true, inFlight: n + 1 };
  }

  releaseSlot(key: string): void {
    const n = this.#slots.get(key);
    if (n === undefined) return;
    if (n <= 1) this.#slots.delete(key);
    else this.#slots.set(key, n - 1);
  }

  sweep(): void {
    const now = this.#now();
    for (const [k, b] of this.#buckets) if (b.expiresMs <= now) this.#buckets.delete(k);
    for (const [k, w] of this.#windows) if (w.expiresMs <= now) this.#windows.delete(k);
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#buckets.clear();
    this.#windows.clear();
    this.#slots.clear();
  }
}
