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
    const code = clientErrorCode(err, limits);
    if (code === undefined || !socket.writable) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    gateway.logger.warn({ requestId, clientIp: socket.remoteAddress, err: { code: err.code, message: err.message }, error: code }, 'rejected malformed request');
    gateway.metrics.unrouted.record('OTHER', ERRORS[code].status, 0, -1, 0, 0);
    const body = errorBody(code, requestId);
    const { status, message } = ERRORS[code];
    socket.end(
      `HTTP/1.1 ${status} ${reason(message)}\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
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
    case 'HPE_HEADER_OVERFLOW': {
      // The request line alone too long is a 414, not a 431.
      const raw = err.rawPacket;
      if (raw !== undefined) {
        const eol = raw.indexOf('\r\n');
        if (eol < 0 || eol > limits.urlBytes) return 'URI_TOO_LONG';
      }
      return 'HEADERS_TOO_LARGE';
    }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    default:
      return 'BAD_REQUEST';
  }
}
