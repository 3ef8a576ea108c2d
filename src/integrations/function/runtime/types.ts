/**
 * Public types of the function runtime: the spec of a Lambda-style function, the result of an
 * invocation, and the log records a pool forwards. See docs/functions.md for the semantics.
 */

export interface FunctionSpec {
  /** Lambda function name (context.functionName, AWS_LAMBDA_FUNCTION_NAME, the ARN, the log group). */
  name: string;
  /** Absolute path of the handler file (.mjs/.js/.cjs, .py), the executable (provided) or the code folder (runtimeCommand); loaded in place. */
  module: string;
  /** Exported handler name; dots walk into nested objects (`api.handler`). Default 'handler'. */
  export?: string;
  /** Function timeout. Default 3000 (Lambda's default 3 s). */
  timeoutMs?: number;
  /** Maximum concurrent invocations = maximum function processes. Default 10. */
  concurrency?: number;
  /** context.memoryLimitInMB, the process's old-generation heap limit and its RSS limit (at least MIN_RSS_LIMIT_MB). Default 128. */
  memoryMb?: number;
  /** The function's configured environment variables. */
  environment?: Record<string, string>;
  /** Region for the ARN and AWS_REGION. Default 'us-east-1'. */
  region?: string;
  /** Account id for the ARN. Default '000000000000'. */
  accountId?: string;
  /**
   * Content hash of the handler file when the spec was made (the gateway sets it from the config's read
   * recorder). Part of the spec's identity in FunctionRegistry: an edited handler gets a fresh pool whose
   * processes load the new code, while the pool of the previous config version finishes its invocations.
   */
  codeHash?: string;
  /** Lambda runtime identifier (runtimes.ts): nodejs20.x (default), python3.12, provided.al2023, java21 (with runtimeCommand)... */
  runtime?: string;
  /** The Handler as written (`_HANDLER`); default `<file name without extension>.<export>`. */
  handler?: string;
  /** The function's code folder: LAMBDA_TASK_ROOT and the process's working directory. Default the module's folder. */
  codeDir?: string;
  /** Absolute layer folders, mapped as Lambda mounts layers at /opt (NODE_PATH, PYTHONPATH, PATH, LD_LIBRARY_PATH). */
  layers?: string[];
  /** A runtime interface client to run instead of the runtime's own (the handler is appended, or replaces `{handler}`). */
  runtimeCommand?: string[];
  /** Node: load the `.js` handler as CommonJS (Lambda sees no package.json above the code folder; Node here would). */
  forceCommonJs?: boolean;
  /** Invocations that may wait for a busy process when all `concurrency` processes are busy. Default 100. */
  maxQueue?: number;
  /** How long a waiting invocation waits for a process before it is throttled. Default 1000; 0 = Lambda's exact behaviour (throttle at once). */
  queueTimeoutMs?: number;
}

export type InvokeErrorKind = 'handled-error' | 'unhandled' | 'timeout' | 'crash' | 'throttled' | 'load-error';

/**
 * `durationMs`: from invoke() to the result (queue wait and a cold start included). `runMs` (local
 * pools, once the handler was started): from handing the event to the warm process to the result, the
 * span the function's own timeoutMs bounds.
 */
export type InvokeResult =
  | { ok: true; payload: unknown; durationMs: number; runMs?: number; logs?: string }
  | {
      ok: false;
      kind: InvokeErrorKind;
      errorType: string;
      errorMessage: string;
      stack?: string[];
      durationMs: number;
      runMs?: number;
      logs?: string;
    };

export interface InvokeOptions {
  /** context.awsRequestId; a random UUID when absent. */
  requestId?: string;
  /** Absolute deadline (epoch ms, Date.now() clock): the invocation is cut off at min(start + timeoutMs, deadlineMs). */
  deadlineMs?: number;
  /** Aborting rejects the invoke() promise with signal.reason; a running handler is not interrupted (as in Lambda). */
  signal?: AbortSignal;
}

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** One line of function output, tagged with the invocation it belongs to. */
export interface FunctionLogRecord {
  functionName: string;
  /** The request id of the invocation the process was running (or last ran) when the line was written. */
  requestId: string | undefined;
  level: LogLevel;
  message: string;
  /** Epoch ms. */
  time: number;
  /** console.* calls, raw process.stdout/stderr writes, or the runtime's own notices (crash, timeout, init error). */
  source: 'console' | 'stdout' | 'stderr' | 'runtime';
}

export type FunctionLogger = (record: FunctionLogRecord) => void;

export interface FunctionPoolOptions {
  /** Idle processes are ended after this long without an invocation. Default 300000 (5 min). */
  idleMs?: number;
  /** Receives every line a function writes; default: Lambda-formatted lines on process.stderr. */
  log?: FunctionLogger;
  /** Limit on module loading (Lambda's init phase). Default 10000. */
  initTimeoutMs?: number;
  /** What starts the function's processes (runtimes.ts), for every pool; default: the spec's `runtime` from the registry. */
  runtime?: import('./runtimes.js').FunctionRuntime;
}

export interface FunctionPoolStats {
  /** Initialised processes waiting for an invocation. */
  warm: number;
  /** Workers running (or starting for) an invocation. */
  busy: number;
  /** Invocations waiting for a process. */
  queued: number;
  /** Invocations handed to a process. */
  invocations: number;
  /** Processes that died on their own (process.exit, a signal, out of memory, uncaught exception). */
  crashes: number;
  /** Invocations cut off at their deadline (their processes were killed). */
  timeouts: number;
  /** Invocations refused with 'throttled'. */
  throttles: number;
  /** Function processes not yet exited (dying ones included: they hold their slot until they are gone). */
  processes: number;
}

export const DEFAULTS = {
  export: 'handler',
  timeoutMs: 3000,
  concurrency: 10,
  memoryMb: 128,
  region: 'us-east-1',
  accountId: '000000000000',
  maxQueue: 100,
  queueTimeoutMs: 1000,
  idleMs: 300_000,
  initTimeoutMs: 10_000,
} as const;

/** Lambda's synchronous invocation response limit. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
/**
 * Output of one invocation (per stream, stdout and stderr) the gateway splits into lines and logs;
 * past it the rest is read and dropped unsplit, so a flood costs the gateway a bounded amount of work.
 */
export const LOG_BUDGET_BYTES = 1024 * 1024;
/** A longer line is cut here (CloudWatch's event limit is 256 KB). */
export const MAX_LOG_LINE_BYTES = 256 * 1024;
/**
 * The RSS watchdog's floor: a Node process needs ~40-50 MB before the handler allocates anything, and
 * Lambda's own minimum memory is 128 MB. The heap limit (--max-old-space-size) is memoryMb as set.
 */
export const MIN_RSS_LIMIT_MB = 128;
/** Lambda's LogType=Tail returns the last 4 KB of the invocation's log. */
export const LOG_TAIL_BYTES = 4096;
