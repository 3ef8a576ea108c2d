/**
 * API keys and usage plans: hashing, lookup and the calendar rules of quotas. Pure (no I/O), shared
 * by the `api-key` plugin and the `turnpike keys` command. docs/api-keys.md cites the AWS rules.
 *
 * Keys are stored only as `sha256:<hex>` of the key value. Lookup hashes the presented value once and
 * finds the entry by its digest in a Map, then confirms with `crypto.timingSafeEqual` on the two
 * 32-byte digests. Why a Map on the digest is safe: whatever timing the Map leaks is about the SHA-256
 * digest of the caller's own guess, and learning that a digest shares bytes with a stored one tells the
 * caller nothing about the key (preimage resistance), so the comparison is constant-time with respect
 * to every secret byte. Comparing plaintext keys with `===` would not be: it stops at the first byte
 * that differs.
 */
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const HASH_PREFIX = 'sha256:';
export const KEY_HASH_PATTERN = '^sha256:[0-9a-f]{64}$';
const KEY_HASH = new RegExp(KEY_HASH_PATTERN);

/** `sha256:<hex>` of a key value, as stored in the config. */
export function hashApiKey(key: string): string {
  return HASH_PREFIX + createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The 32-byte digest of a stored hash, or undefined when it is not `sha256:<64 lower-case hex>`. */
export function parseKeyHash(hash: string): Buffer | undefined {
  if (!KEY_HASH.test(hash)) return undefined;
  return Buffer.from(hash.slice(HASH_PREFIX.length), 'hex');
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random alphanumeric string. Rejection sampling (bytes >= 248 are dropped) keeps every character
 * equally likely: 248 = 4 * 62. 40 characters carry about 238 bits, like the 40-character keys AWS generates.
 */
export function randomAlphanumeric(length: number, alphabet = ALPHANUMERIC): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b >= limit) continue;
      out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new key value: 40 alphanumeric characters (AWS generates 40; it accepts 20-128). */
export function generateApiKey(): string {
  return randomAlphanumeric(40);
}

/** A new key id: 10 lower-case alphanumeric characters, like AWS's API key ids. */
export function generateKeyId(): string {
  return randomAlphanumeric(10, 'abcdefghijklmnopqrstuvwxyz0123456789');
}

export interface KeyEntry<T> {
  readonly digest: Buffer;
  /** The digest's lower-case hex as bytes: what find() compares in constant time. */
  readonly hex: Buffer;
  readonly value: T;
}

/**
 * Constant-time equality of two strings of the same length: every character is compared, so the time
 * depends on the length only. Lengths are not secret here (AWS keys are 40 characters; the stored
 * hash hides nothing about length either way).
 */
export function equalConstantTime(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The memo's comparison, hot path: a key value in UTF-16 code units, compared 32 bits at a time.
 * `equalConstantTime` reads two characters per position with `charCodeAt`, and V8 re-checks each
 * string's representation on every call: ~46 instructions per character under callgrind (~1.8k for an
 * AWS-length key of 40, the largest part of the api-key check). Here the value last presented on a
 * connection is kept as words, and a new one is copied into a scratch buffer by one `write` (a memcpy
 * in C++) and compared word by word. UTF-16 (not latin1 or UTF-8) because it is the string itself:
 * every code unit maps to two bytes, so two different strings never give the same bytes. The time
 * depends on the length only, as equalConstantTime's.
 */
const MEMO_MAX_UNITS = 256;
const SCRATCH_BYTES = MEMO_MAX_UNITS * 2 + 4;

/** Where a presented value is copied for the compare: one per KeyIndex (no module-level state), reused by every lookup. */
class Scratch {
  readonly bytes = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  readonly words = new Uint32Array(this.bytes.buffer, 0, SCRATCH_BYTES >> 2);
}
/**
 * `buf.write(s, 0, 'utf16le')` without resolving the encoding name on every call (~150 of its ~550
 * instructions): Buffer's own `ucs2Write`, which `write` ends in, where this Node has it.
 */
type Ucs2Writer = { ucs2Write(s: string, offset: number): number };
const writeUtf16: (buf: Buffer, s: string) => void =
  typeof (Buffer.prototype as unknown as Partial<Ucs2Writer>).ucs2Write === 'function'
    ? (buf, s) => {
        (buf as unknown as Ucs2Writer).ucs2Write(s, 0);
      }
    : (buf, s) => {
        buf.write(s, 0, 'utf16le');
      };

/** `s` as UTF-16LE words (the last word zero-padded), or undefined when longer than the scratch buffer. */
function wordsOf(s: string): Uint32Array | undefined {
  if (s.length > MEMO_MAX_UNITS) return undefined;
  const words = new Uint32Array((s.length * 2 + 3) >> 2);
  writeUtf16(Buffer.from(words.buffer, 0, words.byteLength), s);
  return words;
}

/** Whether `s` (of the memo's length) is the memo's value; constant-time in the content. */
function equalWords(scratch: Scratch, words: Uint32Array, s: string): boolean {
  const bytes = s.length * 2;
  const buf = scratch.bytes;
  const got = scratch.words;
  writeUtf16(buf, s);
  // An odd length leaves half a word: zero it as wordsOf did (the scratch holds an older value there).
  buf[bytes] = 0;
  buf[bytes + 1] = 0;
  let diff = 0;
  for (let i = 0; i < words.length; i++) diff |= (got[i] as number) ^ (words[i] as number);
  return diff === 0;
}

/** The last key looked up on one connection: what it was (as words when it fits) and what it found. */
interface ConnectionMemo<T> {
  presented: string;
  words: Uint32Array | undefined;
  value: T | undefined;
}

/** Whether `presented` is the value the memo holds, in time that depends on the length only. */
function memoHolds<T>(scratch: Scratch, memo: ConnectionMemo<T>, presented: string): boolean {
  if (memo.presented.length !== presented.length) return false;
  return memo.words !== undefined ? equalWords(scratch, memo.words, presented) : equalConstantTime(memo.presented, presented);
}

/**
 * Stored key hashes by digest; `find` is constant-time with respect to the stored keys (see the module comment).
 *
 * Per-connection memo: a client on a keep-alive connection sends the same key on every request, and the
 * SHA-256 is the largest part of a key check (~1.4 of ~2.5 CPU-µs on the bench VM, bench/keyauth-micro.mjs).
 * `find(presented, connection)` remembers the last presented value per connection (a WeakMap, so it goes
 * with the socket) and, when the next request presents a value equal to it in constant time, reuses the
 * answer without hashing. What the comparison can reveal is only whether the value equals the one last
 * presented on the same connection; behind a pooling load balancer that is another client's value, but
 * learning "my guess is exactly that value" is what a successful request with the guess tells anyway.
 * Unlike a process-wide cache keyed by the plaintext (a hash-table lookup on the secret), no secret is
 * ever compared byte by byte with early exit. The memo lives with the index, so a reload (new index)
 * starts afresh and a key disabled or removed by a reload is never served from it.
 */
export class KeyIndex<T> {
  readonly #byDigest = new Map<string, KeyEntry<T>>();
  readonly #byConnection = new WeakMap<object, ConnectionMemo<T>>();
  readonly #scratch = new Scratch();

  /** Returns false when the hash is malformed or already present. */
  add(hash: string, value: T): boolean {
    const digest = parseKeyHash(hash);
    if (digest === undefined) return false;
    const hex = digest.toString('hex');
    if (this.#byDigest.has(hex)) return false;
    this.#byDigest.set(hex, { digest, hex: Buffer.from(hex, 'latin1'), value });
    return true;
  }

  get size(): number {
    return this.#byDigest.size;
  }

  /**
   * The entry whose key is `presented`, or undefined. Hot path: one SHA-256, one Map lookup, one 64-byte
   * compare; with `connection` (the request's socket), a repeat of the connection's last value costs one
   * constant-time compare instead (memoHolds).
   */
  find(presented: string, connection?: object): T | undefined {
    if (connection === undefined) return this.#lookup(presented);
    const memo = this.#byConnection.get(connection);
    if (memo !== undefined) {
      if (memoHolds(this.#scratch, memo, presented)) return memo.value;
      const value = this.#lookup(presented);
      memo.presented = presented;
      memo.words = wordsOf(presented);
      memo.value = value;
      return value;
    }
    const value = this.#lookup(presented);
    this.#byConnection.set(connection, { presented, words: wordsOf(presented), value });
    return value;
  }

  #lookup(presented: string): T | undefined {
    // One-shot hash straight to hex (no Hash object, no digest Buffer + toString): ~560 ns per lookup
    // against ~920 ns for hash(..., 'buffer').toString('hex') on the development VM (Node 20).
    const hex = hash('sha256', presented, 'hex');
    const entry = this.#byDigest.get(hex);
    // The Map already matched the hex digest; the constant-time compare is the contract, not a second chance.
    if (entry === undefined || !timingSafeEqual(entry.hex, Buffer.from(hex, 'latin1'))) return undefined;
    return entry.value;
  }
}

// ------------------------------------------------------------------------------------------------
// Quotas

export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';

export interface QuotaWindow {
  /** Epoch ms of the period's first millisecond (00:00:00.000 UTC). */
  startMs: number;
  /** Epoch ms of the next period's start. */
  endMs: number;
}

const DAY_MS = 86_400_000;

/**
 * The quota period containing `nowMs`, in UTC: a DAY starts at 00:00 UTC, a WEEK at 00:00 UTC on
 * Sunday (AWS's QuotaSettings reference, in its earlier wording: "with a time period of WEEK, an
 * offset of 0 starts on Sunday"), a MONTH at 00:00 UTC on the 1st.
 */
export function quotaWindow(period: QuotaPeriod, nowMs: number): QuotaWindow {
  const d = new Date(nowMs);
  const dayStart = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'DAY') return { startMs: dayStart, endMs: dayStart + DAY_MS };
  if (period === 'WEEK') {
    const start = dayStart - d.getUTCDay() * DAY_MS;
    return { startMs: start, endMs: start + 7 * DAY_MS };
  }
  return { startMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), endMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/**
 * The limit that applies in the period starting at `windowStartMs`. AWS's `offset` is "the number of
 * requests subtracted from the given limit in the initial time period" (QuotaSettings, API reference);
 * the initial period is the one in which the key joined the plan, which Turnpike takes from the key's
 * `createdAt` (no `createdAt`: no initial period, the offset never applies).
 */
export function quotaLimit(limit: number, offset: number, period: QuotaPeriod, windowStartMs: number, createdAtMs: number | undefined): number {
  if (offset <= 0 || createdAtMs === undefined || Number.isNaN(createdAtMs)) return limit;
  return quotaWindow(period, createdAtMs).startMs === windowStartMs ? Math.max(0, limit - offset) : limit;
}
