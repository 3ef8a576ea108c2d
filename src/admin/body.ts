/**
 * Request bodies of the Admin API: a size-capped read, JSON parsing that refuses what the rest of the
 * config machinery should never see, and JSON Merge Patch (RFC 7396).
 */
import type http from 'node:http';

/** Largest accepted body. A whole config of several thousand routes fits; one entity is far smaller. */
export const MAX_BODY_BYTES = 1_048_576;
/**
 * Deepest accepted nesting. The deepest config path is about ten levels (apis[].routes[].plugins.waf.rules[]
 * ...); a mock body may nest more, but nothing legitimate nests this far, and validator, YAML parser and
 * structuredClone all recurse, so an unbounded depth would reach them as a stack overflow.
 */
export const MAX_DEPTH = 64;

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** application/json, or any application/*+json (application/merge-patch+json for PATCH). */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = (header.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * Reads the body, counting bytes as they arrive: a Content-Length above the limit is refused before
 * anything is read, and a chunked body is cut off the moment it passes the limit rather than buffered first.
 */
export function readBody(req: http.IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        // Keep draining (and discarding) so the 413 can be written and read; the caller closes the connection.
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    // A client that goes away mid-body: 'close' without 'end' (or an 'error'); nobody reads the answer.
    const cut = () => {
      if (done) return;
      done = true;
      reject(new BodyError(400, 'the request body was cut off'));
    };
    req.once('error', cut);
    req.once('close', cut);
  });
}

function tooLarge(limit: number): BodyError {
  return new BodyError(413, `the request body is larger than ${limit} bytes`);
}

/**
 * JSON.parse plus the checks that make the value safe to hand to the config machinery: bounded depth,
 * and no `__proto__` keys. JSON.parse itself makes `__proto__` an own property (no pollution), but the
 * first `obj[key] = value` copy down the line (merge patch, assembling a document, a map of entities)
 * would set a prototype instead, so the key is refused at the door.
 */
export function parseJson(buf: Buffer): unknown {
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new BodyError(400, 'the request body is empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BodyError(400, `invalid JSON: ${(e as Error).message}`);
  }
  checkValue(value);
  return value;
}

/** Iterative (an explicit stack), so a hostile depth is measured without recursing into it. */
function checkValue(root: unknown): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) throw new BodyError(400, `the JSON nests deeper than ${MAX_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === '__proto__') throw new BodyError(400, 'the key "__proto__" is not allowed');
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * RFC 7396 JSON Merge Patch: objects merge key by key, `null` deletes a key, anything else (arrays
 * included) replaces. The target is not modified. Both sides went through parseJson or came from the
 * store, so `__proto__` cannot appear; keys are still defined as own properties to be sure.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else Object.defineProperty(out, key, { value: mergePatch(out[key], value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
