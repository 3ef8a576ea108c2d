/**
 * Config diagnostics: one shape for every problem found while loading,
 * interpolating or validating a config file, and one way to print it.
 *
 * Printed form (what editors and CI annotators understand):
 *   `file:line:col key.path: message`
 *   `file:line:col key.path: warning: message`
 * The key path is omitted for the document root (`file:line:col: message`), and the
 * position is omitted when the problem concerns the whole file, e.g. it cannot be read
 * (line 0: `file: message`).
 */

export interface Diagnostic {
  file: string;
  /** 1-based; 0 means "the whole file" (e.g. it could not be read). */
  line: number;
  /** 1-based; 0 when line is 0. */
  column: number;
  /** Dotted key path with [n] for array items, e.g. `apis[0].routes[2].integration.upstream`; '' for the root. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const head = d.path === '' ? `${where}:` : `${where} ${d.path}:`;
  return d.severity === 'warning' ? `${head} warning: ${d.message}` : `${head} ${d.message}`;
}

export class ConfigError extends Error {
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    super(sorted.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = Object.freeze(sorted);
  }
}

// A key can be written bare after a dot when it looks like an identifier; anything else
// (route keys such as "GET /pets/{id}", keys with dots) is quoted so the path stays unambiguous.
const BARE_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `['apis', 0, 'routes', 2, 'integration']` -> `apis[0].routes[2].integration`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (BARE_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Sorted by line, then column (then path and message, so output is deterministic); duplicates removed. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique: Diagnostic[] = [];
  for (const d of diagnostics) {
    const key = `${d.file}\0${d.line}\0${d.column}\0${d.path}\0${d.severity}\0${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  return unique.sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.path.localeCompare(b.path) ||
      a.message.localeCompare(b.message),
  );
}
