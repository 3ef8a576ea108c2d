import pino, { type Logger } from 'pino';

/**
 * One JSON line per event on stdout. The destination is asynchronous (sonic-boom) so logging never
 * blocks the event loop on a slow pipe; it is flushed on exit. Request headers are never logged, and
 * these paths are redacted in case an error object carries them.
 */
export function createLogger(level: string = process.env.TURNPIKE_LOG_LEVEL ?? 'info'): Logger {
  const dest = pino.destination({ dest: 1, sync: false, minLength: 0 });
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      redact: {
        paths: [
          'headers.authorization',
          'headers.cookie',
          'headers["x-api-key"]',
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          '*.headers.authorization',
          '*.headers.cookie',
          '*.headers["x-api-key"]',
        ],
        censor: '[redacted]',
      },
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
