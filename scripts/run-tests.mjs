// Runs every compiled test file with node's test runner, fastest tier first (docs/testing.md):
// unit, then inject/ (the gateway in-process through createGateway().inject(), real upstreams), then
// integration/ (real gateway processes, so they run with limited concurrency).
// The timeout also bounds each test FILE as a whole (node runs a file as one test): the CLI file takes
// ~50 s on an idle 2-core VM and ~115 s under heavy load, so 120 s was too tight for a slow CI machine.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv[2];
// unit/ and conformance/ first (in-process, fast), then inject/, then integration/.
const tier = (f) => (f.includes('/integration/') ? 2 : f.includes('/inject/') ? 1 : 0);
const files = [...find('dist/src'), ...find('dist/test')].filter((f) => !filter || f.includes(filter)).sort((a, b) => tier(a) - tier(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
