/**
 * $util functions of API Gateway mapping templates, written to match the Java
 * library calls AWS makes (see docs/mapping-templates.md).
 */
import { TemplateError } from './errors.js';

const HEX = '0123456789ABCDEF';

function hex4(code: number): string {
  return HEX[(code >> 12) & 15]! + HEX[(code >> 8) & 15]! + HEX[(code >> 4) & 15]! + HEX[code & 15]!;
}

/**
 * Apache commons-lang StringEscapeUtils.escapeJavaScript: escapes `'` as `\'`
 * (AWS documents this), `"`, `\`, `/`, the usual control escapes, other control
 * characters and everything above 0x7E as `\uXXXX` (upper-case hex).
 */
export function escapeJavaScript(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 32) {
      switch (c) {
        case 8:
          rep = '\\b';
          break;
        case 9:
          rep = '\\t';
          break;
        case 10:
          rep = '\\n';
          break;
        case 12:
          rep = '\\f';
          break;
        case 13:
          rep = '\\r';
          break;
        default:
          rep = `\\u${hex4(c)}`;
      }
    } else if (c > 0x7f) rep = `\\u${hex4(c)}`;
    else if (c === 39) rep = "\\'";
    else if (c === 34) rep = '\\"';
    else if (c === 92) rep = '\\\\';
    else if (c === 47) rep = '\\/';
    if (rep !== undefined) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

const URL_SAFE = /^[A-Za-z0-9.\-*_]*$/;

/** java.net.URLEncoder.encode(s, UTF-8): space -> '+', keeps `A-Za-z0-9.-*_`. */
export function urlEncode(s: string): string {
  if (URL_SAFE.test(s)) return s;
  // encodeURIComponent leaves !'()~ alone; Java encodes them. It also throws on
  // lone surrogates, which Java replaces with '?'.
  const wellFormed = (s as string & { toWellFormed(): string }).toWellFormed();
  return encodeURIComponent(wellFormed)
    .replace(/[!'()~]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** java.net.URLDecoder.decode(s, UTF-8): '+' -> space; a bad escape is an error. */
export function urlDecode(s: string): string {
  if (!/[+%]/.test(s)) return s;
  const plus = s.replace(/\+/g, ' ');
  if (/%(?![0-9A-Fa-f]{2})/.test(plus)) {
    throw new TemplateError('URLDecoder: Illegal hex characters in escape (%) pattern', 'TEMPLATE_RENDER');
  }
  // Decode runs of escapes as UTF-8 bytes; malformed sequences become U+FFFD like Java.
  return plus.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    const bytes = Buffer.from(run.replace(/%/g, ''), 'hex');
    return bytes.toString('utf8');
  });
}

export function base64Encode(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** java.util.Base64 decoder (basic alphabet); the decoded bytes are read as UTF-8. */
export function base64Decode(s: string): string {
  const t = s.trim();
  if (!B64.test(t) || t.length % 4 === 1) {
    throw new TemplateError('base64Decode: input is not valid base64', 'TEMPLATE_RENDER');
  }
  return Buffer.from(t, 'base64').toString('utf8');
}
