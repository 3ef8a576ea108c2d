// Runs every compiled test file (unit first, then integration) with node's test runner.
// Integration tests start real gateway processes, so they run with limited concurrency.
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
const files = [...find('dist/src'), ...find('dist/test')].filter((f) => !filter || f.includes(filter)).sort((a, b) => {
  const ia = a.includes('/integration/') ? 1 : 0;
  const ib = b.includes('/integration/') ? 1 : 0;
  return ia - ib || a.localeCompare(b);
});
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
