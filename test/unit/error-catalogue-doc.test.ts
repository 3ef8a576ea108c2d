// docs/errors.md lists every catalogue code with its status, and nothing else: the page users alert on
// cannot drift from src/errors/catalogue.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS } from '../../src/errors/catalogue.js';

const ROW = /^\| `([A-Z_]+)` \| (\d{3}) \| ([^|]+) \|/;

test('docs/errors.md has one row per catalogue code, with its status and default message', () => {
  const rows = new Map<string, { status: number; message: string }>();
  for (const line of readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8').split('\n')) {
    const m = ROW.exec(line);
    if (m === null) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed twice`);
    rows.set(m[1]!, { status: Number(m[2]), message: m[3]!.trim() });
  }
  for (const [code, e] of Object.entries(ERRORS)) {
    const row = rows.get(code);
    assert.ok(row !== undefined, `${code} has no row in docs/errors.md`);
    assert.equal(row.status, e.status, `${code}: status`);
    assert.equal(row.message, e.message, `${code}: default message`);
  }
  for (const code of rows.keys()) assert.ok(Object.hasOwn(ERRORS, code), `docs/errors.md lists ${code}, which is not in the catalogue`);
});
