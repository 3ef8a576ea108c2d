/**
 * Function runtimes: how to start a process that speaks the Lambda Runtime API for one function
 * (DESIGN.md's seam `{ runtimes, start(fn) → process speaking the Lambda Runtime API }`).
 *
 * A runtime only says what to execute; the pool (pool.ts) owns everything else, the same for every
 * language: the clean environment (functionEnvironment + AWS_LAMBDA_RUNTIME_API), the Runtime API
 * listener, warm processes, timeouts and kills, the memory watchdog, stdout/stderr lines. Issue 12 adds
 * `python3.x` (a stdlib runtime client) and `provided` (the function's own executable `bootstrap`) here.
 */
import { fileURLToPath } from 'node:url';

export interface RuntimeCommand {
  /** Executable (absolute path, or a name found on the function's PATH). */
  file: string;
  args: string[];
}

export interface RuntimeStart {
  /** Absolute path of the handler file. */
  module: string;
  /** Exported name (dots walk into nested objects). */
  exportName: string;
  memoryMb: number;
}

export interface FunctionRuntime {
  /** Lambda's runtime identifier (AWS_EXECUTION_ENV is `AWS_Lambda_${name}`). */
  readonly name: string;
  command(fn: RuntimeStart): RuntimeCommand;
}

const NODE_BOOTSTRAP = fileURLToPath(new URL('./bootstrap.js', import.meta.url));

/** Node.js: this Node binary running bootstrap.js, its old-generation heap bounded by memoryMb. */
export const nodejs: FunctionRuntime = {
  name: 'nodejs20.x',
  command: (fn) => ({
    file: process.execPath,
    args: [`--max-old-space-size=${fn.memoryMb}`, NODE_BOOTSTRAP, fn.module, fn.exportName],
  }),
};

export const RUNTIMES: ReadonlyMap<string, FunctionRuntime> = new Map([[nodejs.name, nodejs]]);
