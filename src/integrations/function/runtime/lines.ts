/**
 * LineSplitter: a function process's stdout or stderr cut into lines in linear time, under a byte budget.
 *
 * Why not `buf += chunk; buf.indexOf('\n')`: a writer that never sends a newline makes every chunk
 * rescan (and copy) the whole growing buffer, quadratic in the output, on the gateway's thread. Here
 * each byte is looked at once: a chunk is searched only from where the previous search stopped, a
 * partial line is kept as a list of chunks (joined once, when its newline arrives), and a line that
 * reaches `maxLineBytes` is cut there and emitted as it is.
 *
 * The budget (`budgetBytes`, reset by `resetBudget()` at each invocation start) bounds what one
 * invocation's output costs the gateway: past it, bytes are counted and dropped without being split
 * or decoded, and `onOverflow` is called once.
 */
export interface LineSplitterOptions {
  maxLineBytes: number;
  budgetBytes: number;
  onLine: (line: string) => void;
  /** Called once per budget period, when the budget is first exceeded. */
  onOverflow?: (droppedFrom: number) => void;
}

const NL = 0x0a;

export class LineSplitter {
  readonly #o: LineSplitterOptions;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #used = 0;
  #overflowed = false;
  /** Bytes dropped since the last resetBudget(). */
  dropped = 0;

  constructor(opts: LineSplitterOptions) {
    this.#o = opts;
  }

  /**
   * A new budget period (an invocation started): earlier output no longer counts, and a partial line
   * left by the previous one is emitted now, so it is neither glued to nor attributed to the next.
   */
  resetBudget(): void {
    this.end();
    this.#used = 0;
    this.#overflowed = false;
    this.dropped = 0;
  }

  push(chunk: Buffer): void {
    let start = 0;
    if (this.#used >= this.#o.budgetBytes) {
      this.#drop(chunk.length);
      return;
    }
    const room = this.#o.budgetBytes - this.#used;
    let end = chunk.length;
    if (end > room) {
      // Only the part inside the budget is split; the rest is counted and dropped.
      this.#drop(end - room);
      end = room;
    }
    this.#used += end;
    while (start < end) {
      const nl = chunk.indexOf(NL, start);
      const stop = nl < 0 || nl >= end ? end : nl;
      const want = this.#o.maxLineBytes - this.#partBytes;
      if (stop - start >= want) {
        // The line reached its maximum length: emit it cut, go on with the rest of the chunk.
        this.#append(chunk.subarray(start, start + want));
        this.#flush();
        start += want;
        continue;
      }
      this.#append(chunk.subarray(start, stop));
      if (stop === nl) {
        this.#flush();
        start = nl + 1;
      } else start = stop;
    }
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.#partBytes > 0 || this.#parts.length > 0) this.#flush();
  }

  #append(b: Buffer): void {
    if (b.length === 0) return;
    // Copy: the stream may reuse its chunk's memory after the 'data' event.
    this.#parts.push(Buffer.from(b));
    this.#partBytes += b.length;
  }

  #flush(): void {
    const line = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#partBytes);
    this.#parts = [];
    this.#partBytes = 0;
    let text = line.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    this.#o.onLine(text);
  }

  #drop(n: number): void {
    this.dropped += n;
    if (!this.#overflowed) {
      this.#overflowed = true;
      this.#o.onOverflow?.(this.#used);
    }
  }
}
