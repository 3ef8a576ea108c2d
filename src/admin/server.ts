/**
 * The admin listener (127.0.0.1:9080 by default): /metrics (Prometheus), /health (process alive),
 * /ready (a config is loaded and traffic is being accepted), /routes (the live route table), and, when
 * given a config store, the Admin REST API (src/admin/api.ts) with its description at /openapi.json.
 * The probes stay unauthenticated: load balancers and Prometheus must reach them without the token.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import type { ConfigStore } from '../cluster/entities.js';
import { type AdminApiOptions, createAdminApi } from './api.js';
import { ADMIN_TOKEN_ENV, MIN_TOKEN_LENGTH, bearerChecker, resolveAdminToken } from './auth.js';
import { hostAllowed, publicRoutes } from './host.js';
import { answerLocalIssuer, LOCAL_ISSUER_PREFIX } from './local-issuer.js';

export interface AdminSource {
  metrics(): Promise<{ contentType: string; body: string }>;
  ready(): { ready: boolean; reason?: string; version?: string };
  routes(): unknown;
  status(): Record<string, unknown>;
}

export interface AdminServerOptions {
  /**
   * Host names (besides loopback names and the address the client connected to) this listener answers
   * (--admin-allowed-hosts). Any other Host is a page that rebound its DNS name to this address.
   */
  allowedHosts?: readonly string[];
}

export function createAdminServer(source: AdminSource, logger: Logger, apiOptions?: AdminApiOptions, serverOptions: AdminServerOptions = {}): http.Server {
  const api = apiOptions === undefined ? undefined : createAdminApi(apiOptions, logger);
  const endpoints = ['/health', '/ready', '/routes', '/metrics', ...(api?.endpoints ?? [])];
  const allowed = new Set((serverOptions.allowedHosts ?? []).map((h) => h.toLowerCase()));
  // /routes in full (target URLs, function module paths) only for the Admin API token's holder.
  const checkToken = bearerChecker(apiOptions?.token);
  return http.createServer({ maxHeaderSize: 16_384, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const send = (status: number, body: unknown, type = 'application/json') => {
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    // DNS rebinding: a browser page whose name now resolves to this address reaches the listener with
    // its own name in Host. Checked before anything else, the Admin API included.
    if (!hostAllowed(req.headers.host, req.socket.localAddress, allowed)) {
      return send(421, { message: 'Misdirected Request: this Host is not served by the admin listener (see --admin-allowed-hosts)', code: 'ADMIN_HOST_NOT_ALLOWED' });
    }
    if (api?.handles(path)) return api.handle(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, { message: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED' });
    if (path.startsWith(LOCAL_ISSUER_PREFIX)) {
      const a = answerLocalIssuer(path, `http://${req.headers.host ?? req.socket.localAddress}`);
      return send(a.status, a.body);
    }
    switch (path) {
      case '/health':
        return send(200, { status: 'ok', ...source.status() });
      case '/ready': {
        const r = source.ready();
        return send(r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r });
      }
      case '/routes':
        return send(200, checkToken(req.headers.authorization).ok ? source.routes() : publicRoutes(source.routes()));
      case '/metrics':
        source.metrics().then(
          (m) => send(200, m.body, m.contentType),
          (err: unknown) => {
            logger.error({ err }, 'metrics collection failed');
            send(500, { message: 'metrics collection failed', code: 'INTERNAL_ERROR' });
          },
        );
        return;
      default:
        return send(404, { message: 'Not Found', code: 'RESOURCE_NOT_FOUND', endpoints });
    }
  });
}

/**
 * The Admin API's options for serve: the token (env or file; an unreadable file fails the start) and
 * the start-up warnings an operator should see once. Shared by the single process and the cluster
 * primary, and by whichever store serve passes (file or PostgreSQL).
 */
export function adminApiOptions(
  opts: { adminHost: string; adminTokenFile?: string | undefined },
  store: ConfigStore,
  logger: Logger,
): AdminApiOptions {
  const token = resolveAdminToken({ file: opts.adminTokenFile, env: process.env });
  if (token === undefined) {
    // The file mode is read-only and still fully configured by its file, so no token is normal there.
    if (store.writable) logger.warn(`Admin API: no admin token, so its entity endpoints answer 403; set ${ADMIN_TOKEN_ENV} or --admin-token-file`);
  } else if (token.length < MIN_TOKEN_LENGTH) {
    logger.warn({ length: token.length }, `Admin API: the admin token is shorter than ${MIN_TOKEN_LENGTH} characters; use a long random one (openssl rand -hex 32)`);
  }
  if (!isLoopback(opts.adminHost)) {
    logger.warn(
      { adminHost: opts.adminHost },
      'the admin port is bound beyond loopback without TLS: the admin token and the config travel in clear text; put it behind a TLS proxy or a private network',
    );
  }
  return { store, token };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}
