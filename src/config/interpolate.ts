// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the interpolation syntax under test, not a template literal.
/**
 * Environment interpolation (config lifecycle step 2).
 *
 * Grammar, inside string scalar values only (never keys):
 *   ${NAME}            value of NAME; an unset NAME is an error
 *   ${NAME:-default}   value of NAME, or `default` when NAME is unset or empty (shell semantics)
 *   $${                a literal "${" (so `$${NAME}` yields the text `${NAME}`)
 * NAME is [A-Za-z_][A-Za-z0-9_]*. `default` is literal text up to the first `}`; it is not
 * interpolated again and may not contain "${". Any other "${" is rejected rather than passed
 * through, so a typo such as `${PORT` cannot silently reach the gateway.
 *
 * Nothing is ever evaluated (see DESIGN.md "Not to copy": config strings evaluated as code),
 * and the result is always a string: `port: ${PORT}` stays the string "8080"; turning it into
 * a number is the schema's business, not ours.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { formatPath, type Diagnostic } from './diagnostics.js';

export type InterpolationProblem =
  | { kind: 'unset'; name: string }
  | { kind: 'invalid'; text: string; reason: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Interpolates one string. Unset variables are left in place (as written) and reported. */
export function interpolateString(
  input: string,
  env: NodeJS.ProcessEnv,
): { value: string; problems: InterpolationProblem[] } {
  // Fast path: most scalars contain no "$" at all.
  if (!input.includes('$')) return { value: input, problems: [] };
  const problems: InterpolationProblem[] = [];
  let out = '';
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar === -1) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, dollar);
    if (input.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (input[dollar + 1] !== '{') {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = input.indexOf('}', dollar + 2);
    if (close === -1) {
      const text = input.slice(dollar, dollar + 40);
      problems.push({ kind: 'invalid', text, reason: 'it has no closing "}"' });
      out += input.slice(dollar);
      break;
    }
    const body = input.slice(dollar + 2, close);
    const ref = input.slice(dollar, close + 1);
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    const fallback = sep === -1 ? undefined : body.slice(sep + 2);
    if (!NAME.test(name)) {
      problems.push({ kind: 'invalid', text: ref, reason: `"${name}" is not a variable name` });
      out += ref;
    } else if (fallback?.includes('${')) {
      problems.push({ kind: 'invalid', text: ref, reason: 'references cannot be nested' });
      out += ref;
    } else {
      const value = Object.hasOwn(env, name) ? env[name] : undefined;
      if (fallback !== undefined) {
        out += value === undefined || value === '' ? fallback : value;
      } else if (value === undefined) {
        problems.push({ kind: 'unset', name });
        out += ref;
      } else {
        out += value;
      }
    }
    i = close + 1;
  }
  return { value: out, problems };
}

export function describeProblem(p: InterpolationProblem): string {
  if (p.kind === 'unset') return `environment variable ${p.name} is not set`;
  return (
    `invalid environment reference "${p.text}": ${p.reason}; ` +
    'write ${NAME} or ${NAME:-default}, or $${ for a literal "${"'
  );
}

/**
 * Interpolates every string scalar value of a parsed YAML/JSON document in place.
 * Keys are left alone; aliases are skipped (their anchor is interpolated where it is written).
 * Returns one diagnostic per problem, positioned at the scalar that holds it.
 */
export function interpolateDocument(
  doc: Document,
  env: NodeJS.ProcessEnv,
  file: string,
  lineCounter: LineCounter,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isAlias(node)) return;
    if (isScalar(node)) {
      if (typeof node.value !== 'string') return;
      const { value, problems } = interpolateString(node.value, env);
      node.value = value;
      if (problems.length === 0) return;
      const { line, col } = lineCounter.linePos((node as Node).range?.[0] ?? 0);
      for (const p of problems) {
        diagnostics.push({
          file,
          line,
          column: col,
          path: formatPath(path),
          message: describeProblem(p),
          severity: 'error',
        });
      }
      return;
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        walk(pair.value, [...path, keyString(pair.key)]);
      }
      return;
    }
    if (isSeq(node)) {
      node.items.forEach((item, index) => {
        walk(item, [...path, index]);
      });
    }
  };
  walk(doc.contents, []);
  return diagnostics;
}

/** The string a key becomes in the plain JS object (how yaml's toJS() stringifies it). */
export function keyString(key: unknown): string {
  if (isScalar(key)) {
    // yaml represents the `<<` merge key by a symbol.
    return typeof key.value === 'symbol' ? (key.value.description ?? '') : String(key.value);
  }
  if (key === null || key === undefined) return '';
  try {
    return String(key);
  } catch {
    // A collection key that cannot print (a `<<` merge of a non-map, found by test/fuzz): no name.
    return '';
  }
}
