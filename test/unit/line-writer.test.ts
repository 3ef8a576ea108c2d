/**
 * The log's line writer (src/observability/line-writer.ts): batches reach the descriptor whole and in
 * order, on a regular file (synchronous writes) and on a pipe (asynchronous writes, pending lines
 * written on exit), and a flush writes a batch smaller than minLength.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { LineWriter } from '../../src/observability/line-writer.js';

const lines = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `{"n":${i},"tag":"${tag}","text":"ünïcödé ${'x'.repeat(i % 50)}"}\n`);

test('regular file: synchronous batches at minLength, the rest on flush, every line once and in order', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-lines-'));
  const file = path.join(dir, 'out.log');
  const fd = fs.openSync(file, 'w');
  try {
    const w = new LineWriter(fd, 1024);
    assert.equal(w.synchronous, true);
    const all = lines(200, 'file');
    for (const l of all.slice(0, 100)) w.write(l);
    // Batches of at least 1024 characters went out as the lines came; less than one batch is pending.
    const early = fs.readFileSync(file, 'utf8');
    assert.ok(early.length > 0 && w.pendingLength < 1024, `written ${early.length}, pending ${w.pendingLength}`);
    assert.equal(early, all.slice(0, early.split('\n').length - 1).join(''));
    for (const l of all.slice(100)) w.write(l);
    w.flush();
    assert.equal(w.pendingLength, 0);
    assert.equal(fs.readFileSync(file, 'utf8'), all.join(''));
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pipe: asynchronous batches, a flush mid-write, and the pending rest written on exit, in order', async () => {
  // The child's fd 1 is this pipe: the asynchronous path. It writes lines in bursts with flushes
  // between them and leaves the last ones pending for the exit handler (flushSync).
  const writer = new URL('../../src/observability/line-writer.js', import.meta.url).href;
  const script = `
    import { LineWriter } from ${JSON.stringify(writer)};
    const lines = ${lines.toString()};
    const w = new LineWriter(1, 4096);
    if (w.synchronous) process.exit(3);
    process.once('exit', () => w.flushSync());
    const all = lines(3000, 'pipe');
    let i = 0;
    const burst = () => {
      for (const end = Math.min(i + 500, all.length); i < end; i++) w.write(all[i]);
      if (i < all.length) { w.flush(); setImmediate(burst); }
    };
    burst();`;
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (d: string) => {
    out += d;
  });
  const [code] = await Promise.all([new Promise((r) => proc.on('exit', r)), new Promise((r) => proc.stdout.on('end', r))]);
  assert.equal(code, 0);
  assert.equal(out, lines(3000, 'pipe').join(''));
});

test('a batch of writeAscii lines is written as latin1, a batch with any other line as UTF-8: the bytes are UTF-8 either way', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turnpike-lines-'));
  const file = path.join(dir, 'out.log');
  const fd = fs.openSync(file, 'w');
  try {
    const w = new LineWriter(fd, 1 << 20);
    const ascii = '{"plain":"ascii only"}\n';
    const other = '{"host":"ünïcödé"}\n';
    w.writeAscii(ascii);
    w.flush();
    w.writeAscii(ascii);
    w.write(other);
    w.writeAscii(ascii);
    w.flush();
    w.writeAscii(ascii);
    w.flush();
    assert.deepEqual(fs.readFileSync(file), Buffer.from(ascii + ascii + other + ascii + ascii, 'utf8'));
  } finally {
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
