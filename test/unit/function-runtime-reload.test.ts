// FunctionPool.reload and FunctionRegistry: changed handler files, shared refcounted pools, watch mode.
// Handlers are real files in a temporary directory.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FunctionPool, FunctionRegistry, type InvokeResult } from '../../src/integrations/function/runtime/index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'turnpike-fn-'));
});
const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup) await c();
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const handlerSource = (version: string) =>
  `export const handler = async (event) => {\n  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));\n  return { version: ${JSON.stringify(version)} };\n};\n`;
const version = (r: InvokeResult): unknown => {
  assert.equal(r.ok, true, JSON.stringify(r));
  return ((r as { payload: { version: string } }).payload).version;
};

describe('reload', { timeout: 20_000 }, () => {
  it('new invocations see the changed file; a busy old worker finishes with the old code, then exits', async () => {
    const file = join(dir, 'reload.mjs');
    await writeFile(file, handlerSource('v1'));
    const p = new FunctionPool({ name: 'reload', module: file }, { log: () => {} });
    cleanup.push(() => p.close());
    assert.equal(version(await p.invoke({})), 'v1');
    const slow = p.invoke({ sleepMs: 300 }); // runs on the warm v1 worker
    await sleep(50);
    await writeFile(file, handlerSource('v2'));
    await p.reload();
    assert.equal(version(await p.invoke({})), 'v2');
    assert.equal(version(await slow), 'v1');
    for (let i = 0; i < 100 && p.stats.warm !== 1; i++) await sleep(10);
    assert.equal(p.stats.warm, 1, 'the old worker exited after its invocation');
    assert.equal(version(await p.invoke({})), 'v2');
  });

  it('a syntax error after a change is a load error; fixing the file recovers', async () => {
    const file = join(dir, 'broken.mjs');
    await writeFile(file, handlerSource('ok'));
    const p = new FunctionPool({ name: 'broken', module: file }, { log: () => {} });
    cleanup.push(() => p.close());
    assert.equal(version(await p.invoke({})), 'ok');
    await writeFile(file, 'export const handler = async ( => {;\n');
    await p.reload();
    const r = await p.invoke({});
    assert.equal(r.ok, false);
    assert.equal((r as { kind: string }).kind, 'load-error');
    assert.equal((r as { errorType: string }).errorType, 'Runtime.UserCodeSyntaxError');
    await writeFile(file, handlerSource('fixed'));
    assert.equal(version(await p.invoke({})), 'fixed', 'each cold start retries the import');
  });
});

describe('FunctionRegistry', { timeout: 20_000 }, () => {
  it('shares one pool per identical spec and closes it when the last user releases it', async () => {
    const file = join(dir, 'shared.mjs');
    await writeFile(file, handlerSource('s'));
    const reg = new FunctionRegistry({ log: () => {} });
    cleanup.push(() => reg.closeAll());
    const a = reg.get({ name: 'shared', module: file, environment: { A: '1', B: '2' } });
    const b = reg.get({ name: 'shared', module: file, environment: { B: '2', A: '1' } });
    const c = reg.get({ name: 'shared', module: file, environment: { A: '1', B: '3' } });
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.equal(reg.size, 2);
    assert.equal(version(await a.invoke({})), 's');
    reg.release(a);
    assert.equal(version(await b.invoke({})), 's', 'still open: one reference left');
    reg.release(b);
    assert.equal(reg.size, 1);
    await assert.rejects(a.invoke({}), /closed/);
    const d = reg.get({ name: 'shared', module: file, environment: { A: '1', B: '2' } });
    assert.notEqual(d, a, 'a fresh pool after the old one closed');
    await reg.closeAll();
    await assert.rejects(c.invoke({}), /closed/);
    assert.equal(reg.size, 0);
  });

  it('watch mode reloads the pools whose handler file changed', async () => {
    const sub = await mkdtemp(join(dir, 'watch-'));
    const file = join(sub, 'watched.mjs');
    await writeFile(file, handlerSource('w1'));
    const reg = new FunctionRegistry({ log: () => {} });
    cleanup.push(() => reg.closeAll());
    const p = reg.get({ name: 'watched', module: file });
    assert.equal(version(await p.invoke({})), 'w1');
    reg.watch(true);
    await sleep(50);
    await writeFile(file, handlerSource('w2'));
    let seen: unknown;
    for (let i = 0; i < 50; i++) {
      seen = version(await p.invoke({}));
      if (seen === 'w2') break;
      await sleep(50);
    }
    assert.equal(seen, 'w2');
    // with watching off, changes are not picked up
    reg.watch(false);
    await writeFile(file, handlerSource('w3'));
    await sleep(400);
    assert.equal(version(await p.invoke({})), 'w2');
  });
});
