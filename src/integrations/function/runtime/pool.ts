/**
 * FunctionPool: the warm processes of one function, each a "Lambda execution environment" of its own:
 * a child process started by a runtime (runtimes.ts) with a clean Lambda environment, that runs one
 * invocation at a time and talks to the gateway only through the Lambda Runtime API (runtime-api.ts),
 * served to it alone on its own loopback port. See docs/functions.md.
 *
 * Why processes, not worker threads: a thread shares the gateway's process, so a handler could read
 * the gateway's environment (/proc/self/environ: the Admin API token), kill it (process.kill), hold
 * off-heap memory no resourceLimits bound, survive terminate() in a blocking call, and post forged
 * messages. A process has its own environment, pid, memory and fate; the kernel ends it for sure.
 *
 * Life of an invocation: invoke() → an idle warm process (most recently used first), else a new one
 * while fewer than `concurrency` exist (dying ones still count: a slot is free only when its process
 * has exited), else the bounded queue (throttled when full or after queueTimeoutMs) → init (the
 * process loads the handler and asks GET /next, bounded by initTimeoutMs) → run, bounded by
 * min(start + timeoutMs, deadlineMs); on the deadline the process is killed (SIGTERM, SIGKILL after
 * KILL_GRACE_MS) and replaced.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEADLINES, Deadline, type DeadlineLane } from '../../../util/deadline-queue.js';
import { spawnIdentity } from './identity.js';
import { LineSplitter } from './lines.js';
import type { LambdaError } from './protocol.js';
import { RuntimeApi } from './runtime-api.js';
import { type FunctionRuntime, nodejs, type RuntimeStart, runtimeFor } from './runtimes.js';
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
  LOG_BUDGET_BYTES,
  LOG_TAIL_BYTES,
  MAX_LOG_LINE_BYTES,
  MAX_RESPONSE_BYTES,
  MIN_RSS_LIMIT_MB,
  type LogLevel,
} from './types.js';

/** Variables inherited from the gateway's own environment; everything else stays out of the function. */
const INHERITED_ENV = ['PATH', 'LANG', 'SYSTEMROOT'] as const;
/** After SIGTERM, a process that has not exited gets SIGKILL. */
const KILL_GRACE_MS = 250;
/** The RSS watchdog's period: an allocation spree is caught within about this long. */
const WATCH_MS = 50;
/** Lambda's name rule for a function: never a path. */
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;

interface ResolvedSpec {
  name: string;
  module: string;
  exportName: string;
  handlerName: string;
  runtime: FunctionRuntime;
  start: RuntimeStart;
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
  const runtime = runtimeFor(spec.runtime ?? nodejs.name);
  if (!runtime) throw new TypeError(`FunctionSpec.runtime is not a known runtime: ${spec.runtime}`);
  const handlerName = spec.handler ?? `${basename(spec.module, extname(spec.module))}.${exportName}`;
  const memoryMb = Math.floor(positive(spec.memoryMb, DEFAULTS.memoryMb, 'memoryMb', 16));
  return {
    name: spec.name,
    module: spec.module,
    exportName,
    handlerName,
    runtime,
    start: {
      module: spec.module,
      exportName,
      memoryMb,
      handler: handlerName,
      codeDir: spec.codeDir ?? dirname(spec.module),
      layers: [...(spec.layers ?? [])],
      runtimeCommand: spec.runtimeCommand,
      forceCommonJs: spec.forceCommonJs,
    },
    timeoutMs: positive(spec.timeoutMs, DEFAULTS.timeoutMs, 'timeoutMs'),
    concurrency: Math.floor(positive(spec.concurrency, DEFAULTS.concurrency, 'concurrency')),
    memoryMb,
    environment: { ...(spec.environment ?? {}) },
    region: spec.region ?? DEFAULTS.region,
    accountId: spec.accountId ?? DEFAULTS.accountId,
    maxQueue: Math.floor(positive(spec.maxQueue, DEFAULTS.maxQueue, 'maxQueue', 0)),
    queueTimeoutMs: positive(spec.queueTimeoutMs, DEFAULTS.queueTimeoutMs, 'queueTimeoutMs', 0),
  };
}

/**
 * The function process's whole environment: a few inherited variables, what the runtime's language
 * needs (layer paths: NODE_PATH, PYTHONPATH, PATH, LD_LIBRARY_PATH; not reserved on Lambda), the
 * configured ones, then Lambda's reserved ones (which win). The pool adds AWS_LAMBDA_RUNTIME_API (its port) at start.
 */
export function functionEnvironment(spec: FunctionSpec, logStreamName = '', runtimeOverride?: FunctionRuntime): Record<string, string> {
  const s = resolveSpec(spec);
  const runtime = runtimeOverride ?? s.runtime;
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  env.LANG ??= 'en_US.UTF-8';
  Object.assign(env, runtime.environment(s.start, env));
  Object.assign(env, s.environment);
  Object.assign(env, {
    AWS_LAMBDA_FUNCTION_NAME: s.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(s.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${s.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: s.region,
    AWS_DEFAULT_REGION: s.region,
    LAMBDA_TASK_ROOT: s.start.codeDir,
    // Where the runtime's own files are (Lambda: /var/runtime): the folder of the client that runs the handler.
    LAMBDA_RUNTIME_DIR: runtime.runtimeDir(s.start),
    _HANDLER: s.handlerName,
    TZ: ':UTC',
  });
  if (runtime.executionEnv !== undefined) env.AWS_EXECUTION_ENV = runtime.executionEnv;
  else delete env.AWS_EXECUTION_ENV; // the OS-only runtimes have none, and it is reserved: a configured one goes too
  return env;
}

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

/** A deadline `budgetMs` from now on `lane` (sorted insert when the caller's deadline cuts it short). */
function arm(lane: DeadlineLane, budgetMs: number, fire: () => void): Deadline<undefined> {
  const d = new Deadline<undefined>(fire, undefined);
  const now = lane.queue.now();
  if (budgetMs >= lane.ms) lane.start(d, now);
  else lane.startAt(d, now + Math.max(0, budgetMs), now);
  return d;
}

interface Job {
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
  /** performance.now() when the event went to the process (runMs counts from here). */
  runStarted: number | undefined;
  logs: string[];
  logBytes: number;
}

type SlotState = 'starting' | 'idle' | 'busy' | 'dead';

interface Slot {
  child: ChildProcess | undefined;
  api: RuntimeApi;
  state: SlotState;
  /** The process asked GET /next at least once: its handler is loaded. */
  initialized: boolean;
  generation: number;
  /** The invocation assigned to this process (given to it once runStarted is set). */
  job: Job | undefined;
  /** The last invocation given to it: late output belongs to it. */
  lastJob: Job | undefined;
  lastUsed: number;
  /** Ended by the pool (timeout, idle, reload, close): its exit is not a crash. */
  killed: boolean;
  /** Over its memory (watchdog) or V8 said so on stderr: its exit is Runtime.OutOfMemory. */
  outOfMemory: boolean;
  killTimer: NodeJS.Timeout | undefined;
  exited: Promise<void>;
  out: LineSplitter;
  err: LineSplitter;
}

function defaultLogger(r: FunctionLogRecord): void {
  const line = r.message.replace(/\n/g, '\r');
  process.stderr.write(`[${r.functionName}] ${new Date(r.time).toISOString()}\t${r.requestId ?? '-'}\t${r.level}\t${line}\n`);
}

/** A console line as the Node bootstrap writes it (its request id is ignored: the pool knows whose it is). */
const CONSOLE_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[^\t]*\t(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\t/;
/** A logging record as Lambda's Python runtime (and python/bootstrap.py) writes it: `[LEVEL]\ttime\trequestId\tmessage`. */
const PYTHON_LOG_LINE = /^\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)\]\t\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t[^\t]*\t/;
const PYTHON_LEVELS: Record<string, LogLevel> = { DEBUG: 'DEBUG', INFO: 'INFO', WARNING: 'WARN', ERROR: 'ERROR', CRITICAL: 'ERROR' };
const SIGNALS: Record<string, string> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGABRT: 'aborted', SIGSEGV: 'segmentation fault', SIGINT: 'interrupt' };

/** Resident set size of `pid` in MB (Linux); undefined where /proc is not readable. */
function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export class FunctionPool {
  readonly spec: Readonly<FunctionSpec>;
  readonly #s: ResolvedSpec;
  readonly #runtime: FunctionRuntime;
  readonly #idleMs: number;
  readonly #initTimeoutMs: number;
  readonly #rssLimitMb: number;
  readonly #queueLane: DeadlineLane;
  readonly #initLane: DeadlineLane;
  readonly #runLane: DeadlineLane;
  readonly #log: FunctionLogger;
  /** Every process that has not exited yet, dying ones included (they still hold their slot). */
  readonly #slots = new Set<Slot>();
  /** Idle warm processes; the most recently used is last (taken first). */
  readonly #idle: Slot[] = [];
  readonly #queue: Job[] = [];
  readonly #exiting = new Set<Promise<void>>();
  #generation = 0;
  #closed = false;
  #reaper: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #invocations = 0;
  #crashes = 0;
  #timeouts = 0;
  #throttles = 0;

  constructor(spec: FunctionSpec, opts: FunctionPoolOptions = {}) {
    this.#s = resolveSpec(spec);
    this.spec = Object.freeze({ ...spec });
    this.#runtime = opts.runtime ?? this.#s.runtime;
    this.#idleMs = opts.idleMs ?? DEFAULTS.idleMs;
    this.#initTimeoutMs = opts.initTimeoutMs ?? DEFAULTS.initTimeoutMs;
    this.#rssLimitMb = Math.max(this.#s.memoryMb, MIN_RSS_LIMIT_MB);
    this.#queueLane = DEADLINES.lane(this.#s.queueTimeoutMs);
    this.#initLane = DEADLINES.lane(this.#initTimeoutMs);
    this.#runLane = DEADLINES.lane(this.#s.timeoutMs);
    this.#log = opts.log ?? defaultLogger;
  }

  get stats(): FunctionPoolStats {
    let warm = 0;
    let busy = 0;
    for (const s of this.#slots) {
      if (s.killed) continue;
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
      processes: this.#slots.size,
    };
  }

  /** Process ids of the live function processes (tests and diagnostics). */
  get pids(): number[] {
    const out: number[] = [];
    for (const s of this.#slots) if (s.child?.pid !== undefined) out.push(s.child.pid);
    return out;
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
        runStarted: undefined,
        logs: [],
        logBytes: 0,
      };
      if (signal) {
        job.onAbort = () => this.#abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      const slot = this.#acquire();
      if (slot) {
        this.#assign(slot, job);
        return;
      }
      this.#enqueue(job);
    });
  }

  /** New invocations go to fresh processes that load the module again; busy ones finish, then exit. */
  async reload(): Promise<void> {
    this.#generation++;
    const idle = this.#idle.splice(0);
    await Promise.all(idle.map((s) => this.#kill(s)));
  }

  /** Ends every process; queued and running invocations fail with kind 'crash' (errorType Turnpike.PoolClosed). */
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

  // ---- processes ----

  #enqueue(job: Job, front = false): void {
    const wait = Math.min(this.#s.queueTimeoutMs, (job.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now());
    if (!front && (this.#queue.length >= this.#s.maxQueue || wait <= 0)) {
      this.#throttle(job);
      return;
    }
    job.timer = arm(this.#queueLane, Math.max(0, wait), () => {
      const i = this.#queue.indexOf(job);
      if (i >= 0) this.#queue.splice(i, 1);
      if (job.deadlineMs !== undefined && Date.now() >= job.deadlineMs - 1 && wait < this.#s.queueTimeoutMs) {
        this.#timeouts++;
        this.#settleError(job, 'timeout', { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${seconds(wait)} seconds`, stack: [] });
      } else this.#throttle(job);
    });
    if (front) this.#queue.unshift(job);
    else this.#queue.push(job);
  }

  #acquire(): Slot | undefined {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#slots.size < this.#s.concurrency) return this.#spawn();
    return undefined;
  }

  #spawn(): Slot {
    const date = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
    const logStreamName = `${date}/[$LATEST]${randomBytes(16).toString('hex')}`;
    let onExit!: () => void;
    const split = (source: 'stdout' | 'stderr'): LineSplitter =>
      new LineSplitter({
        maxLineBytes: MAX_LOG_LINE_BYTES,
        budgetBytes: LOG_BUDGET_BYTES,
        onLine: (line) => this.#line(slot, source, line),
        onOverflow: (n) =>
          this.#emit(slot, {
            level: 'WARN',
            message: `${source} over ${n} bytes in this invocation: the rest of it is dropped`,
            time: Date.now(),
            source: 'runtime',
          }),
      });
    const slot: Slot = {
      child: undefined,
      api: new RuntimeApi(
        {
          ready: () => this.#onReady(slot),
          response: (id, body) => this.#onResponse(slot, id, body),
          responseTooLarge: (id) =>
            this.#onFunctionError(slot, id, {
              errorType: 'Function.ResponseSizeTooLarge',
              errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
              stack: [],
            }),
          error: (id, e) => this.#onFunctionError(slot, id, e),
          initError: (e) => this.#onInitError(slot, e),
        },
        MAX_RESPONSE_BYTES,
      ),
      state: 'starting',
      initialized: false,
      generation: this.#generation,
      job: undefined,
      lastJob: undefined,
      lastUsed: Date.now(),
      killed: false,
      outOfMemory: false,
      killTimer: undefined,
      exited: new Promise<void>((r) => {
        onExit = r;
      }),
      out: undefined as unknown as LineSplitter,
      err: undefined as unknown as LineSplitter,
    };
    slot.out = split('stdout');
    slot.err = split('stderr');
    this.#exiting.add(slot.exited);
    void slot.exited.then(() => this.#exiting.delete(slot.exited));
    this.#slots.add(slot);
    let exited = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (exited) return;
      exited = true;
      if (slot.killTimer) clearTimeout(slot.killTimer);
      slot.api.close();
      this.#onExit(slot, code, signal, error);
      onExit();
    };
    slot.api.listen().then(
      (address) => {
        if (slot.killed) return finish(null, null);
        if (slot.killTimer) clearTimeout(slot.killTimer);
        const env = { ...functionEnvironment(this.spec, logStreamName, this.#runtime), AWS_LAMBDA_RUNTIME_API: address };
        const cmd = this.#runtime.command(this.#s.start);
        let child: ChildProcess;
        try {
          // detached: the function is a process group of its own, so a kill reaches what it started too.
          // spawnIdentity: another uid when the gateway is root, so /proc/<gateway>/environ is closed to it (identity.ts).
          const as = spawnIdentity(this.#s.module);
          child = spawn(cmd.file, cmd.args, { env, cwd: this.#s.start.codeDir, stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...as });
        } catch (err) {
          return finish(null, null, err as Error);
        }
        slot.child = child;
        // A warm process does not keep the gateway alive (a running invocation holds its deadline timer).
        this.#ref(slot, false);
        child.stdout?.on('data', (b: Buffer) => slot.out.push(b));
        child.stderr?.on('data', (b: Buffer) => slot.err.push(b));
        // stdin is the process's lifeline: never written, it ends when the gateway does (bootstrap exits then).
        child.stdin?.on('error', () => {});
        child.on('error', (err) => {
          if (child.pid === undefined) finish(null, null, err);
        });
        // 'close': the process exited AND its stdout/stderr are read to the end (its last lines are in).
        child.on('close', (code, signal) => {
          slot.out.end();
          slot.err.end();
          finish(code, signal);
        });
        this.#startWatchdog();
      },
      (err: Error) => finish(null, null, err),
    );
    return slot;
  }

  /** One line of a process's stdout/stderr, attributed to the invocation the pool gave it. */
  #line(slot: Slot, source: 'stdout' | 'stderr', line: string): void {
    const py = PYTHON_LOG_LINE.exec(line);
    if (py) {
      const level = PYTHON_LEVELS[py[1] as string] ?? 'INFO';
      this.#emit(slot, { level, message: line.slice(py[0].length).replace(/\r/g, '\n'), time: Date.now(), source: 'console' });
      return;
    }
    const m = CONSOLE_LINE.exec(line);
    if (m) {
      const tabs = line.indexOf('\t', line.indexOf('\t', line.indexOf('\t') + 1) + 1);
      const level = (m[1] === 'FATAL' ? 'ERROR' : m[1]) as LogLevel;
      this.#emit(slot, { level, message: line.slice(tabs + 1).replace(/\r/g, '\n'), time: Date.now(), source: 'console' });
      return;
    }
    if (source === 'stderr' && line.includes('JavaScript heap out of memory')) slot.outOfMemory = true;
    this.#emit(slot, { level: source === 'stdout' ? 'INFO' : 'ERROR', message: line, source, time: Date.now() });
  }

  #emit(slot: Slot, r: Omit<FunctionLogRecord, 'functionName' | 'requestId'> & { requestId?: string | undefined }): void {
    const job = slot.lastJob;
    const requestId = r.requestId ?? job?.requestId;
    const record: FunctionLogRecord = { functionName: this.#s.name, requestId, level: r.level, message: r.message, time: r.time, source: r.source };
    if (job && !job.settled && r.source !== 'runtime' && job.logBytes < LOG_BUDGET_BYTES) {
      const text = `${new Date(r.time).toISOString()}\t${requestId}\t${r.level}\t${r.message}\n`;
      job.logs.push(text);
      job.logBytes += text.length;
    }
    try {
      this.#log(record);
    } catch {
      // a failing log sink must not break invocations
    }
  }

  #assign(slot: Slot, job: Job): void {
    slot.job = job;
    if (slot.state !== 'starting') slot.state = 'busy';
    if (slot.initialized) {
      this.#run(slot, job);
      return;
    }
    // Cold start: wait for the process to ask for work (Lambda's init phase), bounded by initTimeoutMs and the caller's deadline.
    const limit = Math.min(this.#initTimeoutMs, (job.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now());
    job.timer = arm(this.#initLane, limit, () => this.#timeout(slot, job, Math.max(0, limit), 'init'));
  }

  /** Gives the event to the process (now if it waits in GET /next, else as soon as it asks). */
  #run(slot: Slot, job: Job): void {
    job.timer?.cancel();
    slot.state = 'busy';
    const now = Date.now();
    const deadline = Math.min(now + this.#s.timeoutMs, job.deadlineMs ?? Number.POSITIVE_INFINITY);
    const budget = Math.max(0, deadline - now);
    // runMs counts from before the timer is armed: measured after it, a timeout that fired on time read as early (49.9 of 50 ms).
    job.runStarted = performance.now();
    job.timer = arm(this.#runLane, budget, () => this.#timeout(slot, job, budget, 'run'));
    slot.out.resetBudget();
    slot.err.resetBudget();
    slot.lastJob = job;
    this.#invocations++;
    slot.api.deliver({
      requestId: job.requestId,
      deadlineMs: deadline,
      functionArn: `arn:aws:lambda:${this.#s.region}:${this.#s.accountId}:function:${this.#s.name}`,
      traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Sampled=0`,
      eventJson: job.eventJson,
    });
  }

  #onReady(slot: Slot): void {
    slot.initialized = true;
    if (slot.killed) return;
    const job = slot.job;
    if (!job) return; // a warm process back in GET /next after its answer: already idle
    if (job.runStarted === undefined) {
      if (this.#closed) return void this.#kill(slot);
      this.#run(slot, job);
      return;
    }
    // It asked for more work without answering the one it holds.
    slot.job = undefined;
    this.#settleError(job, 'unhandled', {
      errorType: 'Runtime.NoResponse',
      errorMessage: 'The runtime asked for the next invocation without answering this one',
      stack: [],
    });
    this.#release(slot);
  }

  #onResponse(slot: Slot, id: string, body: Buffer): void {
    const job = slot.job;
    if (!job || job.requestId !== id || job.runStarted === undefined) return;
    slot.job = undefined;
    job.timer?.cancel();
    let payload: unknown;
    const text = body.toString('utf8');
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text; // a custom runtime may answer any bytes; API Gateway then judges them
    }
    // Lines the handler wrote before answering may still be in the pipe: read them first (tail, attribution).
    const result = (): void => this.#settle(job, { ok: true, payload, ...this.#duration(job), ...this.#tail(job) });
    setImmediate(result);
    this.#release(slot);
  }

  #onFunctionError(slot: Slot, id: string, e: LambdaError): void {
    const job = slot.job;
    if (!job || job.requestId !== id || job.runStarted === undefined) return;
    slot.job = undefined;
    job.timer?.cancel();
    setImmediate(() => this.#settleError(job, 'unhandled', e));
    this.#release(slot);
  }

  #onInitError(slot: Slot, e: LambdaError): void {
    slot.initialized = true;
    this.#emit(slot, { level: 'ERROR', message: `INIT ERROR ${e.errorType}: ${e.errorMessage}`, time: Date.now(), source: 'runtime' });
    const job = slot.job;
    slot.job = undefined;
    if (job) this.#settleError(job, 'load-error', e);
    void this.#kill(slot);
  }

  #onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void {
    const wasKilled = slot.killed && !slot.outOfMemory;
    this.#forget(slot);
    this.#slots.delete(slot);
    const job = slot.job;
    slot.job = undefined;
    if (!wasKilled) {
      this.#crashes++;
      if (job && slot.initialized && !this.#closed && (job.runStarted === undefined || slot.api.holding)) {
        // A warm process that died between answering and asking again never saw this event: run it elsewhere.
        if (job.runStarted !== undefined) this.#invocations--;
        job.runStarted = undefined;
        job.timer?.cancel();
        this.#enqueue(job, true);
      } else {
        const rid = job?.requestId ?? slot.lastJob?.requestId ?? '-';
        const how = spawnError ? `${spawnError.name}: ${spawnError.message}` : signal ? `signal: ${SIGNALS[signal] ?? signal}` : `exit status ${code}`;
        const error: LambdaError = slot.outOfMemory
          ? {
              errorType: 'Runtime.OutOfMemory',
              errorMessage: `RequestId: ${rid} Error: Runtime exited with error: out of memory (memoryMb ${this.#s.memoryMb})`,
              stack: [],
            }
          : { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${rid} Error: Runtime exited with error: ${how}`, stack: [] };
        this.#emit(slot, { level: 'ERROR', message: `${error.errorType}: ${error.errorMessage}`, time: Date.now(), source: 'runtime' });
        if (job) this.#settleError(job, 'crash', error);
      }
    }
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
  }

  /** A process that finished an invocation: back to idle, to the next queued job, or retired. */
  #release(slot: Slot): void {
    if (slot.killed) return;
    if (this.#closed || slot.generation !== this.#generation) {
      void this.#kill(slot);
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
    this.#idle.push(slot);
    this.#startReaper();
  }

  /** Gives queued invocations the capacity freed by an exited or retired process. */
  #drain(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const slot = this.#acquire();
      if (!slot) return;
      const job = this.#queue.shift() as Job;
      job.timer?.cancel();
      job.timer = undefined;
      this.#assign(slot, job);
    }
  }

  #forget(slot: Slot): void {
    slot.state = 'dead';
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  /** Ends the process (SIGTERM, then SIGKILL after a grace); its slot is freed when it has exited. */
  #kill(slot: Slot, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!slot.killed) {
      slot.killed = true;
      this.#forget(slot);
      slot.api.forget();
      this.#ref(slot, true); // close() waits for the exit
      this.#signal(slot, signal);
      if (signal !== 'SIGKILL') {
        slot.killTimer = setTimeout(() => this.#signal(slot, 'SIGKILL'), KILL_GRACE_MS);
      }
    } else if (signal === 'SIGKILL') this.#signal(slot, 'SIGKILL');
    return slot.exited;
  }

  #ref(slot: Slot, on: boolean): void {
    const c = slot.child;
    if (!c) return;
    for (const h of [c, c.stdin, c.stdout, c.stderr] as ({ ref(): unknown; unref(): unknown } | null)[]) {
      if (on) h?.ref();
      else h?.unref();
    }
  }

  #signal(slot: Slot, signal: NodeJS.Signals): void {
    const pid = slot.child?.pid;
    if (pid === undefined) return; // not spawned yet: the spawn sees `killed` and stops
    try {
      process.kill(-pid, signal); // the whole process group
    } catch {
      try {
        slot.child?.kill(signal);
      } catch {
        // already gone
      }
    }
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

  /**
   * The memory limit covers the whole process: --max-old-space-size bounds the JS heap, and this
   * watchdog kills a process whose resident set (Buffers, native memory, everything) passes
   * max(memoryMb, MIN_RSS_LIMIT_MB). One timer per pool while it has processes; Linux only.
   */
  #startWatchdog(): void {
    if (this.#watchdog || process.platform !== 'linux') return;
    this.#watchdog = setInterval(() => {
      if (this.#slots.size === 0) {
        clearInterval(this.#watchdog);
        this.#watchdog = undefined;
        return;
      }
      for (const slot of this.#slots) {
        const pid = slot.child?.pid;
        if (pid === undefined || slot.outOfMemory) continue;
        const rss = rssMb(pid);
        if (rss !== undefined && rss > this.#rssLimitMb) {
          slot.outOfMemory = true;
          this.#emit(slot, {
            level: 'ERROR',
            message: `RSS ${Math.round(rss)} MB over the ${this.#rssLimitMb} MB limit: process killed`,
            time: Date.now(),
            source: 'runtime',
          });
          slot.killed = true;
          this.#forget(slot);
          this.#ref(slot, true);
          this.#signal(slot, 'SIGKILL');
        }
      }
    }, WATCH_MS);
    this.#watchdog.unref();
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

  /** The caller gave up: a queued invocation is dropped; a running one keeps its process until it ends or times out. */
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
