/**
 * The client-facing HTTP listener: Node's parser limits wired to the configured ones, and every
 * parser-level rejection (clientError) answered as JSON with a request id instead of Node's bare text.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Limits } from '../compile/types.js';
import { ERRORS, type ErrorCode, errorBody } from '../errors/catalogue.js';
import { type Gateway, GatewayRequest, GatewayResponse } from './gateway.js';

export function createListener(gateway: Gateway, limits: Limits): http.Server {
  const server = http.createServer(
    {
      IncomingMessage: GatewayRequest,
      ServerResponse: GatewayResponse as unknown as typeof http.ServerResponse,
      maxHeaderSize: limits.headerBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Checks headersTimeout/requestTimeout this often (ms); the default 30 s makes 408 arrive late.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      noDelay: true,
      // llhttp lenient mode stays off: ambiguous framing (CL+TE, bad chunk sizes) is a 400.
      insecureHTTPParser: false,
      requireHostHeader: false,
    },
    gateway.onRequest as unknown as http.RequestListener,
  ) as unknown as http.Server;
  // Node's default (2000) silently drops the headers past it; 0 keeps them all and we answer 431 ourselves.
  server.maxHeadersCount = 0;
  server.on('upgrade', gateway.onUpgrade as unknown as (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void);
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // Read the limits at error time: a reload may have changed urlBytes (headerBytes needs a restart).
    const code = clientErrorCode(err, gateway.table.limits);
    // A request already in flight on this socket (requestTimeout fires while its body is still
    // arriving): once its response has started, a raw error answer would be spliced into the middle
    // of it, so the only honest signal left is closing the connection.
    const inflight = (socket as Socket & { _httpMessage?: GatewayResponse | null })._httpMessage ?? undefined;
    if (code === undefined || !socket.writable || (inflight !== undefined && inflight.headersSent)) {
      // Only a parser or timeout problem is the client's fault; a socket error caused by our own abort
      // (upstream failure mid-stream) must keep the upstream's code in the access log.
      if (inflight?.ctx !== undefined && code !== undefined && inflight.ctx.errorCode === undefined && isClientFault(err)) inflight.ctx.errorCode = code;
      socket.destroy();
      return;
    }
    // Reuse the in-flight request's id so the answer, the access log and the upstream agree.
    const requestId = inflight?.ctx?.id || randomUUID();
    if (inflight?.ctx !== undefined) inflight.ctx.errorCode = code;
    gateway.logger.warn({ requestId, clientIp: socket.remoteAddress, err: { code: err.code, message: err.message }, error: code }, 'rejected malformed request');
    // An in-flight request is counted (and access-logged) when its response closes.
    if (inflight === undefined) gateway.metrics.unrouted.record('OTHER', ERRORS[code].status, 0, -1, 0, 0);
    const body = errorBody(code, requestId);
    const { status, message } = ERRORS[code];
    socket.end(
      `HTTP/1.1 ${status} ${reason(message)}\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

function isClientFault(err: NodeJS.ErrnoException): boolean {
  const c = err.code ?? '';
  return c.startsWith('HPE_') || c === 'ERR_HTTP_REQUEST_TIMEOUT' || c === 'ERR_HTTP_HEADERS_TIMEOUT';
}

function reason(message: string): string {
  const i = message.indexOf(':');
  return i < 0 ? message : message.slice(0, i);
}

function clientErrorCode(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, limits: Limits): ErrorCode | undefined {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      // The request target alone too long is a 414, not a 431 (RFC 9110 §15.5.15).
      return targetTooLong(err.rawPacket, limits.urlBytes) ? 'URI_TOO_LONG' : 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    default:
      return 'BAD_REQUEST';
  }
}

const REQUEST_LINE_START = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32} [/hH*]/;

/**
 * Whether the header overflow is the request target's fault. `raw` is only the chunk being parsed
 * when the limit was hit (Node's rawPacket), so this is decided only when that chunk starts with a
 * request line: the target is too long if the line does not end in this chunk or is longer than
 * the limit. A chunk that starts mid-request (headers dribbled in pieces) is a 431.
 */
function targetTooLong(raw: Buffer | undefined, urlBytes: number): boolean {
  if (raw === undefined || raw.length === 0) return false;
  const startText = raw.subarray(0, 40).toString('latin1');
  if (!REQUEST_LINE_START.test(startText)) return false;
  const sp = raw.indexOf(0x20);
  const eol = raw.indexOf('\r\n');
  if (eol < 0) return true;
  const lastSp = raw.lastIndexOf(0x20, eol);
  const end = lastSp > sp ? lastSp : eol;
  return end - sp - 1 > urlBytes;
}
