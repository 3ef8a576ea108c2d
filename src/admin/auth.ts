/**
 * The admin token: where it comes from and how a request's bearer token is checked.
 *
 * Sources: the TURNPIKE_ADMIN_TOKEN environment variable or `--admin-token-file PATH`. There is no
 * plain `--admin-token` flag on purpose: command lines are world-readable in `ps` and /proc.
 *
 * Comparison: both sides are hashed with SHA-256 and the digests compared with timingSafeEqual. Hashing
 * first makes the comparison independent of the presented token's length (timingSafeEqual itself
 * throws on unequal lengths, and an early length check would leak the real token's length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const ADMIN_TOKEN_ENV = 'TURNPIKE_ADMIN_TOKEN';
/** Below this a token is guessable enough to be worth a warning at start. */
export const MIN_TOKEN_LENGTH = 16;

export class AdminTokenError extends Error {}

/**
 * The configured token, or undefined when none is. The file wins over the environment (it is the more
 * deliberate choice); a trailing newline, as `echo` and editors leave, is not part of the token.
 */
export function resolveAdminToken(opts: { file?: string; env?: NodeJS.ProcessEnv }): string | undefined {
  let token: string | undefined;
  if (opts.file !== undefined) {
    try {
      token = readFileSync(opts.file, 'utf8');
    } catch (e) {
      throw new AdminTokenError(`--admin-token-file ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    token = token.replace(/\r?\n$/, '');
    if (token === '') throw new AdminTokenError(`--admin-token-file ${opts.file}: the file is empty`);
  } else {
    const env = (opts.env ?? process.env)[ADMIN_TOKEN_ENV];
    token = env === undefined || env === '' ? undefined : env;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  if (token !== undefined && /[\s\u0000-\u001f\u007f]/.test(token)) {
    // A token with whitespace or control characters cannot be sent in an Authorization header intact.
    throw new AdminTokenError(`the admin token must not contain whitespace or control characters`);
  }
  return token;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export type TokenCheck = { ok: true } | { ok: false; reason: 'not-configured' | 'missing' | 'invalid' };

/** Builds the checker once, so the configured token's digest is computed at start, not per request. */
export function bearerChecker(token: string | undefined): (authorization: string | undefined) => TokenCheck {
  const expected = token === undefined ? undefined : digest(token);
  return (authorization) => {
    if (expected === undefined) return { ok: false, reason: 'not-configured' };
    // RFC 6750 §2.1: `Bearer` is case-insensitive; the token is everything after the spaces.
    const m = authorization === undefined ? null : /^Bearer +(\S+) *$/i.exec(authorization);
    if (m === null) return { ok: false, reason: 'missing' };
    return timingSafeEqual(digest(m[1] as string), expected) ? { ok: true } : { ok: false, reason: 'invalid' };
  };
}

/** Invalid tokens one client address may present per window before it is refused outright. */
export const AUTH_FAILURE_LIMIT = 10;
export const AUTH_FAILURE_WINDOW_MS = 60_000;
/** Addresses tracked at once; the oldest entry goes first, so a spray of addresses costs bounded memory. */
const MAX_TRACKED = 10_000;

interface Failures {
  count: number;
  /** When the window that counts these failures ends (a lockout lasts until then). */
  untilMs: number;
}

/**
 * Failed-token throttle per client address (the admin port trusts no X-Forwarded-For: the peer is the
 * client). After `limit` wrong tokens within a window (a missing token guesses nothing and is not
 * counted), every Admin API request from that address is answered 429 until the window ends, *before*
 * its token is looked at: a locked-out guesser learns nothing, even when it happens to send the right
 * token. A correct token does not reset the count (it would let a guesser holding one token keep
 * guessing at full speed).
 */
export class AuthFailureGuard {
  readonly #byAddress = new Map<string, Failures>();

  constructor(
    readonly limit = AUTH_FAILURE_LIMIT,
    readonly windowMs = AUTH_FAILURE_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must wait, or 0 when it may try. */
  blockedFor(address: string): number {
    const f = this.#byAddress.get(address);
    if (f === undefined) return 0;
    const left = f.untilMs - this.now();
    if (left <= 0) {
      this.#byAddress.delete(address);
      return 0;
    }
    return f.count >= this.limit ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one refused token; true when this failure is the one that locks the address out. */
  fail(address: string): boolean {
    const now = this.now();
    let f = this.#byAddress.get(address);
    if (f === undefined || f.untilMs <= now) {
      if (f !== undefined) this.#byAddress.delete(address);
      else if (this.#byAddress.size >= MAX_TRACKED) this.#byAddress.delete(this.#byAddress.keys().next().value as string);
      f = { count: 0, untilMs: now + this.windowMs };
      this.#byAddress.set(address, f);
    }
    f.count++;
    return f.count === this.limit;
  }
}
