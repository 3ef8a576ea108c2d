/**
 * The client-facing HTTP listener: Node's parser limits wired to the configured ones, and every
 * parser-level rejection (clientError) answered as JSON with a request id instead of Node's bare text.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Limits } from '../compile/types.js';
import { ERRORS, type ErrorCode, errorBody } from '../errors/catalogue.js';
import type { RequestContext } from '../pipeline/context.js';
import { addIdentity } from '../pipeline/principal.js';
import { type Gateway, GatewayRequest, GatewayResponse } from './gateway.js';
import { guardH2Session, h2RequestTimeout } from './h2-guard.js';
import { overloadGuardFor } from './overload.js';
import { type TlsState, clientCertOf, contextFor } from './tls.js';

export function createListener(gateway: Gateway, limits: Limits): http.Server {
  const guard = overloadGuardFor(gateway.metrics);
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
    guard.guardRequests(gateway, gateway.onRequest) as unknown as http.RequestListener,
  ) as unknown as http.Server;
  guard.guardConnections(server, 'http', gateway);
  // Node's default (2000) silently drops the headers past it; 0 keeps them all and we answer 431 ourselves.
  server.maxHeadersCount = 0;
  server.on('upgrade', gateway.onUpgrade as unknown as (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void);
  server.on('clientError', clientErrorHandler(gateway));
  return server;
}

/** Parser-level rejections of an HTTP/1 connection (plain or over TLS) answered as JSON. */
function clientErrorHandler(gateway: Gateway): (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => void {
  return (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    // Read the limits at error time: a reload may have changed urlBytes (headerBytes needs a restart).
    const code = clientErrorCode(err, gateway.table.limits);
    // A request already in flight on this socket (requestTimeout fires while its body is still
    // arriving): once its response has started, a raw error answer would be spliced into the middle
    // of it, so the only honest signal left is closing the connection.
    const inflight = (socket as Socket & { _httpMessage?: GatewayResponse | null })._httpMessage ?? undefined;
    if (code === undefined || !socket.writable || inflight?.headersSent) {
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
  };
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

// ---------------------------------------------------------------------------------------------
// HTTPS: one node:http2 secure server answers HTTP/2 (ALPN h2) and HTTP/1.1 with the same handler.

/** Where the HTTPS listener reads its current TLS state (swapped atomically on reload). */
export interface TlsSource {
  readonly state: TlsState;
}

/**
 * HTTP/2 requests as the gateway expects requests to look: `rawHeaders` without the pseudo-headers
 * (`:method`, `:path`, `:scheme`, `:authority` are request-line data, never forwarded or passed to
 * functions as headers), with `host` taken from `:authority` when the client sent no Host field
 * (RFC 9113 §8.3.1), as an HTTP/1.1 request would carry it.
 */
export class GatewayH2Request extends http2.Http2ServerRequest {}

const kRaw = Symbol('turnpike.rawHeaders');
const kSocket = Symbol('turnpike.socket');
type H2ReqInternals = http2.Http2ServerRequest & { [kRaw]?: string[]; [kSocket]?: Socket };
// Node's typings declare these as fields; at run time they are prototype getters, extended here.
const baseRawHeaders = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'rawHeaders')?.get as (this: unknown) => string[];
const baseSocket = Object.getOwnPropertyDescriptor(http2.Http2ServerRequest.prototype, 'socket')?.get as (this: unknown) => Socket;

function h2RawHeaders(this: H2ReqInternals): string[] {
  const cached = this[kRaw];
  if (cached !== undefined) return cached;
  const src = baseRawHeaders.call(this);
  const out: string[] = [];
  let authority: string | undefined;
  let host = false;
  for (let i = 0; i < src.length; i += 2) {
    const name = src[i] as string;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = src[i + 1];
      continue;
    }
    if (name === 'host') host = true;
    out.push(name, src[i + 1] as string);
  }
  if (!host && authority !== undefined) out.unshift('host', authority);
  this[kRaw] = out;
  return out;
}

/**
 * Node's socket stand-in for a stream forwards unknown methods to the connection's socket, so
 * `destroySoon()` (what the gateway calls when it answered before reading the whole body) would
 * end every stream of the connection. Here it ends only this stream (RST_STREAM NO_ERROR, RFC 9113 §8.1).
 */
function h2Socket(this: H2ReqInternals): Socket {
  const cached = this[kSocket];
  if (cached !== undefined) return cached;
  const stream = this.stream;
  const proxy = new Proxy(baseSocket.call(this), {
    get(target, prop) {
      if (prop === 'destroySoon') return () => stream.close(http2.constants.NGHTTP2_NO_ERROR);
      return Reflect.get(target, prop) as unknown;
    },
  });
  this[kSocket] = proxy;
  return proxy;
}

Object.defineProperties(GatewayH2Request.prototype, {
  rawHeaders: { get: h2RawHeaders, configurable: true },
  socket: { get: h2Socket, configurable: true },
  connection: { get: h2Socket, configurable: true },
});

/** A request handler's view of an HTTP/2 response: the same fields the gateway reads on an HTTP/1 one. */
export class GatewayH2Response extends http2.Http2ServerResponse {
  /** HTTP/2 has no per-connection keep-alive decision; kept so the gateway can set it like on HTTP/1. */
  shouldKeepAlive = true;
  #ctx: RequestContext | undefined;
  constructor(stream: http2.ServerHttp2Stream) {
    super(stream);
    // The compat layer reports 'finish'/'close' only once the whole stream is closed, which needs the
    // client to end its body too. An answer sent while the client is still sending (413, an upstream
    // that answered early) would then hang until the client gives up: end the stream instead
    // (RST_STREAM NO_ERROR, RFC 9113 §8.1), leaving the connection's other streams alone.
    stream.once('finish', () => {
      if (!stream.closed && !this.req.complete) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  }
  get ctx(): RequestContext | undefined {
    return this.#ctx;
  }
  set ctx(v: RequestContext | undefined) {
    this.#ctx = v;
    if (v !== undefined) onTlsContext(v, (this.req as unknown as { stream: http2.ServerHttp2Stream }).stream.session?.socket as TLSSocket | undefined);
  }
}

/** HTTP/1.1-over-TLS responses: same as the plain listener's, plus the mutual-TLS identity. */
class GatewayTlsResponse extends GatewayResponse {
  constructor(req: GatewayRequest) {
    super(req);
    // GatewayResponse declares `ctx` as a field (an own property); replace it with an accessor that
    // also hands the connection's client certificate to the request the moment the gateway makes it.
    let ctx: RequestContext | undefined;
    Object.defineProperty(this, 'ctx', {
      configurable: true,
      enumerable: true,
      get: () => ctx,
      set: (v: RequestContext | undefined) => {
        ctx = v;
        if (v !== undefined) onTlsContext(v, req.socket as TLSSocket);
      },
    });
  }
}

/** The caller's verified client certificate becomes `ctx.principal.identity.clientCert` (AWS REST: requestContext.identity.clientCert). */
function onTlsContext(ctx: RequestContext, socket: TLSSocket | undefined): void {
  if (socket === undefined || typeof socket.getPeerX509Certificate !== 'function') return;
  const cert = clientCertOf(socket);
  if (cert === null) return;
  addIdentity(ctx, 'mtls', { clientCert: cert });
}

const ALPN_H1 = Buffer.from('\x08http/1.1', 'latin1');
const ALPN_H2_H1 = Buffer.from('\x02h2\x08http/1.1', 'latin1');

/**
 * The HTTPS listener: TLS with the SNI callback over `tlsSource`, HTTP/2 and HTTP/1.1 (ALPN) into the
 * same gateway. HTTP/1.1 gets the plain listener's parser limits and JSON clientError answers.
 */
export function createTlsListener(gateway: Gateway, limits: Limits, tlsSource: TlsSource): http2.Http2SecureServer {
  const state = tlsSource.state;
  const guard = overloadGuardFor(gateway.metrics);
  const server = http2.createSecureServer(
    {
      ...state.defaultOptions,
      allowHTTP1: true,
      SNICallback: (servername, cb) => cb(null, contextFor(tlsSource.state, servername)),
      requestCert: state.settings.requestClientCert !== 'none',
      rejectUnauthorized: state.settings.requestClientCert === 'required',
      Http1IncomingMessage: GatewayRequest,
      Http1ServerResponse: GatewayTlsResponse as unknown as typeof http.ServerResponse,
      Http2ServerRequest: GatewayH2Request,
      Http2ServerResponse: GatewayH2Response,
      // HTTP/2 limits: the header block as large as HTTP/1's, a few pairs over the count so the gateway answers 431 itself.
      maxHeaderListPairs: limits.headerCount + 8,
      // SETTINGS_MAX_CONCURRENT_STREAMS: Node's default is unbounded (2^32-1); a reload applies to new connections.
      settings: { maxHeaderListSize: limits.headerBytes, maxConcurrentStreams: limits.http2MaxConcurrentStreams },
      // A client that never finishes its handshake does not hold a socket for long.
      handshakeTimeout: Math.min(10_000, limits.headersTimeoutMs),
    },
    guard.guardRequests(gateway, h2RequestTimeout(gateway, gateway.onRequest)) as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
  ) as unknown as http2.Http2SecureServer;
  guard.guardConnections(server as unknown as import('node:net').Server, 'https', gateway);
  server.on('session', (session: http2.ServerHttp2Session) => {
    guardH2Session(session, gateway);
    // New connections get the current table's stream bound (the constructor's settings are the first table's).
    const max = gateway.table.limits.http2MaxConcurrentStreams;
    if (max !== limits.http2MaxConcurrentStreams) session.settings({ maxConcurrentStreams: max });
  });
  applyTlsSettings(server, state);
  // The HTTP/1.1 fallback uses node:http's connection code, which reads these from the server object.
  const h1 = server as unknown as {
    maxHeaderSize: number;
    maxHeadersCount: number;
    headersTimeout: number;
    requestTimeout: number;
    keepAliveTimeout: number;
    connectionsCheckingInterval: number;
  };
  h1.maxHeaderSize = limits.headerBytes;
  h1.maxHeadersCount = 0;
  h1.headersTimeout = limits.headersTimeoutMs;
  h1.requestTimeout = limits.requestTimeoutMs;
  h1.keepAliveTimeout = limits.keepAliveTimeoutMs;
  h1.connectionsCheckingInterval = Math.min(1_000, limits.headersTimeoutMs);
  server.on('upgrade', gateway.onUpgrade as unknown as (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void);
  // HTTP/1.1 parser errors: the same JSON answers as the plain listener.
  server.on('clientError' as 'sessionError', clientErrorHandler(gateway) as unknown as (err: Error) => void);
  // TLS handshake failures (no client certificate when one is required, a protocol version below
  // minVersion, garbage): nothing to answer, the socket is gone. Logged at debug, not as an error.
  server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
    gateway.logger.debug({ clientIp: socket.remoteAddress, err: { code: err.code, message: err.message } }, 'TLS handshake failed');
  });
  server.on('sessionError', () => undefined);
  return server;
}

/** Settings that apply to new connections without a restart: mutual TLS mode, ALPN list, default certificate. */
export function applyTlsSettings(server: http2.Http2SecureServer, state: TlsState): void {
  const s = server as unknown as { requestCert: boolean; rejectUnauthorized: boolean; ALPNProtocols: Buffer };
  s.requestCert = state.settings.requestClientCert !== 'none';
  s.rejectUnauthorized = state.settings.requestClientCert === 'required';
  s.ALPNProtocols = state.settings.http2 ? ALPN_H2_H1 : ALPN_H1;
}

/** A Host header fit to be echoed into a Location: a DNS name or IPv4 address, or an IPv6 literal, with an optional port. */
const REDIRECT_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * `server.tls.redirectHttp`: the plain listener answers every request (and every upgrade) with 308
 * Permanent Redirect to the same host and target on https (308 keeps the method and body, RFC 9110
 * §15.4.9). `httpsPort()` returns undefined while redirection is off, so a reload toggles it.
 */
export function installHttpsRedirect(server: http.Server, gateway: Gateway, httpsPort: () => number | undefined): void {
  // The listener's own handler (the gateway behind the overload guard), not the bare gateway.
  const serve = (server.listeners('request')[0] ?? gateway.onRequest) as unknown as http.RequestListener;
  const upgrade = gateway.onUpgrade as unknown as (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void;
  server.removeAllListeners('request');
  server.removeAllListeners('upgrade');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const port = httpsPort();
    if (port === undefined) return serve(req, res);
    req.resume();
    const { status, headers, body } = redirectAnswer(req, port);
    res.writeHead(status, headers);
    res.end(body);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const port = httpsPort();
    if (port === undefined) return upgrade(req, socket, head);
    socket.on('error', () => undefined);
    const { status, headers, body } = redirectAnswer(req, port);
    let text = `HTTP/1.1 ${status} ${status === 308 ? 'Permanent Redirect' : 'Bad Request'}\r\n`;
    for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
    socket.end(`${text}connection: close\r\n\r\n${body}`);
  });
}

function redirectAnswer(req: http.IncomingMessage, port: number): { status: number; headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const hostHeader = req.headers.host ?? '';
  const target = req.url ?? '/';
  if (!REDIRECT_HOST.test(hostHeader) || !target.startsWith('/')) {
    // No usable Host (or an absolute/asterisk target): nothing safe to redirect to.
    const body = errorBody('BAD_REQUEST', requestId);
    return { status: 400, headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'content-length': String(Buffer.byteLength(body)) }, body };
  }
  const host = hostHeader.replace(/:\d+$/, '');
  const location = `https://${host}${port === 443 ? '' : `:${port}`}${target}`;
  return { status: 308, headers: { location, 'x-request-id': requestId, 'content-length': '0' }, body: '' };
}
