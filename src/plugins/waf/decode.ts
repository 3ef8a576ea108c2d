/**
 * What the managed rules look at: each inspected value (a query or form argument name or value, a
 * cookie name or value, a header, the path, a body) is decoded and then seen through up to three
 * views, the way the OWASP Core Rule Set runs its SQL rules over several transformation pipelines
 * (t:urlDecodeUni, t:htmlEntityDecode, t:jsDecode, t:removeComments, t:replaceComments,
 * t:compressWhitespace, t:lowercase; matching is case-insensitive, so lower-casing is the `i` flag):
 *
 *   view 1  decoded, comments left as they are (a quote closing a string before a comment, `admin'--`,
 *           and SQL written inside what only looks like a comment: `x/*' OR 1=1 -- *\/` in a string)
 *   view 2  comments replaced by a space           `1/**\/UNION/**\/SELECT`   -> `1 UNION SELECT`
 *   view 3  comments removed                       `UN/**\/ION SEL/**\/ECT`   -> `UNION SELECT`
 *
 * In views 2 and 3 a MySQL versioned comment or optimizer hint keeps its contents (MySQL executes
 * them: `/*!50000UNION*\/` is `UNION`), and a line comment (`#` or `--`, to the end of the line, as
 * in MySQL, PostgreSQL and MSSQL) goes too, so `UNION#x\nSELECT` is `UNION SELECT`. Every view has
 * its whitespace runs collapsed to one space.
 *
 * Values are joined with SEP (\x01, which decoding removes from values) so a target is scanned by one
 * RegExp per view; rules anchor to the start or end of a value with SEP (see rules/core.ts).
 *
 * HOT PATH: a value without any trigger character (TRIGGER) is its only view, undecoded, so a
 * plain ASCII request costs a regex test or two per target (rules/core.ts runs only the rule groups
 * whose characters a view holds). Views 2 and 3 are built only when a value contains a comment
 * opener, and identical views are scanned once. Every function here is linear:
 * no regex has nested or overlapping quantifiers, comments are found with indexOf.
 */

/** Joins the values of one target; never left inside a decoded value. */
export const SEP = '\x01';

/**
 * Anything that decoding, comment handling or whitespace collapsing could change: one of these
 * characters, or `/*`, `--`, two spaces (looked for with includes: a single-class RegExp and three
 * memchr-like searches beat one alternation by far on a long body).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among what a value is normalized for.
const TRIGGER = /[%&\\#\0-\x1f\x7f\uff01-\uff5e]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as TRIGGER.
const TRIGGER_FORM = /[%+\\#\0-\x1f\x7f\uff01-\uff5e]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as TRIGGER.
const NEEDS_WORK = /[%&\\#\0-\x1f\x7f\uff01-\uff5e]|\/\*|--| {2}/;
const needsWorkIn = (s: string, trigger: RegExp): boolean => trigger.test(s) || s.includes('/*') || s.includes('--') || s.includes('  ');
const COMMENT_OPENER = /\/\*|#|--/;
const PCT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const PCT_U = /%u([0-9a-fA-F]{4})/gi;
const HAS_PCT = /%[0-9a-fA-F]{2}|%u[0-9a-fA-F]{4}/i;
const JS_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))/g;
const HAS_FULL_WIDTH = /[\uff01-\uff5e]/;
/** NUL (t:removeNulls) and the separator; other control characters stay. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and SEP are exactly what this removes.
const STRIPPED = /[\0\x01]/g;
const WHITESPACE_RUN = /\s+/g;
/** Whitespace other than a lone plain space: what collapsing would change. */
const ODD_WHITESPACE = /[^\S ]|\s\s/;

const NAMED: Record<string, string> = {
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  amp: '&',
  colon: ':',
  semi: ';',
  tab: '\t',
  newline: '\n',
  lpar: '(',
  rpar: ')',
  sol: '/',
  bsol: '\\',
  nbsp: ' ',
  lsqb: '[',
  rsqb: ']',
  lcub: '{',
  rcub: '}',
  comma: ',',
  period: '.',
  excl: '!',
  equals: '=',
  grave: '`',
  num: '#',
  percnt: '%',
  plus: '+',
};

/** Only the names above: `&size=` in a query string is not an entity and costs no callback. */
const HTML_ENTITY = new RegExp(`&(?:#(\\d{1,7})|#x([0-9a-f]{1,6})|(${Object.keys(NAMED).join('|')}));?`, 'gi');

const fromCode = (n: number): string => (n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '\uFFFD');

/** %XX (runs decoded as UTF-8, falling back to latin1 for invalid sequences) and IIS-style %uXXXX. */
export function percentDecode(s: string): string {
  let t = s;
  if (t.includes('%u') || t.includes('%U')) t = t.replace(PCT_U, (_m, h: string) => fromCode(Number.parseInt(h, 16)));
  return t.replace(PCT_RUN, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return Buffer.from(m.replaceAll('%', ''), 'hex').toString('latin1');
    }
  });
}

export function htmlDecode(s: string): string {
  return s.replace(HTML_ENTITY, (m, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (dec !== undefined) return fromCode(Number.parseInt(dec, 10));
    if (hex !== undefined) return fromCode(Number.parseInt(hex, 16));
    return NAMED[(name as string).toLowerCase()] ?? m;
  });
}

export function jsUnescape(s: string): string {
  return s.replace(JS_ESCAPE, (_m, u: string | undefined, x: string | undefined) => fromCode(Number.parseInt((u ?? x) as string, 16)));
}

/**
 * Full-width forms (U+FF01..U+FF5E) as the ASCII they stand for: `＜script＞` is `<script>` to the
 * best-fit mappings of IIS and ModSecurity's t:urlDecodeUni.
 */
export function fullWidthToAscii(s: string): string {
  // One pass over UTF-16 code units: a replace() callback per character costs ~50x more on long input.
  const units = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    units[i] = c >= 0xff01 && c <= 0xff5e ? c - 0xfee0 : c;
  }
  return Buffer.from(units.buffer, units.byteOffset, units.byteLength).toString('utf16le');
}

/** Decoding only: `+` (when asked), %XX up to three times (multiple encoding), full-width forms, HTML entities, JS escapes, NUL. */
export function decodeValue(s: string, plusIsSpace: boolean): string {
  let t = s;
  // A value with %XX escapes is URL-encoded, so its `+` are spaces too (as t:urlDecodeUni reads them).
  if (t.includes('+') && (plusIsSpace || HAS_PCT.test(t))) t = t.replaceAll('+', ' ');
  for (let round = 0; round < 3 && HAS_PCT.test(t); round++) t = percentDecode(t);
  if (HAS_FULL_WIDTH.test(t)) t = fullWidthToAscii(t);
  // Twice: an XML body's own entities come first (`&amp;tab;` is `&tab;`, a tab to the browser).
  for (let round = 0; round < 2 && t.includes('&'); round++) {
    const d = htmlDecode(t);
    if (d === t) break;
    t = d;
  }
  if (t.includes('\\')) t = jsUnescape(t);
  if (t.includes('\0') || t.includes(SEP)) t = t.replace(STRIPPED, '');
  return t;
}

const collapse = (s: string): string => (ODD_WHITESPACE.test(s) ? s.replace(WHITESPACE_RUN, ' ') : s);

/**
 * Comments handled as SQL does, `gap` put where each one was (' ' to replace, '' to remove):
 * `/* … *\/` (an unterminated one runs to the end), versioned `/*!50000 … *\/` and hint `/*+ … *\/`
 * comments whose markers go but whose contents stay (so `/*!select*\/*\/*!from*\/` is `select * from`),
 * and `#` / `--` comments to the end of the line.
 */
export function handleComments(s: string, gap: string): string {
  const n = s.length;
  let out = '';
  let i = 0;
  // Inside the contents of a versioned comment, whose "*/" is a marker to drop; elsewhere "*/" is text.
  let versioned = false;
  // Next position of each token, searched again only once passed: linear however many tokens there are.
  let block = -1;
  let hash = -1;
  let dash = -1;
  let close = -1;
  const next = (tok: string, from: number) => {
    const at = s.indexOf(tok, from);
    return at < 0 ? n : at;
  };
  while (i < n) {
    if (block < i) block = next('/*', i);
    if (hash < i) hash = next('#', i);
    if (dash < i) dash = next('--', i);
    if (versioned && close < i) close = next('*/', i);
    let at = Math.min(block, hash);
    if (dash < at) at = dash;
    if (versioned && close <= at) at = close;
    if (at === n) break;
    out += s.slice(i, at) + gap;
    if (versioned && at === close) {
      versioned = false;
      i = at + 2;
    } else if (at === block) {
      let body = at + 2;
      const c = s.charCodeAt(body);
      if (c === 0x21 /* ! */ || c === 0x2b /* + */) {
        // Versioned comment or optimizer hint: drop the marker and a version number, keep the code.
        body++;
        const stop = Math.min(n, body + 6);
        while (body < stop && s.charCodeAt(body) >= 0x30 && s.charCodeAt(body) <= 0x39) body++;
        versioned = true;
        i = body;
      } else {
        close = next('*/', body);
        i = close === n ? n : close + 2;
      }
    } else {
      // A line comment ends at the newline, which stays (it separates the words on either side).
      const nl = s.indexOf('\n', at);
      i = nl < 0 ? n : nl;
    }
  }
  return i === 0 ? s : out + s.slice(i);
}

/**
 * The distinct views of the given values, each the values joined with SEP. One string (the values
 * as they are) when no value has anything to decode, or when the caller knows so (`plain`, from isPlain
 * on the text the values were cut from).
 */
export function viewsOf(values: readonly string[], plusIsSpace: boolean, plain = false): string[] {
  let work = -1;
  for (let k = 0; !plain && k < values.length; k++) {
    if (needsWork(values[k] as string, plusIsSpace)) {
      work = k;
      break;
    }
  }
  if (work < 0) return [values.length === 1 ? (values[0] as string) : values.join(SEP)];
  const asIs = values.slice(0, work);
  let replaced: string[] | undefined;
  let removed: string[] | undefined;
  for (let k = work; k < values.length; k++) {
    const raw = values[k] as string;
    if (k > work && !needsWork(raw, plusIsSpace)) {
      asIs.push(raw);
      replaced?.push(raw);
      removed?.push(raw);
      continue;
    }
    const d = decodeValue(raw, plusIsSpace);
    asIs.push(collapse(d));
    if (COMMENT_OPENER.test(d)) {
      if (replaced === undefined || removed === undefined) {
        replaced = asIs.slice(0, k);
        removed = asIs.slice(0, k);
      }
      replaced.push(collapse(handleComments(d, ' ')));
      removed.push(collapse(handleComments(d, '')));
    } else if (replaced !== undefined && removed !== undefined) {
      replaced.push(asIs[k] as string);
      removed.push(asIs[k] as string);
    }
  }
  const out = [asIs.join(SEP)];
  if (replaced !== undefined && removed !== undefined) {
    const a = replaced.join(SEP);
    const b = removed.join(SEP);
    if (a !== out[0]) out.push(a);
    if (b !== a && b !== out[0]) out.push(b);
  }
  return out;
}

/** One value: a short one is tested by one RegExp (one call), a long one as isPlain does. */
export const needsWork = (v: string, plusIsSpace: boolean): boolean => (v.length < 256 ? NEEDS_WORK.test(v) : needsWorkIn(v, TRIGGER)) || (plusIsSpace && v.includes('+'));

/**
 * The names and values of an application/x-www-form-urlencoded string (a query string, a form body),
 * still encoded, appended to `out`; empty ones are skipped.
 */
export function formFields(raw: string, out: string[]): void {
  const n = raw.length;
  let from = 0;
  while (from < n) {
    let amp = raw.indexOf('&', from);
    if (amp < 0) amp = n;
    if (amp > from) {
      const eq = raw.indexOf('=', from);
      if (eq >= 0 && eq < amp) {
        if (eq > from) out.push(raw.slice(from, eq));
        if (amp > eq + 1) out.push(raw.slice(eq + 1, amp));
      } else out.push(raw.slice(from, amp));
    }
    from = amp + 1;
  }
}

const HIGH_LATIN1 = /[\x80-\xff]/;
const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g;
const JSON_SIMPLE: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
/** What is left of a JSON text once its strings are out: punctuation, numbers, true, false, null. */
const JSON_REST = /^[\s{}[\]:,\d.eE+\-truefalsn]*$/;

/**
 * The strings of a JSON text (keys and values, unescaped), appended to `out`, as CRS's JSON body
 * processor gives them to its rules: the quotes that delimit JSON strings are not SQL or HTML quotes.
 * What lies outside the strings is added as one more value when it is not plain JSON (a truncated
 * body, or a body that only claims to be JSON).
 */
export function jsonFields(text: string, out: string[]): void {
  // HOT PATH for JSON APIs: quotes are found with indexOf; a quote is escaped when an odd run of
  // backslashes precedes it (each backslash is looked at once, so this stays linear).
  let rest = '';
  let last = 0;
  let open = text.indexOf('"');
  while (open >= 0) {
    let close = text.indexOf('"', open + 1);
    while (close >= 0) {
      let k = close - 1;
      while (k > open && text.charCodeAt(k) === 0x5c) k--;
      if ((close - 1 - k) % 2 === 0) break;
      close = text.indexOf('"', close + 1);
    }
    if (close < 0) break; // unterminated (a truncated body): left in the rest
    if (open > last) rest += text.slice(last, open);
    const v = text.slice(open + 1, close);
    if (v !== '') out.push(v.includes('\\') ? jsonUnescape(v) : v);
    last = close + 1;
    open = text.indexOf('"', last);
  }
  if (last < text.length) rest += text.slice(last);
  if (!JSON_REST.test(rest)) out.push(rest);
}

/** A JSON string's contents unescaped: natively when the escapes are valid JSON, else one escape at a time. */
function jsonUnescape(v: string): string {
  try {
    return JSON.parse(`"${v}"`) as string;
  } catch {
    return v.replace(JSON_ESCAPE, (e, u: string | undefined, c: string | undefined) => (u !== undefined ? fromCode(Number.parseInt(u, 16)) : (JSON_SIMPLE[c as string] ?? e)));
  }
}

/**
 * True when no field of this text can need decoding: what viewsOf would find in each field, looked
 * for once in the whole text (`&` separates form fields, so there it is not a trigger but `+` is).
 */
export function isPlain(text: string, form: boolean): boolean {
  return !needsWorkIn(text, form ? TRIGGER_FORM : TRIGGER);
}

/**
 * A header value as text: Node hands header bytes over as latin1, so UTF-8 sent in a header (a
 * `＜script＞` in a cookie) arrives as mojibake; it is read as UTF-8 again when it is valid UTF-8.
 */
export function headerText(s: string): string {
  if (!HIGH_LATIN1.test(s)) return s;
  const u = Buffer.from(s, 'latin1').toString('utf8');
  return u.includes('\uFFFD') ? s : u;
}

/** The names and values of Cookie header values (`a=1; b=2`), appended to `out`. */
export function cookieFields(headers: readonly string[], out: string[]): void {
  for (const h of headers) {
    for (const part of headerText(h).split(';')) {
      const p = part.trim();
      if (p === '') continue;
      const eq = p.indexOf('=');
      if (eq < 0) out.push(p);
      else {
        if (eq > 0) out.push(p.slice(0, eq));
        if (eq + 1 < p.length) out.push(p.slice(eq + 1));
      }
    }
  }
}

/**
 * One value's decoded view 0 (kept for rules and tests that need a single string): `+` as space
 * (form and query encoding), %XX up to three times, full-width forms, HTML entities, JS escapes, whitespace runs
 * collapsed. Comments are left as they are; viewsOf gives the other views.
 */
export function decodeForMatch(s: string, plusIsSpace: boolean): string {
  if (!needsWork(s, plusIsSpace)) return s;
  return collapse(decodeValue(s, plusIsSpace));
}

/** The query string as an application sees it (`+` is a space, %XX decoded once). */
export function decodeQuery(raw: string): string {
  let t = raw;
  if (t.includes('+')) t = t.replaceAll('+', ' ');
  return t.includes('%') ? percentDecode(t) : t;
}
