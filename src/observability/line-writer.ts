/**
 * Where log lines go: each line is kept as it is in a list, and a batch is joined, encoded and
 * written with one write(2) once it reaches `minLength` characters (or on flush()).
 *
 * Why not pino.destination (sonic-boom 4.2) with minLength: its write() appends the line to one
 * growing string and then takes Buffer.byteLength() of that whole string on every call, so V8
 * flattens and scans the pending batch once per line — quadratic in the batch. Under callgrind that
 * was ~10k of the ~191k instructions of a proxied request at 8 KiB batches (Utf8Length, WriteToFlat
 * and StringAdd in the profile; docs/benchmark.md, issue 10). Here a line costs an array push and the
 * batch is encoded once.
 *
 * How a batch is written depends on what the descriptor is, found once (fstat) at start:
 * - a regular file: write(2) synchronously. It lands in the page cache and returns; the thread-pool
 *   round trip of an asynchronous fs.write (request object, queueing, the completion callback) cost
 *   more than the write itself (pino's own default destination is synchronous too).
 * - anything else (a pipe, a socket, a terminal): asynchronously, so a reader that stops reading
 *   (a full pipe) blocks a thread-pool thread, never the event loop. One batch is in flight at a
 *   time and lines written meanwhile wait for the next, so order is kept.
 * Writing never throws into the caller: EAGAIN (a non-blocking pipe that is full) is retried, a
 * partial write sends the rest, any other error drops that batch (a log that cannot be written must
 * not take the gateway down).
 */
import fs from 'node:fs';

const EAGAIN_RETRY_MS = 10;

export class LineWriter {
  readonly #fd: number;
  readonly #minLength: number;
  #pending: string[] = [];
  /** In UTF-16 code units, not bytes: it is only a batching threshold. */
  #pendingLength = 0;
  /** The bytes handed to fs.write and not yet confirmed written. */
  #inFlight: Buffer | undefined = undefined;
  /** A flush came while a batch was in flight: write what is pending as soon as it completes. */
  #flushAfter = false;
  readonly #sync: boolean;
  /** Every pending line came through writeAscii(): the batch is encoded as latin1 (a copy, not a UTF-8 encoding pass). */
  #ascii = true;

  constructor(fd: number, minLength: number) {
    this.#fd = fd;
    this.#minLength = minLength;
    let regularFile = false;
    try {
      regularFile = fs.fstatSync(fd).isFile();
    } catch {
      // not open, or not ours to inspect: the asynchronous path is the safe one
    }
    this.#sync = regularFile;
  }

  /** True when batches are written synchronously (stdout is a regular file). */
  get synchronous(): boolean {
    return this.#sync;
  }

  /** Pending characters (tests and the periodic flush). */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  write(line: string): boolean {
    this.#ascii = false;
    return this.writeAscii(line);
  }

  /**
   * A line the caller knows to be 7-bit ASCII (the access log's, when no field needed escaping).
   * A batch of such lines only is written as latin1: byte for byte what UTF-8 would give, without the
   * encoder's per-character pass (~1.6k instructions per access line under callgrind).
   */
  writeAscii(line: string): boolean {
    this.#pending.push(line);
    this.#pendingLength += line.length;
    if (this.#pendingLength >= this.#minLength) this.#writeBatch();
    return true;
  }

  #writeBatch(): void {
    if (this.#sync) this.flushSync();
    else if (this.#inFlight === undefined) this.#send(this.#take());
  }

  /** Starts writing whatever is pending (pino's logger.flush() calls this). */
  flush(cb?: (err?: Error) => void): void {
    if (this.#pendingLength > 0) {
      if (this.#sync || this.#inFlight === undefined) this.#writeBatch();
      else this.#flushAfter = true;
    }
    cb?.();
  }

  /** Writes what is pending synchronously: the regular-file path, and at exit (a batch still in flight is the thread pool's). */
  flushSync(): void {
    if (this.#pendingLength === 0) return;
    let buf = this.#take();
    for (let tries = 0; buf.length > 0 && tries < 1000; tries++) {
      try {
        buf = buf.subarray(fs.writeSync(this.#fd, buf));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
  }

  #take(): Buffer {
    const text = this.#pending.length === 1 ? (this.#pending[0] as string) : this.#pending.join('');
    const encoding = this.#ascii ? 'latin1' : 'utf8';
    this.#pending = [];
    this.#pendingLength = 0;
    this.#ascii = true;
    return Buffer.from(text, encoding);
  }

  #send(buf: Buffer): void {
    this.#inFlight = buf;
    fs.write(this.#fd, buf, 0, buf.length, null, this.#onWritten);
  }

  readonly #onWritten = (err: NodeJS.ErrnoException | null, written: number): void => {
    const buf = this.#inFlight as Buffer;
    if (err !== null) {
      if (err.code === 'EAGAIN') {
        setTimeout(() => this.#send(buf), EAGAIN_RETRY_MS);
        return;
      }
      // Dropped (EPIPE: nobody reads our output any more); later lines try again.
    } else if (written < buf.length) {
      this.#send(buf.subarray(written));
      return;
    }
    this.#inFlight = undefined;
    if (this.#pendingLength > 0 && (this.#flushAfter || this.#pendingLength >= this.#minLength)) {
      this.#flushAfter = false;
      this.#send(this.#take());
    }
  };
}
