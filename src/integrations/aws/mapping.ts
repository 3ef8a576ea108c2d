/**
 * REST API parameter mappings, parsed once into small op lists
 * (docs: "Parameter mapping for REST APIs", request-response-data-mappings.html), the
 * integration URI template, and integration-response selection.
 */

import type { AwsIntegrationResponse } from './model.js';
import { javaRegex } from '../../templates/java-methods.js';
import { evaluatePath } from '../../templates/jsonpath.js';
import { parseJson, toJson } from '../../templates/values.js';
import { isCatastrophic } from '../../util/regex-safety.js';

export class AwsIntegrationConfigError extends Error {
  override name = 'AwsIntegrationConfigError';
}

/** Where a mapped value comes from. */
export type MappingSource =
  | { kind: 'static'; value: string }
  | { kind: 'context'; path: string }
  | { kind: 'stageVariables'; name: string }
  | { kind: 'path' | 'querystring' | 'multivaluequerystring' | 'header' | 'multivalueheader'; name: string }
  | { kind: 'body' }
  | { kind: 'bodyPath'; path: string };

export interface RequestMappingOp {
  target: 'header' | 'querystring' | 'path';
  name: string;
  source: MappingSource;
  /** The mapping as written, for messages. */
  text: string;
}

export interface ResponseMappingOp {
  name: string;
  source: MappingSource;
  text: string;
}

function parseCommonSource(value: string): MappingSource | undefined {
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return { kind: 'static', value: value.slice(1, -1) };
  if (value.startsWith('context.') && value.length > 8) return { kind: 'context', path: value.slice(8) };
  if (value.startsWith('stageVariables.') && value.length > 15) return { kind: 'stageVariables', name: value.slice(15) };
  return undefined;
}

function parseDataSource(rest: string, where: string, full: string): MappingSource {
  if (rest === 'body') return { kind: 'body' };
  if (rest.startsWith('body.')) return { kind: 'bodyPath', path: `$.${rest.slice(5)}` };
  const dot = rest.indexOf('.');
  const type = dot === -1 ? rest : rest.slice(0, dot);
  const name = dot === -1 ? '' : rest.slice(dot + 1);
  if (name !== '') {
    const allowed = where === 'request' ? ['path', 'querystring', 'multivaluequerystring', 'header', 'multivalueheader'] : ['header', 'multivalueheader'];
    if (allowed.includes(type)) return { kind: type as 'header', name };
  }
  throw new AwsIntegrationConfigError(`unsupported mapping expression '${full}'`);
}

/** `integration.request.header.X` -> `method.request.path.id` | `'static'` | `context.x` | `stageVariables.x` | `method.request.body[.JSONPath]`. */
export function parseRequestParameters(params: Readonly<Record<string, string>>): RequestMappingOp[] {
  const ops: RequestMappingOp[] = [];
  for (const [key, value] of Object.entries(params)) {
    const m = /^integration\.request\.(header|querystring|path)\.(.+)$/.exec(key);
    if (!m) throw new AwsIntegrationConfigError(`unsupported request parameter target '${key}'`);
    const v = String(value ?? '').trim();
    let source = parseCommonSource(v);
    if (!source) {
      if (!v.startsWith('method.request.')) throw new AwsIntegrationConfigError(`unsupported mapping expression '${v}' for '${key}'`);
      source = parseDataSource(v.slice('method.request.'.length), 'request', v);
    }
    ops.push({ target: m[1] as RequestMappingOp['target'], name: m[2] as string, source, text: `${key} = ${v}` });
  }
  return ops;
}

/** `method.response.header.X` -> `integration.response.header.Y` | `integration.response.body[.JSONPath]` | `'static'` | `context.x` | `stageVariables.x`. */
export function parseResponseParameters(params: Readonly<Record<string, string>>): ResponseMappingOp[] {
  const ops: ResponseMappingOp[] = [];
  for (const [key, value] of Object.entries(params)) {
    const m = /^method\.response\.header\.(.+)$/.exec(key);
    if (!m) throw new AwsIntegrationConfigError(`unsupported response parameter target '${key}'`);
    const v = String(value ?? '').trim();
    let source = parseCommonSource(v);
    if (!source) {
      if (!v.startsWith('integration.response.')) throw new AwsIntegrationConfigError(`unsupported mapping expression '${v}' for '${key}'`);
      source = parseDataSource(v.slice('integration.response.'.length), 'response', v);
    }
    ops.push({ name: m[1] as string, source, text: `${key} = ${v}` });
  }
  return ops;
}

/** A value found by a JSONPath, as a mapping value: strings as they are, everything else as JSON. */
export function valueText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  return toJson(v);
}

/** Walks `identity.sourceIp` in the $context tree. */
export function contextValue(context: Record<string, unknown>, path: string): string | undefined {
  let cur: unknown = context;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/**
 * AWS only parses a body for `body.<JSONPath>` when it looks like JSON (starts with `{`, `[` or `"`);
 * anything else reads as an empty object (LocalStack's AWS-validated mapper does the same).
 * Throws on a body that looks like JSON but is not.
 */
export function bodyForPath(text: string): unknown {
  const t = text.trim();
  if (t === '') return {};
  const c = t[0];
  if (c === '{' || c === '[' || c === '"') return parseJson(t);
  return {};
}

export function evaluateBodyPath(parsed: unknown, path: string): string | undefined {
  const r = evaluatePath(parsed, path);
  return r.found ? valueText(r.value) : undefined;
}

// ---------------------------------------------------------------------------
// Integration URI

export interface UriTemplate {
  /** 'https://host:port' (after rewriteOrigin). */
  origin: string;
  /** Literal and placeholder parts of the path; placeholders name integration.request.path.* values. */
  parts: (string | { param: string })[];
  /** Query string written in the URI itself ('' when none), without '?'. */
  query: string;
  /** The origin as written (before rewriteOrigin), for Host-less descriptions. */
  writtenOrigin: string;
}

/** Replaces `${stageVariables.x}` (AWS's only substitution in an integration URI). A missing variable becomes ''. */
export function substituteStageVariables(text: string, stageVariables: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{stageVariables\.([A-Za-z0-9_.-]+)\}/g, (_m, name: string) =>
    Object.hasOwn(stageVariables, name) ? (stageVariables[name] as string) : '',
  );
}

export function parseUriTemplate(uri: string, stageVariables: Readonly<Record<string, string>>, rewriteOrigin?: (origin: string) => string): UriTemplate {
  const text = substituteStageVariables(uri, stageVariables);
  const m = /^(https?:\/\/[^/?#]+)([^?#]*)(?:\?([^#]*))?/i.exec(text);
  if (!m) throw new AwsIntegrationConfigError(`integration uri '${uri}' is not an http(s) URL`);
  let url: URL;
  try {
    url = new URL(`${m[1]}/`);
  } catch {
    throw new AwsIntegrationConfigError(`integration uri '${uri}' has an invalid origin`);
  }
  const writtenOrigin = url.origin;
  const origin = rewriteOrigin ? rewriteOrigin(writtenOrigin) : writtenOrigin;
  const path = m[2] || '/';
  const parts: UriTemplate['parts'] = [];
  const re = /\{([^{}]+)\}/g;
  let last = 0;
  for (let p = re.exec(path); p !== null; p = re.exec(path)) {
    if (p.index > last) parts.push(path.slice(last, p.index));
    parts.push({ param: (p[1] as string).replace(/\+$/, '') });
    last = p.index + p[0].length;
  }
  if (last < path.length) parts.push(path.slice(last));
  return { origin, parts, query: m[3] ?? '', writtenOrigin };
}

/** Fills the path placeholders; values are used as they are (method path parameters arrive still percent-encoded). */
export function renderUriPath(t: UriTemplate, values: Readonly<Record<string, string>>): string {
  let out = '';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = Object.hasOwn(values, p.param) ? (values[p.param] as string) : '';
      // A value mapped from a static or a header may hold characters a path cannot carry raw.
      out += v.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%/]/g, (c) => encodeURIComponent(c));
    }
  }
  return out.startsWith('/') ? out : `/${out}`;
}

// ---------------------------------------------------------------------------
// Integration responses

export interface CompiledSelection {
  response: AwsIntegrationResponse;
  /** Anchored: a Java selectionPattern must match the whole selection value. */
  regex: RegExp | undefined;
}

export function compileSelection(responses: readonly AwsIntegrationResponse[]): {
  patterns: CompiledSelection[];
  fallback: AwsIntegrationResponse | undefined;
} {
  const patterns: CompiledSelection[] = [];
  let fallback: AwsIntegrationResponse | undefined;
  for (const r of responses) {
    const pattern = r.selectionPattern;
    if (pattern === undefined || pattern === '' || r.key === 'default') {
      fallback ??= r;
      continue;
    }
    if (isCatastrophic(pattern)) throw new AwsIntegrationConfigError(`selectionPattern '${pattern}' could backtrack catastrophically`);
    let re: RegExp;
    try {
      const base = javaRegex(pattern);
      re = new RegExp(`^(?:${base.source})$`, base.flags.replace('g', ''));
    } catch (e) {
      throw new AwsIntegrationConfigError(`selectionPattern '${pattern}' is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
    }
    patterns.push({ response: r, regex: re });
  }
  return { patterns, fallback };
}

/** First pattern (document order) matching the whole value, else the default response. */
export function selectResponse(
  sel: { patterns: readonly CompiledSelection[]; fallback: AwsIntegrationResponse | undefined },
  value: string | undefined,
): AwsIntegrationResponse | undefined {
  if (value !== undefined) for (const p of sel.patterns) if (p.regex?.test(value)) return p.response;
  return sel.fallback;
}

/**
 * Response template choice: the Accept header's media types in order, then application/json,
 * then the first template (LocalStack's AWS-validated rule; AWS docs: "If no Accept header ...
 * application/json is used").
 */
export function chooseResponseTemplate<T>(templates: ReadonlyMap<string, T>, accept: string | undefined): T | undefined {
  if (templates.size === 0) return undefined;
  if (accept) {
    for (const part of accept.split(',')) {
      const t = part.split(';')[0]?.trim().toLowerCase();
      if (t && templates.has(t)) return templates.get(t);
    }
  }
  return templates.get('application/json') ?? templates.values().next().value;
}
