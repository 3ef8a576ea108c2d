/**
 * The Lambda proxy integration: request → event (payload 1.0 or 2.0, exactly as API Gateway builds it)
 * → handler in a warm worker (or a remote Invoke API) → result read as API Gateway reads it → answer.
 * Failures answer with AWS's status and body for the API type, and are logged with the request id
 * and the handler's error.
 */
import type { Logger } from 'pino';
import type { Integration } from '../../compile/types.js';
import type { IntegrationConfig } from '../types.js';
import type { FunctionIntegrationSchema } from './schema.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Principal } from '../../pipeline/principal.js';
import { PrincipalShapes } from './principal-shapes.js';
import { DEADLINES, type DeadlineLane, raceDeadline } from '../../util/deadline-queue.js';
import { HeaderList } from '../../util/header-list.js';
import { type FunctionFailure, finishProxyAnswer, lambdaErrorAnswer } from './errors.js';
import { type LambdaEventFormat, proxyEvent, proxyRequestOf, type RouteFacts } from './request.js';
import { requestTraceId } from '../../util/trace-id.js';
import { clientChoseId, lambdaRequestId } from './request-id.js';
import { type ApiType, type ProxyRequest, isBinaryBody } from './events.js';
import { readResponseV1, readResponseV2 } from './responses.js';
import { type InvokeResult, RemoteFunction } from './runtime/index.js';

/** What the integration needs from a local pool or a remote endpoint. */
export interface Invoker {
  invoke(event: unknown, opts: { requestId: string; deadlineMs: number; signal?: AbortSignal }): Promise<InvokeResult>;
}

export interface FunctionIntegrationOptions {
  functionName: string;
  invoker: Invoker;
  routePath: string;
  routeMethods: readonly string[];
  apiName: string;
  logger: Logger;
  /** Stage name for the event ('$default' when served at the root). */
  stage?: string;
}

const ACCOUNT_ID = '000000000000';

/** Timers and Date.now() may disagree by a millisecond or two; a timeout this close to the deadline is the deadline's. */
const DEADLINE_SLACK_MS = 20;

/**
 * Which AWS failure an invocation failure is.
 * - A timeout at the integration's deadline (the function's own limit was longer, so the pool or the
 *   remote client stopped waiting because of the deadline we passed) is API Gateway's integration
 *   timeout (REST 504 / HTTP API 503), not a function timeout; the two timers race otherwise.
 * - A remote Invoke call that did not run the function (connection refused/reset, 404
 *   ResourceNotFoundException, 5xx service errors) is a rejected invocation: AWS answers 500
 *   ("If the Lambda API rejects the invocation request, API Gateway returns a 500"). Function errors
 *   reported by the runtime (X-Amz-Function-Error, `Runtime.*` types) stay function errors (REST 502).
 */
function failureOf(r: Extract<InvokeResult, { ok: false }>, remote: boolean, deadlineMs: number): FunctionFailure {
  switch (r.kind) {
    case 'timeout':
      return Date.now() >= deadlineMs - DEADLINE_SLACK_MS ? 'integrationTimeout' : 'functionTimeout';
    case 'throttled':
      return 'throttled';
    case 'load-error':
    case 'crash':
      return remote && !r.errorType.startsWith('Runtime.') ? 'functionNotFound' : 'functionError';
    default:
      return 'functionError';
  }
}

class IntegrationTimeout extends Error {}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Bounds on the headers a function answer may set, as an upstream answer is bounded (Node's and
 * undici's 16 KiB header block; the default request header count): past either, the answer is a
 * malformed response (502), not a header block the gateway would build at any size.
 */
export const MAX_FUNCTION_HEADERS = 100;
export const MAX_FUNCTION_HEADER_BYTES = 16 * 1024;

/** requestContext.authorizer / identity from whatever the authenticate phase established. */
function principalFields(p: Principal | undefined, v2: boolean, shapes: PrincipalShapes): Partial<ProxyRequest> {
  if (p === undefined) return {};
  const out: Partial<ProxyRequest> = {};
  const authorizer = v2 ? shapes.v2(p) : shapes.v1(p);
  if (authorizer !== undefined) out.authorizer = authorizer;
  if (p.identity !== undefined) out.identity = p.identity;
  // Payload 2.0 has no identity block: a mutual-TLS client certificate travels in requestContext.authentication.
  if (v2 && p.identity?.clientCert !== undefined) out.authentication = { clientCert: p.identity.clientCert };
  return out;
}

/** The integration's config once the Lambda flavour is known (the route's API decides when the config is silent). */
export type ResolvedFunctionConfig = IntegrationConfig<typeof FunctionIntegrationSchema> & { apiType: ApiType };

export class FunctionIntegration implements Integration {
  readonly type = 'function';
  readonly needsRequestBody = true;
  readonly #config: ResolvedFunctionConfig;
  readonly #opts: FunctionIntegrationOptions;
  readonly #apiType: ApiType;
  readonly #v2: boolean;
  readonly #timeoutMs: number;
  readonly #timeoutLane: DeadlineLane;
  /** What the event says about the route (fixed per config). */
  readonly #facts: RouteFacts;
  readonly #format: LambdaEventFormat;
  readonly #principalShapes: PrincipalShapes;

  constructor(config: ResolvedFunctionConfig, opts: FunctionIntegrationOptions) {
    this.#config = config;
    this.#opts = opts;
    this.#apiType = config.apiType;
    // REST APIs only have payload 1.0; HTTP APIs default to 2.0.
    this.#v2 = this.#apiType === 'http' && (config.payloadVersion ?? '2.0') === '2.0';
    this.#timeoutMs = config.timeoutMs ?? (this.#apiType === 'rest' ? 29_000 : 30_000);
    this.#timeoutLane = DEADLINES.lane(this.#timeoutMs);
    this.#principalShapes = new PrincipalShapes(this.#apiType);
    const sv = config.stageVariables;
    this.#facts = {
      flavor: this.#apiType,
      resourcePath: opts.routePath === '$default' ? '/{proxy+}' : opts.routePath,
      routeKey: opts.routePath === '$default' ? '$default' : `${opts.routeMethods.length === 1 ? opts.routeMethods[0] : 'ANY'} ${opts.routePath}`,
      stage: opts.stage ?? '$default',
      stageVariables: sv && Object.keys(sv).length > 0 ? { ...sv } : null,
      apiId: opts.apiName,
      accountId: ACCOUNT_ID,
    };
    this.#format = this.#v2 ? 'http-2.0' : this.#apiType === 'rest' ? 'rest-1.0' : 'http-1.0';
  }

  describe(): Record<string, unknown> {
    return { ...this.#config, payloadVersion: this.#v2 ? '2.0' : '1.0', apiType: this.#apiType, timeoutMs: this.#timeoutMs };
  }

  buildRequest(ctx: RequestContext): ProxyRequest {
    const req = proxyRequestOf(ctx, this.#facts, {
      body: ctx.body !== undefined && ctx.body.length > 0 ? ctx.body : undefined,
      binary: isBinaryBody(ctx.req.headers['content-type'], this.#config.binaryMediaTypes, this.#apiType),
    });
    return Object.assign(req, principalFields(ctx.principal as Principal | undefined, this.#v2, this.#principalShapes));
  }

  async invoke(ctx: RequestContext): Promise<void> {
    const event = proxyEvent(this.buildRequest(ctx), this.#format);
    const started = performance.now();
    // The function's request id is the gateway's (request-id.ts); a client's X-Request-Id is only logged, as correlationId.
    const requestId = lambdaRequestId(ctx);
    if (clientChoseId(ctx)) this.#opts.logger.info({ requestId, correlationId: ctx.id, function: this.#opts.functionName }, 'function request id');
    let result: InvokeResult;
    const deadlineMs = Date.now() + this.#timeoutMs;
    try {
      // The integration timeout on the shared deadline queue is what answers; the pool (or remote
      // client) is told a deadline DEADLINE_SLACK_MS later, as a backstop that stops the function:
      // on its own Date.now() clock it could otherwise fire a fraction of a millisecond before the
      // setting (seen: 249.6 ms for 250).
      result = await raceDeadline(
        this.#opts.invoker.invoke(event, { requestId, deadlineMs: deadlineMs + DEADLINE_SLACK_MS }),
        this.#timeoutLane,
        () => new IntegrationTimeout(),
      );
    } catch (err) {
      ctx.upstreamMs = performance.now() - started;
      if (err instanceof IntegrationTimeout) {
        this.#opts.logger.warn(
          { requestId: ctx.id, function: this.#opts.functionName, timeoutMs: this.#timeoutMs, elapsedMs: round3(ctx.upstreamMs) },
          'function integration timed out',
        );
        return this.#answerFailure(ctx, 'integrationTimeout');
      }
      this.#opts.logger.error({ requestId: ctx.id, function: this.#opts.functionName, err }, 'function invocation failed');
      return this.#answerFailure(ctx, 'functionNotFound');
    }
    ctx.upstreamMs = performance.now() - started;
    ctx.upstreamTarget = `function:${this.#opts.functionName}`;
    if (!result.ok) {
      this.#opts.logger.error(
        {
          requestId: ctx.id,
          function: this.#opts.functionName,
          kind: result.kind,
          errorType: result.errorType,
          errorMessage: result.errorMessage,
          stack: result.stack,
          durationMs: result.durationMs,
          ...(result.runMs !== undefined ? { runMs: result.runMs } : {}),
        },
        'function error',
      );
      const failure = failureOf(result, this.#opts.invoker instanceof RemoteFunction, deadlineMs);
      if (failure === 'integrationTimeout') {
        this.#opts.logger.warn(
          { requestId: ctx.id, function: this.#opts.functionName, timeoutMs: this.#timeoutMs, elapsedMs: round3(ctx.upstreamMs) },
          'function integration timed out',
        );
      }
      return this.#answerFailure(ctx, failure);
    }
    const answer = this.#v2
      ? readResponseV2(result.payload)
      : readResponseV1(result.payload, {
          apiType: this.#apiType,
          binaryMediaTypes: this.#config.binaryMediaTypes,
          accept: ctx.req.headers.accept,
        });
    if (!answer.ok) {
      this.#opts.logger.error({ requestId: ctx.id, function: this.#opts.functionName, reason: answer.reason }, 'malformed Lambda proxy response');
      return this.#answerFailure(ctx, answer.kind === 'functionError' ? 'functionError' : 'malformedResponse');
    }
    const final = finishProxyAnswer(answer, this.#apiType);
    let headerBytes = 0;
    for (const [k, v] of final.headers) headerBytes += k.length + v.length + 4;
    if (final.headers.length > MAX_FUNCTION_HEADERS || headerBytes > MAX_FUNCTION_HEADER_BYTES) {
      this.#opts.logger.error(
        { requestId: ctx.id, function: this.#opts.functionName, headers: final.headers.length, headerBytes },
        `function answer headers over ${MAX_FUNCTION_HEADERS} or ${MAX_FUNCTION_HEADER_BYTES} bytes`,
      );
      return this.#answerFailure(ctx, 'malformedResponse');
    }
    return this.#send(ctx, final.status, final.headers, final.body, true);
  }

  /**
   * A failure is a denial when the route has an error dialect (AWS routes: the API's gateway
   * responses, with the status AWS records for this failure unless the API customises it); other
   * routes answer AWS's default answer for the failure as it is (errors.ts).
   */
  #answerFailure(ctx: RequestContext, failure: FunctionFailure): void | Promise<void> {
    const code = failure === 'integrationTimeout' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_BAD_RESPONSE';
    ctx.errorDetail = failure;
    const a = lambdaErrorAnswer(failure, this.#apiType);
    if (ctx.route?.errorAnswer !== undefined) return ctx.sendDenial({ deny: code, status: a.status });
    ctx.errorCode = code;
    return this.#send(ctx, a.status, a.headers, a.body, false);
  }

  /**
   * REST answers carry API Gateway's x-amzn-RequestId, and those that came from the function also its
   * x-amzn-trace-id (recorded: test_invocation_trace_id, AWS_PROXY rows; MOCK answers have none), as the
   * AWS/HTTP mapping integrations do. A header of the same name set by the function is kept instead.
   */
  #send(ctx: RequestContext, status: number, pairs: readonly [string, string][], body: Buffer, fromFunction: boolean): void | Promise<void> {
    const list: string[] = [];
    let requestIdSet = false;
    let traceIdSet = false;
    for (const [k, v] of pairs) {
      const name = k.toLowerCase();
      // x-request-id is the gateway's (added once for every answer): a function's own would make two.
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection' || name === 'x-request-id') continue;
      if (name === 'x-amzn-requestid') requestIdSet = true;
      else if (name === 'x-amzn-trace-id') traceIdSet = true;
      list.push(name, v);
    }
    if (this.#apiType === 'rest') {
      if (!requestIdSet) list.push('x-amzn-requestid', lambdaRequestId(ctx));
      if (fromFunction && !traceIdSet) list.push('x-amzn-trace-id', requestTraceId(ctx));
    }
    return ctx.send(status, new HeaderList(list), body);
  }
}
