/**
 * The admin listener's two defences against a browser page (DNS rebinding: a page whose name is made
 * to resolve to 127.0.0.1 reads same-origin from the admin port), docs/admin-api.md "Host check":
 *
 * - Host allow-list: loopback names, the address the client connected to (what a load balancer's or
 *   kubelet's probe sends), and the names the operator adds. A rebinding page always sends its own name.
 * - /routes without the admin token shows names (upstream, function), never target URLs, module paths
 *   or resolved addresses: those map an internal network for whoever can read them.
 */
import { isIP } from 'node:net';

/** Host header -> the name or address without port or IPv6 brackets, lower case. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(1, end);
  }
  const colon = h.indexOf(':');
  // More than one colon without brackets: a bare IPv6 literal (not valid in Host, but unambiguous).
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) return h.slice(0, colon);
  return h.replace(/\.$/, '');
}

function isLoopbackName(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || /^::ffff:127\./.test(name);
  return false;
}

/**
 * Whether the admin listener answers a request with this Host. No Host at all (HTTP/1.0 probes) is
 * allowed: a browser always sends one.
 */
export function hostAllowed(host: string | undefined, localAddress: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (host === undefined || host === '') return true;
  const name = hostName(host);
  if (isLoopbackName(name) || allowed.has(name)) return true;
  if (localAddress !== undefined) {
    const local = localAddress.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
    if (name === local) return true;
  }
  return false;
}

/** Integration fields that name something without saying where it is. */
const PUBLIC_INTEGRATION_KEYS = new Set(['type', 'upstream', 'function', 'backend', 'integrationType', 'apiType', 'payloadVersion', 'status']);

/** /routes as shown without the admin token: each integration reduced to its type and names. */
export function publicRoutes(described: unknown): unknown {
  const d = described as { routes?: { integration?: Record<string, unknown> }[] } | null;
  if (d === null || typeof d !== 'object' || !Array.isArray(d.routes)) return described;
  // `source` is the config file's path.
  const { source: _source, ...rest } = d as Record<string, unknown>;
  return {
    ...rest,
    routes: d.routes.map((r) => {
      const integration: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r.integration ?? {})) if (PUBLIC_INTEGRATION_KEYS.has(k) && typeof v !== 'object') integration[k] = v;
      return { ...r, integration };
    }),
    redacted: 'integration targets, paths and addresses are shown with the admin token (Authorization: Bearer)',
  };
}
