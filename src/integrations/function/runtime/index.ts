/** The function runtime: Lambda-style handlers in pools of worker threads, or remote through the Invoke API. */
export { FunctionPool, functionEnvironment } from './pool.js';
export { FunctionRegistry } from './registry.js';
export { RemoteFunction, type RemoteFunctionOptions } from './remote.js';
export * from './types.js';
