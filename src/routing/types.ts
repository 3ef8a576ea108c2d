// Public contract of the route table. The pipeline's match phase codes against
// `RouteLookup`, never against a concrete implementation, so another router can
// be swapped in behind it (DESIGN.md habit 4). Semantics: docs/routing.md.

export interface RouteDefinition<T> {
  /** Upper-case method tokens, e.g. ['GET','POST']; the single entry 'ANY' means every method. */
  methods: readonly string[];
  /** '/users/{id}', '/files/{proxy+}', '/', or the literal '$default' (catch-all used only when no route matches). */
  path: string;
  /** Exact 'api.example.com' or wildcard '*.example.com' (one or more labels). Omitted/empty = any host. */
  hosts?: readonly string[];
  /** Header (lower-case name) must equal the value exactly; a value starting with '~' is an unanchored regex. */
  headers?: Readonly<Record<string, string>>;
  /** Same semantics as `headers`, against the first value of a query parameter. */
  query?: Readonly<Record<string, string>>;
  value: T;
}

/**
 * Result of one lookup. Objects returned for routes without params (and their
 * `params`) are shared and frozen: treat every Match as read-only.
 */
export type Match<T> =
  | { kind: 'found'; value: T; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

export interface RouteLookup<T> {
  lookup(
    method: string,
    host: string | undefined,
    path: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawQuery: string,
  ): Match<T>;
  readonly size: number;
}
