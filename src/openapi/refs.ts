/**
 * Internal `$ref` resolution (`#/...` JSON pointers, RFC 6901) with cycle protection.
 *
 * - `deref` follows a chain of references at one node (a parameter, a response, an
 *   integration in `components/x-amazon-apigateway-integrations`) and returns the target with
 *   its key path, so later messages point into the target.
 * - `schema` deep-resolves a JSON schema: every internal reference is inlined, except a
 *   reference to a *recursive* model (one that reaches itself), which cannot be inlined and
 *   stays `{ "$ref": "#/models/<Name>" }` (Name from `#/definitions/Name` or
 *   `#/components/schemas/Name`). Deciding by "is the target recursive" rather than "are we
 *   already expanding it" keeps the result independent of where expansion starts, so an
 *   export re-imports to the same model.
 * - External references (other files, URLs) are reported as unsupported and left as written.
 */

export type KeyPath = (string | number)[];
type Report = (path: KeyPath, severity: 'error' | 'warning', message: string) => void;

export const MODEL_REF_PREFIX = '#/models/';
const MAX_DEPTH = 200;
// Values under these keys are data, not schemas: never look for references inside them.
const DATA_KEYS = new Set(['example', 'examples', 'default', 'enum', 'const']);

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets a key on a plain object, also when the key is `__proto__` (kept as data, never a prototype). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function parsePointer(ref: string): string[] | undefined {
  if (!ref.startsWith('#')) return undefined;
  const body = ref.slice(1);
  if (body === '') return [];
  if (!body.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const raw of body.slice(1).split('/')) {
    let seg = raw;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      // keep the raw segment: a stray '%' is a legal character in a key
    }
    out.push(seg.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return out;
}

export class RefResolver {
  readonly #root: unknown;
  readonly #report: Report;
  readonly #memo = new Map<string, unknown>();
  readonly #recursive = new Map<string, boolean>();
  readonly #reported = new Set<string>();

  constructor(root: unknown, report: Report) {
    this.#root = root;
    this.#report = report;
  }

  /** Model name for `#/definitions/X` or `#/components/schemas/X`. */
  static modelName(ref: string): string | undefined {
    const p = parsePointer(ref);
    if (!p) return undefined;
    if (p.length === 2 && p[0] === 'definitions') return p[1];
    if (p.length === 3 && p[0] === 'components' && p[1] === 'schemas') return p[2];
    return undefined;
  }

  /** The value at a pointer, or undefined (no report). */
  lookup(segments: readonly string[]): { found: boolean; value: unknown } {
    let node: unknown = this.#root;
    for (const seg of segments) {
      if (Array.isArray(node) && /^\d+$/.test(seg) && Number(seg) < node.length) node = node[Number(seg)];
      else if (isRecord(node) && Object.hasOwn(node, seg)) node = node[seg];
      else return { found: false, value: undefined };
    }
    return { found: true, value: node };
  }

  /**
   * Follows `$ref` at this node (and chains of them). Undefined when the reference is broken,
   * external or circular (reported). A node without `$ref` is returned as is.
   */
  deref(value: unknown, path: KeyPath): { value: unknown; path: KeyPath } | undefined {
    let current = value;
    let at = path;
    const seen = new Set<string>();
    for (let hops = 0; isRecord(current) && Object.hasOwn(current, '$ref'); hops++) {
      const ref = current.$ref;
      if (typeof ref !== 'string') {
        this.#report([...at, '$ref'], 'error', '$ref must be a string (a JSON pointer such as "#/components/schemas/Pet")');
        return undefined;
      }
      const segments = parsePointer(ref);
      if (!segments) {
        this.#report([...at, '$ref'], 'warning', `external $ref "${ref}" is not supported yet (only references inside the document, "#/..."); inline it`);
        return undefined;
      }
      if (seen.has(ref) || hops > 50) {
        this.#report([...at, '$ref'], 'error', `$ref "${ref}" is circular: it leads back to itself`);
        return undefined;
      }
      seen.add(ref);
      const { found, value: target } = this.lookup(segments);
      if (!found) {
        this.#report([...at, '$ref'], 'error', `$ref "${ref}" points to nothing in this document`);
        return undefined;
      }
      current = target;
      at = segments;
    }
    return { value: current, path: at };
  }

  /** Deep-resolves a schema (see the file comment). Reports problems; never throws. */
  schema(value: unknown, path: KeyPath): unknown {
    return this.#schema(value, path, 0);
  }

  #schema(value: unknown, path: KeyPath, depth: number): unknown {
    if (depth > MAX_DEPTH) {
      this.#once(path, 'error', `schema is nested more than ${MAX_DEPTH} levels deep; not resolved further`);
      return {};
    }
    if (Array.isArray(value)) return value.map((v, i) => this.#schema(v, [...path, i], depth + 1));
    if (!isRecord(value)) return value;
    if (Object.hasOwn(value, '$ref') && typeof value.$ref === 'string') return this.#ref(value, value.$ref, path, depth);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      setKey(out, k, DATA_KEYS.has(k) || k.startsWith('x-') ? structuredCloneSafe(v) : this.#schema(v, [...path, k], depth + 1));
    }
    return out;
  }

  #ref(node: Record<string, unknown>, ref: string, path: KeyPath, depth: number): unknown {
    if (ref.startsWith(MODEL_REF_PREFIX)) return { $ref: ref }; // already in model form (a Turnpike export)
    const segments = parsePointer(ref);
    if (!segments) {
      this.#once([...path, '$ref'], 'warning', `external $ref "${ref}" is not supported yet (only references inside the document, "#/..."); left unresolved`);
      return { $ref: ref };
    }
    const extra = Object.keys(node).filter((k) => k !== '$ref');
    if (extra.length > 0) this.#once(path, 'warning', `keys next to $ref are ignored (OpenAPI 3.0 and Swagger 2.0 rules): ${extra.join(', ')}`);
    const { found, value: target } = this.lookup(segments);
    if (!found) {
      this.#once([...path, '$ref'], 'error', `$ref "${ref}" points to nothing in this document`);
      return {};
    }
    const canonical = `#/${segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
    if (this.#isRecursive(canonical, segments)) {
      const name = RefResolver.modelName(canonical);
      if (name !== undefined) return { $ref: MODEL_REF_PREFIX + name.replace(/~/g, '~0').replace(/\//g, '~1') };
      this.#once([...path, '$ref'], 'warning', `$ref "${ref}" is recursive and not a model (definitions / components.schemas); left unresolved`);
      return { $ref: ref };
    }
    const memo = this.#memo.get(canonical);
    if (memo !== undefined) return memo;
    const resolved = this.#schema(target, segments, depth + 1);
    this.#memo.set(canonical, resolved);
    return resolved;
  }

  /** Does the schema at `pointer` reach itself through references? */
  #isRecursive(pointer: string, segments: readonly string[]): boolean {
    const known = this.#recursive.get(pointer);
    if (known !== undefined) return known;
    const visited = new Set<string>();
    let budget = 100_000;
    const reaches = (v: unknown, depth: number): boolean => {
      if (--budget < 0 || depth > MAX_DEPTH) return false;
      if (Array.isArray(v)) return v.some((x) => reaches(x, depth + 1));
      if (!isRecord(v)) return false;
      if (typeof v.$ref === 'string') {
        const seg = parsePointer(v.$ref);
        if (!seg) return false;
        const p = `#/${seg.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
        if (p === pointer) return true;
        if (visited.has(p)) return false;
        visited.add(p);
        const t = this.lookup(seg);
        return t.found && reaches(t.value, depth + 1);
      }
      for (const [k, x] of Object.entries(v)) if (!DATA_KEYS.has(k) && !k.startsWith('x-') && reaches(x, depth + 1)) return true;
      return false;
    };
    const t = this.lookup(segments);
    const result = t.found && reaches(t.value, 0);
    this.#recursive.set(pointer, result);
    return result;
  }

  #once(path: KeyPath, severity: 'error' | 'warning', message: string): void {
    const key = `${path.join('\0')}\0${message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#report(path, severity, message);
  }
}

/** A deep copy of plain data (JSON-like values from a parsed document). */
export function structuredCloneSafe(v: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  if (Array.isArray(v)) return v.map((x) => structuredCloneSafe(x, depth + 1));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) setKey(out, k, structuredCloneSafe(x, depth + 1));
  return out;
}
