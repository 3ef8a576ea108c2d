/**
 * `turnpike keys create|list|revoke FILE` as commander commands; the work (the yaml Document API, key
 * hashing) is in ./keys.ts, imported when a keys command runs, so other commands do not load it.
 */
import type { Command } from 'commander';

const load = () => import('./keys.js');

const collect = (v: string, acc: string[]) => [...acc, v];

function fail(err: unknown): never {
  process.stderr.write(`turnpike keys: ${(err as Error).message}\n`);
  process.exit(1);
}

/** Adds `turnpike keys ...` to the program. */
export function registerKeysCommand(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage API keys in a config file (the file keeps only SHA-256 hashes; a running gateway reloads it)');

  keys
    .command('create')
    .description('generate a key, print it once, and write its hash into FILE')
    .argument('<file>', 'config file')
    .requiredOption('--name <name>', 'name of the key')
    .option('--plan <name>', 'usage plan to add the key to (repeatable)', collect, [])
    .option('--json', 'print {"id","key"} as JSON')
    .action(async (file: string, o: { name: string; plan: string[]; json?: boolean }) => {
      try {
        const { id, key } = (await load()).createKey(file, { name: o.name, plans: o.plan });
        if (o.json) process.stdout.write(`${JSON.stringify({ id, key })}\n`);
        else process.stdout.write(`id:  ${id}\nkey: ${key}\n`);
        process.stderr.write(`The key is shown only now: ${file} keeps its SHA-256, and it cannot be recovered.\n`);
      } catch (e) {
        fail(e);
      }
    });

  keys
    .command('list')
    .description('list the keys of FILE (id, name, enabled, usage plans; never the key)')
    .argument('<file>', 'config file')
    .option('--json', 'print JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      try {
        const rows = (await load()).listKeys(file);
        if (o.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        const table = [['ID', 'NAME', 'ENABLED', 'PLANS', 'CREATED'], ...rows.map((r) => [r.id, r.name, String(r.enabled), r.usagePlans.join(',') || '-', r.createdAt ?? '-'])];
        const widths = (table[0] as string[]).map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
        process.stdout.write(`${table.map((r) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()).join('\n')}\n`);
      } catch (e) {
        fail(e);
      }
    });

  keys
    .command('revoke')
    .description('disable a key (sets enabled: false); requests with it get 403')
    .argument('<file>', 'config file')
    .argument('<id>', 'key id (see keys list)')
    .action(async (file: string, id: string) => {
      try {
        const changed = (await load()).revokeKey(file, id);
        process.stdout.write(changed ? `revoked ${id}\n` : `${id} was already revoked\n`);
      } catch (e) {
        fail(e);
      }
    });
}
