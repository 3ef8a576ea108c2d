/**
 * Serving an AWS API Gateway document: the imported model (src/openapi) becomes compiled routes, one
 * set per stage. REST APIs answer at /{stage}/..., HTTP APIs at / for the $default stage; a stage may
 * instead own host names. Stage variables are substituted into integration URIs and function names
 * at compile time. What Turnpike cannot enforce yet (authorizers, API keys, IAM) refuses traffic.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Integration } from '../compile/types.js';
import type { Diagnostic } from '../config/diagnostics.js';
import type { ApiConfig } from '../config/schema.js';
import { FunctionIntegration, type Invoker } from '../integrations/function/index.js';
import { HttpIntegration } from '../integrations/http/index.js';
import { MockIntegration } from '../integrations/mock/index.js';
import { type AwsApiModel, type AwsIntegration, type AwsRoute, importAwsDocument, parseAwsSource } from '../openapi/index.js';
import type { EarlyResponse, RequestHook } from '../pipeline/types.js';
import { type PoolRegistry, Upstream } from '../upstream/upstream.js';

export type KeyPath = (string | number)[];

export interface AwsCompileContext {
  configDir: string;
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
  plugins: import('../compile/compile.js').PluginChoice;
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

function refuse(early: EarlyResponse): RequestHook {
  const frozen = Object.freeze(early);
  return () => frozen;
}

const MISSING_TOKEN: EarlyResponse = {
  status: 403,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'MissingAuthenticationTokenException' },
  body: '{"message":"Missing Authentication Token"}',
};
const HTTP_NOT_FOUND: EarlyResponse = { status: 404, headers: { 'content-type': 'application/json' }, body: '{"message":"Not Found"}' };
const UNAUTHORIZED: EarlyResponse = {
  status: 401,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'UnauthorizedException' },
  body: '{"message":"Unauthorized"}',
};
const FORBIDDEN: EarlyResponse = {
  status: 403,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ForbiddenException' },
  body: '{"message":"Forbidden"}',
};
const INTERNAL: EarlyResponse = { status: 500, headers: { 'content-type': 'application/json' }, body: '{"message": "Internal server error"}' };

/** Why a route must refuse traffic until its security mechanism is implemented, or undefined. */
function refusal(route: AwsRoute, model: AwsApiModel): { answer: EarlyResponse; why: string } | undefined {
  if (route.authorizationType === 'AWS_IAM') return { answer: FORBIDDEN, why: 'AWS_IAM authorization is not enforced yet' };
  const schemes = route.security.flat().filter((s) => s.scheme !== 'api_key' && model.securitySchemes[s.scheme]?.authorizer !== undefined);
  if (schemes.length > 0) return { answer: UNAUTHORIZED, why: `authorizer "${schemes[0]?.scheme}" is not evaluated yet` };
  if (route.apiKeyRequired) return { answer: FORBIDDEN, why: 'API keys are not checked yet' };
  return undefined;
}

export function compileAwsApi(api: ApiConfig, apiPath: KeyPath, c: AwsCompileContext): void {
  const file = resolve(c.configDir, api.openapi as string);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
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
  } catch (e) {
    const diagnostics = (e as { diagnostics?: Diagnostic[] }).diagnostics;
    if (diagnostics) for (const d of diagnostics) c.report(d);
    else c.err([...apiPath, 'openapi'], `cannot import ${file}: ${(e as Error).message}`);
    return;
  }
  const docDir = dirname(file);
  const stages = api.stages ?? { [model.apiType === 'http' ? '$default' : 'dev']: {} };

  for (const [stageName, stage] of Object.entries(stages)) {
    const at: KeyPath = api.stages ? [...apiPath, 'stages', stageName] : [...apiPath, 'openapi'];
    const vars = stage.variables ?? {};
    const hosts = stage.hosts ?? api.hosts ?? [];
    const prefix = stage.hosts !== undefined || (model.apiType === 'http' && stageName === '$default') ? '' : `/${stageName}`;
    const stagePath = (p: string) => (p === '$default' ? (prefix ? `${prefix}/{proxy+}` : '$default') : p === '/' ? prefix || '/' : prefix + p);
    let hasCatchAll = false;

    for (const route of model.routes) {
      const path = stagePath(route.path);
      if (route.method === 'ANY' && (route.path === '/{proxy+}' || route.path === '$default')) hasCatchAll = true;
      const name = `${stageName} ${route.method} ${route.path}`;
      const leading: RequestHook[] = [];
      const refused = refusal(route, model);
      if (refused) {
        c.logger.warn({ api: api.name, route: name, reason: refused.why }, 'route refuses traffic until its security is supported');
        leading.push(refuse(refused.answer));
      }
      let integration: Integration | undefined;
      const ai = route.integration;
      if (ai === undefined) {
        leading.push(refuse(INTERNAL));
        integration = new MockIntegration({ type: 'mock', status: 500 });
      } else {
        integration = buildIntegration(ai, route, model, { api, stageName, vars, path, docDir, at, c });
      }
      if (!integration) continue;
      c.addRoute({
        at,
        api: api.name,
        name,
        methods: [route.method],
        path,
        hosts,
        websocket: false,
        allowEncodedSlashes: false,
        maxBodyBytes: c.maxBodyBytes,
        integration,
        responseHooks: [],
        leadingRequestHooks: leading,
        plugins: c.plugins,
      });
    }

    // Unknown resources and methods answer as AWS does for the API type (recorded: REST 403 Missing Authentication Token).
    const answer = model.apiType === 'rest' ? MISSING_TOKEN : HTTP_NOT_FOUND;
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
    {
      for (const p of fallbacks) {
        c.addRoute({
          at,
          api: api.name,
          name: `${stageName} (not found) ${p}`,
          methods: ['ANY'],
          path: p,
          hosts,
          websocket: false,
          allowEncodedSlashes: false,
          maxBodyBytes: c.maxBodyBytes,
          integration: new MockIntegration({ type: 'mock', status: answer.status }),
          responseHooks: [],
          leadingRequestHooks: [refuse(answer)],
          plugins: c.plugins,
        });
      }
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
      const invoker = c.functionForArn(name, b.docDir, b.at);
      if (!invoker) return undefined;
      return new FunctionIntegration(
        {
          type: 'function',
          function: name,
          apiType: model.apiType,
          payloadVersion: model.apiType === 'http' ? (ai.payloadFormatVersion ?? '2.0') : '1.0',
          timeoutMs: ai.timeoutInMillis,
          binaryMediaTypes: model.binaryMediaTypes,
          stageVariables: { ...b.vars },
        },
        {
          functionName: name,
          invoker,
          routePath: route.path,
          routeMethods: [route.method],
          apiName: b.api.name,
          logger: c.logger,
          stage: b.stageName,
        },
      );
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
      const upstream = new Upstream(origin, { targets: [{ url: origin }], timeouts: { firstByteMs: ai.timeoutInMillis, totalMs: ai.timeoutInMillis } }, c.pools, c.configDir);
      c.createdUpstreams.push(upstream);
      return new HttpIntegration({ type: 'http', url: origin, path: pathTemplate }, upstream, b.path, c.maxBodyBytes);
    }
    default:
      c.logger.warn({ api: b.api.name, route: route.location, type: ai.type }, 'integration type not served yet; the route answers 500');
      return new MockIntegration({ type: 'mock', status: 500, headers: { 'content-type': 'application/json' }, body: '{"message": "Internal server error"}' });
  }
}

function overrideOrigin(origin: string, overrides: Readonly<Record<string, string>> | undefined): string {
  const o = overrides?.[origin];
  return o === undefined ? origin : o.replace(/\/+$/, '');
}

/** functions/NAME.mjs|.js|.cjs beside the document, as a Lambda bundle would name it. */
export function findFunctionModule(docDir: string, name: string): string | undefined {
  for (const ext of ['.mjs', '.js', '.cjs']) {
    const p = resolve(docDir, 'functions', `${name}${ext}`);
    if (existsSync(p)) return p;
  }
  return undefined;
}
