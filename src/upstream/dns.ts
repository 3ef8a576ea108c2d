/**
 * DNS resolution of targets given by host name (upstreams with `dns`), re-resolved when the answer's
 * TTL expires (clamped to [minTtlMs, maxTtlMs], or `ttlMs` when set). A failed resolution keeps the
 * last good answer and is retried with a doubling delay (floor minTtlMs, ceiling maxTtlMs).
 *
 * Why our own resolution instead of the OS per connection: keep-alive connections would otherwise
 * stick to an address long after DNS moved (the pool only resolves when it opens a connection), and the
 * OS resolver gives no TTL. With `resolver` the given server is asked (dns.Resolver, TTLs from the
 * records); without it the system's DNS servers, then the OS resolver (dns.lookup: /etc/hosts, nsswitch),
 * which has no TTL (ttlMs, default 30 s, clamped).
 */
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { DnsConfig } from '../config/schema.js';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  /** Record TTL in milliseconds; undefined when the source has none (dns.lookup). */
  ttlMs: number | undefined;
}
export type ResolveFn = ((host: string) => Promise<ResolvedAddress[]>) & {
  /** Cancels queries in flight (a retired config must not keep the process alive waiting on DNS). */
  cancel?: () => void;
};

const NO_TTL_DEFAULT_MS = 30_000;

async function viaResolver(r: dns.promises.Resolver, host: string, family: 0 | 4 | 6): Promise<ResolvedAddress[]> {
  const jobs: Promise<ResolvedAddress[]>[] = [];
  if (family !== 6) jobs.push(r.resolve4(host, { ttl: true }).then((a) => a.map((x) => ({ address: x.address, family: 4 as const, ttlMs: x.ttl * 1000 }))));
  if (family !== 4) jobs.push(r.resolve6(host, { ttl: true }).then((a) => a.map((x) => ({ address: x.address, family: 6 as const, ttlMs: x.ttl * 1000 }))));
  const settled = await Promise.allSettled(jobs);
  const out: ResolvedAddress[] = [];
  let firstError: unknown;
  for (const s of settled) {
    if (s.status === 'fulfilled') out.push(...s.value);
    else firstError ??= s.reason;
  }
  if (out.length === 0) throw firstError ?? Object.assign(new Error(`no addresses for ${host}`), { code: 'ENODATA' });
  return out;
}

/** The resolve function for an upstream's `dns` block. */
export function makeResolver(config: DnsConfig): ResolveFn {
  const family = config.family ?? 0;
  const r = new dns.promises.Resolver({ timeout: 2_000, tries: 2 });
  if (config.resolver !== undefined) {
    // setServers takes '1.2.3.4', '1.2.3.4:53' and '[::1]:53', the forms the schema allows.
    r.setServers([config.resolver]);
    return Object.assign((host: string) => viaResolver(r, host, family), { cancel: () => r.cancel() });
  }
  const withFallback = async (host: string): Promise<ResolvedAddress[]> => {
    try {
      return await viaResolver(r, host, family);
    } catch {
      const all = await dns.promises.lookup(host, { all: true, family });
      return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4, ttlMs: undefined }));
    }
  };
  return Object.assign(withFallback, { cancel: () => r.cancel() });
}

export function isHostName(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  return isIP(h) === 0;
}

export interface RefresherEvents {
  /** A successful answer (addresses sorted, deduplicated). */
  answer(addresses: readonly ResolvedAddress[]): void;
  /** A failed resolution; `kept` = a previous answer stays in use. */
  failure(err: unknown, kept: boolean, retryInMs: number): void;
}

/** Resolves one host now and again when its TTL expires; the timer is unref'd and stop() ends it. */
export class DnsRefresher {
  readonly host: string;
  readonly #resolve: ResolveFn;
  readonly #events: RefresherEvents;
  readonly #ttlMs: number | undefined;
  readonly #min: number;
  readonly #max: number;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #haveAnswer = false;
  #stopped = false;
  /** Resolves after the first resolution attempt (tests, startup). */
  readonly first: Promise<void>;

  constructor(host: string, resolve: ResolveFn, config: DnsConfig, events: RefresherEvents) {
    this.host = host;
    this.#resolve = resolve;
    this.#events = events;
    this.#ttlMs = config.ttlMs;
    this.#min = config.minTtlMs ?? 1_000;
    this.#max = Math.max(this.#min, config.maxTtlMs ?? 300_000);
    this.first = this.#run();
  }

  /** The next interval for an answer: ttlMs if set, else the smallest record TTL, clamped. */
  nextDelay(answer: readonly ResolvedAddress[]): number {
    let ttl = this.#ttlMs;
    if (ttl === undefined) {
      for (const a of answer) if (a.ttlMs !== undefined && (ttl === undefined || a.ttlMs < ttl)) ttl = a.ttlMs;
    }
    return Math.min(this.#max, Math.max(this.#min, ttl ?? NO_TTL_DEFAULT_MS));
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    let delay: number;
    try {
      const raw = await this.#resolve(this.host);
      const seen = new Set<string>();
      const answer = raw.filter((a) => !seen.has(a.address) && seen.add(a.address)).sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
      if (answer.length === 0) throw Object.assign(new Error(`no addresses for ${this.host}`), { code: 'ENODATA' });
      this.#failures = 0;
      this.#haveAnswer = true;
      delay = this.nextDelay(answer);
      if (!this.#stopped) this.#events.answer(answer);
    } catch (err) {
      this.#failures++;
      delay = Math.min(this.#max, this.#min * 2 ** Math.min(this.#failures - 1, 20));
      if (!this.#stopped) this.#events.failure(err, this.#haveAnswer, delay);
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delay);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
