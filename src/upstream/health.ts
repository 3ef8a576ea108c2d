import type { Logger } from 'pino';
import client from 'prom-client';
import type { Pool } from 'undici';
import type { HealthCheckConfig } from '../config/schema.js';
import { DEADLINES, type DeadlineLane, deadlineSignal } from '../util/deadline-queue.js';

/** A failed active probe: why, after how long, against which limit. */
export interface ProbeFailure {
  reason: string;
  elapsedMs: number;
  timeoutMs: number;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export interface HealthTarget {
  /** The configured URL: the `target` label. */
  readonly key?: string;
  readonly origin: string;
  readonly basePath: string;
  readonly pool: Pool;
}

/**
 * Health of an Upstream's targets, shared with its balancer through `up` (1 = takes traffic).
 * Active: a probe per target every intervalMs (timer unref'd, stopped by stop()); healthyThreshold
 * consecutive successes bring a target back, unhealthyThreshold consecutive failures eject it.
 * Passive: unhealthyThreshold consecutive connect failures/timeouts on real traffic eject a target
 * for recoverAfterMs (then it is tried again; with active checks configured, the probes decide).
 */
export class HealthChecker {
  readonly up: Uint8Array;
  readonly #targets: readonly HealthTarget[];
  readonly #config: HealthCheckConfig;
  readonly #okRun: Int32Array;
  readonly #failRun: Int32Array;
  readonly #passiveFails: Int32Array;
  #timer: NodeJS.Timeout | undefined;
  readonly #recoverTimers = new Set<NodeJS.Timeout>();
  #stopped = false;
  onChange: ((index: number, healthy: boolean) => void) | undefined;

  /** The upstream's name: the `upstream` label of the gauge. */
  readonly upstream: string;
  /** Why each target's last failed probe failed (for the log and tests). */
  readonly lastFailure: (ProbeFailure | undefined)[];
  readonly #log: Pick<Logger, 'warn'> | undefined;
  /** active.timeoutMs on the deadline queue. */
  readonly #probeLane: DeadlineLane;

  constructor(targets: readonly HealthTarget[], config: HealthCheckConfig, upstream = '', log?: Pick<Logger, 'warn'>) {
    this.upstream = upstream;
    this.#log = log;
    this.#probeLane = DEADLINES.lane(config.active?.timeoutMs ?? 2_000);
    this.lastFailure = new Array<ProbeFailure | undefined>(targets.length).fill(undefined);
    this.#targets = targets;
    LIVE.add(this);
    this.#config = config;
    this.up = new Uint8Array(targets.length).fill(1);
    this.#okRun = new Int32Array(targets.length);
    this.#failRun = new Int32Array(targets.length);
    this.#passiveFails = new Int32Array(targets.length);
    const active = config.active;
    if (active !== undefined) {
      this.#timer = setInterval(() => this.probeAll(), active.intervalMs ?? 5_000);
      this.#timer.unref();
      setImmediate(() => this.probeAll());
    }
  }

  get passive(): boolean {
    return this.#config.passive !== undefined;
  }

  #set(i: number, healthy: boolean): void {
    const v = healthy ? 1 : 0;
    if (this.up[i] === v) return;
    this.up[i] = v;
    this.onChange?.(i, healthy);
  }

  /** Runs one probe round (exported for tests); resolves when every probe has finished. */
  async probeAll(): Promise<void> {
    await Promise.all(this.#targets.map((_, i) => this.#probe(i)));
  }

  async #probe(i: number): Promise<void> {
    const active = this.#config.active;
    if (active === undefined || this.#stopped) return;
    const t = this.#targets[i] as HealthTarget;
    const timeoutMs = this.#probeLane.ms;
    const expected = active.expectedStatuses ?? [200];
    let ok = false;
    let failure: ProbeFailure | undefined;
    // timeoutMs bounds the whole probe (connect, headers, body) on the deadline queue; undici's own
    // timeouts are off in the pool (they fired up to ~1 s late).
    const started = performance.now();
    const deadline = deadlineSignal(this.#probeLane, () => Object.assign(new Error(`health probe timed out (timeoutMs ${timeoutMs})`), { code: 'TURNPIKE_PROBE_TIMEOUT' }), { ref: false, now: started });
    try {
      const res = await t.pool.request({
        method: 'GET',
        path: t.basePath + (active.path ?? '/'),
        headers: { 'user-agent': 'turnpike-health-check' },
        signal: deadline.signal,
      });
      await res.body.dump();
      ok = expected.includes(res.statusCode);
      if (!ok) failure = { reason: `status ${res.statusCode}`, elapsedMs: round3(performance.now() - started), timeoutMs };
    } catch (err) {
      ok = false;
      const timedOut = deadline.signal.aborted;
      failure = { reason: timedOut ? 'timeout' : String((err as { code?: string }).code ?? (err as Error).message), elapsedMs: round3(performance.now() - started), timeoutMs };
    } finally {
      deadline.cancel();
    }
    if (this.#stopped) return;
    if (failure !== undefined) this.lastFailure[i] = failure;
    if (ok) {
      this.#failRun[i] = 0;
      this.#okRun[i] = (this.#okRun[i] as number) + 1;
      if (this.up[i] === 0 && (this.#okRun[i] as number) >= (active.healthyThreshold ?? 2)) {
        this.#passiveFails[i] = 0;
        this.#set(i, true);
      }
    } else {
      this.#okRun[i] = 0;
      this.#failRun[i] = (this.#failRun[i] as number) + 1;
      if (this.up[i] === 1 && (this.#failRun[i] as number) >= (active.unhealthyThreshold ?? 2)) {
        this.#set(i, false);
        this.#log?.warn({ upstream: this.upstream, target: t.key ?? t.origin + t.basePath, check: 'active', ...failure }, 'target ejected by its health check');
      }
    }
  }

  /** A real request to target i ended; `failed` = connect failure or timeout. */
  report(i: number, failed: boolean): void {
    const passive = this.#config.passive;
    if (passive === undefined) return;
    if (!failed) {
      this.#passiveFails[i] = 0;
      return;
    }
    const n = (this.#passiveFails[i] as number) + 1;
    this.#passiveFails[i] = n;
    if (this.up[i] === 1 && n >= (passive.unhealthyThreshold ?? 3)) {
      this.#set(i, false);
      this.#okRun[i] = 0;
      if (this.#config.active === undefined && !this.#stopped) {
        const timer = setTimeout(() => {
          this.#recoverTimers.delete(timer);
          this.#passiveFails[i] = 0;
          if (!this.#stopped) this.#set(i, true);
        }, passive.recoverAfterMs ?? 10_000);
        timer.unref();
        this.#recoverTimers.add(timer);
      }
    }
  }

  /** [target label, healthy] pairs for the gauge. */
  states(): [string, number][] {
    return this.#targets.map((t, i) => [t.key ?? t.origin + t.basePath, this.up[i] as number]);
  }

  stop(): void {
    LIVE.delete(this);
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const t of this.#recoverTimers) clearTimeout(t);
    this.#recoverTimers.clear();
  }
}

/** Health checkers of the tables not yet retired (a retired table's Upstream.close() stops and removes its own). */
const LIVE = new Set<HealthChecker>();

export const HEALTH_GAUGE = 'turnpike_upstream_target_healthy';

/**
 * Registers `turnpike_upstream_target_healthy{upstream,target}` (1 healthy, 0 ejected) once per
 * registry; its collect() reads the live checkers at scrape time, so nothing runs per request and
 * a reload's new upstreams replace the old ones' series. Workers aggregate with 'min': a target
 * counts as healthy only when every worker sees it so.
 */
export function registerHealthGauge(registry: client.Registry): void {
  if (registry.getSingleMetric(HEALTH_GAUGE) !== undefined) return;
  new client.Gauge({
    name: HEALTH_GAUGE,
    help: 'Upstream target health as seen by the health checks (1 healthy, 0 ejected); only upstreams with healthCheck.',
    labelNames: ['upstream', 'target'],
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.reset();
      for (const hc of LIVE) for (const [target, v] of hc.states()) this.set({ upstream: hc.upstream, target }, v);
    },
  });
}
