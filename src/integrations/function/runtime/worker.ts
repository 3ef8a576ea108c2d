/**
 * Worker-thread entry: one warm "Lambda container". Loads the handler module in place, then runs one
 * invocation at a time for its FunctionPool. Mirrors the AWS Lambda Node.js runtime where cheap:
 * promise and callback handlers, context.succeed/fail/done, Lambda's error formatting, console
 * lines tagged with the request id.
 */
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { type InvokeMessage, type LambdaError, toLambdaError, type WorkerInit, type WorkerMessage } from './protocol.js';
import { MAX_RESPONSE_BYTES, type LogLevel } from './types.js';

if (!parentPort) throw new Error('function runtime worker must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (msg: WorkerMessage): void => port.postMessage(msg);

/** The invocation running now (or last run: late output of a finished invocation is tagged with it, as in Lambda). */
let currentRequestId: string | undefined;
let currentId: number | undefined;

// console.* → structured log messages. Other writes to process.stdout/stderr reach the pool as raw streams.
const levels: Record<string, LogLevel> = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
    let message = format(...args);
    if (method === 'trace') message = `Trace: ${message}\n${(new Error().stack ?? '').split('\n').slice(2).join('\n')}`;
    post({ type: 'log', requestId: currentRequestId, level, message, time: Date.now() });
  };
}

// Like the Lambda runtime: an error escaping the handler's promise chain fails the invocation and the container.
process.on('uncaughtException', (err) => {
  post({ type: 'fatal', id: currentId, error: toLambdaError(err) });
});
process.on('unhandledRejection', (reason) => {
  post({
    type: 'fatal',
    id: currentId,
    error: {
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: String(reason instanceof Error ? `${reason.name}: ${reason.message}` : reason),
      stack: [`Runtime.UnhandledPromiseRejection: ${String(reason)}`],
    },
  });
});

type Handler = (event: unknown, context: unknown, callback: (err?: unknown, result?: unknown) => void) => unknown;

function classifyLoadError(err: unknown): LambdaError {
  const e = toLambdaError(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return { ...e, errorType: 'Runtime.ImportModuleError', errorMessage: `Error: ${e.errorMessage}` };
  }
  if (err instanceof SyntaxError) return { ...e, errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${e.errorMessage}` };
  return e;
}

async function load(): Promise<Handler | LambdaError> {
  let ns: Record<string, unknown>;
  try {
    ns = (await import(pathToFileURL(init.module).href)) as Record<string, unknown>;
  } catch (err) {
    return classifyLoadError(err);
  }
  const path = init.exportName.split('.');
  const walk = (root: unknown): unknown => {
    let v = root;
    for (const key of path) v = v == null ? undefined : (v as Record<string, unknown>)[key];
    return v;
  };
  // CommonJS exports the lexer could not detect are only on `default` (= module.exports).
  let fn = walk(ns);
  if (typeof fn !== 'function') fn = walk(ns.default);
  if (typeof fn !== 'function') {
    return { errorType: 'Runtime.HandlerNotFound', errorMessage: `${init.handlerName} is undefined or not exported`, stack: [] };
  }
  return fn as Handler;
}

// Listen before loading: the listening port keeps this thread's event loop alive while the import is
// pending (an ESM worker whose loop runs empty during a top-level await exits silently).
let handler: Handler | undefined;
const arn = `arn:aws:lambda:${init.region}:${init.accountId}:function:${init.functionName}`;
port.on('message', (msg: InvokeMessage) => {
  if (msg.type === 'invoke' && handler) invoke(handler, arn, msg);
});
const loaded = await load();
if (typeof loaded !== 'function') {
  post({ type: 'ready', error: loaded });
} else {
  handler = loaded;
  post({ type: 'ready' });
}

/** Calls `fn` once the worker's event loop holds nothing but its message ports (Lambda's "empty event loop"). */
function whenEventLoopEmpty(fn: () => void): void {
  const check = (): void => {
    if (process.getActiveResourcesInfo().every((r) => r === 'MessagePort' || r === 'CloseReq')) fn();
    else setTimeout(check, 5).unref();
  };
  setTimeout(check, 0).unref();
}

function invoke(handler: Handler, arn: string, msg: InvokeMessage): void {
  currentRequestId = msg.requestId;
  currentId = msg.id;
  let claimed = false;
  const sendError = (err: unknown): void => post({ type: 'result', id: msg.id, error: toLambdaError(err) });
  const sendResult = (result: unknown): void => {
    let json: string | undefined;
    try {
      json = JSON.stringify(result);
    } catch (err) {
      sendError(err);
      return;
    }
    json ??= 'null';
    if (Buffer.byteLength(json) > MAX_RESPONSE_BYTES) {
      post({
        type: 'result',
        id: msg.id,
        error: {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
          stack: [],
        },
      });
      return;
    }
    post({ type: 'result', id: msg.id, payloadJson: json });
  };
  /** First completion wins; `wait` defers the answer until the event loop is empty. */
  const complete = (err: unknown, result: unknown, isError: boolean, wait: boolean): void => {
    if (claimed) return;
    claimed = true;
    const send = (): void => (isError ? sendError(err) : sendResult(result));
    if (wait) whenEventLoopEmpty(send);
    else send();
  };
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: arn,
    memoryLimitInMB: String(init.memoryMb),
    awsRequestId: msg.requestId,
    logGroupName: `/aws/lambda/${init.functionName}`,
    logStreamName: init.logStreamName,
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: (): number => Math.max(0, msg.deadline - Date.now()),
    succeed: (result?: unknown): void => complete(undefined, result, false, context.callbackWaitsForEmptyEventLoop),
    fail: (err?: unknown): void => complete(err ?? 'handled', undefined, true, context.callbackWaitsForEmptyEventLoop),
    done: (err?: unknown, result?: unknown): void => callback(err, result),
  };
  const callback = (err?: unknown, result?: unknown): void => {
    const isError = err !== undefined && err !== null;
    complete(err, result, isError, context.callbackWaitsForEmptyEventLoop);
  };
  let returned: unknown;
  try {
    returned = handler(JSON.parse(msg.eventJson), context, callback);
  } catch (err) {
    complete(err, undefined, true, false);
    return;
  }
  if (returned !== null && typeof returned === 'object' && typeof (returned as PromiseLike<unknown>).then === 'function') {
    (returned as PromiseLike<unknown>).then(
      (v) => complete(undefined, v, false, false),
      (err: unknown) => complete(err, undefined, true, false),
    );
  } else if (handler.length < 3) {
    // A synchronous handler without a callback parameter: a returned value is the result at once (Lambda
    // would ignore it); returning undefined answers null once the event loop is empty, as in Lambda,
    // unless context.succeed/fail/done answers first.
    if (returned !== undefined) complete(undefined, returned, false, false);
    else whenEventLoopEmpty(() => complete(undefined, null, false, false));
  }
}
