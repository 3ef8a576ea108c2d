// Lives apart from src/server/path.ts (which produces the normalized path) because plugins and
// integrations decode params too, and they must not import the server.

/**
 * Percent-decodes a segment value taken from a normalized path (e.g. a router
 * param) for consumers that need the decoded form. %2F becomes '/', so never
 * feed the result back into routing or forwarding. Returns the input unchanged
 * if it holds no escape or cannot be decoded.
 */
export function decodePathParam(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
