/**
 * The test runner itself (scripts/run-tests.mjs with its workers, docs/testing.md): run on a scratch
 * tree of small test files, in a temporary directory laid out as the repository is (dist/test/... with
 * their test/... sources), it must count every test once, fail closed on every way a file can go
 * wrong in a shared worker (a failed test, a failing hook, process.exit, a hang past the file bound, an
 * error after a test ended, something left running), keep a file's hooks to that file, and run a
 * file with the `test-isolation: process` pragma or a top-level await in its own process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const RUNNER = resolve(import.meta.dirname, '../../../scripts/run-tests.mjs');

/** Test files by name (under test/unit/ of the scratch tree): the compiled JS, and the TS source's header. */
const FILES: Record<string, { js: string; header?: string }> = {
  'a-pass': { js: `import { test } from 'node:test';\ntest('a1', () => {});\ntest('a2', async () => { await new Promise((r) => setTimeout(r, 50)); });\n` },
  'b-fail': { js: `import { test } from 'node:test';\ntest('b1', () => {});\ntest('b2 fails', () => { throw new Error('b2'); });\n` },
  'c-after-hook-fails': { js: `import { test, after } from 'node:test';\ntest('c1', () => {});\nafter(() => { throw new Error('hook'); });\n` },
  'd-exit': { js: `import { test } from 'node:test';\ntest('d1 exits', () => { process.exit(0); });\n` },
  'e-hang': { js: `import { test } from 'node:test';\ntest('e1 hangs', async () => { await new Promise((r) => setTimeout(r, 600_000)); });\n` },
  'f-late-throw': { js: `import { test } from 'node:test';\ntest('f1', () => { setTimeout(() => { throw new Error('late'); }, 20); });\n` },
  // A file's beforeEach runs for its own tests only: h-after-g runs next in the same worker, and a
  // hook leaking to it would count its tests too.
  'g-hooks': {
    js: `import assert from 'node:assert/strict';\nimport { test, beforeEach } from 'node:test';\nglobalThis.__gHooks = 0;\nbeforeEach(() => { globalThis.__gHooks++; });\ntest('g1', () => { assert.equal(globalThis.__gHooks, 1); });\ntest('g2', () => { assert.equal(globalThis.__gHooks, 2); });\n`,
  },
  'h-after-g': {
    js: `import assert from 'node:assert/strict';\nimport { test } from 'node:test';\ntest('h1', () => { assert.equal(globalThis.__gHooks, 2); });\ntest('h2', () => { assert.equal(globalThis.__gHooks, 2); });\n`,
  },
  'i-tla': { js: `import { test } from 'node:test';\nawait Promise.resolve();\ntest('i1 in its own process', () => { if (typeof process.send === 'function') throw new Error('in a worker'); });\n` },
  'j-pragma': {
    header: '// test-isolation: process\n',
    js: `import { test } from 'node:test';\ntest('j1 in its own process', () => { if (typeof process.send === 'function') throw new Error('in a worker'); });\n`,
  },
};
// Run on its own: a worker killed for what a file left running cannot report the errors node prints
// when the worker ends (f-late-throw's), only that it was killed.
const LEAK = { js: `import { test } from 'node:test';\nimport { spawn } from 'node:child_process';\ntest('k1', () => { spawn('sleep', ['30'], { stdio: 'ignore' }); });\n` };

let dir = '';
let out = '';
let code: number | null = null;
let leakOut = '';

async function runner(filter: string): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, [RUNNER, filter], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TURNPIKE_TEST_WORKERS: '1', TURNPIKE_TEST_FILE_TIMEOUT_MS: '3000', TURNPIKE_TEST_EXIT_GRACE_MS: '3000' },
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => chunks.push(c));
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  return { out: Buffer.concat(chunks).toString(), code };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnpike-runner-'));
  mkdirSync(join(dir, 'dist/test/unit'), { recursive: true });
  mkdirSync(join(dir, 'test/unit'), { recursive: true });
  for (const [name, f] of Object.entries(FILES)) {
    writeFileSync(join(dir, 'dist/test/unit', `${name}.test.js`), f.js);
    writeFileSync(join(dir, 'test/unit', `${name}.test.ts`), `${f.header ?? ''}// scratch file of test/unit/run-tests.test.ts\nexport {};\n`);
  }
  mkdirSync(join(dir, 'dist/test/leak'), { recursive: true });
  mkdirSync(join(dir, 'test/leak'), { recursive: true });
  writeFileSync(join(dir, 'dist/test/leak/k-leaves-child.test.js'), LEAK.js);
  writeFileSync(join(dir, 'test/leak/k-leaves-child.test.ts'), 'export {};\n');
  // An order where g-hooks comes before h-after-g in the one worker.
  writeFileSync(join(dir, 'dist/.test-times.json'), JSON.stringify({ 'dist/test/unit/g-hooks.test.js': { wallMs: 2 }, 'dist/test/unit/h-after-g.test.js': { wallMs: 1 } }));
  ({ out, code } = await runner('unit/'));
  leakOut = (await runner('leak/')).out;
});
after(() => rmSync(dir, { recursive: true, force: true }));

const fileLine = (name: string) => out.split('\n').find((l) => l.startsWith(`# file: dist/test/unit/${name}.test.js `)) ?? '';

test('the total counts every test once and every failure, and the run fails', () => {
  // passed: a1 a2 b1 c1 f1 g1 g2 h1 h2 i1 j1; failed: b2, c's hook, d (exit), e (hang), f's late error.
  assert.match(out.trimEnd().split('\n').at(-1) ?? '', /^11 passed, 5 failed$/, out);
  assert.notEqual(code, 0);
});

test('a worker names each file it ran, with its wall and CPU time', () => {
  assert.match(fileLine('a-pass'), /wall \d+\.\d s {2}cpu \d+\.\d s {2}worker \d+$/);
  assert.match(fileLine('b-fail'), /failed 1$/);
  assert.match(fileLine('c-after-hook-fails'), /failed 1$/);
  assert.match(out, /^# worker \d+: \d+ file\(s\) in one process, wall/m);
});

test('a file that exits or hangs is named, and the files after it still run in a new worker', () => {
  assert.match(fileLine('d-exit'), /worker exited \(0\) during it/);
  assert.match(fileLine('e-hang'), /killed after 3 s \(its worker with it\)/);
  assert.match(fileLine('h-after-g'), /worker \d+$/);
});

test('an error after a test ended, and a child left running, fail the run and are named', () => {
  assert.match(out, /failure outside its tests: Error: Test "f1" at .*f-late-throw\.test\.js/);
  assert.match(leakOut, /killed 3 s after its last file/);
  assert.match(leakOut, /still running after its last file; open: child process: sleep 30/);
  assert.match(leakOut.trimEnd().split('\n').at(-1) ?? '', /^1 passed, 1 failed$/, leakOut);
});

test("a file's hooks stay with its own tests", () => {
  const worker = (name: string) => /worker (\d+)$/.exec(fileLine(name))?.[1];
  assert.ok(worker('g-hooks') !== undefined && worker('g-hooks') === worker('h-after-g'), 'g-hooks and h-after-g ran in one worker');
  assert.ok(out.indexOf(fileLine('g-hooks')) < out.indexOf(fileLine('h-after-g')), 'g-hooks ran first');
});

test('the pragma and a top-level await give a file its own process', () => {
  assert.match(fileLine('j-pragma'), /^# file: \S+ {2}wall \d+\.\d s( {2}cpu \d+\.\d s)?$/);
  assert.match(fileLine('i-tla'), /^# file: \S+ {2}wall \d+\.\d s( {2}cpu \d+\.\d s)?$/);
});
