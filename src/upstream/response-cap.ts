/**
 * Reading a whole upstream answer into memory, bounded. Integrations that must hold an answer before
 * they can reply (AWS non-proxy mappings, which select a response by status and render templates over
 * the body; remote function invocations, whose JSON is parsed) read it through here, so a hostile or
 * broken upstream costs at most `limit` bytes per request instead of whatever it sends (a 400 MB
 * answer once took the process to 1.8 GB). Streaming integrations never buffer and need no cap.
 */

export class ResponseTooLargeError extends Error {
  readonly code = 'TURNPIKE_RESPONSE_TOO_LARGE';
  readonly limit: number;
  constructor(limit: number) {
    super(`upstream response larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * The body as one Buffer, or ResponseTooLargeError as soon as it passes `limit` bytes. A declared
 * Content-Length over the limit fails before a byte is read. Throwing inside the loop ends the
 * iteration, which destroys a Node stream (undici) or cancels a web stream (fetch), so the rest of
 * the answer is never read and its connection is not reused.
 */
export async function readCapped(body: AsyncIterable<Uint8Array> | null | undefined, limit: number, declaredLength?: string | null): Promise<Buffer> {
  if (declaredLength !== undefined && declaredLength !== null && declaredLength !== '') {
    const n = Number(declaredLength);
    if (Number.isFinite(n) && n > limit) {
      await discard(body);
      throw new ResponseTooLargeError(limit);
    }
  }
  if (body === null || body === undefined) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += c.byteLength;
    if (size > limit) throw new ResponseTooLargeError(limit);
    chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/** Ends a body without reading it: destroy() for a Node stream, cancel() for a web stream. */
async function discard(body: AsyncIterable<Uint8Array> | null | undefined): Promise<void> {
  const b = body as { destroy?: () => void; cancel?: () => Promise<void> } | null | undefined;
  if (b === null || b === undefined) return;
  if (typeof b.destroy === 'function') b.destroy();
  else if (typeof b.cancel === 'function') await b.cancel().catch(() => undefined);
}
