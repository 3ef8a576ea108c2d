/**
 * AWS as a front end: the imported model of an API Gateway document (src/openapi) translated into
 * native config — one API whose routes carry a real `stage`, with the integration types, plugins and
 * gateway responses a native file could write the same way. Pure: no I/O, no compile. The result then
 * goes through the native validator and the native compile (src/aws/compile-aws.ts is that glue), so
 * a document can do nothing a native file cannot, and is checked the same way.
 *
 * Beside the config, a side map from native key paths to places in the OpenAPI document: a problem
 * the validator or the compiler finds in the translated config is reported at the document's
 * file:line:col and AWS key path (the nearest mapped parent when the exact path is not mapped).
 */
import type { Position } from '../config/load.js';
import type { ApiConfig, FunctionIntegrationConfig, HttpIntegrationConfig, MockIntegrationConfig, RouteConfig } from '../config/schema.js';
import { formatPath } from '../config/diagnostics.js';
import type { ErrorCode } from '../errors/catalogue.js';
import type { AwsHttpProxyConfig, AwsMappingConfig } from '../integrations/aws/definition.js';
import type { AwsApiModel, AwsIntegration, AwsRoute } from '../openapi/types.js';
import { isApiKeyScheme, isIamScheme } from '../openapi/types.js';
import { defaultStage } from '../openapi/stage.js';
import { fromAwsCors } from './cors.js';
import { requestValidationConfig } from './request-validation.js';
import { jwtConfigFromAws, lambdaAuthorizerConfigFromAws } from './security.js';

export type KeyPath = (string | number)[];

/** The user's API entry that names the document (`openapi:`), as far as translation reads it. */
export interface AwsApiEntry {
  name: string;
  hosts?: string[];
  stages?: Record<string, { variables?: Record<string, string>; hosts?: string[] }>;
  endpointOverrides?: Record<string, string>;
  plugins?: Record<string, unknown>;
}

export interface TranslateOptions {
  api: AwsApiEntry;
  /** Plugins configured above the API (the config's global `plugins`): an inherited aws-iam applies only to AWS_IAM routes. */
  globalPlugins?: Readonly<Record<string, unknown>>;
  /** The document, for the side map's positions. */
  document: { file: string; locate(path: readonly (string | number)[]): Position };
  /**
   * True for the first caller only: the table-wide `$default` fallback (unknown stages) can be added
   * once per route table, however many APIs come from documents.
   */
  claimTableDefault: () => boolean;
}

/** Where a native key path came from in the OpenAPI document. */
export interface SourceRef {
  file: string;
  /** 1-based line and column (looked up on first read). */
  readonly position: Position;
  awsKeyPath: KeyPath;
}

/** A problem found while translating, at a key path of the user's API entry (e.g. ['stages', 'dev']). */
export interface TranslateProblem {
  at: KeyPath;
  message: string;
}

export interface Refusal {
  route: string;
  code: ErrorCode;
  why: string;
}

export interface Translation {
  /** A native config holding the one translated API (validate it as a native file). */
  config: { apis: [ApiConfig] };
  /** Formatted native key path (e.g. `apis[0].routes[3].integration`) -> its place in the document. */
  sources: ReadonlyMap<string, SourceRef>;
  problems: TranslateProblem[];
  /** Routes that refuse every request (their security cannot be enforced): warned about at start. */
  refusals: Refusal[];
  /** Lambda function names the translated routes invoke (integrations and authorizers), resolved by the caller. */
  functions: Set<string>;
  /** Key path of each stage's entry in the user's API entry (problems and route errors of the stage). */
  stageAt: Record<string, KeyPath>;
}

const STAGE_VAR = /\$\{stageVariables\.([A-Za-z0-9_.:/-]+)\}/g;

export function substituteStageVariables(text: string, vars: Readonly<Record<string, string>>): { value: string; missing: string[] } {
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

/** The operation's key in the document: REST's ANY is x-amazon-apigateway-any-method, HTTP APIs write `x-amazon-apigateway-any-method` too. */
function operationPath(route: AwsRoute): KeyPath {
  return ['paths', route.path, route.method === 'ANY' ? 'x-amazon-apigateway-any-method' : route.method.toLowerCase()];
}

function overrideOrigin(origin: string, overrides: Readonly<Record<string, string>> | undefined): string {
  const o = overrides?.[origin];
  return o === undefined ? origin : o.replace(/\/+$/, '');
}

type Plugins = Record<string, Record<string, unknown>>;

/** Native integration keys and the x-amazon-apigateway-integration keys they are translated from. */
const INTEGRATION_KEYS: readonly (readonly [KeyPath, KeyPath])[] = [
  [['timeoutMs'], ['timeoutInMillis']],
  [['timeouts'], ['timeoutInMillis']],
  [['function'], ['uri']],
  [['url'], ['uri']],
  [['path'], ['uri']],
  [['payloadVersion'], ['payloadFormatVersion']],
  [['requestParameters'], ['requestParameters']],
  [['integration'], []],
];

/** A native route of any registered integration type (the schema's static type lists only the core ones). */
type NativeIntegration = RouteConfig['integration'] | AwsMappingConfig | AwsHttpProxyConfig;
type NativeRoute = Omit<RouteConfig, 'integration'> & { integration: NativeIntegration };

interface StageInfo {
  name: string;
  at: KeyPath;
  vars: Readonly<Record<string, string>>;
  /** The stage's path prefix ('' when it owns host names or is an HTTP API's $default). */
  prefix: string;
}

/**
 * Translates one API. Problems that make a route unservable (an undefined stage variable, a bad
 * integration URI) are reported and the route left out: the config is refused anyway. Security Turnpike
 * cannot enforce becomes a route that refuses every request (fail closed), never a silent pass.
 */
export function translateAwsApi(model: AwsApiModel, opts: TranslateOptions): Translation {
  const { api } = opts;
  const sources = new Map<string, SourceRef>();
  const map = (native: KeyPath, aws: KeyPath) => {
    sources.set(formatPath(native), lazySource(opts.document, aws));
  };
  const problems: TranslateProblem[] = [];
  const refusals: Refusal[] = [];
  const functions = new Set<string>();
  const stageAt: Record<string, KeyPath> = {};
  const rest = model.apiType === 'rest';

  map([], []);
  map(['apis', 0], []);

  // API-level plugins: the entry's own, minus aws-iam (its credentials serve AWS_IAM routes only), plus
  // an HTTP API's x-amazon-apigateway-cors as the cors plugin (a native cors config on the API wins).
  const apiPlugins: Record<string, unknown> = { ...api.plugins };
  const iamCfg = (api.plugins?.['aws-iam'] ?? opts.globalPlugins?.['aws-iam']) as Record<string, unknown> | undefined;
  const globalIam = opts.globalPlugins?.['aws-iam'] !== undefined;
  delete apiPlugins['aws-iam'];
  if (model.apiType === 'http' && model.cors !== undefined && apiPlugins.cors === undefined && opts.globalPlugins?.cors === undefined) {
    apiPlugins.cors = fromAwsCors(model.cors) as unknown as Record<string, unknown>;
    map(['apis', 0, 'plugins', 'cors'], ['x-amazon-apigateway-cors']);
  }

  const stageEntries = api.stages ?? { [defaultStage(model)]: {} };
  const stages: NonNullable<ApiConfig['stages']> = {};
  const routes: NativeRoute[] = [];

  for (const [stageName, entry] of Object.entries(stageEntries)) {
    const at: KeyPath = api.stages ? ['stages', stageName] : ['openapi'];
    stageAt[stageName] = at;
    const vars = entry.variables ?? {};
    const prefix = entry.hosts !== undefined || (model.apiType === 'http' && stageName === '$default') ? '' : `/${stageName}`;
    stages[stageName] = {
      ...(Object.keys(vars).length > 0 ? { variables: { ...vars } } : {}),
      ...(entry.hosts !== undefined ? { hosts: [...entry.hosts] } : {}),
      ...(prefix ? { basePath: prefix } : {}),
    };
    const stage: StageInfo = { name: stageName, at, vars, prefix };
    const security = new SecurityTranslator(model, stage, iamCfg, problems, functions);
    let hasCatchAll = false;

    for (const route of model.routes) {
      if (route.method === 'ANY' && (route.path === '/{proxy+}' || route.path === '$default')) hasCatchAll = true;
      const name = `${stageName} ${route.method} ${route.path}`;
      const op = operationPath(route);
      const plugins: Plugins = {};
      const sec = security.route(route, plugins);
      let refused = sec;
      const validation = requestValidationConfig(route, model);
      if (validation !== undefined) plugins['request-validation'] = validation as unknown as Record<string, unknown>;
      if (globalIam && plugins['aws-iam'] === undefined && iamCfg !== undefined) plugins['aws-iam'] = { ...iamCfg, enabled: false };

      let integration: NativeIntegration | undefined;
      if (route.unservable !== undefined) {
        // One integration Turnpike cannot run: this route answers AWS's 500, the others serve.
        refused ??= { code: 'ROUTE_MISCONFIGURED', why: route.unservable };
        integration = { type: 'mock', status: 500 } satisfies MockIntegrationConfig;
      } else if (route.integration === undefined) {
        refused ??= { code: 'ROUTE_MISCONFIGURED', why: 'no x-amazon-apigateway-integration' };
        integration = { type: 'mock', status: 500 } satisfies MockIntegrationConfig;
      } else {
        integration = translateIntegration(route.integration, route, model, stage, api, problems, functions);
      }
      if (integration === undefined) continue;
      if (refused !== undefined) {
        refusals.push({ route: name, code: refused.code, why: refused.why });
        plugins['request-termination'] = { code: refused.code };
      }
      const ri = routes.length;
      routes.push({
        name,
        stage: stageName,
        methods: [route.method],
        // `$default` is the whole table's catch-all; a stage with a path prefix catches all under it.
        path: route.path === '$default' && prefix ? '/{proxy+}' : route.path,
        integration,
        ...(Object.keys(plugins).length > 0 ? { plugins } : {}),
      });
      const rp: KeyPath = ['apis', 0, 'routes', ri];
      map(rp, op);
      const iop = [...op, 'x-amazon-apigateway-integration'];
      map([...rp, 'integration'], iop);
      // The native keys that come from one AWS key each, for precise positions.
      for (const [native, aws] of INTEGRATION_KEYS) if (native[0] !== undefined && native[0] in integration) map([...rp, 'integration', ...native], [...iop, ...aws]);
      map([...rp, 'plugins'], [...op, 'security']);
      if (validation !== undefined) map([...rp, 'plugins', 'request-validation'], [...op, 'x-amazon-apigateway-request-validator']);
    }

    // Unknown resources and methods answer as AWS does for the API type (recorded: REST 403 Missing
    // Authentication Token): ordinary routes that refuse with ROUTE_NOT_FOUND, which the API's gateway
    // responses render.
    const fallbacks: string[] = [];
    if (rest) {
      // REST APIs match the resource first, then the method: a method a resource lacks is 403 there,
      // never a fall-through to a {proxy+} sibling. An ANY on the resource path pins that.
      const byPath = new Map<string, Set<string>>();
      for (const r of model.routes) byPath.set(r.path, (byPath.get(r.path) ?? new Set()).add(r.method));
      // A method the import left out still has its resource: calls to it answer as a missing method there.
      for (const o of model.omittedRoutes ?? []) if (!byPath.has(o.path)) byPath.set(o.path, new Set());
      for (const [p, methods] of byPath) if (!methods.has('ANY') && p !== '$default') fallbacks.push(p);
    }
    // The stage's catch-all: `$default` is the whole table's, so a stage with a prefix catches under it.
    if (!hasCatchAll) fallbacks.push(prefix ? '/{proxy+}' : '$default');
    if (!model.routes.some((r) => r.path === '/') && !fallbacks.includes('/')) fallbacks.push('/');
    for (const p of fallbacks) {
      map(['apis', 0, 'routes', routes.length], p === '$default' || p === '/{proxy+}' ? ['paths'] : ['paths', p]);
      routes.push(notFound(`${stageName} (not found) ${p}`, p, stageName));
    }
    // Unknown stages too (AWS answers them like unknown resources): the table's catch-all, once per table.
    if (prefix && opts.claimTableDefault()) {
      map(['apis', 0, 'routes', routes.length], ['paths']);
      routes.push(notFound(`${stageName} (not found) $default`, '$default', stageName));
    }
  }

  const native: ApiConfig = {
    name: api.name,
    ...(api.hosts !== undefined ? { hosts: [...api.hosts] } : {}),
    apiType: model.apiType,
    errorDialect: rest ? 'aws-rest' : 'aws-http',
    ...(Object.keys(model.gatewayResponses).length > 0 ? { gatewayResponses: model.gatewayResponses as NonNullable<ApiConfig['gatewayResponses']> } : {}),
    ...(Object.keys(apiPlugins).length > 0 ? { plugins: apiPlugins } : {}),
    stages,
    routes: routes as RouteConfig[],
  };
  if (native.gatewayResponses !== undefined) map(['apis', 0, 'gatewayResponses'], ['x-amazon-apigateway-gateway-responses']);
  map(['apis', 0, 'stages'], []);
  return { config: { apis: [native] }, sources, problems, refusals, functions, stageAt };
}

/** A side-map entry whose position is looked up when first read: most entries never are (a valid document). */
function lazySource(document: TranslateOptions['document'], awsKeyPath: KeyPath): SourceRef {
  let position: Position | undefined;
  return {
    file: document.file,
    awsKeyPath,
    get position() {
      position ??= document.locate(awsKeyPath);
      return position;
    },
  };
}

function notFound(name: string, path: string, stage: string): NativeRoute {
  return {
    name,
    stage,
    methods: ['ANY'],
    path,
    // The refusal answers first; the mock is never reached.
    integration: { type: 'mock', status: 404 } satisfies MockIntegrationConfig,
    plugins: { 'request-termination': { code: 'ROUTE_NOT_FOUND' } },
  };
}

/** The nearest mapped parent of a native key path in a translation's side map. */
export function sourceOf(sources: ReadonlyMap<string, SourceRef>, path: readonly (string | number)[]): SourceRef | undefined {
  for (let n = path.length; n >= 0; n--) {
    const s = sources.get(formatPath(path.slice(0, n)));
    if (s !== undefined) return s;
  }
  return undefined;
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
class SecurityTranslator {
  constructor(
    private readonly model: AwsApiModel,
    private readonly stage: StageInfo,
    private readonly iam: Record<string, unknown> | undefined,
    private readonly problems: TranslateProblem[],
    private readonly functions: Set<string>,
  ) {}

  /** Adds the route's security plugins to `plugins`; returns the refusal when it cannot be enforced. */
  route(route: AwsRoute, plugins: Plugins): { code: ErrorCode; why: string } | undefined {
    const { model, stage } = this;
    let iam = route.authorizationType === 'AWS_IAM';
    let apiKey = route.apiKeyRequired;
    const requirement = route.security[0] ?? [];
    for (const req of requirement) {
      const scheme = model.securitySchemes[req.scheme];
      if (isApiKeyScheme(req.scheme, scheme)) {
        apiKey = true;
        continue;
      }
      if (scheme === undefined) return { code: 'ROUTE_MISCONFIGURED', why: `security scheme "${req.scheme}" is not defined` };
      if (isIamScheme(scheme)) {
        iam = true;
        continue;
      }
      if (scheme.authorizer === undefined)
        return { code: 'ROUTE_MISCONFIGURED', why: `security scheme "${req.scheme}" (type ${scheme.type}${scheme.authType ? `, authtype ${scheme.authType}` : ''}) has no authorizer Turnpike can enforce` };
      const type = String(scheme.authorizer.type ?? '').toLowerCase();
      try {
        if (type === 'jwt' || type === 'cognito_user_pools') {
          plugins.jwt = jwtConfigFromAws(scheme, [...req.scopes].sort()) as unknown as Record<string, unknown>;
        } else if (type === 'token' || type === 'request') {
          const fnRef = scheme.authorizerFunction;
          if (!fnRef) return { code: 'AUTHORIZER_CONFIGURATION_ERROR', why: `authorizer "${req.scheme}" has no Lambda function URI` };
          const { value: fnName, missing } = substituteStageVariables(fnRef.name, stage.vars);
          if (missing.length > 0) {
            this.problems.push({ at: stage.at, message: `authorizer "${req.scheme}" uses stage variable(s) ${missing.join(', ')} that stage "${stage.name}" does not define` });
            return { code: 'AUTHORIZER_CONFIGURATION_ERROR', why: 'unresolved stage variables' };
          }
          const cfg = lambdaAuthorizerConfigFromAws(scheme, model.apiType, fnName);
          if (!cfg) throw new Error(`authorizer "${req.scheme}" cannot be mapped`);
          this.functions.add(fnName);
          // apiId is left to the plugin's default: the name of the API the route belongs to.
          plugins['lambda-authorizer'] = { ...cfg, stage: stage.name, stageVariables: { ...stage.vars }, ...(stage.prefix ? { basePath: stage.prefix } : {}) } as unknown as Record<string, unknown>;
        } else {
          return { code: 'AUTHORIZER_CONFIGURATION_ERROR', why: `authorizer "${req.scheme}" of type ${type} is not supported` };
        }
      } catch (e) {
        this.problems.push({ at: stage.at, message: `security scheme "${req.scheme}": ${(e as Error).message}` });
        return { code: 'AUTHORIZER_CONFIGURATION_ERROR', why: (e as Error).message };
      }
    }
    if (iam) {
      if (!this.iam) return { code: 'MISSING_AUTHENTICATION', why: 'AWS_IAM needs credentials: configure the aws-iam plugin on this API' };
      plugins['aws-iam'] = { ...this.iam };
    }
    if (apiKey) plugins['api-key'] = { source: model.apiKeySource };
    return undefined;
  }
}

function translateIntegration(
  ai: AwsIntegration,
  route: AwsRoute,
  model: AwsApiModel,
  stage: StageInfo,
  api: AwsApiEntry,
  problems: TranslateProblem[],
  functions: Set<string>,
): NativeIntegration | undefined {
  const fail = (message: string) => {
    problems.push({ at: stage.at, message: `${route.location}: ${message}` });
    return undefined;
  };
  const functionName = (kind: string): string | undefined => {
    const fn = ai.lambdaFunction;
    if (!fn) return fail(`an ${kind} integration needs a Lambda function URI${kind === 'aws' ? ' (other AWS services are not supported)' : ''}`);
    const { value, missing } = substituteStageVariables(fn.name, stage.vars);
    if (missing.length > 0) return fail(`the function name uses stage variable(s) ${missing.join(', ')} that stage "${stage.name}" does not define`);
    functions.add(value);
    return value;
  };
  switch (ai.type) {
    case 'aws_proxy': {
      const name = functionName('aws_proxy');
      if (name === undefined) return undefined;
      // No apiType of its own: the event shape follows from the API's apiType and the payload version.
      const config: FunctionIntegrationConfig = {
        type: 'function',
        function: name,
        payloadVersion: model.apiType === 'http' ? (ai.payloadFormatVersion ?? '2.0') : '1.0',
        timeoutMs: ai.timeoutInMillis,
        binaryMediaTypes: [...model.binaryMediaTypes],
        stageVariables: { ...stage.vars },
      };
      return config;
    }
    case 'http_proxy': {
      const { value: uri, missing } = substituteStageVariables(ai.uri ?? '', stage.vars);
      if (missing.length > 0 || !/^https?:\/\//.test(uri))
        return fail(`integration URI "${ai.uri}" ${missing.length ? `uses stage variable(s) ${missing.join(', ')} that stage "${stage.name}" does not define` : 'is not an http(s) URL'}`);
      const url = new URL(uri.replace(/\{[^}]+\}/g, 'x'));
      const origin = overrideOrigin(url.origin, api.endpointOverrides);
      // Placeholders in the URI path are integration.request.path.X, mapped from method.request.path.Y.
      let pathTemplate = /^https?:\/\/[^/?#]+(\/[^?#]*)?/.exec(uri)?.[1] ?? '/';
      const mapped: Record<string, string> = {};
      for (const [target, source] of Object.entries(ai.requestParameters)) {
        const t = /^integration\.request\.path\.(.+)$/.exec(target);
        const s = /^method\.request\.path\.(.+)$/.exec(source);
        if (t && s) pathTemplate = pathTemplate.replaceAll(`{${t[1]}}`, `{${s[1]}}`);
        else if (!t) mapped[target] = source;
      }
      const timeouts = { firstByteMs: ai.timeoutInMillis, totalMs: ai.timeoutInMillis };
      // An HTTP API's plain proxy is the native http type; REST answers carry x-amzn-RequestId, and
      // header/query requestParameters need AWS's mapping sources: the aws-http-proxy type.
      if (model.apiType === 'http' && Object.keys(mapped).length === 0) return { type: 'http', url: origin, path: pathTemplate, timeouts } satisfies HttpIntegrationConfig;
      const config: AwsHttpProxyConfig = {
        type: 'aws-http-proxy',
        url: origin,
        path: pathTemplate,
        timeouts,
        apiType: model.apiType,
        ...(Object.keys(mapped).length > 0 ? { requestParameters: mapped } : {}),
        stageVariables: { ...stage.vars },
        ...(model.apiType === 'rest' ? { apiId: api.name } : {}),
      };
      return config;
    }
    default: {
      // Non-proxy integrations (http, aws, mock) with mapping templates and integration responses: the
      // aws-mapping type, from a config that names nothing of the document.
      let fn: string | undefined;
      if (ai.type === 'aws') {
        fn = functionName('aws');
        if (fn === undefined) return undefined;
      }
      const config: AwsMappingConfig = {
        type: 'aws-mapping',
        integration: ai as unknown as AwsMappingConfig['integration'],
        apiType: model.apiType,
        resourcePath: route.path,
        method: route.method,
        apiId: api.name,
        accountId: '000000000000',
        stageVariables: { ...stage.vars },
        binaryMediaTypes: [...model.binaryMediaTypes],
        gatewayResponses: model.gatewayResponses as AwsMappingConfig['gatewayResponses'],
        ...(fn !== undefined ? { function: fn } : {}),
        ...(api.endpointOverrides !== undefined ? { endpointOverrides: { ...api.endpointOverrides } } : {}),
      };
      return config;
    }
  }
}
