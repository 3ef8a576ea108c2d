/**
 * Decoding applied before matching (the OWASP CRS transformations t:urlDecodeUni, t:htmlEntityDecode,
 * t:jsDecode, t:replaceComments, t:compressWhitespace, in the same spirit). Every function is linear in
 * its input: no regex here has nested or overlapping quantifiers, and comment stripping uses indexOf.
 * Each step runs only when its trigger character is present, so plain ASCII costs one regex test.
 */

const NEEDS_WORK = /[%+&\\\t\n\r\f\v]|\/\*| {2}/;
const PCT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const PCT_U = /%u([0-9a-fA-F]{4})/g;
const HAS_PCT = /%[0-9a-fA-F]{2}|%u[0-9a-fA-F]{4}/;
const JS_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2}))/g;
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

/** Replaces each C-style comment with one space (an unterminated one runs to the end). */
export function stripComments(s: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = s.indexOf('/*', from);
    if (open < 0) break;
    const close = s.indexOf('*/', open + 2);
    // Keep an unterminated "/*" visible: it is itself a signal (core-sqli-comment).
    if (close < 0) break;
    out += `${s.slice(from, open)} `;
    from = close + 2;
  }
  return from === 0 ? s : out + s.slice(from);
}

/**
 * The managed rules' view of a value: `+` as space (form and query encoding), %XX twice (double
 * encoding), HTML entities, JavaScript escapes, comments removed, whitespace runs as one space.
 */
export function decodeForMatch(s: string, plusIsSpace: boolean): string {
  if (!NEEDS_WORK.test(s)) return s;
  let t = s;
  if (plusIsSpace && t.includes('+')) t = t.replaceAll('+', ' ');
  for (let round = 0; round < 2 && HAS_PCT.test(t); round++) t = percentDecode(t);
  if (t.includes('&')) t = htmlDecode(t);
  if (t.includes('\\')) t = jsUnescape(t);
  if (t.includes('/*')) t = stripComments(t);
  if (ODD_WHITESPACE.test(t)) t = t.replace(WHITESPACE_RUN, ' ');
  return t;
}

/** The query string as an application sees it (`+` is a space, %XX decoded once). */
export function decodeQuery(raw: string): string {
  let t = raw;
  if (t.includes('+')) t = t.replaceAll('+', ' ');
  return t.includes('%') ? percentDecode(t) : t;
}
