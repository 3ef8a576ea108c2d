/** The function runtime: Lambda-style handlers in warm processes of their own (Lambda Runtime API), or remote through the Invoke API. */
export { FUNCTION_NAME, FunctionPool, functionEnvironment } from './pool.js';
export { FunctionRegistry } from './registry.js';
export { RemoteFunction, type RemoteFunctionOptions } from './remote.js';
export { type FunctionRuntime, nodejs, RUNTIMES, type RuntimeCommand, type RuntimeStart } from './runtimes.js';
export * from './types.js';
