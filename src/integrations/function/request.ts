/**
 * One builder for what a Lambda function sees of a request: the proxy integration's event and a Lambda
 * authorizer's REQUEST event are built from the same ProxyRequest (src/integrations/function/events.ts
 * turns it into the 1.0 / 2.0 shapes), so the two events of one request agree field for field (AWS's
 * authorizer input example carries the same headers, context and forwarded values: docs/lambda-events.md).
 */
import { lambdaRequestId } from './request-id.js';
import type { RequestContext } from '../../pipeline/context.js';
import { decodePathParam } from '../../util/decode-path-param.js';
import { requestTraceId } from '../../util/trace-id.js';
import { type ApiType, buildEventV1, buildEventV2, type ForwardedHeaders, type ProxyRequest } from './events.js';

/** What the event says about the route and its stage (fixed per route, or per request for a shared authorizer). */
export interface RouteFacts {
  /** REST passes path parameters still encoded (recorded); HTTP APIs decode them. */
  readonly flavor: ApiType;
  /** The resource path without the stage prefix ('/pets/{id}', '/{proxy+}'). */
  readonly resourcePath: string;
  /** 'GET /pets/{id}' or '$default'. */
  readonly routeKey: string;
  readonly stage: string;
  /** null when the stage has none (AWS passes null). Put in the event as is: give a copy if it must not be shared. */
  readonly stageVariables: Record<string, string> | null;
  readonly apiId: string;
  readonly accountId: string;
}

/** The headers API Gateway adds (X-Forwarded-For/Port/Proto, X-Amzn-Trace-Id), from this request. */
export function forwardedOf(ctx: RequestContext): ForwardedHeaders {
  return {
    peerIp: ctx.peerIp,
    port: String(ctx.req.socket.localPort ?? (ctx.protocol === 'https' ? 443 : 80)),
    proto: ctx.protocol,
    traceId: requestTraceId(ctx),
  };
}

/** The request as every Lambda event builder takes it. `body` is the integration's (authorizers never see it). */
export function proxyRequestOf(ctx: RequestContext, facts: RouteFacts, body?: { body: Buffer | undefined; binary: boolean }): ProxyRequest {
  const host = ctx.host.replace(/:\d+$/, '');
  let pathParameters: Record<string, string> | null = null;
  if (ctx.params !== undefined) {
    pathParameters = {};
    for (const [k, v] of Object.entries(ctx.params)) pathParameters[k] = facts.flavor === 'rest' ? v : decodePathParam(v);
  }
  return {
    method: ctx.method,
    path: ctx.path,
    resourcePath: facts.resourcePath,
    routeKey: facts.routeKey,
    stage: facts.stage,
    rawQuery: ctx.rawQuery,
    rawHeaders: ctx.req.rawHeaders,
    pathParameters,
    stageVariables: facts.stageVariables,
    body: body?.body,
    binary: body?.binary ?? false,
    sourceIp: ctx.clientIp,
    userAgent: String(ctx.req.headers['user-agent'] ?? ''),
    requestId: lambdaRequestId(ctx),
    domainName: host,
    domainPrefix: host.split('.')[0] ?? host,
    apiId: facts.apiId,
    accountId: facts.accountId,
    protocol: `HTTP/${ctx.req.httpVersion}`,
    requestTimeEpoch: ctx.startEpochMs,
    // The client's X-Forwarded-* chain plus the peer, and the trace id: the same in both events of a request.
    forwarded: forwardedOf(ctx),
  };
}

/** The Lambda event format: REST's payload 1.0, or an HTTP API's 1.0 or 2.0. */
export type LambdaEventFormat = 'rest-1.0' | 'http-1.0' | 'http-2.0';

/** The proxy integration's event. */
export function proxyEvent(req: ProxyRequest, format: LambdaEventFormat): Record<string, unknown> {
  return format === 'http-2.0' ? buildEventV2(req) : buildEventV1(req, { apiType: format === 'rest-1.0' ? 'rest' : 'http' });
}

/**
 * A Lambda authorizer's REQUEST event: the proxy event of the same request without the body, plus what
 * the authorizer needs (REST: type, methodArn; HTTP 1.0: also identitySource and authorizationToken as
 * one joined string; HTTP 2.0: routeArn and identitySource as a list).
 */
export function authorizerRequestEvent(req: ProxyRequest, format: LambdaEventFormat, arn: string, identityValues: readonly string[]): Record<string, unknown> {
  const { body: _b, isBase64Encoded: _i, version: _v, ...rest } = proxyEvent(req, format);
  if (format === 'rest-1.0') return { type: 'REQUEST', methodArn: arn, ...rest };
  if (format === 'http-1.0') {
    const joined = identityValues.join(',');
    return { version: '1.0', type: 'REQUEST', methodArn: arn, identitySource: joined, authorizationToken: joined, ...rest };
  }
  return { version: '2.0', type: 'REQUEST', routeArn: arn, identitySource: [...identityValues], ...rest };
}
