/**
 * Headers as one flat array [name, value, name, value, ...] with lower-case names.
 * Why: Node's `rawHeaders`, undici's request `headers` option and `res.writeHead(status, array)` all
 * speak this shape, so the proxy moves headers end to end without building objects per request.
 * Lists are short (tens of entries), so linear scans beat hashing.
 */
export class HeaderList {
  readonly list: string[];

  constructor(list: string[] = []) {
    this.list = list;
  }

  get(name: string): string | undefined {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l[i] === name) return l[i + 1];
    return undefined;
  }

  getAll(name: string): string[] {
    const out: string[] = [];
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l[i] === name) out.push(l[i + 1] as string);
    return out;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every value of `name` with one value. */
  set(name: string, value: string): void {
    this.delete(name);
    this.list.push(name, value);
  }

  append(name: string, value: string): void {
    this.list.push(name, value);
  }

  delete(name: string): void {
    const l = this.list;
    let w = 0;
    for (let r = 0; r < l.length; r += 2) {
      if (l[r] !== name) {
        if (w !== r) {
          l[w] = l[r] as string;
          l[w + 1] = l[r + 1] as string;
        }
        w += 2;
      }
    }
    // Assigning length even when nothing was removed costs a builtin call (seen in profiles).
    if (w !== l.length) l.length = w;
  }

  /** Plain object view (for logs, events and tests); repeated names become arrays. */
  toObject(): Record<string, string | string[]> {
    const o: Record<string, string | string[]> = {};
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) {
      const k = l[i] as string;
      const v = l[i + 1] as string;
      const prev = o[k];
      if (prev === undefined) o[k] = v;
      else if (Array.isArray(prev)) prev.push(v);
      else o[k] = [prev, v];
    }
    return o;
  }
}

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy ones every proxy strips. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Token names listed in a Connection header value, lower-cased. */
export function connectionTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t) out.push(t);
  }
  return out;
}
