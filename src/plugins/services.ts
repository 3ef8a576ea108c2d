/**
 * What one gateway gives its plugins for as long as it lives: the gateway's metrics registry, a clock,
 * the deadline queue and the gateway-scoped plugin state. `createGateway()` (src/gateway.ts) and
 * `turnpike serve` (src/server/serve.ts) each build one and hand it to every compile, so state survives
 * reloads and two gateways in one process share nothing; compile adds what is per config version and
 * per instance (src/compile/compile.ts, `PluginDeps`).
 */
import client, { type Counter, type Registry } from 'prom-client';
import type { PluginClock, PluginMetrics, StateScope } from '../pipeline/types.js';
import { DEADLINES, type DeadlineQueue } from '../util/deadline-queue.js';
import { StateMap } from './state.js';

export interface PluginServices {
  readonly metrics: PluginMetrics;
  readonly clock: PluginClock;
  readonly deadlines: DeadlineQueue;
  /** deps.state.gateway */
  readonly state: StateScope;
}

export const SYSTEM_CLOCK: PluginClock = Object.freeze({ now: Date.now, monotonic: () => performance.now() });

export interface PluginServicesOptions {
  /** The gateway's metrics registry (GatewayMetrics.registry). */
  registry: Registry;
  clock?: PluginClock;
  /**
   * Default: the process's one queue (DEADLINES). Sharing it between gateways is deliberate: one Node
   * timer per process, whatever the number of gateways; a deadline holds no gateway state.
   */
  deadlines?: DeadlineQueue;
}

export function createPluginServices(opts: PluginServicesOptions): PluginServices {
  return Object.freeze({
    metrics: registryMetrics(opts.registry),
    clock: opts.clock ?? SYSTEM_CLOCK,
    deadlines: opts.deadlines ?? DEADLINES,
    state: new StateMap(),
  });
}

function registryMetrics(registry: Registry): PluginMetrics {
  return Object.freeze({
    registry,
    counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
      const existing = registry.getSingleMetric(name);
      if (existing !== undefined) return existing as Counter<L>;
      return new client.Counter<L>({ name, help, labelNames, registers: [registry] });
    },
  });
}
