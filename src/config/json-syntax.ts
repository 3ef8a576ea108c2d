/**
 * A strict JSON (RFC 8259) syntax checker that reports the first error with its offset
 * and a message in JSON terms.
 *
 * Why not JSON.parse: its messages and whether they carry a position differ across V8
 * versions. Why not let the yaml parser report: JSON files are parsed by `yaml` for the
 * positions (JSON is a YAML subset), but its syntax errors speak YAML ("flow sequence",
 * "implicit key") and it accepts things JSON does not (comments, single quotes, trailing
 * commas). This checker runs first, so a JSON file gets JSON errors.
 */

export interface JsonSyntaxError {
  offset: number;
  message: string;
}

// Nesting deeper than this is not a plausible config and would only risk the stack of later walkers.
const MAX_DEPTH = 1000;

export function checkJsonSyntax(text: string): JsonSyntaxError | undefined {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;

  class Fail {
    constructor(
      readonly offset: number,
      readonly message: string,
    ) {}
  }
  const fail = (offset: number, message: string): never => {
    throw new Fail(offset, message);
  };
  const describe = (at: number): string => {
    if (at >= n) return 'end of input';
    const ch = text[at] as string;
    const code = ch.charCodeAt(0);
    if (code < 0x20) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
    return `'${ch}'`;
  };

  const skipWs = (): void => {
    for (;;) {
      while (i < n) {
        const c = text[i];
        if (c === ' ' || c === '\t' || c === '\n' || c === '\r') i++;
        else break;
      }
      if (text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
        fail(i, 'comments are not allowed in JSON');
      }
      if (text[i] === '#') fail(i, 'comments are not allowed in JSON');
      return;
    }
  };

  const parseString = (): void => {
    // at opening quote
    const start = i;
    i++;
    for (;;) {
      if (i >= n) fail(start, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail(i, 'invalid \\u escape in string (needs 4 hex digits)');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          fail(i, `invalid escape sequence '\\${e ?? ''}' in string`);
        }
        continue;
      }
      if (c < 0x20) {
        fail(i, c === 0x0a ? 'unterminated string (a line break inside a string must be written as \\n)' : `${describe(i)} in string; escape it`);
      }
      i++;
    }
  };

  const parseNumber = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '-' || m[0] === '') fail(i, `invalid number`);
    const after = text[i + (m as RegExpExecArray)[0].length];
    if (after !== undefined && /[0-9A-Za-z.+-]/.test(after)) fail(i, 'invalid number');
    i += (m as RegExpExecArray)[0].length;
  };

  const parseValue = (depth: number): void => {
    if (depth > MAX_DEPTH) fail(i, `nesting deeper than ${MAX_DEPTH} levels`);
    skipWs();
    if (i >= n) fail(i, 'unexpected end of input; expected a value');
    const c = text[i] as string;
    if (c === '{') {
      i++;
      skipWs();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') {
          if (text[i] === '}') fail(i, 'trailing comma is not allowed in JSON');
          if (i >= n) fail(i, "unexpected end of input; expected a property name or '}'");
          fail(i, `expected a property name in double quotes, got ${describe(i)}`);
        }
        parseString();
        skipWs();
        if (text[i] !== ':') fail(i, `expected ':' after property name, got ${describe(i)}`);
        i++;
        parseValue(depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(i, `expected ',' or '}' after property value, got ${describe(i)}`);
      }
    }
    if (c === '[') {
      i++;
      skipWs();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        parseValue(depth + 1);
        skipWs();
        if (text[i] === ',') {
          i++;
          skipWs();
          if (text[i] === ']') fail(i, 'trailing comma is not allowed in JSON');
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(i, `expected ',' or ']' after array element, got ${describe(i)}`);
      }
    }
    if (c === '"') {
      parseString();
      return;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      parseNumber();
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i) && !/[A-Za-z0-9_]/.test(text[i + word.length] ?? '')) {
        i += word.length;
        return;
      }
    }
    if (c === "'") fail(i, 'strings must use double quotes in JSON');
    fail(i, `unexpected ${describe(i)}; expected a value`);
  };

  try {
    parseValue(0);
    skipWs();
    if (i < n) fail(i, `unexpected ${describe(i)} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Fail) return { offset: e.offset, message: e.message };
    throw e;
  }
}
