/**
 * Config front end, steps 1-2 of the config lifecycle (DESIGN.md): text -> plain JS value,
 * with every node's file position kept so later steps can point at the exact line.
 *
 * YAML and JSON both go through the `yaml` package (JSON is a YAML subset and `yaml` keeps
 * source ranges); JSON is first checked by a strict JSON checker so its syntax errors are
 * reported in JSON terms. Positions are 1-based line and column (column in UTF-16 units).
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
  type Node,
  type SchemaOptions,
  type YAMLError,
} from 'yaml';
import { ConfigError, formatPath, type Diagnostic } from './diagnostics.js';
import { interpolateDocument, keyString } from './interpolate.js';
import type { ConfigInputs } from './inputs.js';
import { checkJsonSyntax } from './json-syntax.js';

export interface Position {
  line: number;
  column: number;
}

export interface SourceDocument {
  /** Path as given. */
  file: string;
  /** Raw text. */
  text: string;
  /** By extension (.yaml/.yml/.json), else sniffed. */
  format: 'yaml' | 'json';
  /** Parsed and interpolated plain JS value (not yet validated; no defaults applied). */
  data: unknown;
  /**
   * 1-based position of the node at that key path. A path that leaves the document falls
   * back to the nearest existing ancestor, so a missing key yields its parent map's position.
   */
  locate(path: readonly (string | number)[]): Position;
  /**
   * Like locate(), but for a path ending in a map key returns the position of the key
   * itself rather than its value (what an "unknown key" message should point at).
   */
  locateKey(path: readonly (string | number)[]): Position;
  /** Non-fatal findings of the parser (e.g. a complex key that had to be stringified). */
  warnings: readonly Diagnostic[];
  /**
   * Every file the document names, when its source collected them with it (a snapshot's document,
   * src/config/index.ts snapshotOf): a load compiles from these. Absent: the load collects them itself.
   */
  inputs?: ConfigInputs;
}

export interface ParseOptions {
  /** Variables for ${NAME} interpolation; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** false: leave ${...} as written (AWS documents use ${stageVariables.x}, which belongs to AWS). Default true. */
  interpolate?: boolean;
  /** YAML tags this document may use (CloudFormation's !Ref, !Sub ...: src/sam/template.ts); any other tag stays an error. */
  customTags?: SchemaOptions['customTags'];
  /** Said after "unsupported tag !X;" instead of the config-file wording, for documents with their own tag set. */
  unknownTagHint?: string;
}

// toJS() expands aliases; a small document can expand exponentially ("billion laughs").
const MAX_ALIAS_COUNT = 1000;

export function parseSource(text: string, file: string, opts: ParseOptions = {}): SourceDocument {
  const env = opts.env ?? process.env;
  const format = detectFormat(text, file);
  const lineCounter = new LineCounter();
  const position = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (format === 'json') {
    const bad = checkJsonSyntax(text);
    if (bad) {
      const { line, column: col } = lineColAt(text, bad.offset);
      throw new ConfigError([
        { file, line, column: col, path: '', message: `invalid JSON: ${bad.message}`, severity: 'error' },
      ]);
    }
  }

  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    // JSON: the strict JSON schema (no YAML-only scalars); YAML: the 1.2 core schema plus
    // `<<` merge keys, which people use to share blocks between routes.
    ...(format === 'json' ? { schema: 'json' as const, merge: false } : { schema: 'core' as const, merge: true }),
    ...(opts.customTags !== undefined && format === 'yaml' ? { customTags: opts.customTags } : {}),
  });

  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const label = format === 'json' ? 'invalid JSON' : 'invalid YAML';
  for (const { error, hidden } of firstSyntaxErrors(doc.errors)) {
    const d = yamlDiagnostic(error, file, doc, position, label, 'error', opts.unknownTagHint);
    if (hidden > 0) d.message += ` (${hidden} later error${hidden === 1 ? '' : 's'} not shown: they usually follow from this one)`;
    errors.push(d);
  }
  for (const w of doc.warnings) {
    // An unknown tag (e.g. CloudFormation's !Ref) would silently become a plain string: refuse it.
    const severity = w.code === 'TAG_RESOLVE_FAILED' ? 'error' : 'warning';
    (severity === 'error' ? errors : warnings).push(yamlDiagnostic(w, file, doc, position, label, severity, opts.unknownTagHint));
  }
  if (errors.length > 0) throw new ConfigError(errors);

  if (opts.interpolate !== false) {
    const envErrors = interpolateDocument(doc, env, file, lineCounter);
    if (envErrors.length > 0) throw new ConfigError(envErrors);
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // yaml throws (a ReferenceError) when aliases expand too far; anything else here is a bug in us.
    const message = e instanceof Error ? e.message : String(e);
    throw new ConfigError([
      { file, line: 1, column: 1, path: '', message: `cannot build the document: ${message}`, severity: 'error' },
    ]);
  }

  const find = (path: readonly (string | number)[], wantKey: boolean): Position => {
    const { node, key } = walkTo(doc, path);
    if (wantKey && key) return position(key.range?.[0] ?? 0);
    return position(node?.range?.[0] ?? 0);
  };

  return {
    file,
    text,
    format,
    data,
    locate: (path) => find(path, false),
    locateKey: (path) => find(path, true),
    warnings,
  };
}

export async function loadSourceFile(file: string, opts: ParseOptions = {}): Promise<SourceDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, expected a file'
            : (e as Error).message;
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read config: ${reason}`, severity: 'error' }]);
  }
  return parseSource(text, file, opts);
}

export function detectFormat(text: string, file: string): 'yaml' | 'json' {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  // Sniff: a document that starts with { or [ and is valid JSON is JSON; flow-style YAML
  // such as `{a: 1}` is not valid JSON and stays YAML.
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if ((start.startsWith('{') || start.startsWith('[')) && checkJsonSyntax(text) === undefined) return 'json';
  return 'yaml';
}

// Errors that do not derail the parser: the structure around them is intact, so each is real.
const STANDALONE_ERRORS = new Set(['DUPLICATE_KEY']);
const MAX_STANDALONE_ERRORS = 3;

/**
 * After a structural syntax error (an unclosed bracket or quote, a bad indent) the yaml parser
 * re-reads the rest of the document under the wrong structure and reports an error on almost
 * every following line ("implicit keys need to be on a single line" ...). Only the first
 * structural error is worth reading, so only it is kept, with a note of how many followed; a few
 * standalone errors before it (duplicate keys) are kept too.
 */
function firstSyntaxErrors(all: readonly YAMLError[]): { error: YAMLError; hidden: number }[] {
  const sorted = [...all].sort((a, b) => a.pos[0] - b.pos[0]);
  const firstStructural = sorted.findIndex((e) => !STANDALONE_ERRORS.has(e.code));
  if (firstStructural === -1) return sorted.map((error) => ({ error, hidden: 0 }));
  const kept = sorted.slice(0, Math.min(firstStructural, MAX_STANDALONE_ERRORS)).map((error) => ({ error, hidden: 0 }));
  kept.push({ error: sorted[firstStructural] as YAMLError, hidden: sorted.length - firstStructural - 1 });
  return kept;
}

function yamlDiagnostic(
  e: YAMLError,
  file: string,
  doc: Document,
  position: (offset: number) => Position,
  label: string,
  severity: 'error' | 'warning',
  tagHint = 'config files are plain YAML without custom tags',
): Diagnostic {
  const offset = e.pos[0];
  const { line, column } = position(offset);
  return { file, line, column, path: formatPath(pathAtOffset(doc, offset)), message: yamlMessage(e, label, tagHint), severity };
}

function yamlMessage(e: YAMLError, label: string, tagHint: string): string {
  // First line only, without yaml's own " at line X, column Y" suffix: the position is ours to print.
  let text = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  switch (e.code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key; each key may appear only once in a map';
    case 'MULTIPLE_DOCS':
      return `${label}: the file contains several documents (---); use one document per file`;
    case 'TAB_AS_INDENT':
      return `${label}: tabs are not allowed for indentation; use spaces`;
    case 'TAG_RESOLVE_FAILED':
      return `${text.replace(/^Unresolved tag/, 'unsupported tag')}; ${tagHint}`;
    default:
      text = text.charAt(0).toLowerCase() + text.slice(1);
      return `${label}: ${text}`;
  }
}

interface Located {
  /** Deepest existing node on the path. */
  node: Node | null;
  /** The key node of the last step, when the full path exists and ends in a map key. */
  key: Node | null;
}

function walkTo(doc: Document, path: readonly (string | number)[]): Located {
  let node = deref(doc, doc.contents);
  let key: Node | null = null;
  for (const seg of path) {
    key = null;
    if (isMap(node)) {
      const pair = findPair(doc, node, String(seg), 0);
      if (!pair) return { node, key: null };
      // `key:` with no value: the value node may be absent or empty; point at the key.
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

/** Finds the pair for `key` in a map, looking into `<<` merge sources when it is not written directly. */
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
    const sources = isSeq(m) ? m.items : [m];
    for (const s of sources) {
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

/** Key path of the deepest node whose source range holds `offset` (used to label syntax errors). */
function pathAtOffset(doc: Document, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  const within = (n: unknown): boolean => {
    const r = (n as Node | null)?.range;
    return !!r && offset >= r[0] && offset < Math.max(r[2], r[1]);
  };
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 1000; depth++) {
    let next: unknown;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (within(pair.key)) return [...path, keyString(pair.key)];
        if (within(pair.value)) {
          path.push(keyString(pair.key));
          next = pair.value;
          break;
        }
      }
    } else if (isSeq(node)) {
      const index = node.items.findIndex(within);
      if (index !== -1) {
        path.push(index);
        next = node.items[index];
      }
    }
    if (next === undefined) return path;
    node = next;
  }
  return path;
}

/** 1-based line and column of an offset (the JSON checker does not count lines). */
function lineColAt(text: string, offset: number): Position {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    start = nl + 1;
  }
  return { line, column: offset - start + 1 };
}
