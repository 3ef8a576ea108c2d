import pino, { type Logger } from 'pino';

/**
 * One JSON line per event on stdout. The destination is asynchronous (sonic-boom) so logging never
 * blocks the event loop on a slow pipe; it is flushed on exit.
 * No pino `redact`: its wildcard paths cost ~3% of a proxied request in profiles (redactPaths on every
 * line). Secrets are kept out by construction instead: request headers, cookies and query strings are
 * never passed to the logger (see access-log.ts), and upstream errors are logged as {code, message} only.
 */
export function createLogger(level: string = process.env.TURNPIKE_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0 });
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
    try {
      dest.flushSync();
    } catch {
      // nothing left to do at exit
    }
  };
  process.once('exit', flush);
  return logger;
}
