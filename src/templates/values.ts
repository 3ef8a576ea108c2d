/**
 * The value model templates see. AWS runs Java Velocity over Jayway JsonPath
 * (json-smart), so values must print the way those Java objects print:
 * - a JSON object is a LinkedHashMap: `{foo=bar, n=1}`;
 * - a JSON array is a json-smart JSONArray whose toString() is compact JSON:
 *   `[{"foo":"bar"}]` (observed: test_input_path_template_formatting);
 * - a list made by the template (`[1, 2]`, keySet(), split()) is a java.util
 *   list: `[1, 2]`.
 * JSON arrays are the default; lists the template makes are tagged in a WeakSet.
 * Numbers whose source text would not survive a JS round trip ("2.0", big
 * integers) are kept as JsonNumber so they print as written.
 */

/** A number that remembers its source text ("2.0", "12345678901234567890"). */
export class JsonNumber {
  constructor(
    readonly value: number,
    readonly raw: string,
  ) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return this.raw;
  }
}

/** Map.Entry as returned by entrySet(). */
export class MapEntry {
  constructor(
    readonly key: string,
    public value: unknown,
  ) {}
}

const javaLists = new WeakSet<unknown[]>();

/** Marks an array as a java.util.List made by the template (prints `[a, b]`). */
export function javaList<T>(arr: T[]): T[] {
  javaLists.add(arr);
  return arr;
}

export function isJavaList(arr: unknown[]): boolean {
  return javaLists.has(arr);
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber) && !(v instanceof MapEntry);
}

export function isNumber(v: unknown): v is number | JsonNumber {
  return typeof v === 'number' || v instanceof JsonNumber;
}

export function num(v: number | JsonNumber): number {
  return typeof v === 'number' ? v : v.value;
}

function numberString(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return String(n);
}

/** Java toString() of a value. `null`/`undefined` print "null" (as inside a Java collection). */
export function javaString(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return numberString(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    case 'bigint':
      return v.toString();
    case 'function':
    case 'symbol':
      return '';
  }
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return v.raw;
  if (v instanceof MapEntry) return `${v.key}=${javaString(v.value)}`;
  if (Array.isArray(v)) {
    if (javaLists.has(v)) {
      let s = '[';
      for (let i = 0; i < v.length; i++) s += (i ? ', ' : '') + javaString(v[i]);
      return `${s}]`;
    }
    return toJson(v);
  }
  if (typeof (v as { javaToString?: unknown }).javaToString === 'function') {
    return (v as { javaToString(): string }).javaToString();
  }
  let s = '{';
  let first = true;
  for (const k of Object.keys(v as object)) {
    s += `${first ? '' : ', '}${k}=${javaString((v as Record<string, unknown>)[k])}`;
    first = false;
  }
  return `${s}}`;
}

/** Compact JSON (json-smart style, no spaces). JsonNumber prints its source text. */
export function toJson(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
    case 'bigint':
      return v.toString();
  }
  if (v === null) return 'null';
  if (v instanceof JsonNumber) return v.raw;
  if (v instanceof MapEntry) return `{${JSON.stringify(v.key)}:${toJson(v.value)}}`;
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + toJson(v[i]);
    return `${s}]`;
  }
  let s = '{';
  let first = true;
  for (const k of Object.keys(v as object)) {
    const item = (v as Record<string, unknown>)[k];
    if (typeof item === 'function') continue;
    s += `${first ? '' : ','}${JSON.stringify(k)}:${toJson(item)}`;
    first = false;
  }
  return `${s}}`;
}

// Number text a JS number would print differently: a fraction ending in 0
// ("2.0", "9.50"), an exponent, 16+ significant digits (beyond double
// precision or 2^53), tiny fractions (JS prints 1e-7) and "-0". Such text
// sends the body through the slower preserving parser. Matches inside strings
// too; that only costs speed.
const LOSSY_NUMBER = /\.\d*0(?!\d)|\d[eE]|\d{16}|[\d.]{17}|\.0{6}|-0(?![.\d])/;

/**
 * JSON.parse that keeps number source text when a JS number would change it.
 * Throws SyntaxError for invalid JSON (the same errors as JSON.parse).
 */
export function parseJson(text: string): unknown {
  const fast = JSON.parse(text) as unknown;
  if (!LOSSY_NUMBER.test(text)) return fast;
  return new PreservingParser(text).parse();
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export { setOwn };

/** Parser for text already validated by JSON.parse. */
class PreservingParser {
  #s: string;
  #i = 0;
  constructor(s: string) {
    this.#s = s;
  }
  parse(): unknown {
    const v = this.#value();
    return v;
  }
  #ws(): void {
    const s = this.#s;
    let i = this.#i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    this.#i = i;
  }
  #value(): unknown {
    this.#ws();
    const s = this.#s;
    const c = s[this.#i];
    if (c === '{') {
      this.#i++;
      const obj: Record<string, unknown> = {};
      this.#ws();
      if (s[this.#i] === '}') {
        this.#i++;
        return obj;
      }
      for (;;) {
        this.#ws();
        const key = this.#string();
        this.#ws();
        this.#i++; // ':'
        setOwn(obj, key, this.#value());
        this.#ws();
        if (s[this.#i++] === '}') return obj;
      }
    }
    if (c === '[') {
      this.#i++;
      const arr: unknown[] = [];
      this.#ws();
      if (s[this.#i] === ']') {
        this.#i++;
        return arr;
      }
      for (;;) {
        arr.push(this.#value());
        this.#ws();
        if (s[this.#i++] === ']') return arr;
      }
    }
    if (c === '"') return this.#string();
    if (s.startsWith('true', this.#i)) {
      this.#i += 4;
      return true;
    }
    if (s.startsWith('false', this.#i)) {
      this.#i += 5;
      return false;
    }
    if (s.startsWith('null', this.#i)) {
      this.#i += 4;
      return null;
    }
    const start = this.#i;
    let i = start;
    for (;;) {
      const ch = s.charCodeAt(i);
      // digits, '-', '+', '.', 'e', 'E'
      if ((ch >= 48 && ch <= 57) || ch === 45 || ch === 43 || ch === 46 || ch === 101 || ch === 69) i++;
      else break;
    }
    this.#i = i;
    const raw = s.slice(start, i);
    const n = Number(raw);
    return String(n) === raw ? n : new JsonNumber(n, raw);
  }
  #string(): string {
    const s = this.#s;
    const start = this.#i;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const ch = s.charCodeAt(i);
      if (ch === 92) {
        escaped = true;
        i += 2;
      } else if (ch === 34) break;
      else i++;
    }
    this.#i = i + 1;
    const body = s.slice(start, i + 1);
    return escaped ? (JSON.parse(body) as string) : body.slice(1, -1);
  }
}

/** Java-ish truthiness used by #if, &&, || and ! (Velocity 1.7: only null and false are false). */
export function truthy(v: unknown): boolean {
  return v !== undefined && v !== null && v !== false;
}

/**
 * Velocity 1.7 `==`: null equals only null; numbers compare by value; values of
 * different kinds compare by their toString().
 */
export function javaEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (a === null || b === null) return a === b;
  if (isNumber(a) && isNumber(b)) return num(a) === num(b);
  if (typeof a === 'string' && typeof b === 'string') return a === b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b;
  if (a === b) return true;
  if (typeof a === 'object' && typeof b === 'object' && !isNumber(a) && !isNumber(b)) {
    // Java collections compare by content.
    return javaString(a) === javaString(b) && Array.isArray(a) === Array.isArray(b);
  }
  return javaString(a) === javaString(b);
}
