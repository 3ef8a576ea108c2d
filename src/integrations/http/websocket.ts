/**
 * WebSocket pass-through: the gateway does not terminate the WebSocket, it forwards the upgrade
 * request and then pipes the two sockets. The upstream's answer (101 or a refusal) reaches the
 * client as the upstream wrote it. Until the upstream's first byte arrives the client has seen
 * nothing, so a failure up to then (refused, TLS, connect or first-byte timeout) is answered with a
 * JSON error; after it, a failure just closes both sockets.
 * Not a hot path: one exchange per connection, so closures here are fine.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ERRORS, type ErrorCode, errorBody } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import { timeoutFields, upstreamTimeoutError } from '../../upstream/timeouts.js';
import type { Target, UpstreamTimeouts } from '../../upstream/upstream.js';
import { DEADLINES, Deadline } from '../../util/deadline-queue.js';

export function writeRawError(socket: Duplex, code: ErrorCode, requestId: string): void {
  if (socket.destroyed) return;
  const body = errorBody(code, requestId);
  const { status, message } = ERRORS[code];
  socket.end(
    `HTTP/1.1 ${status} ${message.split(':')[0]}\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function proxyUpgrade(ctx: RequestContext, target: Target, path: string, client: Duplex, head: Buffer, timeouts: UpstreamTimeouts): void {
  const origin = target.origin;
  const url = new URL(origin);
  const secure = url.protocol === 'https:';
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  // SNI must be a host name, never an IP literal (RFC 6066 §3).
  const servername = target.tls?.servername ?? (net.isIP(host) === 0 ? host : undefined);
  const upstream = secure
    ? tls.connect({ ...target.tls, host, port, ...(servername !== undefined ? { servername } : {}) })
    : net.connect({ host, port });
  ctx.upstreamTarget = origin;
  let answered = false; // the upstream's first byte has been relayed, or the client got our error
  // connectMs until the socket is up, then firstByteMs for the upstream's answer (the deadline queue, one entry).
  let phase: 'connect' | 'firstByte' = 'connect';
  const timer = new Deadline(() => fail('UPSTREAM_TIMEOUT', upstreamTimeoutError(phase, phase === 'connect' ? timeouts.connectMs : timeouts.firstByteMs, timer.startedAt)), undefined);
  const fail = (code: ErrorCode, err: { code?: string; message: string }) => {
    timer.cancel();
    if (answered) return;
    answered = true;
    ctx.errorCode = code;
    ctx.table.logger.warn({ requestId: ctx.id, route: ctx.route?.id, err: { code: err.code, message: err.message }, ...timeoutFields(err) }, 'websocket upstream failed');
    client.unpipe?.(upstream);
    upstream.unpipe(client);
    writeRawError(client, code, ctx.id);
    upstream.destroy();
  };
  DEADLINES.lane(timeouts.connectMs).start(timer);
  upstream.once(secure ? 'secureConnect' : 'connect', () => {
    phase = 'firstByte';
    DEADLINES.lane(timeouts.firstByteMs).start(timer);
    const h = ctx.upstreamHeaders;
    if (!h.has('host')) h.set('host', url.host);
    let reqHead = `${ctx.method} ${path} HTTP/1.1\r\n`;
    const l = h.list;
    for (let i = 0; i < l.length; i += 2) reqHead += `${l[i]}: ${l[i + 1]}\r\n`;
    reqHead += `connection: Upgrade\r\nupgrade: ${ctx.req.headers.upgrade ?? 'websocket'}\r\n\r\n`;
    upstream.write(reqHead);
    if (head.length > 0) upstream.write(head);
    upstream.once('data', () => {
      timer.cancel();
      answered = true;
      tunnel.open();
    });
    upstream.pipe(client);
    client.pipe(upstream);
  });
  const tunnel = new Tunnel(client, upstream, ctx.table.limits.websocketIdleTimeoutMs);
  upstream.on('error', (err: Error & { code?: string }) => {
    if (!answered) fail(err.code === 'ETIMEDOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE', err);
    else client.destroy();
  });
  upstream.on('close', (hadError: boolean) => {
    timer.cancel();
    if (!answered) fail('UPSTREAM_BAD_RESPONSE', { code: 'UND_ERR_SOCKET', message: 'upstream closed before answering the upgrade' });
    // Our error answer is flushed by client.end(). Otherwise mirror the close; a clean one lets
    // what is still buffered for the client (the close frame) go out first.
    else if (ctx.errorCode === undefined) closeSoon(client, hadError);
  });
  client.on('error', () => upstream.destroy());
  client.on('close', (hadError: boolean) => {
    timer.cancel();
    answered = true;
    closeSoon(upstream, hadError);
    tunnel.closing();
  });
}

/** After one side has ended or closed, how long the other may take to flush and close before both are destroyed. */
export const WEBSOCKET_CLOSE_GRACE_MS = 5_000;

function onTunnelDeadline(t: Tunnel): void {
  t.expired();
}

/**
 * The life of an established tunnel (issue 11, "Upstreams"). One deadline: while both sides are
 * open, the idle timeout (`server.limits.websocketIdleTimeoutMs`, re-armed by a byte in either
 * direction); once either side has ended (FIN) or closed, a short grace for the close to complete.
 * A WebSocket has no use for a half-closed TCP connection (its close handshake is in frames), so a
 * FIN from one side ends the other too, and a peer that never closes its side (a half-open upstream,
 * a client that vanished) is destroyed at the deadline: no socket is left in CLOSE-WAIT, and the
 * request ends, so the in-flight count returns to 0 and an old route table can retire.
 */
class Tunnel {
  readonly #client: Duplex;
  readonly #upstream: Duplex;
  readonly #idleMs: number;
  readonly #deadline: Deadline<Tunnel>;
  #state: 'handshake' | 'open' | 'closing' = 'handshake';

  constructor(client: Duplex, upstream: Duplex, idleMs: number) {
    this.#client = client;
    this.#upstream = upstream;
    this.#idleMs = idleMs;
    this.#deadline = new Deadline(onTunnelDeadline, this as Tunnel, false);
    client.once('end', this.closing);
    upstream.once('end', this.closing);
    upstream.once('close', this.closing);
  }

  /** The upstream answered the upgrade: from now on, traffic in either direction keeps the tunnel alive. */
  open(): void {
    if (this.#state !== 'handshake') return;
    this.#state = 'open';
    if (this.#idleMs <= 0) return;
    this.#client.on('data', this.#onData);
    this.#upstream.on('data', this.#onData);
    this.#arm();
  }

  readonly #onData = (): void => {
    if (this.#state === 'open') this.#arm();
  };

  #arm(): void {
    DEADLINES.lane(this.#idleMs).start(this.#deadline);
  }

  /** One side ended or closed: end the other, and destroy both if they are not closed within the grace. */
  readonly closing = (): void => {
    if (this.#state === 'closing') return;
    this.#state = 'closing';
    this.#client.off('data', this.#onData);
    this.#upstream.off('data', this.#onData);
    closeSoon(this.#client, false);
    closeSoon(this.#upstream, false);
    if (this.#client.destroyed && this.#upstream.destroyed) {
      this.#deadline.cancel();
      return;
    }
    DEADLINES.lane(WEBSOCKET_CLOSE_GRACE_MS).start(this.#deadline);
    const done = () => {
      if (this.#client.destroyed && this.#upstream.destroyed) this.#deadline.cancel();
    };
    this.#client.once('close', done);
    this.#upstream.once('close', done);
  };

  /** Idle for websocketIdleTimeoutMs, or the close grace passed: cut both sockets. */
  expired(): void {
    this.#state = 'closing';
    this.#client.destroy();
    this.#upstream.destroy();
  }
}

function closeSoon(socket: Duplex, abort: boolean): void {
  const s = socket as Duplex & { destroySoon?: () => void };
  if (abort || s.destroySoon === undefined) socket.destroy();
  else s.destroySoon();
}
