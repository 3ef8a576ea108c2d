// Request-target normalization and safety checks (security-critical).
//
// INVARIANT: the path the router, authorizers and every plugin see is exactly
// the path the gateway forwards upstream. There is one canonical string per
// request; nothing downstream decodes, re-encodes or re-normalizes it (a
// consumer that needs a decoded param calls decodePathParam on a copy). Every
// path-confusion bypass (`/admin/..;/`, `%2e%2e`, overlong UTF-8, `\`) relies on
// two components disagreeing about the path; we remove the second opinion.
//
// Input: Node's `req.url`, the raw request-target (RFC 9112 §3.2). Rules:
// * Origin-form '/a/b?x' is taken as is. Absolute-form 'http(s)://authority/p?q'
//   keeps only '/p?q' (or '/' + '?q'); the authority is discarded and must never
//   select an upstream. Any other form ('*', 'foo', 'ftp://x/') -> BAD_PATH.
//   '//evil.com/x' is origin-form with a doubled slash -> '/evil.com/x'.
// * rawQuery is everything after the first '?', without it ('' if none). A '#'
//   and what follows is dropped (from the path or the query). The query is not
//   normalized: it is application data. It is only made safe to forward: raw
//   control characters -> BAD_PATH; raw space and raw non-ASCII -> percent-encoded
//   (as for the path, below); escapes are left untouched (even %00: the
//   query's meaning belongs to the upstream).
// * Path rejections (BAD_PATH): raw '\'; raw or encoded control chars (< 0x20,
//   0x7F, so also %00); malformed escapes ('%G1', '%4'); percent-encoded or raw
//   bytes >= 0x80 that are not strict UTF-8 (RFC 3629: overlongs like %C0%AE,
//   surrogates %ED%A0%80, > U+10FFFF, truncated sequences); lone UTF-16
//   surrogates; a segment that is a dot segment followed by a ';' path parameter
//   ('..;', '.;x', '..%3B') because Tomcat/Jetty-style upstreams strip the
//   parameter and then climb, while we would treat it as a literal name.
// * %2F and %5C (any hex case) are not rejected here: they stay encoded as '%2F'
//   / '%5C', are never segment separators, and set encodedSlash so the caller can
//   refuse them unless the route opted in.
// * Normalization, in this order, for each character of the path:
//   1. raw chars 0x80-0xFF are bytes (Node decodes the request line as latin1);
//      chars above 0xFF (HTTP/2, tests) are Unicode code points, encoded as UTF-8.
//      Both become upper-case %XX escapes, so the forwarded path is pure ASCII.
//   2. raw ASCII that RFC 3986 forbids in a path (space " < > [ ] ^ ` { | }) is
//      percent-encoded (WHATWG URL does the same for most of them).
//   3. escapes of unreserved chars (ALPHA DIGIT - . _ ~) are decoded (RFC 3986
//      §6.2.2.2); every other escape gets upper-case hex (§6.2.2.1).
//   Then segments are rebuilt: empty segments (runs of '/') are dropped, then dot
//   segments ('.', '..', including ones spelled %2e) are resolved per RFC 3986
//   §5.2.4, never above the root ('/../a' -> '/a'). So '/a//../b' is '/b' (slashes
//   merge before dots resolve, as nginx does). A trailing slash is kept: if the
//   last raw segment is empty, '.' or '..', the result ends in '/' ('/a/' stays,
//   '/a/b/..' -> '/a/'), except that the root is always just '/'.
// * ';' path parameters are kept inside their segment: '/admin;x=1' is the
//   literal segment 'admin;x=1' and does not match a route '/admin'. Stripping
//   them for matching but forwarding them (or the reverse) would break the
//   invariant above; keeping them makes matching and forwarding identical.
// * Trailing dots ('/a/b.') and other literal oddities are kept verbatim: they are
//   just names. Upstreams that strip them (IIS) see the same bytes we routed on.
// * The result is idempotent: normalizeTarget(r.path) returns r.path again.
//
// HOT PATH: one charCodeAt loop decides whether the path is already canonical
// (no '%', '\', '//', a '.' right after '/', control, forbidden or non-ASCII
// char); if so the path is the input (or one slice of it). The rebuilding slow
// path runs only for unusual targets.

export type PathResult =
  | { ok: true; path: string; rawQuery: string; encodedSlash: boolean }
  | { ok: false; code: 'BAD_PATH'; reason: string };

const HEX = '0123456789ABCDEF';

// Per ASCII char: 0 = plain path char, 1 = needs the slow path, 2 = '/', 3 = '.',
// 4 = '?', 5 = '#'.
const CLASS = new Uint8Array(128);
for (let c = 0; c < 0x21; c++) CLASS[c] = 1;
CLASS[0x7f] = 1;
for (const ch of '%\\"<>[]^`{|}') CLASS[ch.charCodeAt(0)] = 1;
CLASS[0x2f] = 2;
CLASS[0x2e] = 3;
CLASS[0x3f] = 4;
CLASS[0x23] = 5;

// Raw ASCII chars that are legal in a request line but not in an RFC 3986 path.
const ENCODE_RAW = new Uint8Array(128);
for (const ch of ' "<>[]^`{|}') ENCODE_RAW[ch.charCodeAt(0)] = 1;

const isUnreserved = (b: number): boolean =>
  (b >= 0x41 && b <= 0x5a) ||
  (b >= 0x61 && b <= 0x7a) ||
  (b >= 0x30 && b <= 0x39) ||
  b === 0x2d ||
  b === 0x2e ||
  b === 0x5f ||
  b === 0x7e;

const hexVal = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;

const pct = (b: number): string => `%${HEX[b >> 4]}${HEX[b & 15]}`;

function bad(reason: string): PathResult {
  return { ok: false, code: 'BAD_PATH', reason };
}

export function normalizeTarget(target: string): PathResult {
  const len = target.length;
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    start = absolutePathStart(target);
    if (start < 0) return bad('request-target must be origin-form (/path) or absolute-form (http://host/path)');
  }

  // HOT PATH: classify in one pass and find where the path ends.
  let clean = true;
  let prev = 0;
  let i = start;
  for (; i < len; i++) {
    const c = target.charCodeAt(i);
    if (c > 0x7e) {
      clean = false;
      prev = c;
      continue;
    }
    const k = CLASS[c] as number;
    if (k === 0) {
      prev = c;
      continue;
    }
    if (k >= 4) break;
    if (k === 1 || prev === 47) clean = false; // special char, '//' or '/.'
    prev = c;
  }
  const pathEnd = i;

  let rawQuery = '';
  if (pathEnd < len && target.charCodeAt(pathEnd) === 63 /* ? */) {
    let qEnd = target.indexOf('#', pathEnd + 1);
    if (qEnd === -1) qEnd = len;
    const q = safeQuery(target, pathEnd + 1, qEnd);
    if (q === null) return bad('control character in the query string');
    rawQuery = q;
  }

  if (pathEnd === start) return { ok: true, path: '/', rawQuery, encodedSlash: false }; // 'http://h?x'
  if (target.charCodeAt(start) !== 47) return bad('path must start with /'); // defensive: absolute-form guarantees it
  if (clean) {
    const path = start === 0 && pathEnd === len ? target : target.slice(start, pathEnd);
    return { ok: true, path, rawQuery, encodedSlash: false };
  }
  const r = rebuild(target, start, pathEnd);
  if (typeof r !== 'string') return bad(r.error);
  const encodedSlash = r.includes('%2F') || r.includes('%5C');
  return { ok: true, path: r, rawQuery, encodedSlash };
}

/** Index of the path ('/', '?', '#' or end) after 'http(s)://authority', or -1. */
function absolutePathStart(t: string): number {
  let i = 0;
  const lower = (k: number): number => t.charCodeAt(k) | 0x20;
  if (lower(0) !== 0x68 || lower(1) !== 0x74 || lower(2) !== 0x74 || lower(3) !== 0x70) return -1; // 'http'
  i = 4;
  if (lower(i) === 0x73) i++; // 's'
  if (t.charCodeAt(i) !== 58 || t.charCodeAt(i + 1) !== 47 || t.charCodeAt(i + 2) !== 47) return -1; // '://'
  i += 3;
  for (; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) break;
  }
  return i;
}

/** The query made forwardable: null on a raw control char; raw space/non-ASCII encoded. */
function safeQuery(t: string, from: number, to: number): string | null {
  let simple = true;
  for (let i = from; i < to; i++) {
    const c = t.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return null;
    if (c === 0x20 || c > 0x7e) simple = false;
  }
  if (simple) return t.slice(from, to);
  let out = '';
  for (let i = from; i < to; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x20) out += '%20';
    else if (c <= 0x7e) out += t[i];
    else if (c <= 0xff) out += pct(c);
    else {
      const cp = t.codePointAt(i) as number;
      if (cp >= 0xd800 && cp <= 0xdfff) return null;
      out += encodeURIComponent(String.fromCodePoint(cp));
      if (cp > 0xffff) i++;
    }
  }
  return out;
}

/** Slow path: decode/encode per char, validate UTF-8, resolve segments. */
function rebuild(t: string, start: number, end: number): string | { error: string } {
  const segs: string[] = [];
  let cur = '';
  // UTF-8 decoder state (RFC 3629 §4): continuation bytes still expected and the
  // allowed range of the next one (narrowed after E0, ED, F0, F4).
  let need = 0;
  let lo = 0x80;
  let hi = 0xbf;

  const byte = (b: number): string | null => {
    if (need > 0) {
      if (b < lo || b > hi) return 'percent-encoded bytes are not valid UTF-8';
      cur += pct(b);
      need--;
      lo = 0x80;
      hi = 0xbf;
      return null;
    }
    if (b < 0x80) {
      if (b < 0x20 || b === 0x7f) return 'encoded control character (e.g. %00)';
      cur += isUnreserved(b) ? String.fromCharCode(b) : pct(b);
      return null;
    }
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else return 'percent-encoded bytes are not valid UTF-8 (overlong or out of range)';
    // Second-byte ranges that exclude overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    if (b === 0xe0) lo = 0xa0;
    else if (b === 0xed) hi = 0x9f;
    else if (b === 0xf0) lo = 0x90;
    else if (b === 0xf4) hi = 0x8f;
    cur += pct(b);
    return null;
  };

  let last = '';
  for (let i = start + 1; ; i++) {
    const c = i < end ? t.charCodeAt(i) : -1;
    if (c === -1 || c === 47) {
      if (need > 0) return { error: 'truncated UTF-8 sequence' };
      if (cur === '' || cur === '.') {
        // empty (merged slash) or current-directory segment: nothing to keep
      } else if (cur === '..') {
        segs.pop();
      } else {
        if (isDotWithParam(cur)) return { error: `dot segment with a ';' parameter ('${cur}')` };
        segs.push(cur);
      }
      if (c === -1) {
        last = cur;
        break;
      }
      cur = '';
      continue;
    }
    let err: string | null = null;
    if (c === 37 /* % */) {
      const h = hexVal(t.charCodeAt(i + 1));
      const l = i + 2 < end ? hexVal(t.charCodeAt(i + 2)) : -1;
      if (h < 0 || l < 0 || i + 1 >= end) return { error: 'malformed percent escape' };
      i += 2;
      err = byte(h * 16 + l);
    } else if (c < 0x80) {
      if (need > 0) return { error: 'percent-encoded bytes are not valid UTF-8' };
      if (c < 0x20 || c === 0x7f) return { error: 'control character in path' };
      if (c === 0x5c) return { error: "backslash in path (write '/' or %5C)" };
      cur += ENCODE_RAW[c] === 1 ? pct(c) : t[i];
    } else if (c <= 0xff) {
      err = byte(c);
    } else {
      // A UTF-16 code unit above latin1: encode the code point as UTF-8.
      if (need > 0) return { error: 'percent-encoded bytes are not valid UTF-8' };
      const cp = t.codePointAt(i) as number;
      if (cp >= 0xd800 && cp <= 0xdfff) return { error: 'lone UTF-16 surrogate in path' };
      if (cp > 0xffff) i++;
      const enc = encodeURIComponent(String.fromCodePoint(cp));
      for (let k = 0; k < enc.length; k += 3) cur += enc.slice(k, k + 3);
    }
    if (err !== null) return { error: err };
  }

  const trailing = last === '' || last === '.' || last === '..';
  if (segs.length === 0) return '/';
  return `/${segs.join('/')}${trailing ? '/' : ''}`;
}

/** '.;x', '..;', '..%3Bx': a dot segment hidden behind a path parameter. */
function isDotWithParam(seg: string): boolean {
  if (seg.charCodeAt(0) !== 46) return false;
  const i = seg.charCodeAt(1) === 46 ? 2 : 1;
  if (seg.charCodeAt(i) === 59 /* ; */) return true;
  return seg.startsWith('%3B', i);
}

export { decodePathParam } from '../util/decode-path-param.js';
