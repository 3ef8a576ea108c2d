/**
 * SAM's APIs as the OpenAPI documents SAM generates for them: explicit `AWS::Serverless::Api` (swagger
 * 2.0, as SAM emits it) and `AWS::Serverless::HttpApi` (OpenAPI 3.0.1), the implicit
 * `ServerlessRestApi` (stage Prod) and `ServerlessHttpApi` (stage $default) for function events that
 * name no API, and the events' paths, authorizers, API keys and CORS. The shapes follow SAM's
 * translator (samtranslator/swagger/swagger.py, open_api/open_api.py): a Lambda proxy integration is
 * `x-amazon-apigateway-integration: {type: aws_proxy, httpMethod: POST, uri:
 * arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations}`.
 *
 * The documents are served by the AWS importer (src/openapi, src/aws) exactly as a deployed API's
 * export would be. Each generated node remembers the template key path it came from (`docSources`), so
 * a problem in it is reported at the template's line.
 */
import { type Path, type TemplateContext, bool, isRecord, mergeGlobals, num, str } from './context.js';
import type { FunctionInfo } from './functions.js';

export type ApiKind = 'rest' | 'http';

export interface ApiBuild {
  logicalId: string;
  id: string;
  kind: ApiKind;
  stage: string;
  implicit: boolean;
  /** The template key path problems of the whole API point at. */
  at: Path;
  /** Resolved properties (Globals.Api / Globals.HttpApi merged in). */
  props: Record<string, unknown>;
  origin: (key: string) => Path;
  /** The generated document (absent when a local DefinitionUri is served as it is). */
  doc?: Record<string, unknown>;
  /** DefinitionUri, relative to the template: the document served as written (SAM does not rewrite it). */
  definitionUri?: string;
  /** Generated document key path -> template key path (nearest mapped parent applies). */
  docSources: [Path, Path][];
  variables: Record<string, string>;
  /** API-level native plugins (MethodSettings throttling). */
  plugins: Record<string, unknown>;
  /** Usage plan requested through Auth.UsagePlan. */
  usagePlan?: { props: Record<string, unknown>; at: Path };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];
const ANY = 'x-amazon-apigateway-any-method';

export function invokeUri(ctx: TemplateContext, functionArn: string): string {
  return `arn:${ctx.pseudo.partition}:apigateway:${ctx.pseudo.region}:lambda:path/2015-03-31/functions/${functionArn}/invocations`;
}

/** An empty document of the API's kind, as SAM starts one. */
export function emptyDocument(kind: ApiKind, title: string): Record<string, unknown> {
  return kind === 'rest'
    ? { swagger: '2.0', info: { version: '1.0', title }, paths: {} }
    : { openapi: '3.0.1', info: { version: '1.0', title }, paths: {}, tags: [{ name: 'httpapi:createdBy', 'x-amazon-apigateway-tag-value': 'SAM' }] };
}

function methodKey(method: string): string {
  const m = method.toLowerCase();
  return m === 'any' || m === '*' ? ANY : m;
}

/** An event of type Api / HttpApi on `api`: its path and method with a Lambda proxy integration. */
export function addEvent(ctx: TemplateContext, api: ApiBuild, fn: FunctionInfo, event: Record<string, unknown>, at: Path, auth: AuthApplier): void {
  const doc = api.doc;
  if (doc === undefined) {
    ctx.warn(at, `API ${api.logicalId} is served from its DefinitionUri as written (SAM does not add event paths to it); this event adds nothing`);
    return;
  }
  const paths = doc.paths as Record<string, Record<string, unknown>>;
  let path = str(event.Path);
  let method = str(event.Method);
  if (api.kind === 'rest') {
    if (path === undefined || method === undefined) {
      ctx.error(at, 'an Api event needs Path and Method');
      return;
    }
  } else if (path === undefined && method === undefined) {
    path = '$default';
    method = 'ANY';
  } else if (path === undefined || method === undefined) {
    ctx.error(at, 'an HttpApi event needs both Path and Method, or neither (the $default route)');
    return;
  }
  if (path !== '$default' && !path.startsWith('/')) {
    ctx.error([...at, 'Path'], `path "${path}" must start with /`);
    return;
  }
  const key = methodKey(method);
  if (key !== ANY && !HTTP_METHODS.includes(key)) {
    ctx.error([...at, 'Method'], `"${method}" is not an HTTP method (or ANY)`);
    return;
  }
  paths[path] ??= {};
  const item = paths[path] as Record<string, unknown>;
  if (item[key] !== undefined) {
    // SAM refuses a method defined twice; a DefinitionBody's own method wins over nothing.
    ctx.error(at, `${method.toUpperCase()} ${path} is defined twice on API ${api.logicalId} (another event or its DefinitionBody)`);
    return;
  }
  const integration: Record<string, unknown> = { type: 'aws_proxy', httpMethod: 'POST', uri: invokeUri(ctx, fn.arn) };
  if (api.kind === 'http') {
    integration.payloadFormatVersion = str(event.PayloadFormatVersion) ?? '2.0';
    const t = num(event.TimeoutInMillis);
    if (t !== undefined) integration.timeoutInMillis = t;
  } else integration.passthroughBehavior = 'when_no_match';
  const op: Record<string, unknown> = { 'x-amazon-apigateway-integration': integration, responses: {} };
  const opPath: Path = ['paths', path, key];
  api.docSources.push([opPath, at], [[...opPath, 'x-amazon-apigateway-integration'], [...fn.at]]);
  if (api.kind === 'rest' && event.RequestParameters !== undefined) op.parameters = requestParameters(ctx, event.RequestParameters, [...at, 'RequestParameters']);
  for (const k of Object.keys(event)) {
    if (['Path', 'Method', 'RestApiId', 'ApiId', 'Auth', 'RequestParameters', 'PayloadFormatVersion', 'TimeoutInMillis'].includes(k)) continue;
    ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
  }
  item[key] = op;
  auth.event(op, isRecord(event.Auth) ? event.Auth : undefined, [...at, 'Auth']);
}

/** RequestParameters of an Api event: `method.request.header.X` (or a map of them with Required) as swagger parameters. */
function requestParameters(ctx: TemplateContext, value: unknown, at: Path): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const list = Array.isArray(value) ? value : [];
  list.forEach((entry, i) => {
    const [name, opts] = typeof entry === 'string' ? [entry, {}] : isRecord(entry) ? (Object.entries(entry)[0] ?? ['', {}]) : ['', {}];
    const m = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(name);
    if (!m) {
      ctx.error([...at, i], `"${name}" is not method.request.header.NAME, method.request.querystring.NAME or method.request.path.NAME`);
      return;
    }
    const where = m[1] === 'querystring' ? 'query' : (m[1] as string);
    const required = isRecord(opts) ? bool(opts.Required) : undefined;
    if (isRecord(opts) && opts.Caching !== undefined) ctx.unsupported([...at, i, name, 'Caching'], 'API caching is not implemented; ignored');
    out.push({ name: m[2], in: where, ...(where === 'path' ? { required: true } : required !== undefined ? { required } : {}), type: 'string' });
  });
  return out;
}

/**
 * Auth of one API: the security schemes SAM adds for its Authorizers and API keys, each event's
 * security, and the default authorizer / API key applied to every method that has no security of its
 * own (SAM's set_path_default_authorizer), OPTIONS included unless AddDefaultAuthorizerToCorsPreflight
 * is false.
 */
export class AuthApplier {
  readonly #schemes: Record<string, unknown> = {};
  readonly #auth: Record<string, unknown>;
  readonly #at: Path;
  #apiKeyScheme = false;

  constructor(
    private readonly ctx: TemplateContext,
    private readonly api: ApiBuild,
    private readonly functionArn: (value: unknown, at: Path) => string | undefined,
  ) {
    this.#auth = isRecord(api.props.Auth) ? api.props.Auth : {};
    this.#at = [...api.origin('Auth')];
    this.#buildSchemes();
  }

  #buildSchemes(): void {
    const { ctx, api } = this;
    const auth = this.#auth;
    const known = api.kind === 'rest'
      ? ['Authorizers', 'DefaultAuthorizer', 'ApiKeyRequired', 'UsagePlan', 'AddDefaultAuthorizerToCorsPreflight', 'AddApiKeyRequiredToCorsPreflight', 'InvokeRole', 'ResourcePolicy']
      : ['Authorizers', 'DefaultAuthorizer', 'EnableIamAuthorizer'];
    for (const k of Object.keys(auth)) if (!known.includes(k)) ctx.unsupported([...this.#at, k], `${k}: not implemented by Turnpike; ignored`);
    if (auth.ResourcePolicy !== undefined) ctx.unsupported([...this.#at, 'ResourcePolicy'], 'resource policies are not enforced locally; ignored');
    if (auth.InvokeRole !== undefined) ctx.unsupported([...this.#at, 'InvokeRole'], 'IAM roles are not enforced locally; ignored');
    if (auth.EnableIamAuthorizer !== undefined) ctx.unsupported([...this.#at, 'EnableIamAuthorizer'], 'IAM authorization needs the aws-iam plugin and credentials; routes using AWS_IAM refuse traffic');
    const authorizers = isRecord(auth.Authorizers) ? auth.Authorizers : {};
    for (const [name, raw] of Object.entries(authorizers)) {
      const at: Path = [...this.#at, 'Authorizers', name];
      if (!isRecord(raw)) {
        ctx.error(at, 'an authorizer must be a map');
        continue;
      }
      const scheme = api.kind === 'rest' ? this.#restScheme(raw, at) : this.#httpScheme(raw, at);
      if (scheme !== undefined) {
        this.#schemes[name] = scheme;
        api.docSources.push([[api.kind === 'rest' ? 'securityDefinitions' : 'components', ...(api.kind === 'rest' ? [name] : ['securitySchemes', name])], at]);
      }
    }
    const def = str(auth.DefaultAuthorizer);
    if (def !== undefined && def !== 'AWS_IAM' && this.#schemes[def] === undefined) ctx.error([...this.#at, 'DefaultAuthorizer'], `DefaultAuthorizer "${def}" is not one of Auth.Authorizers (${Object.keys(this.#schemes).join(', ') || 'none'})`);
  }

  #restScheme(a: Record<string, unknown>, at: Path): Record<string, unknown> | undefined {
    const identity = isRecord(a.Identity) ? a.Identity : {};
    if (a.UserPoolArn !== undefined) {
      const arns = (Array.isArray(a.UserPoolArn) ? a.UserPoolArn : [a.UserPoolArn]).map(str).filter((x): x is string => x !== undefined);
      const header = str(identity.Header) ?? 'Authorization';
      return { type: 'apiKey', name: header, in: 'header', 'x-amazon-apigateway-authtype': 'cognito_user_pools', 'x-amazon-apigateway-authorizer': { type: 'cognito_user_pools', providerARNs: arns } };
    }
    const fnArn = this.functionArn(a.FunctionArn, [...at, 'FunctionArn']);
    if (fnArn === undefined) return undefined;
    const type = (str(a.FunctionPayloadType) ?? 'TOKEN').toUpperCase();
    const ttl = num(identity.ReauthorizeEvery) ?? 300;
    if (a.FunctionInvokeRole !== undefined) this.ctx.unsupported([...at, 'FunctionInvokeRole'], 'IAM roles are not enforced locally; ignored');
    if (type === 'TOKEN') {
      const header = str(identity.Header) ?? 'Authorization';
      const authorizer: Record<string, unknown> = { type: 'token', authorizerUri: invokeUri(this.ctx, fnArn), authorizerResultTtlInSeconds: ttl };
      const expr = str(identity.ValidationExpression);
      if (expr !== undefined) authorizer.identityValidationExpression = expr;
      return { type: 'apiKey', name: header, in: 'header', 'x-amazon-apigateway-authtype': 'custom', 'x-amazon-apigateway-authorizer': authorizer };
    }
    if (type !== 'REQUEST') {
      this.ctx.error([...at, 'FunctionPayloadType'], `FunctionPayloadType must be TOKEN or REQUEST, not ${type}`);
      return undefined;
    }
    const sources = [
      ...list(identity.Headers).map((h) => `method.request.header.${h}`),
      ...list(identity.QueryStrings).map((q) => `method.request.querystring.${q}`),
      ...list(identity.StageVariables).map((v) => `stageVariables.${v}`),
      ...list(identity.Context).map((c) => `context.${c}`),
    ];
    const authorizer: Record<string, unknown> = { type: 'request', authorizerUri: invokeUri(this.ctx, fnArn), authorizerResultTtlInSeconds: ttl };
    if (sources.length > 0) authorizer.identitySource = sources.join(', ');
    return { type: 'apiKey', name: 'Unused', in: 'header', 'x-amazon-apigateway-authtype': 'custom', 'x-amazon-apigateway-authorizer': authorizer };
  }

  #httpScheme(a: Record<string, unknown>, at: Path): Record<string, unknown> | undefined {
    if (a.JwtConfiguration !== undefined) {
      const jc = isRecord(a.JwtConfiguration) ? a.JwtConfiguration : {};
      const jwt: Record<string, unknown> = {};
      const issuer = str(jc.issuer ?? jc.Issuer);
      if (issuer !== undefined) jwt.issuer = issuer;
      const audience = list(jc.audience ?? jc.Audience);
      if (audience.length > 0) jwt.audience = audience;
      const scheme: Record<string, unknown> = {
        type: 'oauth2',
        'x-amazon-apigateway-authorizer': { type: 'jwt', jwtConfiguration: jwt, identitySource: str(a.IdentitySource) ?? '$request.header.Authorization' },
      };
      if (a.OpenIdConnectUrl !== undefined) scheme.openIdConnectUrl = str(a.OpenIdConnectUrl);
      return scheme;
    }
    const fnArn = this.functionArn(a.FunctionArn, [...at, 'FunctionArn']);
    if (fnArn === undefined) return undefined;
    const identity = isRecord(a.Identity) ? a.Identity : {};
    const sources = [
      ...list(identity.Headers).map((h) => `$request.header.${h}`),
      ...list(identity.QueryStrings).map((q) => `$request.querystring.${q}`),
      ...list(identity.StageVariables).map((v) => `$stageVariables.${v}`),
      ...list(identity.Context).map((c) => `$context.${c}`),
    ];
    const authorizer: Record<string, unknown> = {
      type: 'request',
      authorizerUri: invokeUri(this.ctx, fnArn),
      authorizerPayloadFormatVersion: str(a.AuthorizerPayloadFormatVersion) ?? '2.0',
      authorizerResultTtlInSeconds: num(identity.ReauthorizeEvery) ?? 300,
    };
    const simple = bool(a.EnableSimpleResponses);
    if (simple !== undefined) authorizer.enableSimpleResponses = simple;
    if (sources.length > 0) authorizer.identitySource = sources.join(', ');
    if (a.FunctionInvokeRole !== undefined) this.ctx.unsupported([...at, 'FunctionInvokeRole'], 'IAM roles are not enforced locally; ignored');
    return { type: 'apiKey', name: 'Unused', in: 'header', 'x-amazon-apigateway-authorizer': authorizer };
  }

  /** An event's own security (Auth.Authorizer, Auth.ApiKeyRequired, Auth.AuthorizationScopes). */
  event(op: Record<string, unknown>, auth: Record<string, unknown> | undefined, at: Path): void {
    const a = auth ?? {};
    for (const k of Object.keys(a)) {
      if (!['Authorizer', 'ApiKeyRequired', 'AuthorizationScopes', 'ResourcePolicy', 'InvokeRole'].includes(k)) this.ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
      else if (k === 'ResourcePolicy' || k === 'InvokeRole') this.ctx.unsupported([...at, k], `${k} is not enforced locally; ignored`);
    }
    const name = str(a.Authorizer) ?? str(this.#auth.DefaultAuthorizer);
    const keyRequired = bool(a.ApiKeyRequired) ?? bool(this.#auth.ApiKeyRequired) ?? false;
    const scopes = list(a.AuthorizationScopes);
    this.#secure(op, name, keyRequired, scopes, [...at, 'Authorizer']);
  }

  #secure(op: Record<string, unknown>, name: string | undefined, keyRequired: boolean, scopes: string[], at: Path): void {
    const requirement: Record<string, string[]> = {};
    if (name !== undefined && name !== 'NONE') {
      if (name === 'AWS_IAM') {
        this.#schemes.sigv4 ??= { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' };
        requirement.sigv4 = [];
      } else if (this.#schemes[name] === undefined) {
        this.ctx.error(at, `authorizer "${name}" is not one of the API's Auth.Authorizers (${Object.keys(this.#schemes).join(', ') || 'none'})`);
      } else requirement[name] = scopes;
    }
    if (keyRequired && this.api.kind === 'rest') {
      this.#apiKeyScheme = true;
      requirement.api_key = [];
    }
    op.security = Object.keys(requirement).length > 0 ? [requirement] : [];
  }

  /** After every event: security schemes into the document, defaults onto methods without security. */
  finish(): void {
    const doc = this.api.doc;
    if (doc === undefined) return;
    const def = str(this.#auth.DefaultAuthorizer);
    const keyRequired = bool(this.#auth.ApiKeyRequired) ?? false;
    const onPreflight = bool(this.#auth.AddDefaultAuthorizerToCorsPreflight) ?? true;
    const keyOnPreflight = bool(this.#auth.AddApiKeyRequiredToCorsPreflight) ?? true;
    if (def !== undefined || keyRequired) {
      for (const item of Object.values(doc.paths as Record<string, unknown>)) {
        if (!isRecord(item)) continue;
        for (const [m, op] of Object.entries(item)) {
          if (!isRecord(op) || op.security !== undefined || (m !== ANY && !HTTP_METHODS.includes(m))) continue;
          const preflight = m === 'options';
          this.#secure(op, preflight && !onPreflight ? undefined : def, keyRequired && (!preflight || keyOnPreflight), [], [...this.#at, 'DefaultAuthorizer']);
          if ((op.security as unknown as unknown[]).length === 0) delete op.security;
        }
      }
    }
    if (this.#apiKeyScheme) this.#schemes.api_key = { type: 'apiKey', name: 'x-api-key', in: 'header' };
    if (Object.keys(this.#schemes).length === 0) return;
    if (this.api.kind === 'rest') doc.securityDefinitions = { ...(isRecord(doc.securityDefinitions) ? doc.securityDefinitions : {}), ...this.#schemes };
    else {
      const components = isRecord(doc.components) ? doc.components : {};
      components.securitySchemes = { ...(isRecord(components.securitySchemes) ? components.securitySchemes : {}), ...this.#schemes };
      doc.components = components;
    }
  }
}

function list(v: unknown): string[] {
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.map(str).filter((x): x is string => x !== undefined);
}

/**
 * REST Cors as SAM implements it: an OPTIONS mock method on every path, answering the configured
 * Access-Control-* headers (samtranslator swagger.add_cors). A Lambda proxy method still has to send
 * Access-Control-Allow-Origin itself, as on AWS.
 */
export function addRestCors(ctx: TemplateContext, api: ApiBuild, cors: unknown, at: Path): void {
  const doc = api.doc;
  if (doc === undefined || cors === undefined) return;
  const c: Record<string, unknown> = typeof cors === 'string' ? { AllowOrigin: cors } : isRecord(cors) ? cors : {};
  const origin = str(c.AllowOrigin);
  if (origin === undefined) {
    ctx.error(at, 'Cors needs AllowOrigin (a quoted value, e.g. "\'*\'")');
    return;
  }
  for (const k of Object.keys(c)) if (!['AllowOrigin', 'AllowMethods', 'AllowHeaders', 'MaxAge', 'AllowCredentials'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
  for (const [path, item] of Object.entries(doc.paths as Record<string, unknown>)) {
    if (!isRecord(item) || item.options !== undefined) continue;
    const methods = new Set<string>(['OPTIONS']);
    for (const m of Object.keys(item)) {
      if (m === ANY) for (const x of ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']) methods.add(x);
      else if (HTTP_METHODS.includes(m)) methods.add(m.toUpperCase());
    }
    const headers: Record<string, string> = { 'Access-Control-Allow-Origin': origin };
    headers['Access-Control-Allow-Methods'] = str(c.AllowMethods) ?? `'${[...methods].sort().join(',')}'`;
    const allowHeaders = str(c.AllowHeaders);
    if (allowHeaders !== undefined) headers['Access-Control-Allow-Headers'] = allowHeaders;
    const maxAge = str(c.MaxAge);
    if (maxAge !== undefined) headers['Access-Control-Max-Age'] = maxAge.startsWith("'") ? maxAge : `'${maxAge}'`;
    if (bool(c.AllowCredentials) === true) headers['Access-Control-Allow-Credentials'] = "'true'";
    const responseParameters: Record<string, string> = {};
    const responseHeaders: Record<string, unknown> = {};
    for (const [h, v] of Object.entries(headers)) {
      responseParameters[`method.response.header.${h}`] = v;
      responseHeaders[h] = { type: 'string' };
    }
    item.options = {
      summary: 'CORS support',
      consumes: ['application/json'],
      produces: ['application/json'],
      'x-amazon-apigateway-integration': {
        type: 'mock',
        requestTemplates: { 'application/json': '{\n  "statusCode" : 200\n}\n' },
        responses: { default: { statusCode: '200', responseParameters, responseTemplates: { 'application/json': '{}\n' } } },
      },
      responses: { '200': { description: 'Default response for CORS method', headers: responseHeaders } },
    };
    api.docSources.push([['paths', path, 'options'], at]);
  }
}

/** HttpApi CorsConfiguration (true, or the map) as x-amazon-apigateway-cors. */
export function httpCors(ctx: TemplateContext, cors: unknown, at: Path): Record<string, unknown> | undefined {
  if (cors === undefined || cors === false) return undefined;
  if (cors === true) return { allowOrigins: ['*'], allowHeaders: ['*'], allowMethods: ['*'] };
  if (!isRecord(cors)) {
    ctx.error(at, 'CorsConfiguration must be true or a map');
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const keys: Record<string, string> = { AllowOrigins: 'allowOrigins', AllowHeaders: 'allowHeaders', AllowMethods: 'allowMethods', ExposeHeaders: 'exposeHeaders', MaxAge: 'maxAge', AllowCredentials: 'allowCredentials' };
  for (const [k, v] of Object.entries(cors)) {
    const to = keys[k];
    if (to === undefined) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
    else out[to] = k === 'MaxAge' ? num(v) : k === 'AllowCredentials' ? bool(v) : list(v);
  }
  return out;
}

/** Gateway responses as SAM writes them (ResponseParameters.Headers, ResponseTemplates, StatusCode). */
export function gatewayResponses(ctx: TemplateContext, value: unknown, at: Path): Record<string, unknown> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [type, raw] of Object.entries(value)) {
    if (!isRecord(raw)) continue;
    const r: Record<string, unknown> = {};
    const code = str(raw.StatusCode);
    if (code !== undefined) r.statusCode = code;
    const params = isRecord(raw.ResponseParameters) ? raw.ResponseParameters : {};
    const rp: Record<string, string> = {};
    for (const [group, prefix] of [['Headers', 'header'], ['Paths', 'path'], ['QueryStrings', 'querystring']] as const) {
      const g = params[group];
      if (isRecord(g)) for (const [k, v] of Object.entries(g)) rp[`gatewayresponse.${prefix}.${k}`] = str(v) ?? '';
    }
    if (Object.keys(rp).length > 0) r.responseParameters = rp;
    if (isRecord(raw.ResponseTemplates)) r.responseTemplates = raw.ResponseTemplates;
    out[type] = r;
  }
  void ctx;
  void at;
  return out;
}

/** MethodSettings throttling of the whole stage (`/*` and `*`) as a token bucket per route, as AWS throttles each method. */
export function methodSettings(ctx: TemplateContext, value: unknown, at: Path): Record<string, unknown> | undefined {
  if (!Array.isArray(value)) return undefined;
  let plugin: Record<string, unknown> | undefined;
  value.forEach((s, i) => {
    if (!isRecord(s)) return;
    const here: Path = [...at, i];
    const rate = num(s.ThrottlingRateLimit);
    const burst = num(s.ThrottlingBurstLimit);
    for (const k of Object.keys(s)) if (!['ResourcePath', 'HttpMethod', 'ThrottlingRateLimit', 'ThrottlingBurstLimit'].includes(k)) ctx.unsupported([...here, k], `${k}: not implemented by Turnpike; ignored`);
    if (rate === undefined && burst === undefined) return;
    if ((str(s.ResourcePath) ?? '/*') !== '/*' || (str(s.HttpMethod) ?? '*') !== '*') {
      ctx.unsupported(here, 'throttling of one resource or method is not implemented (only ResourcePath "/*" with HttpMethod "*"); ignored');
      return;
    }
    plugin = { limits: [{ tokenBucket: { rate: rate ?? 10000, burst: Math.max(1, Math.round(burst ?? 5000)) } }], key: ['route'] };
  });
  return plugin;
}

/** Globals.Api / Globals.HttpApi under an API's own properties. */
export function apiProps(ctx: TemplateContext, logicalId: string, raw: Record<string, unknown> | undefined, globals: Record<string, unknown> | undefined, section: 'Api' | 'HttpApi'): { props: Record<string, unknown>; origin: (key: string) => Path } {
  const props: Record<string, unknown> = {};
  const origin = new Map<string, Path>();
  for (const [k, v] of Object.entries(globals ?? {})) {
    const r = ctx.resolve(v, ['Globals', section, k]);
    if (r !== undefined) {
      props[k] = r;
      origin.set(k, ['Globals', section, k]);
    }
  }
  const at: Path = ['Resources', logicalId, 'Properties'];
  for (const [k, v] of Object.entries(isRecord(raw?.Properties) ? raw.Properties : {})) {
    const r = ctx.resolve(v, [...at, k]);
    if (r === undefined) continue;
    props[k] = k === 'DefinitionBody' ? r : mergeGlobals(props[k], r);
    origin.set(k, [...at, k]);
  }
  return { props, origin: (key) => origin.get(key) ?? (raw === undefined ? ['Globals', section] : ['Resources', logicalId]) };
}
