/**
 * The import-boundary rules (.dependency-cruiser.cjs, docs/architecture.md "Import boundaries") run by
 * `npm test` report nothing on a healthy tree, which looks the same as a rule whose path pattern no
 * longer matches anything. This runs the repository's own config against a small module tree written to
 * a temporary folder, with exactly one violation of each rule and the allowed cases next to them
 * (type-only imports, a type-only cycle, a lazily loaded module), and pins the exact set of findings.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(import.meta.dirname, '../../..');

const TREE: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'fixture', type: 'module', devDependencies: { devpkg: '1.0.0' } }),
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }),
  'node_modules/devpkg/package.json': JSON.stringify({ name: 'devpkg', version: '1.0.0', main: 'index.js' }),
  'node_modules/devpkg/index.js': 'export const dev = 1;\n',
  'node_modules/nopkg/package.json': JSON.stringify({ name: 'nopkg', version: '1.0.0', main: 'index.js' }),
  'node_modules/nopkg/index.js': 'export const no = 1;\n',
  // The entry point: reaches everything but dead.ts and island.ts; lazy.ts only through a type query.
  'src/gateway.ts': [
    "import { P } from './plugins/p/index.js';",
    "import { ST } from './stores/st.js';",
    "import { U } from './upstream/u.js';",
    "import type { R } from './routing/r.js';",
    "import { A2 } from './util/a.js';",
    "import type { C } from './util/c.js';",
    "import { E } from './util/e.js';",
    "export type Lazy = typeof import('./util/lazy.js');",
    'export const all = [P, ST, U, A2, E] as unknown as [R, C];',
  ].join('\n'),
  'src/aws/a.ts': 'export const A = 1;\n',
  'src/server/s.ts': 'export const S = 1;\n',
  'src/config/load.ts': 'export const L = 1;\nexport type LoadT = { x: number };\n',
  'src/config/schema.ts': 'export type SchemaT = { y: number };\n',
  // plugins-integrations-not-to-aws, plugins-integrations-not-to-server
  'src/plugins/p/index.ts': "import { A } from '../../aws/a.js';\nimport { S } from '../../server/s.js';\nexport const P = [A, S];\n",
  // request-path-not-to-config (run time); the config type of the schema is allowed
  'src/upstream/u.ts': "import { L } from '../config/load.js';\nimport type { SchemaT } from '../config/schema.js';\nexport const U: SchemaT = { y: L };\n",
  // request-path-types-only-shared-shapes
  'src/routing/r.ts': "import type { LoadT } from '../config/load.js';\nexport type R = LoadT;\n",
  // stores-upstream-not-to-plugins
  'src/stores/st.ts': "import { P } from '../plugins/p/index.js';\nexport const ST = P;\n",
  // no-circular (run time) and src-not-to-dev-dependencies
  'src/util/a.ts': "import { B } from './b.js';\nimport { dev } from 'devpkg';\nexport const A2 = () => [B, dev];\n",
  'src/util/b.ts': "import { A2 } from './a.js';\nexport const B = () => A2;\n",
  // a cycle of type-only imports is erased by tsc: allowed
  'src/util/c.ts': "import type { D } from './d.js';\nexport type C = { d?: D };\n",
  'src/util/d.ts': "import type { C } from './c.js';\nexport type D = { c?: C };\n",
  // src-not-to-unlisted-packages; a type-only import of a devDependency is allowed
  'src/util/e.ts': "import { no } from 'nopkg';\nimport type { dev } from 'devpkg';\nexport const E: typeof dev = no;\n",
  'src/util/lazy.ts': 'export const lazy = 1;\n',
  // no-orphans and no-unreachable-src
  'src/util/dead.ts': 'export const dead = 1;\n',
  // no-unreachable-src only (it imports, so it is no orphan)
  'src/util/island.ts': "import { A } from '../aws/a.js';\nexport const island = A;\n",
};

const EXPECTED = [
  'no-circular: src/util/a.ts → src/util/b.ts → src/util/a.ts',
  'no-orphans: src/util/dead.ts',
  'no-unreachable-src: src/util/dead.ts',
  'no-unreachable-src: src/util/island.ts',
  'plugins-integrations-not-to-aws: src/plugins/p/index.ts → src/aws/a.ts',
  'plugins-integrations-not-to-server: src/plugins/p/index.ts → src/server/s.ts',
  'request-path-not-to-config: src/upstream/u.ts → src/config/load.ts',
  'request-path-types-only-shared-shapes: src/routing/r.ts → src/config/load.ts',
  'src-not-to-dev-dependencies: src/util/a.ts → node_modules/devpkg/index.js',
  'src-not-to-unlisted-packages: src/util/e.ts → node_modules/nopkg/index.js',
  'stores-upstream-not-to-plugins: src/stores/st.ts → src/plugins/p/index.ts',
];

test('every import-boundary rule reports its one violation in a fixture tree, and nothing else', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-boundaries-'));
  try {
    for (const [file, text] of Object.entries(TREE)) {
      mkdirSync(dirname(join(dir, file)), { recursive: true });
      writeFileSync(join(dir, file), text);
    }
    // The reporter `npm run depcruise` uses (err): its exit status is what fails the build.
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'), 'src', '--config', join(ROOT, '.dependency-cruiser.cjs')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.error, undefined);
    // One violation: "  error RULE: FROM → TO", a cycle continued on indented lines.
    const found = [...r.stdout.matchAll(/^ {2}error ([\w-]+): (\S+(?: → ?\S*)?(?:\n {6}\S+(?: →)?)*)/gm)].map((m) => `${m[1]}: ${(m[2] as string).replace(/\s+/g, ' ').trim()}`).sort();
    assert.deepEqual(found, EXPECTED, r.stdout + r.stderr);
    assert.equal(r.status, EXPECTED.length, 'the exit status counts the violations, so the build fails');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
