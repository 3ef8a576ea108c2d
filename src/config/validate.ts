/**
 * Schema validation (config lifecycle step 3) with errors a human can act on.
 *
 * ajv does the checking (allErrors, so every problem is reported at once); this module turns
 * its raw errors into Diagnostics: a file position from the YAML/JSON source, a dotted key path,
 * and a message that names the culprit and the fix. The hard part is anyOf/oneOf: ajv reports
 * every failed branch, which for a union of five integration types is a wall of noise. We pick
 * the branch the value most plausibly meant (its discriminator such as `type`, else its JSON
 * type, else the branch with the fewest errors) and report only that branch's errors.
 */
import type { ErrorObject } from 'ajv';
// The 2019-09 build rather than ajv's default (draft-07) one: only it implements
// unevaluatedProperties, which TypeBox's Intersect uses to reject unknown keys. It still
// understands draft-07 schemas (definitions, dependencies), so any TypeBox output works.
import Ajv2019Module from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';
import { formatPath, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import type { SourceDocument } from './load.js';
import { didYouMean } from './suggest.js';

// NodeNext sees these CommonJS packages' default export as a property of the module object.
const Ajv = Ajv2019Module.default;
const addFormats = addFormatsModule.default;

export interface ValidatorOptions {
  /** Check `format` keywords (uri, hostname, ...) with ajv-formats. Default true. */
  formats?: boolean;
  /**
   * Let ajv coerce scalars to the schema's type ("8080" -> 8080 for an integer). Default false.
   * Interpolation always yields strings (`port: ${PORT}` is "8080"), so a schema that wants
   * env-driven numbers or booleans either enables this or accepts strings itself.
   */
  coerceTypes?: boolean;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; diagnostics: Diagnostic[] };

type Schema = Record<string, unknown>;
type Segment = string | number;

/**
 * Compiles `schema` once and returns a function that validates a loaded document.
 * On success `value` is a copy of `doc.data` with the schema's defaults applied (`doc.data`
 * itself is never modified). On failure, diagnostics are deduplicated and sorted by position.
 */
export function createValidator<T>(
  schema: object,
  opts: ValidatorOptions = {},
): (doc: SourceDocument) => ValidationResult<T> {
  const formats = opts.formats !== false;
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    useDefaults: true,
    // verbose puts the failing schema, its parent and the data on each error: the raw
    // material for the messages below.
    verbose: true,
    allowUnionTypes: true,
    validateFormats: formats,
    coerceTypes: opts.coerceTypes === true,
    // ajv's optimizer passes over the generated code took about half of compiling the config schema,
    // i.e. a large part of `serve`'s start-up (issue 10); they only tidy the code (unused variables,
    // constant conditions), the checks are the same. A config is validated once per load.
    code: { optimize: false },
  });
  if (formats) addFormats(ajv);
  const check = ajv.compile(schema);
  const resolveRef = (ref: string): Schema | undefined => {
    if (ref.startsWith('#/')) return pointer(schema, ref.slice(1));
    const found = ajv.getSchema(ref)?.schema;
    return isObject(found) ? found : undefined;
  };

  return (doc) => {
    // ajv applies defaults in place; validate a copy so doc.data stays what the user wrote.
    const data = structuredClone(doc.data);
    if (check(data)) return { ok: true, value: data as T };
    const explainer = new Explainer(doc, data, resolveRef);
    return { ok: false, diagnostics: explainer.explain(check.errors ?? []) };
  };
}

// ---------------------------------------------------------------------------------------------
// Grouping ajv's flat error list into a tree: each anyOf/oneOf error gets the errors of its
// branches as children.

interface ErrorNode {
  err: ErrorObject;
  /** For anyOf/oneOf: errors of the failed branches, by branch index. */
  branches?: Map<number, ErrorNode[]>;
}

const COMBINATORS = new Set(['anyOf', 'oneOf']);

function buildTree(errors: readonly ErrorObject[], resolveRefName: (branch: unknown) => string | undefined): ErrorNode[] {
  const out: ErrorNode[] = [];
  for (const err of errors) {
    if (!COMBINATORS.has(err.keyword)) {
      out.push({ err });
      continue;
    }
    // ajv pushes a combinator's branch errors right before the combinator's own error, so
    // they are a run at the end of `out`. Collect that run backwards.
    const run: ErrorNode[] = [];
    while (out.length > 0 && belongsTo(err, (out[out.length - 1] as ErrorNode).err)) run.unshift(out.pop() as ErrorNode);
    out.push({ err, branches: assignBranches(err, run, resolveRefName) });
  }
  return out;
}

function isUnder(instancePath: string, parent: string): boolean {
  return instancePath === parent || instancePath.startsWith(`${parent}/`);
}

/** Is `e` an error raised while evaluating the branches of combinator error `comb`? */
function belongsTo(comb: ErrorObject, e: ErrorObject): boolean {
  if (!isUnder(e.instancePath, comb.instancePath)) return false;
  const s = comb.schemaPath;
  if (e.schemaPath.startsWith(`${s}/`)) return true;
  // A sibling keyword of the same schema (e.g. `required` next to `anyOf`) ran before it.
  const parent = s.slice(0, s.lastIndexOf('/'));
  if (e.schemaPath.startsWith(`${parent}/`)) {
    const next = e.schemaPath.slice(parent.length + 1).split('/')[0];
    if (next !== '$defs' && next !== 'definitions') return false;
  }
  // A branch that is a $ref reports paths in the referenced schema's frame ("Http/required",
  // "#/$defs/Http/required"); those still belong to this combinator.
  return !e.schemaPath.startsWith('#/') || /^#\/(\$defs|definitions)\//.test(e.schemaPath);
}

function assignBranches(
  comb: ErrorObject,
  run: ErrorNode[],
  resolveRefName: (branch: unknown) => string | undefined,
): Map<number, ErrorNode[]> {
  const branches = Array.isArray(comb.schema) ? (comb.schema as unknown[]) : [];
  const refs = branches.map((b) => resolveRefName(b));
  const map = new Map<number, ErrorNode[]>();
  const prefix = `${comb.schemaPath}/`;
  let current = -1;
  const indices = run.map((node) => {
    const p = node.err.schemaPath;
    if (p.startsWith(prefix)) return Number(p.slice(prefix.length).split('/')[0]);
    const byRef = refs.findIndex((r) => r !== undefined && (p === r || p.startsWith(`${r}/`)));
    return byRef;
  });
  // Errors whose branch cannot be told from the path (nested refs) belong to the branch of
  // the error before them: ajv evaluates branches in order.
  const firstKnown = indices.find((i) => i >= 0) ?? 0;
  indices.forEach((i, k) => {
    current = i >= 0 ? i : current >= 0 ? current : firstKnown;
    const list = map.get(current) ?? [];
    list.push(run[k] as ErrorNode);
    map.set(current, list);
  });
  return map;
}

// ---------------------------------------------------------------------------------------------
// Explaining: error tree -> diagnostics.

interface Finding {
  path: Segment[];
  /** Point at the key rather than the value (unknown keys). */
  atKey?: boolean;
  message: string;
  /** For unknown keys: the key we suggested, so a "missing required key" for it is not repeated. */
  suggested?: string;
}

class Explainer {
  constructor(
    private readonly doc: SourceDocument,
    private readonly data: unknown,
    private readonly resolveRef: (ref: string) => Schema | undefined,
  ) {}

  explain(errors: readonly ErrorObject[]): Diagnostic[] {
    const tree = buildTree(errors, (b) => (isObject(b) && typeof b.$ref === 'string' ? refFrame(b.$ref) : undefined));
    const findings = this.findingsFor(tree);

    // "unknown key upstrem; did you mean upstream" already says upstream is missing.
    const suggested = new Set(
      findings.filter((f) => f.suggested !== undefined).map((f) => `${formatPath(f.path.slice(0, -1))}\0${f.suggested}`),
    );
    const kept = findings.filter((f) => {
      const m = /^missing required key "(.*)"/.exec(f.message);
      return !(m && suggested.has(`${formatPath(f.path.slice(0, -1))}\0${m[1]}`));
    });

    return sortDiagnostics(
      kept.map((f) => {
        const { line, column } = f.atKey ? this.doc.locateKey(f.path) : this.doc.locate(f.path);
        return { file: this.doc.file, line, column, path: formatPath(f.path), message: f.message, severity: 'error' as const };
      }),
    );
  }

  private findingsFor(nodes: readonly ErrorNode[]): Finding[] {
    const out: Finding[] = [];
    for (const node of nodes) {
      if (node.branches) out.push(...this.combinator(node));
      else {
        const f = this.single(node.err);
        if (f) out.push(f);
      }
    }
    return out;
  }

  private pathOf(instancePath: string): Segment[] {
    const segments: Segment[] = [];
    let cur: unknown = this.data;
    if (instancePath === '') return segments;
    for (const raw of instancePath.slice(1).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (Array.isArray(cur) && /^\d+$/.test(key)) {
        segments.push(Number(key));
        cur = cur[Number(key)];
      } else {
        segments.push(key);
        cur = isObject(cur) ? cur[key] : undefined;
      }
    }
    return segments;
  }

  private deref(s: unknown): Schema | undefined {
    let cur = s;
    for (let hops = 0; isObject(cur) && typeof cur.$ref === 'string' && hops < 20; hops++) {
      cur = this.resolveRef(cur.$ref) ?? cur;
      if (isObject(cur) && typeof cur.$ref === 'string' && this.resolveRef(cur.$ref) === cur) break;
    }
    return isObject(cur) ? cur : undefined;
  }

  /** One non-combinator ajv error -> one finding (or none for redundant wrapper errors). */
  private single(e: ErrorObject): Finding | undefined {
    const path = this.pathOf(e.instancePath);
    const p = e.params as Record<string, unknown>;
    const parent = isObject(e.parentSchema) ? e.parentSchema : {};
    const value = e.data;

    // Errors raised under `propertyNames` are about a key, not a value.
    if (e.propertyName !== undefined) {
      return {
        path: [...path, e.propertyName],
        atKey: true,
        message: `invalid key "${e.propertyName}": ${this.valueMessage(e, parent, e.propertyName) ?? e.message ?? 'is not allowed'}`,
      };
    }

    switch (e.keyword) {
      case 'additionalProperties':
      case 'unevaluatedProperties': {
        const key = String(p.additionalProperty ?? p.unevaluatedProperty ?? '');
        const allowed = this.allowedKeys(parent);
        const guess = didYouMean(key, allowed);
        // Records with a key pattern (TypeBox Record(String({pattern}), X)) reject other keys this way.
        const patterns = isObject(parent.patternProperties) ? Object.keys(parent.patternProperties) : [];
        let message = `unknown key "${key}"`;
        if (guess !== undefined) message += `; did you mean "${guess}"?`;
        else if (patterns.length > 0) message = `invalid key "${key}": keys here must match ${orList(patterns)}`;
        else if (allowed.length === 0) message += '; this map takes no keys';
        else message += `; allowed keys: ${listOf(allowed)}`;
        return { path: [...path, key], atKey: true, message, ...(guess !== undefined ? { suggested: guess } : {}) };
      }
      case 'required':
        return { path: [...path, String(p.missingProperty)], message: `missing required key "${String(p.missingProperty)}"` };
      case 'dependentRequired':
      case 'dependencies':
        return {
          path: [...path, String(p.missingProperty)],
          message: `missing required key "${String(p.missingProperty)}" (required when "${String(p.property)}" is set)`,
        };
      case 'propertyNames':
      case 'if':
        // Wrappers: the errors that explain them are reported on their own.
        return undefined;
      default:
        return { path, message: this.valueMessage(e, parent, value) ?? e.message ?? 'is invalid' };
    }
  }

  /** Message for a constraint on a value. */
  private valueMessage(e: ErrorObject, parent: Schema, value: unknown): string | undefined {
    const p = e.params as Record<string, unknown>;
    const got = `(got ${describeValue(value)})`;
    switch (e.keyword) {
      case 'type':
        if (e.instancePath === '' && value == null) return `must be ${expected(parent)} (the document is empty)`;
        return `must be ${expected(parent)} ${got}`;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'multipleOf':
        return `must be ${expected(parent)} ${got}`;
      case 'enum':
        return `must be one of: ${listOf((p.allowedValues as unknown[]).map(showLiteral))} ${got}`;
      case 'const':
        return `must be ${JSON.stringify(p.allowedValue)} ${got}`;
      case 'minLength': {
        const n = Number(p.limit);
        if (n === 1) return `must not be empty ${got}`;
        return `must be at least ${n} characters long ${got}`;
      }
      case 'maxLength':
        return `must be at most ${Number(p.limit)} characters long (got ${String(value).length})`;
      case 'pattern':
        return `must match the pattern ${String(p.pattern)} ${got}`;
      case 'format':
        return `must be a valid ${String(p.format)} ${got}`;
      case 'minItems':
        return `must have at least ${plural(Number(p.limit), 'item')} (got ${Array.isArray(value) ? value.length : 0})`;
      case 'maxItems':
        return `must have at most ${plural(Number(p.limit), 'item')} (got ${Array.isArray(value) ? value.length : 0})`;
      case 'minProperties':
        return `must have at least ${plural(Number(p.limit), 'key')} (got ${isObject(value) ? Object.keys(value).length : 0})`;
      case 'maxProperties':
        return `must have at most ${plural(Number(p.limit), 'key')} (got ${isObject(value) ? Object.keys(value).length : 0})`;
      case 'uniqueItems': {
        const [a, b] = [Number(p.j), Number(p.i)].sort((x, y) => x - y);
        return `must not contain duplicates (items [${a}] and [${b}] are equal)`;
      }
      case 'contains':
        return `must contain at least ${plural(Number(p.minContains ?? 1), 'matching item')}`;
      case 'not':
      case 'false schema':
        return 'is not allowed here';
      default:
        return undefined;
    }
  }

  private allowedKeys(parent: Schema): string[] {
    const keys = new Set<string>();
    const collect = (s: unknown, depth: number): void => {
      const schema = this.deref(s);
      if (!schema || depth > 10) return;
      if (isObject(schema.properties)) for (const k of Object.keys(schema.properties)) keys.add(k);
      // TypeBox Intersect = allOf + unevaluatedProperties: the allowed keys are spread over members.
      for (const kw of ['allOf', 'anyOf', 'oneOf'] as const) {
        const list = schema[kw];
        if (Array.isArray(list)) for (const member of list) collect(member, depth + 1);
      }
    };
    collect(parent, 0);
    return [...keys];
  }

  /** anyOf / oneOf: report the errors of the branch the value most plausibly meant. */
  private combinator(node: ErrorNode): Finding[] {
    const e = node.err;
    const path = this.pathOf(e.instancePath);
    const value = e.data;
    const branchSchemas = (Array.isArray(e.schema) ? (e.schema as unknown[]) : []).map((b) => this.deref(b) ?? {});
    const branches = node.branches ?? new Map<number, ErrorNode[]>();
    const got = `(got ${describeValue(value)})`;

    const passing = (e.params as { passingSchemas?: unknown }).passingSchemas;
    if (e.keyword === 'oneOf' && Array.isArray(passing)) {
      return [{ path, message: `is ambiguous: it matches alternatives ${passing.join(' and ')} of the schema; make it match exactly one` }];
    }

    // A union of literals (TypeBox Union([Literal('a'), Literal('b')])) is an enum.
    const literals = branchSchemas.map(literalsOf);
    if (literals.length > 0 && literals.every((l) => l !== undefined)) {
      return [{ path, message: `must be one of: ${listOf(literals.flat().map(showLiteral))} ${got}` }];
    }

    // A discriminated union of objects: the discriminator says which branch was meant.
    if (isObject(value)) {
      const disc = discriminator(branchSchemas);
      if (disc) {
        const tag = value[disc.key];
        if (tag === undefined) {
          return [{ path: [...path, disc.key], message: `missing required key "${disc.key}" (one of: ${listOf(disc.values.map((v) => showLiteral(v[0])))})` }];
        }
        const index = disc.values.findIndex((vals) => vals.some((v) => v === tag));
        if (index === -1) {
          const all = disc.values.flat();
          return [{ path: [...path, disc.key], message: `must be one of: ${listOf(all.map(showLiteral))} (got ${describeValue(tag)})` }];
        }
        const chosen = this.findingsFor(branches.get(index) ?? []);
        if (chosen.length > 0) return chosen;
      }
    }

    // Keep only branches whose JSON type fits the value; if none does, say which types would.
    const explained = [...branches.entries()].map(([index, errs]) => ({
      index,
      typeMismatch: errs.some((n) => n.err.instancePath === e.instancePath && (n.err.keyword === 'type' || n.err.keyword === 'const' || n.err.keyword === 'enum') && !n.branches),
      findings: this.findingsFor(errs),
    }));
    const fitting = explained.filter((b) => !b.typeMismatch && b.findings.length > 0);
    if (fitting.length === 0) {
      const alternatives = [...new Set(branchSchemas.map(expectedShort).filter((s) => s !== ''))];
      if (alternatives.length > 0) return [{ path, message: `must be ${orList(alternatives)} ${got}` }];
      // Nothing better to say: fall back to the first branch's own errors.
      return explained[0]?.findings ?? [{ path, message: `does not match any allowed form ${got}` }];
    }
    let best = fitting[0] as (typeof fitting)[number];
    for (const b of fitting) if (b.findings.length < best.findings.length) best = b;
    return best.findings;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function pointer(root: object, ptr: string): Schema | undefined {
  let cur: unknown = root;
  for (const raw of ptr.split('/').slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    cur = isObject(cur) ? cur[key] : undefined;
  }
  return isObject(cur) ? cur : undefined;
}

/** The schemaPath prefix under which ajv reports errors of a $ref'd schema. */
function refFrame(ref: string): string {
  return ref.startsWith('#') ? ref : ref.replace(/#$/, '');
}

/** Literal values a branch accepts if it is a const/enum-only schema, else undefined. */
function literalsOf(s: Schema): unknown[] | undefined {
  if ('const' in s) return [s.const];
  if (Array.isArray(s.enum)) return s.enum as unknown[];
  return undefined;
}

/** A property that every object branch pins to literal values (e.g. `type: 'http'`). */
function discriminator(branches: Schema[]): { key: string; values: unknown[][] } | undefined {
  if (branches.length < 2 || !branches.every((b) => isObject(b.properties))) return undefined;
  const first = branches[0]?.properties as Record<string, unknown>;
  const candidates = Object.keys(first).filter((k) =>
    branches.every((b) => {
      const prop = (b.properties as Record<string, unknown>)[k];
      return isObject(prop) && literalsOf(prop) !== undefined;
    }),
  );
  if (candidates.length === 0) return undefined;
  const key = candidates.find((k) => k === 'type' || k === 'kind') ?? (candidates[0] as string);
  return { key, values: branches.map((b) => literalsOf((b.properties as Record<string, Schema>)[key] as Schema) as unknown[]) };
}

const ARTICLE: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
  null: 'null',
};

function typesOf(s: Schema): string[] {
  if (typeof s.type === 'string') return [s.type];
  if (Array.isArray(s.type)) return s.type.map(String);
  return [];
}

/** "an integer >= 1 and <= 65535", "a non-empty string", "a string or null". */
function expected(s: Schema): string {
  const types = typesOf(s);
  const parts = types.map((t) => {
    if (t === 'string' && typeof s.minLength === 'number' && s.minLength === 1) return 'a non-empty string';
    if (t !== 'integer' && t !== 'number') return ARTICLE[t] ?? t;
    const bounds: string[] = [];
    if (typeof s.minimum === 'number') bounds.push(`>= ${s.minimum}`);
    if (typeof s.exclusiveMinimum === 'number') bounds.push(`> ${s.exclusiveMinimum}`);
    if (typeof s.maximum === 'number') bounds.push(`<= ${s.maximum}`);
    if (typeof s.exclusiveMaximum === 'number') bounds.push(`< ${s.exclusiveMaximum}`);
    if (typeof s.multipleOf === 'number') bounds.push(`a multiple of ${s.multipleOf}`);
    return bounds.length > 0 ? `${ARTICLE[t]} ${bounds.join(' and ')}` : (ARTICLE[t] as string);
  });
  if (parts.length > 0) return orList(parts);
  const lits = literalsOf(s);
  if (lits) return `one of: ${listOf(lits.map(showLiteral))}`;
  if (typeof s.minimum === 'number') return `>= ${s.minimum}`;
  return 'valid';
}

/** Short description of a union branch for "must be a string or an object". */
function expectedShort(s: Schema): string {
  const lits = literalsOf(s);
  if (lits) return lits.map((v) => JSON.stringify(v)).join(' or ');
  return orList(typesOf(s).map((t) => ARTICLE[t] ?? t));
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'an array';
  if (isObject(v)) return 'an object';
  return String(v);
}

function showLiteral(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function listOf(items: readonly string[], max = 12): string {
  return items.length > max ? `${items.slice(0, max).join(', ')}, ...` : items.join(', ');
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
