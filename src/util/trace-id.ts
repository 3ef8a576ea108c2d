// X-Ray trace header (X-Amzn-Trace-Id) of a request, as API Gateway handles it: "API Gateway adds a
// tracing header to incoming HTTP requests that don't already have one" (AWS X-Ray developer guide,
// "Amazon API Gateway active tracing support for AWS X-Ray"), in the format
// `Root=1-<8 hex digits: epoch seconds>-<24 hex digits: 96 random bits>`.
//
// One value per request: computed on first use only (a function integration building its event, an
// AWS/HTTP mapping integration sending its request) and kept on the RequestContext, so every place that
// shows it shows the same value.

import { randomBytes } from 'node:crypto';
import type { RequestContext } from '../pipeline/context.js';

/** A fresh `Root=1-<epoch seconds, 8 hex>-<24 hex random>` for a request that started at `epochMs`. */
export function newTraceId(epochMs: number): string {
  return `Root=1-${Math.floor(epochMs / 1000)
    .toString(16)
    .padStart(8, '0')}-${randomBytes(12).toString('hex')}`;
}

const ROOT = /^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$/;
const PARENT = /^[0-9a-fA-F]{16}$/;
const FIELD_KEY = /^[A-Za-z0-9_-]+$/;
/** Visible ASCII except ';' (and ',' so a folded duplicate header is never taken for one value). */
const FIELD_VALUE = /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$/;
/** Longer headers are replaced; X-Ray headers are well under this (Root + Parent + Sampled + Lineage ≈ 100). */
const MAX_TRACE_HEADER = 256;

/**
 * Is `value` a well-formed X-Ray tracing header that API Gateway would keep as given?
 * `key=value` fields separated by ';' (order free, as ALB's `Self=…;Root=…;CalledFrom=app`), exactly one
 * `Root=1-<8 hex>-<24 hex>`, `Parent` (if present) 16 hex digits, `Sampled` (if present) 0, 1 or ?.
 * Other fields (Lineage, Self, custom ones) are kept when they are plain tokens.
 */
export function isValidTraceHeader(value: string): boolean {
  if (value.length === 0 || value.length > MAX_TRACE_HEADER) return false;
  let roots = 0;
  for (const field of value.split(';')) {
    const eq = field.indexOf('=');
    if (eq <= 0) return false;
    const key = field.slice(0, eq);
    const v = field.slice(eq + 1);
    if (!FIELD_KEY.test(key) || !FIELD_VALUE.test(v)) return false;
    if (key === 'Root') {
      if (!ROOT.test(v)) return false;
      roots++;
    } else if (key === 'Parent') {
      if (!PARENT.test(v)) return false;
    } else if (key === 'Sampled') {
      if (v !== '0' && v !== '1' && v !== '?') return false;
    }
  }
  return roots === 1;
}

/**
 * The request's trace header: the client's first X-Amzn-Trace-Id when it is valid (kept as given),
 * else a new one. Computed once and stored in `ctx.traceId`.
 */
export function requestTraceId(ctx: RequestContext): string {
  if (ctx.traceId !== '') return ctx.traceId;
  const raw = ctx.req.rawHeaders;
  let incoming: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 15 && name.toLowerCase() === 'x-amzn-trace-id') {
      incoming = (raw[i + 1] as string).trim();
      break;
    }
  }
  ctx.traceId = incoming !== undefined && isValidTraceHeader(incoming) ? incoming : newTraceId(ctx.startEpochMs);
  return ctx.traceId;
}
