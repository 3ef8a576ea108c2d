import type { RequestContext } from '../pipeline/context.js';

/**
 * The access-log record. Only these fields are logged: never request headers, cookies or the query
 * string (it can carry keys and tokens), so secrets cannot leak through the log.
 */
export function accessRecord(ctx: RequestContext, status: number, latencyMs: number) {
  return {
    type: 'access',
    requestId: ctx.id,
    method: ctx.method,
    host: ctx.host,
    path: ctx.path,
    route: ctx.route?.id ?? null,
    status,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    upstreamMs: ctx.upstreamMs < 0 ? null : Math.round(ctx.upstreamMs * 1000) / 1000,
    upstream: ctx.upstreamTarget ?? null,
    bytesIn: ctx.bytesIn,
    bytesOut: ctx.bytesOut,
    clientIp: ctx.clientIp,
    error: ctx.errorCode ?? null,
  };
}
