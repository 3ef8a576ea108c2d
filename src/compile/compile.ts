/**
 * Validated config -> immutable route table. Everything that can be decided before traffic is decided
 * here: plugin instances and hook order, path builders, upstream pools, the router. The result is
 * swapped in with one assignment (src/server/gateway.ts); a failure leaves the old table serving.
 */
import { type RedisClients, redisClients } from '../stores/redis-counters.js';
import { BlockList, isIP } from 'node:net';
import { dirname } from 'node:path';
import { templateBudgetFrom } from '../templates/budget.js';
import type { Logger } from 'pino';
import { ConfigError, type Diagnostic } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import type { ConfigInputs, InputReader } from '../config/inputs.js';
import type { ApiConfig, GatewayConfig, RouteConfig } from '../config/schema.js';
import { resolveTlsPolicy } from '../config/tls-policy.js';
import { MockIntegration } from '../integrations/mock/index.js';
import type { Invoker } from '../integrations/function/index.js';
import { FUNCTION_NAME, type FunctionPool, type FunctionRegistry, RemoteFunction } from '../integrations/function/runtime/index.js';
import { type LocateIO, locateFunction } from '../integrations/function/runtime/locate.js';
import { BUNDLED_INTEGRATIONS } from '../integrations/registry.js';
import { type CreatedIntegration, IntegrationConfigError, type IntegrationDefinition, type IntegrationDeps } from '../integrations/types.js';
import { lazyModule } from '../util/lazy.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { LOG_PHASES, REQUEST_PHASES, RESPONSE_PHASES } from '../pipeline/phases.js';
import { applyDefaults } from '../plugins/schema-defaults.js';
import { createPluginServices, type PluginServices } from '../plugins/services.js';
import { StateMap } from '../plugins/state.js';
import type { DoneHook, LogHook, PluginDefinition, PluginDeps, PluginHooks, RequestHook, ResponseHook } from '../pipeline/types.js';
import { Router, RouterBuildError, type RouteDefinition } from '../routing/router.js';
import { regexProblem } from '../util/regex-safety.js';
import { type PoolRegistry, Upstream } from '../upstream/upstream.js';
import { registerHealthGauge } from '../upstream/health.js';
import { registerResilienceMetrics } from '../upstream/metrics.js';
import { nonIdempotentListed } from '../upstream/retry.js';
import type { CompiledRoute, ErrorRenderer, Integration, Limits, RouteTable } from './types.js';

// APIs served from an AWS document (`openapi:`) pull in the importer, VTL templates, request
// validation and the authorizer plugins, and a native API's AWS error dialect the gateway responses
// (VTL): loaded only when a config has one (src/util/lazy.ts).
const aws = lazyModule<typeof import('../aws/compile-aws.js')>('../aws/compile-aws.js', import.meta.url);
const awsDialect = lazyModule<typeof import('../aws/dialect.js')>('../aws/dialect.js', import.meta.url);
const awsGatewayResponses = lazyModule<typeof import('../integrations/aws/gateway-responses.js')>('../integrations/aws/gateway-responses.js', import.meta.url);

export const DEFAULT_LIMITS: Limits = {
  headerBytes: 16_384,
  headerCount: 100,
  urlBytes: 8_192,
  bodyBytes: 10_485_760,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 10_000,
  maxConnectionsPerClient: 1_000,
  maxRequestsPerClient: 1_000,
  shedEventLoopLagMs: 0,
  http2MaxConcurrentStreams: 100,
  http2MaxStreamsPerConnection: 10_000,
  http2MaxResetsPer10s: 200,
  bodyIdleTimeoutMs: 10_000,
  bodyMinBytesPerSecond: 500,
  bodyMinRateGraceMs: 10_000,
  upstreamResponseBytes: 10_485_760,
  websocketIdleTimeoutMs: 600_000,
};

export interface CompileDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  pools: PoolRegistry;
  plugins: readonly PluginDefinition<never>[];
  /** Integration definitions (default: the bundled ones). */
  integrations?: readonly IntegrationDefinition<never>[];
  /** Local function pools, shared across config versions. */
  functions: FunctionRegistry;
  /** Process-wide counters (rate limits, quotas), shared across config versions. */
  counters: import('../stores/types.js').CounterStore;
  /** This process's own counters when `counters` is the cluster primary's (default: counters). */
  fallbackCounters?: import('../stores/types.js').CounterStore;
  /** Redis clients by URL (default: the process's registry). */
  redis?: RedisClients;
  /**
   * What the gateway gives its plugins across config versions (metrics, clock, deadlines, gateway-scoped
   * state). The gateway builds one and passes it to every compile; without it, a new one for this
   * compile alone (`turnpike validate`, one-shot builds: nothing then survives a reload).
   */
  pluginServices?: PluginServices;
  /**
   * Every file this config version reads, collected before compile (src/config/inputs.ts): compile
   * reads them from here and never from the disk, and the table's version is theirs.
   */
  inputs: ConfigInputs;
}

type PluginMap = Record<string, unknown> | undefined;
/** Plugin configs for one route, after merging global < API < route. */
export type PluginChoice = Map<string, { cfg: Record<string, unknown>; scope: 'global' | 'api' | 'route' }>;

/** Everything needed to add one route to the table, whatever config it came from. */
export interface RouteSpec {
  at: (string | number)[];
  /** Reports a problem at a key path under `at` (default: the config file's positions). */
  report?: (path: (string | number)[], message: string) => void;
  api: string;
  name: string;
  /** The stage this route serves (AWS-document APIs); undefined for native routes. */
  stage?: string;
  methods: readonly string[];
  path: string;
  hosts: readonly string[];
  headers?: Readonly<Record<string, string>>;
  query?: Readonly<Record<string, string>>;
  websocket: boolean;
  allowEncodedSlashes: boolean;
  maxBodyBytes: number;
  /** Read the whole body before the integration runs (route/API `requestBuffering`; always for AWS-document routes). */
  requestBuffering?: boolean;
  integration: Integration;
  /** Hooks that run before every plugin (e.g. a refusal the compiler imposes). */
  leadingRequestHooks?: readonly RequestHook[];
  /** Hooks that run after every plugin, just before the integration (the integration's own request mapping). */
  trailingRequestHooks?: readonly RequestHook[];
  /** Response hooks that run before plugins' (e.g. the integration's own header operations). */
  responseHooks: readonly ResponseHook[];
  errorAnswer?: ErrorRenderer;
  plugins: PluginChoice;
}
interface PluginInstance {
  def: PluginDefinition<never>;
  hooks: PluginHooks;
}

/** How one API's problems are reported and its functions found (a config's own APIs, or one translated from a document). */
export interface ApiScope {
  err: (path: (string | number)[], message: string) => void;
  warn: (path: (string | number)[], message: string) => void;
  invoker: (name: string, at: (string | number)[]) => Invoker | undefined;
  /** Set for APIs whose key paths are not the config file's (routes report through it). */
  report?: (path: (string | number)[], message: string) => void;
}

export function compile(config: GatewayConfig, doc: SourceDocument, deps: CompileDeps): RouteTable {
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const err = (path: (string | number)[], message: string) => {
    const pos = doc.locate(path);
    diagnostics.push({ file: doc.file, line: pos.line, column: pos.column, path: keyPath(path), message, severity: 'error' });
  };
  const warn = (path: (string | number)[], message: string) => {
    const pos = doc.locate(path);
    warnings.push({ file: doc.file, line: pos.line, column: pos.column, path: keyPath(path), message, severity: 'warning' });
  };
  const configDir = dirname(doc.file);
  // Every file below comes from the collected inputs, never from node:fs: compile does no I/O, and the version covers them all.
  const inputs = deps.inputs;
  const pluginDefs = new Map(deps.plugins.map((p) => [p.name, p]));
  const services = deps.pluginServices ?? createPluginServices({ registry: deps.metrics.registry });
  // Shared by every plugin instance of this config version, dropped with it.
  const pluginState = { gateway: services.state, config: new StateMap() };
  const integrationDefs = new Map((deps.integrations ?? BUNDLED_INTEGRATIONS).map((d) => [d.type, d]));

  // Upstreams named in the config: one object per table, pools shared through the registry.
  const upstreams = new Map<string, Upstream>();
  const created: Upstream[] = [];
  const instances = new Map<object, PluginInstance>();
  const functionPools: FunctionPool[] = [];
  const invokers = new Map<string, Invoker>();
  const held: Held = { upstreams: created, functionPools, instances, functions: deps.functions };
  const closeAll = () => releaseHeld(held);

  try {
    for (const [name, u] of Object.entries(config.upstreams ?? {})) {
      try {
        const bad = u.retries !== undefined ? nonIdempotentListed(u.retries) : [];
        if (bad.length > 0) err(['upstreams', name, 'retries', 'methods'], `${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} not idempotent: set retries.retryNonIdempotent: true to retry ${bad.length > 1 ? 'them' : 'it'}, or remove ${bad.length > 1 ? 'them' : 'it'}`);
        if (u.dns?.minTtlMs !== undefined && u.dns.maxTtlMs !== undefined && u.dns.minTtlMs > u.dns.maxTtlMs) err(['upstreams', name, 'dns', 'minTtlMs'], `minTtlMs (${u.dns.minTtlMs}) must not exceed maxTtlMs (${u.dns.maxTtlMs})`);
        const up = new Upstream(name, u, deps.pools, configDir, { logger: deps.logger, readText: (f) => inputs.readText(f) });
        if (up.health !== undefined) registerHealthGauge(deps.metrics.registry);
        if (up.stats !== undefined) registerResilienceMetrics(deps.metrics.registry);
        upstreams.set(name, up);
        created.push(up);
      } catch (e) {
        err(['upstreams', name], `cannot build upstream: ${(e as Error).message}`);
      }
    }

    const invokerFor = (name: string, at: (string | number)[]): Invoker | undefined => {
      const known = invokers.get(name);
      if (known) return known;
      const def = config.functions?.[name];
      if (!def) {
        const names = Object.keys(config.functions ?? {});
        err(at, `unknown function "${name}"${names.length ? `; defined: ${names.join(', ')}` : '; define it under "functions"'}`);
        return undefined;
      }
      let invoker: Invoker;
      if (def.endpoint !== undefined) {
        invoker = new RemoteFunction(def.endpoint, def.remoteName ?? name, { timeoutMs: def.timeoutMs ?? 3000 });
      } else if (def.module !== undefined || def.handler !== undefined) {
        // Where the code is and whether this machine runs its runtime: the runtime seam decides (locate.ts), from the inputs.
        const located = locateFunction(def, configDir, locateIO(inputs));
        if (!located.ok) {
          err(['functions', name, located.at], located.message);
          return undefined;
        }
        for (const w of located.warnings) warn(['functions', name, 'runtime'], w);
        const { code } = located;
        const pool = deps.functions.get({
          name,
          module: code.module,
          codeHash: inputs.stateOf(code.module),
          export: code.export,
          runtime: code.runtime,
          handler: code.handler,
          codeDir: code.codeDir,
          ...(code.layers.length > 0 ? { layers: code.layers } : {}),
          ...(code.runtimeCommand ? { runtimeCommand: code.runtimeCommand } : {}),
          ...(code.forceCommonJs ? { forceCommonJs: true } : {}),
          timeoutMs: def.timeoutMs,
          concurrency: def.concurrency,
          memoryMb: def.memoryMb,
          environment: def.environment,
        });
        functionPools.push(pool);
        invoker = pool;
      } else {
        err(['functions', name], 'a function needs "handler" (with "runtime" and "codeUri"), "module" (a handler file) or "endpoint" (a Lambda Invoke API)');
        return undefined;
      }
      invokers.set(name, invoker);
      return invoker;
    };

    const functionForArn = (name: string, docDir: string, at: (string | number)[]): Invoker | undefined => {
      if (config.functions?.[name] !== undefined) return invokerFor(name, at);
      // A document's function name becomes a file name below: it must be a Lambda name, never a path.
      if (!FUNCTION_NAME.test(name)) {
        err(at, `Lambda function name "${name.slice(0, 100)}" is not a function name: AWS allows [A-Za-z0-9_-], 1 to 64 characters`);
        return undefined;
      }
      const known = invokers.get(`arn:${docDir}:${name}`);
      if (known) return known;
      const module = aws().findFunctionModule(docDir, name, (p) => inputs.exists(p));
      if (module === undefined) {
        err(at, `Lambda function "${name}" has no handler: add functions/${name}.mjs (or .js/.cjs) beside the document, or map it under "functions"`);
        return undefined;
      }
      const pool = deps.functions.get({ name, module, codeHash: inputs.stateOf(module) });
      functionPools.push(pool);
      invokers.set(`arn:${docDir}:${name}`, pool);
      // Authorizer plugins look functions up by name; a document's own function is found that way too.
      if (!invokers.has(name)) invokers.set(name, pool);
      return pool;
    };

    // Every configured function gets its invoker up front, so plugins (authorizers) can look them up by name.
    for (const name of Object.keys(config.functions ?? {})) invokerFor(name, ['functions', name]);
    const functionLookup = lookupIn(invokers);

    const instanceFor = (name: string, cfg: Record<string, unknown>, scope: string, at: (string | number)[], report = err): PluginInstance | null | undefined => {
      const cached = instances.get(cfg);
      if (cached) return cached;
      const def = pluginDefs.get(name);
      if (!def) return undefined;
      const { enabled: _e, ...pluginConfig } = cfg;
      let hooks: PluginHooks;
      try {
        // Defaults from the schema, once per instance: create() sees every defaulted property set.
        hooks = def.create(applyDefaults(def.configSchema, pluginConfig) as never, {
          logger: deps.logger.child({ plugin: name, scope }),
          scope,
          functions: functionLookup,
          config,
          metrics: services.metrics,
          clock: services.clock,
          deadlines: services.deadlines,
          state: pluginState,
          stores: { counters: deps.counters, fallbackCounters: deps.fallbackCounters ?? deps.counters, redis: deps.redis ?? redisClients },
        });
      } catch (e) {
        // A plugin rejects a config the schema cannot express; `problems` carry key paths within the plugin's config.
        const problems = (e as { problems?: { path: (string | number)[]; message: string }[] }).problems;
        if (problems && problems.length > 0) for (const p of problems) report([...at, 'plugins', name, ...p.path], p.message);
        else report([...at, 'plugins', name], (e as Error).message);
        return null;
      }
      for (const phase of [...REQUEST_PHASES, ...RESPONSE_PHASES, ...LOG_PHASES]) {
        // The declared phases are what docs, order tests and `turnpike routes` rely on: a hook elsewhere is a plugin bug.
        if (hooks[phase] !== undefined && !def.phases.includes(phase)) throw new Error(`plugin "${name}" returned a ${phase} hook but declares phases [${def.phases.join(', ')}]`);
      }
      const inst = { def, hooks };
      instances.set(cfg, inst);
      return inst;
    };

    const routes: CompiledRoute[] = [];
    const definitions: RouteDefinition<CompiledRoute>[] = [];
    const definitionAt: { at: (string | number)[]; report: (path: (string | number)[], message: string) => void }[] = [];
    const limits: Limits = { ...DEFAULT_LIMITS, ...config.server?.limits };
    const seenIds = new Map<string, (string | number)[]>();
    const corsRoutes: RouteSpec[] = [];
    let tableDefaultClaimed = config.apis.some((a) => a.routes?.some((r) => r.path === '$default'));

    /** Builds one compiled route (hooks flattened in phase order) and its router definition. */
    const addRoute = (r: RouteSpec): void => {
      const id = `${r.api}/${r.name}`;
      const report = r.report ?? err;
      const corsCfg = r.plugins.get('cors');
      if (corsCfg && corsCfg.cfg.enabled !== false && !r.methods.includes('OPTIONS') && !r.methods.includes('ANY') && r.path !== '$default') corsRoutes.push(r);
      const prev = seenIds.get(id);
      if (prev) report([...r.at, 'name'], `duplicate route name "${r.name}" in api "${r.api}" (first at ${keyPath(prev)})`);
      seenIds.set(id, r.at);
      for (const [k, v] of Object.entries({ ...r.headers, ...r.query })) {
        if (v.startsWith('~')) {
          const problem = regexProblem(v.slice(1));
          if (problem) report([...r.at, r.headers?.[k] === v ? 'headers' : 'query', k], problem);
        }
      }
      // Plugins: route config wins over API, API over global; `enabled: false` turns one off.
      const chosen: PluginInstance[] = [];
      for (const [pname, { cfg, scope }] of r.plugins) {
        if (cfg.enabled === false) continue;
        const inst = instanceFor(pname, cfg, scope === 'route' ? `route:${id}` : scope === 'api' ? `api:${r.api}` : 'global', r.at, report);
        if (inst === undefined) report([...r.at, 'plugins', pname], `unknown plugin "${pname}"`);
        else if (inst !== null) chosen.push(inst);
      }
      chosen.sort((a, b) => b.def.priority - a.def.priority || (a.def.name < b.def.name ? -1 : a.def.name > b.def.name ? 1 : 0));
      const requestHooks: RequestHook[] = [...(r.leadingRequestHooks ?? [])];
      const responseHooks: ResponseHook[] = [...r.responseHooks];
      const logHooks: LogHook[] = [];
      const doneHooks: DoneHook[] = [];
      const order: string[] = [];
      for (const phase of REQUEST_PHASES) {
        for (const p of chosen) {
          const h = p.hooks[phase];
          if (h) {
            requestHooks.push(h);
            order.push(`${phase}:${p.def.name}`);
          }
        }
      }
      if (r.trailingRequestHooks !== undefined) requestHooks.push(...r.trailingRequestHooks);
      for (const phase of RESPONSE_PHASES) {
        for (const p of chosen) {
          const h = p.hooks[phase];
          if (h) {
            responseHooks.push(h);
            order.push(`${phase}:${p.def.name}`);
          }
        }
      }
      for (const phase of LOG_PHASES) {
        for (const p of chosen) {
          const h = p.hooks[phase];
          if (h) {
            const pluginName = p.def.name;
            logHooks.push(guardLogHook(h, pluginName, deps.metrics));
            order.push(`${phase}:${p.def.name}`);
          }
        }
      }
      for (const p of chosen) if (p.hooks.done) doneHooks.push(p.hooks.done);
      const compiled: CompiledRoute = Object.freeze({
        id,
        api: r.api,
        name: r.name,
        stage: r.stage,
        methods: r.methods,
        path: r.path,
        hosts: r.hosts,
        websocket: r.websocket,
        allowEncodedSlashes: r.allowEncodedSlashes,
        maxBodyBytes: r.maxBodyBytes,
        // AWS-document routes (those with a stage) always buffer, as AWS reads a body whole before it
        // calls an integration: a slow body never holds an upstream connection, and a body whose
        // chunked framing turns out invalid never reaches the upstream.
        needsRequestBody:
          r.integration.needsRequestBody === true || r.requestBuffering === true || r.stage !== undefined || chosen.some((p) => p.def.needsRequestBody === true),
        requestHooks: Object.freeze(requestHooks),
        responseHooks: Object.freeze(responseHooks),
        logHooks: Object.freeze(logHooks),
        doneHooks: Object.freeze(doneHooks),
        pluginOrder: Object.freeze(order),
        integration: r.integration,
        stats: deps.metrics.statsFor(r.api, r.name),
        errorAnswer: r.errorAnswer,
      });
      routes.push(compiled);
      const def: RouteDefinition<CompiledRoute> = { methods: r.methods, path: r.path, value: compiled };
      if (r.hosts.length > 0 && !r.hosts.includes('*')) def.hosts = r.hosts;
      if (r.headers) def.headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
      if (r.query) def.query = r.query;
      definitions.push(def);
      definitionAt.push({ at: r.at, report });
    };

    /**
     * A route's integration, created through the registry: native routes and AWS documents alike (no
     * branch on integration types here). Throws IntegrationConfigError (paths relative to the
     * integration config) or an Error; the caller reports them at its own key path.
     */
    const templateBudget = templateBudgetFrom(config.server?.limits);
    const createIntegration = (
      ic: { type: string },
      route: IntegrationDeps['route'],
      invoker: (name: string) => Invoker | undefined,
      warnAt: (path: (string | number)[], message: string) => void,
    ): CreatedIntegration => {
      const def = integrationDefs.get(ic.type);
      if (def === undefined) throw new IntegrationConfigError([{ path: ['type'], message: `unknown integration type "${ic.type}"; known: ${[...integrationDefs.keys()].join(', ')}` }]);
      // Defaults from the schema, once per route (as for plugins): create() sees every defaulted property set.
      return def.create(applyDefaults(def.configSchema, ic) as never, {
        logger: deps.logger,
        route,
        upstream: (n) => upstreams.get(n),
        upstreamNames: () => [...upstreams.keys()],
        createUpstream: (url, timeouts) => {
          const up = new Upstream(url, { targets: [{ url }], ...(timeouts !== undefined ? { timeouts } : {}) }, deps.pools, configDir);
          created.push(up);
          return up;
        },
        invoker,
        warn: warnAt,
        pools: deps.pools,
        templateBudget,
      });
    };

    /**
     * The routes of one native API. A config's own APIs report at its key paths; an API translated from
     * an AWS document (src/aws/compile-aws.ts) brings its own reporters, which map its key paths back
     * into the OpenAPI document, and its own function lookup (functions beside the document).
     */
    const compileApi = (api: ApiConfig, apiPath: (string | number)[], s: ApiScope): void => {
      const dialectOf = apiDialects(api, (p, m) => s.err([...apiPath, ...p], m), deps.logger);
      const apiKind = api.apiType;
      (api.routes ?? []).forEach((route: RouteConfig, ri: number) => {
        const at: (string | number)[] = [...apiPath, 'routes', ri];
        const methods = route.methods ?? ['ANY'];
        // A staged route's path is relative to its stage: the stage's basePath, its hosts and variables.
        const staged = route.stage !== undefined;
        const stageCfg = staged ? api.stages?.[route.stage as string] : undefined;
        const base = staged ? stageCfg?.basePath : api.basePath;
        const fullPath = route.path === '$default' ? '$default' : joinPath(base, route.path);
        const name = route.name ?? `${methods.join(',')} ${fullPath}`;
        const maxBodyBytes = route.maxBodyBytes ?? limits.bodyBytes;
        let integration: Integration | undefined;
        const responseHooks: ResponseHook[] = [];
        const ic = route.integration;
        try {
          const made = createIntegration(
            ic,
            {
              api: api.name,
              path: fullPath,
              methods,
              maxBodyBytes,
              ...(staged ? { stage: route.stage, resourcePath: route.path } : {}),
              ...(apiKind !== undefined ? { apiKind } : {}),
            },
            (n) => s.invoker(n, [...at, 'integration', 'function']),
            (p, m) => s.warn([...at, 'integration', ...p], m),
          );
          integration = made.integration;
          if (made.responseHooks !== undefined) responseHooks.push(...made.responseHooks);
        } catch (e) {
          const problems = (e as { problems?: readonly { path: (string | number)[]; message: string }[] }).problems;
          if (problems !== undefined) for (const p of problems) s.err([...at, 'integration', ...p.path], p.message);
          else s.err([...at, 'integration'], `cannot build the ${ic.type} integration: ${(e as Error).message}`);
        }

        if (!integration) return;
        const errorAnswer = dialectOf(route.stage);
        const spec: RouteSpec = {
          at,
          ...(s.report !== undefined ? { report: s.report } : {}),
          api: api.name,
          name,
          ...(staged ? { stage: route.stage } : {}),
          methods,
          path: fullPath,
          hosts: route.hosts ?? stageCfg?.hosts ?? api.hosts ?? [],
          headers: route.headers,
          query: route.query,
          websocket: route.websocket ?? false,
          allowEncodedSlashes: route.allowEncodedSlashes ?? false,
          maxBodyBytes,
          requestBuffering: route.requestBuffering ?? api.requestBuffering ?? false,
          integration,
          responseHooks,
          plugins: mergePlugins(config.plugins as PluginMap, api.plugins as PluginMap, route.plugins as PluginMap),
          ...(errorAnswer !== undefined ? { errorAnswer } : {}),
        };
        addRoute(spec);
        // A stage's root answers at /{stage} and /{stage}/ alike (as API Gateway's stage URLs do).
        if (staged && route.path === '/' && fullPath !== '/') addRoute({ ...spec, name: `${name} (trailing slash)`, path: `${fullPath}/` });
      });
    };
    const nativeScope: ApiScope = { err, warn, invoker: invokerFor };

    config.apis.forEach((api: ApiConfig, ai: number) => {
      const apiPath: (string | number)[] = ['apis', ai];
      if (api.openapi !== undefined) {
        if (api.routes !== undefined && api.routes.length > 0) err([...apiPath, 'routes'], 'an API served from "openapi" takes its routes from the document; remove "routes"');
        // AWS as a front end: the document becomes a native API (validated as a native file), compiled as one.
        const translated = aws().translateAwsApi(api, apiPath, {
          configDir,
          readText: (f) => inputs.readText(f),
          err,
          report: (d) => (d.severity === 'error' ? diagnostics.push(d) : warnings.push(d)),
          functionForArn,
          logger: deps.logger,
          globalPlugins: config.plugins as PluginMap,
          plugins: deps.plugins,
          integrations: deps.integrations ?? BUNDLED_INTEGRATIONS,
          claimTableDefault: () => {
            if (tableDefaultClaimed) return false;
            tableDefaultClaimed = true;
            return true;
          },
        });
        if (translated !== undefined) compileApi(translated.api, translated.apiPath, translated.scope);
      } else if (api.routes === undefined) err(apiPath, 'an API needs "routes" or "openapi" (an AWS API Gateway document)');
      else compileApi(api, apiPath, nativeScope);
    });

    addPreflightRoutes(corsRoutes, definitions, addRoute);

    // Plugin configs nobody references would be caught by the schema; unknown global plugin names too:
    for (const name of Object.keys(config.plugins ?? {})) if (!pluginDefs.has(name)) err(['plugins', name], `unknown plugin "${name}"`);

    const trusted = buildBlockList(config.server?.trustedProxies ?? [], (i, m) => err(['server', 'trustedProxies', i], m));

    // The HTTPS listener's cipher suites and groups: checked here so `turnpike validate`, a start and a
    // reload all reject a bad list before any handshake (src/config/tls-policy.ts).
    const serverTls = config.server?.tls;
    if (serverTls !== undefined) {
      for (const p of resolveTlsPolicy(serverTls).problems) {
        const at = ['server', 'tls', p.key];
        if (p.severity === 'error') err(at, p.message);
        else {
          const pos = doc.locate(at);
          warnings.push({ file: doc.file, line: pos.line, column: pos.column, path: keyPath(at), message: p.message, severity: 'warning' });
        }
      }
    }

    let router: Router<CompiledRoute> | undefined;
    if (diagnostics.length === 0) {
      try {
        router = new Router(definitions);
      } catch (e) {
        if (!(e instanceof RouterBuildError)) throw e;
        const d = definitionAt[e.routeIndex];
        if (d) d.report([...d.at, 'path'], e.message);
        else err(['apis'], e.message);
      }
    }
    if (diagnostics.length > 0 || !router) throw new ConfigError(diagnostics);

    return makeTable({
      version: inputs.version(),
      source: doc.file,
      router,
      routes: Object.freeze(routes),
      limits: Object.freeze(limits),
      trustedProxies: trusted,
      accessLog: config.server?.accessLog ?? true,
      logger: deps.logger,
      metrics: deps.metrics,
      shutdownGraceMs: config.server?.shutdownGraceMs ?? 10_000,
      warnings: Object.freeze(warnings),
      activate: processSettings(deps.counters, config.server?.counters?.workerTimeoutMs),
      held,
    });
  } catch (e) {
    closeAll();
    throw e;
  }
}

// Runtime closures are made by module-level functions on purpose: a closure created inside compile()
// would keep compile's whole scope alive with the table (the parsed document with its positions and
// the raw config: ~15 KB per route, 150 MB for 10,000 routes).

interface Held {
  upstreams: Upstream[];
  functionPools: FunctionPool[];
  instances: Map<object, PluginInstance>;
  functions: FunctionRegistry;
}

function releaseHeld(h: Held): void {
  for (const u of h.upstreams) u.close();
  for (const p of h.functionPools) h.functions.release(p);
  for (const i of h.instances.values()) void i.hooks.close?.();
}

/**
 * An API's error dialect by stage: undefined for native JSON; with aws-rest / aws-http, the API's gateway
 * responses (AWS's defaults, or its `gatewayResponses`) rendered with the stage's name and variables.
 */
function apiDialects(api: ApiConfig, err: (path: (string | number)[], message: string) => void, logger: Logger): (stage: string | undefined) => ErrorRenderer | undefined {
  const dialect = api.errorDialect;
  if (dialect === undefined || dialect === 'native') {
    if (api.gatewayResponses !== undefined) err(['gatewayResponses'], 'gatewayResponses need errorDialect aws-rest or aws-http');
    return () => undefined;
  }
  let gr: import('../integrations/aws/gateway-responses.js').GatewayResponses;
  try {
    gr = new (awsGatewayResponses().GatewayResponses)(dialect === 'aws-rest' ? 'rest' : 'http', api.gatewayResponses);
  } catch (e) {
    err(['gatewayResponses'], (e as Error).message);
    return () => undefined;
  }
  for (const w of gr.warnings) logger.warn({ api: api.name }, w);
  const byStage = new Map<string | undefined, ErrorRenderer>();
  return (stage) => {
    let r = byStage.get(stage);
    if (r === undefined) {
      r = awsDialect().awsErrorDialect(gr, stage ?? '$default', { ...(stage !== undefined ? api.stages?.[stage]?.variables : undefined) });
      byStage.set(stage, r);
    }
    return r;
  };
}

function processSettings(counters: import('../stores/types.js').CounterStore, workerTimeoutMs: number | undefined): () => void {
  return () => counters.configureDeadline?.(workerTimeoutMs);
}

function lookupIn(invokers: ReadonlyMap<string, Invoker>): PluginDeps['functions'] {
  return { invoker: (name) => invokers.get(name) };
}

function guardLogHook(h: LogHook, plugin: string, metrics: GatewayMetrics): LogHook {
  return (ctx) => {
    try {
      h(ctx);
    } catch {
      metrics.logHookErrors.inc({ plugin });
    }
  };
}

function makeTable(t: Omit<RouteTable, 'inflight' | 'retired' | 'close'> & { held: Held }): RouteTable {
  const { held, ...fields } = t;
  let closed = false;
  return {
    ...fields,
    inflight: 0,
    retired: false,
    async close() {
      if (closed) return;
      closed = true;
      releaseHeld(held);
      for (const r of fields.routes) r.integration.close?.();
    },
  };
}

/**
 * Browsers send a CORS preflight (OPTIONS) to every path they call cross-origin. A route with CORS that
 * does not accept OPTIONS gets a companion OPTIONS route on the same path and hosts whose only plugin
 * is that route's cors instance (AWS answers preflights before authorizers run); a plain OPTIONS that is
 * not a preflight is 405 with Allow, as the router would have said.
 */
function addPreflightRoutes(candidates: readonly RouteSpec[], definitions: readonly RouteDefinition<CompiledRoute>[], addRoute: (r: RouteSpec) => void): void {
  const key = (path: string, hosts: readonly string[]) => `${[...hosts].sort().join(',')} ${path}`;
  const taken = new Set<string>();
  for (const d of definitions) if (d.methods.includes('OPTIONS') || d.methods.includes('ANY')) taken.add(key(d.path, d.hosts ?? []));
  const groups = new Map<string, { first: RouteSpec; methods: Set<string> }>();
  for (const r of candidates) {
    const k = key(r.path, r.hosts);
    if (taken.has(k)) continue;
    const g = groups.get(k);
    if (g) for (const m of r.methods) g.methods.add(m);
    else groups.set(k, { first: r, methods: new Set(r.methods) });
  }
  for (const { first, methods } of groups.values()) {
    const allow = [...methods, 'OPTIONS'].sort().join(', ');
    const cors = first.plugins.get('cors');
    if (!cors) continue;
    addRoute({
      at: first.at,
      api: first.api,
      name: `${first.name} (CORS preflight)`,
      ...(first.stage !== undefined ? { stage: first.stage } : {}),
      methods: ['OPTIONS'],
      path: first.path,
      hosts: first.hosts,
      headers: first.headers,
      query: first.query,
      websocket: false,
      allowEncodedSlashes: first.allowEncodedSlashes,
      maxBodyBytes: first.maxBodyBytes,
      integration: new MockIntegration({
        type: 'mock',
        status: 405,
        headers: { allow, 'content-type': 'application/json' },
        body: { message: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' },
      }),
      responseHooks: [],
      plugins: new Map([['cors', cors]]),
    });
  }
}

function mergePlugins(global: PluginMap, api: PluginMap, route: PluginMap): PluginChoice {
  const out: PluginChoice = new Map();
  for (const [scope, map] of [
    ['global', global],
    ['api', api],
    ['route', route],
  ] as const) {
    for (const [k, v] of Object.entries(map ?? {})) out.set(k, { cfg: (v ?? {}) as Record<string, unknown>, scope });
  }
  return out;
}

export function joinPath(base: string | undefined, path: string): string {
  if (!base || base === '/') return path;
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  return path === '/' ? b : b + path;
}

function keyPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

function buildBlockList(cidrs: readonly string[], report: (index: number, message: string) => void): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const [i, c] of cidrs.entries()) {
    const [addr, bits] = c.split('/');
    const family = isIP(addr ?? '');
    if (family === 0) {
      report(i, `"${c}" is not an IP address or CIDR`);
      continue;
    }
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      report(i, `"${c}" has an invalid prefix length`);
      continue;
    }
    list.addSubnet(addr as string, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** Locate's file questions answered from a config version's inputs (compile reads no disk). */
function locateIO(inputs: InputReader): LocateIO {
  return {
    exists: (p) => inputs.exists(p),
    readText: (p) => {
      try {
        return inputs.readText(p);
      } catch {
        return undefined;
      }
    },
    executable: (p) => inputs.executable?.(p),
  };
}
