/**
 * The request id a function sees (context.awsRequestId, requestContext.requestId, REST's x-amzn-RequestId)
 * is the gateway's own, never a client's. The gateway adopts a client's valid X-Request-Id as its
 * request id (ctx.id, for correlation in logs and the x-request-id answer header); handed to a function,
 * a chosen id would let a client collide with another request's logs and idempotency keys, so a request
 * that brought its own id gets a fresh UUID here, once per request (authorizer and integration agree).
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../../pipeline/context.js';

const own = new WeakMap<RequestContext, string>();

/** True when ctx.id came from the client's X-Request-Id header. */
export function clientChoseId(ctx: RequestContext): boolean {
  const given = ctx.req.headers['x-request-id'];
  return given !== undefined && (given === ctx.id || (Array.isArray(given) && given.includes(ctx.id)));
}

export function lambdaRequestId(ctx: RequestContext): string {
  if (!clientChoseId(ctx)) return ctx.id;
  let id = own.get(ctx);
  if (id === undefined) {
    id = randomUUID();
    own.set(ctx, id);
  }
  return id;
}
