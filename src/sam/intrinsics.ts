/**
 * CloudFormation intrinsic functions, resolved offline as CloudFormation resolves them at deploy time
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html).
 * Pure: the template comes in parsed (src/sam/template.ts gives the long form for YAML short tags), and
 * everything CloudFormation would look up in an account comes from the caller: resource Ref/GetAtt
 * values (`resource()`), exports (`importValues`), parameter values (`parameterOverrides`).
 *
 * Nothing unresolvable passes through: each such construct becomes a problem naming the key path and
 * the construct, and the value at that spot is undefined (so a later step never sees `{"Fn::Sub": ...}`
 * where it expects a string and says "uri must be a string").
 *
 * A template is hostile input: data nesting, condition chains, the work done and every string built
 * are bounded, and a YAML alias inside itself (cyclic data) is detected, so no template hangs the
 * resolver or overflows the stack.
 */
import { type Diagnostic, formatPath } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import { didYouMean } from '../config/suggest.js';
import { LinearRegExp, UnsupportedRegexError } from '../util/linear-regex.js';
import { completePseudo, type Pseudo } from './pseudo.js';

export type { Pseudo } from './pseudo.js';

export type KeyPath = readonly (string | number)[];

export interface ResourceRefs {
  ref: string;
  attributes: Readonly<Record<string, string>>;
}

export interface IntrinsicOptions {
  /** The whole parsed template (Parameters, Mappings, Conditions and Resources are read from it). */
  template: Record<string, unknown>;
  /** --parameter-overrides Name=Value */
  parameterOverrides?: Record<string, string>;
  /** Fn::ImportValue answers, by export name. */
  importValues?: Record<string, string>;
  pseudo?: Partial<Pseudo>;
  /** Ref / GetAtt values of a logical id, including SAM-generated ones; undefined when not known locally. */
  resource: (logicalId: string) => ResourceRefs | undefined;
}

export interface IntrinsicProblem {
  path: KeyPath;
  message: string;
  severity: 'error' | 'warning';
}

export interface Resolver {
  /**
   * The value with every intrinsic at or below it resolved; `path` is where `value` sits in the
   * template. AWS::NoValue removes the key or array item (at the top: undefined). An unresolvable
   * construct is a problem, and undefined at that spot.
   */
  resolve(value: unknown, path: KeyPath): unknown;
  /** A named condition's value (evaluated once; a cycle or a bad condition is a problem and false). */
  condition(name: string): boolean;
  /** Resolved parameter values (Default < override); list types as arrays. */
  readonly parameters: Readonly<Record<string, string | string[]>>;
  readonly problems: IntrinsicProblem[];
}

/** Deepest data nesting resolved (CloudFormation's own limits keep real templates far below). */
const MAX_DEPTH = 200;
/** Nodes visited per resolver: a YAML alias repeated inside aliases multiplies the work. */
const MAX_NODES = 1_000_000;
/** Characters built per resolver, and per string (a template itself is at most 1 MB on AWS). */
const MAX_CHARS = 32 * 1024 * 1024;
const MAX_STRING = 1024 * 1024;

/**
 * A key path while resolving: a link to its parent, so visiting a node costs one small object rather
 * than a copy of the whole path (a wide template visits many); made a KeyPath only for a problem.
 */
type Where = KeyPath | { readonly up: Where; readonly key: string | number };

function child(up: Where, key: string | number): Where {
  return { up, key };
}

function keyPath(w: Where): (string | number)[] {
  const keys: (string | number)[] = [];
  let at: Where = w;
  while (!Array.isArray(at)) {
    const link = at as { readonly up: Where; readonly key: string | number };
    keys.push(link.key);
    at = link.up;
  }
  return [...(at as KeyPath), ...keys.reverse()];
}

/** Marks a spot AWS::NoValue removes. */
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
type Out = unknown;

const CONDITION_FUNCTIONS = new Set(['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(obj: unknown, key: string): unknown {
  return isRecord(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A single-key map whose key is `Ref` or `Fn::...`: an intrinsic function call. */
function intrinsicKey(v: Record<string, unknown>): string | undefined {
  let key: string | undefined;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    if (key !== undefined) return undefined;
    key = k;
  }
  return key !== undefined && (key === 'Ref' || key.startsWith('Fn::')) ? key : undefined;
}

/** Sets a key on a plain object, `__proto__` included (a template key, not the prototype). */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

type ParamKind = { kind: 'scalar'; number: boolean } | { kind: 'list'; number: boolean } | { kind: 'ssm'; list: boolean };

/** A parameter Type's shape (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html). */
function paramKind(type: string): ParamKind | undefined {
  if (type === 'String' || type === 'AWS::SSM::Parameter::Name') return { kind: 'scalar', number: false };
  if (type === 'Number') return { kind: 'scalar', number: true };
  if (type === 'CommaDelimitedList') return { kind: 'list', number: false };
  const ssm = /^AWS::SSM::Parameter::Value<(.+)>$/.exec(type);
  if (ssm) return { kind: 'ssm', list: ssm[1] === 'CommaDelimitedList' || (ssm[1] ?? '').startsWith('List<') };
  const list = /^List<(.+)>$/.exec(type);
  if (list) return { kind: 'list', number: list[1] === 'Number' };
  // AWS-specific types (AWS::EC2::VPC::Id, AWS::EC2::KeyPair::KeyName ...): strings an account would check.
  if (/^AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+$/.test(type)) return { kind: 'scalar', number: false };
  return undefined;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

class TemplateResolver implements Resolver {
  readonly problems: IntrinsicProblem[] = [];
  readonly parameters: Record<string, string | string[]> = {};
  readonly #opts: IntrinsicOptions;
  readonly #pseudo: Pseudo;
  readonly #template: Record<string, unknown>;
  /** Values of NoEcho parameters: a message showing a value that contains one shows a placeholder. */
  readonly #secrets: string[] = [];
  readonly #conditions = new Map<string, boolean | 'evaluating' | 'failed'>();
  readonly #conditionStack: string[] = [];
  /** Objects on the current resolution path (cycle detection). */
  readonly #onPath = new Set<object>();
  readonly #reported = new Set<string>();
  #nodes = 0;
  #chars = 0;
  #exhausted = false;

  constructor(opts: IntrinsicOptions) {
    this.#opts = opts;
    this.#template = isRecord(opts.template) ? opts.template : {};
    this.#pseudo = completePseudo(opts.pseudo);
    this.#readParameters();
  }

  resolve(value: unknown, path: KeyPath): unknown {
    const out = this.#value(value, path, 0);
    return out === NO_VALUE ? undefined : out;
  }

  condition(name: string): boolean {
    return this.#condition(name, ['Conditions', name], 0) ?? false;
  }

  // ---------------------------------------------------------------------------------------------
  // Problems

  #problem(where: Where, text: string, severity: 'error' | 'warning' = 'error'): undefined {
    const path = keyPath(where);
    // The last line of defence for NoEcho: a name or key built from a secret (`Ref: {Ref: Password}`)
    // is masked however the message came to hold it. Longest first, so a secret inside another is not half-masked.
    let message = text;
    for (const s of this.#secrets) if (message.includes(s)) message = message.split(s).join('****');
    const key = `${path.join('\0')}\0${severity}\0${message}`;
    if (!this.#reported.has(key)) {
      this.#reported.add(key);
      this.problems.push({ path, message, severity });
    }
    return undefined;
  }

  /** A value for a message: quoted, shortened, and hidden when it holds a NoEcho parameter's value. */
  #show(v: unknown): string {
    const text = typeof v === 'string' ? v : (jsonOf(v, 4096) ?? (Array.isArray(v) ? `a list of ${v.length} items` : 'a large map'));
    if (this.#secrets.some((s) => text.includes(s))) return '(a NoEcho value, not shown)';
    return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  }

  /** Counts work; false (once reported) when a bound is passed, and from then on for every call. */
  #spend(path: Where, nodes: number, chars = 0): boolean {
    if (this.#exhausted) return false;
    this.#nodes += nodes;
    this.#chars += chars;
    if (this.#nodes > MAX_NODES || this.#chars > MAX_CHARS) {
      this.#exhausted = true;
      this.#problem(
        path,
        `the template needs more work to resolve than Turnpike allows (${MAX_NODES} values or ${MAX_CHARS} characters built); it repeats itself through YAML aliases or nested functions`,
      );
      return false;
    }
    return true;
  }

  #string(s: string, at: Where, construct: string): string | undefined {
    if (s.length > MAX_STRING) return this.#problem(at, `${construct}: the result is longer than ${MAX_STRING} characters`);
    return this.#spend(at, 0, s.length) ? s : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Parameters

  #readParameters(): void {
    const declared = own(this.#template, 'Parameters');
    const overrides = this.#opts.parameterOverrides ?? {};
    if (declared !== undefined && !isRecord(declared)) {
      this.#problem(['Parameters'], 'Parameters must be a map of parameter declarations');
    }
    const decls = isRecord(declared) ? declared : {};
    // Secrets first, so no message below shows one (an override of a NoEcho parameter included).
    for (const [name, decl] of Object.entries(decls)) {
      if (!isRecord(decl) || !(decl.NoEcho === true || decl.NoEcho === 'true')) continue;
      for (const raw of [Object.hasOwn(overrides, name) ? overrides[name] : undefined, decl.Default]) {
        if (typeof raw === 'string' || typeof raw === 'number') {
          const text = String(raw);
          if (text !== '')
            this.#secrets.push(
              text,
              ...text
                .split(',')
                .map((s) => s.trim())
                .filter((s) => s !== ''),
            );
        }
      }
    }
    this.#secrets.sort((a, b) => b.length - a.length);
    for (const [name, decl] of Object.entries(decls)) this.#readParameter(name, decl, Object.hasOwn(overrides, name) ? overrides[name] : undefined);
    for (const name of Object.keys(overrides)) {
      if (!Object.hasOwn(decls, name)) {
        const hint = didYouMean(name, Object.keys(decls));
        this.#problem(
          ['Parameters'],
          `parameter override ${name}: the template has no parameter ${name}${hint ? ` (did you mean ${hint}?)` : ''}; it is ignored`,
          'warning',
        );
      }
    }
  }

  #readParameter(name: string, decl: unknown, override: string | undefined): void {
    const at = ['Parameters', name];
    if (!isRecord(decl)) return void this.#problem(at, `parameter ${name}: a parameter is a map with a Type`);
    const type = decl.Type;
    if (typeof type !== 'string') return void this.#problem(at, `parameter ${name}: Type is required (String, Number, CommaDelimitedList, List<Number>, ...)`);
    const kind = paramKind(type);
    if (!kind)
      return void this.#problem(
        child(at, 'Type'),
        `parameter ${name}: unknown Type ${JSON.stringify(type)} (String, Number, CommaDelimitedList, List<...>, AWS::SSM::Parameter::Value<...> or an AWS-specific type)`,
      );

    let raw: string | undefined = override;
    if (raw === undefined && kind.kind === 'ssm') {
      const source = typeof decl.Default === 'string' ? ` ${decl.Default}` : '';
      return void this.#problem(
        at,
        `parameter ${name}: its value is read from the SSM parameter${source}, which cannot be read locally; give the value with --parameter-overrides ${name}=VALUE`,
      );
    }
    if (raw === undefined && Object.hasOwn(decl, 'Default')) {
      const d = decl.Default;
      if (typeof d === 'string' || typeof d === 'number' || typeof d === 'boolean') raw = String(d);
      else if (Array.isArray(d) && kind.kind === 'list' && d.every((x) => typeof x === 'string' || typeof x === 'number')) raw = d.join(',');
      else
        return void this.#problem(
          child(at, 'Default'),
          `parameter ${name}: Default must be a string${kind.kind === 'list' ? ' (comma-separated for a list)' : ''}`,
        );
    }
    if (raw === undefined)
      return void this.#problem(at, `parameter ${name} has no Default and no value was given; give one with --parameter-overrides ${name}=VALUE`);

    const isList = kind.kind === 'list' || (kind.kind === 'ssm' && kind.list);
    const isNumber = kind.kind !== 'ssm' && kind.number;
    const where = override !== undefined ? ' (from --parameter-overrides)' : '';
    const noEcho = decl.NoEcho === true || decl.NoEcho === 'true';
    const shown = (v: string): string => (noEcho ? '(NoEcho value, not shown)' : JSON.stringify(v));
    const because = typeof decl.ConstraintDescription === 'string' ? `: ${decl.ConstraintDescription}` : '';
    const bad = (key: string, what: string): void => void this.#problem(child(at, key), `parameter ${name}: ${what}${where}${because}`);

    // A list parameter's value is comma-separated, each item space-trimmed (the Parameters section's docs).
    const items = isList ? (raw === '' ? [] : raw.split(',').map((s) => s.trim())) : [raw];
    let ok = true;
    for (const item of items) {
      if (isNumber && !NUMBER.test(item.trim())) {
        bad('Type', `value ${shown(item)} is not a number`);
        ok = false;
      }
    }
    const allowed = decl.AllowedValues;
    if (Array.isArray(allowed)) {
      const set = new Set(allowed.map((v) => String(v)));
      for (const item of items) {
        if (!set.has(item)) {
          bad('AllowedValues', `value ${shown(item)} is not one of AllowedValues${noEcho ? '' : ` ${JSON.stringify([...set])}`}`);
          ok = false;
        }
      }
    }
    if (typeof decl.AllowedPattern === 'string' && !isNumber) {
      const matcher = this.#pattern(decl.AllowedPattern, child(at, 'AllowedPattern'), name);
      for (const item of matcher ? items : []) {
        if (!matcher?.test(item)) {
          bad('AllowedPattern', `value ${shown(item)} does not match AllowedPattern ${JSON.stringify(decl.AllowedPattern)}`);
          ok = false;
        }
      }
    }
    const num = (key: string): number | undefined => {
      const v = decl[key];
      const n = typeof v === 'number' ? v : typeof v === 'string' && NUMBER.test(v.trim()) ? Number(v) : Number.NaN;
      return Number.isFinite(n) ? n : undefined;
    };
    const minLength = num('MinLength');
    const maxLength = num('MaxLength');
    if (!isList && !isNumber) {
      if (minLength !== undefined && raw.length < minLength) {
        bad('MinLength', `value ${shown(raw)} is shorter than MinLength ${minLength}`);
        ok = false;
      }
      if (maxLength !== undefined && raw.length > maxLength) {
        bad('MaxLength', `value ${shown(raw)} is longer than MaxLength ${maxLength}`);
        ok = false;
      }
    }
    const minValue = num('MinValue');
    const maxValue = num('MaxValue');
    if (isNumber) {
      for (const item of items) {
        const n = Number(item.trim());
        if (minValue !== undefined && n < minValue) {
          bad('MinValue', `value ${shown(item)} is less than MinValue ${minValue}`);
          ok = false;
        }
        if (maxValue !== undefined && n > maxValue) {
          bad('MaxValue', `value ${shown(item)} is greater than MaxValue ${maxValue}`);
          ok = false;
        }
      }
    }
    if (ok) setKey(this.parameters, name, isList ? items : raw);
  }

  /** AllowedPattern matches the whole value; run in linear time (a template must not hang the loader). */
  #pattern(source: string, at: Where, name: string): LinearRegExp | undefined {
    try {
      return new LinearRegExp(`^(?:${source})$`);
    } catch (e) {
      const why = e instanceof UnsupportedRegexError ? e.message : 'it is not a valid regular expression';
      this.#problem(at, `parameter ${name}: AllowedPattern is not checked locally: ${why}`, 'warning');
      return undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Values

  #value(v: unknown, path: Where, depth: number): Out {
    if (!this.#spend(path, 1)) return undefined;
    if (typeof v !== 'object' || v === null) return v;
    if (depth > MAX_DEPTH) return this.#problem(path, `the value nests deeper than ${MAX_DEPTH} levels`);
    if (this.#onPath.has(v)) return this.#problem(path, 'the value contains itself (a YAML alias inside its own anchor)');
    this.#onPath.add(v);
    try {
      if (Array.isArray(v)) {
        const out: unknown[] = [];
        for (let i = 0; i < v.length; i++) {
          const r = this.#value(v[i], child(path, i), depth + 1);
          if (r !== NO_VALUE) out.push(r);
        }
        return out;
      }
      const record = v as Record<string, unknown>;
      const fn = intrinsicKey(record);
      if (fn !== undefined) return this.#intrinsic(fn, record[fn], path, depth);
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(record)) {
        const r = this.#value(record[key], child(path, key), depth + 1);
        if (r !== NO_VALUE) setKey(out, key, r);
      }
      return out;
    } finally {
      this.#onPath.delete(v);
    }
  }

  /** An argument: resolved, with AWS::NoValue where a value is required reported. */
  #arg(v: unknown, at: Where, depth: number, construct: string): Out {
    const r = this.#value(v, at, depth + 1);
    if (r === NO_VALUE) return this.#problem(at, `${construct}: AWS::NoValue cannot be an argument`);
    return r;
  }

  /** A resolved argument that must be a string (a number or boolean reads as its text). */
  #text(v: unknown, at: Where, depth: number, construct: string, what: string): string | undefined {
    const r = this.#arg(v, at, depth, construct);
    if (r === undefined) return undefined;
    if (typeof r === 'string') return r;
    if (typeof r === 'number' || typeof r === 'boolean') return String(r);
    return this.#problem(at, `${construct}: ${what} must be a string, not ${Array.isArray(r) ? 'a list' : r === null ? 'null' : 'a map'}`);
  }

  #args(arg: unknown, at: Where, construct: string, min: number, max: number, shape: string): unknown[] | undefined {
    if (!Array.isArray(arg) || arg.length < min || arg.length > max) return this.#problem(at, `${construct}: expects ${shape}`);
    return arg;
  }

  #intrinsic(fn: string, arg: unknown, path: Where, depth: number): Out {
    const at = child(path, fn);
    switch (fn) {
      case 'Ref':
        return this.#refFn(arg, at, depth);
      case 'Fn::GetAtt':
        return this.#getAttFn(arg, at, depth);
      case 'Fn::Sub':
        return this.#sub(arg, at, depth);
      case 'Fn::Join':
        return this.#join(arg, at, depth);
      case 'Fn::If':
        return this.#if(arg, at, depth);
      case 'Fn::Select':
        return this.#select(arg, at, depth);
      case 'Fn::Split':
        return this.#split(arg, at, depth);
      case 'Fn::FindInMap':
        return this.#findInMap(arg, at, depth);
      case 'Fn::ImportValue':
        return this.#importValue(arg, at, depth);
      case 'Fn::Base64': {
        const s = this.#text(arg, at, depth, fn, 'the argument');
        return s === undefined ? undefined : this.#string(Buffer.from(s, 'utf8').toString('base64'), at, fn);
      }
      case 'Fn::GetAZs':
        return this.#getAZs(arg, at, depth);
      case 'Fn::Cidr':
        return this.#cidr(arg, at, depth);
      case 'Fn::Length': {
        const list = this.#arg(arg, at, depth, fn);
        if (list === undefined) return undefined;
        return Array.isArray(list) ? list.length : this.#problem(at, 'Fn::Length: expects a list');
      }
      case 'Fn::ToJsonString': {
        const v = this.#arg(arg, at, depth, fn);
        if (v === undefined) return undefined;
        if (typeof v !== 'object' || v === null) return this.#problem(at, 'Fn::ToJsonString: expects a map or a list');
        const json = jsonOf(v);
        return json === undefined ? this.#problem(at, `${fn}: the result is longer than ${MAX_STRING} characters`) : this.#string(json, at, fn);
      }
      case 'Fn::Transform': {
        const name = own(arg, 'Name');
        return this.#problem(
          at,
          `Fn::Transform${typeof name === 'string' ? ` ${name}` : ''}: a macro runs in an AWS account and cannot run locally; replace it with its output`,
        );
      }
      default:
        if (CONDITION_FUNCTIONS.has(fn))
          return this.#problem(at, `${fn}: condition functions belong in the Conditions section; use Fn::If with a named condition here`);
        return this.#problem(at, `unknown intrinsic function ${fn}${suggestFn(fn)}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Ref, GetAtt, Sub

  #refFn(arg: unknown, at: Where, depth: number): Out {
    const name = typeof arg === 'string' ? arg : this.#text(arg, at, depth, 'Ref', 'the name');
    if (name === undefined) return undefined;
    return this.#ref(name, at, `Ref ${name}`);
  }

  /** A name's Ref value: pseudo parameter, parameter, then resource (CloudFormation forbids clashes). */
  #ref(name: string, at: Where, construct: string): Out {
    const p = this.#pseudo;
    switch (name) {
      case 'AWS::Region':
        return p.region;
      case 'AWS::AccountId':
        return p.accountId;
      case 'AWS::StackName':
        return p.stackName;
      case 'AWS::StackId':
        return p.stackId;
      case 'AWS::Partition':
        return p.partition;
      case 'AWS::URLSuffix':
        return p.urlSuffix;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    if (name.startsWith('AWS::')) {
      const hint = didYouMean(name, PSEUDO_NAMES);
      return this.#problem(at, `${construct}: unknown pseudo parameter${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    const params = own(this.#template, 'Parameters');
    if (isRecord(params) && Object.hasOwn(params, name)) {
      const value = Object.hasOwn(this.parameters, name) ? this.parameters[name] : undefined;
      if (value === undefined) return this.#problem(at, `${construct}: parameter ${name} has no usable value (see Parameters.${name})`);
      return Array.isArray(value) ? [...value] : value;
    }
    const refs = this.#opts.resource(name);
    if (refs !== undefined) return refs.ref;
    const type = this.#resourceType(name);
    if (type !== undefined) return this.#problem(at, `${construct}: the Ref value of ${type} ${name} is not known locally`);
    const hint = didYouMean(name, [...Object.keys(isRecord(params) ? params : {}), ...this.#resourceIds()]);
    return this.#problem(at, `${construct}: no parameter or resource named ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }

  #resourceIds(): string[] {
    const resources = own(this.#template, 'Resources');
    return isRecord(resources) ? Object.keys(resources) : [];
  }

  #resourceType(id: string): string | undefined {
    const resources = own(this.#template, 'Resources');
    if (!isRecord(resources) || !Object.hasOwn(resources, id)) return undefined;
    const type = own(resources[id], 'Type');
    return typeof type === 'string' ? type : 'resource';
  }

  #getAttFn(arg: unknown, at: Where, depth: number): Out {
    let id: unknown;
    let attr: string | undefined;
    if (typeof arg === 'string') {
      const dot = arg.indexOf('.');
      if (dot > 0 && dot < arg.length - 1) [id, attr] = [arg.slice(0, dot), arg.slice(dot + 1)];
    } else if (Array.isArray(arg) && arg.length === 2) {
      id = arg[0];
      attr = this.#text(arg[1], child(at, 1), depth, 'Fn::GetAtt', 'the attribute name');
      if (attr === undefined && typeof id === 'string') return undefined;
    }
    if (typeof id !== 'string' || id === '' || attr === undefined) {
      return this.#problem(at, 'Fn::GetAtt: expects [LogicalId, Attribute] or "LogicalId.Attribute"');
    }
    return this.#getAtt(id, attr, at, `Fn::GetAtt ${id}.${attr}`);
  }

  #getAtt(id: string, attr: string, at: Where, construct: string): Out {
    const refs = this.#opts.resource(id);
    if (refs !== undefined && Object.hasOwn(refs.attributes, attr)) return refs.attributes[attr];
    const type = this.#resourceType(id);
    if (refs !== undefined || type !== undefined) {
      const known = refs ? Object.keys(refs.attributes) : [];
      const hint = known.length > 0 ? ` (known: ${known.join(', ')})` : '';
      return this.#problem(at, `${construct}: attribute ${attr} of ${type ?? 'resource'} ${id} is not known locally${hint}`);
    }
    const hint = didYouMean(id, this.#resourceIds());
    return this.#problem(at, `${construct}: no resource named ${id}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }

  /** Fn::Sub: `${Name}` (a variable, parameter, pseudo parameter or resource Ref), `${Res.Attr}` (GetAtt), `${!Text}` (the literal `${Text}`). */
  #sub(arg: unknown, at: Where, depth: number): Out {
    let text: unknown;
    let vars: Record<string, unknown> = {};
    if (typeof arg === 'string') text = arg;
    else if (Array.isArray(arg) && arg.length === 2 && isRecord(arg[1])) {
      text = arg[0];
      vars = arg[1];
    }
    if (typeof text !== 'string') return this.#problem(at, 'Fn::Sub: expects a string, or [string, {Name: value, ...}]');
    const resolved = new Map<string, Out>();
    let out = '';
    let failed = false;
    let i = 0;
    while (i < text.length) {
      const start = text.indexOf('${', i);
      if (start === -1) {
        out += text.slice(i);
        break;
      }
      out += text.slice(i, start);
      if (text[start + 2] === '!') {
        // `${!Literal}` writes `${Literal}`: the `!` is dropped, the rest copied as text.
        out += '${';
        i = start + 3;
        continue;
      }
      const end = text.indexOf('}', start + 2);
      if (end === -1) {
        out += text.slice(start);
        break;
      }
      const name = text.slice(start + 2, end).trim();
      i = end + 1;
      const construct = `Fn::Sub \${${name}}`;
      let value: Out;
      if (Object.hasOwn(vars, name)) {
        if (!resolved.has(name)) resolved.set(name, this.#arg(vars[name], child(child(at, 1), name), depth, construct));
        value = resolved.get(name);
      } else if (name.includes('.') && !name.startsWith('AWS::')) {
        const dot = name.indexOf('.');
        const id = name.slice(0, dot);
        if (this.#opts.resource(id) === undefined && this.#resourceType(id) === undefined) {
          // Often API Gateway's own `${stageVariables.x}` or `${context.x}` inside a Sub'd OpenAPI body.
          value = this.#problem(at, `${construct}: no resource named ${id}; for the literal text write \${!${name}}`);
        } else value = this.#getAtt(id, name.slice(dot + 1), at, construct);
      } else {
        value = this.#ref(name, at, construct);
      }
      if (value === undefined) {
        failed = true;
      } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
        out += String(value);
        if (out.length > MAX_STRING) return this.#problem(at, `Fn::Sub: the result is longer than ${MAX_STRING} characters`);
      } else {
        failed = true;
        const what = value === NO_VALUE ? 'AWS::NoValue' : Array.isArray(value) ? 'a list (join it with Fn::Join first)' : 'not a string';
        this.#problem(at, `${construct}: the value is ${what}`);
      }
    }
    return failed ? undefined : this.#string(out, at, 'Fn::Sub');
  }

  // ---------------------------------------------------------------------------------------------
  // Lists and strings

  #list(v: unknown, at: Where, depth: number, construct: string): unknown[] | undefined {
    const r = this.#arg(v, at, depth, construct);
    if (r === undefined) return undefined;
    if (!Array.isArray(r)) return this.#problem(at, `${construct}: expects a list here, not ${this.#show(r)}`);
    return r;
  }

  #join(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::Join', 2, 2, '[delimiter, [values...]]');
    if (!args) return undefined;
    const delimiter = this.#text(args[0], child(at, 0), depth, 'Fn::Join', 'the delimiter');
    const items = this.#list(args[1], child(at, 1), depth, 'Fn::Join');
    if (delimiter === undefined || items === undefined) return undefined;
    const parts: string[] = [];
    for (const [i, item] of items.entries()) {
      if (item === undefined) return undefined;
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
        return this.#problem(child(child(at, 1), i), `Fn::Join: item ${i} must be a string, not ${Array.isArray(item) ? 'a list' : 'a map'}`);
      }
      parts.push(String(item));
    }
    // Measured before joining: literal strings repeated through YAML aliases cost no work to resolve.
    const length = parts.reduce((n, p) => n + p.length, delimiter.length * Math.max(0, parts.length - 1));
    if (length > MAX_STRING) return this.#problem(at, `Fn::Join: the result is longer than ${MAX_STRING} characters`);
    return this.#string(parts.join(delimiter), at, 'Fn::Join');
  }

  #select(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::Select', 2, 2, '[index, [values...]]');
    if (!args) return undefined;
    const index = this.#text(args[0], child(at, 0), depth, 'Fn::Select', 'the index');
    const items = this.#list(args[1], child(at, 1), depth, 'Fn::Select');
    if (index === undefined || items === undefined) return undefined;
    if (!/^\d+$/.test(index.trim())) return this.#problem(child(at, 0), `Fn::Select: the index ${this.#show(index)} is not a whole number`);
    const n = Number(index.trim());
    if (n >= items.length)
      return this.#problem(at, `Fn::Select: index ${n} is out of range: the list has ${items.length} item${items.length === 1 ? '' : 's'}`);
    return items[n];
  }

  #split(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::Split', 2, 2, '[delimiter, string]');
    if (!args) return undefined;
    const delimiter = this.#text(args[0], child(at, 0), depth, 'Fn::Split', 'the delimiter');
    const source = this.#text(args[1], child(at, 1), depth, 'Fn::Split', 'the string to split');
    if (delimiter === undefined || source === undefined) return undefined;
    if (delimiter === '') return this.#problem(child(at, 0), 'Fn::Split: the delimiter must not be empty');
    const parts = source.split(delimiter);
    return this.#spend(at, parts.length) ? parts : undefined;
  }

  #findInMap(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::FindInMap', 3, 4, '[MapName, TopLevelKey, SecondLevelKey] (and optionally {DefaultValue: value})');
    if (!args) return undefined;
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const k = this.#text(args[i], child(at, i), depth, 'Fn::FindInMap', 'each key');
      if (k === undefined) return undefined;
      keys.push(k);
    }
    const [mapName = '', top = '', second = ''] = keys;
    let fallback: { value: unknown } | undefined;
    if (args.length === 4) {
      if (!isRecord(args[3]) || !Object.hasOwn(args[3], 'DefaultValue'))
        return this.#problem(child(at, 3), 'Fn::FindInMap: the fourth item must be {DefaultValue: value}');
      fallback = { value: args[3].DefaultValue };
    }
    const construct = `Fn::FindInMap [${[mapName, top, second].map((k) => this.#show(k)).join(', ')}]`;
    const mappings = own(this.#template, 'Mappings');
    const mapping = own(mappings, mapName);
    const level = own(mapping, top);
    const value = own(level, second);
    if (value !== undefined) return this.#arg(value, ['Mappings', mapName, top, second], depth, construct);
    if (fallback) return this.#arg(fallback.value, child(child(at, 3), 'DefaultValue'), depth, construct);
    const missing =
      mapping === undefined
        ? `there is no mapping ${this.#show(mapName)}`
        : level === undefined
          ? `mapping ${this.#show(mapName)} has no key ${this.#show(top)}`
          : `${this.#show(mapName)}.${this.#show(top)} has no key ${this.#show(second)}`;
    return this.#problem(at, `${construct}: ${missing}`);
  }

  #importValue(arg: unknown, at: Where, depth: number): Out {
    const name = this.#text(arg, at, depth, 'Fn::ImportValue', 'the export name');
    if (name === undefined) return undefined;
    const values = this.#opts.importValues ?? {};
    if (Object.hasOwn(values, name)) return values[name];
    return this.#problem(
      at,
      `Fn::ImportValue ${name}: export ${name} is not known locally; give its value with --import-value ${name}=VALUE or in an import-values map file`,
    );
  }

  #getAZs(arg: unknown, at: Where, depth: number): Out {
    const region = this.#text(arg ?? '', at, depth, 'Fn::GetAZs', 'the region');
    if (region === undefined) return undefined;
    const r = region === '' ? this.#pseudo.region : region;
    // Three zones, named as AWS names them; a local run has no account whose zones could be listed.
    return [`${r}a`, `${r}b`, `${r}c`];
  }

  /** Fn::Cidr [ipBlock, count, cidrBits], IPv4: `count` consecutive blocks of 2^cidrBits addresses. */
  #cidr(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::Cidr', 3, 3, '[ipBlock, count, cidrBits]');
    if (!args) return undefined;
    const block = this.#text(args[0], child(at, 0), depth, 'Fn::Cidr', 'the ip block');
    const count = this.#text(args[1], child(at, 1), depth, 'Fn::Cidr', 'the count');
    const bits = this.#text(args[2], child(at, 2), depth, 'Fn::Cidr', 'cidrBits');
    if (block === undefined || count === undefined || bits === undefined) return undefined;
    if (block.includes(':')) return this.#problem(at, 'Fn::Cidr: IPv6 blocks are not supported locally');
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(block.trim());
    const octets = m ? m.slice(1, 5).map(Number) : [];
    const prefix = m ? Number(m[5]) : Number.NaN;
    if (!m || octets.some((o) => o > 255) || prefix > 32)
      return this.#problem(child(at, 0), `Fn::Cidr: ${this.#show(block)} is not an IPv4 CIDR block such as 10.0.0.0/16`);
    const n = /^\d+$/.test(count.trim()) ? Number(count) : Number.NaN;
    const b = /^\d+$/.test(bits.trim()) ? Number(bits) : Number.NaN;
    if (!(n >= 1 && n <= 256)) return this.#problem(child(at, 1), 'Fn::Cidr: the count must be a whole number from 1 to 256');
    if (!(b >= 0 && b <= 32 - prefix))
      return this.#problem(child(at, 2), `Fn::Cidr: cidrBits must be a whole number from 0 to ${32 - prefix} for a /${prefix} block`);
    const size = 2 ** b;
    if (n * size > 2 ** (32 - prefix)) return this.#problem(at, `Fn::Cidr: ${n} blocks of /${32 - b} do not fit in a /${prefix}`);
    const base = octets.reduce((acc, o) => acc * 256 + o, 0);
    const network = base - (base % 2 ** (32 - prefix));
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const a = network + i * size;
      out.push(`${Math.floor(a / 2 ** 24) % 256}.${Math.floor(a / 2 ** 16) % 256}.${Math.floor(a / 2 ** 8) % 256}.${a % 256}/${32 - b}`);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Conditions

  #if(arg: unknown, at: Where, depth: number): Out {
    const args = this.#args(arg, at, 'Fn::If', 3, 3, '[ConditionName, value if true, value if false]');
    if (!args) return undefined;
    const name = args[0];
    if (typeof name !== 'string') return this.#problem(child(at, 0), 'Fn::If: the first item must be the name of a condition');
    const value = this.#condition(name, child(at, 0), depth);
    if (value === undefined) return this.#problem(at, `Fn::If ${name}: the condition cannot be evaluated`);
    // Only the branch taken is resolved, as CloudFormation does: the other may name what does not exist.
    return this.#value(args[value ? 1 : 2], child(at, value ? 1 : 2), depth + 1);
  }

  /** A named condition, evaluated once; undefined (with a problem) when it cannot be. */
  #condition(name: string, at: Where, depth: number): boolean | undefined {
    const cached = this.#conditions.get(name);
    if (cached === true || cached === false) return cached;
    if (cached === 'failed') return undefined;
    if (cached === 'evaluating') {
      const cycle = [...this.#conditionStack.slice(this.#conditionStack.indexOf(name)), name];
      return this.#problem(['Conditions', name], `condition ${name} depends on itself: ${cycle.join(' -> ')}`);
    }
    const conditions = own(this.#template, 'Conditions');
    if (!isRecord(conditions) || !Object.hasOwn(conditions, name)) {
      const hint = didYouMean(name, isRecord(conditions) ? Object.keys(conditions) : []);
      return this.#problem(at, `no condition named ${name} in the Conditions section${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    if (depth > MAX_DEPTH) return this.#problem(['Conditions', name], `conditions refer to each other deeper than ${MAX_DEPTH} levels`);
    this.#conditions.set(name, 'evaluating');
    this.#conditionStack.push(name);
    let value: boolean | undefined;
    try {
      value = this.#conditionExpr(conditions[name], ['Conditions', name], depth + 1);
    } finally {
      this.#conditionStack.pop();
    }
    this.#conditions.set(name, value ?? 'failed');
    return value;
  }

  #conditionExpr(v: unknown, path: Where, depth: number): boolean | undefined {
    if (!this.#spend(path, 1)) return undefined;
    if (depth > MAX_DEPTH) return this.#problem(path, `the condition nests deeper than ${MAX_DEPTH} levels`);
    const fn = isRecord(v) ? (intrinsicKey(v) ?? (Object.keys(v).length === 1 && Object.hasOwn(v, 'Condition') ? 'Condition' : undefined)) : undefined;
    const arg = fn !== undefined ? (v as Record<string, unknown>)[fn] : undefined;
    const at = fn !== undefined ? child(path, fn) : path;
    switch (fn) {
      case 'Condition':
        if (typeof arg !== 'string') return this.#problem(at, 'Condition: expects the name of a condition');
        return this.#condition(arg, at, depth + 1);
      case 'Fn::Equals': {
        const args = this.#args(arg, at, fn, 2, 2, '[value, value]');
        if (!args) return undefined;
        const a = this.#arg(args[0], child(at, 0), depth, fn);
        const b = this.#arg(args[1], child(at, 1), depth, fn);
        if (a === undefined || b === undefined) return undefined;
        const [ca, cb] = [canonical(a), canonical(b)];
        if (ca === undefined || cb === undefined) return this.#problem(at, `${fn}: the values are too large to compare`);
        return ca === cb;
      }
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not': {
        const args = fn === 'Fn::Not' ? this.#args(arg, at, fn, 1, 1, '[condition]') : this.#args(arg, at, fn, 2, 10, 'a list of 2 to 10 conditions');
        if (!args) return undefined;
        // Every operand is evaluated (no short circuit), so each bad one is reported.
        const values = args.map((c, i) => this.#conditionExpr(c, child(at, i), depth + 1));
        if (values.some((x) => x === undefined)) return undefined;
        if (fn === 'Fn::Not') return !values[0];
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      default:
        return this.#problem(at, `a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or {Condition: name}${fn ? `, not ${fn}` : ''}`);
    }
  }
}

const PSEUDO_NAMES = [
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
];
const FUNCTION_NAMES = [
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::FindInMap',
  'Fn::GetAtt',
  'Fn::GetAZs',
  'Fn::If',
  'Fn::ImportValue',
  'Fn::Join',
  'Fn::Length',
  'Fn::Select',
  'Fn::Split',
  'Fn::Sub',
  'Fn::ToJsonString',
  'Fn::Transform',
];

function suggestFn(fn: string): string {
  const hint = didYouMean(fn, FUNCTION_NAMES);
  return hint ? ` (did you mean ${hint}?)` : '';
}

/** Fn::Equals compares values as CloudFormation's strings: `5` equals `"5"`, `true` equals `"true"`. */
function canonical(v: unknown): string | undefined {
  const norm = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(norm);
    if (isRecord(x)) return Object.fromEntries(Object.keys(x).map((k) => [k, norm(x[k])]));
    return x === null || x === undefined ? null : String(x);
  };
  return jsonOf(norm(v));
}

/**
 * JSON text of a resolved value, or undefined past MAX_STRING. A literal string repeated through YAML
 * aliases costs no resolving work, so the text can be far larger than anything built; V8 throws a
 * RangeError past its string limit.
 */
function jsonOf(v: unknown, limit = MAX_STRING): string | undefined {
  if (!fitsIn(v, limit)) return undefined;
  const json = JSON.stringify(v) ?? 'null';
  return json.length > limit ? undefined : json;
}

/** Whether a value's JSON text can fit in `limit` characters, measured without building it (stops early). */
function fitsIn(v: unknown, limit: number): boolean {
  let budget = limit;
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') budget -= x.length + 2;
    else if (Array.isArray(x)) {
      budget -= x.length + 2;
      if (budget < 0) return false;
      for (const item of x) stack.push(item);
    } else if (isRecord(x)) {
      for (const k of Object.keys(x)) {
        budget -= k.length + 4;
        stack.push(x[k]);
      }
    } else budget -= 5;
    if (budget < 0) return false;
  }
  return true;
}

/** Problems as config diagnostics (file:line:col key.path: message), positioned by the template they came from. */
export function problemDiagnostics(doc: SourceDocument, problems: readonly IntrinsicProblem[]): Diagnostic[] {
  return problems.map((p) => {
    const { line, column } = doc.locate(p.path);
    return { file: doc.file, line, column, path: formatPath(p.path), message: p.message, severity: p.severity };
  });
}

export function createResolver(options: IntrinsicOptions): Resolver {
  return new TemplateResolver(options);
}
