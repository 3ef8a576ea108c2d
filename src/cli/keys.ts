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
