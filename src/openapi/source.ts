/**
 * Reading an AWS OpenAPI document into a `SourceDocument` (the shape `parseSource` in
 * config/load.ts returns: plain data plus key path -> line/column).
 *
 * Why not `parseSource` itself: it interpolates `${NAME}` environment references, and AWS
 * documents are full of `${stageVariables.x}` (and exports such as `"uri": "${uri}"`), which
 * it rejects or rewrites. An AWS document must be served as it is, so it is read here without
 * interpolation, with the same YAML/JSON rules otherwise (strict JSON checker first, YAML 1.2
 * core schema, unique keys, bounded alias expansion, unknown tags refused).
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError, type Diagnostic } from '../config/diagnostics.js';
import { keyString } from '../config/interpolate.js';
import { checkJsonSyntax } from '../config/json-syntax.js';
import { detectFormat, type Position, type SourceDocument } from '../config/load.js';

const MAX_ALIAS_COUNT = 1000;

/** Parses YAML or JSON text without environment interpolation. Throws ConfigError on syntax errors. */
export function parseAwsSource(text: string, file: string): SourceDocument {
  const format = detectFormat(text, file);
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (format === 'json') {
    const bad = checkJsonSyntax(text);
    if (bad) {
      const at = lineColAt(text, bad.offset);
      throw new ConfigError([{ file, ...at, path: '', message: `invalid JSON: ${bad.message}`, severity: 'error' }]);
    }
  }
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    ...(format === 'json' ? { schema: 'json' as const, merge: false } : { schema: 'core' as const, merge: true }),
  });
  const label = format === 'json' ? 'invalid JSON' : 'invalid YAML';
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  // After the first structural error the yaml parser reports noise on later lines: keep the first.
  const firstError = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (firstError) {
    const at = position(firstError.pos[0]);
    const message = firstError.code === 'DUPLICATE_KEY' ? 'duplicate key; each key may appear only once in a map' : firstLine(firstError.message);
    errors.push({ file, ...at, path: '', message: `${label}: ${message}`, severity: 'error' });
  }
  for (const w of doc.warnings) {
    const at = position(w.pos[0]);
    if (w.code === 'TAG_RESOLVE_FAILED') {
      // CloudFormation's !Ref / !Sub would silently become plain strings: refuse them.
      errors.push({ file, ...at, path: '', message: `${firstLine(w.message)}; resolve CloudFormation intrinsics before importing`, severity: 'error' });
    } else {
      warnings.push({ file, ...at, path: '', message: `${label}: ${firstLine(w.message)}`, severity: 'warning' });
    }
  }
  if (errors.length > 0) throw new ConfigError(errors);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new ConfigError([{ file, line: 1, column: 1, path: '', message: `cannot build the document: ${message}`, severity: 'error' }]);
  }
  const find = (path: readonly (string | number)[], wantKey: boolean): Position => {
    const { node, key } = walkTo(doc, path);
    if (wantKey && key) return position(key.range?.[0] ?? 0);
    return position(node?.range?.[0] ?? 0);
  };
  return { file, text, format, data, locate: (p) => find(p, false), locateKey: (p) => find(p, true), warnings };
}

/** A SourceDocument for a value that has no text (positions are line 0: "the whole file"). */
export function sourceFromData(data: unknown, file = '<data>'): SourceDocument {
  const nowhere = (): Position => ({ line: 0, column: 0 });
  return { file, text: '', format: 'json', data, locate: nowhere, locateKey: nowhere, warnings: [] };
}

function firstLine(message: string): string {
  const text = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function walkTo(doc: Document, path: readonly (string | number)[]): { node: Node | null; key: Node | null } {
  let node = deref(doc, doc.contents);
  let key: Node | null = null;
  for (const seg of path) {
    key = null;
    if (isMap(node)) {
      const pair = findPair(doc, node, String(seg), 0);
      if (!pair) return { node, key: null };
      const value = deref(doc, pair.value);
      key = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : null;
      node = value?.range && value.range[0] !== value.range[1] ? value : (key ?? value ?? node);
    } else if (isSeq(node) && /^\d+$/.test(String(seg))) {
      const item = deref(doc, node.items[Number(seg)]);
      if (!item) return { node, key: null };
      node = item;
    } else {
      return { node, key: null };
    }
  }
  return { node, key };
}

function findPair(doc: Document, map: { items: unknown[] }, key: string, depth: number): { key: unknown; value: unknown } | undefined {
  const merges: unknown[] = [];
  for (const pair of map.items) {
    if (!isPair(pair)) continue;
    const k = keyString(pair.key);
    if (k === key) return pair;
    if (k === '<<' && isScalar(pair.key)) merges.push(pair.value);
  }
  if (depth > 20) return undefined;
  for (const m of merges) {
    for (const s of isSeq(m) ? m.items : [m]) {
      const target = deref(doc, s);
      if (isMap(target)) {
        const found = findPair(doc, target, key, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function deref(doc: Document, node: unknown): Node | null {
  let n = node;
  for (let hops = 0; isAlias(n) && hops < 100; hops++) n = n.resolve(doc) ?? null;
  if (isAlias(n)) return null;
  return (n as Node | null | undefined) ?? null;
}

function lineColAt(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, column: offset - start + 1 };
}
