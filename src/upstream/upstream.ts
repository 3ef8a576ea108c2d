import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { createBalancer, type Balancer, type PickContext } from './balancers/index.js';
import { HealthChecker } from './health.js';

export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  totalMs: number;
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
  readonly pool: Pool;
  /** TLS options for sockets opened outside the pool (WebSocket pass-through); undefined for http targets. */
  readonly tls: import('node:tls').ConnectionOptions | undefined;
}

/** A keep-alive pool per origin+options, shared by every table that uses it so reloads keep warm connections. */
export class PoolRegistry {
  readonly #pools = new Map<string, { pool: Pool; refs: number }>();

  acquire(origin: string, options: Pool.Options, key: string): Pool {
    const k = `${origin}|${key}`;
    let e = this.#pools.get(k);
    if (e === undefined) {
      e = { pool: new Pool(origin, options), refs: 0 };
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

export class Upstream {
  readonly name: string;
  readonly targets: readonly Target[];
  readonly timeouts: UpstreamTimeouts;
  readonly #balancer: Balancer<Target>;
  /** True when the balancer counts requests in flight or passive health checks watch real traffic: the proxy then calls onStart/onEnd. */
  readonly tracksInflight: boolean;
  readonly health: HealthChecker | undefined;
  readonly #registry: PoolRegistry;

  constructor(name: string, config: UpstreamConfig, registry: PoolRegistry, configDir: string) {
    this.name = name;
    this.#registry = registry;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    const connections = config.connections ?? 256;
    const keepAliveMs = config.keepAliveMs ?? 4_000;
    const tls = config.tls;
    const ca = tls?.ca !== undefined ? readFileSync(resolvePath(configDir, tls.ca), 'utf8') : undefined;
    this.targets = config.targets.map((t, index) => {
      const url = new URL(t.url);
      const tlsOptions =
        url.protocol === 'https:' ? { rejectUnauthorized: tls?.rejectUnauthorized ?? true, ...(ca ? { ca } : {}), ...(tls?.servername ? { servername: tls.servername } : {}) } : undefined;
      const options: Pool.Options = {
        connections,
        pipelining: 1,
        keepAliveTimeout: keepAliveMs,
        keepAliveMaxTimeout: Math.max(keepAliveMs, 600_000),
        headersTimeout: this.timeouts.firstByteMs,
        bodyTimeout: this.timeouts.totalMs,
        connect: { timeout: this.timeouts.connectMs, ...tlsOptions },
      };
      const key = JSON.stringify([connections, keepAliveMs, this.timeouts, tls ?? null]);
      const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
      return { origin: url.origin, basePath, weight: t.weight ?? 1, key: t.url, index, pool: registry.acquire(url.origin, options, key), tls: tlsOptions };
    });
    this.health = config.healthCheck !== undefined ? new HealthChecker(this.targets, config.healthCheck, name) : undefined;
    this.#balancer = createBalancer(config.balancer, this.targets, config.hashOn, this.health?.up);
    this.tracksInflight = this.#balancer.onEnd !== undefined || this.health?.passive === true;
  }

  /**
   * The target for this request (balancer per config; default round-robin over the weight-expanded
   * ring). Undefined only when no target can take traffic (e.g. every weight is 0).
   */
  pick(ctx?: PickContext): Target | undefined {
    return this.#balancer.pick(ctx);
  }

  onStart(t: Target): void {
    this.#balancer.onStart?.(t);
  }

  /** `failed`: the exchange ended in a connect failure or timeout (passive health). */
  onEnd(t: Target, failed = false): void {
    this.#balancer.onEnd?.(t);
    this.health?.report(t.index, failed);
  }

  /** Health per target for the admin API. */
  describeHealth(): { target: string; healthy: boolean }[] {
    return this.targets.map((t) => ({ target: t.key, healthy: this.health === undefined || this.health.up[t.index] === 1 }));
  }

  close(): void {
    this.health?.stop();
    for (const t of this.targets) this.#registry.release(t.pool);
  }
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith('/') ? p : `${dir}/${p}`;
}
