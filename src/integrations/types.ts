/**
 * The integration seam: what answers a matched route is a registered definition, like a plugin.
 * Compile looks the route's `integration.type` up in the registry (src/integrations/registry.ts) and
 * calls `create()` once per compiled config; there is no branch on integration types anywhere else.
 * How to add one: docs/integrations.md.
 */
import type { TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Integration } from '../compile/types.js';
import type { PluginConfig, ResponseHook } from '../pipeline/types.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Invoker } from './function/index.js';

export interface IntegrationDeps {
  logger: Logger;
  /**
   * The route the integration serves. Staged routes also give their deployment `stage` and the
   * `resourcePath` as the API names it (without the stage's basePath that `path` carries).
   */
  route: {
    readonly api: string;
    readonly path: string;
    readonly methods: readonly string[];
    readonly maxBodyBytes: number;
    readonly stage?: string;
    readonly resourcePath?: string;
    /** The kind of AWS API the route's API behaves as (its `apiType`), when it says. */
    readonly apiKind?: 'rest' | 'http';
  };
  /** The process's connection pools, for integrations that keep their own (aws-mapping's HTTP endpoints). */
  pools?: import('../upstream/upstream.js').PoolRegistry;
  /** An upstream named under `upstreams` (shared by the routes of this config), or undefined. */
  upstream(name: string): Upstream | undefined;
  /** Names of the configured upstreams, for messages. */
  upstreamNames(): readonly string[];
  /** A private upstream for a URL (with the route's timeouts); closed with the config. */
  createUpstream(url: string, timeouts?: Partial<import('../upstream/upstream.js').UpstreamTimeouts>): Upstream;
  /** A config warning at a key path relative to the route's `integration` (shown by validate and at start). */
  warn(path: (string | number)[], message: string): void;
  /** A function of the config (`functions`), or undefined (the definition reports it). */
  invoker(name: string): Invoker | undefined;
  /** The config's mapping-template CPU budget (`server.limits.template*`), for integrations that render templates. */
  templateBudget?: import('../templates/budget.js').TemplateBudget;
}

/** What create() gives: the integration, and response hooks of its own (run before the plugins'). */
export interface CreatedIntegration {
  integration: Integration;
  responseHooks?: readonly ResponseHook[];
}

/** A problem with the config, at a key path relative to the route's `integration`. */
export interface IntegrationProblem {
  path: (string | number)[];
  message: string;
}

/** Thrown by create() for a config the schema cannot judge alone. */
export class IntegrationConfigError extends Error {
  readonly problems: readonly IntegrationProblem[];
  constructor(problems: IntegrationProblem[]) {
    super(problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; '));
    this.problems = problems;
  }
}

/**
 * The config `create()` receives: the schema's static type, with every property that has a schema
 * `default` present. Compile applies the defaults once per route (`applyDefaults`, the same function
 * and the same rule as for plugins, src/plugins/schema-defaults.ts), so a definition never writes
 * `config.x ?? 200`: a default is written once, in the schema, where validation, the JSON Schema
 * (`turnpike schema`) and the docs read it too.
 */
export type IntegrationConfig<S extends TObject> = PluginConfig<S>;

/**
 * An integration type, typed by its config schema: `const d: IntegrationDefinition<typeof schema> =
 * { ..., create(config, deps) }` gets `config` typed without a cast and without a hand-written config
 * interface. `IntegrationDefinition<never>` is any definition (what registries and the compiler hold;
 * its create() takes a config only the compiler builds). test/unit/integration-contract.test.ts fails
 * when a bundled definition's config type stops being the one derived from its schema.
 */
export interface IntegrationDefinition<S extends TObject = TObject> {
  /** The `integration.type` it serves. */
  type: string;
  description: string;
  /** Validates the config (with `type: <this type>`), gives defaults (the only place they are written) and the docs. */
  configSchema: [S] extends [never] ? TObject : S;
  /** Runs once per route of a compiled config, with the schema's defaults applied. */
  create(config: [S] extends [never] ? never : IntegrationConfig<S>, deps: IntegrationDeps): CreatedIntegration;
}
