/**
 * `requestParameters` of an HTTP_PROXY integration (REST APIs): headers and query parameters the
 * integration request gets, from a static value, the method request, the context or stage variables
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html).
 * Path parameters are applied by the path template (src/aws/translate.ts); body sources are not allowed in
 * a proxy integration and are a config error. Parsed once; the mapping runs after every plugin (so
 * `context.authorizer.*` is known), as the aws-http-proxy integration starts (./http-proxy.ts).
 */
import { contextValue, parseRequestParameters, type RequestMappingOp } from './mapping.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Principal } from '../../pipeline/principal.js';
import { PrincipalShapes } from '../function/principal-shapes.js';
import type { RequestHook } from '../../pipeline/types.js';

function headerOf(ctx: RequestContext, name: string, multi: boolean): string | undefined {
  const v = ctx.req.headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return multi ? v.join(',') : v[v.length - 1];
  return v;
}

function contextOf(ctx: RequestContext, stage: string, resourcePath: string, shapes: PrincipalShapes): Record<string, unknown> {
  const p = ctx.principal as Principal | undefined;
  return {
    requestId: ctx.id,
    extendedRequestId: ctx.id,
    stage,
    httpMethod: ctx.method,
    resourcePath,
    path: ctx.path,
    identity: { sourceIp: ctx.clientIp, userAgent: ctx.req.headers['user-agent'] ?? '', ...p?.identity },
    authorizer: shapes.template(p) ?? {},
  };
}

/** The hook, or undefined when nothing is mapped; throws (with the offending mapping) on an unsupported one. */
export function proxyRequestParameters(params: Readonly<Record<string, string>>, stage: string, stageVariables: Readonly<Record<string, string>>, resourcePath: string): RequestHook | undefined {
  const ops: RequestMappingOp[] = parseRequestParameters(params).filter((op) => op.target !== 'path');
  for (const op of ops) {
    if (op.source.kind === 'body' || op.source.kind === 'bodyPath') throw new Error(`${op.text}: a proxy integration cannot map the request body`);
  }
  if (ops.length === 0) return undefined;
  const needsContext = ops.some((op) => op.source.kind === 'context');
  // REST APIs only (HTTP_PROXY requestParameters): $context.authorizer in the REST shape.
  const shapes = new PrincipalShapes('rest');
  return (ctx) => {
    const context = needsContext ? contextOf(ctx, stage, resourcePath, shapes) : undefined;
    let query: URLSearchParams | undefined;
    const original = ctx.rawQuery === '' ? undefined : new URLSearchParams(ctx.rawQuery);
    for (const op of ops) {
      const s = op.source;
      let value: string | undefined;
      switch (s.kind) {
        case 'static':
          value = s.value;
          break;
        case 'context':
          value = contextValue(context as Record<string, unknown>, s.path);
          break;
        case 'stageVariables':
          value = Object.hasOwn(stageVariables, s.name) ? stageVariables[s.name] : undefined;
          break;
        case 'header':
        case 'multivalueheader':
          value = headerOf(ctx, s.name, s.kind === 'multivalueheader');
          break;
        case 'querystring': {
          const all = original?.getAll(s.name) ?? [];
          value = all[all.length - 1];
          break;
        }
        case 'multivaluequerystring': {
          const all = original?.getAll(s.name) ?? [];
          value = all.length === 0 ? undefined : all.join(',');
          break;
        }
        case 'path':
          value = ctx.params?.[s.name];
          break;
        default:
          value = undefined;
      }
      // AWS leaves a parameter out when its source has no value.
      if (value === undefined) continue;
      if (op.target === 'header') ctx.upstreamHeaders.set(op.name.toLowerCase(), value);
      else {
        query ??= new URLSearchParams(ctx.rawQuery);
        query.set(op.name, value);
      }
    }
    if (query !== undefined) ctx.rawQuery = query.toString();
    return undefined;
  };
}
