/** Messages between a FunctionPool and its worker threads (internal). */
import type { LogLevel } from './types.js';

export interface WorkerInit {
  module: string;
  exportName: string;
  handlerName: string;
  functionName: string;
  memoryMb: number;
  region: string;
  accountId: string;
  logStreamName: string;
}

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  stack: string[];
}

/** Parent → worker. */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  requestId: string;
  eventJson: string;
  /** Epoch ms; context.getRemainingTimeInMillis() counts down to it. */
  deadline: number;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: 'ready'; error?: LambdaError }
  | { type: 'log'; requestId: string | undefined; level: LogLevel; message: string; time: number }
  | { type: 'result'; id: number; payloadJson: string }
  | { type: 'result'; id: number; error: LambdaError }
  /** An uncaught exception or unhandled rejection: the worker is unusable and is terminated. */
  | { type: 'fatal'; id: number | undefined; error: LambdaError };

/** Lambda's Node.js runtime formatting of a thrown value. */
export function toLambdaError(err: unknown): LambdaError {
  try {
    if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err && 'stack' in err)) {
      const e = err as Error;
      return {
        errorType: String(e.name ?? 'Error'),
        errorMessage: String(e.message ?? ''),
        stack: typeof e.stack === 'string' ? e.stack.split('\n') : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), stack: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      stack: [],
    };
  }
}
