import pino, { type Logger } from 'pino';
import { LineWriter } from './line-writer.js';

const FLUSH_MS = 50;

/** Where the access log writes its prebuilt lines; `writeAscii` when the destination is a LineWriter. */
export interface RawDestination {
  write(line: string): boolean;
  writeAscii?(line: string): boolean;
}

/** The raw destination behind a logger (shared by its children): the access log writes prebuilt lines to it. */
export function rawDestination(logger: Logger): RawDestination {
  return (logger as unknown as Record<symbol, RawDestination>)[pino.symbols.streamSym] as RawDestination;
}

/**
 * One JSON line per event on stdout. Writes are asynchronous (LineWriter) so logging never blocks
 * the event loop on a slow pipe; what is pending is written synchronously on exit.
 * No pino `redact`: its wildcard paths cost ~3% of a proxied request in profiles (redactPaths on every
 * line). Secrets are kept out by construction instead: request headers, cookies and query strings are
 * never passed to the logger (see access-log.ts), and upstream errors are logged as {code, message} only.
 */
export function createLogger(level: string = process.env.TURNPIKE_LOG_LEVEL ?? 'info'): Logger {
  // Lines are batched (one write(2) per ~8 KiB instead of one per request: about 5% of a proxied
  // request's CPU in profiles) and flushed at least every FLUSH_MS, so a quiet gateway's lines still
  // appear at once to a reader. The writer is ours, not pino.destination: see line-writer.ts.
  const dest = new LineWriter(1, 8192);
  const timer = setInterval(() => {
    if (dest.pendingLength > 0) dest.flush();
  }, FLUSH_MS);
  timer.unref();
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  const flush = () => {
    clearInterval(timer);
    dest.flushSync();
  };
  process.once('exit', flush);
  return logger;
}
