import { Readable } from 'node:stream';
import { BodyPace, type BodyTimeoutError, type PaceOwner } from '../../pipeline/body-pace.js';
import type { RequestContext } from '../../pipeline/context.js';
import { BodyLimitError } from './proxy.js';

/**
 * A streamed request body on its way upstream: counted against the body limit (a chunked body has no
 * declared length) and paced (src/pipeline/body-pace.ts: idle and minimum-rate limits, counting only
 * the time spent waiting for the client). It starts reading the client only when undici first reads
 * it, i.e. once an upstream connection is up: until then a body of declared length is still intact,
 * so a refused connection may be retried (RetryState.replayable), and a request queued behind a busy
 * pool is not charged for the wait.
 */
export class PacedBody extends Readable implements PaceOwner {
  readonly #ctx: RequestContext;
  readonly #src: Readable;
  readonly #pace: BodyPace;
  /** Bytes still allowed; Infinity when the parser already enforces a declared length. */
  #left: number;
  #counting: boolean;
  /** Whether the client's body has started being read (no longer replayable). */
  started = false;

  constructor(ctx: RequestContext, src: Readable, limit: number, counting: boolean) {
    super();
    this.#ctx = ctx;
    this.#src = src;
    this.#left = limit;
    this.#counting = counting;
    this.#pace = new BodyPace(this, ctx.table.limits);
    // undici listens for this stream's errors only while its request is active; a pace deadline that
    // passes after undici let go of the stream (its request already answered or failed) must not
    // become an unhandled 'error' that kills the process.
    this.on('error', ignore);
  }

  override _read(): void {
    const src = this.#src;
    if (!this.started) {
      this.started = true;
      src.on('data', this.#onData);
      src.once('end', this.#onEnd);
      src.once('error', this.#onError);
      src.once('aborted', this.#onAborted);
    } else src.resume();
    this.#pace.wait();
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#left -= chunk.length;
    if (this.#counting) this.#ctx.bytesIn += chunk.length;
    if (this.#left < 0) return void this.destroy(new BodyLimitError('request body exceeds the limit'));
    const slow = this.#pace.chunk(chunk.length);
    if (slow !== undefined) return void this.paceFailed(slow);
    if (!this.push(chunk)) {
      this.#src.pause();
      this.#pace.hold();
    }
  };

  readonly #onEnd = (): void => {
    this.#pace.end();
    this.push(null);
  };

  /**
   * The client's side failed or went away mid-body: that is the client leaving, never an upstream
   * fault (no retry, no breaker verdict), so the request is aborted as the server does on close.
   */
  readonly #onError = (): void => {
    this.#ctx.abort(new Error('client closed the connection'));
    this.destroy();
  };

  readonly #onAborted = this.#onError;

  paceFailed(err: BodyTimeoutError): void {
    this.destroy(err);
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#pace.end();
    const src = this.#src;
    src.off('data', this.#onData);
    src.off('end', this.#onEnd);
    src.off('error', this.#onError);
    src.off('aborted', this.#onAborted);
    cb(err);
  }
}

function ignore(): void {}
