/**
 * AWS API Gateway REST *non-proxy* integrations: `http`, `aws` (Lambda) and `mock`, with mapping
 * templates, parameter mappings and integration-response selection. Everything the document says is
 * compiled once in the constructor; invoke() only evaluates. See docs/aws-integrations.md for the
 * behaviour and the AWS evidence behind each rule.
 */
import type { Principal } from '../../pipeline/principal.js';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Dispatcher, Pool } from 'undici';
import type { Integration } from '../../compile/types.js';
import type { AwsIntegration as AwsIntegrationModel, AwsIntegrationResponse } from './model.js';
import type { RequestContext } from '../../pipeline/context.js';
import { type CompiledTemplate, compileTemplate, renderWithBudget, selectTemplate, type TemplateBudget, TemplateError, type TemplateRequest } from '../../templates/index.js';
import type { ErrorCode } from '../../errors/catalogue.js';
import { ResponseTooLargeError, readCapped } from '../../upstream/response-cap.js';
import type { PoolRegistry } from '../../upstream/upstream.js';
import { DEADLINES, type DeadlineLane, deadlineSignal, raceDeadline } from '../../util/deadline-queue.js';
import { HeaderList } from '../../util/header-list.js';
import { requestTraceId } from '../../util/trace-id.js';
import type { Invoker } from '../function/index.js';
import { PrincipalShapes } from '../function/principal-shapes.js';
import { type GatewayResponseType, GatewayResponses } from './gateway-responses.js';
import {
  asText,
  BinaryConversionError,
  type ContentHandling,
  isBinaryType,
  normalizeContentHandling,
  type Payload,
  requestPayload,
  requestToBinary,
  responsePayload,
  responseToBinary,
  responseWantsBinary,
} from './binary.js';
import {
  AwsIntegrationConfigError,
  bodyForPath,
  type CompiledSelection,
  chooseResponseTemplate,
  compileSelection,
  contextValue,
  evaluateBodyPath,
  type MappingSource,
  parseRequestParameters,
  parseResponseParameters,
  parseUriTemplate,
  type RequestMappingOp,
  type ResponseMappingOp,
  renderUriPath,
  selectResponse,
  type UriTemplate,
} from './mapping.js';

export type { GatewayResponseType } from './gateway-responses.js';
export { AwsIntegrationConfigError } from './mapping.js';

export interface AwsIntegrationOptions {
  apiType: 'rest' | 'http';
  stage: string;
  stageVariables: Record<string, string>;
  /** The method the route serves (upper-case, ANY included), for $context.resourceId and messages. */
  route: { readonly method: string };
  /** route.path as AWS names it in $context.resourcePath. */
  resourcePath: string;
  /** For type 'aws' (Lambda non-proxy). */
  invoker?: Invoker;
  /** For type 'http'. */
  pools: PoolRegistry;
  /** Maps an integration URI origin to another (tests point AWS's PetStore endpoint at a local stand-in). */
  rewriteOrigin?: (origin: string) => string;
  apiId: string;
  accountId: string;
  logger: Logger;
  /** The API's gateway responses (defaults + x-amazon-apigateway-gateway-responses); built-in defaults when absent. */
  gatewayResponses?: import('./gateway-responses.js').GatewayResponses;
  /**
   * REST: the API's binaryMediaTypes (`x-amazon-apigateway-binary-media-types`). With contentHandling
   * they decide base64 conversions of request and response payloads; absent or empty = all text.
   */
  binaryMediaTypes?: readonly string[];
  /** Mapping-template CPU budget (server.limits.template*; src/templates/offthread.ts); defaults when absent. */
  templateBudget?: TemplateBudget;
}

/** Headers API Gateway drops while parsing the method request: never visible to templates or mappings (recorded). */
const DROPPED_FROM_METHOD_REQUEST = new Set([
  'connection',
  'content-length',
  'content-md5',
  'expect',
  'max-forwards',
  'proxy-authenticate',
  'server',
  'te',
  'transfer-encoding',
  'trailer',
  'upgrade',
  'www-authenticate',
]);
/** Mapping one of these into the integration request is a configuration error: 500 (recorded). */
const ILLEGAL_MAPPED_COMMON = new Set(['content-length', 'transfer-encoding', 'x-amzn-trace-id', 'x-amzn-apigateway-api-id']);
const ILLEGAL_MAPPED_AWS = new Set([...ILLEGAL_MAPPED_COMMON, 'authorization', 'connection', 'expect', 'proxy-authenticate', 'te']);
/** Mapped but never sent (recorded: Connection, Proxy-Authenticate, TE, Via absent at the HTTP backend; Referer absent at Lambda). */
const DROPPED_FROM_INTEGRATION_HTTP = new Set(['expect', 'proxy-authenticate', 'te', 'via', 'connection', 'keep-alive', 'upgrade', 'host']);
const DROPPED_FROM_INTEGRATION_AWS = new Set(['expect', 'proxy-authenticate', 'te', 'referer']);
/** Method-response headers API Gateway renames to `x-amzn-Remapped-<name>` for non-proxy integrations (recorded). */
const REMAPPED_RESPONSE = new Set([
  'authorization',
  'connection',
  'content-length',
  'content-md5',
  'date',
  'expect',
  'host',
  'max-forwards',
  'proxy-authenticate',
  'server',
  'trailer',
  'upgrade',
  'user-agent',
  'www-authenticate',
]);
const DROPPED_RESPONSE = new Set(['transfer-encoding']);
const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `09/Apr/2015:12:34:56 +0000`, the $context.requestTime format. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** A stable 10-character resource id for a resource path (AWS ids look like `abc123defg`). */
function resourceIdOf(apiId: string, path: string): string {
  return createHash('sha1').update(`${apiId} ${path}`).digest('hex').slice(0, 10);
}

/** The last value of a header by case-insensitive name from Node's rawHeaders. */
function rawHeader(raw: readonly string[], lower: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).toLowerCase() === lower) v = raw[i + 1];
  return v;
}

/**
 * The $context tree AWS documents for REST APIs ("$context Variables for data models, authorizers,
 * mapping templates, and access logging"). Fields AWS leaves null without an authorizer or IAM auth are null.
 */
export function buildTemplateContext(
  ctx: RequestContext,
  opts: Pick<AwsIntegrationOptions, 'stage' | 'resourcePath' | 'apiId' | 'accountId' | 'route'>,
  shapes: PrincipalShapes = new PrincipalShapes('rest'),
): Record<string, unknown> {
  const raw = ctx.req.rawHeaders;
  const host = (ctx.host || rawHeader(raw, 'host') || '').replace(/:\d+$/, '');
  const stagePrefix = opts.stage && opts.stage !== '$default' ? `/${opts.stage}` : '';
  const path = stagePrefix && !(ctx.path === stagePrefix || ctx.path.startsWith(`${stagePrefix}/`)) ? `${stagePrefix}${ctx.path}` : ctx.path;
  const principal = ctx.principal as Principal | undefined;
  return {
    accountId: opts.accountId,
    apiId: opts.apiId,
    authorizer: { ...shapes.template(principal) },
    awsEndpointRequestId: ctx.id,
    deploymentId: resourceIdOf(opts.apiId, `deployment ${opts.stage}`).slice(0, 6),
    domainName: host,
    domainPrefix: host.split('.')[0] ?? host,
    error: {},
    extendedRequestId: createHash('sha1').update(ctx.id).digest('base64').slice(0, 15).replace(/[+/]/g, 'A') + '=',
    httpMethod: ctx.method,
    identity: {
      accountId: null,
      apiKey: null,
      apiKeyId: null,
      caller: null,
      clientCert: null,
      cognitoAuthenticationProvider: null,
      cognitoAuthenticationType: null,
      cognitoIdentityId: null,
      cognitoIdentityPoolId: null,
      principalOrgId: null,
      sourceIp: ctx.clientIp,
      user: null,
      userAgent: rawHeader(raw, 'user-agent') ?? null,
      userArn: null,
      vpcId: null,
      vpceId: null,
      ...principal?.identity,
    },
    isCanaryRequest: false,
    path,
    protocol: `HTTP/${ctx.req.httpVersion}`,
    requestId: ctx.id,
    requestTime: requestTime(ctx.startEpochMs),
    requestTimeEpoch: ctx.startEpochMs,
    resourceId: resourceIdOf(opts.apiId, `${opts.route.method} ${opts.resourcePath}`),
    resourcePath: opts.resourcePath,
    stage: opts.stage,
  };
}

/** What the integration received, as API Gateway's method request sees it. */
interface MethodRequest {
  /** Header names as the client wrote them, last value wins (the dropped ones removed). */
  header: Record<string, string>;
  multiHeader: Record<string, string[]>;
  querystring: Record<string, string>;
  multiQuery: Record<string, string[]>;
  path: Record<string, string>;
  body: Buffer;
  bodyText: string;
  /** Lower-case name -> name as written, for case-insensitive lookups. */
  headerNames: Map<string, string>;
}

function methodRequest(ctx: RequestContext): MethodRequest {
  // Prototype-less: a header or query parameter named `constructor`, `__proto__` or `toString` is a plain name.
  const header: Record<string, string> = Object.create(null);
  const multiHeader: Record<string, string[]> = Object.create(null);
  const headerNames = new Map<string, string>();
  const raw = ctx.req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (DROPPED_FROM_METHOD_REQUEST.has(lower)) continue;
    const key = headerNames.get(lower) ?? name;
    headerNames.set(lower, key);
    header[key] = raw[i + 1] as string;
    (multiHeader[key] ??= []).push(raw[i + 1] as string);
  }
  const querystring: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  if (ctx.rawQuery) {
    for (const [k, v] of new URLSearchParams(ctx.rawQuery)) {
      querystring[k] = v;
      (multiQuery[k] ??= []).push(v);
    }
  }
  const body = ctx.body ?? Buffer.alloc(0);
  return { header, multiHeader, querystring, multiQuery, path: Object.assign(Object.create(null), ctx.params), body, bodyText: body.toString('utf8'), headerNames };
}

/** An error answered with a gateway response. */
class GatewayFailure extends Error {
  constructor(
    readonly type: GatewayResponseType,
    detail: string,
    readonly messageOverride?: string,
    /** The catalogue code for the access log and metrics, and the answer's status, when the type's default does not fit. */
    readonly code?: ErrorCode,
    readonly status?: number,
  ) {
    super(detail);
  }
}

interface EndpointResponse {
  status: number;
  /** Lower-case name -> values. */
  headers: Map<string, string[]>;
  body: Buffer;
  /** Lambda: errorMessage of a failed invocation (the selection value). */
  errorMessage?: string;
}

interface RequestOverrides {
  header: Record<string, string>;
  querystring: Record<string, string>;
  path: Record<string, string>;
  responseHeader: Record<string, string>;
  status?: number;
}

const NO_OVERRIDES: RequestOverrides = Object.freeze({ header: EMPTY, querystring: EMPTY, path: EMPTY, responseHeader: EMPTY }) as RequestOverrides;

export class AwsIntegration implements Integration {
  /** The registry type (src/integrations/aws/definition.ts). */
  readonly type = 'aws-mapping';
  /** Which backend the mapping calls: an HTTP endpoint, a Lambda function, or none (MOCK). */
  readonly #kind: 'aws-http' | 'aws-lambda' | 'aws-mock';
  readonly needsRequestBody = true;
  readonly #model: AwsIntegrationModel;
  readonly #opts: AwsIntegrationOptions;
  /** $context.authorizer from the generic principal (memoized per token / authorizer result). */
  readonly #principalShapes: PrincipalShapes;
  /** The API's gateway responses; AWS's defaults when the caller gave none. */
  readonly #gatewayResponses: GatewayResponses;
  readonly #requestTemplates: Readonly<Record<string, CompiledTemplate>>;
  readonly #passthrough: 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER';
  readonly #requestOps: readonly RequestMappingOp[];
  readonly #selection: { patterns: CompiledSelection[]; fallback: AwsIntegrationResponse | undefined };
  /** Per integration response: its mapping ops and its templates by lower-case media type. */
  readonly #responses = new Map<AwsIntegrationResponse, { ops: ResponseMappingOp[]; templates: Map<string, CompiledTemplate> }>();
  readonly #uri: UriTemplate | undefined;
  readonly #pool: Pool | undefined;
  readonly #httpMethod: string | undefined;
  readonly #timeoutMs: number;
  /** timeoutInMillis on the deadline queue. */
  readonly #timeoutLane: DeadlineLane;
  readonly #illegal: ReadonlySet<string>;
  readonly #dropped: ReadonlySet<string>;
  readonly #contentHandling: ContentHandling | undefined;
  readonly #responseHandling = new Map<AwsIntegrationResponse, ContentHandling | undefined>();

  constructor(integration: AwsIntegrationModel, opts: AwsIntegrationOptions) {
    this.#model = integration;
    this.#opts = opts;
    this.#principalShapes = new PrincipalShapes(opts.apiType);
    this.#gatewayResponses = opts.gatewayResponses ?? new GatewayResponses(opts.apiType, undefined);
    switch (integration.type) {
      case 'http':
        this.#kind = 'aws-http';
        break;
      case 'aws':
        this.#kind = 'aws-lambda';
        if (!opts.invoker) throw new AwsIntegrationConfigError(`integration type 'aws' needs a Lambda invoker (${integration.uri ?? 'no uri'})`);
        break;
      case 'mock':
        this.#kind = 'aws-mock';
        break;
      default:
        throw new AwsIntegrationConfigError(`integration type '${integration.type}' is not a non-proxy integration`);
    }
    const where = `${opts.route.method} ${opts.resourcePath}`;
    const templates: Record<string, CompiledTemplate> = {};
    for (const [type, source] of Object.entries(integration.requestTemplates ?? {})) {
      templates[type] = compileTemplate(source ?? '', `${where} request ${type}`);
    }
    this.#requestTemplates = templates;
    this.#passthrough = integration.passthroughBehavior ?? 'WHEN_NO_MATCH';
    this.#requestOps = parseRequestParameters(integration.requestParameters ?? {});
    this.#selection = compileSelection(integration.responses ?? []);
    for (const r of integration.responses ?? []) {
      const t = new Map<string, CompiledTemplate>();
      for (const [type, source] of Object.entries(r.responseTemplates ?? {})) {
        t.set(type.toLowerCase(), compileTemplate(source ?? '', `${where} response ${r.statusCode} ${type}`));
      }
      this.#responses.set(r, { ops: parseResponseParameters(r.responseParameters ?? {}), templates: t });
      this.#responseHandling.set(r, normalizeContentHandling(r.contentHandling));
    }
    this.#contentHandling = normalizeContentHandling(integration.contentHandling);
    this.#timeoutMs = integration.timeoutInMillis > 0 ? integration.timeoutInMillis : 29_000;
    this.#illegal = integration.type === 'aws' ? ILLEGAL_MAPPED_AWS : ILLEGAL_MAPPED_COMMON;
    this.#dropped = integration.type === 'aws' ? DROPPED_FROM_INTEGRATION_AWS : DROPPED_FROM_INTEGRATION_HTTP;
    if (integration.type === 'http') {
      if (!integration.uri) throw new AwsIntegrationConfigError(`http integration of ${where} has no uri`);
      this.#uri = parseUriTemplate(integration.uri, opts.stageVariables, opts.rewriteOrigin);
      const method = (integration.httpMethod ?? 'ANY').toUpperCase();
      this.#httpMethod = method === 'ANY' ? undefined : method;
      const tls = integration.tlsConfig;
      const connect: Record<string, unknown> = {};
      if (tls?.insecureSkipVerification) connect.rejectUnauthorized = false;
      if (tls?.serverNameToVerify) connect.servername = tls.serverNameToVerify;
      const connectMs = Math.min(10_000, this.#timeoutMs);
      const options: Pool.Options = {
        connections: 128,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        headersTimeout: 0,
        bodyTimeout: 0,
      };
      // The connect deadline is on the shared deadline queue (undici's ran on its coarse timers).
      this.#pool = opts.pools.acquire(this.#uri.origin, options, connect, connectMs, `aws-integration|${connectMs}|${JSON.stringify(connect)}`);
    }
    this.#timeoutLane = DEADLINES.lane(this.#timeoutMs);
  }

  describe(): Record<string, unknown> {
    const m = this.#model;
    return {
      type: this.type,
      backend: this.#kind,
      integrationType: m.type,
      ...(m.uri !== undefined ? { uri: m.uri } : {}),
      ...(this.#uri ? { origin: this.#uri.origin } : {}),
      ...(m.httpMethod !== undefined ? { httpMethod: m.httpMethod } : {}),
      passthroughBehavior: this.#passthrough,
      ...(this.#contentHandling ? { contentHandling: this.#contentHandling } : {}),
      ...(this.#opts.binaryMediaTypes?.length ? { binaryMediaTypes: [...this.#opts.binaryMediaTypes] } : {}),
      requestTemplates: Object.keys(this.#requestTemplates),
      requestParameters: Object.keys(m.requestParameters ?? {}).length,
      responses: (m.responses ?? []).map((r) => ({
        key: r.key,
        statusCode: r.statusCode,
        ...(r.selectionPattern ? { selectionPattern: r.selectionPattern } : {}),
      })),
      timeoutInMillis: this.#timeoutMs,
      stage: this.#opts.stage,
    };
  }

  close(): void {
    if (this.#pool) this.#opts.pools.release(this.#pool);
  }

  async invoke(ctx: RequestContext): Promise<void> {
    try {
      await this.#run(ctx);
    } catch (err) {
      if (err instanceof GatewayFailure) return this.#fail(ctx, err.type, err.message, err.messageOverride, err.code, err.status);
      // A payload that must be base64-decoded but is not base64: AWS answers 500 (an API configuration error).
      if (err instanceof BinaryConversionError) return this.#fail(ctx, 'API_CONFIGURATION_ERROR', err.message);
      if (err instanceof TemplateError) {
        if (err.code === 'INVALID_JSON_BODY') return this.#fail(ctx, 'BAD_REQUEST_BODY', err.message, 'Could not parse request body into json');
        if (err.code === 'TEMPLATE_TIMEOUT') {
          this.#opts.logger.warn({ requestId: ctx.id, template: err.templateName }, 'mapping template passed its render deadline');
          return this.#fail(ctx, 'API_CONFIGURATION_ERROR', err.message, undefined, 'TEMPLATE_BUDGET_EXCEEDED');
        }
        this.#opts.logger.error({ err, requestId: ctx.id, template: err.templateName }, 'mapping template failed');
        return this.#fail(ctx, 'API_CONFIGURATION_ERROR', err.message);
      }
      this.#opts.logger.error({ err, requestId: ctx.id }, 'aws integration failed');
      return this.#fail(ctx, 'API_CONFIGURATION_ERROR', err instanceof Error ? err.message : String(err));
    }
  }

  async #run(ctx: RequestContext): Promise<void> {
    const opts = this.#opts;
    const input = methodRequest(ctx);
    const context = buildTemplateContext(ctx, opts, this.#principalShapes);
    // Binary support (AWS "Content type conversions in API Gateway", request table): the payload the
    // template or the pass-through sees. CONVERT_TO_TEXT of a binary request gives `$input.body` base64.
    const contentType = input.headerNames.has('content-type') ? input.header[input.headerNames.get('content-type') as string] : undefined;
    const binaryRequest = isBinaryType(contentType, opts.binaryMediaTypes);
    const requestBody = requestPayload(input.body, binaryRequest, this.#contentHandling);
    const tplRequest: TemplateRequest = {
      body: asText(requestBody),
      path: input.path,
      querystring: input.querystring,
      header: input.header,
      multiValueQuerystring: input.multiQuery,
      multiValueHeader: input.multiHeader,
    };

    // 1. Request template (passthroughBehavior) or pass-through.
    const sel = selectTemplate(this.#requestTemplates, contentType, this.#passthrough);
    if (sel.kind === 'unsupported-media-type') throw new GatewayFailure('UNSUPPORTED_MEDIA_TYPE', `no request template for '${contentType ?? ''}'`);
    let body: Payload = requestBody;
    let overrides = NO_OVERRIDES;
    let requestOverrideTree: Record<string, unknown> = {};
    let responseOverrideTree: Record<string, unknown> = {};
    if (sel.kind === 'template' && sel.template.source.trim() !== '') {
      // A binary blob cannot go through a mapping template (LocalStack, AWS-validated: 500).
      if (typeof requestBody !== 'string') throw new BinaryConversionError('a binary request payload cannot be transformed by a mapping template');
      const r = await renderWithBudget(sel.template, tplRequest, { context, stageVariables: opts.stageVariables }, opts.templateBudget);
      body = r.output;
      overrides = {
        header: r.overrides.request.header,
        querystring: r.overrides.request.querystring,
        path: r.overrides.request.path,
        responseHeader: r.overrides.response.header,
        ...(r.overrides.response.status !== undefined ? { status: r.overrides.response.status } : {}),
      };
      requestOverrideTree = { header: r.overrides.request.header, querystring: r.overrides.request.querystring, path: r.overrides.request.path };
      responseOverrideTree = {
        header: r.overrides.response.header,
        ...(r.overrides.response.status !== undefined ? { status: r.overrides.response.status } : {}),
      };
    }

    // CONVERT_TO_BINARY of a text payload: the (passed-through or rendered) text is base64-decoded.
    body = requestToBinary(body, binaryRequest, this.#contentHandling);

    // 2. Request parameters, then the template's requestOverride on top.
    const mapped = this.#mapRequest(input, context);
    for (const [k, v] of Object.entries(overrides.header)) setHeader(mapped.header, k, v);
    for (const [k, v] of Object.entries(overrides.querystring)) mapped.querystring[k] = v;
    for (const [k, v] of Object.entries(overrides.path)) mapped.path[k] = v;
    for (const name of Object.keys(mapped.header)) {
      if (this.#illegal.has(name.toLowerCase())) {
        throw new GatewayFailure('API_CONFIGURATION_ERROR', `Execution failed due to configuration error: ${name} header already present`);
      }
    }

    // 3. The integration.
    let endpoint: EndpointResponse;
    const started = performance.now();
    if (this.#kind === 'aws-mock') endpoint = mockEndpoint(body);
    else if (this.#kind === 'aws-lambda') endpoint = await this.#callLambda(ctx, body);
    else endpoint = await this.#callHttp(ctx, input, mapped, body);
    if (this.#kind !== 'aws-mock') ctx.upstreamMs = performance.now() - started;

    // 4. Integration response.
    const selectionValue = this.#kind === 'aws-lambda' ? endpoint.errorMessage : String(endpoint.status);
    const chosen = selectResponse(this.#selection, selectionValue);
    if (chosen === undefined) {
      throw new GatewayFailure(
        'API_CONFIGURATION_ERROR',
        `Execution failed due to configuration error: No match for output mapping and no default output mapping configured. Endpoint Response Status Code: ${endpoint.status}`,
      );
    }
    const compiled = this.#responses.get(chosen) as { ops: ResponseMappingOp[]; templates: Map<string, CompiledTemplate> };
    const headers: Record<string, string> = Object.create(null);
    this.#mapResponse(compiled.ops, endpoint, context, headers);
    for (const [k, v] of Object.entries(overrides.responseHeader)) setHeader(headers, k, v);

    let status = Number.parseInt(chosen.statusCode, 10);
    if (!Number.isInteger(status) || status < 100 || status > 599) status = 200;
    if (overrides.status !== undefined) status = overrides.status;
    const accept = input.headerNames.has('accept') ? input.header[input.headerNames.get('accept') as string] : undefined;
    // Binary support (response table): the endpoint payload is binary when its Content-Type matches
    // binaryMediaTypes; the method response is binary per contentHandling, else per the first Accept type.
    const binaryPayload = isBinaryType(endpoint.headers.get('content-type')?.at(-1), opts.binaryMediaTypes);
    const wantsBinary = responseWantsBinary(isBinaryType(accept, opts.binaryMediaTypes), this.#responseHandling.get(chosen));
    let out: Payload = responsePayload(endpoint.body, binaryPayload, wantsBinary);
    const template = chooseResponseTemplate(compiled.templates, accept);
    if (template !== undefined && template.source.trim() !== '') {
      if (typeof out !== 'string') throw new BinaryConversionError('a binary response payload cannot be transformed by a mapping template');
      const r = await renderWithBudget(
        template,
        { ...tplRequest, body: out },
        { context: { ...context, requestOverride: requestOverrideTree, responseOverride: responseOverrideTree }, stageVariables: opts.stageVariables },
        opts.templateBudget,
      );
      out = r.output;
      for (const [k, v] of Object.entries(r.overrides.response.header)) setHeader(headers, k, v);
      if (r.overrides.response.status !== undefined) status = r.overrides.response.status;
    }
    out = responseToBinary(out, wantsBinary, this.#kind === 'aws-lambda');
    return this.#send(ctx, status, headers, out);
  }

  #mapRequest(
    input: MethodRequest,
    context: Record<string, unknown>,
  ): { header: Record<string, string>; querystring: Record<string, string | string[]>; path: Record<string, string> } {
    const out = {
      header: Object.create(null) as Record<string, string>,
      querystring: Object.create(null) as Record<string, string | string[]>,
      path: Object.create(null) as Record<string, string>,
    };
    let parsedBody: { value: unknown } | undefined;
    for (const op of this.#requestOps) {
      let value: string | string[] | undefined;
      const s = op.source;
      switch (s.kind) {
        case 'path':
          value = input.path[s.name];
          break;
        case 'querystring':
          value = input.querystring[s.name];
          break;
        case 'multivaluequerystring': {
          const all = input.multiQuery[s.name];
          value = all === undefined ? undefined : all.length === 1 ? all[0] : all;
          break;
        }
        case 'header':
        case 'multivalueheader': {
          const name = input.headerNames.get(s.name.toLowerCase());
          if (name !== undefined) value = s.kind === 'header' ? input.header[name] : (input.multiHeader[name] as string[]).join(',');
          break;
        }
        case 'body':
          value = input.bodyText.trim() === '' ? '{}' : input.bodyText;
          break;
        case 'bodyPath':
          if (parsedBody === undefined) {
            try {
              parsedBody = { value: bodyForPath(input.bodyText) };
            } catch {
              throw new GatewayFailure('BAD_REQUEST_BODY', 'request body is not JSON', 'Invalid JSON in request body');
            }
          }
          value = evaluateBodyPath(parsedBody.value, s.path);
          break;
        default:
          value = commonValue(s, context, this.#opts.stageVariables);
      }
      if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
      if (op.target === 'header') setHeader(out.header, op.name, Array.isArray(value) ? value.join(',') : value);
      else if (op.target === 'querystring') out.querystring[op.name] = value;
      else out.path[op.name] = Array.isArray(value) ? value.join(',') : value;
    }
    return out;
  }

  #mapResponse(ops: readonly ResponseMappingOp[], endpoint: EndpointResponse, context: Record<string, unknown>, headers: Record<string, string>): void {
    let parsedBody: { value: unknown } | undefined;
    for (const op of ops) {
      let value: string | undefined;
      const s = op.source;
      switch (s.kind) {
        case 'header':
          value = endpoint.headers.get(s.name.toLowerCase())?.at(-1);
          break;
        case 'multivalueheader':
          value = endpoint.headers.get(s.name.toLowerCase())?.join(',');
          break;
        case 'body': {
          const t = endpoint.body.toString('utf8');
          value = t.trim() === '' ? '{}' : t;
          break;
        }
        case 'bodyPath':
          if (parsedBody === undefined) {
            try {
              parsedBody = { value: bodyForPath(endpoint.body.toString('utf8')) };
            } catch {
              throw new GatewayFailure('API_CONFIGURATION_ERROR', 'integration response body is not JSON');
            }
          }
          value = evaluateBodyPath(parsedBody.value, s.path);
          break;
        default:
          value = commonValue(s, context, this.#opts.stageVariables);
      }
      if (value === undefined || value === '') continue;
      setHeader(headers, op.name, value);
    }
  }

  async #callLambda(ctx: RequestContext, body: string | Buffer): Promise<EndpointResponse> {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    let event: unknown;
    if (text.trim() === '') event = {};
    else {
      try {
        event = JSON.parse(text);
      } catch {
        event = text;
      }
    }
    const invoker = this.#opts.invoker as Invoker;
    let result: Awaited<ReturnType<Invoker['invoke']>>;
    try {
      result = await raceDeadline(
        invoker.invoke(event, { requestId: ctx.id, deadlineMs: Date.now() + this.#timeoutMs, signal: ctx.signal }),
        this.#timeoutLane,
        () => new GatewayFailure('INTEGRATION_TIMEOUT', `Lambda did not answer within ${this.#timeoutMs} ms`),
      );
    } catch (err) {
      if (err instanceof GatewayFailure) throw err;
      this.#opts.logger.error({ err, requestId: ctx.id, uri: this.#model.uri }, 'lambda invocation failed');
      // The Lambda Invoke call itself was rejected: API Gateway answers 500.
      throw new GatewayFailure('API_CONFIGURATION_ERROR', 'Lambda invocation failed');
    }
    ctx.upstreamTarget = `lambda:${this.#model.lambdaFunction?.name ?? this.#model.uri ?? ''}`;
    if (result.ok) {
      const payload = result.payload === undefined ? null : result.payload;
      return { status: 200, headers: new Map([['content-type', ['application/json']]]), body: Buffer.from(JSON.stringify(payload)) };
    }
    if (result.kind === 'throttled') throw new GatewayFailure('API_CONFIGURATION_ERROR', 'Lambda throttled the invocation');
    // A function error is a normal Lambda answer (status 200, X-Amz-Function-Error): its payload is the
    // error object, and its errorMessage is what selection patterns match. Node's runtime writes `trace`.
    const error: Record<string, unknown> = { errorType: result.errorType, errorMessage: result.errorMessage };
    if (result.stack !== undefined) error.trace = result.stack;
    this.#opts.logger.warn({ requestId: ctx.id, errorType: result.errorType, errorMessage: result.errorMessage }, 'lambda function error');
    return {
      status: 200,
      headers: new Map([
        ['content-type', ['application/json']],
        ['x-amz-function-error', ['Unhandled']],
      ]),
      body: Buffer.from(JSON.stringify(error)),
      errorMessage: result.errorMessage,
    };
  }

  async #callHttp(
    ctx: RequestContext,
    input: MethodRequest,
    mapped: { header: Record<string, string>; querystring: Record<string, string | string[]>; path: Record<string, string> },
    body: string | Buffer,
  ): Promise<EndpointResponse> {
    const uri = this.#uri as UriTemplate;
    const pool = this.#pool as Pool;
    const method = this.#httpMethod ?? ctx.method;
    let path = renderUriPath(uri, mapped.path);
    const qs = new URLSearchParams(uri.query);
    for (const [k, v] of Object.entries(mapped.querystring)) {
      qs.delete(k);
      if (Array.isArray(v)) for (const x of v) qs.append(k, x);
      else qs.append(k, v);
    }
    const query = qs.toString();
    if (query) path += `?${query}`;

    const headers: string[] = [];
    const present = new Set<string>();
    for (const [name, value] of Object.entries(mapped.header)) {
      const lower = name.toLowerCase();
      if (this.#dropped.has(lower)) continue;
      headers.push(name, value);
      present.add(lower);
    }
    if (!present.has('accept')) headers.push('Accept', 'application/json');
    if (!present.has('user-agent')) headers.push('User-Agent', `AmazonAPIGateway_${this.#opts.apiId}`);
    const clientType = input.headerNames.has('content-type') ? input.header[input.headerNames.get('content-type') as string] : undefined;
    if (!present.has('content-type') && clientType !== undefined && !NO_BODY_METHODS.has(ctx.method)) headers.push('Content-Type', clientType);
    headers.push('X-Amzn-Trace-Id', requestTraceId(ctx), 'X-Amzn-Apigateway-Api-Id', this.#opts.apiId);
    const hostHeader = mapped.header[Object.keys(mapped.header).find((k) => k.toLowerCase() === 'host') ?? ''];
    if (hostHeader !== undefined) headers.push('Host', hostHeader);

    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const sendBody = NO_BODY_METHODS.has(method) ? undefined : buf;
    if (sendBody === undefined && !NO_BODY_METHODS.has(method)) headers.push('Content-Length', '0');

    const timeout = deadlineSignal(this.#timeoutLane, () => new GatewayFailure('INTEGRATION_TIMEOUT', `no answer within ${this.#timeoutMs} ms`), { ref: false });
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, timeout.signal]);
    const onClientGone = () => abort.abort(new Error('client closed the connection'));
    ctx.upstreamAbort = onClientGone;
    ctx.upstreamTarget = uri.origin;
    try {
      const res: Dispatcher.ResponseData = await pool.request({
        path,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: sendBody ?? null,
        signal,
      });
      // Bounded (server.limits.upstreamResponseBytes, AWS's 10 MB): the whole answer is held for
      // response selection and templates, so it cannot be streamed.
      const limit = ctx.table.limits.upstreamResponseBytes;
      const cl = res.headers['content-length'];
      const body = await readCapped(res.body, limit, typeof cl === 'string' ? cl : undefined);
      const h = new Map<string, string[]>();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        h.set(k.toLowerCase(), Array.isArray(v) ? v : [v]);
      }
      return { status: res.statusCode, headers: h, body };
    } catch (err) {
      if (signal.aborted && signal.reason instanceof GatewayFailure) throw signal.reason;
      if (err instanceof ResponseTooLargeError) {
        this.#opts.logger.warn({ requestId: ctx.id, origin: uri.origin, limit: err.limit }, 'http integration response too large');
        throw new GatewayFailure('INTEGRATION_FAILURE', `Execution failed: the endpoint's response is larger than ${err.limit} bytes`, undefined, 'UPSTREAM_RESPONSE_TOO_LARGE', 502);
      }
      if (ctx.clientGone) throw new GatewayFailure('INTEGRATION_FAILURE', 'client went away');
      const code = (err as { code?: string }).code ?? '';
      this.#opts.logger.warn({ err, requestId: ctx.id, origin: uri.origin }, 'http integration failed');
      if (
        code === 'ECONNREFUSED' ||
        code === 'ENOTFOUND' ||
        code === 'EAI_AGAIN' ||
        code.startsWith('ERR_TLS') ||
        /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)
      ) {
        throw new GatewayFailure('API_CONFIGURATION_ERROR', `Execution failed due to configuration error: ${code}`);
      }
      throw new GatewayFailure('INTEGRATION_FAILURE', `Execution failed due to a network error communicating with endpoint: ${code}`);
    } finally {
      timeout.cancel();
      if (ctx.upstreamAbort === onClientGone) ctx.upstreamAbort = undefined;
    }
  }

  #send(ctx: RequestContext, status: number, headers: Record<string, string>, body: string | Buffer): void | Promise<void> {
    const list: string[] = [];
    let hasType = false;
    for (const [name, value] of Object.entries(headers)) {
      const lower = name.toLowerCase();
      if (DROPPED_RESPONSE.has(lower)) continue;
      if (REMAPPED_RESPONSE.has(lower)) {
        list.push(`x-amzn-remapped-${lower}`, value);
        continue;
      }
      if (lower === 'content-type') hasType = true;
      list.push(lower, value);
    }
    if (!hasType) list.push('content-type', 'application/json');
    if (this.#opts.apiType === 'rest') {
      list.push('x-amzn-requestid', ctx.id);
      // Recorded (LocalStack test_invocation_trace_id): a MOCK answer carries no X-Amzn-Trace-Id, with or
      // without one on the request; answers that went to a backend do.
      if (this.#kind !== 'aws-mock') list.push('x-amzn-trace-id', requestTraceId(ctx));
    }
    return ctx.send(status, new HeaderList(list), body);
  }

  #fail(ctx: RequestContext, type: GatewayResponseType, detail: string, message?: string, code?: ErrorCode, status?: number): void | Promise<void> {
    const a = this.#gatewayResponses.answer(type, gatewayInput(ctx, this.#opts.stage, this.#opts.stageVariables, { message, status }));
    ctx.errorCode = code ?? (type === 'INTEGRATION_TIMEOUT' ? 'UPSTREAM_TIMEOUT' : a.status >= 500 ? 'UPSTREAM_BAD_RESPONSE' : 'BAD_REQUEST');
    ctx.errorDetail = `${type}: ${detail}`;
    if (ctx.res.headersSent || ctx.res.destroyed) return;
    const list: string[] = [];
    for (const [k, v] of a.headers) list.push(k.toLowerCase(), v);
    if (this.#opts.apiType === 'rest') list.push('x-amzn-requestid', ctx.id);
    return ctx.send(a.status, new HeaderList(list), a.body);
  }
}

/** What a gateway-response template or header mapping may read about the request. */
export function gatewayInput(
  ctx: RequestContext,
  stage: string,
  stageVariables: Record<string, string>,
  d?: { message?: string | undefined; validationError?: string | undefined; status?: number | undefined },
) {
  return {
    requestId: ctx.id,
    stage,
    stageVariables,
    request: { headers: ctx.req.headers, query: new URLSearchParams(ctx.rawQuery), path: ctx.params ?? {} },
    ...(d?.message !== undefined ? { message: d.message } : {}),
    ...(d?.validationError !== undefined ? { validationError: d.validationError } : {}),
    ...(d?.status !== undefined ? { defaultStatus: d.status } : {}),
  };
}

/** Sets a header in a name-keyed record, replacing any entry that differs only in case. */
function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const k of Object.keys(headers)) if (k !== name && k.toLowerCase() === lower) delete headers[k];
  headers[name] = value;
}

function commonValue(s: MappingSource, context: Record<string, unknown>, stageVariables: Readonly<Record<string, string>>): string | undefined {
  switch (s.kind) {
    case 'static':
      return s.value;
    case 'context':
      return contextValue(context, s.path);
    case 'stageVariables':
      return Object.hasOwn(stageVariables, s.name) ? stageVariables[s.name] : undefined;
    default:
      return undefined;
  }
}

/**
 * The mock integration's status: the `statusCode` of the integration request body
 * (AWS: "Execution failed due to configuration error: Unable to parse statusCode. It should be an
 * integer that is defined in the request template." -> 500). AWS's parser accepts unquoted keys
 * (`{statusCode: 200}`, recorded in test_integration_mock_with_path_param).
 */
export function mockStatus(body: string): number | undefined {
  const text = body.trim();
  let code: unknown;
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) code = (v as Record<string, unknown>).statusCode;
  } catch {
    const m = /^\{[\s\S]*?["']?statusCode["']?\s*:\s*["']?(\d{3})["']?\s*[,}]/.exec(text);
    if (m) code = Number(m[1]);
  }
  if (typeof code === 'string' && /^\d{3}$/.test(code)) code = Number(code);
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599 ? code : undefined;
}

function mockEndpoint(body: string | Buffer): EndpointResponse {
  const status = mockStatus(typeof body === 'string' ? body : body.toString('utf8'));
  if (status === undefined) {
    throw new GatewayFailure(
      'API_CONFIGURATION_ERROR',
      'Execution failed due to configuration error: Unable to parse statusCode. It should be an integer that is defined in the request template.',
    );
  }
  return { status, headers: new Map(), body: Buffer.alloc(0) };
}
