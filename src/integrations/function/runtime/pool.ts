/**
 * FunctionPool: a pool of worker threads for one function, each a warm "Lambda container" that runs
 * one invocation at a time. See docs/functions.md.
 *
 * Life of an invocation: invoke() → an idle warm worker (most recently used first), else a new worker
 * while fewer than `concurrency` exist, else the bounded queue (throttled when full or after
 * queueTimeoutMs) → init (module import, bounded by initTimeoutMs) → run, bounded by
 * min(start + timeoutMs, deadlineMs); on the deadline the worker is terminated and replaced.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { basename, dirname, extname, isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DEADLINES, Deadline, type DeadlineLane } from '../../../util/deadline-queue.js';
import type { InvokeMessage, LambdaError, WorkerInit, WorkerMessage } from './protocol.js';
import {
  DEFAULTS,
  type FunctionLogger,
  type FunctionLogRecord,
  type FunctionPoolOptions,
  type FunctionPoolStats,
  type FunctionSpec,
  type InvokeErrorKind,
  type InvokeOptions,
  type InvokeResult,
  LOG_TAIL_BYTES,
} from './types.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Variables inherited from the gateway's own environment; everything else stays out of the function. */
const INHERITED_ENV = ['PATH', 'LANG', 'SYSTEMROOT'] as const;

interface ResolvedSpec {
  name: string;
  module: string;
  exportName: string;
  handlerName: string;
  timeoutMs: number;
  concurrency: number;
  memoryMb: number;
  environment: Record<string, string>;
  region: string;
  accountId: string;
  maxQueue: number;
  queueTimeoutMs: number;
}

function resolveSpec(spec: FunctionSpec): ResolvedSpec {
  if (!spec.name) throw new TypeError('FunctionSpec.name is required');
  if (!spec.module || !isAbsolute(spec.module)) throw new TypeError(`FunctionSpec.module must be an absolute path: ${spec.module}`);
  const positive = (v: number | undefined, d: number, what: string, min = 1): number => {
    const n = v ?? d;
    if (!Number.isFinite(n) || n < min) throw new TypeError(`FunctionSpec.${what} must be a number >= ${min}`);
    return n;
  };
  const exportName = spec.export ?? DEFAULTS.export;
  return {
    name: spec.name,
    module: spec.module,
    exportName,
    handlerName: `${basename(spec.module, extname(spec.module))}.${exportName}`,
    timeoutMs: positive(spec.timeoutMs, DEFAULTS.timeoutMs, 'timeoutMs'),
    concurrency: Math.floor(positive(spec.concurrency, DEFAULTS.concurrency, 'concurrency')),
    memoryMb: Math.floor(positive(spec.memoryMb, DEFAULTS.memoryMb, 'memoryMb', 16)),
    environment: { ...(spec.environment ?? {}) },
    region: spec.region ?? DEFAULTS.region,
    accountId: spec.accountId ?? DEFAULTS.accountId,
    maxQueue: Math.floor(positive(spec.maxQueue, DEFAULTS.maxQueue, 'maxQueue', 0)),
    queueTimeoutMs: positive(spec.queueTimeoutMs, DEFAULTS.queueTimeoutMs, 'queueTimeoutMs', 0),
  };
}

/** The worker's whole process.env: a few inherited variables, the configured ones, then Lambda's reserved ones. */
export function functionEnvironment(spec: FunctionSpec, logStreamName = ''): Record<string, string> {
  const s = resolveSpec(spec);
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.LANG ??= 'en_US.UTF-8';
  Object.assign(env, s.environment);
  Object.assign(env, {
    AWS_LAMBDA_FUNCTION_NAME: s.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${s.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs20.x',
    AWS_REGION: s.region,
    AWS_DEFAULT_REGION: s.region,
    LAMBDA_TASK_ROOT: dirname(s.module),
    _HANDLER: s.handlerName,
  });
  return env;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/**
 * A deadline `budgetMs` from now on `lane` (the limit's own lane: sorted, so a budget cut short by the
 * caller's deadline is inserted before the entries due later; a lane holds at most one entry per
 * worker or queued invocation).
 */
function arm(lane: DeadlineLane, budgetMs: number, fire: () => void): Deadline<undefined> {
  const d = new Deadline<undefined>(fire, undefined);
  const now = lane.queue.now();
  if (budgetMs >= lane.ms) lane.start(d, now);
  else lane.startAt(d, now + Math.max(0, budgetMs), now);
  return d;
}

interface Job {
  id: number;
  requestId: string;
  eventJson: string;
  deadlineMs: number | undefined;
  start: number;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  resolve: (r: InvokeResult) => void;
  reject: (e: unknown) => void;
  /** The caller has its answer (or gave up); later outcomes are dropped. */
  settled: boolean;
  /** The queue, init or run deadline in force (on the shared deadline queue). */
  timer: Deadline<undefined> | undefined;
  /** Effective run deadline, once running. */
  runDeadline: number | undefined;
  /** performance.now() when the event went to the worker (runMs counts from here). */
  runStarted: number | undefined;
  logs: string[];
}

type SlotState = 'starting' | 'idle' | 'busy' | 'dead';

interface Slot {
  worker: Worker;
  state: SlotState;
  initialized: boolean;
  generation: number;
  job: Job | undefined;
  lastRequestId: string | undefined;
  lastUsed: number;
  lastError: Error | undefined;
  /** Set by the pool when it terminates the worker on purpose (timeout, fatal, idle, reload, close). */
  killed: boolean;
  exited: Promise<void>;
}

let nextJobId = 1;

function defaultLogger(r: FunctionLogRecord): void {
  const line = r.message.replace(/\n/g, '\r');
  process.stderr.write(`[${r.functionName}] ${new Date(r.time).toISOString()}\t${r.requestId ?? '-'}\t${r.level}\t${line}\n`);
}

export class FunctionPool {
  readonly spec: Readonly<FunctionSpec>;
  readonly #s: ResolvedSpec;
  readonly #idleMs: number;
  readonly #initTimeoutMs: number;
  /** queueTimeoutMs, initTimeoutMs and timeoutMs on the shared deadline queue. */
  readonly #queueLane: DeadlineLane;
  readonly #initLane: DeadlineLane;
  readonly #runLane: DeadlineLane;
  readonly #log: FunctionLogger;
  readonly #slots = new Set<Slot>();
  /** Idle warm workers; the most recently used is last (taken first). */
  readonly #idle: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #exiting = new Set<Promise<void>>();
  #generation = 0;
  #closed = false;
  #reaper: NodeJS.Timeout | undefined;
  #invocations = 0;
  #crashes = 0;
  #timeouts = 0;
  #throttles = 0;

  constructor(spec: FunctionSpec, opts: FunctionPoolOptions = {}) {
    this.#s = resolveSpec(spec);
    this.spec = Object.freeze({ ...spec });
    this.#idleMs = opts.idleMs ?? DEFAULTS.idleMs;
    this.#initTimeoutMs = opts.initTimeoutMs ?? DEFAULTS.initTimeoutMs;
    this.#queueLane = DEADLINES.lane(this.#s.queueTimeoutMs);
    this.#initLane = DEADLINES.lane(this.#initTimeoutMs);
    this.#runLane = DEADLINES.lane(this.#s.timeoutMs);
    this.#log = opts.log ?? defaultLogger;
  }

  get stats(): FunctionPoolStats {
    let warm = 0;
    let busy = 0;
    for (const s of this.#slots) {
      if (s.state === 'idle') warm++;
      else if (s.job) busy++;
    }
    return {
      warm,
      busy,
      queued: this.#queue.length,
      invocations: this.#invocations,
      crashes: this.#crashes,
      timeouts: this.#timeouts,
      throttles: this.#throttles,
    };
  }

  invoke(event: unknown, opts: InvokeOptions = {}): Promise<InvokeResult> {
    if (this.#closed) return Promise.reject(new Error(`FunctionPool ${this.#s.name} is closed`));
    const signal = opts.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let eventJson: string;
    try {
      eventJson = JSON.stringify(event) ?? 'null';
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<InvokeResult>((resolve, reject) => {
      const job: Job = {
        id: nextJobId++,
        requestId: opts.requestId ?? randomUUID(),
        eventJson,
        deadlineMs: opts.deadlineMs,
        start: performance.now(),
        signal,
        onAbort: undefined,
        resolve,
        reject,
        settled: false,
        timer: undefined,
        runDeadline: undefined,
        runStarted: undefined,
        logs: [],
      };
      if (signal) {
        job.onAbort = () => this.#abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      let slot: Slot | undefined;
      try {
        slot = this.#acquire();
      } catch (err) {
        // new Worker() refused (bad resource limits, too many threads): the invocation could not start
        this.#settleError(job, 'crash', { errorType: 'Runtime.ExitError', errorMessage: `Could not start a worker: ${String(err)}`, stack: [] });
        return;
      }
      if (slot) {
        this.#assign(slot, job);
        return;
      }
      const wait = Math.min(this.#s.queueTimeoutMs, (job.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now());
      if (this.#queue.length >= this.#s.maxQueue || wait <= 0) {
        this.#throttle(job);
        return;
      }
      job.timer = arm(this.#queueLane, wait, () => {
        const i = this.#queue.indexOf(job);
        if (i >= 0) this.#queue.splice(i, 1);
        if (job.deadlineMs !== undefined && Date.now() >= job.deadlineMs - 1 && wait < this.#s.queueTimeoutMs) {
          this.#timeouts++;
          this.#settleError(job, 'timeout', {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${seconds(wait)} seconds`,
            stack: [],
          });
        } else this.#throttle(job);
      });
      this.#queue.push(job);
    });
  }

  /** New invocations go to fresh workers that import the module again; busy workers finish, then exit. */
  async reload(): Promise<void> {
    this.#generation++;
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((s) => this.#kill(s)));
  }

  /** Terminates every worker; queued invocations fail with kind 'crash' (errorType Turnpike.PoolClosed). */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (this.#reaper) clearInterval(this.#reaper);
      for (const job of this.#queue.splice(0)) {
        this.#settleError(job, 'crash', { errorType: 'Turnpike.PoolClosed', errorMessage: 'The function pool was closed', stack: [] });
      }
      for (const slot of [...this.#slots]) {
        if (slot.job) {
          this.#settleError(slot.job, 'crash', {
            errorType: 'Turnpike.PoolClosed',
            errorMessage: 'The function pool was closed during the invocation',
            stack: [],
          });
        }
        void this.#kill(slot);
      }
    }
    await Promise.all([...this.#exiting]);
  }

  // ---- workers ----

  #acquire(): Slot | undefined {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#slots.size < this.#s.concurrency) return this.#spawn();
    return undefined;
  }

  #spawn(): Slot {
    const s = this.#s;
    const date = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
    const logStreamName = `${date}/[$LATEST]${randomBytes(16).toString('hex')}`;
    const init: WorkerInit = {
      module: s.module,
      exportName: s.exportName,
      handlerName: s.handlerName,
      functionName: s.name,
      memoryMb: s.memoryMb,
      region: s.region,
      accountId: s.accountId,
      logStreamName,
    };
    const worker = new Worker(WORKER_URL, {
      workerData: init,
      env: functionEnvironment(this.spec, logStreamName),
      resourceLimits: { maxOldGenerationSizeMb: s.memoryMb },
      stdout: true,
      stderr: true,
      execArgv: [],
      argv: [],
    });
    let onExit!: () => void;
    const slot: Slot = {
      worker,
      state: 'starting',
      initialized: false,
      generation: this.#generation,
      job: undefined,
      lastRequestId: undefined,
      lastUsed: Date.now(),
      lastError: undefined,
      killed: false,
      exited: new Promise<void>((r) => {
        onExit = r;
      }),
    };
    this.#exiting.add(slot.exited);
    void slot.exited.then(() => this.#exiting.delete(slot.exited));
    this.#slots.add(slot);
    worker.on('message', (m: WorkerMessage) => this.#onMessage(slot, m));
    worker.on('error', (err) => {
      slot.lastError = err;
    });
    worker.on('exit', (code) => {
      this.#onExit(slot, code);
      onExit();
    });
    this.#pipe(slot, worker.stdout, 'stdout', 'INFO');
    this.#pipe(slot, worker.stderr, 'stderr', 'ERROR');
    return slot;
  }

  #pipe(slot: Slot, stream: NodeJS.ReadableStream, source: 'stdout' | 'stderr', level: 'INFO' | 'ERROR'): void {
    let buf = '';
    stream.setEncoding('utf8');
    const emit = (line: string): void => this.#emit(slot, { level, message: line, source, time: Date.now() });
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        emit(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    });
    stream.on('end', () => {
      if (buf) emit(buf);
      buf = '';
    });
  }

  #emit(slot: Slot | undefined, r: Omit<FunctionLogRecord, 'functionName' | 'requestId'> & { requestId?: string | undefined }): void {
    const requestId = r.requestId ?? slot?.job?.requestId ?? slot?.lastRequestId;
    const record: FunctionLogRecord = { functionName: this.#s.name, requestId, level: r.level, message: r.message, time: r.time, source: r.source };
    const job = slot?.job;
    if (job && job.requestId === requestId && r.source !== 'runtime') {
      job.logs.push(`${new Date(r.time).toISOString()}\t${requestId}\t${r.level}\t${r.message}\n`);
    }
    try {
      this.#log(record);
    } catch {
      // a failing log sink must not break invocations
    }
  }

  #assign(slot: Slot, job: Job): void {
    slot.job = job;
    slot.worker.ref();
    if (slot.initialized) {
      slot.state = 'busy';
      this.#run(slot, job);
      return;
    }
    // Cold start: wait for the module to load (Lambda's init phase), bounded by initTimeoutMs and the caller's deadline.
    const limit = Math.min(this.#initTimeoutMs, (job.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now());
    job.timer = arm(this.#initLane, limit, () => this.#timeout(slot, job, Math.max(0, limit), 'init'));
  }

  #run(slot: Slot, job: Job): void {
    job.timer?.cancel();
    const now = Date.now();
    const deadline = Math.min(now + this.#s.timeoutMs, job.deadlineMs ?? Number.POSITIVE_INFINITY);
    const budget = Math.max(0, deadline - now);
    job.runDeadline = deadline;
    job.timer = arm(this.#runLane, budget, () => this.#timeout(slot, job, budget, 'run'));
    job.runStarted = job.timer.startedAt;
    slot.lastRequestId = job.requestId;
    this.#invocations++;
    const msg: InvokeMessage = { type: 'invoke', id: job.id, requestId: job.requestId, eventJson: job.eventJson, deadline };
    slot.worker.postMessage(msg);
  }

  #onMessage(slot: Slot, m: WorkerMessage): void {
    switch (m.type) {
      case 'log':
        this.#emit(slot, { requestId: m.requestId, level: m.level, message: m.message, time: m.time, source: 'console' });
        return;
      case 'ready': {
        slot.initialized = true;
        const job = slot.job;
        if (m.error) {
          this.#emit(slot, { level: 'ERROR', message: `INIT ERROR ${m.error.errorType}: ${m.error.errorMessage}`, time: Date.now(), source: 'runtime' });
          if (job) this.#settleError(job, 'load-error', m.error);
          slot.job = undefined;
          void this.#kill(slot);
          this.#drain();
          return;
        }
        if (this.#closed) {
          void this.#kill(slot);
          return;
        }
        if (job) {
          slot.state = 'busy';
          this.#run(slot, job);
        } else this.#release(slot);
        return;
      }
      case 'result': {
        const job = slot.job;
        if (!job || job.id !== m.id) return;
        slot.job = undefined;
        if ('error' in m) this.#settleError(job, 'unhandled', m.error);
        else {
          let payload: unknown;
          try {
            payload = JSON.parse(m.payloadJson);
          } catch {
            payload = null;
          }
          this.#settle(job, { ok: true, payload, ...this.#duration(job), ...this.#tail(job) });
        }
        this.#release(slot);
        return;
      }
      case 'fatal': {
        this.#emit(slot, { level: 'ERROR', message: `${m.error.errorType}: ${m.error.errorMessage}`, time: Date.now(), source: 'runtime' });
        this.#crashes++;
        const job = slot.job;
        slot.job = undefined;
        if (job && (m.id === undefined || m.id === job.id)) this.#settleError(job, 'unhandled', m.error);
        else if (job) this.#settleError(job, 'crash', { errorType: m.error.errorType, errorMessage: m.error.errorMessage, stack: m.error.stack });
        void this.#kill(slot);
        this.#drain();
        return;
      }
    }
  }

  #onExit(slot: Slot, code: number): void {
    const wasKilled = slot.killed;
    this.#forget(slot);
    if (wasKilled) return;
    this.#crashes++;
    const job = slot.job;
    slot.job = undefined;
    const oom = (slot.lastError as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
    const rid = job?.requestId ?? slot.lastRequestId ?? '-';
    const error: LambdaError = oom
      ? {
          errorType: 'Runtime.OutOfMemory',
          errorMessage: `RequestId: ${rid} Error: Runtime exited with error: out of memory (memoryMb ${this.#s.memoryMb})`,
          stack: [],
        }
      : slot.lastError
        ? {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${rid} Error: Runtime exited with error: ${slot.lastError.name}: ${slot.lastError.message}`,
            stack: (slot.lastError.stack ?? '').split('\n'),
          }
        : { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${rid} Error: Runtime exited with error: exit status ${code}`, stack: [] };
    this.#emit(slot, { level: 'ERROR', message: `${error.errorType}: ${error.errorMessage}`, time: Date.now(), source: 'runtime' });
    if (job) this.#settleError(job, 'crash', error);
    this.#drain();
  }

  #timeout(slot: Slot, job: Job, budgetMs: number, phase: 'init' | 'run'): void {
    if (slot.job !== job) return;
    slot.job = undefined;
    this.#timeouts++;
    const what = phase === 'init' ? 'Init' : 'Task';
    const error = { errorType: 'Sandbox.Timedout', errorMessage: `${what} timed out after ${seconds(budgetMs)} seconds`, stack: [] };
    this.#emit(slot, { requestId: job.requestId, level: 'ERROR', message: `${job.requestId} ${error.errorMessage}`, time: Date.now(), source: 'runtime' });
    this.#settleError(job, 'timeout', error);
    void this.#kill(slot);
    this.#drain();
  }

  /** A worker that finished an invocation: back to idle, to the next queued job, or retired. */
  #release(slot: Slot): void {
    if (this.#closed || slot.generation !== this.#generation) {
      void this.#kill(slot);
      this.#drain();
      return;
    }
    const next = this.#queue.shift();
    if (next) {
      next.timer?.cancel();
      next.timer = undefined;
      this.#assign(slot, next);
      return;
    }
    slot.state = 'idle';
    slot.lastUsed = Date.now();
    slot.worker.unref();
    this.#idle.push(slot);
    this.#startReaper();
  }

  /** Gives queued invocations the capacity freed by a dead or retired worker. */
  #drain(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      let slot: Slot | undefined;
      try {
        slot = this.#acquire();
      } catch (err) {
        const job = this.#queue.shift() as Job;
        this.#settleError(job, 'crash', { errorType: 'Runtime.ExitError', errorMessage: `Could not start a worker: ${String(err)}`, stack: [] });
        continue;
      }
      if (!slot) return;
      const job = this.#queue.shift() as Job;
      job.timer?.cancel();
      job.timer = undefined;
      this.#assign(slot, job);
    }
  }

  #forget(slot: Slot): void {
    slot.state = 'dead';
    this.#slots.delete(slot);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #kill(slot: Slot): Promise<void> {
    if (!slot.killed) {
      slot.killed = true;
      this.#forget(slot);
      slot.worker.terminate().catch(() => {});
    }
    return slot.exited;
  }

  #startReaper(): void {
    if (this.#reaper || this.#closed) return;
    const period = Math.max(20, Math.min(this.#idleMs / 2, 30_000));
    this.#reaper = setInterval(() => {
      const now = Date.now();
      for (const slot of [...this.#idle]) if (now - slot.lastUsed >= this.#idleMs) void this.#kill(slot);
      if (this.#idle.length === 0 && this.#reaper) {
        clearInterval(this.#reaper);
        this.#reaper = undefined;
      }
    }, period);
    this.#reaper.unref();
  }

  // ---- results ----

  #duration(job: Job): { durationMs: number; runMs?: number } {
    const now = performance.now();
    const durationMs = Math.round((now - job.start) * 1000) / 1000;
    return job.runStarted === undefined ? { durationMs } : { durationMs, runMs: Math.round((now - job.runStarted) * 1000) / 1000 };
  }

  #tail(job: Job): { logs?: string } {
    if (job.logs.length === 0) return {};
    let text = job.logs.join('');
    if (Buffer.byteLength(text) > LOG_TAIL_BYTES) text = Buffer.from(text).subarray(-LOG_TAIL_BYTES).toString('utf8');
    return { logs: text };
  }

  #throttle(job: Job): void {
    this.#throttles++;
    this.#settleError(job, 'throttled', { errorType: 'TooManyRequestsException', errorMessage: 'Rate Exceeded.', stack: [] });
  }

  #settleError(job: Job, kind: InvokeErrorKind, e: LambdaError): void {
    this.#settle(job, {
      ok: false,
      kind,
      errorType: e.errorType,
      errorMessage: e.errorMessage,
      ...(e.stack.length > 0 ? { stack: e.stack } : {}),
      ...this.#duration(job),
      ...this.#tail(job),
    });
  }

  #settle(job: Job, result: InvokeResult): void {
    job.timer?.cancel();
    job.timer = undefined;
    if (job.settled) return;
    job.settled = true;
    if (job.signal && job.onAbort) job.signal.removeEventListener('abort', job.onAbort);
    job.resolve(result);
  }

  /** The caller gave up: a queued invocation is dropped; a running one keeps its worker until it ends or times out. */
  #abort(job: Job): void {
    if (job.settled) return;
    job.settled = true;
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      job.timer?.cancel();
      job.timer = undefined;
    }
    job.reject(job.signal?.reason ?? new DOMException('This operation was aborted', 'AbortError'));
  }
}
