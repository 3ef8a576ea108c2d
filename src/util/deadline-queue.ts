/**
 * The gateway's one timer facility. Every time limit — upstream connect, first byte, idle and total,
 * function and Lambda-authorizer timeouts, JWKS and health-probe fetches, counter-store calls — is a
 * `Deadline` in one `DeadlineQueue` per process (`DEADLINES`), and the process has ONE Node timer for
 * all of them, armed for the earliest deadline.
 *
 * Why not a setTimeout per limit, and why not undici's timeouts:
 * - undici runs its connect, headers and body timeouts on its own coarse timers (a ~500 ms tick for
 *   anything it considers long), so `connectMs`/`firstByteMs` of 100 ms fired after ~1,005 ms and
 *   1,000 ms after ~1,504 ms. Those undici timeouts are now switched off; these deadlines abort the
 *   exchange instead, at their time plus Node's timer granularity (~1 ms) plus event-loop lag.
 * - a setTimeout + clearTimeout pair per request (what the proxy's total timeout was) builds a
 *   Timeout object with async-hooks ids, asks libuv for the loop time and links it into Node's
 *   per-duration list; here arming is a tail append to a linked list and cancelling an unlink.
 *   `node bench/deadline-micro.mjs` (2-core dev VM, idle): setTimeout + clearTimeout ~120 ns per pair
 *   vs lane.start + cancel ~15 ns (8x); under valgrind the request path lost ~1.9k instructions per
 *   proxied request with this and undici's per-request timers gone (docs/benchmark.md).
 *
 * Structure: deadlines live in lanes, one lane per duration (`queue.lane(ms)`, resolved once at
 * compile time by whoever owns the limit). A lane is a doubly linked list sorted by deadline. Entries
 * armed with `lane.start()` are due `ms` after now, and now only grows, so arming is an append at the
 * tail, O(1); an entry armed for an absolute time (`lane.startAt()`, e.g. min(function timeout,
 * caller's deadline)) is inserted from the tail, passing only the entries due later than it (callers
 * use this where a lane holds few entries, such as one per busy function worker). Cancelling is an
 * unlink, O(1). Re-arming the lane's last entry (an idle timeout refreshed per body chunk while it
 * is the newest) only moves its time.
 *
 * The earliest deadline is the smallest lane head. The Node timer is armed for it; when that entry is
 * cancelled the timer is left alone (it fires early, finds nothing due and re-arms for the earliest
 * left), so under steady traffic the timer fires about once per shortest armed duration, not once per
 * request, and is re-armed (clearTimeout + setTimeout) only when a new entry is due before it.
 *
 * Precision: times are performance.now() floats; the timer is armed for ceil(delay) ms and every due
 * entry fires in deadline order, never before its time (Node may run a timer a little early when the
 * loop iteration that armed it was long: then nothing is due yet and the timer is re-armed).
 * Ref: the timer keeps the process alive only while an entry created with `ref` is armed (the
 * proxy's entries are not: the client connection does that).
 */

export type Clock = () => number;

export interface TimerHandle {
  ref?(): unknown;
  unref?(): unknown;
}

/** Where the queue gets its one timer (tests inject a fake). */
export interface TimerHost {
  set(fn: () => void, ms: number): TimerHandle;
  clear(handle: TimerHandle): void;
}

const NODE_TIMERS: TimerHost = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** setTimeout's largest delay; a longer deadline is reached in several arms. */
const MAX_DELAY_MS = 2_147_483_647;

/**
 * One armed (or armable) time limit: calls `fire(arg)` once when due, unless cancelled first. Reusable:
 * arming an armed entry moves it. `fire` should be a module-level function and `arg` the object it
 * acts on, so arming allocates nothing per request beyond the entry itself.
 */
export class Deadline<A = unknown> {
  /** When it is due (the queue's clock, performance.now() by default); meaningful while armed. */
  at = 0;
  /** When it was armed: where the limit's clock started (logs report how long it ran). */
  startedAt = 0;
  /** @internal the lane it is linked in; undefined while not armed. */
  lane: DeadlineLane | undefined = undefined;
  /** @internal */
  prev: Deadline | undefined = undefined;
  /** @internal */
  next: Deadline | undefined = undefined;
  readonly fire: (arg: A) => void;
  arg: A;
  /** Keeps the process alive while armed (setTimeout's default; the proxy's entries pass false). */
  readonly ref: boolean;

  constructor(fire: (arg: A) => void, arg: A, ref = true) {
    this.fire = fire;
    this.arg = arg;
    this.ref = ref;
  }

  get armed(): boolean {
    return this.lane !== undefined;
  }

  /** O(1); a no-op when not armed. */
  cancel(): void {
    const lane = this.lane;
    if (lane !== undefined) lane.queue.remove(this as Deadline);
  }
}

/** The deadlines of one duration, sorted by time. Get one with `queue.lane(ms)`. */
export class DeadlineLane {
  readonly ms: number;
  readonly queue: DeadlineQueue;
  /** @internal */
  head: Deadline | undefined = undefined;
  /** @internal */
  tail: Deadline | undefined = undefined;
  /** @internal links in the queue's list of non-empty lanes */
  prevActive: DeadlineLane | undefined = undefined;
  /** @internal */
  nextActive: DeadlineLane | undefined = undefined;

  constructor(queue: DeadlineQueue, ms: number) {
    this.queue = queue;
    this.ms = ms;
  }

  /** Arms `d` to fire `ms` after `now` (pass a timestamp just read from the queue's clock to save a read). */
  start<A>(d: Deadline<A>, now: number = this.queue.now()): void {
    this.queue.insert(this, d as Deadline, now + this.ms, now);
  }

  /** Arms `d` to fire at `at` (for a limit cut short by an earlier deadline); sorted insert from the tail. */
  startAt<A>(d: Deadline<A>, at: number, now: number = this.queue.now()): void {
    this.queue.insert(this, d as Deadline, at, now);
  }
}

function byTime(a: Deadline, b: Deadline): number {
  return a.at - b.at;
}

export class DeadlineQueue {
  readonly now: Clock;
  readonly #host: TimerHost;
  readonly #lanes = new Map<number, DeadlineLane>();
  /** Entries taken out for the batch being fired; cancelling one of them marks it not to fire. */
  readonly #firingLane: DeadlineLane;
  /** Non-empty lanes (linked through prevActive/nextActive). */
  #active: DeadlineLane | undefined = undefined;
  #timer: TimerHandle | undefined = undefined;
  /** When the timer is armed for (Infinity: not armed). Never later than the earliest armed entry. */
  #timerAt = Number.POSITIVE_INFINITY;
  #refs = 0;
  #size = 0;
  #firing = false;
  readonly #onTimer = (): void => this.#run();

  constructor(opts: { now?: Clock; host?: TimerHost } = {}) {
    this.now = opts.now ?? (() => performance.now());
    this.#host = opts.host ?? NODE_TIMERS;
    this.#firingLane = new DeadlineLane(this, 0);
  }

  /**
   * The lane for a duration (ms, rounded up to a whole ms), shared by every limit of that duration.
   * Lanes are kept for the process's life: ask for configured durations, not computed ones.
   */
  lane(ms: number): DeadlineLane {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`a deadline lane needs a finite duration >= 0 (got ${ms})`);
    const key = Math.ceil(ms);
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = new DeadlineLane(this, key);
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  /** Armed entries. */
  get size(): number {
    return this.#size;
  }

  /** The earliest armed deadline (Infinity when none). */
  get nextAt(): number {
    let min = Number.POSITIVE_INFINITY;
    for (let l = this.#active; l !== undefined; l = l.nextActive) {
      const at = (l.head as Deadline).at;
      if (at < min) min = at;
    }
    return min;
  }

  /** @internal use lane.start / lane.startAt */
  insert(lane: DeadlineLane, d: Deadline, at: number, now: number): void {
    const cur = d.lane;
    if (cur !== undefined) {
      // Hot path of an idle timeout refreshed per chunk: the newest entry of its lane stays the tail.
      if (cur === lane && d.next === undefined && at >= d.at) {
        d.at = at;
        d.startedAt = now;
        return;
      }
      this.remove(d);
    }
    d.at = at;
    d.startedAt = now;
    d.lane = lane;
    const tail = lane.tail;
    if (tail === undefined) {
      d.prev = undefined;
      d.next = undefined;
      lane.head = d;
      lane.tail = d;
      this.#activate(lane);
    } else if (tail.at <= at) {
      d.prev = tail;
      d.next = undefined;
      tail.next = d;
      lane.tail = d;
    } else {
      let p = tail.prev;
      while (p !== undefined && p.at > at) p = p.prev;
      if (p === undefined) {
        const h = lane.head as Deadline;
        d.prev = undefined;
        d.next = h;
        h.prev = d;
        lane.head = d;
      } else {
        const n = p.next as Deadline;
        d.prev = p;
        d.next = n;
        n.prev = d;
        p.next = d;
      }
    }
    this.#size++;
    if (d.ref && this.#refs++ === 0) this.#timer?.ref?.();
    if (at < this.#timerAt && !this.#firing) this.#arm(at, now);
  }

  /** @internal use deadline.cancel() */
  remove(d: Deadline): void {
    const lane = d.lane;
    if (lane === undefined) return;
    d.lane = undefined;
    if (lane === this.#firingLane) return; // taken out for firing: now it will not fire
    const p = d.prev;
    const n = d.next;
    if (p === undefined) lane.head = n;
    else p.next = n;
    if (n === undefined) lane.tail = p;
    else n.prev = p;
    d.prev = undefined;
    d.next = undefined;
    this.#size--;
    if (d.ref && --this.#refs === 0) this.#timer?.unref?.();
    if (lane.head === undefined) this.#deactivate(lane);
  }

  #activate(lane: DeadlineLane): void {
    const first = this.#active;
    lane.prevActive = undefined;
    lane.nextActive = first;
    if (first !== undefined) first.prevActive = lane;
    this.#active = lane;
  }

  #deactivate(lane: DeadlineLane): void {
    const p = lane.prevActive;
    const n = lane.nextActive;
    if (p === undefined) this.#active = n;
    else p.nextActive = n;
    if (n !== undefined) n.prevActive = p;
    lane.prevActive = undefined;
    lane.nextActive = undefined;
  }

  #arm(at: number, now: number): void {
    const host = this.#host;
    if (this.#timer !== undefined) host.clear(this.#timer);
    const t = host.set(this.#onTimer, Math.min(MAX_DELAY_MS, Math.max(1, Math.ceil(at - now))));
    if (this.#refs === 0) t.unref?.();
    this.#timer = t;
    this.#timerAt = at;
  }

  /** The timer's callback: fires every due entry, in deadline order, then re-arms for the earliest left. */
  #run(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.now();
    const firing = this.#firingLane;
    let due: Deadline[] | undefined;
    for (let l = this.#active; l !== undefined; ) {
      const nextLane = l.nextActive;
      for (let d = l.head; d !== undefined && d.at <= now; d = l.head) {
        this.remove(d);
        d.lane = firing;
        if (due === undefined) due = [d];
        else due.push(d);
      }
      l = nextLane;
    }
    let failures: unknown[] | undefined;
    if (due !== undefined) {
      this.#firing = true;
      if (due.length > 1) due.sort(byTime);
      for (const d of due) {
        if (d.lane !== firing) continue; // cancelled by an earlier callback of this batch
        d.lane = undefined;
        try {
          d.fire(d.arg);
        } catch (err) {
          (failures ??= []).push(err);
        }
      }
      this.#firing = false;
    }
    const next = this.nextAt;
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next, this.now());
    // A throwing callback is an uncaught exception, as it would be from setTimeout; the others ran.
    if (failures !== undefined) {
      for (const err of failures) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}

/** The process's deadline queue: every time limit of the gateway is armed here. */
export const DEADLINES = new DeadlineQueue();

export interface DeadlineOptions {
  /** Keep the process alive while armed (default true, as setTimeout). */
  ref?: boolean;
  /** Due at this time instead of lane.ms from now (a limit cut short by an earlier deadline). */
  at?: number;
  /** "Now" on the queue's clock, when the caller has just read it (the limit starts there). */
  now?: number;
}

function rejectOnDeadline(s: { reject: (e: Error) => void; error: () => Error }): void {
  s.reject(s.error());
}

/**
 * `p`, or a rejection with `error()` when `lane`'s duration passes first (from `now`). One Deadline
 * in the queue instead of a setTimeout; cancelled when `p` settles.
 */
export function raceDeadline<T>(p: Promise<T>, lane: DeadlineLane, error: () => Error, opts: DeadlineOptions = {}): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const d = new Deadline(rejectOnDeadline, { reject, error }, opts.ref ?? true);
    const now = opts.now ?? lane.queue.now();
    if (opts.at !== undefined) lane.startAt(d, opts.at, now);
    else lane.start(d, now);
    p.then(
      (v) => {
        d.cancel();
        resolve(v);
      },
      (err: unknown) => {
        d.cancel();
        reject(err);
      },
    );
  });
}

function abortOnDeadline(s: { controller: AbortController; error: () => Error }): void {
  s.controller.abort(s.error());
}

/**
 * An AbortSignal aborted (with `error()`) when `lane`'s duration has passed: AbortSignal.timeout on the
 * shared queue. Call `cancel()` when the operation ends.
 */
export function deadlineSignal(lane: DeadlineLane, error: () => Error, opts: DeadlineOptions = {}): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const d = new Deadline(abortOnDeadline, { controller, error }, opts.ref ?? true);
  const now = opts.now ?? lane.queue.now();
  if (opts.at !== undefined) lane.startAt(d, opts.at, now);
  else lane.start(d, now);
  return { signal: controller.signal, cancel: () => d.cancel() };
}
