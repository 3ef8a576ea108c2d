/**
 * Cluster-mode commands: `turnpike migrate`, `turnpike import`, and the database half of
 * `turnpike export` (docs/cluster.md).
 *
 * Loaded by every CLI start (src/cli/main.ts registers these commands), so the PostgreSQL client and
 * the config machinery are imported inside the commands that use them, not here.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { openDatabase } from '../cluster/db.js';
import { ConfigError } from '../config/diagnostics.js';
import type { DatabaseServeOptions } from '../server/config-source.js';

export const DATABASE_ENV = 'TURNPIKE_DATABASE_URL';

/** --database, else TURNPIKE_DATABASE_URL; exits 1 naming both when neither is given. */
export function requireDatabaseUrl(command: string, flag: string | undefined): string {
  const url = flag ?? process.env[DATABASE_ENV];
  if (url === undefined || url === '') fail(command, `give the database with --database postgres://… or ${DATABASE_ENV}`);
  return url;
}

function fail(command: string, message: string): never {
  process.stderr.write(`turnpike ${command}: ${message}\n`);
  process.exit(1);
}

/** Runs fn with a short-lived pool; database errors end the command with one line. */
async function withDatabase<T>(command: string, url: string, fn: (sql: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> {
  const { openDatabase, redactUrl, toStoreError } = await import('../cluster/db.js');
  const sql = openDatabase(url, { max: 2 });
  try {
    return await fn(sql);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    const e = toStoreError(err, command) as Error;
    fail(command, `${e.message} (${redactUrl(url)})`);
  } finally {
    await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}

/**
 * How serve finds its database: --database, else TURNPIKE_DATABASE_URL, else `server.database` of
 * the given file (which then only contributes its node-local `server` block). undefined: file mode.
 */
export async function databaseServeOptions(
  file: string | undefined,
  o: { database?: string; configCache?: string | boolean; dbPollInterval?: number },
): Promise<DatabaseServeOptions | undefined> {
  let fromFile: { url?: unknown; pollIntervalMs?: unknown; cache?: unknown } | undefined;
  if (file !== undefined) {
    const { parseSource } = await import('../config/load.js');
    try {
      const data = parseSource(readFileSync(file, 'utf8'), file).data as { server?: { database?: typeof fromFile } } | null;
      fromFile = data?.server?.database;
    } catch {
      // serve reports an unreadable or broken file itself, with positions
    }
  }
  const url = o.database ?? process.env[DATABASE_ENV] ?? (typeof fromFile?.url === 'string' ? fromFile.url : undefined);
  if (url === undefined || url === '') return undefined;
  const cache = o.configCache === false ? false : typeof o.configCache === 'string' ? o.configCache : fromFile?.cache === false ? false : typeof fromFile?.cache === 'string' ? fromFile.cache : undefined;
  const poll = o.dbPollInterval ?? (typeof fromFile?.pollIntervalMs === 'number' ? fromFile.pollIntervalMs : undefined);
  return { url, ...(cache !== undefined ? { cache } : {}), ...(poll !== undefined ? { pollIntervalMs: poll } : {}) };
}

/** `turnpike export --database URL`: the stored config as a native YAML/JSON config file. */
export async function exportDatabase(url: string, o: { format?: string; out?: string }): Promise<void> {
  const format = o.format ?? (o.out !== undefined && /\.json$/i.test(o.out) ? 'json' : 'yaml');
  if (format !== 'yaml' && format !== 'json') fail('export', `--format must be yaml or json (got "${format}")`);
  const [{ PostgresConfigStore }, { stringify: stringifyYaml }] = await Promise.all([import('../cluster/postgres-store.js'), import('yaml')]);
  // A read: no migration here (an unmigrated database is reported as such by the store).
  const snap = await withDatabase('export', url, (sql) => new PostgresConfigStore(sql, async () => undefined).snapshot());
  const text = format === 'json' ? `${JSON.stringify(snap.document, null, 2)}\n` : stringifyYaml(snap.document, { lineWidth: 0 });
  // The config holds API-key hashes: readable by the owner only, like the node's cache.
  if (o.out !== undefined) writeFileSync(o.out, text, { mode: 0o600 });
  else process.stdout.write(text);
  process.stderr.write(`exported database version ${snap.version}\n`);
}

export function registerClusterCommands(program: Command, compileOnly: (file: string) => Promise<{ routes: readonly unknown[]; close(): Promise<void> }>): void {
  program
    .command('migrate')
    .description('create or upgrade the cluster-mode schema in PostgreSQL (idempotent; safe to run from several nodes at once)')
    .option('--database <url>', `postgres://user:pass@host:port/db (default: $${DATABASE_ENV})`)
    .action(async (o: { database?: string }) => {
      const url = requireDatabaseUrl('migrate', o.database);
      const [{ migrate }, { redactUrl }] = await Promise.all([import('../cluster/migrations.js'), import('../cluster/db.js')]);
      const r = await withDatabase('migrate', url, (sql) => migrate(sql));
      process.stdout.write(
        r.applied.length === 0
          ? `${redactUrl(url)}: schema up to date (version ${r.version})\n`
          : `${redactUrl(url)}: applied ${r.applied.map((m) => `${m.version} (${m.name})`).join(', ')}; schema version ${r.version}\n`,
      );
      process.exit(0);
    });

  program
    .command('import')
    .description('replace the configuration stored in PostgreSQL with a config file, in one transaction (validated first, like validate)')
    .argument('<file>', 'native config file (YAML or JSON)')
    .option('--database <url>', `postgres://user:pass@host:port/db (default: $${DATABASE_ENV})`)
    .option('--dry-run', 'validate and compare with the database; write nothing')
    .action(async (file: string, o: { database?: string; dryRun?: boolean }) => {
      const url = requireDatabaseUrl('import', o.database);
      const [{ makeConfigCheck }, { redactUrl }, { assembleConfig, splitConfig }, { migrate }, { PostgresConfigStore }, { isOpenApiDocument }, { parseSource }] = await Promise.all([
        import('../cluster/check.js'),
        import('../cluster/db.js'),
        import('../cluster/entities.js'),
        import('../cluster/migrations.js'),
        import('../cluster/postgres-store.js'),
        import('../config/index.js'),
        import('../config/load.js'),
      ]);
      // Exactly what `turnpike validate` checks and prints (positions in the file), before any connection.
      const table = await compileOnly(file);
      const routes = table.routes.length;
      await table.close();
      // Stored raw: `${VAR}` placeholders stay placeholders, each node expands them from its own environment at load.
      const raw = parseSource(readFileSync(file, 'utf8'), file, { interpolate: false });
      if (isOpenApiDocument(raw.data)) fail('import', `${file} is an AWS API Gateway document; import takes a native Turnpike config (serve AWS documents from a file)`);
      const document = raw.data as Record<string, unknown>;
      await withDatabase('import', url, async (sql) => {
        const store = new PostgresConfigStore(sql, makeConfigCheck());
        if (o.dryRun) {
          // Writes nothing, not even the schema: a database without one compares as empty.
          const current = await store.snapshot().catch((err: unknown) => {
            if (/no Turnpike schema/.test((err as Error).message)) return { version: 'none', document: assembleConfig([]) };
            throw err;
          });
          const same = JSON.stringify(assembleConfig(splitConfig(document))) === JSON.stringify(current.document);
          process.stdout.write(`${file}: ok (${routes} routes); dry run: ${same ? 'the database already holds this config' : 'would replace the stored config'} (database version ${current.version})\n`);
          return;
        }
        await migrate(sql);
        const r = await store.replaceAll(document);
        process.stdout.write(
          r.changed
            ? `${file}: imported ${r.entities} entities (${routes} routes) into ${redactUrl(url)}; database version ${r.version}\n`
            : `${file}: unchanged, the database already holds this config (database version ${r.version})\n`,
        );
      });
      process.exit(0);
    });
}
