/**
 * WebSocket pass-through: the gateway does not terminate the WebSocket, it forwards the upgrade
 * request and then pipes the two sockets. The upstream's answer (101 or a refusal) reaches the
 * client as the upstream wrote it.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { ERRORS, type ErrorCode, errorBody } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';

export function writeRawError(socket: Duplex, code: ErrorCode, requestId: string): void {
  if (socket.destroyed) return;
  const body = errorBody(code, requestId);
  const { status, message } = ERRORS[code];
  socket.end(
    `HTTP/1.1 ${status} ${message.split(':')[0]}\r\ncontent-type: application/json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function proxyUpgrade(ctx: RequestContext, origin: string, path: string, client: Duplex, head: Buffer, connectMs: number): void {
  const url = new URL(origin);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const upstream =
    url.protocol === 'https:' ? tls.connect({ host: url.hostname, port, servername: url.hostname }) : net.connect({ host: url.hostname, port });
  ctx.upstreamTarget = origin;
  const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), connectMs);
  let connected = false;
  const onConnected = () => {
    connected = true;
    clearTimeout(timer);
    const h = ctx.upstreamHeaders;
    if (!h.has('host')) h.set('host', url.host);
    let reqHead = `${ctx.method} ${path} HTTP/1.1\r\n`;
    const l = h.list;
    for (let i = 0; i < l.length; i += 2) reqHead += `${l[i]}: ${l[i + 1]}\r\n`;
    reqHead += `connection: Upgrade\r\nupgrade: ${ctx.req.headers.upgrade ?? 'websocket'}\r\n\r\n`;
    upstream.write(reqHead);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  };
  upstream.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', onConnected);
  upstream.on('error', (err) => {
    clearTimeout(timer);
    if (!connected) {
      ctx.errorCode = (err as { code?: string }).code === 'ETIMEDOUT' ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
      ctx.table.logger.warn({ requestId: ctx.id, err: { code: (err as { code?: string }).code, message: err.message } }, 'websocket upstream failed');
      writeRawError(client, ctx.errorCode, ctx.id);
    } else client.destroy();
  });
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}
