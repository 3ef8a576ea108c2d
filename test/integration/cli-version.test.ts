/**
 * `turnpike --version` answers without importing anything but Node built-ins (start-up goal of issue
 * 10: under 150 ms; the figure is measured by bench/startup.mjs, not here). A module resolution hook
 * makes any other import fail the process, so the fast path cannot silently start loading the CLI.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, ROOT } from '../helpers/gateway.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

// Resolving anything but a node: built-in (the entry point itself aside) throws: the run exits 1 naming it.
const HOOKS = `export async function resolve(specifier, context, next) {
  if (context.parentURL !== undefined && !specifier.startsWith('node:')) throw new Error('imported ' + specifier);
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}));`;

function runBuiltinsOnly(args: string[]) {
  return spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

test('--version, -v and -V print package.json version, importing only Node built-ins', () => {
  for (const flag of ['--version', '-v', '-V']) {
    const r = runBuiltinsOnly([flag]);
    assert.equal(r.status, 0, `${flag}: ${r.stderr}`);
    assert.equal(r.stdout, `${pkg.version}\n`, flag);
  }
});

test('the import guard works: --help (the full CLI) fails under it, naming what it imported', () => {
  const r = runBuiltinsOnly(['--help']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /imported \S+/);
});
