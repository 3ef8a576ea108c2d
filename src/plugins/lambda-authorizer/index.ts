/**
 * Lambda (custom) authorizers with API Gateway semantics (docs/lambda-authorizers.md cites the AWS rules):
 *
 * - REST TOKEN: `{type:'TOKEN', authorizationToken, methodArn}`; REST REQUEST: the request-shaped 1.0
 *   event with `type` and `methodArn`; HTTP APIs: the 1.0 or 2.0 authorizer payload (`routeArn`,
 *   `identitySource`). The ARN is built from the real request: stage, verb, path.
 * - A missing or empty identity source (or a token failing identityValidationExpression) answers 401
 *   without calling the function. The function failing with errorMessage 'Unauthorized' answers 401;
 *   any other failure or a malformed answer, 500; an explicit Deny or no matching Allow, 403.
 * - Results are cached per identity (the identity source values) for resultTtlSeconds. What is cached
 *   is the compiled POLICY (or the simple response), never a yes/no: each request re-evaluates it against
 *   its own method ARN, so a policy that allows only GET never lets a cached POST through.
 * - On success `ctx.principal` gets kind 'lambda', the principalId as `id`, the returned context and
 *   the authorizer's latency (integrations shape them as their events need), and `usageIdentifierKey`
 *   for the API-key plugin.
 *
 * Everything that depends only on the config (identity extractors, the validation regex, the invoker,
 * the error answers) is prepared once in create().
 */
import type { Logger } from 'pino';
import { type Denial, denial } from '../../errors/catalogue.js';
import type { Invoker } from '../../integrations/function/index.js';
import { lambdaRequestId } from '../../integrations/function/request-id.js';
import { authorizerRequestEvent, type LambdaEventFormat, proxyRequestOf, type RouteFacts } from '../../integrations/function/request.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Principal } from '../../pipeline/principal.js';
import type { PluginDefinition, PluginDeps, PluginHooks } from '../../pipeline/types.js';
import { buildMethodArn, type CompiledPolicy, compilePolicy, evaluatePolicy } from '../../security/iam-policy.js';
import { isCatastrophic } from '../../util/regex-safety.js';
import { raceDeadline } from '../../util/deadline-queue.js';
import { applyDefaults } from '../schema-defaults.js';
import { type LambdaAuthorizerConfig, schema } from './schema.js';

export type { LambdaAuthorizerConfig } from './schema.js';

/** The event the function gets and the answer contract (schema `format`). */
export type AuthorizerFormat = NonNullable<LambdaAuthorizerConfig['format']>;

/** The principal this plugin leaves on ctx.principal (usageIdentifierKey: the API key the API-key plugin checks when the API's key source is AUTHORIZER). */
export interface LambdaPrincipal extends Principal {
  kind: 'lambda';
}

/** The refusals this plugin answers with (catalogue codes; AWS routes render them as the gateway responses of the same names). */
export type AuthorizerFailure = 'UNAUTHORIZED' | 'ACCESS_DENIED' | 'AUTHORIZER_CONFIGURATION_ERROR';

export interface Problem {
  path: (string | number)[];
  message: string;
}

// ---------------------------------------------------------------------------------------------
// AWS's answers

/** REST 403 messages: the policy denied explicitly, or nothing allowed (AWS Knowledge Center, "troubleshoot HTTP 403 ... Lambda authorizer"). */
export const EXPLICIT_DENY_MESSAGE = 'User is not authorized to access this resource with an explicit deny';
export const IMPLICIT_DENY_MESSAGE = 'User is not authorized to access this resource';

// ---------------------------------------------------------------------------------------------
// Identity sources

type SourceKind = 'header' | 'query' | 'context' | 'stageVariable';
interface IdentitySource {
  readonly kind: SourceKind;
  readonly name: string;
  readonly raw: string;
}

const PREFIXES: readonly [string, SourceKind][] = [
  ['method.request.header.', 'header'],
  ['method.request.querystring.', 'query'],
  ['$request.header.', 'header'],
  ['$request.querystring.', 'query'],
  ['route.request.header.', 'header'],
  ['route.request.querystring.', 'query'],
  ['context.', 'context'],
  ['$context.', 'context'],
  ['stageVariables.', 'stageVariable'],
  ['$stageVariables.', 'stageVariable'],
];

/** $context variables usable as identity sources. */
const CONTEXT_VARS: Record<string, (ctx: RequestContext, a: Prepared) => string | undefined> = {
  httpMethod: (ctx) => ctx.method,
  'http.method': (ctx) => ctx.method,
  path: (ctx) => ctx.path,
  'http.path': (ctx) => ctx.path,
  requestId: (ctx) => lambdaRequestId(ctx),
  stage: (_ctx, a) => a.stage,
  'identity.sourceIp': (ctx) => ctx.clientIp,
  'http.sourceIp': (ctx) => ctx.clientIp,
  'identity.userAgent': (ctx) => headerValue(ctx, 'user-agent'),
  'http.userAgent': (ctx) => headerValue(ctx, 'user-agent'),
  domainName: (ctx) => ctx.host.replace(/:\d+$/, ''),
  resourcePath: (ctx, a) => resourcePathOf(ctx, a),
  routeKey: (ctx, a) => routeKeyOf(ctx, a),
};

function parseSources(raw: string | string[] | undefined, at: (string | number)[], problems: Problem[]): IdentitySource[] {
  if (raw === undefined) return [];
  const list = (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const out: IdentitySource[] = [];
  list.forEach((s, i) => {
    const p = PREFIXES.find(([prefix]) => s.startsWith(prefix));
    const name = p ? s.slice(p[0].length) : '';
    if (p === undefined || name === '') {
      problems.push({
        path: Array.isArray(raw) ? [...at, i] : at,
        message: `identity source "${s}" is not understood: use method.request.header.X, method.request.querystring.X, context.X or stageVariables.X ($request.header.X, $request.querystring.X, $context.X, $stageVariables.X for HTTP APIs); path parameters cannot be identity sources (as AWS)`,
      });
      return;
    }
    if (p[1] === 'context' && CONTEXT_VARS[name] === undefined) {
      problems.push({ path: Array.isArray(raw) ? [...at, i] : at, message: `context variable "${name}" cannot be an identity source here; known: ${Object.keys(CONTEXT_VARS).join(', ')}` });
      return;
    }
    out.push({ kind: p[1], name: p[1] === 'header' ? name.toLowerCase() : name, raw: s });
  });
  return out;
}

function headerValue(ctx: RequestContext, lower: string): string | undefined {
  const v = ctx.req.headers[lower];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function queryValue(rawQuery: string, name: string): string | undefined {
  if (rawQuery === '') return undefined;
  const all = new URLSearchParams(rawQuery).getAll(name);
  return all.length === 0 ? undefined : all[all.length - 1];
}

function sourceValue(ctx: RequestContext, s: IdentitySource, a: Prepared): string | undefined {
  switch (s.kind) {
    case 'header':
      return headerValue(ctx, s.name);
    case 'query':
      return queryValue(ctx.rawQuery, s.name);
    case 'stageVariable':
      return a.stageVariables?.[s.name];
    case 'context':
      return CONTEXT_VARS[s.name]?.(ctx, a);
  }
}

// ---------------------------------------------------------------------------------------------
// Request facts

interface Prepared {
  /** How path parameters appear in REQUEST events: as received (token, request) or decoded (1.0, 2.0). */
  readonly flavor: 'rest' | 'http';
  readonly stage: string;
  readonly basePath: string | undefined;
  readonly stageVariables: Record<string, string> | undefined;
}

function stripBase(p: string, base: string | undefined): string {
  if (base === undefined || base === '/') return p;
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  if (p === b) return '/';
  if (p.startsWith(`${b}/`)) return p.slice(b.length);
  return p;
}

function resourcePathOf(ctx: RequestContext, a: Prepared): string {
  const routePath = ctx.route?.path ?? ctx.path;
  return routePath === '$default' ? '/{proxy+}' : stripBase(routePath, a.basePath);
}

function routeKeyOf(ctx: RequestContext, a: Prepared): string {
  const r = ctx.route;
  if (r === undefined || r.path === '$default') return '$default';
  return `${r.methods.length === 1 ? r.methods[0] : 'ANY'} ${stripBase(r.path, a.basePath)}`;
}

/** The ARN of this request: the real verb and the canonical request path (basePath removed). */
export function requestArn(ctx: RequestContext, c: { region: string; accountId: string; apiId: string | undefined; stage: string; basePath: string | undefined }): string {
  return buildMethodArn({
    region: c.region,
    accountId: c.accountId,
    apiId: c.apiId ?? ctx.route?.api ?? 'api',
    stage: c.stage,
    method: ctx.method,
    path: stripBase(ctx.path, c.basePath),
  });
}

/** What the REQUEST event says about the route: per request, since one authorizer serves several routes. */
function routeFacts(ctx: RequestContext, a: Prepared, apiId: string, accountId: string): RouteFacts {
  return {
    flavor: a.flavor,
    resourcePath: resourcePathOf(ctx, a),
    routeKey: routeKeyOf(ctx, a),
    stage: a.stage,
    stageVariables: a.stageVariables && Object.keys(a.stageVariables).length > 0 ? { ...a.stageVariables } : null,
    apiId,
    accountId,
  };
}

// ---------------------------------------------------------------------------------------------
// Results

/** What is cached per identity: the compiled policy (re-evaluated per request) or a simple response. */
export type AuthorizerResult =
  | { kind: 'policy'; policy: CompiledPolicy; principalId: string | undefined; context: Record<string, unknown>; usageIdentifierKey: string | undefined }
  | { kind: 'simple'; isAuthorized: boolean; context: Record<string, unknown> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads the function's answer as API Gateway does, or says why it is malformed (→ 500).
 * REST: `principalId` required; `context` values must be strings, numbers or booleans (AWS refuses
 * objects and arrays there). Simple responses: `isAuthorized` must be a boolean.
 */
export function readAuthorizerResult(payload: unknown, opts: { format: AuthorizerFormat; simple: boolean }): { ok: true; result: AuthorizerResult } | { ok: false; reason: string } {
  if (!isObject(payload)) return { ok: false, reason: 'the authorizer result is not a JSON object' };
  const ctxRaw = payload.context;
  if (ctxRaw !== undefined && ctxRaw !== null && !isObject(ctxRaw)) return { ok: false, reason: 'context is not an object' };
  const context: Record<string, unknown> = {};
  // token and request answers: principalId required, context values scalar (AWS refuses objects there).
  const strict = opts.format === 'token' || opts.format === 'request';
  if (isObject(ctxRaw)) {
    for (const [k, v] of Object.entries(ctxRaw)) {
      if (strict && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        return { ok: false, reason: `context.${k} must be a string, number or boolean` };
      }
      Object.defineProperty(context, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  if (opts.simple) {
    if (typeof payload.isAuthorized !== 'boolean') return { ok: false, reason: 'isAuthorized is not a boolean' };
    return { ok: true, result: { kind: 'simple', isAuthorized: payload.isAuthorized, context } };
  }
  const pid = payload.principalId;
  let principalId: string | undefined;
  if (typeof pid === 'string' || typeof pid === 'number') principalId = String(pid);
  else if (pid !== undefined && pid !== null) return { ok: false, reason: 'principalId is not a string' };
  if (strict && principalId === undefined) return { ok: false, reason: 'principalId is missing' };
  const compiled = compilePolicy(payload.policyDocument);
  if (!compiled.ok) return { ok: false, reason: compiled.reason };
  const uik = payload.usageIdentifierKey;
  if (uik !== undefined && uik !== null && typeof uik !== 'string') return { ok: false, reason: 'usageIdentifierKey is not a string' };
  return { ok: true, result: { kind: 'policy', policy: compiled.policy, principalId, context, usageIdentifierKey: typeof uik === 'string' ? uik : undefined } };
}

/** The principal this authorizer establishes: its principalId and context (integrations shape them as their events need). */
export function principalOf(result: AuthorizerResult, latencyMs: number, previous: unknown): LambdaPrincipal {
  const prev = previous as Principal | undefined;
  const p: LambdaPrincipal = { kind: 'lambda', context: result.context, authorizerLatencyMs: latencyMs };
  if (result.kind === 'policy' && result.principalId !== undefined) p.id = result.principalId;
  if (prev?.identity !== undefined) p.identity = { ...prev.identity };
  if (result.kind === 'policy' && result.usageIdentifierKey !== undefined) p.usageIdentifierKey = result.usageIdentifierKey;
  return p;
}

// ---------------------------------------------------------------------------------------------
// The cache

class ResultCache {
  readonly #map = new Map<string, { expires: number; result: AuthorizerResult }>();
  readonly #ttlMs: number;
  readonly #max: number;
  constructor(ttlSeconds: number, max: number) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#max = max;
  }
  get(key: string): AuthorizerResult | undefined {
    const e = this.#map.get(key);
    if (e === undefined) return undefined;
    if (Date.now() >= e.expires) {
      this.#map.delete(key);
      return undefined;
    }
    return e.result;
  }
  set(key: string, result: AuthorizerResult): void {
    this.#map.delete(key);
    while (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
    this.#map.set(key, { expires: Date.now() + this.#ttlMs, result });
  }
  clear(): void {
    this.#map.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The plugin

class AuthorizerTimeout extends Error {}

/** Every problem with a config that the schema cannot express (empty when it is usable). */
export function lambdaAuthorizerConfigProblems(config: LambdaAuthorizerConfig): { problems: Problem[]; sources: IdentitySource[]; validation: RegExp | undefined } {
  const problems: Problem[] = [];
  const format = config.format ?? 'token';
  const defaultSource = format === 'token' ? 'method.request.header.Authorization' : format === 'request' ? undefined : '$request.header.Authorization';
  const sources = parseSources(config.identitySource ?? defaultSource, ['identitySource'], problems);
  if (format === 'token' && (sources.length !== 1 || sources[0]?.kind !== 'header') && problems.length === 0) {
    problems.push({ path: ['identitySource'], message: 'a token authorizer takes exactly one header as its identity source (e.g. method.request.header.Authorization); use format request, 1.0 or 2.0 for several sources' });
  }
  const ttl = config.resultTtlSeconds ?? 300;
  if (ttl > 0 && sources.length === 0 && problems.length === 0) {
    problems.push({ path: ['identitySource'], message: 'caching (resultTtlSeconds > 0) needs at least one identity source, the cache key (as AWS); add identitySource or set resultTtlSeconds: 0' });
  }
  if (config.simpleResponses === true && format !== '2.0') {
    problems.push({ path: ['simpleResponses'], message: 'simple responses exist only for authorizers of format 2.0 (as AWS)' });
  }
  let validation: RegExp | undefined;
  const expr = config.identityValidationExpression;
  // An empty expression is "no validation", as the console and AWS's import treat it (a blank field);
  // compiled as written it would be ^(?:)$ and refuse every non-empty token.
  if (expr !== undefined && expr !== '') {
    if (format !== 'token') problems.push({ path: ['identityValidationExpression'], message: 'identityValidationExpression applies to token authorizers only (as AWS)' });
    else {
      try {
        new RegExp(expr);
        if (isCatastrophic(expr)) {
          problems.push({ path: ['identityValidationExpression'], message: `regular expression /${expr}/ can backtrack catastrophically (nested quantifiers); rewrite it without a quantified group that itself repeats` });
        } else validation = new RegExp(`^(?:${expr})$`);
      } catch (e) {
        problems.push({ path: ['identityValidationExpression'], message: `invalid regular expression: ${(e as Error).message}` });
      }
    }
  }
  return { problems, sources, validation };
}

/**
 * Builds the authorizer's request hook. Failures are denials: the route's error dialect renders them
 * (AWS routes as their gateway responses, with the policy's deny message as $context.error.message).
 */
export function createLambdaAuthorizer(input: LambdaAuthorizerConfig, deps: Pick<PluginDeps, 'logger' | 'functions' | 'deadlines'>): PluginHooks & { clearCache(): void } {
  const { problems, sources, validation } = lambdaAuthorizerConfigProblems(input);
  // Compile has applied them for the plugin; an authorizer built on its own (tests) gets the same ones.
  const config = applyDefaults(schema, input);
  const invoker: Invoker | undefined = deps.functions.invoker(config.function);
  if (invoker === undefined) problems.unshift({ path: ['function'], message: `unknown function "${config.function}"; define it under "functions"` });
  if (problems.length > 0) throw Object.assign(new Error(problems.map((p) => p.message).join('; ')), { problems });
  const fn = invoker as Invoker;

  const { simpleResponses: simple, region, accountId, stage, timeoutMs, resultTtlSeconds: ttl } = config;
  const format: AuthorizerFormat = config.format ?? 'token';
  const eventFormat: LambdaEventFormat = format === '2.0' ? 'http-2.0' : format === '1.0' ? 'http-1.0' : 'rest-1.0';
  const timeoutLane = deps.deadlines.lane(timeoutMs);
  const cache = ttl > 0 ? new ResultCache(ttl, config.cacheSize) : undefined;
  const prepared: Prepared = { flavor: format === 'token' || format === 'request' ? 'rest' : 'http', stage, basePath: config.basePath, stageVariables: config.stageVariables };
  const arnOpts = { region, accountId, apiId: config.apiId, stage, basePath: config.basePath };
  const logger: Logger = deps.logger;
  // The deny reason travels as the denial's message; the route's error dialect decides whether the answer
  // shows it (AWS REST gateway responses do, HTTP APIs answer the reason phrase).
  const fail = (t: AuthorizerFailure, _ctx: RequestContext, message: string | undefined): Denial => denial(t, message !== undefined ? { message } : undefined);
  const fnName = config.function;

  const buildEvent = (ctx: RequestContext, values: string[], arn: string): Record<string, unknown> => {
    if (format === 'token') return { type: 'TOKEN', authorizationToken: values[0], methodArn: arn };
    const req = proxyRequestOf(ctx, routeFacts(ctx, prepared, arnOpts.apiId ?? ctx.route?.api ?? 'api', accountId));
    return authorizerRequestEvent(req, eventFormat, arn, values);
  };

  /** Allow/deny of a (fresh or cached) result for this request's ARN. */
  const decide = (ctx: RequestContext, result: AuthorizerResult, arn: string, latencyMs: number): Denial | undefined => {
    if (result.kind === 'simple') {
      if (!result.isAuthorized) return fail('ACCESS_DENIED', ctx, IMPLICIT_DENY_MESSAGE);
    } else {
      const d = evaluatePolicy(result.policy, arn);
      if (d === 'explicit-deny') return fail('ACCESS_DENIED', ctx, EXPLICIT_DENY_MESSAGE);
      if (d === 'implicit-deny') return fail('ACCESS_DENIED', ctx, IMPLICIT_DENY_MESSAGE);
    }
    ctx.principal = principalOf(result, latencyMs, ctx.principal);
    return undefined;
  };

  const authenticate = async (ctx: RequestContext): Promise<Denial | undefined> => {
    const values: string[] = [];
    for (const s of sources) {
      const v = sourceValue(ctx, s, prepared);
      if (v === undefined || v.trim() === '') return fail('UNAUTHORIZED', ctx, undefined);
      values.push(v);
    }
    if (validation !== undefined && !validation.test(values[0] as string)) return fail('UNAUTHORIZED', ctx, undefined);
    const arn = requestArn(ctx, arnOpts);
    const key = cache !== undefined ? JSON.stringify(values) : '';
    const cached = cache?.get(key);
    if (cached !== undefined) return decide(ctx, cached, arn, 0);

    const event = buildEvent(ctx, values, arn);
    const started = performance.now();
    let r: Awaited<ReturnType<Invoker['invoke']>>;
    try {
      // timeoutMs on the shared deadline queue (one entry, no Node timer of its own).
      r = await raceDeadline(fn.invoke(event, { requestId: lambdaRequestId(ctx), deadlineMs: Date.now() + timeoutMs }), timeoutLane, () => new AuthorizerTimeout());
    } catch (err) {
      const timedOut = err instanceof AuthorizerTimeout;
      logger.error(
        { requestId: ctx.id, function: fnName, err: timedOut ? undefined : err, timeoutMs, elapsedMs: Math.round((performance.now() - started) * 1000) / 1000 },
        timedOut ? 'authorizer timed out' : 'authorizer invocation failed',
      );
      return fail('AUTHORIZER_CONFIGURATION_ERROR', ctx, undefined);
    }
    const latency = Math.round(performance.now() - started);
    if (!r.ok) {
      // AWS: the function failing with the message 'Unauthorized' is the 401; every other failure is a configuration error.
      if (r.errorMessage === 'Unauthorized' && (r.kind === 'handled-error' || r.kind === 'unhandled')) return fail('UNAUTHORIZED', ctx, undefined);
      logger.error(
        { requestId: ctx.id, function: fnName, kind: r.kind, errorType: r.errorType, errorMessage: r.errorMessage, ...(r.kind === 'timeout' ? { timeoutMs, elapsedMs: Math.round((performance.now() - started) * 1000) / 1000 } : {}) },
        'authorizer function error',
      );
      return fail('AUTHORIZER_CONFIGURATION_ERROR', ctx, undefined);
    }
    const read = readAuthorizerResult(r.payload, { format, simple });
    if (!read.ok) {
      logger.error({ requestId: ctx.id, function: fnName, reason: read.reason }, 'malformed authorizer result');
      return fail('AUTHORIZER_CONFIGURATION_ERROR', ctx, undefined);
    }
    cache?.set(key, read.result);
    return decide(ctx, read.result, arn, latency);
  };

  return {
    authenticate,
    close: () => cache?.clear(),
    clearCache: () => cache?.clear(),
  };
}

export const lambdaAuthorizer: PluginDefinition<typeof schema> = {
  name: 'lambda-authorizer',
  priority: 1000,
  phases: ['authenticate'],
  description: 'Lambda (custom) authorizer: TOKEN/REQUEST (REST) and HTTP API 1.0/2.0 authorizers, IAM policy evaluation per method ARN, result caching per identity.',
  configSchema: schema,
  create(config, deps) {
    const { clearCache: _c, ...hooks } = createLambdaAuthorizer(config, deps);
    return hooks;
  },
};
