/**
 * `validate`, `routes`, `export` and `import`: load, validate and compile a config without serving.
 * Its own module so that src/cli/main.ts stays light (loaded by those commands only).
 */
import pino from 'pino';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { buildTable, readConfigFile } from '../config/index.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { loadTls } from '../server/tls.js';
import { PoolRegistry } from '../upstream/upstream.js';

/** Loads, validates and compiles without serving; exits 1 with every problem, one per line on stderr. */
export async function compileOnly(file: string) {
  const logger = pino({ level: 'silent' });
  try {
    const doc = await readConfigFile(file);
    const table = buildTable(doc, { logger, metrics: new GatewayMetrics(), pools: new PoolRegistry() });
    // Certificates and keys too: serve reads them before it listens (and refuses the file if they fail).
    loadTls(doc);
    // Parser warnings do not fail the file, but they are worth seeing.
    for (const w of doc.warnings) process.stderr.write(`${formatDiagnostic(w)}\n`);
    return table;
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`${file}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
