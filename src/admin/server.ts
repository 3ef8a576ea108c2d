/**
 * The admin listener (127.0.0.1:9080 by default): /metrics (Prometheus), /health (process alive),
 * /ready (a config is loaded and traffic is being accepted), /routes (the live route table).
 */
import http from 'node:http';
import type { Logger } from 'pino';

export interface AdminSource {
  metrics(): Promise<{ contentType: string; body: string }>;
  ready(): { ready: boolean; reason?: string; version?: string };
  routes(): unknown;
  status(): Record<string, unknown>;
}

export function createAdminServer(source: AdminSource, logger: Logger): http.Server {
  return http.createServer({ maxHeaderSize: 16_384, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { message: 'Method Not Allowed' });
    switch (path) {
      case '/health':
        return send(200, { status: 'ok', ...source.status() });
      case '/ready': {
        const r = source.ready();
        return send(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
      }
      case '/routes':
        return send(200, source.routes());
      case '/metrics':
        source.metrics().then(
          (m) => send(200, m.body, m.contentType),
          (err: unknown) => {
            logger.error({ err }, 'metrics collection failed');
            send(500, { message: 'metrics collection failed' });
          },
        );
        return;
      default:
        return send(404, { message: 'Not Found', endpoints: ['/health', '/ready', '/routes', '/metrics'] });
    }
  });
}
