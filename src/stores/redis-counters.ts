/**
 * Cluster-wide counters in Redis (node-redis v6). Each operation is ONE Lua script run atomically on
 * the server (EVALSHA, falling back to EVAL when the script cache does not have it), so one round
 * trip per call and exact counting however many gateway processes share the server.
 *
 * Time comes from the Redis server (`TIME`) rather than each gateway's clock, so nodes with skewed
 * clocks still agree on buckets and windows. Keys are namespaced (`turnpike:` + optional prefix)
 * and carry TTLs so idle keys disappear.
 *
 * Every call has a deadline (default 50 ms). On a Redis error, a disconnected client or a missed
 * deadline the call rejects with `CounterStoreUnavailable`; the caller decides the fallback. The
 * client never queues commands while disconnected (disableOfflineQueue), so nothing piles up.
 */
import { createHash } from 'node:crypto';
import type { createClient } from 'redis';
import { DEADLINES, Deadline, type DeadlineLane, type DeadlineQueue, raceDeadline } from '../util/deadline-queue.js';
import { lazyModule } from '../util/lazy.js';
import { type CounterStore, CounterStoreUnavailable, type TokenBucketResult, type WindowResult } from './types.js';

export { CounterStoreUnavailable } from './types.js';

export interface RedisCounterStoreOptions {
  /** redis://[user:pass@]host:port[/db] or rediss:// for TLS. */
  url: string;
  /** Extra namespace after `turnpike:` (tests use a unique one per run). */
  prefix?: string;
  /** Per-call deadline in ms (default 50). */
  timeoutMs?: number;
  /** Connect timeout for each (re)connection attempt in ms (default 1000). */
  connectTimeoutMs?: number;
  /** Calls sent and not yet answered (the deadline does not cancel them) beyond which calls fail fast (default 10,000). */
  maxInflight?: number;
  /** Called for client errors (connection lost, refused...); the store itself never throws from them. */
  onError?: (err: Error) => void;
  /** Where the call deadlines are armed (default: the process's queue; tests pass their own). */
  queue?: DeadlineQueue;
}

// Server time in ms. Redis >= 5 replicates script effects, so TIME before writes is allowed.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] bucket hash; ARGV rate, burst, cost. Returns {allowed, remaining, retryAfterMs (-1 = never)}. */
const TOKEN_BUCKET = `${NOW}
local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2]) local cost = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local tokens = tonumber(v[1]) local ts = tonumber(v[2])
if tokens == nil or ts == nil then tokens = burst ts = now
elseif rate > 0 then
  local elapsed = now - ts
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tokens + elapsed / 1000 * rate) ts = now
end
local ttl = 3600000
if rate > 0 then ttl = math.ceil(burst / rate * 1000) + 1000 end
local allowed = 0 local retry = 0
if tokens >= cost then tokens = tokens - cost allowed = 1
elseif rate > 0 then retry = math.ceil((cost - tokens) / rate * 1000)
else retry = -1 end
redis.call('HSET', KEYS[1], 'tk', string.format('%.17g', tokens), 'ts', ts)
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, math.floor(tokens), retry}`;

/** KEYS[1] counter of this window; ARGV windowEndMs, limit, cost. Returns {allowed, count}. */
const FIXED_WINDOW = `
local endMs = tonumber(ARGV[1]) local limit = tonumber(ARGV[2]) local cost = tonumber(ARGV[3])
local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c + cost > limit then return {0, c} end
c = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIREAT', KEYS[1], endMs + 60000)
return {1, c}`;

/** KEYS[1] window hash; ARGV windowMs, limit, cost. Returns {allowed, count, remaining, resetAtMs}. */
const SLIDING_WINDOW = `${NOW}
local w = tonumber(ARGV[1]) local limit = tonumber(ARGV[2]) local cost = tonumber(ARGV[3])
local start = now - (now % w)
local v = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s = tonumber(v[1]) local c = tonumber(v[2]) or 0 local p = tonumber(v[3]) or 0
if s == nil then s = start c = 0 p = 0
elseif s ~= start then
  if start - s == w then p = c else p = 0 end
  c = 0 s = start
end
local est = p * ((w - (now - start)) / w) + c
local reset = start + w
if est + cost > limit then
  redis.call('HSET', KEYS[1], 's', s, 'c', c, 'p', p)
  redis.call('PEXPIREAT', KEYS[1], start + 2 * w)
  local rem = math.floor(limit - est) if rem < 0 then rem = 0 end
  return {0, math.ceil(est), rem, reset}
end
c = c + cost
redis.call('HSET', KEYS[1], 's', s, 'c', c, 'p', p)
redis.call('PEXPIREAT', KEYS[1], start + 2 * w)
local rem = math.floor(limit - est - cost) if rem < 0 then rem = 0 end
return {1, math.ceil(est + cost), rem, reset}`;

interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { bucket: script(TOKEN_BUCKET), fixed: script(FIXED_WINDOW), sliding: script(SLIDING_WINDOW) };

type Client = ReturnType<typeof createClient>;
// node-redis is ~450 modules: loaded when the first store is made, i.e. only by configs that use Redis.
const redis = lazyModule<typeof import('redis')>('redis', import.meta.url);

/**
 * A call waiting for Redis, armed as a deadline in the process's deadline queue
 * (src/util/deadline-queue.ts): one Node timer for every time limit of the process, arming an append
 * to a lane of this call's timeout and settling an unlink (a setTimeout + clearTimeout per call cost
 * ~0.6 CPU-µs of the ~3.4 per call in bench/redis-counters-micro.mjs). Settled once: by the reply,
 * by an error or by its deadline, whichever comes first; later outcomes are ignored (the reply of a
 * call that missed its deadline is dropped).
 */
class PendingCall extends Deadline<PendingCall> {
  readonly promise: Promise<number[]>;
  /** For the error message (the lane is unlinked by the time it fires). */
  readonly timeoutMs: number;
  settled = false;
  #resolve!: (v: number[]) => void;
  #reject!: (e: Error) => void;

  constructor(timeoutMs: number) {
    // Not ref'd: a call in flight never keeps the process alive on its own (the client's socket decides).
    super(expire, undefined as unknown as PendingCall, false);
    this.arg = this;
    this.timeoutMs = timeoutMs;
    this.promise = new Promise<number[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  resolve(v: number[]): void {
    if (this.settled) return;
    this.settled = true;
    this.cancel();
    this.#resolve(v);
  }

  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.cancel();
    this.#reject(e);
  }
}

/** A PendingCall's deadline passed (the queue has already unlinked it; `lane` is undefined from here). */
function expire(call: PendingCall): void {
  call.reject(new CounterStoreUnavailable(`Redis did not answer within ${call.timeoutMs} ms`));
}

export class RedisCounterStore implements CounterStore {
  readonly #client: Client;
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #maxInflight: number;
  #inflight = 0;
  readonly #queue: DeadlineQueue;
  /** The lane of this store's own deadline (views resolve theirs once, when made). */
  readonly #lane: DeadlineLane;
  #connecting: Promise<unknown> | undefined;
  #closed = false;

  constructor(options: RedisCounterStoreOptions) {
    this.#prefix = `turnpike:${options.prefix ?? ''}`;
    this.#timeoutMs = options.timeoutMs ?? 50;
    this.#maxInflight = options.maxInflight ?? 10_000;
    this.#queue = options.queue ?? DEADLINES;
    this.#lane = this.#queue.lane(this.#timeoutMs);
    const onError = options.onError;
    this.#client = redis().createClient({
      url: options.url,
      disableOfflineQueue: true,
      // No per-command timeout inside node-redis (its default, 5 s, arms an AbortSignal.timeout and a
      // listener for EVERY command: ~25% of this store's CPU): our own deadline bounds each call.
      commandOptions: { timeout: 0 },
      socket: {
        connectTimeout: options.connectTimeoutMs ?? 1000,
        // Keep trying in the background, never faster than every 100 ms nor slower than every 2 s.
        reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 2000),
      },
    });
    // Without a listener an 'error' event would crash the process.
    this.#client.on('error', (err: Error) => onError?.(err));
  }

  /** Connect now (optional: the first call connects lazily). Resolves when ready or rejects on the deadline. */
  async connect(): Promise<void> {
    await this.#withDeadline(this.#ensureConnecting(), Math.max(this.#timeoutMs, 1000));
  }

  get isReady(): boolean {
    return this.#client.isReady;
  }

  #ensureConnecting(): Promise<unknown> {
    if (this.#connecting === undefined) {
      this.#connecting = this.#client.connect();
      // Failures surface through per-call errors; the background promise must not be unhandled.
      this.#connecting.catch(() => undefined);
    }
    return this.#connecting;
  }

  /** Connect and close: rare calls, on the same queue; any failure becomes CounterStoreUnavailable. */
  #withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
    const mapped = p.catch((err: unknown) => {
      throw err instanceof CounterStoreUnavailable ? err : new CounterStoreUnavailable(`Redis error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    });
    return raceDeadline(mapped, this.#queue.lane(ms), () => new CounterStoreUnavailable(`Redis did not answer within ${ms} ms`));
  }

  /** The deadline lane of `timeoutMs` on this store's queue (a view resolves its own once). */
  lane(timeoutMs: number): DeadlineLane {
    return this.#queue.lane(timeoutMs);
  }

  /** @internal one script call under the deadline of `lane` (views share the client with their own deadline). */
  run(s: Script, key: string, args: Array<string | number>, lane: DeadlineLane = this.#lane): Promise<number[]> {
    if (this.#closed) return Promise.reject(new CounterStoreUnavailable('counter store is closed'));
    // node-redis has no per-command timeout here (see the constructor): a hung server keeps commands
    // in its queue until the connection dies. Past this many, fail fast instead of queueing more.
    if (this.#inflight >= this.#maxInflight) return Promise.reject(new CounterStoreUnavailable(`${this.#inflight} Redis calls unanswered: not sending more`));
    const call = new PendingCall(lane.ms);
    lane.start(call);
    void this.#exec(s, key, args, call);
    return call.promise;
  }

  /** Sends one script call and settles `call` with its reply (unless its deadline already did). */
  async #exec(s: Script, key: string, args: Array<string | number>, call: PendingCall): Promise<void> {
    this.#inflight++;
    try {
      if (!this.#client.isReady) {
        this.#ensureConnecting();
        // Until the first connection completes, wait for it (the deadline still bounds the call);
        // once it has been established, a disconnected client fails fast instead.
        if (!this.#client.isOpen || this.#connecting === undefined) throw new Error('Redis client is not connected');
        await this.#connecting;
        if (!this.#client.isReady) throw new Error('Redis client is not connected');
      }
      const opts = { keys: [key], arguments: args.map(String) };
      let reply: unknown;
      try {
        reply = await this.#client.evalSha(s.sha, opts);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('NOSCRIPT')) reply = await this.#client.eval(s.source, opts);
        else throw err;
      }
      if (!Array.isArray(reply)) throw new CounterStoreUnavailable('unexpected reply from Redis script');
      call.resolve(reply.map(Number));
    } catch (err) {
      call.reject(err instanceof CounterStoreUnavailable ? err : new CounterStoreUnavailable(`Redis error: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
    } finally {
      this.#inflight--;
    }
  }

  takeToken(key: string, rate: number, burst: number, cost = 1): Promise<TokenBucketResult> {
    return takeToken(this, this.#prefix, this.#lane, key, rate, burst, cost);
  }

  incrementWindow(key: string, windowStartMs: number, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return incrementWindow(this, this.#prefix, this.#lane, key, windowStartMs, windowMs, limit, cost);
  }

  incrementSliding(key: string, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return incrementSliding(this, this.#prefix, this.#lane, key, windowMs, limit, cost);
  }

  /**
   * The same connection under another namespace and deadline: one client per Redis URL per process
   * however many plugins use it (RedisClients). Closing a view does nothing; the owner closes the client.
   */
  view(prefix: string, timeoutMs: number): CounterStore {
    return new RedisCounterView(this, `turnpike:${prefix}`, timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#connecting === undefined) return;
    try {
      if (this.#client.isReady) await this.#withDeadline(this.#client.close(), 1000);
      else this.#client.destroy();
    } catch {
      this.#client.destroy();
    }
  }
}

async function takeToken(r: RedisCounterStore, prefix: string, lane: DeadlineLane, key: string, rate: number, burst: number, cost: number): Promise<TokenBucketResult> {
  const [allowed, remaining, retry] = await r.run(SCRIPTS.bucket, `${prefix}tb:${key}`, [rate, burst, cost], lane);
  return { allowed: allowed === 1, remaining: remaining!, retryAfterMs: retry === -1 ? Number.POSITIVE_INFINITY : retry! };
}

async function incrementWindow(r: RedisCounterStore, prefix: string, lane: DeadlineLane, key: string, windowStartMs: number, windowMs: number, limit: number, cost: number): Promise<WindowResult> {
  const resetAtMs = windowStartMs + windowMs;
  const [allowed, count] = await r.run(SCRIPTS.fixed, `${prefix}fw:${key}:${windowStartMs}`, [resetAtMs, limit, cost], lane);
  return { allowed: allowed === 1, count: count!, remaining: Math.max(0, limit - count!), resetAtMs };
}

async function incrementSliding(r: RedisCounterStore, prefix: string, lane: DeadlineLane, key: string, windowMs: number, limit: number, cost: number): Promise<WindowResult> {
  const [allowed, count, remaining, resetAtMs] = await r.run(SCRIPTS.sliding, `${prefix}sw:${key}:${windowMs}`, [windowMs, limit, cost], lane);
  return { allowed: allowed === 1, count: count!, remaining: remaining!, resetAtMs: resetAtMs! };
}

class RedisCounterView implements CounterStore {
  readonly #base: RedisCounterStore;
  readonly #prefix: string;
  readonly #lane: DeadlineLane;
  constructor(base: RedisCounterStore, prefix: string, timeoutMs: number) {
    this.#base = base;
    this.#prefix = prefix;
    this.#lane = base.lane(timeoutMs);
  }
  takeToken(key: string, rate: number, burst: number, cost = 1): Promise<TokenBucketResult> {
    return takeToken(this.#base, this.#prefix, this.#lane, key, rate, burst, cost);
  }
  incrementWindow(key: string, windowStartMs: number, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return incrementWindow(this.#base, this.#prefix, this.#lane, key, windowStartMs, windowMs, limit, cost);
  }
  incrementSliding(key: string, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return incrementSliding(this.#base, this.#prefix, this.#lane, key, windowMs, limit, cost);
  }
  async close(): Promise<void> {}
}

export interface RedisLease {
  /** The shared client under this lease's namespace and deadline. */
  readonly store: CounterStore;
  /** Gives the lease back; the client is closed when its last lease is released. */
  release(): Promise<void>;
}

/**
 * One Redis client per distinct URL per process, shared by every plugin instance of every config
 * version that uses the URL, refcounted: a reload compiles the new table (leases +1) before the old
 * one is retired (leases -1), so a URL still in use keeps its warm connection and one no longer
 * used is closed when the last table using it is retired.
 */
export class RedisClients {
  readonly #clients = new Map<string, { store: RedisCounterStore; leases: number }>();
  readonly #onError: ((url: string, err: Error) => void) | undefined;

  constructor(onError?: (url: string, err: Error) => void) {
    this.#onError = onError;
  }

  acquire(url: string, opts: { prefix?: string; timeoutMs?: number } = {}): RedisLease {
    let entry = this.#clients.get(url);
    if (entry === undefined) {
      const onError = this.#onError;
      entry = { store: new RedisCounterStore({ url, ...(onError ? { onError: (err: Error) => onError(url, err) } : {}) }), leases: 0 };
      this.#clients.set(url, entry);
    }
    entry.leases++;
    const e = entry;
    let released = false;
    return {
      store: e.store.view(opts.prefix ?? '', opts.timeoutMs ?? 50),
      release: async () => {
        if (released) return;
        released = true;
        if (--e.leases > 0) return;
        if (this.#clients.get(url) === e) this.#clients.delete(url);
        await e.store.close();
      },
    };
  }

  /** URLs with an open client (admin, tests). */
  get urls(): string[] {
    return [...this.#clients.keys()];
  }
}

/** The process's registry: plugins reach it through deps.stores.redis. */
export const redisClients = new RedisClients();
