/**
 * The headers API Gateway adds to what a Lambda function or authorizer sees (X-Forwarded-For/Port/Proto
 * and X-Amzn-Trace-Id), taken from this request: one place, so the proxy event and the REQUEST
 * authorizer event of the same request carry the same values (AWS's authorizer input example shows
 * them too: docs/lambda-events.md).
 */
import type { RequestContext } from '../../pipeline/context.js';
import { requestTraceId } from '../../util/trace-id.js';
import type { ForwardedHeaders } from './events.js';

export function forwardedOf(ctx: RequestContext): ForwardedHeaders {
  return {
    peerIp: ctx.peerIp,
    port: String(ctx.req.socket.localPort ?? (ctx.protocol === 'https' ? 443 : 80)),
    proto: ctx.protocol,
    traceId: requestTraceId(ctx),
  };
}
