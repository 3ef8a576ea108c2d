/**
 * HTTP/2 time and count bounds, the counterparts of what node:http enforces on an HTTP/1.1 connection
 * (docs/limits-and-safety.md, "HTTP/2"):
 *
 * - idle timeout per connection: a session with no open stream for `keepAliveTimeoutMs` gets GOAWAY
 *   and closes (also covers a client that connects and never completes a HEADERS block);
 * - request timeout per stream: a stream whose request body has not fully arrived `requestTimeoutMs`
 *   after its headers is answered 408 REQUEST_TIMEOUT (or reset, if its answer already started), so an
 *   abandoned stream cannot hold its slot or its upstream exchange;
 * - streams per connection over its life (`http2MaxStreamsPerConnection`): then graceful GOAWAY
 *   (NO_ERROR; streams in flight finish, the client reconnects), as Envoy's max_requests_per_connection;
 * - client resets per connection (`http2MaxResetsPer10s`): the rapid-reset attack (CVE-2023-44487)
 *   opens and cancels streams faster than SETTINGS_MAX_CONCURRENT_STREAMS can bound, each one costing
 *   the gateway a request; past the bound the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed.
 *
 * SETTINGS_MAX_CONCURRENT_STREAMS itself is advertised by the listener (src/server/listener.ts).
 */
import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import { ERRORS, errorBody } from '../errors/catalogue.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Gateway } from './gateway.js';

const { NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
/** The window `http2MaxResetsPer10s` counts in. */
const RESET_WINDOW_MS = 10_000;
/** After a GOAWAY for abuse, the session is destroyed this much later (time for the frame to leave). */
const ABUSE_CLOSE_MS = 50;
/** A gracefully closed idle session that is still open this much later is destroyed. */
const IDLE_CLOSE_GRACE_MS = 1_000;

function count(metrics: GatewayMetrics, reason: string): void {
  metrics.http2Goaways.set(reason, (metrics.http2Goaways.get(reason) ?? 0) + 1);
}

/** Installs the per-connection bounds on a new HTTP/2 session. Limits are read from the current table at each event. */
export function guardH2Session(session: http2.ServerHttp2Session, gateway: Gateway): void {
  let active = 0;
  let total = 0;
  let resets = 0;
  let resetWindowStart = 0;
  let idle: NodeJS.Timeout | undefined;
  let ending = false;

  const armIdle = () => {
    const ms = gateway.table.limits.keepAliveTimeoutMs;
    if (ms <= 0 || ending) return;
    idle = setTimeout(() => {
      if (active > 0 || session.closed || session.destroyed) return;
      ending = true;
      count(gateway.metrics, 'idle');
      session.close();
      setTimeout(() => session.destroyed || session.destroy(), IDLE_CLOSE_GRACE_MS).unref();
    }, ms);
    idle.unref();
  };
  armIdle();
  session.once('close', () => clearTimeout(idle));

  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    active++;
    total++;
    clearTimeout(idle);
    const limits = gateway.table.limits;
    stream.once('close', () => {
      active--;
      if (active === 0 && !session.closed) armIdle();
    });
    stream.once('aborted', () => {
      const max = gateway.table.limits.http2MaxResetsPer10s;
      if (max <= 0 || ending) return;
      const now = performance.now();
      if (now - resetWindowStart > RESET_WINDOW_MS) {
        resetWindowStart = now;
        resets = 0;
      }
      if (++resets > max) {
        ending = true;
        count(gateway.metrics, 'resets');
        gateway.logger.warn({ clientIp: session.socket?.remoteAddress, resets, windowMs: RESET_WINDOW_MS }, 'HTTP/2 client cancels too many streams: GOAWAY ENHANCE_YOUR_CALM');
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
        setTimeout(() => session.destroyed || session.destroy(), ABUSE_CLOSE_MS).unref();
      }
    });
    if (limits.http2MaxStreamsPerConnection > 0 && total >= limits.http2MaxStreamsPerConnection && !ending) {
      // Graceful: GOAWAY names this stream as the last one, which (and every earlier one) still finishes.
      ending = true;
      count(gateway.metrics, 'streams');
      session.close();
    }
  });
}

/**
 * The per-stream request timeout, in front of the HTTPS request handler (HTTP/1.1 over TLS has node:http's
 * own requestTimeout). Started when the stream's headers arrived; cleared when its response closes.
 */
export function h2RequestTimeout<H extends (req: never, res: never) => void>(gateway: Gateway, handler: H): H {
  type Req = { stream?: http2.ServerHttp2Stream };
  type Res = {
    headersSent: boolean;
    ctx?: { id: string; errorCode?: string | undefined; abort(reason: Error): void } | undefined;
    writeHead(status: number, headers: Record<string, string | number>): unknown;
    end(body?: string): unknown;
    once(event: 'close', fn: () => void): unknown;
  };
  const wrapped = (req: Req, res: Res): void => {
    const stream = req.stream;
    if (stream !== undefined && !stream.closed && !bodyReceived(stream)) {
      const ms = gateway.table.limits.requestTimeoutMs;
      const timer = setTimeout(() => {
        if (stream.closed || bodyReceived(stream)) return;
        if (res.headersSent) {
          // Part of an answer is out: the only honest signal left is ending the stream.
          stream.close(NGHTTP2_CANCEL);
          return;
        }
        const requestId = res.ctx?.id || randomUUID();
        if (res.ctx !== undefined) {
          res.ctx.errorCode = 'REQUEST_TIMEOUT';
          // The pipeline may be mid-exchange with the upstream (a streamed body it will never finish):
          // this answer ends the request, so the exchange goes too and its pool connection is freed.
          res.ctx.abort(new Error('request timeout'));
        }
        const body = errorBody('REQUEST_TIMEOUT', requestId);
        res.writeHead(ERRORS.REQUEST_TIMEOUT.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId });
        res.end(body);
      }, ms);
      timer.unref();
      res.once('close', () => clearTimeout(timer));
    }
    (handler as unknown as (req: Req, res: Res) => void)(req, res);
  };
  return wrapped as unknown as H;
}

/** Whether the client has sent its whole request body (END_STREAM), read by the gateway or not. */
function bodyReceived(stream: http2.ServerHttp2Stream): boolean {
  const rs = (stream as unknown as { _readableState?: { ended?: boolean } })._readableState;
  return rs?.ended === true || stream.readableEnded;
}
