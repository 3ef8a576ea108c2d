// Runs every compiled test file with node's test runner, in lanes, fastest tier first (docs/testing.md):
//   1. in-process: unit/, conformance/, fuzz/, inject/ (the gateway through createGateway().inject(), real
//      upstreams on 127.0.0.1) and src/**: no gateway process, mostly waiting on loopback I/O, so
//      four files at a time;
//   2. integration/: real gateway processes, two files at a time (each file starts processes that
//      burn CPU at start-up; more at once slowed the timing-sensitive ones on the 2-core VM);
//   3. the deadline files (integration/*-timeouts): they assert latencies to a few tens of ms, so they
//      run one at a time with nothing else beside them.
// `node scripts/run-tests.mjs <substring>` runs only the files whose path contains it, in the same lanes.
// The timeout also bounds each test FILE as a whole (node runs a file as one test): the CLI file takes
// ~50 s on an idle 2-core VM and ~115 s under heavy load, so 120 s was too tight for a slow CI machine.
// The last line is the total over every lane ("N passed, N failed"), since each lane prints its own summary.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
// Only compiled files whose source still exists: tsc never deletes output, so a test moved or removed
// in the source (e.g. from integration/ to inject/) would otherwise keep running from a stale dist/.
const hasSource = (f) => existsSync(f.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
const files = [...find('dist/src'), ...find('dist/test')].filter((f) => (!filter || f.includes(filter)) && hasSource(f));
if (files.length === 0) {
  console.error('no test files found under dist/ (did tsc run?)');
  process.exit(1);
}

const isDeadlineFile = (f) => f.includes('/integration/') && /-timeouts\.test\.js$/.test(f);
const byName = (a, b) => a.localeCompare(b);
const inProcess = files.filter((f) => !f.includes('/integration/')).sort((a, b) => (a.includes('/inject/') ? 1 : 0) - (b.includes('/inject/') ? 1 : 0) || byName(a, b));
const lanes = [
  { name: 'in-process (unit, conformance, inject)', concurrency: 4, files: inProcess },
  { name: 'integration', concurrency: 2, files: files.filter((f) => f.includes('/integration/') && !isDeadlineFile(f)).sort(byName) },
  { name: 'integration deadlines', concurrency: 1, files: files.filter(isDeadlineFile).sort(byName) },
].filter((l) => l.files.length > 0);

const reportDir = mkdtempSync(join(tmpdir(), 'turnpike-tests-'));
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
let passed = 0;
let failed = 0;
let status = 0;
for (const [i, lane] of lanes.entries()) {
  const tap = join(reportDir, `lane-${i}.tap`);
  if (lanes.length > 1) console.log(`# lane: ${lane.name}: ${lane.files.length} file(s), ${lane.concurrency} at a time`);
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${lane.concurrency}`,
      '--test-timeout=300000',
      `--test-reporter=${reporter}`,
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...lane.files,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) status = r.status ?? 1;
  let summary = '';
  try {
    summary = readFileSync(tap, 'utf8');
  } catch {
    status ||= 1;
  }
  passed += Number(/^# pass (\d+)$/m.exec(summary)?.[1] ?? 0);
  failed += Number(/^# fail (\d+)$/m.exec(summary)?.[1] ?? 0);
}
rmSync(reportDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(status);
