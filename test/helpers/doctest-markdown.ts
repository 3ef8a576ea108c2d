/**
 * The Markdown side of the doc tests (docs/doctests.md): finds fenced code blocks and the
 * `<!-- doctest: MODE key=value ... -->` markers that say what to do with each, and compares a
 * command's output with the output a page shows. Pure: no I/O, so test/unit/doctest-markdown.test.ts
 * pins the grammar and the matching rules without starting anything.
 */

/** Block modes (a one-line marker right above a fence) and what each accepts. */
export const BLOCK_MODES = {
  run: ['exit', 'background', 'id', 'wait', 'env', 'replace', 'timeout', 'cwd'],
  output: ['match'],
  config: ['name', 'invalid', 'fragment', 'env', 'replace'],
  validate: ['invalid', 'fragment', 'env', 'replace'],
  file: ['name'],
  json: [],
  imports: ['base'],
  flags: [],
  skip: ['reason'],
} as const satisfies Record<string, readonly string[]>;
export type BlockMode = keyof typeof BLOCK_MODES;

/** Directives that stand alone (not above a fence); `file` and `setup` carry a body up to `-->`. */
export const DIRECTIVE_MODES = {
  page: ['ports', 'database'],
  file: ['name'],
  setup: [],
} as const satisfies Record<string, readonly string[]>;
export type DirectiveMode = keyof typeof DIRECTIVE_MODES;

/** In an expected output, either stands for any characters within its line. */
export const OUTPUT_WILDCARDS = ['…', '...'] as const;

export interface Marker {
  mode: string;
  attrs: Record<string, string>;
  line: number;
}

export interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  text: string;
  marker: Marker | undefined;
}

export interface Directive {
  mode: DirectiveMode;
  attrs: Record<string, string>;
  body: string;
  line: number;
}

export type Step = { kind: 'block'; block: Block } | { kind: 'directive'; directive: Directive };

export interface ParsedPage {
  file: string;
  steps: Step[];
  blocks: Block[];
  page: Directive | undefined;
  /** Grammar problems: unknown modes or attributes, a skip without a reason, unclosed fences. */
  problems: string[];
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const MARKER_OPEN = /^\s*<!--\s*doctest:\s*(.*)$/;

/** `mode key=value key="a value" flag` -> mode and attributes (a bare flag is "true"). */
export function parseMarkerText(text: string): { mode: string; attrs: Record<string, string> } {
  const tokens = [...text.matchAll(/([\w-]+)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S+))?/g)];
  const first = tokens.shift();
  const attrs: Record<string, string> = {};
  for (const t of tokens) {
    const raw = t[2];
    attrs[t[1] as string] = raw === undefined ? 'true' : /^["']/.test(raw) ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { mode: first?.[1] ?? '', attrs };
}

export function parseMarkdown(text: string, file: string): ParsedPage {
  const lines = text.split('\n');
  const steps: Step[] = [];
  const blocks: Block[] = [];
  const problems: string[] = [];
  let page: Directive | undefined;
  /** The last one-line marker, waiting for its fence (only blank lines may come between). */
  let pending: Marker | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fence = FENCE.exec(line);
    if (fence) {
      const indent = (fence[1] as string).length;
      const mark = fence[2] as string;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const l = lines[j] as string;
        if (l.trim().startsWith(mark[0]?.repeat(mark.length) as string) && /^\s*(`{3,}|~{3,})\s*$/.test(l)) break;
        body.push(l.slice(Math.min(indent, l.length - l.trimStart().length)));
      }
      if (j >= lines.length) problems.push(`${file}:${i + 1}: unclosed code fence`);
      const block: Block = { file, line: i + 1, lang: (fence[3] as string).toLowerCase(), text: body.length ? `${body.join('\n')}\n` : '', marker: pending };
      if (pending) checkMarker(block, pending, problems);
      pending = undefined;
      blocks.push(block);
      steps.push({ kind: 'block', block });
      i = j;
      continue;
    }
    const open = MARKER_OPEN.exec(line);
    if (open) {
      let rest = open[1] as string;
      const start = i + 1;
      if (rest.includes('-->')) {
        const parsed = parseMarkerText(rest.slice(0, rest.indexOf('-->')));
        if (parsed.mode === 'page') {
          page = directive(parsed, '', start, file, problems);
        } else {
          pending = { ...parsed, line: start };
        }
        continue;
      }
      // Multi-line: the first line is `doctest: MODE attrs`, then a body up to a line `-->`.
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length && (lines[j] as string).trim() !== '-->'; j++) body.push(lines[j] as string);
      if (j >= lines.length) problems.push(`${file}:${start}: doctest comment not closed by a line "-->"`);
      rest = rest.trim();
      const parsed = parseMarkerText(rest);
      const d = directive(parsed, body.length ? `${body.join('\n')}\n` : '', start, file, problems);
      if (d) steps.push({ kind: 'directive', directive: d });
      pending = undefined;
      i = j;
      continue;
    }
    if (line.trim() !== '' && pending) {
      problems.push(`${file}:${pending.line}: doctest marker "${pending.mode}" is not directly above a code fence`);
      pending = undefined;
    }
  }
  if (pending) problems.push(`${file}:${pending.line}: doctest marker "${pending.mode}" is not followed by a code fence`);
  return { file, steps, blocks, page, problems };
}

function directive(parsed: { mode: string; attrs: Record<string, string> }, body: string, line: number, file: string, problems: string[]): Directive | undefined {
  const allowed = (DIRECTIVE_MODES as Record<string, readonly string[]>)[parsed.mode];
  if (!allowed) {
    problems.push(`${file}:${line}: unknown doctest directive "${parsed.mode}" (a comment with a body is one of: ${Object.keys(DIRECTIVE_MODES).join(', ')})`);
    return undefined;
  }
  for (const k of Object.keys(parsed.attrs)) if (!allowed.includes(k)) problems.push(`${file}:${line}: doctest ${parsed.mode}: unknown attribute "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
  if (parsed.mode === 'file' && !parsed.attrs.name) problems.push(`${file}:${line}: doctest file needs name=PATH`);
  return { mode: parsed.mode as DirectiveMode, attrs: parsed.attrs, body, line };
}

function checkMarker(block: Block, m: Marker, problems: string[]): void {
  const at = `${block.file}:${m.line}`;
  const allowed = (BLOCK_MODES as Record<string, readonly string[]>)[m.mode];
  if (!allowed) {
    problems.push(`${at}: unknown doctest mode "${m.mode}" (one of: ${Object.keys(BLOCK_MODES).join(', ')})`);
    return;
  }
  for (const k of Object.keys(m.attrs)) if (!allowed.includes(k)) problems.push(`${at}: doctest ${m.mode}: unknown attribute "${k}" (allowed: ${allowed.join(', ') || 'none'})`);
  if (m.mode === 'skip' && !(m.attrs.reason ?? '').trim()) problems.push(`${at}: doctest skip needs reason="why this block cannot run"`);
  if (m.mode === 'config' && !m.attrs.name) problems.push(`${at}: doctest config needs name=FILE (use "validate" for a block no later block reads)`);
  if (m.mode === 'file' && !m.attrs.name) problems.push(`${at}: doctest file needs name=PATH`);
  if (m.mode === 'imports' && !m.attrs.base) problems.push(`${at}: doctest imports needs base=DIR (the source folder the import paths are relative to)`);
}

/** Every fenced block without a marker, as `file:line`: the doc test fails on any. */
export function unmarked(page: ParsedPage): string[] {
  return page.blocks.filter((b) => !b.marker).map((b) => `${b.file}:${b.line} (\`\`\`${b.lang || 'no language'})`);
}

// ---------------------------------------------------------------------------------------------
// Console transcripts and output matching

export interface TranscriptCommand {
  command: string;
  expected: string;
}

/** A block whose first non-blank line starts with `$ ` is a transcript: commands and, under each, its output. */
export function isTranscript(text: string): boolean {
  const first = text.split('\n').find((l) => l.trim() !== '');
  return first?.startsWith('$ ') ?? false;
}

export function parseTranscript(text: string): TranscriptCommand[] {
  const out: TranscriptCommand[] = [];
  const lines = text.replace(/\n$/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (!line.startsWith('$ ')) continue;
    let command = line.slice(2);
    while (command.endsWith('\\') && i + 1 < lines.length) {
      line = lines[++i] as string;
      command = `${command.slice(0, -1)}\n${line}`;
    }
    const expected: string[] = [];
    while (i + 1 < lines.length && !(lines[i + 1] as string).startsWith('$ ')) expected.push(lines[++i] as string);
    out.push({ command, expected: expected.join('\n') });
  }
  return out;
}

/**
 * Values that differ from run to run, replaced on both sides before comparing: request ids and
 * other UUIDs, ISO timestamps, config versions (12 hex digits), process ids.
 */
export function normalise(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>')
    .replace(/\b[0-9a-f]{12}\b/g, '<hash>')
    .replace(/"pid":\d+/g, '"pid":<pid>');
}

function lineRegex(expected: string, anchored = true): RegExp {
  let src = '';
  let rest = expected;
  while (rest.length > 0) {
    const hits = OUTPUT_WILDCARDS.map((w) => ({ w, at: rest.indexOf(w) })).filter((h) => h.at >= 0);
    if (hits.length === 0) {
      src += escapeRe(rest);
      break;
    }
    const h = hits.sort((a, b) => a.at - b.at)[0] as { w: string; at: number };
    src += `${escapeRe(rest.slice(0, h.at))}.*?`;
    rest = rest.slice(h.at + h.w.length);
  }
  return new RegExp(anchored ? `^${src}$` : src);
}
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const lines = (s: string) => {
  const l = s.split('\n').map((x) => x.trimEnd());
  while (l.length && l[l.length - 1] === '') l.pop();
  while (l.length && l[0] === '') l.shift();
  return l;
};

/**
 * Text matching: the same lines, in order, after `normalise` and with trailing spaces dropped; in
 * the expected text `…` (or `...`) stands for any characters within its line.
 * `contains`: each expected line appears in a line of the output (anywhere in it: an answer without a
 * final newline runs into the next one), in this order; other lines may come between.
 */
export function matchText(expected: string, actual: string, mode: 'text' | 'contains' = 'text'): string | undefined {
  const exp = lines(expected);
  const act = lines(actual);
  // A line matches as written (`x-request-id: 6f1c…` against a real id) or after `normalise`.
  const pairs = exp.map((e) => [lineRegex(e, mode === 'text'), lineRegex(normalise(e), mode === 'text')] as const);
  const hit = (i: number, a: string) => (pairs[i] as readonly [RegExp, RegExp])[0].test(a) || (pairs[i] as readonly [RegExp, RegExp])[1].test(normalise(a));
  const show = () => `\n--- expected\n${exp.join('\n')}\n--- actual\n${act.join('\n')}`;
  if (mode === 'text') {
    if (exp.length !== act.length || act.some((a, i) => !hit(i, a))) return `output differs.${show()}`;
    return undefined;
  }
  let at = 0;
  for (let i = 0; i < exp.length; i++) {
    while (at < act.length && !hit(i, act[at] as string)) at++;
    if (at >= act.length) return `output lacks the line ${JSON.stringify(exp[i])} (in order).${show()}`;
    at++;
  }
  return undefined;
}

/**
 * JSON matching: the output is one JSON value (or one per line: the last is used). Objects must
 * have the same keys (`json-subset`: at least the expected ones), arrays the same length, strings
 * match with `…` wildcards, other values are equal.
 */
export function matchJson(expected: string, actual: string, subset: boolean): string | undefined {
  let exp: unknown;
  try {
    exp = JSON.parse(expected);
  } catch (e) {
    return `the expected output is not JSON: ${(e as Error).message}`;
  }
  // curl's and the harness's own notes ("curl: (22) …", "[doctest: …]") are not part of the answer.
  const body = actual
    .split('\n')
    .filter((l) => !/^(curl: \(\d+\)|\[doctest: )/.test(l))
    .join('\n')
    .trim();
  const start = body.search(/^[[{]/m);
  const candidates = [body, ...(start > 0 ? [body.slice(start)] : []), ...body.split('\n').reverse()];
  let act: unknown;
  let parsed = false;
  for (const c of candidates) {
    try {
      act = JSON.parse(c);
      parsed = true;
      break;
    } catch {
      // not this candidate
    }
  }
  if (!parsed) return `the output is not JSON:\n${actual}`;
  const problems: string[] = [];
  compareJson(exp, act, '$', subset, problems);
  return problems.length ? `${problems.join('\n')}\n--- actual\n${JSON.stringify(act, null, 2)}` : undefined;
}

function compareJson(e: unknown, a: unknown, path: string, subset: boolean, out: string[]): void {
  if (typeof e === 'string') {
    if (typeof a !== 'string' || !(lineRegex(e).test(a) || lineRegex(normalise(e)).test(normalise(a)))) out.push(`${path}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
    return;
  }
  if (Array.isArray(e)) {
    if (!Array.isArray(a) || a.length !== e.length) {
      out.push(`${path}: expected an array of ${e.length}, got ${JSON.stringify(a)}`);
      return;
    }
    for (const [i, v] of e.entries()) compareJson(v, a[i], `${path}[${i}]`, subset, out);
    return;
  }
  if (e !== null && typeof e === 'object') {
    if (a === null || typeof a !== 'object' || Array.isArray(a)) {
      out.push(`${path}: expected an object, got ${JSON.stringify(a)}`);
      return;
    }
    const ao = a as Record<string, unknown>;
    for (const [k, v] of Object.entries(e)) {
      if (!(k in ao)) out.push(`${path}.${k}: missing`);
      else compareJson(v, ao[k], `${path}.${k}`, subset, out);
    }
    if (!subset) for (const k of Object.keys(ao)) if (!(k in (e as object))) out.push(`${path}.${k}: not shown in the doc (value ${JSON.stringify(ao[k])})`);
    return;
  }
  if (e !== a) out.push(`${path}: expected ${JSON.stringify(e)}, got ${JSON.stringify(a)}`);
}
