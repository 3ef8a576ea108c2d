// Issue 11, "Functions": a function process must not read the gateway's environment. Under the same
// uid it can, whatever its own environment holds: /proc/<pid>/environ is open to every process of that
// uid. As root the gateway spawns functions as another user (server.functionRunAs, default nobody), so
// the read fails with EACCES, while the function still reads the files of its own code folder.
// The code folder is a mkdtemp folder (0700, root's): the gateway must make it reachable.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const FIXTURE = `${ROOT}/test/fixtures/function-identity`;
const SECRET = 'admin-token-for-identity-9c41e7';
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'the gateway must run as root to give functions another user';

interface Read {
  ok: boolean;
  code?: string;
  text?: string;
}
interface Probe {
  uid: number;
  gid: number;
  groups: number[];
  ppid: number;
  parentEnviron: Read;
  ownEnviron: Read;
  ownFile: Read;
  pidEnviron?: Read;
}

/** A private code folder (mkdtemp: 0700) holding the probe handler and a data file beside it. */
function codeFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-fn-identity-'));
  copyFileSync(join(FIXTURE, 'probe.mjs'), join(dir, 'probe.mjs'));
  copyFileSync(join(FIXTURE, 'data.txt'), join(dir, 'data.txt'));
  return dir;
}

const config = (dir: string, runAs?: string): string => `
server: { accessLog: false${runAs === undefined ? '' : `, functionRunAs: "${runAs}"`} }
functions:
  probe: { module: "${dir}/probe.mjs", timeoutMs: 10000 }
apis:
  - name: id
    routes:
      - { path: /probe, integration: { type: function, function: probe } }
`;

async function probe(gw: RunningGateway): Promise<Probe> {
  const res = await fetch(`${gw.url}/probe?pid=${gw.proc.pid}&secret=${SECRET}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Probe;
}

describe('function processes run as another user when the gateway is root', { skip, timeout: 120_000 }, () => {
  let gw: RunningGateway;
  let dir: string;
  before(async () => {
    dir = codeFolder();
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    gw = await startGateway(config(dir), { env: { TURNPIKE_ADMIN_TOKEN: SECRET } });
  });
  after(async () => {
    await gw?.stop();
  });

  test('by default as nobody, with no supplementary groups', async () => {
    const p = await probe(gw);
    assert.equal(p.uid, 65534);
    assert.equal(p.gid, 65534);
    assert.deepEqual(
      p.groups.filter((g) => g !== p.gid),
      [],
    );
  });

  test("reading the gateway's /proc/<pid>/environ fails with EACCES (its parent's and the CLI process's)", async () => {
    const p = await probe(gw);
    assert.deepEqual(p.parentEnviron, { ok: false, code: 'EACCES' });
    assert.deepEqual(p.pidEnviron, { ok: false, code: 'EACCES' });
    // Its own environment is its own: readable, and without the token.
    assert.equal(p.ownEnviron.ok, true);
    assert.equal(p.ownEnviron.text, 'no-secret');
  });

  test('the function still reads the files of its own code folder', async () => {
    const p = await probe(gw);
    assert.equal(p.ownFile.ok, true, JSON.stringify(p.ownFile));
    assert.equal(p.ownFile.text, 'code-folder data\n');
    // The gateway granted search (o+x) on the folder, not listing (o+r).
    assert.equal(statSync(dir).mode & 0o777, 0o701);
  });
});

describe('functionRunAs: inherit keeps the gateway user (the attack this closes)', { skip, timeout: 60_000 }, () => {
  test("a function of the gateway's own uid reads the gateway's environment", async () => {
    const gw = await startGateway(config(codeFolder(), 'inherit'), { env: { TURNPIKE_ADMIN_TOKEN: SECRET } });
    try {
      const p = await probe(gw);
      assert.equal(p.uid, 0);
      assert.equal(p.parentEnviron.ok, true);
      assert.equal(p.pidEnviron?.text, 'CONTAINS-SECRET');
    } finally {
      await gw.stop();
    }
  });
});

describe('functionRunAs names a user', { skip, timeout: 60_000 }, () => {
  test('USER:GROUP by name and UID:GID by number', async () => {
    for (const [runAs, uid, gid] of [
      ['daemon:nogroup', 1, 65534],
      ['1234:4321', 1234, 4321],
    ] as const) {
      const gw = await startGateway(config(codeFolder(), runAs));
      try {
        const p = await probe(gw);
        assert.deepEqual([p.uid, p.gid], [uid, gid], runAs);
        assert.equal(p.parentEnviron.code, 'EACCES');
      } finally {
        await gw.stop();
      }
    }
  });

  test('an unknown user fails the start at server.functionRunAs', async () => {
    const gw = await startGateway(config(codeFolder(), 'no-such-user-x'), { expectExit: true });
    assert.notEqual(gw.proc.exitCode, 0);
    assert.match(gw.stderr() + JSON.stringify(gw.logs), /server\.functionRunAs/);
    assert.match(gw.stderr() + JSON.stringify(gw.logs), /no-such-user-x.*not in \/etc\/passwd/);
  });

  test("folders between the function's and the config file's folder are made searchable; a private folder above that is refused", async () => {
    // gateway.yaml in a private folder, the function two private folders below it: served.
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-fn-layout-'));
    const fnDir = join(dir, 'aws', 'functions');
    mkdirSync(fnDir, { recursive: true, mode: 0o700 });
    chmodSync(join(dir, 'aws'), 0o700);
    copyFileSync(join(FIXTURE, 'probe.mjs'), join(fnDir, 'probe.mjs'));
    copyFileSync(join(FIXTURE, 'data.txt'), join(fnDir, 'data.txt'));
    const inside = await startGateway(config(fnDir), { dir });
    try {
      const p = await probe(inside);
      assert.equal(p.uid, 65534);
      assert.equal(p.ownFile.text, 'code-folder data\n');
      for (const d of [dir, join(dir, 'aws'), fnDir]) assert.equal(statSync(d).mode & 0o777, 0o701, d);
    } finally {
      await inside.stop();
    }
    // The function's folder below a private folder that is not the gateway's: refused, naming that folder.
    const other = mkdtempSync(join(tmpdir(), 'turnpike-fn-other-'));
    mkdirSync(join(other, 'fn'));
    copyFileSync(join(FIXTURE, 'probe.mjs'), join(other, 'fn', 'probe.mjs'));
    const outside = await startGateway(config(join(other, 'fn')));
    try {
      const res = await fetch(`${outside.url}/probe`);
      assert.equal(res.status, 500);
      const log = await outside.waitForLog((l) => l.msg === 'function error', 5000);
      assert.match(String(log.errorMessage), new RegExp(`the folder ${other} \\(mode 0700\\) is not searchable by it`));
      assert.equal(statSync(other).mode & 0o777, 0o700, 'a folder outside the gateway folder is left alone');
    } finally {
      await outside.stop();
    }
  });

  test('a handler file closed to the function user fails its invocations with a message naming the fix', async () => {
    const dir = codeFolder();
    chmodSync(join(dir, 'probe.mjs'), 0o600);
    const gw = await startGateway(config(dir));
    try {
      const res = await fetch(`${gw.url}/probe`);
      assert.equal(res.status, 500);
      const log = await gw.waitForLog((l) => l.msg === 'function error', 5000);
      assert.match(String(log.errorMessage), /not readable by nobody.*chmod o\+r/);
    } finally {
      await gw.stop();
    }
  });
});
