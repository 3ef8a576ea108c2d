import type { RequestContext } from '../pipeline/context.js';
import type { RawDestination } from './logger.js';

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

/** Printable ASCII except '"' and backslash: what a JSON string literal holds as is. */
const SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** JSON string literal of any string. */
function str(v: string): string {
  return SAFE.test(v) ? `"${v}"` : JSON.stringify(v);
}
/** JSON string literal of a string already known to need no escaping. */
function quote(v: string): string {
  return `"${v}"`;
}

/**
 * `Math.round(ms * 1000) / 1000` as JSON prints it, from the integer count of microseconds: an
 * integer prints without V8's double-to-shortest-string (FastDtoa, ~900 instructions per line for the
 * two durations). k/1000 prints as its decimal expansion with trailing zeros dropped; beyond 2^53 µs
 * (never a latency) the double path is taken.
 */
function millis(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us <= Number.MAX_SAFE_INTEGER)) return String(us / 1000);
  const whole = Math.floor(us / 1000);
  let frac = us - whole * 1000;
  if (frac === 0) return `${whole}`;
  let digits = frac < 10 ? '00' : frac < 100 ? '0' : '';
  while (frac % 10 === 0) frac /= 10;
  digits += frac;
  return `${whole}.${digits}`;
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
  return line(ctx, status, latencyMs, plainFields(ctx) ? quote : str);
}

/**
 * Writes the request's access line. A line whose fields needed no escaping is 7-bit ASCII, and says
 * so to a destination that can use it (LineWriter.writeAscii: written without a UTF-8 encoding pass).
 */
export function writeAccessLine(dest: RawDestination, ctx: RequestContext, status: number, latencyMs: number): void {
  if (plainFields(ctx) && dest.writeAscii !== undefined) dest.writeAscii(line(ctx, status, latencyMs, quote));
  else dest.write(line(ctx, status, latencyMs, str));
}

/**
 * One regex test over every string field together instead of one per field: true when none needs
 * escaping (every ordinary request), so the line is written with plain quotes. Seven calls were ~3k of
 * a proxied request's instructions under callgrind, one call over the joined text ~0.6k
 * (docs/benchmark.md, issue 10). Every other part of a line is ASCII by construction.
 */
function plainFields(ctx: RequestContext): boolean {
  const route = ctx.route;
  return SAFE.test(ctx.id + ctx.method + ctx.host + ctx.path + (route === undefined ? '' : route.id) + (ctx.upstreamTarget ?? '') + ctx.clientIp);
}

function line(ctx: RequestContext, status: number, latencyMs: number, q: (v: string) => string): string {
  const route = ctx.route;
  return `${PREFIX}${isoNow()}${AFTER_TIME}${q(ctx.id)},"method":${q(ctx.method)},"host":${q(ctx.host)},"path":${q(ctx.path)},"route":${
    route === undefined ? 'null' : q(route.id)
  },"status":${status},"latencyMs":${millis(latencyMs)},"upstreamMs":${ctx.upstreamMs < 0 ? 'null' : millis(ctx.upstreamMs)},"upstream":${
    ctx.upstreamTarget === undefined ? 'null' : q(ctx.upstreamTarget)
  },"bytesIn":${ctx.bytesIn},"bytesOut":${ctx.bytesOut},"clientIp":${q(ctx.clientIp)},"error":${ctx.errorCode === undefined ? 'null' : `"${ctx.errorCode}"`}}\n`;
}
