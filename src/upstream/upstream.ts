import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { UpstreamConfig } from '../config/schema.js';
import { createBalancer, type Balancer, type PickContext } from './balancers/index.js';

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
  /** True when the balancer counts requests in flight: the proxy then calls onStart/onEnd. */
  readonly tracksInflight: boolean;
  readonly #registry: PoolRegistry;

  constructor(name: string, config: UpstreamConfig, registry: PoolRegistry, configDir: string) {
    this.name = name;
    this.#registry = registry;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
    const connections = config.connections ?? 256;
    const keepAliveMs = config.keepAliveMs ?? 4_000;
    const tls = config.tls;
    const ca = tls?.ca !== undefined ? readFileSync(resolvePath(configDir, tls.ca), 'utf8') : undefined;
    this.targets = config.targets.map((t) => {
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
      return { origin: url.origin, basePath, weight: t.weight ?? 1, key: t.url, pool: registry.acquire(url.origin, options, key), tls: tlsOptions };
    });
    this.#balancer = createBalancer(config.balancer, this.targets, config.hashOn);
    this.tracksInflight = this.#balancer.onEnd !== undefined;
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

  onEnd(t: Target): void {
    this.#balancer.onEnd?.(t);
  }

  close(): void {
    for (const t of this.targets) this.#registry.release(t.pool);
  }
}

function resolvePath(dir: string, p: string): string {
  return p.startsWith('/') ? p : `${dir}/${p}`;
}
