/**
 * The Node.js bootstrap: the entry of one function process (`node bootstrap.js <module> <export> [--commonjs]`).
 * A Lambda runtime client in a few dozen lines: load the handler in place, then loop on the Runtime API
 * at AWS_LAMBDA_RUNTIME_API (GET next → run → POST response | error), as the AWS Lambda Node.js runtime
 * does. Promise and callback handlers, context.succeed/fail/done, Lambda's error formatting; console
 * lines written to stdout in Lambda's `time\trequestId\tLEVEL\tmessage` text format (newlines as \r).
 *
 * It imports nothing of the gateway but protocol.js (no config, no secrets), and its environment is the
 * Lambda one the pool built: what runs here can read only what a Lambda function could.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Module, register } from 'node:module';
import { basename, dirname, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { type LambdaError, toLambdaError } from './protocol.js';

const [, , modulePath = '', exportName = 'handler', mode] = process.argv;
const api = process.env.AWS_LAMBDA_RUNTIME_API ?? '';
const base = `http://${api}/2018-06-01/runtime`;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
const handlerName = process.env._HANDLER ?? exportName;
// One kept-alive connection to the Runtime API: a warm call costs no connect.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId: string | undefined;

// stdin is the gateway's lifeline: it ends when the gateway goes away, and this process goes with it.
// Reading it also keeps this process's event loop alive between and during invocations (a handler's
// pending promise must time out, as on Lambda, not end the process with "unsettled top-level await").
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();

// Writes to stdout/stderr block while the gateway's pipe is full, as writes to a file would: a flood of
// output waits for the gateway to read it (back-pressure on the function), instead of queueing in this
// process's memory until the memory watchdog kills it.
for (const s of [process.stdout, process.stderr]) (s as unknown as { _handle?: { setBlocking?: (b: boolean) => void } })._handle?.setBlocking?.(true);

// console.* → one line each on stdout, tagged like Lambda's; the gateway attributes it to the invocation
// it gave this process (the tag is for people reading the raw stream, never trusted by the gateway).
const levels: Record<string, string> = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
    let message = format(...args);
    if (method === 'trace') message = `Trace: ${message}\n${(new Error().stack ?? '').split('\n').slice(2).join('\n')}`;
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message.replace(/\n/g, '\r')}\n`);
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(method: 'GET' | 'POST', path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setNoDelay(true);
    req.end(body);
  });
}

/** The gateway went away (or refused us): a function process never outlives its Runtime API. */
function lost(err: unknown): never {
  process.stderr.write(`bootstrap: Runtime API at ${api} failed: ${String(err)}\n`);
  process.exit(1);
}

const errorDoc = (e: LambdaError): string => JSON.stringify({ errorType: e.errorType, errorMessage: e.errorMessage, stackTrace: e.stack });

function postError(path: string, e: LambdaError): Promise<unknown> {
  return call('POST', path, errorDoc(e), { 'lambda-runtime-function-error-type': e.errorType }).catch(lost);
}

// Like the Lambda runtime: an error escaping the handler's promise chain fails the invocation, then the process exits.
const fatal = (e: LambdaError): void => {
  const id = currentRequestId;
  const done = id === undefined ? Promise.resolve() : postError(`/invocation/${encodeURIComponent(id)}/error`, e);
  void done.finally(() => process.exit(129));
};
process.on('uncaughtException', (err) => fatal(toLambdaError(err)));
process.on('unhandledRejection', (reason) =>
  fatal({
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: String(reason instanceof Error ? `${reason.name}: ${reason.message}` : reason),
    stack: [`Runtime.UnhandledPromiseRejection: ${String(reason)}`],
  }),
);

type Handler = (event: unknown, context: unknown, callback: (err?: unknown, result?: unknown) => void) => unknown;

function classifyLoadError(err: unknown): LambdaError {
  const e = toLambdaError(err);
  // CommonJS code in a file Node loads as an ES module (a .mjs, or a .js under "type": "module"): say the fix.
  if (err instanceof ReferenceError && /^(module|exports|require|__dirname|__filename) is not defined in ES module scope/.test(e.errorMessage)) {
    const cjs = `${basename(modulePath, extname(modulePath))}.cjs`;
    return { ...e, errorMessage: `${e.errorMessage}: ${basename(modulePath)} is CommonJS but loaded as an ES module; rename it to ${cjs}` };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
    return { ...e, errorType: 'Runtime.ImportModuleError', errorMessage: `Error: ${e.errorMessage}` };
  }
  if (err instanceof SyntaxError) return { ...e, errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${e.errorMessage}` };
  return e;
}

/**
 * A `.js` handler Lambda runs as CommonJS (no package.json between it and the code folder says otherwise)
 * while Node here would take "type": "module" from a package.json above the code folder: compiled as
 * CommonJS directly, as Lambda's Node runtime would load it.
 */
function loadCommonJs(file: string): Record<string, unknown> {
  const m = new Module(file);
  m.filename = file;
  m.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(dirname(file));
  (m as unknown as { _compile(src: string, file: string): void })._compile(readFileSync(file, 'utf8'), file);
  m.loaded = true;
  const exports = m.exports as unknown;
  return { ...(typeof exports === 'object' && exports !== null ? exports : {}), default: exports };
}

/**
 * ES modules do not read NODE_PATH; Lambda's Node.js 18+ runtimes still let an ES module handler import
 * packages from its layers (`nodejs/node_modules`, `nodejs/nodeNN/node_modules`). A resolve hook does
 * the same here: a bare specifier Node cannot find from the importing file is looked for in each
 * NODE_PATH folder, in order. Registered only when the function has layers (it costs a hooks thread).
 */
const LAYER_RESOLVE_HOOK = `
import { pathToFileURL } from 'node:url';
let parents = [];
export function initialize(data) { parents = data.dirs.map((d) => pathToFileURL(d + '/_').href); }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || /^(\\.|\\/|[a-z][a-z0-9+.-]*:)/i.test(specifier)) throw err;
    for (const parentURL of parents) {
      try { return await next(specifier, { ...context, parentURL }); } catch {}
    }
    throw err;
  }
}`;
const layerDirs = (process.env.NODE_PATH ?? '').split(':').filter((d) => d !== '');
if (layerDirs.length > 0) register(`data:text/javascript,${encodeURIComponent(LAYER_RESOLVE_HOOK)}`, { data: { dirs: layerDirs } });

async function load(): Promise<Handler | LambdaError> {
  let ns: Record<string, unknown>;
  try {
    ns = mode === '--commonjs' ? loadCommonJs(modulePath) : ((await import(pathToFileURL(modulePath).href)) as Record<string, unknown>);
  } catch (err) {
    return classifyLoadError(err);
  }
  const path = exportName.split('.');
  const walk = (root: unknown): unknown => {
    let v = root;
    for (const key of path) v = v == null ? undefined : (v as Record<string, unknown>)[key];
    return v;
  };
  // CommonJS exports the lexer could not detect are only on `default` (= module.exports).
  let fn = walk(ns);
  if (typeof fn !== 'function') fn = walk(ns.default);
  if (typeof fn !== 'function') return { errorType: 'Runtime.HandlerNotFound', errorMessage: `${handlerName} is undefined or not exported`, stack: [] };
  return fn as Handler;
}

/** Calls `fn` once the event loop holds nothing but stdio (Lambda's "empty event loop"). */
function whenEventLoopEmpty(fn: () => void): void {
  const check = (): void => {
    if (process.getActiveResourcesInfo().every((r) => r === 'TTYWrap' || r === 'PipeWrap' || r === 'CloseReq')) fn();
    else setTimeout(check, 5).unref();
  };
  setTimeout(check, 0).unref();
}

const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

/** Runs one invocation; resolves once its answer was posted. */
function invoke(handler: Handler, next: Reply): Promise<void> {
  const requestId = String(next.headers['lambda-runtime-aws-request-id'] ?? '');
  const deadline = Number(next.headers['lambda-runtime-deadline-ms'] ?? Date.now() + 3000);
  const arn = String(next.headers['lambda-runtime-invoked-function-arn'] ?? '');
  currentRequestId = requestId;
  const rid = encodeURIComponent(requestId);
  return new Promise<void>((resolve) => {
    let claimed = false;
    const sendError = (err: unknown): void => {
      void postError(`/invocation/${rid}/error`, toLambdaError(err)).then(() => resolve());
    };
    const sendResult = (result: unknown): void => {
      let body: string | undefined;
      try {
        body = JSON.stringify(result);
      } catch (err) {
        sendError(err);
        return;
      }
      body ??= 'null';
      if (Buffer.byteLength(body) > MAX_RESPONSE_BYTES) {
        void postError(`/invocation/${rid}/error`, {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
          stack: [],
        }).then(() => resolve());
        return;
      }
      call('POST', `/invocation/${rid}/response`, body).then(() => resolve(), lost);
    };
    const complete = (err: unknown, result: unknown, isError: boolean, wait: boolean): void => {
      if (claimed) return;
      claimed = true;
      const send = (): void => (isError ? sendError(err) : sendResult(result));
      if (wait) whenEventLoopEmpty(send);
      else send();
    };
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
      invokedFunctionArn: arn,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
      identity: undefined,
      clientContext: undefined,
      getRemainingTimeInMillis: (): number => Math.max(0, deadline - Date.now()),
      succeed: (result?: unknown): void => complete(undefined, result, false, context.callbackWaitsForEmptyEventLoop),
      fail: (err?: unknown): void => complete(err ?? 'handled', undefined, true, context.callbackWaitsForEmptyEventLoop),
      done: (err?: unknown, result?: unknown): void => callback(err, result),
    };
    const callback = (err?: unknown, result?: unknown): void => {
      const isError = err !== undefined && err !== null;
      complete(err, result, isError, context.callbackWaitsForEmptyEventLoop);
    };
    let event: unknown;
    let returned: unknown;
    try {
      event = JSON.parse(next.body.toString('utf8'));
      returned = handler(event, context, callback);
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
      // A synchronous handler without a callback parameter: a returned value is the result at once;
      // undefined answers null once the event loop is empty, unless context.succeed/fail/done answers first.
      if (returned !== undefined) complete(undefined, returned, false, false);
      else whenEventLoopEmpty(() => complete(undefined, null, false, false));
    }
  });
}

const loaded = await load();
if (typeof loaded !== 'function') {
  await postError('/init/error', loaded);
  process.exit(1);
}
for (;;) {
  const next = await call('GET', '/invocation/next').catch(lost);
  if (next.status !== 200) lost(`GET next answered ${next.status}`);
  await invoke(loaded, next);
}
