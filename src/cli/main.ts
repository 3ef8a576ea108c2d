#!/usr/bin/env node
// Start-up (issue 10): this module loads only commander and Node built-ins, so `--version` and
// `--help` answer at once; each command imports what it needs when it runs (docs/architecture.md).
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { DATABASE_ENV, databaseServeOptions, exportDatabase, registerClusterCommands } from './cluster.js';
import { registerKeysCommand } from './keys-command.js';
import { applyLocalIssuerOptions, LOCAL_ISSUER_OPTIONS, type LocalIssuerCliOptions, registerTokenCommand } from './token-command.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function collectVar(v: string, acc: Record<string, string>): Record<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('must be name=value');
  return { ...acc, [v.slice(0, eq)]: v.slice(eq + 1) };
}

/**
 * `--parameter-overrides`: `Name=Value` or SAM's `ParameterKey=Name,ParameterValue=Value`, several in one
 * argument (space-separated, as `sam deploy` takes them) or the option repeated.
 */
function collectParameter(v: string, acc: Record<string, string>): Record<string, string> {
  const out = { ...acc };
  for (const item of v.trim().split(/\s+/)) {
    if (item === '') continue;
    const sam = /^ParameterKey=([^,]+),ParameterValue=(.*)$/.exec(item);
    const eq = item.indexOf('=');
    if (sam) out[sam[1] as string] = sam[2] as string;
    else if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else throw new InvalidArgumentError('must be Name=Value (or ParameterKey=Name,ParameterValue=Value)');
  }
  return out;
}

/** The options a SAM / CloudFormation template is read with (docs/sam-templates.md). */
function templateOptions(cmd: Command): Command {
  return cmd
    .option('--parameter-overrides <Name=Value>', 'when FILE is a SAM/CloudFormation template: a template parameter (repeatable; also "A=1 B=2" and ParameterKey=A,ParameterValue=1)', collectParameter, {})
    .option('--import-value <NAME=VALUE>', 'when FILE is a template: the value Fn::ImportValue answers for an export NAME (repeatable)', collectVar, {})
    .option('--region <region>', 'when FILE is a template: AWS::Region and the region in ARNs (default us-east-1)');
}
type TemplateFlags = { parameterOverrides?: Record<string, string>; importValue?: Record<string, string>; region?: string };
const templateServing = (o: TemplateFlags) => ({ parameterOverrides: o.parameterOverrides, importValues: o.importValue, region: o.region });

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}
function countArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('must be a whole number 1-256');
  return n;
}

/** --stage-variable given at least once, else undefined: without either flag a document's basePath names its stage. */
function givenVariables(v: Record<string, string> | undefined): Record<string, string> | undefined {
  return v !== undefined && Object.keys(v).length > 0 ? v : undefined;
}

/** Loads, validates and compiles without serving; exits 1 with every problem, one per line on stderr. */
async function compileOnly(file: string) {
  return (await import('./compile-only.js')).compileOnly(file);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const program = new Command()
  .name('turnpike')
  .description('Turnpike API gateway')
  .version(pkg.version, '-v, --version')
  .showHelpAfterError('(add --help for usage)')
  .addHelpText(
    'after',
    `
Environment:
  TURNPIKE_LOG_LEVEL     log level (fatal, error, warn, info, debug, trace); overrides server.logLevel
  TURNPIKE_DATABASE_URL  cluster mode: the PostgreSQL config database (serve, migrate, import, export)

Docs: docs/cli.md, docs/operations.md`,
  );

templateOptions(program
  .command('serve')
  .description('serve a config file (native YAML/JSON), or the config stored in PostgreSQL (--database), in the foreground')
  .argument('[file]', 'config file; with --database: an optional node-local file whose server block is used')
  .option('-p, --port <n>', 'listen port', portArg, 8080)
  .option('--host <host>', 'listen address', '0.0.0.0')
  .option('--admin-port <n>', 'admin port (metrics, health, ready, routes, Admin API)', portArg, 9080)
  .option('--admin-host <host>', 'admin listen address', '127.0.0.1')
  .option('--admin-allowed-hosts <names>', 'comma-separated Host names the admin listener answers besides loopback names and its own address (DNS rebinding)')
  .option('--https-port <n>', 'HTTPS listen port when the config has server.tls (overrides server.tls.port; default 8443)', portArg)
  .option('--admin-token-file <path>', 'file holding the Admin API bearer token (else $TURNPIKE_ADMIN_TOKEN; there is no plain flag: it would show in ps)')
  .option(
    '-w, --workers <n>',
    `worker processes; 1 serves from this process, more runs a cluster primary (default: CPU count, ${availableParallelism()} here)`,
    countArg,
  )
  .option('--no-watch', 'do not reload when the file changes (SIGHUP still reloads)')
  .option('--stage <name>', 'when FILE is an AWS API Gateway document: the stage to serve (default: dev for REST APIs, $default for HTTP APIs)')
  .option('--stage-variable <name=value>', 'when FILE is an AWS API Gateway document: a stage variable (repeatable)', collectVar, {}))
  .option('--database <url>', `cluster mode: serve the config stored in PostgreSQL, postgres://user:pass@host:port/db (also $${DATABASE_ENV} or server.database.url)`)
  .option('--config-cache <path>', 'database mode: cache of the last good config, served when the database is down at start (default: in $TURNPIKE_STATE_DIR or the temp dir)')
  .option('--no-config-cache', 'database mode: keep no cache (a node started while the database is down waits for it)')
  .option('--db-poll-interval <ms>', 'database mode: version polling interval, the fallback for lost notifications (default 5000)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 100) throw new InvalidArgumentError('must be a whole number of milliseconds >= 100');
    return n;
  })
  .addOption(LOCAL_ISSUER_OPTIONS[0])
  .addOption(LOCAL_ISSUER_OPTIONS[1])
  .addHelpText(
    'after',
    `
Environment:
  TURNPIKE_ADMIN_TOKEN  bearer token of the Admin API (or --admin-token-file; docs/admin-api.md)

Signals:
  SIGHUP           reload the config file (validated first; a bad file is rejected and the old config keeps serving)
  SIGTERM, SIGINT  drain: stop accepting, finish requests in flight (up to server.shutdownGraceMs), exit 0`,
  )
  .action(
    async (
      file: string | undefined,
      o: {
        port: number;
        host: string;
        adminPort: number;
        adminHost: string;
        adminAllowedHosts?: string;
        httpsPort?: number;
        adminTokenFile?: string;
        workers?: number;
        watch: boolean;
        stage?: string;
        stageVariable?: Record<string, string>;
        database?: string;
        configCache?: string | boolean;
        dbPollInterval?: number;
      } & LocalIssuerCliOptions &
        TemplateFlags,
    ) => {
      const [{ configureAwsServing }, { serve }] = await Promise.all([import('../config/index.js'), import('../server/serve.js')]);
      configureAwsServing({ stage: o.stage, variables: givenVariables(o.stageVariable), ...templateServing(o) });
      file = await applyLocalIssuerOptions(o, file);
      const workers = o.workers ?? availableParallelism();
      const database = await databaseServeOptions(file, o);
      if (file === undefined && database === undefined) {
        process.stderr.write(`turnpike serve: give a config file, or a database with --database or ${DATABASE_ENV}\n(add --help for usage)\n`);
        process.exit(1);
      }
      await serve({ file: file ?? '', ...(database ? { database } : {}), port: o.port, host: o.host, adminPort: o.adminPort, adminHost: o.adminHost, ...(o.adminAllowedHosts ? { adminAllowedHosts: o.adminAllowedHosts.split(',').map((h) => h.trim()).filter((h) => h !== '') } : {}), workers, watch: o.watch, httpsPort: o.httpsPort, adminTokenFile: o.adminTokenFile });
    },
  );

templateOptions(program
  .command('validate')
  .description('check a config file; prints every problem as file:line:col key.path: message and exits 1 if any')
  .argument('<file>', 'config file')
  .option('--stage <name>', 'when FILE is an AWS API Gateway document: the stage to serve (default: dev for REST APIs, $default for HTTP APIs)')
  .option('--stage-variable <name=value>', 'when FILE is an AWS API Gateway document: a stage variable (repeatable)', collectVar, {}))
  .action(async (file: string, o: { stage?: string; stageVariable?: Record<string, string> } & TemplateFlags) => {
    const [{ configureAwsServing }, { formatDiagnostic }] = await Promise.all([import('../config/index.js'), import('../config/diagnostics.js')]);
    configureAwsServing({ stage: o.stage, variables: givenVariables(o.stageVariable), ...templateServing(o) });
    const table = await compileOnly(file);
    for (const w of table.warnings) process.stderr.write(`${formatDiagnostic(w)}\n`);
    process.stdout.write(`${file}: ok (${plural(table.routes.length, 'route')}, version ${table.version})\n`);
    await table.close();
    process.exit(0);
  });

templateOptions(program
  .command('routes')
  .description('print the compiled route table')
  .argument('<file>', 'config file')
  .option('--json', 'print JSON')
  .option('--stage <name>', 'when FILE is an AWS API Gateway document: the stage to serve (default: dev for REST APIs, $default for HTTP APIs)')
  .option('--stage-variable <name=value>', 'when FILE is an AWS API Gateway document: a stage variable (repeatable)', collectVar, {}))
  .action(async (file: string, o: { json?: boolean; stage?: string; stageVariable?: Record<string, string> } & TemplateFlags) => {
    const [{ configureAwsServing }, { describeTable }] = await Promise.all([import('../config/index.js'), import('../server/describe.js')]);
    configureAwsServing({ stage: o.stage, variables: givenVariables(o.stageVariable), ...templateServing(o) });
    const table = await compileOnly(file);
    const d = describeTable(table);
    if (o.json) process.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
    else {
      const rows = d.routes.map((r) => [
        r.methods.join(','),
        r.path,
        r.hosts.length ? r.hosts.join(',') : '*',
        String(r.integration.type) + (r.integration.upstream ? ` ${String(r.integration.upstream)}` : ''),
        r.plugins.join(' ') || '-',
        r.id,
      ]);
      const head = ['METHODS', 'PATH', 'HOSTS', 'INTEGRATION', 'PLUGINS', 'ID'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      const line = (cols: string[]) =>
        cols
          .map((c, i) => c.padEnd(widths[i] as number))
          .join('  ')
          .trimEnd();
      process.stdout.write(`${[line(head), ...rows.map(line)].join('\n')}\nversion ${d.version}, ${plural(d.routes.length, 'route')}\n`);
    }
    await table.close();
    process.exit(0);
  });

templateOptions(program
  .command('export')
  .description(
    'write the live definition as an AWS-flavoured OpenAPI 3 document (re-imports to the same behaviour); with --database, the stored config as a native config file',
  )
  .argument('[file]', 'config file or AWS document (not with --database)')
  .option('--api <name>', 'which API, when the config has several')
  .option('-o, --out <file>', 'write to this file (.yaml/.yml as YAML, otherwise JSON) instead of stdout')
  .option('--stage <name>', 'when FILE is an AWS API Gateway document: the stage to serve')
  .option('--database <url>', `export the config stored in PostgreSQL as a native config (also $${DATABASE_ENV} when no FILE is given)`)
  .option('--format <format>', 'with --database: yaml (default; json when -o ends in .json) or json'))
  .action(async (file: string | undefined, o: { api?: string; out?: string; stage?: string; database?: string; format?: string } & TemplateFlags) => {
    const dbUrl = o.database ?? (file === undefined ? process.env[DATABASE_ENV] : undefined);
    if (dbUrl !== undefined && dbUrl !== '') {
      if (file !== undefined) {
        process.stderr.write('turnpike export: give either FILE (AWS OpenAPI export) or --database (native config export), not both\n');
        process.exit(1);
      }
      await exportDatabase(dbUrl, o);
      process.exit(0);
    }
    if (file === undefined) {
      process.stderr.write(`turnpike export: give a config file, or --database (or ${DATABASE_ENV}) to export the stored config\n(add --help for usage)\n`);
      process.exit(1);
    }
    const [{ configureAwsServing, readConfigFile, validateDocument }, { exportApi }, { stringify: stringifyYaml }] = await Promise.all([
      import('../config/index.js'),
      import('../aws/export.js'),
      import('yaml'),
    ]);
    configureAwsServing({ stage: o.stage, ...templateServing(o) });
    const table = await compileOnly(file);
    await table.close();
    const config = validateDocument(await readConfigFile(file));
    const apis = o.api === undefined ? config.apis : config.apis.filter((a) => a.name === o.api);
    if (apis.length !== 1) {
      process.stderr.write(
        `turnpike export: ${apis.length === 0 ? `no API named "${o.api}"` : 'the config has several APIs; choose one with --api'} (APIs: ${config.apis.map((a) => a.name).join(', ')})\n`,
      );
      process.exit(1);
    }
    const { document, warnings } = exportApi(config, apis[0] as (typeof apis)[number], dirname(resolve(file)));
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    const text = o.out !== undefined && /\.ya?ml$/i.test(o.out) ? stringifyYaml(document) : `${JSON.stringify(document, null, 2)}\n`;
    if (o.out !== undefined) writeFileSync(o.out, text);
    else process.stdout.write(text);
    process.exit(0);
  });

program
  .command('schema')
  .description('print the JSON Schema of the config format (for editor completion)')
  .action(async () => {
    const { fullSchema } = await import('../config/index.js');
    process.stdout.write(`${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', ...fullSchema() }, null, 2)}\n`);
  });

registerKeysCommand(program);
registerTokenCommand(program);
registerClusterCommands(program, compileOnly);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`turnpike: ${(err as Error).message}\n`);
  process.exit(1);
});
