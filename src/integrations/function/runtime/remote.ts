/**
 * RemoteFunction: invokes a function through the Lambda Invoke API
 * (POST {endpoint}/2015-03-31/functions/{name}/invocations), as served by the AWS Lambda Runtime
 * Interface Emulator, LocalStack or Lambda itself (unsigned), and maps the answer to an InvokeResult.
 */
import { performance } from 'node:perf_hooks';
import { DEADLINES, deadlineSignal } from '../../../util/deadline-queue.js';
import { ResponseTooLargeError, readCapped } from '../../../upstream/response-cap.js';
import { type InvokeErrorKind, type InvokeOptions, type InvokeResult, MAX_RESPONSE_BYTES } from './types.js';

export interface RemoteFunctionOptions {
  /** Client-side limit on one invocation. Default 30000. */
  timeoutMs?: number;
  /** Extra request headers (e.g. an authorization header for a proxy in front of the endpoint). */
  headers?: Record<string, string>;
}

const LOAD_ERRORS = new Set(['Runtime.ImportModuleError', 'Runtime.HandlerNotFound', 'Runtime.UserCodeSyntaxError', 'Runtime.MalformedHandlerName']);

function classify(errorType: string, errorMessage: string, header: string): InvokeErrorKind {
  if (errorType === 'Sandbox.Timedout' || /Task timed out after/.test(errorMessage)) return 'timeout';
  if (LOAD_ERRORS.has(errorType)) return 'load-error';
  if (errorType === 'Runtime.ExitError' || errorType === 'Runtime.OutOfMemory') return 'crash';
  return header.toLowerCase() === 'handled' ? 'handled-error' : 'unhandled';
}

function parse(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class RemoteFunction {
  readonly url: string;
  readonly name: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;

  constructor(endpoint: string, name: string, opts: RemoteFunctionOptions = {}) {
    this.name = name;
    this.url = `${endpoint.replace(/\/+$/, '')}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#headers = opts.headers ?? {};
  }

  async invoke(event: unknown, opts: InvokeOptions = {}): Promise<InvokeResult> {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const start = performance.now();
    const duration = (): number => Math.round((performance.now() - start) * 1000) / 1000;
    const budget = Math.max(0, Math.min(this.#timeoutMs, (opts.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now()));
    // timeoutMs (or the caller's earlier deadline: a sorted insert into the same lane) on the shared deadline queue.
    const lane = DEADLINES.lane(this.#timeoutMs);
    const timer = deadlineSignal(lane, () => new DOMException('The operation timed out', 'TimeoutError'), budget < lane.ms ? { at: lane.queue.now() + budget } : {});
    const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
    const headers: Record<string, string> = {
      ...this.#headers,
      'content-type': 'application/json',
      'x-amz-invocation-type': 'RequestResponse',
      'x-amz-log-type': 'Tail',
    };
    if (opts.requestId) headers['x-amzn-requestid'] = opts.requestId;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body: JSON.stringify(event) ?? 'null', signal });
      // Bounded as a local function's answer is (Lambda's 6 MB): res.text() would hold whatever the endpoint sends.
      let text: string;
      try {
        text = (await readCapped(res.body as AsyncIterable<Uint8Array> | null, MAX_RESPONSE_BYTES, res.headers.get('content-length'))).toString('utf8');
      } catch (err) {
        if (!(err instanceof ResponseTooLargeError)) throw err;
        const errorMessage = `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`;
        return { ok: false, kind: 'unhandled', errorType: 'Function.ResponseSizeTooLarge', errorMessage, durationMs: duration() };
      }
      const body = parse(text);
      const logResult = res.headers.get('x-amz-log-result');
      const logs = logResult ? { logs: Buffer.from(logResult, 'base64').toString('utf8') } : {};
      const fnError = res.headers.get('x-amz-function-error');
      if (res.status >= 200 && res.status < 300 && !fnError) return { ok: true, payload: body, durationMs: duration(), ...logs };
      const b = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
      const errorMessage = String(b.errorMessage ?? b.message ?? b.Message ?? (typeof body === 'string' ? body : `HTTP ${res.status}`));
      const trace = b.stackTrace ?? b.trace;
      const stack = Array.isArray(trace) ? { stack: trace.map(String) } : {};
      if (fnError) {
        const errorType = String(b.errorType ?? (fnError.toLowerCase() === 'handled' ? 'Handled' : 'Unhandled'));
        return { ok: false, kind: classify(errorType, errorMessage, fnError), errorType, errorMessage, ...stack, durationMs: duration(), ...logs };
      }
      // A service error (the invocation did not run): AWS names it in x-amzn-ErrorType or the body's Type/__type.
      const errorType = String(
        res.headers.get('x-amzn-errortype')?.split(':')[0] ?? b.Type ?? b.__type ?? b.errorType ?? `HTTP${res.status}`,
      );
      const kind: InvokeErrorKind =
        res.status === 429 ? 'throttled' : res.status === 404 || res.status === 400 || res.status === 403 ? 'load-error' : 'crash';
      return { ok: false, kind, errorType, errorMessage, ...stack, durationMs: duration() };
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (timer.signal.aborted) {
        return {
          ok: false,
          kind: 'timeout',
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${(budget / 1000).toFixed(2)} seconds`,
          durationMs: duration(),
        };
      }
      const e = err as Error & { cause?: { code?: string; message?: string } };
      return {
        ok: false,
        kind: 'crash',
        errorType: e.cause?.code ?? e.name,
        errorMessage: `Invoke API at ${this.url} failed: ${e.cause?.message ?? e.message}`,
        durationMs: duration(),
      };
    } finally {
      timer.cancel();
    }
  }
}
