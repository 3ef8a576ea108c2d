import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { type buildConnector, Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { createBalancer, type Balancer, type PickContext } from './balancers/index.js';
import { CircuitBreaker, type BreakerState, NEUTRAL, STATE_NAMES } from './breaker.js';
import { DnsRefresher, type ResolveFn, type ResolvedAddress, isHostName, makeResolver } from './dns.js';
import { HealthChecker } from './health.js';
import { type BreakerView, LIVE_BREAKERS, type ResilienceStats, statsFor } from './metrics.js';
import { RetryPolicy } from './retry.js';
import { timedConnector } from './timeouts.js';

export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  totalMs: number;
  /** Longest silence between response body chunks; undefined: none apart from totalMs. */
  idleMs?: number;
}

export const DEFAULT_TIMEOUTS: UpstreamTimeouts = { connectMs: 5_000, firstByteMs: 30_000, totalMs: 60_000 };

export interface Target {
  /** 'http://host:port' */
  readonly origin: string;
  /** Path prefix from the target URL without a trailing slash ('' for none). */
  readonly basePath: string;
  readonly weight: number;
  /** The configured target URL: a stable identity (consistent-hash ring points are derived from it). */
  readonly key: string;
  /** Position in Upstream.targets (health state is kept by position). */
  readonly index: number;
  /**
   * Where requests go. Fixed for targets by address; for a host name under `dns` it is one of the
   * per-address pools (rotated by Upstream.pick when the name has several addresses).
   */
  pool: Pool;
  /** TLS options for sockets opened outside the pool (WebSocket pass-through); undefined for http targets. */
  readonly tls: import('node:tls').ConnectionOptions | undefined;
}

/** A keep-alive pool per origin+options, shared by every table that uses it so reloads keep warm connections. */
export class PoolRegistry {
  readonly #pools = new Map<string, { pool: Pool; refs: number }>();

  /**
   * `connect`: the connector's options (TLS); connections get a `connectMs` deadline (timedConnector).
   * `address`: connect to this address instead of resolving the origin's host (DNS-managed targets).
   */
  acquire(origin: string, options: Pool.Options, connect: buildConnector.BuildOptions, connectMs: number, key: string, address?: ResolvedAddress): Pool {
    const k = address === undefined ? `${origin}|${key}` : `${origin}|${key}|${address.address}`;
    let e = this.#pools.get(k);
    if (e === undefined) {
      const c = address === undefined ? connect : { ...connect, lookup: fixedLookup(address.address, address.family) };
      e = { pool: new Pool(origin, { ...options, connect: timedConnector(c as buildConnector.BuildOptions, connectMs) }), refs: 0 };
      this.#pools.set(k, e);
    }
    e.refs++;
    return e.pool;
  }

  release(pool: Pool): void {
    for (const [k, e] of this.#pools) {
      if (e.pool !== pool) continue;
      if (--e.refs === 0) {
        this.#pools.delete(k);
        // Let requests in flight on other tables finish; close() waits for them.
        pool.close().catch(() => undefined);
      }
      return;
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(all.map((e) => e.pool.close().catch(() => e.pool.destroy().catch(() => undefined))));
  }
}

/** Last DNS answer per resolver, family and host, for the process: a reload starts from it. */
const LAST_ANSWERS = new Map<string, readonly ResolvedAddress[]>();

/** Per-target DNS state (targets by host name on upstreams with `dns`). */
interface DnsTarget {
  readonly target: Target;
  readonly host: string;
  refresher: DnsRefresher;
  /** Pools by address, in the answer's order; empty until the first answer (target.pool is then the name's own pool). */
  pools: Pool[];
  addresses: string[];
  /** The pool used before the first answer (the OS resolves the name per connection); released after it. */
  initial: Pool | undefined;
  next: number;
}

export interface UpstreamDeps {
  logger?: Logger;
  /** Tests inject a resolver; default from the `dns` block. */
  resolve?: ResolveFn;
  /** Reads `tls.ca`: compile passes its read recorder, so the CA file is part of the config version. Default readFileSync. */
  readText?: (path: string) => string;
}

export class Upstream {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly timeouts: UpstreamTimeouts;
  readonly #balancer: Balancer<Target>;
  /**
   * True when the proxy must call onStart/onEnd around each exchange: the balancer counts requests in
   * flight, passive health or the circuit breaker watch real traffic.
   */
  readonly tracksInflight: boolean;
  readonly health: HealthChecker | undefined;
  readonly breaker: CircuitBreaker | undefined;
  /** Retry policy; undefined when the upstream has no `retries` (the proxy's fast path). */
  readonly retry: RetryPolicy | undefined;
  /** Retry and breaker counters (only for upstreams that use either). */
  readonly stats: ResilienceStats | undefined;
  readonly #registry: PoolRegistry;
  readonly #logger: Logger | undefined;
  /** Health and breaker folded into one mask for the balancers (when both are configured). */
  readonly #avail: Uint8Array | undefined;
  readonly #dns: DnsTarget[] | undefined;
  readonly #dnsByIndex: (DnsTarget | undefined)[] = [];
  readonly #breakerView: BreakerView | undefined;
  #resolve: ResolveFn | undefined;

  constructor(name: string, config: UpstreamConfig, registry: PoolRegistry, configDir: string, deps: UpstreamDeps = {}) {
    this.name = name;
    this.#registry = registry;
    this.#logger = deps.logger;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    const connections = config.connections ?? 256;
    const keepAliveMs = config.keepAliveMs ?? 4_000;
    const tls = config.tls;
    const ca = tls?.ca !== undefined ? (deps.readText ?? ((f: string) => readFileSync(f, 'utf8')))(resolvePath(configDir, tls.ca)) : undefined;
    const dnsConfig = config.dns;
    const resolve = dnsConfig !== undefined ? (deps.resolve ?? makeResolver(dnsConfig)) : undefined;
    const dynamic: { t: Target; host: string; options: Pool.Options; connect: buildConnector.BuildOptions; key: string }[] = [];
    this.targets = config.targets.map((t, index) => {
      const url = new URL(t.url);
      const tlsOptions =
        url.protocol === 'https:' ? { rejectUnauthorized: tls?.rejectUnauthorized ?? true, ...(ca ? { ca } : {}), ...(tls?.servername ? { servername: tls.servername } : {}) } : undefined;
      const options: Pool.Options = {
        connections,
        pipelining: 1,
        keepAliveTimeout: keepAliveMs,
        keepAliveMaxTimeout: Math.max(keepAliveMs, 600_000),
        // undici's headers and body timeouts off: they run on its coarse timers (a 100 ms setting fired
        // after ~1 s). The proxy's own deadlines bound each exchange (src/upstream/timeouts.ts).
        headersTimeout: 0,
        bodyTimeout: 0,
      };
      const connect = { ...tlsOptions } as buildConnector.BuildOptions;
      // The CA's content, not only its path: a replaced CA file must not reuse a pool that trusts the old one.
      const key = JSON.stringify([connections, keepAliveMs, this.timeouts.connectMs, tls ?? null, ca ?? null]);
      const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
      const target: Target = {
        origin: url.origin,
        basePath,
        weight: t.weight ?? 1,
        key: t.url,
        index,
        pool: registry.acquire(url.origin, options, connect, this.timeouts.connectMs, key),
        tls: tlsOptions,
      };
      if (resolve !== undefined && isHostName(url.hostname)) dynamic.push({ t: target, host: url.hostname, options, connect, key });
      return target;
    });
    this.health = config.healthCheck !== undefined ? new HealthChecker(this.targets, config.healthCheck, name, deps.logger) : undefined;
    const cb = config.circuitBreaker;
    if (cb !== undefined) {
      this.breaker = new CircuitBreaker(this.targets.length, cb, {
        onTransition: (i, from, to) => this.#onTransition(i, from, to),
        onAllow: (i) => this.#sync(i),
      });
    }
    if (this.health !== undefined && this.breaker !== undefined) {
      this.#avail = new Uint8Array(this.targets.length).fill(1);
      this.health.onChange = (i) => this.#sync(i);
    }
    const mask = this.#avail ?? this.breaker?.allow ?? this.health?.up;
    this.#balancer = createBalancer(config.balancer, this.targets, config.hashOn, mask);
    this.tracksInflight = this.#balancer.onEnd !== undefined || this.health?.passive === true || this.breaker !== undefined;
    this.retry = config.retries !== undefined ? new RetryPolicy(config.retries) : undefined;
    this.stats = this.retry !== undefined || this.breaker !== undefined ? statsFor(name) : undefined;
    if (this.breaker !== undefined) {
      const breaker = this.breaker;
      const targets = this.targets;
      this.#breakerView = { upstream: name, states: () => targets.map((t) => [t.key, breaker.state[t.index] as number]) };
      LIVE_BREAKERS.add(this.#breakerView);
    }
    if (resolve !== undefined && dnsConfig !== undefined && dynamic.length > 0) {
      this.#resolve = resolve;
      const shared = deps.resolve === undefined;
      this.#dns = dynamic.map(({ t, host, options, connect, key }) => {
        const d: DnsTarget = { target: t, host, pools: [], addresses: [], initial: t.pool, next: 0, refresher: undefined as unknown as DnsRefresher };
        const cacheKey = `${dnsConfig.resolver ?? ''}|${dnsConfig.family ?? 0}|${host}`;
        // A reloaded config starts from the last answer (same pools, warm connections) instead of the
        // OS resolver, which may not know a name only the configured DNS server serves.
        const cached = shared ? LAST_ANSWERS.get(cacheKey) : undefined;
        if (cached !== undefined) this.#onAnswer(d, cached, options, connect, key);
        d.refresher = new DnsRefresher(host, resolve, dnsConfig, {
          answer: (addrs) => {
            if (shared) LAST_ANSWERS.set(cacheKey, addrs);
            this.#onAnswer(d, addrs, options, connect, key);
          },
          failure: (err, _kept, retryInMs) =>
            this.#logger?.warn(
              { upstream: name, target: t.key, host, err: { code: (err as { code?: string }).code, message: (err as Error).message }, retryInMs, keptAddresses: d.addresses },
              d.addresses.length > 0 ? 'dns resolution failed; keeping the last answer' : 'dns resolution failed; the OS resolves the name per connection until it succeeds',
            ),
        });
        this.#dnsByIndex[t.index] = d;
        return d;
      });
    }
  }

  #sync(i: number): void {
    const avail = this.#avail;
    if (avail === undefined) return;
    avail[i] = ((this.health as HealthChecker).up[i] as number) & ((this.breaker as CircuitBreaker).allow[i] as number);
  }

  #onTransition(i: number, from: BreakerState, to: BreakerState): void {
    const t = this.targets[i] as Target;
    this.stats?.transition(t.key, STATE_NAMES[to]);
    const log = to === 1 ? this.#logger?.warn.bind(this.#logger) : this.#logger?.info.bind(this.#logger);
    log?.({ upstream: this.name, target: t.key, from: STATE_NAMES[from], to: STATE_NAMES[to] }, `circuit ${STATE_NAMES[to]}`);
  }

  #onAnswer(d: DnsTarget, answer: readonly ResolvedAddress[], options: Pool.Options, connect: buildConnector.BuildOptions, key: string): void {
    const addresses = answer.map((a) => a.address);
    if (addresses.length === d.addresses.length && addresses.every((a, k) => a === d.addresses[k])) return;
    const t = d.target;
    // A pool per address, acquired before the old ones are released: an address still in the answer
    // keeps its pool (and warm connections) because the registry's refcount never drops to zero.
    const pools = answer.map((a) => this.#registry.acquire(t.origin, options, connect, this.timeouts.connectMs, key, a));
    const old = d.pools;
    d.pools = pools;
    d.addresses = addresses;
    d.next = 0;
    t.pool = pools[0] as Pool;
    for (const p of old) this.#registry.release(p);
    if (d.initial !== undefined) {
      this.#registry.release(d.initial);
      d.initial = undefined;
    }
    this.#logger?.info({ upstream: this.name, target: t.key, host: d.host, addresses }, 'dns answer');
  }

  /**
   * The target for this request (balancer per config; default round-robin over the weight-expanded
   * ring). Undefined when no target can take traffic (every weight 0, every target ejected or open).
   */
  pick(ctx?: PickContext): Target | undefined {
    const breaker = this.breaker;
    if (breaker === undefined && this.#dns === undefined) return this.#balancer.pick(ctx);
    if (breaker !== undefined) breaker.tick(breaker.now());
    const t = this.#balancer.pick(ctx);
    if (t === undefined) return undefined;
    breaker?.onPick(t.index);
    if (this.#dns !== undefined) this.#rotate(t);
    return t;
  }

  /**
   * A target for a retry: another one than those in `tried` when the balancer (asked up to once per
   * target) or a scan finds one that may take traffic; else whatever the balancer gives.
   */
  pickExcluding(ctx: PickContext | undefined, tried: readonly number[]): Target | undefined {
    const n = this.targets.length;
    let first: Target | undefined;
    for (let k = 0; k < n; k++) {
      const t = this.pick(ctx);
      if (t === undefined) return undefined;
      if (!tried.includes(t.index)) return t;
      this.#unpick(t);
      first ??= t;
    }
    // Deterministic balancers (consistent-hash) give the same target every time: scan instead.
    const mask = this.#avail ?? this.breaker?.allow ?? this.health?.up;
    for (const t of this.targets) {
      if (tried.includes(t.index) || t.weight <= 0 || (mask !== undefined && mask[t.index] !== 1)) continue;
      this.breaker?.onPick(t.index);
      if (this.#dns !== undefined) this.#rotate(t);
      return t;
    }
    if (first !== undefined) this.breaker?.onPick(first.index);
    return first;
  }

  /**
   * Gives back a half-open probe slot taken by a pick whose exchange will not be reported (a retry
   * candidate not used, a WebSocket, which the breaker does not judge).
   */
  unpick(t: Target): void {
    this.#unpick(t);
  }

  #unpick(t: Target): void {
    this.breaker?.report(t.index, NEUTRAL);
  }

  /** A name with several addresses: its traffic goes round-robin over their pools. */
  #rotate(t: Target): void {
    const d = this.#dnsByIndex[t.index];
    if (d === undefined || d.pools.length < 2) return;
    d.next = d.next + 1 >= d.pools.length ? 0 : d.next + 1;
    t.pool = d.pools[d.next] as Pool;
  }

  onStart(t: Target): void {
    this.#balancer.onStart?.(t);
  }

  /**
   * `failed`: the exchange ended in a connect failure or timeout (passive health); `status`: the
   * upstream's status (0 when none); `noVerdict`: the exchange says nothing about the target (client left).
   */
  onEnd(t: Target, failed = false, status = 0, noVerdict = false): void {
    this.#balancer.onEnd?.(t);
    this.health?.report(t.index, failed);
    const b = this.breaker;
    if (b !== undefined) b.report(t.index, b.verdict(failed, status, noVerdict));
  }

  /** Resolves after every DNS-managed target's first resolution attempt (tests). */
  async dnsReady(): Promise<void> {
    await Promise.all((this.#dns ?? []).map((d) => d.refresher.first));
  }

  /** Health per target for the admin API. */
  describeHealth(): { target: string; healthy: boolean }[] {
    return this.targets.map((t) => ({ target: t.key, healthy: this.health === undefined || this.health.up[t.index] === 1 }));
  }

  /** Circuit state per target for the admin API (upstreams with circuitBreaker). */
  describeCircuit(): { target: string; state: string }[] | undefined {
    const b = this.breaker;
    if (b === undefined) return undefined;
    b.tick(b.now());
    return this.targets.map((t) => ({ target: t.key, state: STATE_NAMES[b.state[t.index] as BreakerState] }));
  }

  /** Resolved addresses per DNS-managed target for the admin API. */
  describeDns(): { target: string; addresses: string[] }[] | undefined {
    return this.#dns?.map((d) => ({ target: d.target.key, addresses: [...d.addresses] }));
  }

  close(): void {
    this.health?.stop();
    if (this.#breakerView !== undefined) LIVE_BREAKERS.delete(this.#breakerView);
    this.#resolve?.cancel?.();
    for (const d of this.#dns ?? []) {
      d.refresher.stop();
      for (const p of d.pools) this.#registry.release(p);
      if (d.initial !== undefined) this.#registry.release(d.initial);
    }
    const dynamic = new Set(this.#dns?.map((d) => d.target));
    for (const t of this.targets) if (!dynamic.has(t)) this.#registry.release(t.pool);
  }
}

/** A net.connect `lookup` that always answers one address (the pool of one resolved address). */
function fixedLookup(address: string, family: 4 | 6) {
  return (_host: string, opts: { all?: boolean } | undefined, cb: (err: Error | null, a: string | { address: string; family: number }[], f?: number) => void): void => {
    if (opts?.all === true) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith('/') ? p : `${dir}/${p}`;
}
