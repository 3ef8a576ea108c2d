/**
 * The document <-> text step shared by the database source and the store's write check: a config
 * held in the database is rendered as JSON text and from there goes through exactly the path a
 * file does (parseConfigText: `${VAR}` interpolation, positions; buildTable: validate, compile).
 * That is why a change made through the Admin API is rejected with the same messages as a file edit.
 */
import pino, { type Logger } from 'pino';
import { buildTable, parseConfigText } from '../config/index.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { loadTls } from '../server/tls.js';
import { PoolRegistry } from '../upstream/upstream.js';
import type { ConfigCheck } from './entities.js';

/**
 * The "file name" of a config that comes from the database: diagnostics read
 * `database:12:7 apis[0].routes[1].integration.upstream: unknown upstream "x"`, with line and column
 * in the rendered JSON (as `turnpike export --database --format json` prints it), and relative paths
 * in the config resolve against the node's working directory.
 */
export const DATABASE_LABEL = 'database';

/** Deterministic (document key order is kept), so the content hash only changes with the content. */
export function renderConfig(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

export interface ConfigCheckOptions {
  logger?: Logger;
  /** What the node does to a database document before serving it (merging its local `server` block). */
  prepare?: (document: Record<string, unknown>) => Record<string, unknown>;
  label?: string;
}

/**
 * Validates and compiles a candidate document as a reload would (certificates included), then
 * closes what the compile opened: nothing is left running, nothing is served.
 */
export function makeConfigCheck(opts: ConfigCheckOptions = {}): ConfigCheck {
  const logger = opts.logger ?? pino({ level: 'silent' });
  // One metrics object per check function: a GatewayMetrics per call would start a new set of
  // default process collectors every time.
  let metrics: GatewayMetrics | undefined;
  return async (document) => {
    const doc = parseConfigText(renderConfig(opts.prepare ? opts.prepare(document) : document), opts.label ?? DATABASE_LABEL);
    metrics ??= new GatewayMetrics();
    const pools = new PoolRegistry();
    const table = buildTable(doc, { logger, metrics, pools });
    try {
      loadTls(doc);
    } finally {
      await table.close();
      await pools.closeAll();
    }
  };
}
