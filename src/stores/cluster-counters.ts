/**
 * Node-wide counters with `serve --workers N`: the cluster primary owns the one MemoryCounterStore,
 * workers send every counter operation to it, so a `local` limit of 100/minute admits 100 per node,
 * not N × 100 (processes share no memory).
 *
 * Channel: one Unix domain socket (a named pipe on Windows) per node, one connection per worker,
 * with a compact binary framing (below), not the cluster IPC channel. Measured on the 2-core dev VM
 * (`node bench/counters-ipc-micro.mjs`: one worker, 64 incrementSliding calls in flight, the primary
 * answering from a MemoryCounterStore): process.send with JSON ~160k calls/s at ~5.6 µs of worker CPU
 * per call (without any deadline handling); this socket ~280k calls/s at ~2.5 µs (coalesced writes,
 * fixed-size replies, no JSON). The cluster channel also carries the cluster module's own messages
 * and prom-client's metric aggregation, which counter traffic would queue behind.
 *
 * Request frame: u32 length of the rest | u32 id | u8 op | f64 deadline (epoch ms) | 4 × f64 arguments | key (UTF-8).
 * Reply frame (fixed 37 bytes): u32 id | u8 status (0 refused, 1 allowed, 2 slot granted, 254 expired, 255 error) | 4 × f64 results.
 *
 * Concurrency slots (concurrency-limit): `acquire` (op 4, a = max) is answered like the others, the
 * request id becoming the slot's ticket; `release` (op 5, id = the ticket, no key) gets no reply.
 * The primary records which connection holds which ticket: a release frees a slot only if that
 * connection holds that ticket (exactly once per acquire, never below zero), and every slot still
 * held when a worker's connection closes is freed then, so a crashed worker leaks nothing. A grant
 * that reaches a worker after its deadline (it already counted locally) is released at once.
 * Ids match replies to calls; replies come back in order, but nothing relies on it. The primary does
 * not count a call whose deadline has passed when it reads it (a stalled primary reading a backlog):
 * the worker has already applied its fallback to that request, which must not count twice.
 *
 * Batching: a worker corks its frames until setImmediate (every frame produced while one poll phase
 * runs its I/O callbacks goes out in one write); the primary answers all frames of one read in one write.
 *
 * Deadline: every call rejects with CounterStoreUnavailable after `timeoutMs` (default 200 ms) or
 * at once when the connection is down, so a lost or stalled primary never hangs a request: the
 * plugin applies its fallback. Each call's deadline is an entry in the process's deadline queue
 * (src/util/deadline-queue.ts: one Node timer for every limit; arming appends to the lane of the
 * timeout, a reply unlinks), not a timer per call.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEADLINES, Deadline, type DeadlineLane, type DeadlineQueue } from '../util/deadline-queue.js';
import { CounterStoreUnavailable, type CounterStore, type SlotResult, type TokenBucketResult, type WindowResult } from './types.js';

/** Where workers find the primary's socket (set by the primary before it forks; inherited by workers). */
export const COUNTERS_SOCKET_ENV = 'TURNPIKE_COUNTERS_SOCKET';
/** Per-call deadline override in ms (operators, tests). */
export const COUNTERS_TIMEOUT_ENV = 'TURNPIKE_COUNTERS_TIMEOUT_MS';

const OP_TOKEN = 1;
const OP_WINDOW = 2;
const OP_SLIDING = 3;
const OP_ACQUIRE = 4;
const OP_RELEASE = 5;
const REQ_HEAD = 4 + 4 + 1 + 8 + 32;
const REPLY = 4 + 1 + 32;
const STATUS_ERROR = 255;
const STATUS_EXPIRED = 254;
/** Acquire granted: distinct from 1 so a worker can recognise a late grant it no longer waits for. */
const STATUS_SLOT = 2;
const MAX_UNSENT_BYTES = 1 << 20;

// ---------------------------------------------------------------------------------------------
// Primary side

export interface CounterServer {
  readonly path: string;
  close(): Promise<void>;
}

/** `<tmpdir>/turnpike-counters-<primary pid>-XXXXXX/counters.sock`: the pid lets a later start tell a dead primary's directory. */
const SOCKET_DIR_PREFIX = 'turnpike-counters-';

/**
 * A primary that was SIGKILLed (or lost power) could not remove its socket directory. The next primary
 * started by the same user removes those whose pid is no longer alive; a live pid (even one reused by
 * another program) keeps its directory, which errs on the side of leaving a few bytes behind.
 */
function sweepStaleSocketDirs(): void {
  const base = tmpdir();
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    if (!name.startsWith(SOCKET_DIR_PREFIX)) continue;
    const pid = Number(name.slice(SOCKET_DIR_PREFIX.length, name.indexOf('-', SOCKET_DIR_PREFIX.length)));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    const dir = join(base, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Gone already (another primary swept it) or not ours to remove: nothing to do.
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Serves `store` to the workers on a private socket and exports its path in the environment, so
 * workers forked afterwards connect to it. The socket lives in a fresh 0700 directory (a Linux
 * abstract socket would be reachable by any local user).
 */
export async function serveCounters(store: CounterStore, onError?: (err: Error) => void): Promise<CounterServer> {
  let dir: string | undefined;
  let path: string;
  if (process.platform === 'win32') path = `\\\\.\\pipe\\turnpike-counters-${process.pid}-${Date.now()}`;
  else {
    sweepStaleSocketDirs();
    try {
      dir = mkdtempSync(join(tmpdir(), `${SOCKET_DIR_PREFIX}${process.pid}-`));
    } catch (err) {
      onError?.(new Error(`cannot create a directory for the counter socket (${(err as Error).message}): each worker counts for itself`));
      return { path: '', close: async () => undefined };
    }
    path = join(dir, 'counters.sock');
  }
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer | undefined;
    // Tickets (acquire ids) of this connection's slots, with their keys.
    const held = new Map<number, string>();
    socket.on('data', (chunk: Buffer) => {
      const buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      // Count complete frames first, so the replies go out in one buffer and one write.
      let frames = 0;
      for (let at = 0; at + 4 <= buf.length; ) {
        const end = at + 4 + buf.readUInt32LE(at);
        if (end > buf.length) break;
        frames++;
        at = end;
      }
      const out = Buffer.allocUnsafe(frames * REPLY);
      let at = 0;
      let replies = 0;
      for (let i = 0; i < frames; i++) {
        const end = at + 4 + buf.readUInt32LE(at);
        if (buf[at + 8] === OP_RELEASE) release(store, held, buf.readUInt32LE(at + 4));
        else answer(store, buf, at + 4, end, out, replies++ * REPLY, held);
        at = end;
      }
      if (at < buf.length) pending = buf.subarray(at);
      if (replies > 0) socket.write(replies === frames ? out : out.subarray(0, replies * REPLY));
    });
    socket.on('error', (err) => onError?.(err));
    socket.on('close', () => {
      sockets.delete(socket);
      for (const key of held.values()) store.releaseSlot?.(key);
      held.clear();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // Serving anyway beats refusing to start: workers then count alone (per-worker limits), said loudly.
    onError?.(new Error(`cannot serve the node's counters to workers on ${path} (${(err as Error).message}): each worker counts for itself`));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    delete process.env[COUNTERS_SOCKET_ENV];
    return { path: '', close: async () => undefined };
  }
  server.on('error', (err) => onError?.(err));
  process.env[COUNTERS_SOCKET_ENV] = path;
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs one request frame (buf[start, end)) against the store and writes its reply at out[o]. */
function answer(store: CounterStore, buf: Buffer, start: number, end: number, out: Buffer, o: number, held: Map<number, string>): void {
  const id = buf.readUInt32LE(start);
  const op = buf[start + 4];
  out.writeUInt32LE(id, o);
  if (buf.readDoubleLE(start + 5) < Date.now()) {
    out[o + 4] = STATUS_EXPIRED;
    return;
  }
  const a = buf.readDoubleLE(start + 13);
  const b = buf.readDoubleLE(start + 21);
  const c = buf.readDoubleLE(start + 29);
  const d = buf.readDoubleLE(start + 37);
  const key = buf.toString('utf8', start + REQ_HEAD - 4, end);
  try {
    // The primary's store is the in-memory one: synchronous. A promise here would be a wiring bug.
    if (op === OP_ACQUIRE) {
      if (store.acquireSlot === undefined) throw new Error('no slots');
      const r = store.acquireSlot(key, a) as SlotResult;
      if (r.allowed) held.set(id, key);
      out[o + 4] = r.allowed ? STATUS_SLOT : 0;
      out.writeDoubleLE(r.inFlight, o + 5);
    } else if (op === OP_TOKEN) {
      const r = store.takeToken(key, a, b, c) as TokenBucketResult;
      out[o + 4] = r.allowed ? 1 : 0;
      out.writeDoubleLE(r.remaining, o + 5);
      out.writeDoubleLE(r.retryAfterMs, o + 13);
    } else {
      const r = (op === OP_WINDOW ? store.incrementWindow(key, a, b, c, d) : store.incrementSliding(key, a, b, c)) as WindowResult;
      out[o + 4] = r.allowed ? 1 : 0;
      out.writeDoubleLE(r.count, o + 5);
      out.writeDoubleLE(r.remaining, o + 13);
      out.writeDoubleLE(r.resetAtMs, o + 21);
    }
  } catch {
    out[o + 4] = STATUS_ERROR;
  }
}

function release(store: CounterStore, held: Map<number, string>, ticket: number): void {
  const key = held.get(ticket);
  if (key === undefined) return; // already released, never granted, or freed with an earlier connection
  held.delete(ticket);
  store.releaseSlot?.(key);
}

// ---------------------------------------------------------------------------------------------
// Worker side

/** One call waiting for its reply, armed in the deadline queue (which links it: `prev`/`next` are the queue's). */
class Pending extends Deadline<Pending> {
  id = 0;
  op = 0;
  resolve: (v: never) => void = noop;
  reject: (e: unknown) => void = noop;
  readonly store: ClusterCounterStore;

  constructor(store: ClusterCounterStore) {
    // Ref'd, as the per-store timer it replaces was: a worker with calls in flight waits for their deadline.
    super(expire, undefined as unknown as Pending);
    this.arg = this;
    this.store = store;
  }
}
const noop = (): void => undefined;

function expire(entry: Pending): void {
  entry.store.expire(entry);
}

// Module-level executor: capturing resolve/reject without allocating a closure per call.
let slotResolve: (v: never) => void = noop;
let slotReject: (e: unknown) => void = noop;
function executor(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  slotResolve = resolve;
  slotReject = reject;
}

export interface ClusterCounterStoreOptions {
  /** Socket path of the primary (default: TURNPIKE_COUNTERS_SOCKET). */
  path: string;
  /** Per-call deadline in ms; when set, the config's server.counters.workerTimeoutMs does not change it (default 200). */
  timeoutMs?: number;
  /** Minimum time between two connection attempts in ms (default 100). */
  reconnectMs?: number;
  /** Where the call deadlines are armed (default: the process's queue). */
  queue?: DeadlineQueue;
}

/** A worker's deadline on its primary's counter store unless the config or TURNPIKE_COUNTERS_TIMEOUT_MS says otherwise. */
const DEFAULT_TIMEOUT_MS = 200;

export class ClusterCounterStore implements CounterStore {
  readonly #path: string;
  #timeoutMs: number;
  /** The deadline from TURNPIKE_COUNTERS_TIMEOUT_MS / the options: it wins over the config's. */
  readonly #fixedTimeoutMs: number | undefined;
  readonly #reconnectMs: number;
  #socket: net.Socket | undefined;
  #connected = false;
  #lastAttemptMs = Number.NEGATIVE_INFINITY;
  #closed = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: DeadlineQueue;
  /** The lane of the current deadline (re-resolved when the config changes it). */
  #lane: DeadlineLane;
  #corked = false;
  #rest: Buffer | undefined;

  constructor(options: ClusterCounterStoreOptions) {
    this.#path = options.path;
    this.#fixedTimeoutMs = options.timeoutMs;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#reconnectMs = options.reconnectMs ?? 100;
    this.#queue = options.queue ?? DEADLINES;
    this.#lane = this.#queue.lane(this.#timeoutMs);
  }

  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** server.counters.workerTimeoutMs of the config going live (undefined: the default). */
  configureDeadline(ms: number | undefined): void {
    const next = this.#fixedTimeoutMs ?? ms ?? DEFAULT_TIMEOUT_MS;
    if (next === this.#timeoutMs) return;
    this.#timeoutMs = next;
    this.#lane = this.#queue.lane(next);
    // Calls in flight keep their place: each is moved to the new lane, due no later than now + next.
    const now = this.#queue.now();
    const limit = now + next;
    for (const e of this.#pending.values()) if (e.at > limit) this.#lane.startAt(e, limit, now);
  }

  get connected(): boolean {
    return this.#connected;
  }

  takeToken(key: string, rate: number, burst: number, cost = 1): Promise<TokenBucketResult> {
    return this.#call(OP_TOKEN, key, rate, burst, cost, 0) as Promise<TokenBucketResult>;
  }

  incrementWindow(key: string, windowStartMs: number, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return this.#call(OP_WINDOW, key, windowStartMs, windowMs, limit, cost) as Promise<WindowResult>;
  }

  incrementSliding(key: string, windowMs: number, limit: number, cost = 1): Promise<WindowResult> {
    return this.#call(OP_SLIDING, key, windowMs, limit, cost, 0) as Promise<WindowResult>;
  }

  acquireSlot(key: string, max: number): Promise<SlotResult> {
    return this.#call(OP_ACQUIRE, key, max, 0, 0, 0) as Promise<SlotResult>;
  }

  /**
   * No reply, no deadline: a release lost with the connection needs none, since the primary frees
   * every slot of a connection when it closes. Never opens a connection for itself, for the same reason.
   */
  releaseSlot(_key: string, ticket?: number): void {
    if (ticket !== undefined) this.#sendRelease(ticket);
  }

  #sendRelease(ticket: number): void {
    const socket = this.#socket;
    if (socket === undefined || this.#closed) return;
    const frame = Buffer.alloc(REQ_HEAD);
    frame.writeUInt32LE(REQ_HEAD - 4, 0);
    frame.writeUInt32LE(ticket, 4);
    frame[8] = OP_RELEASE;
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(uncork, this, socket);
    }
    socket.write(frame);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll('counter store is closed');
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #call(op: number, key: string, a: number, b: number, c: number, d: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new CounterStoreUnavailable('counter store is closed'));
    const socket = this.#ensureSocket();
    if (socket === undefined) return Promise.reject(new CounterStoreUnavailable('the cluster primary\'s counter store is not reachable'));
    // A stalled primary stops reading: calls time out, but their frames would pile up in the socket's
    // write buffer. Past a bound, fail at once instead (a frame is ~100 bytes: ~10,000 frames).
    if (socket.writableLength > MAX_UNSENT_BYTES) return Promise.reject(new CounterStoreUnavailable('the cluster primary is not reading its counter socket'));
    const keyBytes = Buffer.byteLength(key);
    const frame = Buffer.allocUnsafe(REQ_HEAD + keyBytes);
    const id = this.#nextId;
    this.#nextId = id === 0xffffffff ? 1 : id + 1;
    frame.writeUInt32LE(REQ_HEAD - 4 + keyBytes, 0);
    frame.writeUInt32LE(id, 4);
    frame[8] = op;
    frame.writeDoubleLE(Date.now() + this.#timeoutMs, 9);
    frame.writeDoubleLE(a, 17);
    frame.writeDoubleLE(b, 25);
    frame.writeDoubleLE(c, 33);
    frame.writeDoubleLE(d, 41);
    frame.write(key, REQ_HEAD, 'utf8');
    if (!this.#corked) {
      this.#corked = true;
      socket.cork();
      setImmediate(uncork, this, socket);
    }
    socket.write(frame);

    const p = new Promise(executor);
    const entry = new Pending(this);
    entry.id = id;
    entry.op = op;
    entry.resolve = slotResolve;
    entry.reject = slotReject;
    this.#pending.set(id, entry);
    this.#lane.start(entry);
    return p;
  }

  /** @internal flushes the frames corked during this loop iteration. */
  flush(socket: net.Socket): void {
    this.#corked = false;
    socket.uncork();
  }

  #ensureSocket(): net.Socket | undefined {
    if (this.#socket !== undefined) return this.#socket;
    const now = performance.now();
    // While the primary is unreachable, fail fast and try again at most every reconnectMs.
    if (now - this.#lastAttemptMs < this.#reconnectMs) return undefined;
    this.#lastAttemptMs = now;
    const socket = net.connect(this.#path);
    socket.setNoDelay(true);
    socket.on('connect', () => {
      this.#connected = true;
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', noop); // 'close' follows and fails the pending calls
    socket.on('close', () => {
      if (this.#socket === socket) {
        this.#socket = undefined;
        this.#connected = false;
        this.#rest = undefined;
        this.#corked = false;
        this.#failAll('the connection to the cluster primary\'s counter store was lost');
      }
    });
    // Never keep a worker alive for the counter connection alone.
    socket.unref();
    this.#socket = socket;
    return socket;
  }

  #onData(chunk: Buffer): void {
    const buf = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk]);
    this.#rest = undefined;
    let at = 0;
    for (; at + REPLY <= buf.length; at += REPLY) {
      const id = buf.readUInt32LE(at);
      const status = buf[at + 4];
      const entry = this.#pending.get(id);
      if (entry === undefined) {
        // Timed out: the plugin counted this request locally, so a slot granted late is handed back.
        if (status === STATUS_SLOT) this.#sendRelease(id);
        continue;
      }
      this.#unlink(entry);
      if (status === STATUS_ERROR || status === STATUS_EXPIRED) {
        entry.reject(new CounterStoreUnavailable(status === STATUS_ERROR ? 'the cluster primary\'s counter store failed' : 'the cluster primary answered after the deadline'));
        continue;
      }
      const allowed = status === 1 || status === STATUS_SLOT;
      if (entry.op === OP_ACQUIRE) {
        entry.resolve({ allowed, inFlight: buf.readDoubleLE(at + 5), ...(allowed ? { ticket: id } : {}) } satisfies SlotResult as never);
      } else if (entry.op === OP_TOKEN) {
        entry.resolve({ allowed, remaining: buf.readDoubleLE(at + 5), retryAfterMs: buf.readDoubleLE(at + 13) } satisfies TokenBucketResult as never);
      } else {
        entry.resolve({ allowed, count: buf.readDoubleLE(at + 5), remaining: buf.readDoubleLE(at + 13), resetAtMs: buf.readDoubleLE(at + 21) } satisfies WindowResult as never);
      }
    }
    if (at < buf.length) this.#rest = buf.subarray(at);
  }

  #unlink(entry: Pending): void {
    this.#pending.delete(entry.id);
    entry.cancel();
  }

  /** @internal a call's deadline passed (the queue has unlinked it). */
  expire(entry: Pending): void {
    this.#pending.delete(entry.id);
    entry.reject(new CounterStoreUnavailable(`the cluster primary's counter store did not answer within ${this.#timeoutMs} ms`));
  }

  #failAll(message: string): void {
    const entries = [...this.#pending.values()];
    this.#pending.clear();
    for (const e of entries) {
      e.cancel();
      e.reject(new CounterStoreUnavailable(message));
    }
  }
}

function uncork(store: ClusterCounterStore, socket: net.Socket): void {
  store.flush(socket);
}

/**
 * The counter store a cluster worker uses: the primary's, when the primary exported its socket
 * (serveCounters); undefined in a single process or when nothing was exported.
 */
export function workerCounterStore(isWorker: boolean): ClusterCounterStore | undefined {
  const path = process.env[COUNTERS_SOCKET_ENV];
  if (!isWorker || path === undefined || path === '') return undefined;
  const t = Number(process.env[COUNTERS_TIMEOUT_ENV]);
  return new ClusterCounterStore({ path, ...(Number.isInteger(t) && t > 0 ? { timeoutMs: t } : {}) });
}
