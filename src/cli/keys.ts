/**
 * `turnpike keys create|list|revoke FILE`: API keys in a file-based config (docs/api-keys.md).
 *
 * The key value is generated here, printed once, and only its SHA-256 is written to the file. YAML files
 * are edited through the yaml Document API, so comments, key order and formatting of everything else
 * survive; JSON files are rewritten with two-space indentation. The file is replaced atomically (temp
 * file + rename) so a running gateway's file watch never reads half a file, and reloads it.
 */
import { lstatSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type Document, isMap, isSeq, parseDocument } from 'yaml';
import { detectFormat } from '../config/load.js';
import { generateApiKey, generateKeyId, hashApiKey } from '../security/api-keys.js';

export interface KeyListing {
  id: string;
  name: string;
  enabled: boolean;
  usagePlans: string[];
  createdAt?: string;
}

class KeysError extends Error {}

interface Edited {
  /** Plain data of the whole file. */
  data: Record<string, unknown>;
  /** Writes the changed file back. */
  save(): void;
  addKey(entry: Record<string, unknown>): void;
  setEnabled(index: number, enabled: boolean): void;
}

function open(file: string): Edited {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeysError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (detectFormat(text, file) === 'json') {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new KeysError(`${file}: not valid JSON (${(e as Error).message}); run turnpike validate ${file}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new KeysError(`${file}: the config must be an object`);
    return {
      data,
      save: () => writeAtomic(file, `${JSON.stringify(data, null, 2)}\n`),
      addKey: (entry) => {
        const list = (data.apiKeys ??= []) as unknown[];
        list.push(entry);
      },
      setEnabled: (i, enabled) => {
        ((data.apiKeys as Record<string, unknown>[])[i] as Record<string, unknown>).enabled = enabled;
      },
    };
  }
  const doc: Document = parseDocument(text);
  if (doc.errors.length > 0) throw new KeysError(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}; run turnpike validate ${file}`);
  if (!isMap(doc.contents)) throw new KeysError(`${file}: the config must be a mapping`);
  return {
    data: (doc.toJS() ?? {}) as Record<string, unknown>,
    save: () => writeAtomic(file, doc.toString({ flowCollectionPadding: false })),
    addKey: (entry) => {
      const seq = doc.get('apiKeys', true);
      if (isSeq(seq)) {
        // `apiKeys: []` would stay a flow sequence with the entry squeezed onto one line.
        if (seq.flow && seq.items.length === 0) seq.flow = false;
        seq.add(doc.createNode(entry));
      } else if (seq === undefined || seq === null || (seq as { value?: unknown }).value === null) {
        doc.set('apiKeys', doc.createNode([entry]));
      } else throw new KeysError(`${file}: "apiKeys" must be a list`);
    },
    setEnabled: (i, enabled) => {
      doc.setIn(['apiKeys', i, 'enabled'], enabled);
    },
  };
}

/** Replaces the file in one step; a symlinked file (a Kubernetes ConfigMap, say) is written through the link. */
function writeAtomic(file: string, text: string): void {
  const target = lstatSync(file).isSymbolicLink() ? realpathSync(file) : file;
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: statSync(target).mode & 0o777 });
  renameSync(tmp, target);
}

function keysOf(data: Record<string, unknown>): Record<string, unknown>[] {
  const list = data.apiKeys;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new KeysError('"apiKeys" must be a list');
  return list as Record<string, unknown>[];
}

export function createKey(file: string, opts: { name: string; plans: string[] }): { id: string; key: string } {
  const ed = open(file);
  const plans = Object.keys((ed.data.usagePlans as Record<string, unknown> | undefined) ?? {});
  for (const p of opts.plans) {
    if (!plans.includes(p)) throw new KeysError(`unknown usage plan "${p}"; ${plans.length ? `defined: ${plans.join(', ')}` : 'define it under usagePlans first'}`);
  }
  const existing = new Set(keysOf(ed.data).map((k) => k.id));
  let id = generateKeyId();
  while (existing.has(id)) id = generateKeyId();
  const key = generateApiKey();
  const entry: Record<string, unknown> = { id, name: opts.name, hash: hashApiKey(key), enabled: true };
  if (opts.plans.length > 0) entry.usagePlans = opts.plans;
  entry.createdAt = new Date().toISOString();
  ed.addKey(entry);
  ed.save();
  return { id, key };
}

export function listKeys(file: string): KeyListing[] {
  return keysOf(open(file).data).map((k) => {
    const row: KeyListing = {
      id: String(k.id),
      name: String(k.name),
      enabled: k.enabled !== false,
      usagePlans: Array.isArray(k.usagePlans) ? k.usagePlans.map(String) : [],
    };
    if (typeof k.createdAt === 'string') row.createdAt = k.createdAt;
    return row;
  });
}

/** Sets enabled: false; returns false when the key was already revoked. */
export function revokeKey(file: string, id: string): boolean {
  const ed = open(file);
  const keys = keysOf(ed.data);
  const i = keys.findIndex((k) => k.id === id);
  if (i < 0) throw new KeysError(`no API key with id "${id}"${keys.length ? `; ids: ${keys.map((k) => String(k.id)).join(', ')}` : ''}`);
  if ((keys[i] as Record<string, unknown>).enabled === false) return false;
  ed.setEnabled(i, false);
  ed.save();
  return true;
}

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
    .action((file: string, o: { name: string; plan: string[]; json?: boolean }) => {
      try {
        const { id, key } = createKey(file, { name: o.name, plans: o.plan });
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
    .action((file: string, o: { json?: boolean }) => {
      try {
        const rows = listKeys(file);
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
    .action((file: string, id: string) => {
      try {
        const changed = revokeKey(file, id);
        process.stdout.write(changed ? `revoked ${id}\n` : `${id} was already revoked\n`);
      } catch (e) {
        fail(e);
      }
    });
}
