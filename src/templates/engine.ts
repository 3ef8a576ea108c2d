/**
 * API Gateway mapping templates (VTL) on velocityjs.
 *
 * A template is parsed once by compileTemplate(); render() walks the parsed
 * tree with a fresh interpreter per call (velocityjs keeps per-render state on
 * the instance) and never parses again: the double-quoted strings velocityjs
 * would re-parse on every render ("$.a", "${x}-y") are parsed at compile time.
 *
 * velocityjs is JavaScript-flavoured; AWS runs Java Velocity. The subclass
 * below changes what differs (see docs/mapping-templates.md):
 * - every null or undefined reference renders as empty (AWS observed), and
 *   values print as Java's toString() (values.ts);
 * - method calls never reach JavaScript methods: they go to the $input/$util
 *   implementations or to the Java String/List/Map methods in java-methods.ts;
 * - #if, &&, ||, ! use Velocity 1.7 truthiness (only null and false are false);
 *   == compares like Velocity (numbers by value, otherwise by toString());
 *   integer division truncates;
 * - #break stops the rest of the loop body at once; #foreach stops after
 *   1,000 iterations (AWS quota) and a render fails past 10,000 iterations in all;
 * - output, strings built by #set and ranges are size-capped; macro recursion is capped.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import velocity from 'velocityjs';
import { TemplateError } from './errors.js';
import { callJavaMethod, NO_METHOD } from './java-methods.js';
import { evaluatePath } from './jsonpath.js';
import { base64Decode, base64Encode, escapeJavaScript, urlDecode, urlEncode } from './util.js';
import { isMap, isNumber, JsonNumber, javaEquals, javaList, javaString, MapEntry, num, parseJson, setOwn, toJson, truthy } from './values.js';

export interface TemplateRequest {
  /** Raw body text ('' when none). */
  body: string;
  /** Path parameters (decoded). */
  path: Record<string, string>;
  /** First value per query-string name. */
  querystring: Record<string, string>;
  /** Headers as received (names in the case the client sent). */
  header: Record<string, string>;
  multiValueQuerystring?: Record<string, string[]>;
  multiValueHeader?: Record<string, string[]>;
}

export interface TemplateVariables {
  /** The $context tree (requestId, stage, httpMethod, resourcePath, identity, authorizer, ...).
   *  A `requestOverride` / `responseOverride` already present (set by the request
   *  template) is visible to the template and seeds the returned overrides. */
  context: Record<string, unknown>;
  stageVariables: Record<string, string>;
}

export interface RenderOverrides {
  header: Record<string, string>;
  querystring: Record<string, string>;
  path: Record<string, string>;
  status?: number;
}

export interface RenderResult {
  output: string;
  /** $context.requestOverride (header, querystring, path) and
   *  $context.responseOverride (header, status) as left by the template.
   *  `header` merges requestOverride.header and responseOverride.header; use
   *  `request` / `response` for the two apart. */
  overrides: RenderOverrides & {
    request: { header: Record<string, string>; querystring: Record<string, string>; path: Record<string, string> };
    response: { header: Record<string, string>; status?: number };
  };
}

/**
 * A render on the event loop gives up (TemplateError TEMPLATE_INLINE_BUDGET) past `deadline`
 * (performance.now() time) or before touching a string longer than `maxChars` (one $input.json of a
 * large body, one escapeJavaScript of it, can alone take most of a second). Renders are pure, so the
 * caller can run the same render again off the main thread (offthread.ts, renderWithBudget).
 */
export interface InlineBudget {
  deadline: number;
  maxChars: number;
}

export interface CompiledTemplate {
  readonly name: string | undefined;
  readonly source: string;
  render(req: TemplateRequest, vars: TemplateVariables, budget?: InlineBudget): RenderResult;
}

/** Guards against runaway templates. */
export const TEMPLATE_LIMITS = Object.freeze({
  /** AWS quota: "Number of iterations in a #foreach ... #end loop in mapping templates: 1,000". */
  iterationsPerLoop: 1_000,
  /** Iterations of all loops in one render (nested loops multiply). */
  iterationsPerRender: 10_000,
  /** Largest output, and largest string a template may build (AWS payloads stop at 10 MB). */
  maxOutputChars: 10 * 1024 * 1024,
  /** Largest [a..b] range. */
  maxRange: 100_000,
  /** Velocimacro nesting (Java Velocity's velocimacro.max.depth default is 20). */
  maxMacroDepth: 20,
});

// ---------------------------------------------------------------------------
// velocityjs plumbing

interface Pos {
  first_line: number;
  first_column: number;
}
interface Ast {
  type?: string;
  id?: unknown;
  pos?: Pos;
  value?: unknown;
  isEval?: boolean;
  isRange?: boolean;
  args?: Ast[];
  path?: Ast[];
  condition?: Ast;
  from?: Ast;
  to?: string;
  operator?: string;
  expression?: Ast[];
  equal?: [Ast, Ast];
  leader?: string;
}
type Node = string | Ast | Node[];

/** The parts of velocityjs's Compile this module overrides or calls (not all are in its .d.ts). */
interface VelocityInternals {
  context: Record<string, unknown>;
  defines: Record<string, Node[]>;
  getLocal(ast: Ast): { value: unknown; isLocal: boolean };
  local: Record<string, Record<string, unknown>>;
  conditions: string[];
  contextId: string;
  runState: { stop: boolean; break: boolean };
  asts: Node[];
  config: { valueMapper?: (v: unknown) => unknown };
  render(context?: object, macros?: object, silence?: boolean): string;
  renderAstList(asts?: Node[], contextId?: string): string;
  getReferences(ast: Ast, isVal?: boolean): unknown;
  getAttributes(property: Ast, baseRef: unknown, ast: Ast): unknown;
  getPropMethod(property: Ast, baseRef: unknown, ast: Ast): unknown;
  getLiteral(ast: Ast): unknown;
  getExpression(ast: Ast): unknown;
  getArray(ast: Ast): unknown[];
  getBlock(block: Node[]): string;
  getBlockEach(block: Node[]): string;
  getBlockIf(block: Node[]): string;
  getMacro(ast: Ast, bodyContent?: string): unknown;
  setValue(ast: Ast): void;
  evalStr(str: string): string;
}
type VelocityCtor = new (asts: Node[], config?: object) => VelocityInternals;

const Base = velocity.Compile as unknown as VelocityCtor;
const vParse = velocity.parse as unknown as (s: string) => Node[];

// velocityjs's public parse() quietly repairs unbalanced blocks (a missing
// #end duplicates text, a stray #end drops the rest), so the flat token list
// of its jison parser is checked first. Loaded by path: it is not exported.
const requireCjs = createRequire(import.meta.url);
let flatParse: ((s: string) => Node[]) | undefined;
try {
  const main = requireCjs.resolve('velocityjs');
  flatParse = (requireCjs(join(dirname(main), 'parse', 'index.cjs')) as { parse_1: (s: string) => Node[] }).parse_1;
} catch {
  flatParse = undefined;
}

const BLOCK_TYPES = new Set(['if', 'foreach', 'macro', 'noescape', 'define', 'macro_body']);

function posOf(p: Pos | undefined): { line?: number; column?: number } {
  if (!p || typeof p.first_line !== 'number') return {};
  return { line: p.first_line, column: (p.first_column ?? 0) + 1 };
}

function syntaxError(e: unknown, name: string | undefined): TemplateError {
  const hash = (e as { hash?: { loc?: { first_line?: number; first_column?: number }; line?: number } }).hash;
  const msg = e instanceof Error ? e.message : String(e);
  let line: number | undefined;
  let column: number | undefined;
  if (hash?.loc && typeof hash.loc.first_line === 'number') {
    line = hash.loc.first_line;
    column = (hash.loc.first_column ?? 0) + 1;
  } else if (typeof hash?.line === 'number') {
    line = hash.line + 1;
  }
  const err = new TemplateError(
    `${name ? `${name}: ` : ''}${msg.split('\n')[0]}${msg.includes('Expecting') ? `: ${msg.split('\n').pop()}` : ''}`,
    'TEMPLATE_SYNTAX',
    { line, column },
    { cause: e },
  );
  if (name !== undefined) err.templateName = name;
  return err;
}

function checkBlocks(source: string, name: string | undefined): void {
  if (!flatParse) return;
  const flat = flatParse(source);
  const stack: Ast[] = [];
  let lastPos: Pos | undefined;
  for (const t of flat) {
    if (typeof t === 'string' || Array.isArray(t)) continue;
    if (t.pos) lastPos = t.pos;
    const type = t.type ?? '';
    if (BLOCK_TYPES.has(type)) stack.push(t);
    else if (type === 'end') {
      if (!stack.pop())
        throw new TemplateError(`${name ? `${name}: ` : ''}#end without a matching #if/#foreach/#macro`, 'TEMPLATE_SYNTAX', posOf(t.pos ?? lastPos));
    } else if (type === 'else' || type === 'elseif') {
      const top = stack[stack.length - 1];
      if (top?.type !== 'if')
        throw new TemplateError(`${name ? `${name}: ` : ''}#${type} without a matching #if`, 'TEMPLATE_SYNTAX', posOf(t.pos ?? lastPos));
    }
  }
  const open = stack.pop();
  if (open) throw new TemplateError(`${name ? `${name}: ` : ''}#${open.type} has no matching #end`, 'TEMPLATE_SYNTAX', posOf(open.pos));
}

/** Parses every double-quoted string velocityjs would otherwise re-parse per render. */
function collectEvalStrings(node: unknown, cache: Map<string, Node[]>, name: string | undefined): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) collectEvalStrings(n, cache, name);
    return;
  }
  const a = node as Ast;
  if (a.type === 'string' && a.isEval && typeof a.value === 'string' && /[$#]/.test(a.value) && !cache.has(a.value)) {
    let parsed: Node[];
    try {
      parsed = vParse(a.value);
    } catch (e) {
      throw syntaxError(e, name);
    }
    cache.set(a.value, parsed);
    collectEvalStrings(parsed, cache, name);
  }
  for (const key of Object.keys(a)) {
    if (key === 'pos') continue;
    collectEvalStrings((a as Record<string, unknown>)[key], cache, name);
  }
}

// ---------------------------------------------------------------------------
// $input and $util

const HAS = Object.prototype.hasOwnProperty;

class InputVar {
  /** `$input.body`: the raw body; AWS renders an empty body as `{}` (observed: test_input_body_formatting). */
  readonly body: string;
  readonly #req: TemplateRequest;
  #parsed: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
  #params: Record<string, Record<string, string>> | undefined;

  constructor(req: TemplateRequest) {
    this.#req = req;
    this.body = req.body === '' ? '{}' : req.body;
  }

  #json(): unknown {
    if (!this.#parsed) {
      try {
        this.#parsed = { ok: true, value: parseJson(this.#req.body) };
      } catch (error) {
        this.#parsed = { ok: false, error };
      }
    }
    if (!this.#parsed.ok) {
      const cause = this.#parsed.error;
      throw new TemplateError(
        `Could not parse request body into json: ${cause instanceof Error ? cause.message : String(cause)}`,
        'INVALID_JSON_BODY',
        undefined,
        { cause },
      );
    }
    return this.#parsed.value;
  }

  /** `$input.path(x)`: the value at a JSONPath; nothing when the body is empty or the path matches nothing. */
  path(p: unknown): unknown {
    if (this.#req.body.trim() === '') return undefined;
    const r = evaluatePath(this.#json(), p === undefined || p === null ? '$' : javaString(p));
    return r.found ? r.value : undefined;
  }

  /** `$input.json(x)`: the JSON text at a JSONPath; `{}` for an empty body. */
  json(p: unknown): unknown {
    const path = p === undefined || p === null ? '$' : javaString(p).trim();
    if (this.#req.body.trim() === '') return path === '$' || path === '' ? '{}' : undefined;
    const r = evaluatePath(this.#json(), path);
    return r.found ? toJson(r.value) : undefined;
  }

  params(name?: unknown): unknown {
    if (name === undefined) {
      this.#params ??= { path: { ...this.#req.path }, querystring: { ...this.#req.querystring }, header: { ...this.#req.header } };
      return this.#params;
    }
    if (name === null) return '';
    const key = javaString(name);
    const req = this.#req;
    if (HAS.call(req.path, key)) return req.path[key];
    if (HAS.call(req.querystring, key)) return req.querystring[key];
    if (HAS.call(req.header, key)) return req.header[key];
    // Header names are case-insensitive on the wire; fall back to a case-insensitive match.
    const lower = key.toLowerCase();
    for (const h of Object.keys(req.header)) if (h.toLowerCase() === lower) return req.header[h];
    return '';
  }

  call(name: string, args: unknown[]): unknown {
    switch (name) {
      case 'path':
        return this.path(args[0]);
      case 'json':
        return this.json(args[0]);
      case 'params':
        return args.length === 0 ? this.params() : this.params(args[0]);
      case 'getBody':
        return this.body;
      default:
        return undefined;
    }
  }
}

class UtilVar {
  call(name: string, args: unknown[]): unknown {
    const a = args[0];
    // AWS renders a null argument as empty rather than failing
    // (observed: `$util.urlEncode($input.body.some)` -> "" in test_input_body_formatting).
    if (a === undefined || a === null) return undefined;
    switch (name) {
      case 'escapeJavaScript':
        return escapeJavaScript(javaString(a));
      case 'urlEncode':
        return urlEncode(javaString(a));
      case 'urlDecode':
        return urlDecode(javaString(a));
      case 'base64Encode':
        return base64Encode(javaString(a));
      case 'base64Decode':
        return base64Decode(javaString(a));
      case 'parseJson':
        try {
          return parseJson(javaString(a));
        } catch (e) {
          throw new TemplateError(`$util.parseJson: ${e instanceof Error ? e.message : String(e)}`, 'INVALID_JSON', undefined, { cause: e });
        }
      default:
        return undefined;
    }
  }
}

const UTIL = new UtilVar();

// ---------------------------------------------------------------------------
// The interpreter

function limitError(message: string): TemplateError {
  return new TemplateError(message, 'TEMPLATE_LIMIT');
}

const loopBodies = new WeakMap<Node[], Node[]>();
const EMPTY_LOCAL: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

function inlineBudgetError(why: string): TemplateError {
  return new TemplateError(`the render passed its inline budget: ${why}`, 'TEMPLATE_INLINE_BUDGET');
}

class Renderer extends Base {
  #strings: Map<string, Node[]>;
  #iterations = 0;
  #seq = 0;
  #macroDepth = 0;
  readonly #budget: InlineBudget | undefined;
  pos: Pos | undefined;

  constructor(asts: Node[], strings: Map<string, Node[]>, budget?: InlineBudget) {
    super(asts, {
      valueMapper: (v: unknown) => {
        if (typeof v === 'string' && v.length > TEMPLATE_LIMITS.maxOutputChars) throw limitError('a #set value exceeds the output size limit');
        return v;
      },
    });
    this.#strings = strings;
    this.#budget = budget;
  }

  /** The event-loop budget: time, and the size of what one method call may touch. */
  #checkBudget(base?: unknown, args?: readonly unknown[], name?: string): void {
    const b = this.#budget;
    if (b === undefined) return;
    if (performance.now() > b.deadline) throw inlineBudgetError('time');
    if (base === undefined) return;
    if (base instanceof InputVar && (name === 'json' || name === 'path' || name === 'params') && base.body.length > b.maxChars) throw inlineBudgetError('body size');
    if (typeof base === 'string' && base.length > b.maxChars) throw inlineBudgetError('string size');
    if (args) for (const a of args) if (typeof a === 'string' && a.length > b.maxChars) throw inlineBudgetError('argument size');
  }

  override renderAstList(asts?: Node[], contextId?: string): string {
    let str = '';
    const list = asts ?? this.asts;
    if (contextId) {
      if (contextId !== this.contextId && !this.conditions.includes(contextId)) this.conditions.unshift(contextId);
      this.contextId = contextId;
    } else this.contextId = '';
    const state = this.runState;
    for (const ast of list) {
      if (state.stop || state.break) break;
      if (this.#budget !== undefined) this.#checkBudget();
      if (typeof ast === 'string') {
        str += ast;
        continue;
      }
      if (Array.isArray(ast)) {
        str += this.getBlock(ast);
      } else {
        if (ast.pos) this.pos = ast.pos;
        switch (ast.type) {
          case 'references': {
            const v = this.getReferences(ast, false);
            if (v !== undefined && v !== null) str += typeof v === 'string' ? v : javaString(v);
            break;
          }
          case 'set':
            this.setValue(ast);
            break;
          case 'break':
            state.break = true;
            break;
          case 'macro_call': {
            const v = this.getMacro(ast);
            if (v !== undefined && v !== null) str += javaString(v);
            break;
          }
          case 'comment':
            break;
          case 'raw':
            str += String(ast.value);
            break;
          default:
            str += this.getBlock(ast as unknown as Node[]);
        }
      }
      if (str.length > TEMPLATE_LIMITS.maxOutputChars) throw limitError('template output exceeds the size limit');
    }
    return str;
  }

  /** velocityjs's version rebuilds the reference's source text on every lookup; this one only walks. */
  override getReferences(ast: Ast, _isVal?: boolean): unknown {
    const id = ast.id as string;
    if ((ast as { prue?: boolean }).prue) {
      const define = this.defines[id];
      if (Array.isArray(define)) return this.renderAstList(define);
    }
    let ret: unknown;
    const local = this.getLocal(ast);
    if (local.isLocal) ret = local.value;
    else if (ast.args !== undefined)
      ret = undefined; // a bare $name() call: nothing is callable at the top level
    else ret = id === '__proto__' ? undefined : this.context[id];
    const path = ast.path;
    if (path) {
      for (const p of path) {
        if (ret === undefined || ret === null) return undefined;
        ret = this.getAttributes(p, ret, ast);
      }
    }
    return ret;
  }

  override getAttributes(property: Ast, base: unknown, ast: Ast): unknown {
    if (base === undefined || base === null) return undefined;
    if (property.type === 'method') return this.getPropMethod(property, base, ast);
    if (property.type === 'property') return readProperty(base, String(property.id));
    const idx = property.id as Ast;
    const key = idx.type === 'references' ? this.getReferences(idx) : this.getLiteral(idx);
    return readIndex(base, key);
  }

  override getPropMethod(property: Ast, base: unknown, ast: Ast): unknown {
    const name = String(property.id);
    const args = Array.isArray(property.args) ? property.args.map((a) => this.getLiteral(a)) : [];
    if (this.#budget !== undefined) this.#checkBudget(base, args, name);
    try {
      if (base instanceof InputVar) return base.call(name, args);
      if (base instanceof UtilVar) return base.call(name, args);
      if (base === this.context) return undefined;
      const r = callJavaMethod(base, name, args);
      return r === NO_METHOD ? undefined : r;
    } catch (e) {
      throw withPosition(e, ast.pos ?? this.pos);
    }
  }

  override getLiteral(literal: Ast): unknown {
    switch (literal.type) {
      case 'decimal': {
        const raw = String(literal.value);
        const n = Number.parseFloat(raw);
        return String(n) === raw ? n : new JsonNumber(n, raw);
      }
      case 'array':
        return this.getArray(literal);
      case 'map': {
        const out: Record<string, unknown> = {};
        const map = (literal.value ?? {}) as Record<string, Ast>;
        for (const k of Object.keys(map)) setOwn(out, k, this.getLiteral(map[k]!));
        return out;
      }
      default:
        return super.getLiteral(literal);
    }
  }

  override getArray(literal: Ast): unknown[] {
    const items = literal.value as Array<Ast | string | number>;
    if (!literal.isRange) return javaList(items.map((e) => this.getLiteral(e as Ast)));
    const [b, e] = items.map((x) => {
      if (typeof x === 'string') return Number.parseInt(x, 10);
      if (typeof x === 'number') return x;
      const v = this.getReferences(x);
      if (isNumber(v)) return Math.trunc(num(v));
      if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) return Number(v);
      return Number.NaN;
    }) as [number, number];
    if (!Number.isFinite(b) || !Number.isFinite(e)) return javaList([]);
    if (Math.abs(e - b) + 1 > TEMPLATE_LIMITS.maxRange) throw limitError(`range [${b}..${e}] exceeds ${TEMPLATE_LIMITS.maxRange} items`);
    const out: number[] = [];
    if (b <= e) for (let i = b; i <= e; i++) out.push(i);
    else for (let i = b; i >= e; i--) out.push(i);
    return javaList(out);
  }

  override getExpression(ast: Ast): unknown {
    if (ast.type !== 'math') return this.getLiteral(ast);
    const exp = ast.expression as Ast[];
    const l = () => this.getExpression(exp[0]!);
    const r = () => this.getExpression(exp[1]!);
    switch (ast.operator) {
      case '==':
        return javaEquals(l(), r());
      case '!=':
        return !javaEquals(l(), r());
      case 'not':
        return !truthy(l());
      case '&&':
        return truthy(l()) && truthy(r());
      case '||':
        return truthy(l()) || truthy(r());
      case 'parenthesis':
        return l();
      case 'minus': {
        const v = l();
        return isNumber(v) ? -num(v) : undefined;
      }
      case '+': {
        const a = l();
        const b = r();
        if (isNumber(a) && isNumber(b)) return num(a) + num(b);
        if (typeof a === 'string' || typeof b === 'string') {
          const s = javaString(a) + javaString(b);
          if (s.length > TEMPLATE_LIMITS.maxOutputChars) throw limitError('a string exceeds the output size limit');
          return s;
        }
        return undefined;
      }
      case '-':
      case '*':
      case '/':
      case '%': {
        const a = l();
        const b = r();
        if (!isNumber(a) || !isNumber(b)) return undefined;
        const x = num(a);
        const y = num(b);
        if (ast.operator === '-') return x - y;
        if (ast.operator === '*') return x * y;
        if (y === 0) return undefined; // Velocity logs division by zero and yields null
        const integral = Number.isInteger(x) && Number.isInteger(y) && !(a instanceof JsonNumber) && !(b instanceof JsonNumber);
        if (ast.operator === '%') return x % y;
        return integral ? Math.trunc(x / y) : x / y;
      }
      case '<':
      case '>':
      case '<=':
      case '>=': {
        let a = l();
        let b = r();
        if (isNumber(a) && isNumber(b)) {
          a = num(a);
          b = num(b);
        } else if (!(typeof a === 'string' && typeof b === 'string')) return false;
        const x = a as number | string;
        const y = b as number | string;
        if (ast.operator === '<') return x < y;
        if (ast.operator === '>') return x > y;
        if (ast.operator === '<=') return x <= y;
        return x >= y;
      }
      default:
        return super.getExpression(ast);
    }
  }

  override getBlockIf(block: Node[]): string {
    let received = false;
    const asts: Node[] = [];
    for (const node of block) {
      const t = typeof node === 'object' && !Array.isArray(node) ? node.type : undefined;
      const hasCondition = t === 'if' || t === 'elseif';
      if (!(hasCondition || t === 'else')) {
        if (received) asts.push(node);
        continue;
      }
      if (received) break;
      received = hasCondition ? truthy(this.getExpression((node as Ast).condition as Ast)) : true;
    }
    return this.renderAstList(asts, this.contextId);
  }

  override getBlockEach(block: Node[]): string {
    const ast = block[0] as Ast;
    if (ast.pos) this.pos = ast.pos;
    const from = this.getLiteral(ast.from as Ast);
    let items: unknown[];
    if (Array.isArray(from)) items = from;
    else if (isMap(from))
      items = Object.values(from); // Java iterates a Map's values
    else return '';
    let body = loopBodies.get(block);
    if (!body) {
      body = block.slice(1);
      loopBodies.set(block, body);
    }
    const to = ast.to as string;
    const contextId = `foreach:${++this.#seq}`;
    const local: Record<string, unknown> = { velocityCount: 0 };
    this.local[contextId] = local;
    const total = items.length;
    const n = Math.min(total, TEMPLATE_LIMITS.iterationsPerLoop);
    let ret = '';
    try {
      for (let i = 0; i < n; i++) {
        if (++this.#iterations > TEMPLATE_LIMITS.iterationsPerRender) {
          throw limitError(`more than ${TEMPLATE_LIMITS.iterationsPerRender} #foreach iterations in one render`);
        }
        local[to] = items[i];
        local.foreach = { count: i + 1, index: i, hasNext: i + 1 < total, first: i === 0, last: i + 1 === total };
        local.velocityCount = i + 1;
        ret += this.renderAstList(body, contextId);
        if (ret.length > TEMPLATE_LIMITS.maxOutputChars) throw limitError('template output exceeds the size limit');
        if (this.runState.break || this.runState.stop) break;
      }
    } finally {
      this.runState.break = false;
      this.local[contextId] = EMPTY_LOCAL; // not `delete`: that turns the object into a slow dictionary
      const at = this.conditions.indexOf(contextId);
      if (at >= 0) this.conditions.splice(at, 1);
      this.contextId = this.conditions[0] ?? '';
    }
    return ret;
  }

  override getMacro(ast: Ast, bodyContent?: string): unknown {
    if (++this.#macroDepth > TEMPLATE_LIMITS.maxMacroDepth) throw limitError(`macro calls nested deeper than ${TEMPLATE_LIMITS.maxMacroDepth}`);
    try {
      return super.getMacro(ast, bodyContent);
    } finally {
      this.#macroDepth--;
    }
  }

  override evalStr(str: string): string {
    let asts = this.#strings.get(str);
    if (!asts) {
      // Not seen at compile time (cannot happen for literals); parse but do not grow the cache without bound.
      asts = vParse(str);
      if (this.#strings.size < 4096) this.#strings.set(str, asts);
    }
    return this.renderAstList(asts, this.contextId);
  }
}

function readProperty(base: unknown, key: string): unknown {
  if (base instanceof InputVar) return key === 'body' ? base.body : undefined;
  if (base instanceof UtilVar) return undefined;
  if (base instanceof MapEntry) return key === 'key' ? base.key : key === 'value' ? base.value : undefined;
  if (typeof base === 'string') return key === 'empty' ? base.length === 0 : undefined;
  if (Array.isArray(base)) return key === 'empty' ? base.length === 0 : undefined;
  if (isMap(base)) return HAS.call(base, key) ? base[key] : undefined;
  return undefined;
}

function readIndex(base: unknown, key: unknown): unknown {
  if (Array.isArray(base)) {
    const i = isNumber(key) ? num(key) : typeof key === 'string' && /^\d+$/.test(key) ? Number(key) : Number.NaN;
    return Number.isInteger(i) && i >= 0 && i < base.length ? base[i] : undefined;
  }
  if (isMap(base) && !(base instanceof InputVar) && !(base instanceof UtilVar)) {
    const k = javaString(key);
    return HAS.call(base, k) ? base[k] : undefined;
  }
  return undefined;
}

function withPosition(e: unknown, pos: Pos | undefined): TemplateError {
  if (e instanceof TemplateError) {
    if (e.line === undefined && pos) {
      const p = posOf(pos);
      if (p.line !== undefined) e.line = p.line;
      if (p.column !== undefined) e.column = p.column;
    }
    return e;
  }
  const message =
    e instanceof RangeError ? `template evaluation failed: ${e.message}` : `template evaluation failed: ${e instanceof Error ? e.message : String(e)}`;
  return new TemplateError(message, 'TEMPLATE_RENDER', posOf(pos), { cause: e });
}

// ---------------------------------------------------------------------------
// $context, overrides

function cloneTree(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object' || depth > 16) return v;
  if (Array.isArray(v)) return v.map((x) => cloneTree(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) setOwn(out, k, cloneTree((v as Record<string, unknown>)[k], depth + 1));
  return out;
}

function asMap(v: unknown): Record<string, unknown> {
  return isMap(v) ? v : {};
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isMap(v)) return out;
  for (const k of Object.keys(v)) {
    const item = v[k];
    if (item === undefined || item === null) continue;
    setOwn(out, k, javaString(item));
  }
  return out;
}

function statusOf(v: unknown): number | undefined {
  let n: number | undefined;
  if (isNumber(v)) n = num(v);
  else if (typeof v === 'string' && /^\s*\d{3}\s*$/.test(v)) n = Number(v.trim());
  return n !== undefined && Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}

function buildContext(vars: TemplateVariables): Record<string, unknown> {
  const ctx = cloneTree(vars.context ?? {}, 0) as Record<string, unknown>;
  const reqO = asMap(ctx.requestOverride);
  ctx.requestOverride = { ...reqO, header: asMap(reqO.header), querystring: asMap(reqO.querystring), path: asMap(reqO.path) };
  const resO = asMap(ctx.responseOverride);
  ctx.responseOverride = { ...resO, header: asMap(resO.header) };
  return ctx;
}

// ---------------------------------------------------------------------------
// Public API

class Template implements CompiledTemplate {
  readonly name: string | undefined;
  readonly source: string;
  readonly #asts: Node[];
  readonly #strings: Map<string, Node[]>;

  constructor(source: string, name: string | undefined, asts: Node[], strings: Map<string, Node[]>) {
    this.source = source;
    this.name = name;
    this.#asts = asts;
    this.#strings = strings;
  }

  render(req: TemplateRequest, vars: TemplateVariables, budget?: InlineBudget): RenderResult {
    const renderer = new Renderer(this.#asts, this.#strings, budget);
    let output: string;
    let ctx: Record<string, unknown>;
    try {
      ctx = buildContext(vars);
      const root: Record<string, unknown> = Object.create(null);
      root.input = new InputVar(req);
      root.util = UTIL;
      root.context = ctx;
      root.stageVariables = { ...(vars.stageVariables ?? {}) };
      // Own `eval` keeps velocityjs from installing its #eval macro (it would
      // interpret strings built from request data as templates).
      const macros = { eval: () => '', include: () => '', parse: () => '', evaluate: () => '' };
      output = renderer.render(root, macros, true);
    } catch (e) {
      const err = withPosition(e, renderer.pos);
      if (this.name !== undefined) err.templateName = this.name;
      throw err;
    }
    const reqO = asMap(ctx.requestOverride);
    const resO = asMap(ctx.responseOverride);
    const request = { header: stringMap(reqO.header), querystring: stringMap(reqO.querystring), path: stringMap(reqO.path) };
    const response: { header: Record<string, string>; status?: number } = { header: stringMap(resO.header) };
    const status = statusOf(resO.status);
    if (status !== undefined) response.status = status;
    const overrides: RenderResult['overrides'] = {
      header: { ...request.header, ...response.header },
      querystring: request.querystring,
      path: request.path,
      request,
      response,
    };
    if (status !== undefined) overrides.status = status;
    return { output, overrides };
  }
}

/** Parses a template once. Throws TemplateError (code TEMPLATE_SYNTAX, with line/column) on a syntax error. */
export function compileTemplate(source: string, name?: string): CompiledTemplate {
  if (typeof source !== 'string') throw new TemplateError('template source must be a string', 'TEMPLATE_SYNTAX');
  let asts: Node[];
  const strings = new Map<string, Node[]>();
  // Java Velocity's `#stop` takes no parentheses; velocityjs only knows `#stop()`.
  const text = source.replace(/(?<!\\)#(?:stop(?![\w(])|\{stop\})/g, '#stop()');
  try {
    checkBlocks(text, name);
    asts = vParse(text);
    collectEvalStrings(asts, strings, name);
  } catch (e) {
    const err = e instanceof TemplateError ? e : syntaxError(e, name);
    if (name !== undefined) err.templateName = name;
    throw err;
  }
  return new Template(source, name, asts, strings);
}
