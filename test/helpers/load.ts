/**
 * A bounded load generator for integration tests: N requests over C keep-alive connections (undici
 * Pool, one request per connection at a time), every response checked for status and full body.
 * Nothing is retried: a reset connection or a short body counts as a failure.
 */
import { Pool } from 'undici';

export interface LoadOptions {
  /** Total requests to send. */
  requests: number;
  /** Concurrent keep-alive connections (= requests in flight). */
  connections: number;
  path: string;
  /** The exact body every response must carry; when unset only the status is checked. */
  expectBody?: string;
  /** Response header whose values are counted (e.g. a header that differs between two configs). */
  countHeader?: string;
  /** Gives up (remaining requests count as failures) after this long. Default 60 s. */
  timeoutMs?: number;
  /** Called after each completed request (e.g. to pace other work). */
  onResponse?: (done: number) => void;
}

export interface LoadFailure {
  index: number;
  status?: number;
  error?: string;
  bodyBytes?: number;
}

export interface LoadResult {
  sent: number;
  ok: number;
  failures: LoadFailure[];
  statuses: Map<number, number>;
  /** Values of `countHeader` and how often each was seen. */
  headerValues: Map<string, number>;
  durationMs: number;
}

export async function runLoad(origin: string, opts: LoadOptions): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: opts.connections, pipelining: 1, keepAliveTimeout: 30_000 });
  const result: LoadResult = { sent: 0, ok: 0, failures: [], statuses: new Map(), headerValues: new Map(), durationMs: 0 };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const started = performance.now();
  let next = 0;
  let done = 0;
  const header = opts.countHeader?.toLowerCase();

  const one = async (index: number): Promise<void> => {
    result.sent++;
    try {
      const res = await pool.request({ path: opts.path, method: 'GET', headersTimeout: 20_000, bodyTimeout: 20_000 });
      const body = await res.body.text();
      result.statuses.set(res.statusCode, (result.statuses.get(res.statusCode) ?? 0) + 1);
      if (header !== undefined) {
        const v = String(res.headers[header] ?? '(none)');
        result.headerValues.set(v, (result.headerValues.get(v) ?? 0) + 1);
      }
      if (res.statusCode !== 200 || (opts.expectBody !== undefined && body !== opts.expectBody)) {
        result.failures.push({ index, status: res.statusCode, bodyBytes: Buffer.byteLength(body) });
      } else result.ok++;
    } catch (err) {
      result.failures.push({ index, error: `${(err as Error & { code?: string }).code ?? ''} ${(err as Error).message}` });
    }
    done++;
    opts.onResponse?.(done);
  };

  const lane = async (): Promise<void> => {
    while (next < opts.requests) {
      const index = next++;
      if (Date.now() > deadline) {
        result.failures.push({ index, error: 'not sent: load timed out' });
        continue;
      }
      await one(index);
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, lane));
  result.durationMs = performance.now() - started;
  await pool.close();
  return result;
}
