/**
 * Java methods templates call on values: String, List, Map, Map.Entry, Number
 * and Boolean. AWS runs Java Velocity, so templates call `.size()`,
 * `.keySet()`, `.replaceAll(regex, repl)` and so on. Only what is listed here
 * exists; any other method yields null (renders as empty).
 */
import safeRegex from 'safe-regex2';
import { TemplateError } from './errors.js';
import { isJavaList, isMap, isNumber, type JsonNumber, javaEquals, javaList, javaString, MapEntry, num, setOwn } from './values.js';

const NO_METHOD = Symbol('no-method');

export { NO_METHOD };

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_MAX = 512;
const REGEX_MAX_LENGTH = 1000;

/**
 * Java regex -> JS RegExp. Handles the common differences: a leading inline
 * flag group `(?i)`/`(?s)`/`(?m)`, `\p{Alpha}`-style POSIX classes, `\Q..\E`
 * quoting, possessive quantifiers (treated as greedy). Patterns that could
 * backtrack catastrophically are refused (safe-regex2), since Node's engine
 * has no time limit.
 */
export function javaRegex(pattern: string, extraFlags = ''): RegExp {
  const key = `${extraFlags}/${pattern}`;
  const hit = regexCache.get(key);
  if (hit) {
    hit.lastIndex = 0;
    return hit;
  }
  if (pattern.length > REGEX_MAX_LENGTH) throw new TemplateError('regular expression is too long', 'TEMPLATE_RENDER');
  let src = pattern;
  let flags = 'u';
  const inline = /^\(\?([imsx]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    for (const f of inline[1]!) if (f !== 'x' && !flags.includes(f)) flags += f;
  }
  src = src.replace(/\\Q([\s\S]*?)(?:\\E|$)/g, (_m, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  const posix: Record<string, string> = {
    Lower: 'a-z',
    Upper: 'A-Z',
    Alpha: 'A-Za-z',
    Digit: '0-9',
    Alnum: 'A-Za-z0-9',
    Punct: '!-\\/:-@\\[-`{-~',
    Space: ' \\t\\n\\x0B\\f\\r',
    XDigit: '0-9a-fA-F',
    ASCII: '\\x00-\\x7F',
  };
  src = src.replace(/\\([pP])\{(?:Is)?(\w+)\}/g, (m, p: string, name: string) => {
    const cls = posix[name];
    if (!cls) return m;
    return p === 'p' ? `[${cls}]` : `[^${cls}]`;
  });
  src = src.replace(/([*+?}])\+/g, '$1');
  let re: RegExp;
  try {
    re = new RegExp(src, flags + extraFlags);
  } catch {
    try {
      re = new RegExp(src, flags.replace('u', '') + extraFlags);
    } catch (e) {
      throw new TemplateError(`invalid regular expression: ${pattern}`, 'TEMPLATE_RENDER', undefined, { cause: e });
    }
  }
  if (!safeRegex(re)) throw new TemplateError(`regular expression may backtrack catastrophically: ${pattern}`, 'TEMPLATE_RENDER');
  if (regexCache.size >= REGEX_CACHE_MAX) regexCache.clear();
  regexCache.set(key, re);
  return re;
}

/** Java Matcher replacement syntax (`$1`, `${name}`, `\$`) -> JS replacement syntax. */
function javaReplacement(rep: string): string {
  let out = '';
  for (let i = 0; i < rep.length; i++) {
    const c = rep[i]!;
    if (c === '\\') {
      const next = rep[++i];
      if (next === undefined) throw new TemplateError('character to be escaped is missing', 'TEMPLATE_RENDER');
      out += next === '$' ? '$$' : next;
    } else if (c === '$') {
      const named = /^\{(\w+)\}/.exec(rep.slice(i + 1));
      if (named) {
        out += `$<${named[1]}>`;
        i += named[0].length;
      } else if (/\d/.test(rep[i + 1] ?? '')) {
        out += '$';
      } else throw new TemplateError('Illegal group reference', 'TEMPLATE_RENDER');
    } else out += c;
  }
  return out;
}

function str(v: unknown): string {
  return v === undefined || v === null ? 'null' : javaString(v);
}

function int(v: unknown, what: string): number {
  if (isNumber(v)) return Math.trunc(num(v));
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw new TemplateError(`${what}: expected an integer argument`, 'TEMPLATE_RENDER');
}

function bounds(what: string, len: number, begin: number, end: number): void {
  if (begin < 0 || end > len || begin > end) {
    throw new TemplateError(`${what}: index out of range: begin ${begin}, end ${end}, length ${len}`, 'TEMPLATE_RENDER');
  }
}

/** String.split(regex, limit) with Java's rules (trailing empty strings dropped when limit == 0). */
function javaSplit(s: string, pattern: string, limit: number): string[] {
  if (s === '') return javaList(['']);
  // Java treats a one-char non-metachar pattern literally; same result as a regex.
  const re = javaRegex(pattern, 'g');
  const parts: string[] = [];
  let last = 0;
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while ((m = re.exec(s)) !== null) {
    if (limit > 0 && parts.length === limit - 1) break;
    if (m[0].length === 0) {
      if (m.index >= s.length) break;
      if (m.index === 0) {
        re.lastIndex++;
        continue;
      }
    }
    parts.push(s.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0].length === 0) re.lastIndex++;
  }
  parts.push(s.slice(last));
  if (limit === 0) while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return javaList(parts);
}

function stringMethod(s: string, name: string, a: unknown[]): unknown {
  switch (name) {
    case 'length':
      return s.length;
    case 'isEmpty':
      return s.length === 0;
    case 'isBlank':
      return s.trim().length === 0;
    case 'contains':
      return s.includes(str(a[0]));
    case 'startsWith':
      return a.length > 1 ? s.startsWith(str(a[0]), int(a[1], name)) : s.startsWith(str(a[0]));
    case 'endsWith':
      return s.endsWith(str(a[0]));
    case 'equals':
      return typeof a[0] === 'string' && a[0] === s;
    case 'equalsIgnoreCase':
      return typeof a[0] === 'string' && a[0].toLowerCase() === s.toLowerCase();
    case 'indexOf':
      return s.indexOf(str(a[0]), a.length > 1 ? int(a[1], name) : 0);
    case 'lastIndexOf':
      return a.length > 1 ? s.lastIndexOf(str(a[0]), int(a[1], name)) : s.lastIndexOf(str(a[0]));
    case 'substring': {
      const begin = int(a[0], name);
      const end = a.length > 1 ? int(a[1], name) : s.length;
      bounds('substring', s.length, begin, end);
      return s.substring(begin, end);
    }
    case 'charAt': {
      const i = int(a[0], name);
      bounds('charAt', s.length, i, i + 1);
      return s[i];
    }
    case 'toLowerCase':
      return s.toLowerCase();
    case 'toUpperCase':
      return s.toUpperCase();
    case 'trim':
    case 'strip':
      return s.trim();
    case 'concat':
      return s + str(a[0]);
    case 'replace':
      return s.split(str(a[0])).join(str(a[1]));
    case 'replaceAll':
      return s.replace(javaRegex(str(a[0]), 'g'), javaReplacement(str(a[1])));
    case 'replaceFirst':
      return s.replace(javaRegex(str(a[0])), javaReplacement(str(a[1])));
    case 'matches': {
      const re = javaRegex(`^(?:${str(a[0])})$`);
      return re.test(s);
    }
    case 'split':
      return javaSplit(s, str(a[0]), a.length > 1 ? int(a[1], name) : 0);
    case 'toString':
    case 'intern':
      return s;
    case 'hashCode': {
      let h = 0;
      for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
      return h;
    }
    case 'compareTo': {
      const o = str(a[0]);
      return s < o ? -1 : s > o ? 1 : 0;
    }
    case 'getBytes':
      return javaList([...Buffer.from(s, 'utf8')].map((b) => (b > 127 ? b - 256 : b)));
    case 'toCharArray':
      return javaList([...s]);
    default:
      return NO_METHOD;
  }
}

function listMethod(l: unknown[], name: string, a: unknown[]): unknown {
  switch (name) {
    case 'size':
      return l.length;
    case 'isEmpty':
      return l.length === 0;
    case 'get': {
      const i = int(a[0], name);
      if (i < 0 || i >= l.length) throw new TemplateError(`Index ${i} out of bounds for length ${l.length}`, 'TEMPLATE_RENDER');
      return l[i];
    }
    case 'contains':
      return l.some((x) => javaEquals(x, a[0]));
    case 'indexOf':
      return l.findIndex((x) => javaEquals(x, a[0]));
    case 'add':
      if (a.length > 1) {
        const i = int(a[0], name);
        bounds('add', l.length, i, i);
        l.splice(i, 0, a[1]);
        return undefined;
      }
      l.push(a[0]);
      return true;
    case 'addAll':
      if (Array.isArray(a[0])) l.push(...a[0]);
      return true;
    case 'set': {
      const i = int(a[0], name);
      if (i < 0 || i >= l.length) throw new TemplateError(`Index ${i} out of bounds for length ${l.length}`, 'TEMPLATE_RENDER');
      const prev = l[i];
      l[i] = a[1];
      return prev;
    }
    case 'remove': {
      if (isNumber(a[0])) {
        const i = Math.trunc(num(a[0]));
        if (i < 0 || i >= l.length) throw new TemplateError(`Index ${i} out of bounds for length ${l.length}`, 'TEMPLATE_RENDER');
        return l.splice(i, 1)[0];
      }
      const i = l.findIndex((x) => javaEquals(x, a[0]));
      if (i >= 0) l.splice(i, 1);
      return i >= 0;
    }
    case 'clear':
      l.length = 0;
      return undefined;
    case 'subList': {
      const from = int(a[0], name);
      const to = int(a[1], name);
      bounds('subList', l.length, from, to);
      const out = l.slice(from, to);
      return isJavaList(l) ? javaList(out) : out;
    }
    case 'toString':
      return javaString(l);
    case 'equals':
      return javaEquals(l, a[0]);
    default:
      return NO_METHOD;
  }
}

function mapMethod(m: Record<string, unknown>, name: string, a: unknown[]): unknown {
  const has = (k: string) => Object.hasOwn(m, k);
  switch (name) {
    case 'get':
    case 'getOrDefault': {
      const k = str(a[0]);
      if (has(k)) return m[k];
      return name === 'get' ? undefined : a[1];
    }
    case 'containsKey':
      return has(str(a[0]));
    case 'containsValue':
      return Object.values(m).some((v) => javaEquals(v, a[0]));
    case 'keySet':
      return javaList(Object.keys(m));
    case 'values':
      return javaList(Object.values(m));
    case 'entrySet':
      return javaList(Object.keys(m).map((k) => new MapEntry(k, m[k])));
    case 'size':
      return Object.keys(m).length;
    case 'isEmpty':
      return Object.keys(m).length === 0;
    case 'put': {
      const k = str(a[0]);
      const prev = has(k) ? m[k] : undefined;
      setOwn(m, k, a[1]);
      return prev;
    }
    case 'putIfAbsent': {
      const k = str(a[0]);
      if (has(k) && m[k] !== null && m[k] !== undefined) return m[k];
      setOwn(m, k, a[1]);
      return undefined;
    }
    case 'putAll':
      if (isMap(a[0])) for (const [k, v] of Object.entries(a[0])) setOwn(m, k, v);
      return undefined;
    case 'remove': {
      const k = str(a[0]);
      const prev = has(k) ? m[k] : undefined;
      delete m[k];
      return prev;
    }
    case 'clear':
      for (const k of Object.keys(m)) delete m[k];
      return undefined;
    case 'toString':
      return javaString(m);
    case 'equals':
      return javaEquals(m, a[0]);
    default:
      return NO_METHOD;
  }
}

function numberMethod(n: number | JsonNumber, name: string, a: unknown[]): unknown {
  const v = num(n);
  switch (name) {
    case 'toString':
      return javaString(n);
    case 'intValue':
    case 'longValue':
    case 'shortValue':
    case 'byteValue':
      return Math.trunc(v);
    case 'doubleValue':
    case 'floatValue':
      return v;
    case 'equals':
      return isNumber(a[0]) && num(a[0]) === v;
    case 'compareTo':
      return isNumber(a[0]) ? Math.sign(v - num(a[0])) : NO_METHOD;
    default:
      return NO_METHOD;
  }
}

/** Calls a Java method on a plain value. Returns NO_METHOD when there is no such method. */
export function callJavaMethod(target: unknown, name: string, args: unknown[]): unknown {
  if (typeof target === 'string') return stringMethod(target, name, args);
  if (Array.isArray(target)) return listMethod(target, name, args);
  if (isNumber(target)) return numberMethod(target, name, args);
  if (typeof target === 'boolean') {
    if (name === 'toString') return target ? 'true' : 'false';
    if (name === 'equals') return args[0] === target;
    if (name === 'booleanValue') return target;
    return NO_METHOD;
  }
  if (target instanceof MapEntry) {
    if (name === 'getKey') return target.key;
    if (name === 'getValue') return target.value;
    if (name === 'setValue') {
      const prev = target.value;
      target.value = args[0];
      return prev;
    }
    if (name === 'toString') return javaString(target);
    return NO_METHOD;
  }
  if (isMap(target)) return mapMethod(target, name, args);
  return NO_METHOD;
}
