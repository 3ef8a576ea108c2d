/**
 * Start-up (issue 10): what each entry point loads before it does anything, read from the static
 * imports of the compiled files in dist/ (the graph Node walks before running a line). Subsystems a
 * config may not use are reached through `await import()` or src/util/lazy.ts instead, which this
 * graph does not follow; a new static import of one of them fails here rather than silently adding
 * its load time to every start. Figures: docs/benchmark.md "Start-up".
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../../src');

/** Modules (paths relative to dist/src) and packages reachable from `entry` through static imports only. */
function staticGraph(entry: string): { modules: Set<string>; packages: Set<string> } {
  const modules = new Set<string>([entry]);
  const packages = new Set<string>();
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const text = readFileSync(join(SRC, file), 'utf8');
    // tsc output: one import/export per statement; `import type` is already erased, `import()` is not matched.
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
      const spec = (m[1] ?? m[2]) as string;
      if (spec.startsWith('node:')) continue;
      if (!spec.startsWith('.')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string));
        continue;
      }
      const dep = relative(SRC, resolve(SRC, dirname(file), spec));
      if (!modules.has(dep)) {
        modules.add(dep);
        queue.push(dep);
      }
    }
  }
  return { modules, packages };
}

test('the CLI entry loads only commander: --version and --help import no subsystem', () => {
  const g = staticGraph('cli/main.js');
  assert.deepEqual([...g.packages].sort(), ['commander']);
  assert.deepEqual([...g.modules].filter((m) => !m.startsWith('cli/') && m !== 'config/diagnostics.js'), []);
});

test('serve (file mode) does not load what only some configs use', () => {
  const g = staticGraph('server/serve.js');
  for (const pkg of ['redis', 'postgres', 'jose', 'velocityjs', 'jsonpath-plus', 'lru-cache', 'light-my-request']) assert.ok(!g.packages.has(pkg), `serve loads ${pkg}`);
  const optional = [...g.modules].filter(
    (m) =>
      // The aws-mapping registry entry itself is a schema (typebox, loaded anyway); it loads the integration lazily.
      // templates/budget.js is the template CPU budget's settings (no imports): compile reads server.limits with it.
      (/^(aws|templates|openapi|integrations\/aws)\//.test(m) && m !== 'integrations/aws/definition.js' && m !== 'templates/budget.js') ||
      /^plugins\/[^/]+\/index\.js$/.test(m) ||
      ['cluster/db.js', 'cluster/postgres-source.js', 'cluster/postgres-store.js', 'cli/compile-only.js', 'cli/keys.js'].includes(m),
  );
  assert.deepEqual(optional, []);
});
