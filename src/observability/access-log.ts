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

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON must escape, so they leave the fast path.
const SAFE = /^[^"\\\u0000-\u001f\u007f-\uffff]*$/;
/** JSON string literal; the common case (nothing to escape) skips JSON.stringify. */
function str(v: string): string {
  return SAFE.test(v) ? `"${v}"` : JSON.stringify(v);
}

let isoSecond = -1;
let isoPrefix = '';
/**
 * `new Date().toISOString()` without a Date per request: the "YYYY-MM-DDTHH:mm:ss." part is formatted
 * once per second and the milliseconds appended (~100 ns instead of ~700 ns on the 2-core bench VM,
 * where it was 40 % of this function's time).
 */
function isoNow(): string {
  const now = Date.now();
  const ms = now % 1000;
  const second = now - ms;
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second).toISOString().slice(0, 20);
  }
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

const PREFIX = `{"level":"info","time":"`;
const AFTER_TIME = `","pid":${process.pid},"type":"access","requestId":`;

/**
 * The same record as accessRecord(), serialised by hand: pino's generic serialiser (asJson) was
 * ~5% of a proxied request's CPU in profiles. Field order and names match pino's output for
 * accessRecord exactly, so readers cannot tell the two apart (test/integration/observability-*).
 */
export function accessLine(ctx: RequestContext, status: number, latencyMs: number): string {
  const route = ctx.route;
  return `${PREFIX}${isoNow()}${AFTER_TIME}${str(ctx.id)},"method":${str(ctx.method)},"host":${str(ctx.host)},"path":${str(ctx.path)},"route":${
    route === undefined ? 'null' : str(route.id)
  },"status":${status},"latencyMs":${Math.round(latencyMs * 1000) / 1000},"upstreamMs":${ctx.upstreamMs < 0 ? 'null' : Math.round(ctx.upstreamMs * 1000) / 1000},"upstream":${
    ctx.upstreamTarget === undefined ? 'null' : str(ctx.upstreamTarget)
  },"bytesIn":${ctx.bytesIn},"bytesOut":${ctx.bytesOut},"clientIp":${str(ctx.clientIp)},"error":${ctx.errorCode === undefined ? 'null' : `"${ctx.errorCode}"`}}\n`;
}
