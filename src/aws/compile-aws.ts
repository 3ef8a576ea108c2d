/**
 * Serving an AWS API Gateway document: the imported model (src/openapi) becomes compiled routes, one
 * set per stage. REST APIs answer at /{stage}/..., HTTP APIs at / for the $default stage; a stage may
 * instead own host names. Stage variables are substituted into integration URIs and function names
 * at compile time. What Turnpike cannot enforce yet (authorizers, API keys, IAM) refuses traffic.
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Integration } from '../compile/types.js';
import { type ErrorCode, denial } from '../errors/catalogue.js';
import { awsErrorDialect } from './dialect.js';
import { GatewayResponses } from '../integrations/aws/gateway-responses.js';
import { modelPatternDiagnostics, requestValidationConfig } from './request-validation.js';
import { fromAwsCors } from './cors.js';
import { jwtConfigFromAws, lambdaAuthorizerConfigFromAws } from './security.js';
import type { Diagnostic } from '../config/diagnostics.js';
import type { ApiConfig } from '../config/schema.js';
import type { Invoker } from '../integrations/function/index.js';
import type { FunctionIntegrationConfig, HttpIntegrationConfig } from '../config/schema.js';
import type { AwsMappingConfig } from '../integrations/aws/definition.js';
import { MockIntegration } from '../integrations/mock/index.js';
import { type AwsApiModel, type AwsIntegration, type AwsRoute, importAwsDocument, parseAwsSource } from '../openapi/index.js';
import { isApiKeyScheme, isIamScheme } from '../openapi/types.js';
import type { RequestHook, ResponseHook } from '../pipeline/types.js';
import { proxyRequestParameters } from './proxy-parameters.js';
import type { PoolRegistry, Upstream } from '../upstream/upstream.js';

export type KeyPath = (string | number)[];

export interface AwsCompileContext {
  configDir: string;
  /** Reads the OpenAPI document through the config's read recorder (src/config/reads.ts): its content is part of the version. */
  readText: (file: string) => string;
  err: (path: KeyPath, message: string) => void;
  /** Diagnostics that come from the AWS document itself (its own file and positions). */
  report: (d: Diagnostic) => void;
  addRoute: (r: import('../compile/compile.js').RouteSpec) => void;
  /** A function named by a Lambda ARN: the native `functions` map first, then functions/NAME.{mjs,js,cjs} beside the document. */
  functionForArn: (name: string, docDir: string, at: KeyPath) => Invoker | undefined;
  pools: PoolRegistry;
  createdUpstreams: Upstream[];
  logger: Logger;
  maxBodyBytes: number;
  templateBudget?: import('../templates/offthread.js').TemplateBudget;
  plugins: import('../compile/compile.js').PluginChoice;
  /** Creates an integration through the registry (src/integrations/registry.ts), as for a native route; throws on a bad config. */
  createIntegration: (
    ic: { type: string },
    route: import('../integrations/types.js').IntegrationDeps['route'],
    invoker: (name: string) => Invoker | undefined,
    warn: (path: (string | number)[], message: string) => void,
  ) => import('../integrations/types.js').CreatedIntegration;
  /** True for the first caller only: the table-wide `$default` fallback can be added once. */
  claimTableDefault: () => boolean;
}

const STAGE_VAR = /\$\{stageVariables\.([A-Za-z0-9_.:/-]+)\}/g;

function substituteStageVariables(text: string, vars: Readonly<Record<string, string>>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(STAGE_VAR, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    return v;
  });
  return { value, missing };
}

type PluginEntry = import('../compile/compile.js').PluginChoice extends Map<string, infer V> ? V : never;

interface RouteSecurity {
  /** The route's plugin set: the API's, plus the security plugins this route's AWS security needs. */
  plugins: import('../compile/compile.js').PluginChoice;
  /** Set when a mechanism the route requires cannot be enforced: the route refuses traffic (fails closed). */
  refused?: { code: ErrorCode; why: string };
}

/** Shared inputs for mapping AWS security schemes onto plugins, with config objects cached so that one
 * authorizer is one plugin instance (one result cache) across the routes and stages that use it. */
interface SecurityMapper {
  model: AwsApiModel;
  iam: PluginEntry | undefined;
  stage: string;
  prefix: string;
  vars: Readonly<Record<string, string>>;
  apiName: string;
  docDir: string;
  at: KeyPath;
  c: AwsCompileContext;
  cache: Map<string, Record<string, unknown>>;
}

/**
 * Maps a route's AWS security onto plugins: JWT and Cognito authorizers -> jwt, TOKEN/REQUEST
 * authorizers -> lambda-authorizer, API key schemes -> api-key (with x-amazon-apigateway-api-key-source),
 * IAM in every form AWS documents (x-amazon-apigateway-auth {type: AWS_IAM}, a scheme with
 * x-amazon-apigateway-authtype awsSigv4) -> the API's aws-iam plugin config (it holds the credentials).
 * Of several alternative requirements (OpenAPI's OR), the first is enforced, all of it.
 *
 * Fail closed: a scheme that is not defined, has no authorizer Turnpike can run, or an authorizer
 * type it does not know makes the route refuse every request (500, never the integration).
 */
function routeSecurity(route: AwsRoute, base: import('../compile/compile.js').PluginChoice, m: SecurityMapper): RouteSecurity {
  let plugins = base;
  const add = (name: string, cfg: Record<string, unknown>) => {
    if (plugins === base) plugins = new Map(base);
    plugins.set(name, { cfg, scope: 'route' });
  };
  const cached = (key: string, make: () => Record<string, unknown>) => {
    let cfg = m.cache.get(key);
    if (cfg === undefined) {
      cfg = make();
      m.cache.set(key, cfg);
    }
    return cfg;
  };
  const refuse = (code: ErrorCode, why: string): RouteSecurity => ({ plugins, refused: { code, why } });
  let iam = route.authorizationType === 'AWS_IAM';
  let apiKey = route.apiKeyRequired;
  const requirement = route.security[0] ?? [];
  for (const req of requirement) {
    const scheme = m.model.securitySchemes[req.scheme];
    if (isApiKeyScheme(req.scheme, scheme)) {
      apiKey = true;
      continue;
    }
    if (scheme === undefined) return refuse('ROUTE_MISCONFIGURED', `security scheme "${req.scheme}" is not defined`);
    if (isIamScheme(scheme)) {
      iam = true;
      continue;
    }
    if (scheme.authorizer === undefined)
      return refuse('ROUTE_MISCONFIGURED', `security scheme "${req.scheme}" (type ${scheme.type}${scheme.authType ? `, authtype ${scheme.authType}` : ''}) has no authorizer Turnpike can enforce`);
    const type = String(scheme.authorizer.type ?? '').toLowerCase();
    try {
      if (type === 'jwt' || type === 'cognito_user_pools') {
        const scopes = [...req.scopes].sort();
        add('jwt', cached(`jwt ${req.scheme} ${scopes.join(' ')}`, () => jwtConfigFromAws(scheme, scopes) as unknown as Record<string, unknown>));
      } else if (type === 'token' || type === 'request') {
        const fnRef = scheme.authorizerFunction;
        if (!fnRef) return refuse('AUTHORIZER_CONFIGURATION_ERROR', `authorizer "${req.scheme}" has no Lambda function URI`);
        const { value: fnName, missing } = substituteStageVariables(fnRef.name, m.vars);
        if (missing.length > 0) {
          m.c.err(m.at, `authorizer "${req.scheme}" uses stage variable(s) ${missing.join(', ')} that stage "${m.stage}" does not define`);
          return refuse('AUTHORIZER_CONFIGURATION_ERROR', 'unresolved stage variables');
        }
        if (!m.c.functionForArn(fnName, m.docDir, m.at)) return refuse('AUTHORIZER_CONFIGURATION_ERROR', `authorizer function "${fnName}" not found`);
        add(
          'lambda-authorizer',
          cached(`lambda ${req.scheme}`, () => {
            const cfg = lambdaAuthorizerConfigFromAws(scheme, m.model.apiType, fnName);
            if (!cfg) throw new Error(`authorizer "${req.scheme}" cannot be mapped`);
            return { ...cfg, stage: m.stage, apiId: m.apiName, stageVariables: { ...m.vars }, ...(m.prefix ? { basePath: m.prefix } : {}) } as unknown as Record<string, unknown>;
          }),
        );
      } else {
        return refuse('AUTHORIZER_CONFIGURATION_ERROR', `authorizer "${req.scheme}" of type ${type} is not supported`);
      }
    } catch (e) {
      m.c.err(m.at, `security scheme "${req.scheme}": ${(e as Error).message}`);
      return refuse('AUTHORIZER_CONFIGURATION_ERROR', (e as Error).message);
    }
  }
  if (iam) {
    if (!m.iam) return refuse('MISSING_AUTHENTICATION', 'AWS_IAM needs credentials: configure the aws-iam plugin on this API');
    add('aws-iam', m.iam.cfg);
  }
  if (apiKey) add('api-key', cached('api-key', () => ({ source: m.model.apiKeySource })));
  return { plugins };
}

const setRequestIdHeader: ResponseHook = (ctx) => {
  ctx.response.headers.set('x-amzn-requestid', ctx.id);
};

/** A hook that refuses every request with one code (a route that cannot be served as configured). */
const refuseWith = (code: ErrorCode): RequestHook => {
  const d = denial(code);
  return () => d;
};

export function compileAwsApi(api: ApiConfig, apiPath: KeyPath, c: AwsCompileContext): void {
  const file = resolve(c.configDir, api.openapi as string);
  let text: string;
  try {
    text = c.readText(file);
  } catch (e) {
    c.err([...apiPath, 'openapi'], `cannot read the OpenAPI document ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return;
  }
  let model: AwsApiModel;
  try {
    const imported = importAwsDocument(parseAwsSource(text, file));
    for (const d of imported.diagnostics) c.report(d);
    if (imported.diagnostics.some((d) => d.severity === 'error')) return;
    model = imported.model;
    for (const d of modelPatternDiagnostics(model, file, text)) c.report(d);
  } catch (e) {
    const diagnostics = (e as { diagnostics?: Diagnostic[] }).diagnostics;
    if (diagnostics) for (const d of diagnostics) c.report(d);
    else c.err([...apiPath, 'openapi'], `cannot import ${file}: ${(e as Error).message}`);
    return;
  }
  const docDir = dirname(file);
  const stages = api.stages ?? { [model.apiType === 'http' ? '$default' : 'dev']: {} };
  let gr: GatewayResponses;
  try {
    gr = new GatewayResponses(model.apiType, model.gatewayResponses);
  } catch (e) {
    c.err([...apiPath, 'openapi'], `${file}: x-amazon-apigateway-gateway-responses: ${(e as Error).message}`);
    return;
  }
  for (const w of gr.warnings) c.logger.warn({ api: api.name }, w);
  // HTTP APIs' x-amazon-apigateway-cors becomes the cors plugin at API level (a native cors config on the API wins).
  let plugins = c.plugins;
  if (model.apiType === 'http' && model.cors !== undefined && !c.plugins.has('cors')) {
    plugins = new Map(c.plugins);
    plugins.set('cors', { cfg: fromAwsCors(model.cors) as unknown as Record<string, unknown>, scope: 'api' });
  }
  // The API's aws-iam config applies only to AWS_IAM routes (see routeSecurity).
  const iamPlugin = plugins.get('aws-iam');
  const basePlugins = iamPlugin ? new Map([...plugins].filter(([k]) => k !== 'aws-iam')) : plugins;
  const securityConfigs = new Map<string, Record<string, unknown>>();

  for (const [stageName, stage] of Object.entries(stages)) {
    const at: KeyPath = api.stages ? [...apiPath, 'stages', stageName] : [...apiPath, 'openapi'];
    const vars = stage.variables ?? {};
    const errorAnswer = awsErrorDialect(gr, stageName, vars);
    const hosts = stage.hosts ?? api.hosts ?? [];
    const prefix = stage.hosts !== undefined || (model.apiType === 'http' && stageName === '$default') ? '' : `/${stageName}`;
    const stagePath = (p: string) => (p === '$default' ? (prefix ? `${prefix}/{proxy+}` : '$default') : p === '/' ? prefix || '/' : prefix + p);
    let hasCatchAll = false;

    for (const route of model.routes) {
      const path = stagePath(route.path);
      if (route.method === 'ANY' && (route.path === '/{proxy+}' || route.path === '$default')) hasCatchAll = true;
      const name = `${stageName} ${route.method} ${route.path}`;
      const leading: RequestHook[] = [];
      const security = routeSecurity(route, basePlugins, {
        model,
        iam: iamPlugin,
        stage: stageName,
        prefix,
        vars,
        apiName: api.name,
        docDir,
        at,
        c,
        cache: securityConfigs,
      });
      const refused = security.refused;
      if (refused) {
        c.logger.warn({ api: api.name, route: name, reason: refused.why, code: refused.code }, 'route refuses traffic: its security cannot be enforced');
        leading.push(refuseWith(refused.code));
      }
      // Request validation is a plugin in transformRequest: after every auth and limit check, as on AWS.
      let routePlugins = security.plugins;
      const validation = requestValidationConfig(route, model);
      if (validation !== undefined) {
        routePlugins = new Map(routePlugins);
        routePlugins.set('request-validation', { cfg: validation as unknown as Record<string, unknown>, scope: 'route' });
      }
      let integration: Integration | undefined;
      const ai = route.integration;
      if (ai === undefined) {
        leading.push(refuseWith('ROUTE_MISCONFIGURED'));
        integration = new MockIntegration({ type: 'mock', status: 500 });
      } else {
        integration = buildIntegration(ai, route, model, { api, stageName, vars, path, docDir, at, c, gr });
      }
      if (!integration) continue;
      const trailing: RequestHook[] = [];
      const responseHooks: ResponseHook[] = [];
      if (ai?.type === 'http_proxy') {
        try {
          const mapping = proxyRequestParameters(ai.requestParameters, stageName, vars, route.path);
          if (mapping !== undefined) trailing.push(mapping);
        } catch (e) {
          c.err(at, `${route.location}: x-amazon-apigateway-integration.requestParameters: ${(e as Error).message}`);
          continue;
        }
        // REST answers carry x-amzn-RequestId whatever the integration (recorded on HTTP_PROXY answers too).
        if (model.apiType === 'rest') responseHooks.push(setRequestIdHeader);
      }
      // The stage root answers at /{stage} and /{stage}/ alike.
      const paths = route.path === '/' && prefix ? [path, `${prefix}/`] : [path];
      for (const p of paths) c.addRoute({
        at,
        api: api.name,
        name: p === path ? name : `${name} (trailing slash)`,
        stage: stageName,
        methods: [route.method],
        path: p,
        hosts,
        websocket: false,
        allowEncodedSlashes: false,
        maxBodyBytes: c.maxBodyBytes,
        integration,
        responseHooks,
        leadingRequestHooks: leading,
        trailingRequestHooks: trailing,
        plugins: routePlugins,
        errorAnswer,
      });
    }

    // Unknown resources and methods answer as AWS does for the API type (recorded: REST 403 Missing Authentication Token).
    const fallbacks: string[] = [];
    if (model.apiType === 'rest') {
      // REST APIs match the resource first, then the method: a method a resource lacks is 403 there,
      // never a fall-through to a {proxy+} sibling. An ANY on the resource path pins that.
      const byPath = new Map<string, Set<string>>();
      for (const r of model.routes) byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method));
      for (const [p, methods] of byPath) if (!methods.has('ANY') && p !== '$default') fallbacks.push(stagePath(p));
    }
    if (!hasCatchAll) fallbacks.push(...(prefix ? [`${prefix}/{proxy+}`] : ['$default']));
    if (prefix && !model.routes.some((r) => r.path === '/')) fallbacks.push(prefix);
    else if (!prefix && !model.routes.some((r) => r.path === '/') && !fallbacks.includes('/')) fallbacks.push('/');
    // Unknown stages too (AWS answers them like unknown resources); once per table.
    if (prefix && !fallbacks.includes('$default') && c.claimTableDefault()) fallbacks.push('$default');
    for (const p of fallbacks) {
      c.addRoute({
        at,
        api: api.name,
        name: `${stageName} (not found) ${p}`,
        stage: stageName,
        methods: ['ANY'],
        path: p,
        hosts,
        websocket: false,
        allowEncodedSlashes: false,
        maxBodyBytes: c.maxBodyBytes,
        integration: new MockIntegration({ type: 'mock', status: gr.status('MISSING_AUTHENTICATION_TOKEN') }),
        responseHooks: [],
        leadingRequestHooks: [refuseWith('ROUTE_NOT_FOUND')],
        plugins: basePlugins,
        errorAnswer,
      });
    }
  }
}

interface BuildContext {
  api: ApiConfig;
  stageName: string;
  vars: Readonly<Record<string, string>>;
  path: string;
  docDir: string;
  at: KeyPath;
  c: AwsCompileContext;
  gr: GatewayResponses;
}

function buildIntegration(ai: AwsIntegration, route: AwsRoute, model: AwsApiModel, b: BuildContext): Integration | undefined {
  const { c } = b;
  switch (ai.type) {
    case 'aws_proxy': {
      const fn = ai.lambdaFunction;
      if (!fn) {
        c.err(b.at, `${route.location}: an aws_proxy integration needs a Lambda function URI`);
        return undefined;
      }
      const { value: name, missing } = substituteStageVariables(fn.name, b.vars);
      if (missing.length > 0) {
        c.err(b.at, `${route.location}: the function name uses stage variable(s) ${missing.join(', ')} that stage "${b.stageName}" does not define`);
        return undefined;
      }
      // The registry's function type, from a native-shaped config.
      const config: FunctionIntegrationConfig = {
        type: 'function',
        function: name,
        apiType: model.apiType,
        payloadVersion: model.apiType === 'http' ? (ai.payloadFormatVersion ?? '2.0') : '1.0',
        timeoutMs: ai.timeoutInMillis,
        binaryMediaTypes: model.binaryMediaTypes,
        stageVariables: { ...b.vars },
      };
      return createThroughRegistry(config, route, b);
    }
    case 'http_proxy': {
      const { value: uri, missing } = substituteStageVariables(ai.uri ?? '', b.vars);
      if (missing.length > 0 || !/^https?:\/\//.test(uri)) {
        c.err(b.at, `${route.location}: integration URI "${ai.uri}" ${missing.length ? `uses stage variable(s) ${missing.join(', ')} that stage "${b.stageName}" does not define` : 'is not an http(s) URL'}`);
        return undefined;
      }
      const url = new URL(uri.replace(/\{[^}]+\}/g, 'x'));
      const origin = overrideOrigin(url.origin, b.api.endpointOverrides);
      // Placeholders in the URI path are integration.request.path.X, mapped from method.request.path.Y.
      let pathTemplate = /^https?:\/\/[^/?#]+(\/[^?#]*)?/.exec(uri)?.[1] ?? '/';
      for (const [target, source] of Object.entries(ai.requestParameters)) {
        const t = /^integration\.request\.path\.(.+)$/.exec(target);
        const s = /^method\.request\.path\.(.+)$/.exec(source);
        if (t && s) pathTemplate = pathTemplate.replaceAll(`{${t[1]}}`, `{${s[1]}}`);
      }
      // The registry's http type: a private upstream with the integration's timeout.
      const config: HttpIntegrationConfig = { type: 'http', url: origin, path: pathTemplate, timeouts: { firstByteMs: ai.timeoutInMillis, totalMs: ai.timeoutInMillis } };
      return createThroughRegistry(config, route, b);
    }
    default: {
      // Non-proxy integrations (http, aws, mock) with mapping templates and integration responses: the
      // registry's aws-mapping type, from a config that names nothing of the document.
      let functionName: string | undefined;
      if (ai.type === 'aws') {
        const fn = ai.lambdaFunction;
        if (!fn) {
          c.err(b.at, `${route.location}: an aws integration needs a Lambda function URI (other AWS services are not supported)`);
          return undefined;
        }
        const { value: name, missing } = substituteStageVariables(fn.name, b.vars);
        if (missing.length > 0) {
          c.err(b.at, `${route.location}: the function name uses stage variable(s) ${missing.join(', ')} that stage "${b.stageName}" does not define`);
          return undefined;
        }
        if (!c.functionForArn(name, b.docDir, b.at)) return undefined;
        functionName = name;
      }
      const config: AwsMappingConfig = {
        type: 'aws-mapping',
        integration: ai as unknown as AwsMappingConfig['integration'],
        apiType: model.apiType,
        resourcePath: route.path,
        method: route.method,
        apiId: b.api.name,
        accountId: '000000000000',
        stageVariables: { ...b.vars },
        binaryMediaTypes: model.binaryMediaTypes,
        gatewayResponses: model.gatewayResponses,
        ...(functionName !== undefined ? { function: functionName } : {}),
        ...(b.api.endpointOverrides !== undefined ? { endpointOverrides: { ...b.api.endpointOverrides } } : {}),
        ...(c.templateBudget !== undefined ? { templateBudget: c.templateBudget } : {}),
      };
      return createThroughRegistry(config, route, b);
    }
  }
}

/** Creates a translated integration config through the registry, as a native route's; problems are reported at the stage's key path, naming the operation. */
function createThroughRegistry(config: { type: string }, route: AwsRoute, b: BuildContext): Integration | undefined {
  const { c } = b;
  try {
    return c.createIntegration(
      config,
      { api: b.api.name, path: b.path, methods: [route.method], maxBodyBytes: c.maxBodyBytes, stage: b.stageName, resourcePath: route.path },
      (name) => c.functionForArn(name, b.docDir, b.at),
      (_p, m) => c.logger.warn({ api: b.api.name, route: route.location }, m),
    ).integration;
  } catch (e) {
    const problems = (e as { problems?: readonly { path: (string | number)[]; message: string }[] }).problems;
    if (problems !== undefined) for (const p of problems) c.err(b.at, `${route.location}: ${p.path.length > 0 ? `${p.path.join('.')}: ` : ''}${p.message}`);
    else c.err(b.at, `${route.location}: ${(e as Error).message}`);
    return undefined;
  }
}

function overrideOrigin(origin: string, overrides: Readonly<Record<string, string>> | undefined): string {
  const o = overrides?.[origin];
  return o === undefined ? origin : o.replace(/\/+$/, '');
}

/**
 * functions/NAME.mjs|.js|.cjs beside the document, as a Lambda bundle would name it. `exists` records
 * each lookup (src/config/reads.ts), so a candidate appearing later (a `.js` renamed to `.cjs`) is a new config version.
 */
export function findFunctionModule(docDir: string, name: string, exists: (path: string) => boolean): string | undefined {
  for (const ext of ['.mjs', '.js', '.cjs']) {
    const p = resolve(docDir, 'functions', `${name}${ext}`);
    if (exists(p)) return p;
  }
  return undefined;
}
