/**
 * Validated config -> immutable route table. Everything that can be decided before traffic is decided
 * here: plugin instances and hook order, path builders, upstream pools, the router. The result is
 * swapped in with one assignment (src/server/gateway.ts); a failure leaves the old table serving.
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, type Diagnostic } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import type { ApiConfig, GatewayConfig, RouteConfig } from '../config/schema.js';
import { HttpIntegration, compileHeaderOps } from '../integrations/http/index.js';
import { FunctionIntegration, type Invoker } from '../integrations/function/index.js';
import { type FunctionPool, type FunctionRegistry, RemoteFunction } from '../integrations/function/runtime/index.js';
import { MockIntegration } from '../integrations/mock/index.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { LOG_PHASES, REQUEST_PHASES, RESPONSE_PHASES } from '../pipeline/phases.js';
import type { LogHook, PluginDefinition, PluginHooks, RequestHook, ResponseHook } from '../pipeline/types.js';
import { Router, RouterBuildError, type RouteDefinition } from '../routing/router.js';
import { isCatastrophic } from '../util/regex-safety.js';
import { type PoolRegistry, Upstream } from '../upstream/upstream.js';
import type { CompiledRoute, Integration, Limits, RouteTable } from './types.js';

export const DEFAULT_LIMITS: Limits = {
  headerBytes: 16_384,
  headerCount: 100,
  urlBytes: 8_192,
  bodyBytes: 10_485_760,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
};

export interface CompileDeps {
  logger: Logger;
  metrics: GatewayMetrics;
  pools: PoolRegistry;
  plugins: readonly PluginDefinition<never>[];
  /** Local function pools, shared across config versions. */
  functions: FunctionRegistry;
}

type PluginMap = Record<string, unknown> | undefined;
interface PluginInstance {
  def: PluginDefinition<never>;
  hooks: PluginHooks;
}

export function compile(config: GatewayConfig, doc: SourceDocument, deps: CompileDeps): RouteTable {
  const diagnostics: Diagnostic[] = [];
  const err = (path: (string | number)[], message: string) => {
    const pos = doc.locate(path);
    diagnostics.push({ file: doc.file, line: pos.line, column: pos.column, path: keyPath(path), message, severity: 'error' });
  };
  const configDir = dirname(doc.file);
  const pluginDefs = new Map(deps.plugins.map((p) => [p.name, p]));

  // Upstreams named in the config: one object per table, pools shared through the registry.
  const upstreams = new Map<string, Upstream>();
  const created: Upstream[] = [];
  const instances = new Map<object, PluginInstance>();
  const functionPools: FunctionPool[] = [];
  const invokers = new Map<string, Invoker>();
  const closeAll = () => {
    for (const u of created) u.close();
    for (const p of functionPools) deps.functions.release(p);
    for (const i of instances.values()) void i.hooks.close?.();
  };

  try {
    for (const [name, u] of Object.entries(config.upstreams ?? {})) {
      try {
        const up = new Upstream(name, u, deps.pools, configDir);
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
      } else if (def.module !== undefined) {
        const module = resolve(configDir, def.module);
        if (!existsSync(module)) {
          err(['functions', name, 'module'], `handler file not found: ${module}`);
          return undefined;
        }
        const pool = deps.functions.get({
          name,
          module,
          export: def.export,
          timeoutMs: def.timeoutMs,
          concurrency: def.concurrency,
          memoryMb: def.memoryMb,
          environment: def.environment,
        });
        functionPools.push(pool);
        invoker = pool;
      } else {
        err(['functions', name], 'a function needs "module" (a handler file) or "endpoint" (a Lambda Invoke API)');
        return undefined;
      }
      invokers.set(name, invoker);
      return invoker;
    };

    const instanceFor = (name: string, cfg: Record<string, unknown>, scope: string): PluginInstance | undefined => {
      const cached = instances.get(cfg);
      if (cached) return cached;
      const def = pluginDefs.get(name);
      if (!def) return undefined;
      const { enabled: _e, ...pluginConfig } = cfg;
      const hooks = def.create(pluginConfig as never, { logger: deps.logger.child({ plugin: name, scope }), scope });
      const inst = { def, hooks };
      instances.set(cfg, inst);
      return inst;
    };

    const routes: CompiledRoute[] = [];
    const definitions: RouteDefinition<CompiledRoute>[] = [];
    const limits: Limits = { ...DEFAULT_LIMITS, ...config.server?.limits };
    const seenIds = new Map<string, (string | number)[]>();

    config.apis.forEach((api: ApiConfig, ai: number) => {
      const apiPath: (string | number)[] = ['apis', ai];
      api.routes.forEach((route: RouteConfig, ri: number) => {
        const at: (string | number)[] = [...apiPath, 'routes', ri];
        const methods = route.methods ?? ['ANY'];
        const fullPath = route.path === '$default' ? '$default' : joinPath(api.basePath, route.path);
        const name = route.name ?? `${methods.join(',')} ${fullPath}`;
        const id = `${api.name}/${name}`;
        const prev = seenIds.get(id);
        if (prev) err([...at, 'name'], `duplicate route name "${name}" in api "${api.name}" (first at ${keyPath(prev)})`);
        seenIds.set(id, at);

        for (const [k, v] of Object.entries({ ...route.headers, ...route.query })) {
          if (v.startsWith('~')) {
            const problem = regexProblem(v.slice(1));
            if (problem) err([...at, route.headers?.[k] === v ? 'headers' : 'query', k], problem);
          }
        }

        // Plugins: route config wins over API, API over global; `enabled: false` turns one off.
        const merged = mergePlugins(config.plugins as PluginMap, api.plugins as PluginMap, route.plugins as PluginMap);
        const chosen: PluginInstance[] = [];
        for (const [pname, { cfg, scope }] of merged) {
          if (cfg.enabled === false) continue;
          const inst = instanceFor(pname, cfg, scope === 'route' ? `route:${id}` : scope === 'api' ? `api:${api.name}` : 'global');
          if (!inst) err([...at, 'plugins', pname], `unknown plugin "${pname}"`);
          else chosen.push(inst);
        }
        chosen.sort((a, b) => b.def.priority - a.def.priority || (a.def.name < b.def.name ? -1 : a.def.name > b.def.name ? 1 : 0));

        const maxBodyBytes = route.maxBodyBytes ?? limits.bodyBytes;
        let integration: Integration | undefined;
        const responseHooks: ResponseHook[] = [];
        const ic = route.integration;
        if (ic.type === 'http') {
          let up: Upstream | undefined;
          if (ic.upstream !== undefined && ic.url !== undefined) err([...at, 'integration'], 'give either "upstream" or "url", not both');
          else if (ic.upstream !== undefined) {
            up = upstreams.get(ic.upstream);
            if (!up) {
              const known = [...upstreams.keys()];
              err([...at, 'integration', 'upstream'], `unknown upstream "${ic.upstream}"${known.length ? `; defined: ${known.join(', ')}` : '; define it under "upstreams"'}`);
            }
          } else if (ic.url !== undefined) {
            up = new Upstream(ic.url, { targets: [{ url: ic.url }] }, deps.pools, configDir);
            created.push(up);
          } else err([...at, 'integration'], 'an http integration needs "upstream" (a name from upstreams) or "url"');
          if (ic.rewrite?.regex) {
            const problem = regexProblem(ic.rewrite.regex.pattern);
            if (problem) err([...at, 'integration', 'rewrite', 'regex', 'pattern'], problem);
          }
          if (ic.path !== undefined && fullPath !== '$default') {
            const declared = new Set([...fullPath.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1]));
            for (const m of ic.path.matchAll(/\{([^}+]+)\+?\}/g)) {
              if (!declared.has(m[1])) err([...at, 'integration', 'path'], `parameter {${m[1]}} is not in the route path ${fullPath}`);
            }
          }
          if (up && diagnostics.length === 0) {
            const http = new HttpIntegration(ic, up, fullPath, maxBodyBytes);
            integration = http;
            const ops = compileHeaderOps(ic.responseHeaders);
            if (ops) responseHooks.push((ctx) => ops(ctx.response.headers));
          }
        } else if (ic.type === 'function') {
          if (ic.apiType === 'rest' && ic.payloadVersion === '2.0') err([...at, 'integration', 'payloadVersion'], 'REST APIs only have payload format 1.0');
          const invoker = invokerFor(ic.function, [...at, 'integration', 'function']);
          if (invoker) {
            integration = new FunctionIntegration(ic, {
              functionName: ic.function,
              invoker,
              routePath: fullPath,
              routeMethods: methods,
              apiName: api.name,
              logger: deps.logger,
            });
          }
        } else {
          integration = new MockIntegration(ic);
        }

        const requestHooks: RequestHook[] = [];
        const logHooks: LogHook[] = [];
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
              logHooks.push((ctx) => {
                try {
                  h(ctx);
                } catch {
                  deps.metrics.logHookErrors.inc({ plugin: pluginName });
                }
              });
              order.push(`${phase}:${p.def.name}`);
            }
          }
        }
        if (!integration) return;
        const compiled: CompiledRoute = Object.freeze({
          id,
          api: api.name,
          name,
          methods,
          path: fullPath,
          hosts: route.hosts ?? api.hosts ?? [],
          websocket: route.websocket ?? false,
          allowEncodedSlashes: route.allowEncodedSlashes ?? false,
          maxBodyBytes,
          needsRequestBody: integration.needsRequestBody === true || chosen.some((p) => p.def.needsRequestBody === true),
          requestHooks: Object.freeze(requestHooks),
          responseHooks: Object.freeze(responseHooks),
          logHooks: Object.freeze(logHooks),
          pluginOrder: Object.freeze(order),
          integration,
          stats: deps.metrics.statsFor(api.name, name),
        });
        routes.push(compiled);
        const def: RouteDefinition<CompiledRoute> = { methods, path: fullPath, value: compiled };
        const hosts = route.hosts ?? api.hosts;
        if (hosts && hosts.length > 0 && !hosts.includes('*')) def.hosts = hosts;
        if (route.headers) def.headers = Object.fromEntries(Object.entries(route.headers).map(([k, v]) => [k.toLowerCase(), v]));
        if (route.query) def.query = route.query;
        definitions.push(def);
      });
    });

    // Plugin configs nobody references would be caught by the schema; unknown global plugin names too:
    for (const name of Object.keys(config.plugins ?? {})) if (!pluginDefs.has(name)) err(['plugins', name], `unknown plugin "${name}"`);

    const trusted = buildBlockList(config.server?.trustedProxies ?? [], (i, m) => err(['server', 'trustedProxies', i], m));

    let router: Router<CompiledRoute> | undefined;
    if (diagnostics.length === 0) {
      try {
        router = new Router(definitions);
      } catch (e) {
        if (!(e instanceof RouterBuildError)) throw e;
        const culprit = routes.findIndex((r) => e.message.includes(r.path));
        err(culprit >= 0 ? routeLocation(config, routes[culprit] as CompiledRoute) : ['apis'], e.message);
      }
    }
    if (diagnostics.length > 0 || !router) throw new ConfigError(diagnostics);

    const version = createHash('sha256').update(doc.text).digest('hex').slice(0, 12);
    let closed = false;
    const table: RouteTable = {
      version,
      source: doc.file,
      router,
      routes: Object.freeze(routes),
      limits: Object.freeze(limits),
      trustedProxies: trusted,
      accessLog: config.server?.accessLog ?? true,
      logger: deps.logger,
      metrics: deps.metrics,
      shutdownGraceMs: config.server?.shutdownGraceMs ?? 10_000,
      inflight: 0,
      retired: false,
      async close() {
        if (closed) return;
        closed = true;
        closeAll();
      },
    };
    return table;
  } catch (e) {
    closeAll();
    throw e;
  }
}

function routeLocation(config: GatewayConfig, route: CompiledRoute): (string | number)[] {
  const ai = config.apis.findIndex((a) => a.name === route.api);
  const ri = config.apis[ai]?.routes.findIndex((r) => (r.name ?? '') === route.name || r.path === route.path) ?? -1;
  return ri >= 0 ? ['apis', ai, 'routes', ri, 'path'] : ['apis', ai];
}

function mergePlugins(global: PluginMap, api: PluginMap, route: PluginMap) {
  const out = new Map<string, { cfg: Record<string, unknown>; scope: 'global' | 'api' | 'route' }>();
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

function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  if (isCatastrophic(source)) return `regular expression /${source}/ can backtrack catastrophically (nested quantifiers); rewrite it without a quantified group that itself repeats`;
  return undefined;
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
