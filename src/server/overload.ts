/**
 * Overload bounds of the client-facing listeners (docs/limits-and-safety.md, "Connections and overload"):
 *
 * - connections per listener (`maxConnections`) and per client address (`maxConnectionsPerClient`),
 *   checked when a connection is accepted, before TLS or HTTP parsing, so a flood of idle connections
 *   is refused by a bound the operator chose instead of by running out of file descriptors (where
 *   every new client, and every upstream connection, fails);
 * - requests in progress per client address (`maxRequestsPerClient`: 429 CLIENT_REQUEST_LIMIT), which
 *   matters on HTTP/2, where one connection carries up to http2MaxConcurrentStreams requests;
 * - load shedding on event-loop lag (`shedEventLoopLagMs`: 503 OVERLOADED + Retry-After), as Envoy's
 *   overload manager does: while the loop runs late, every queued request is already late too, and
 *   answering it cheaply is what lets the gateway catch up.
 *
 * One guard per process (per GatewayMetrics), shared by the HTTP and HTTPS listeners, so the
 * per-client counts cover both. Limits are read from the gateway's current table at each check: a
 * reload changes them for new connections and requests. Everything here runs before a route is
 * matched, so answers are counted under the unmatched pseudo-route.
 */
import { randomUUID } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { ERRORS, type ErrorCode, errorBody } from '../errors/catalogue.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Gateway } from './gateway.js';

/** How often the lag sampler runs (ms). Lag is how late it ran. */
const SAMPLE_MS = 100;
/** Retry-After (s) on an OVERLOADED answer: one sample later the gateway may have caught up. */
const RETRY_AFTER_S = 1;
/** A refused plain-HTTP connection gets this long to read its 503 before the socket is destroyed. */
const REFUSED_LINGER_MS = 2_000;

type Handler = (req: never, res: never) => void;
interface MinimalRequest {
  method?: string | undefined;
  socket: { remoteAddress?: string | undefined } | null;
}
interface MinimalResponse {
  headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string): unknown;
  once(event: 'close', fn: () => void): unknown;
}

export class OverloadGuard {
  readonly #metrics: GatewayMetrics;
  /** Open connections per client address, all listeners of this process. */
  readonly #connections = new Map<string, number>();
  /** Requests in progress per client address. */
  readonly #requests = new Map<string, number>();
  #lastTick = performance.now();
  #lagMs = 0;

  constructor(metrics: GatewayMetrics) {
    this.#metrics = metrics;
    // unref: the sampler never keeps a process alive on its own.
    setInterval(() => {
      const now = performance.now();
      this.#lagMs = Math.max(0, now - this.#lastTick - SAMPLE_MS);
      this.#lastTick = now;
      metrics.eventLoopLagMs = this.#lagMs;
    }, SAMPLE_MS).unref();
  }

  /**
   * Current lag (ms): the last sample, or how overdue the next one is. The second matters after a
   * long stall: the requests that queued up during it are read before the timer gets to run.
   */
  lagMs(): number {
    const overdue = performance.now() - this.#lastTick - SAMPLE_MS;
    return Math.max(overdue, this.#lagMs);
  }

  /** Counts a refused connection or shed request in metrics. */
  #count(map: Map<string, number>, key: string): void {
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  /**
   * Puts the connection bounds in front of `server`'s own connection handling (HTTP parser, TLS
   * handshake): a connection past a bound is refused before either costs anything.
   */
  guardConnections(server: Server, listener: 'http' | 'https', gateway: Gateway): void {
    const own = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    let open = 0;
    server.on('connection', (socket: Socket) => {
      const limits = gateway.table.limits;
      const addr = socket.remoteAddress ?? '';
      const fromClient = this.#connections.get(addr) ?? 0;
      const reason =
        limits.maxConnections > 0 && open >= limits.maxConnections
          ? 'listener'
          : limits.maxConnectionsPerClient > 0 && fromClient >= limits.maxConnectionsPerClient
            ? 'client'
            : undefined;
      if (reason !== undefined) {
        this.#count(this.#metrics.connectionsRefused, `${listener}\u0000${reason}`);
        return refuse(socket, listener);
      }
      open++;
      this.#connections.set(addr, fromClient + 1);
      socket.once('close', () => {
        open--;
        const n = (this.#connections.get(addr) ?? 1) - 1;
        if (n <= 0) this.#connections.delete(addr);
        else this.#connections.set(addr, n);
      });
      for (const l of own) l.call(server, socket);
    });
  }

  /**
   * The request bounds in front of a listener's request handler. Hot path: with both bounds off this
   * is two property reads; with the per-client bound on, a Map update and one close listener.
   */
  guardRequests<H extends Handler>(gateway: Gateway, handler: H): H {
    const wrapped = (req: MinimalRequest, res: MinimalResponse): void => {
      const limits = gateway.table.limits;
      if (limits.shedEventLoopLagMs > 0 && this.lagMs() > limits.shedEventLoopLagMs) {
        this.#count(this.#metrics.requestsShed, 'event_loop_lag');
        answerEarly(gateway, req, res, 'OVERLOADED', { 'retry-after': String(RETRY_AFTER_S) });
        return;
      }
      const max = limits.maxRequestsPerClient;
      if (max > 0) {
        const addr = req.socket?.remoteAddress ?? '';
        const n = this.#requests.get(addr) ?? 0;
        if (n >= max) {
          this.#count(this.#metrics.requestsShed, 'client_requests');
          answerEarly(gateway, req, res, 'CLIENT_REQUEST_LIMIT', {});
          return;
        }
        this.#requests.set(addr, n + 1);
        res.once('close', () => {
          const left = (this.#requests.get(addr) ?? 1) - 1;
          if (left <= 0) this.#requests.delete(addr);
          else this.#requests.set(addr, left);
        });
      }
      (handler as unknown as (req: MinimalRequest, res: MinimalResponse) => void)(req, res);
    };
    return wrapped as unknown as H;
  }
}

const guards = new WeakMap<GatewayMetrics, OverloadGuard>();

/** The process's guard: one per metrics registry, so the HTTP and HTTPS listeners share client counts. */
export function overloadGuardFor(metrics: GatewayMetrics): OverloadGuard {
  let g = guards.get(metrics);
  if (g === undefined) {
    g = new OverloadGuard(metrics);
    guards.set(metrics, g);
  }
  return g;
}

/**
 * A refused connection. Plain HTTP gets a 503 OVERLOADED it can read (then FIN; destroyed after a
 * short linger whatever the client does); TLS is closed at once: answering would first cost a handshake.
 */
function refuse(socket: Socket, listener: 'http' | 'https'): void {
  socket.on('error', () => undefined);
  if (listener === 'https') {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const body = errorBody('OVERLOADED', requestId);
  socket.resume();
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\nretry-after: ${RETRY_AFTER_S}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/** A coded JSON answer written before the gateway sees the request (no route, no pipeline). */
function answerEarly(gateway: Gateway, req: MinimalRequest, res: MinimalResponse, code: ErrorCode, headers: Record<string, string>): void {
  const requestId = randomUUID();
  const body = errorBody(code, requestId);
  const { status } = ERRORS[code];
  if (!res.headersSent) {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId, ...headers });
    res.end(body);
  }
  gateway.metrics.unrouted.record(req.method ?? 'OTHER', status, 0, -1, 0, Buffer.byteLength(body));
}
