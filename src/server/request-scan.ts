/**
 * One pass over the raw request headers: enforces the header-count limit, rejects a duplicate Host,
 * picks out what the gateway needs, and builds the header list sent upstream with hop-by-hop fields,
 * every field named in Connection, and client-supplied forwarding headers from untrusted peers removed.
 * RFC 9110 §7.6.1 (Connection), RFC 7230 §5.4 (Host), RFC 7239 / de-facto X-Forwarded-*.
 */
import type { ErrorCode } from '../errors/catalogue.js';
import type { RequestContext } from '../pipeline/context.js';
import { HOP_BY_HOP, connectionTokens } from '../util/header-list.js';

const REQUEST_ID_RE = /^[A-Za-z0-9._:@/+=-]{1,200}$/;
const CHUNKED_ONLY = /^[ \t]*chunked[ \t]*$/i;

export interface ScanResult {
  error: ErrorCode | undefined;
  requestId: string | undefined;
  upgrade: string | undefined;
}

/** Fills ctx.host, ctx.contentLength, ctx.clientIp, ctx.upstreamHeaders. Returns an error code to answer with, if any. */
export function scanRequestHeaders(ctx: RequestContext, raw: readonly string[], maxCount: number): ScanResult {
  const result: ScanResult = { error: undefined, requestId: undefined, upgrade: undefined };
  if (raw.length > maxCount * 2) return rejected(result, 'TOO_MANY_HEADERS', raw);
  const out = ctx.upstreamHeaders.list;
  let hostSeen = false;
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  let connection: string | undefined;
  let forwarded: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    switch (name) {
      case 'host':
        if (hostSeen) return rejected(result, 'DUPLICATE_HOST', raw);
        hostSeen = true;
        ctx.host = value;
        continue; // the upstream gets its own Host unless the route preserves it
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        xfp = value;
        continue;
      case 'x-forwarded-host':
        xfh = value;
        continue;
      case 'forwarded':
        forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
        continue;
      case 'x-real-ip':
        continue;
      case 'x-request-id':
        if (REQUEST_ID_RE.test(value)) result.requestId = value;
        continue;
      case 'connection':
        connection = connection === undefined ? value : `${connection}, ${value}`;
        continue;
      case 'upgrade':
        result.upgrade = value;
        continue;
      case 'expect':
        continue; // Node answered 100-continue already; undici refuses to forward Expect
      case 'content-length': {
        // llhttp already refuses non-digits, duplicates and CL+TE; this guards the number itself.
        const n = Number(value);
        if (!Number.isSafeInteger(n) || n < 0 || ctx.contentLength !== -1) return rejected(result, 'BAD_HEADER', raw);
        ctx.contentLength = n;
        break;
      }
      case 'transfer-encoding':
        // Only a lone 'chunked' is understood (RFC 9112 §6.1): Node decodes the chunking but not gzip
        // or any other coding, so 'gzip, chunked' would reach the upstream as a still-encoded body
        // labelled identity. Anything else (or a repeat) is refused rather than guessed at.
        if (ctx.contentLength !== -1 || !CHUNKED_ONLY.test(value)) return rejected(result, 'BAD_HEADER', raw);
        ctx.contentLength = -2;
        continue;
      default:
        if (HOP_BY_HOP.has(name)) continue;
    }
    out.push(name, value);
  }
  // HTTP/2 (RFC 9113 §8.1): a body needs no Content-Length; unless the HEADERS frame ended the
  // stream, stream it as an HTTP/1 chunked body would be.
  if (ctx.contentLength === -1 && ctx.req.httpVersionMajor === 2) {
    const stream = (ctx.req as { stream?: { endAfterHeaders?: boolean } }).stream;
    if (stream !== undefined && stream.endAfterHeaders === false) ctx.contentLength = -2;
  }
  if (connection !== undefined) {
    for (const t of connectionTokens(connection)) {
      if (t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
      if (t === 'host' || t === 'content-length') continue; // never let a client make us drop framing or routing fields
      ctx.upstreamHeaders.delete(t);
      if (t === 'x-forwarded-for') xff = undefined;
      else if (t === 'x-forwarded-proto') xfp = undefined;
      else if (t === 'x-forwarded-host') xfh = undefined;
      else if (t === 'forwarded') forwarded = undefined;
    }
  }

  const peer = ctx.peerIp;
  const trusted = ctx.table.trustedProxies;
  const peerTrusted = trusted !== undefined && isTrusted(trusted, peer);
  if (peerTrusted) {
    if (xff !== undefined) ctx.clientIp = clientFromChain(xff, trusted, peer);
    out.push('x-forwarded-for', xff === undefined ? peer : `${xff}, ${peer}`);
    out.push('x-forwarded-proto', xfp ?? ctx.protocol);
    out.push('x-forwarded-host', xfh ?? ctx.host);
    if (forwarded !== undefined) out.push('forwarded', forwarded);
  } else {
    // Untrusted peer: its forwarding headers are discarded, the chain starts here.
    out.push('x-forwarded-for', peer);
    out.push('x-forwarded-proto', ctx.protocol);
    if (ctx.host) out.push('x-forwarded-host', ctx.host);
  }
  out.push('x-real-ip', ctx.clientIp);
  return result;
}

/** An early rejection still answers with the client's (valid) request id, wherever it appears. */
function rejected(result: ScanResult, error: ErrorCode, raw: readonly string[]): ScanResult {
  result.error = error;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
      const value = raw[i + 1] as string;
      if (REQUEST_ID_RE.test(value)) result.requestId = value;
    }
  }
  return result;
}

function isTrusted(list: import('node:net').BlockList, ip: string): boolean {
  if (ip === '') return false;
  const v6 = ip.includes(':');
  try {
    if (v6 && ip.startsWith('::ffff:') && ip.includes('.')) return list.check(ip.slice(7), 'ipv4');
    return list.check(ip, v6 ? 'ipv6' : 'ipv4');
  } catch {
    return false; // not an address at all
  }
}

/** Right to left, skipping trusted proxies: the first untrusted address is the client. */
function clientFromChain(xff: string, trusted: import('node:net').BlockList, peer: string): string {
  const parts = xff.split(',');
  for (let i = parts.length - 1; i >= 0; i--) {
    const ip = (parts[i] as string).trim();
    if (ip === '') continue;
    if (!isValidIp(ip)) return peer; // garbage in the chain: do not trust anything to its left
    if (!isTrusted(trusted, ip)) return ip;
  }
  return (parts[0] as string).trim() || peer;
}

function isValidIp(ip: string): boolean {
  // cheap shape check; BlockList.check throws on garbage
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46 || c === 58)) return false;
  }
  return ip.length > 0 && ip.length <= 45;
}
