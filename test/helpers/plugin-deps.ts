/**
 * Plugin instances outside a compiled config, built the way compile builds them: the schema's defaults
 * applied, and a full `deps` (a gateway's services of their own, a silent logger, an in-memory counter
 * store) that a test overrides where it cares.
 */
import type { Static, TObject } from '@sinclair/typebox';
import pino from 'pino';
import client from 'prom-client';
import type { GatewayConfig } from '../../src/config/schema.js';
import type { PluginDefinition, PluginDeps, PluginHooks } from '../../src/pipeline/types.js';
import { applyDefaults } from '../../src/plugins/schema-defaults.js';
import { createPluginServices } from '../../src/plugins/services.js';
import { StateMap } from '../../src/plugins/state.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';

export function pluginDeps(overrides: Partial<PluginDeps> = {}): PluginDeps {
  const services = createPluginServices({ registry: new client.Registry() });
  return {
    logger: pino({ level: 'silent' }),
    scope: 'global',
    functions: { invoker: () => undefined },
    config: { apis: [] } as unknown as GatewayConfig,
    metrics: services.metrics,
    clock: services.clock,
    deadlines: services.deadlines,
    state: { gateway: services.state, config: new StateMap() },
    stores: { counters: new MemoryCounterStore() },
    ...overrides,
  };
}

/** `def.create()` with the defaults of its schema applied to `config`, as compile calls it. */
export function instantiate<S extends TObject>(def: PluginDefinition<S>, config: Static<S>, overrides: Partial<PluginDeps> = {}): PluginHooks {
  return def.create(applyDefaults(def.configSchema, config) as never, pluginDeps(overrides));
}
