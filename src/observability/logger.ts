import pino, { type Logger } from 'pino';

const FLUSH_MS = 50;

/** The raw destination behind a logger (shared by its children): the access log writes prebuilt lines to it. */
export function rawDestination(logger: Logger): { write(line: string): boolean } {
  return (logger as unknown as Record<symbol, { write(line: string): boolean }>)[pino.symbols.streamSym] as { write(line: string): boolean };
}

/**
 * One JSON line per event on stdout. The destination is asynchronous (sonic-boom) so logging never
 * blocks the event loop on a slow pipe; it is flushed on exit.
 * No pino `redact`: its wildcard paths cost ~3% of a proxied request in profiles (redactPaths on every
 * line). Secrets are kept out by construction instead: request headers, cookies and query strings are
 * never passed to the logger (see access-log.ts), and upstream errors are logged as {code, message} only.
 */
export function createLogger(level: string = process.env.TURNPIKE_LOG_LEVEL ?? 'info'): Logger {
  // Lines are batched (one write(2) per ~8 KiB instead of one per request: about 5% of a proxied
  // request's CPU in profiles) and flushed at least every FLUSH_MS, so a quiet gateway's lines still
  // appear at once to a reader.
  const dest = pino.destination({ dest: 1, sync: false, minLength: 8192 });
  const timer = setInterval(() => {
    if ((dest as unknown as { _len?: number })._len) dest.flush();
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
    try {
      dest.flushSync();
    } catch {
      // nothing left to do at exit
    }
  };
  process.once('exit', flush);
  return logger;
}
