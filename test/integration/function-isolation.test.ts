// Issue 11, "Functions": a hostile handler against the real gateway process. Each test reproduces one
// attack that worked while handlers ran in worker threads of the gateway (fails on that runtime) and
// checks it is now cut off: the function runs in a process of its own on the Lambda Runtime API.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const HOSTILE = `${ROOT}/test/fixtures/hostile-functions/hostile.mjs`;
const ADMIN_TOKEN = 'admin-token-must-not-leak-7f3a9c';

const CONFIG = `
functions:
  hostile: { module: "${HOSTILE}", timeoutMs: 25000, concurrency: 4, memoryMb: 128 }
  blocker: { module: "${HOSTILE}", timeoutMs: 300, concurrency: 2 }
apis:
  - name: iso
    routes:
      - { name: hostile, path: "/h/{mode}", integration: { type: function, function: hostile } }
      - { name: hostile-rest, path: "/r/{mode}", integration: { type: function, function: hostile, apiType: rest } }
      - { name: blocker, path: "/b/{mode}", integration: { type: function, function: blocker } }
      - { name: control, path: /control, integration: { type: mock, body: { ok: true } } }
`;

let gw: RunningGateway;

/** Every process below `root` (its children, theirs, ...), with its command line. */
function descendants(root: number): { pid: number; cmd: string }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: { pid: number; cmd: string }[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    for (let hops = 0; p !== undefined && p > 1 && hops < 20; hops++) {
      if (p === root) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
        } catch {}
        out.push({ pid, cmd });
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m?.[1] ?? 0) / 1024;
}

/** The gateway's own processes (the CLI process and, with workers, the worker): not the function processes. */
function gatewayPids(): number[] {
  const pid = gw.proc.pid as number;
  return [
    pid,
    ...descendants(pid)
      .filter((d) => !d.cmd.includes('bootstrap.js') && d.cmd.includes('node'))
      .map((d) => d.pid),
  ];
}

async function timedControl(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/control`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  return performance.now() - t0;
}

const p99 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] as number;

describe('function isolation through the real process', { timeout: 120_000 }, () => {
  before(async () => {
    gw = await startGateway(CONFIG, { env: { TURNPIKE_ADMIN_TOKEN: ADMIN_TOKEN } });
  });
  after(async () => {
    await gw?.stop();
  });

  test('a handler reading /proc/self/environ sees the Lambda environment, never the gateway token', async () => {
    const res = await fetch(`${gw.url}/h/environ`);
    assert.equal(res.status, 200);
    const { environ } = (await res.json()) as { environ: string[] };
    const text = environ.join('\n');
    assert.ok(!text.includes(ADMIN_TOKEN), 'the admin token is not in the function process environment');
    assert.ok(!environ.some((e) => e.startsWith('TURNPIKE_')), text);
    assert.ok(environ.includes('AWS_LAMBDA_FUNCTION_NAME=hostile'), text);
    assert.ok(
      environ.some((e) => /^AWS_LAMBDA_RUNTIME_API=127\.0\.0\.1:\d+$/.test(e)),
      text,
    );
    assert.ok(environ.includes('_HANDLER=hostile.handler'), text);
    assert.ok(environ.includes('TZ=:UTC'), text);
  });

  test('process.kill(process.pid) in a handler kills only the function process', async () => {
    const before = gatewayPids();
    const res = await fetch(`${gw.url}/h/kill`);
    assert.equal(res.status, 500);
    assert.equal(await res.text(), '{"message":"Internal Server Error"}');
    assert.equal(gw.proc.exitCode, null);
    assert.deepEqual(gatewayPids(), before, 'every gateway process is still the same');
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.errorType === 'Runtime.ExitError', 5000);
    assert.match(String(log.errorMessage), /signal: terminated/);
    // the pool recovers: a fresh process answers
    assert.equal((await fetch(`${gw.url}/h/ok`)).status, 200);
    assert.equal((await fetch(`${gw.url}/control`)).status, 200);
  });

  test('off-heap Buffers past memoryMb: the function process is killed (Runtime.OutOfMemory), the gateway does not grow', async () => {
    const baseline = Math.max(...gatewayPids().map(rssMb));
    const res = await fetch(`${gw.url}/h/hog`);
    assert.equal(res.status, 500);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.errorType === 'Runtime.OutOfMemory', 5000);
    assert.equal(log.kind, 'crash');
    const after = Math.max(...gatewayPids().map(rssMb));
    assert.ok(after < baseline + 200, `gateway RSS ${baseline.toFixed(0)} MB -> ${after.toFixed(0)} MB`);
    assert.equal((await fetch(`${gw.url}/h/ok`)).status, 200);
  });

  test('a blocking call past the timeout is killed with everything it started; processes never pile up past concurrency', async () => {
    const root = gw.proc.pid as number;
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([1, 2].map(() => fetch(`${gw.url}/b/block`)));
      // HTTP API: a function timeout is a function error (500)
      for (const a of answers) assert.equal(a.status, 500);
      const fnProcs = descendants(root).filter((d) => d.cmd.includes('bootstrap.js') && d.cmd.includes(HOSTILE));
      // hostile's warm processes (up to its 4) plus blocker's (up to 2, dying ones included)
      assert.ok(fnProcs.length <= 6, `function processes: ${fnProcs.length}`);
    }
    // the `sleep 30` children die with their function processes, within the kill grace
    let sleeps: { pid: number; cmd: string }[] = [];
    for (let i = 0; i < 40; i++) {
      sleeps = descendants(root).filter((d) => d.cmd.startsWith('sleep 30') || d.cmd.includes('/bin/sh -c sleep 30'));
      if (sleeps.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(sleeps, [], 'no blocked call survives its timeout');
    assert.equal((await fetch(`${gw.url}/b/ok`)).status, 200);
  });

  test('stdout without newlines and a console flood: the gateway stays fast for a control client, and the output is bounded', async (t) => {
    const samples: number[] = [];
    let done = false;
    const attack = Promise.all([fetch(`${gw.url}/h/noline`), fetch(`${gw.url}/h/flood`)]).finally(() => {
      done = true;
    });
    while (!done) samples.push(await timedControl());
    const [noline, flood] = await attack;
    const errors = () => JSON.stringify(gw.logs.filter((l) => l.msg === 'function error').slice(-2));
    assert.equal(noline.status, 200, errors());
    assert.equal(flood.status, 200, errors());
    t.diagnostic(`control p99 ${p99(samples).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms over ${samples.length} requests during the attack`);
    // generous: the 2-core VM is shared; under the thread runtime the no-newline write alone stalled the gateway for seconds
    assert.ok(p99(samples) < 1000, `control p99 ${p99(samples).toFixed(1)} ms over ${samples.length} requests`);
    const floodLines = gw.logs.filter((l) => l.type === 'function-log' && typeof l.msg === 'string' && l.msg.startsWith('flood line'));
    assert.ok(floodLines.length < 50_000, `flood lines logged: ${floodLines.length} (budget cuts the rest)`);
    assert.ok(gw.logs.some((l) => l.type === 'function-log' && typeof l.msg === 'string' && /over \d+ bytes in this invocation/.test(l.msg)));
    const longest = Math.max(0, ...gw.logs.filter((l) => l.type === 'function-log' && typeof l.msg === 'string').map((l) => (l.msg as string).length));
    assert.ok(longest <= 256 * 1024, `longest logged line ${longest}`);
  });

  test('forged log lines are attributed to the invocation that wrote them', async () => {
    const res = await fetch(`${gw.url}/h/forge-log`);
    assert.equal(res.status, 200);
    const { requestId } = (await res.json()) as { requestId: string };
    const forged = await gw.waitForLog((l) => l.type === 'function-log' && l.msg === 'forged line', 5000);
    assert.equal(forged.requestId, requestId);
    assert.ok(!gw.logs.some((l) => l.type === 'function-log' && l.requestId === 'OTHER-REQUEST'));
  });

  test('a forged result past 6 MB is refused (413 to the function, 502 to the client); an answer for another invocation is refused', async () => {
    const res = await fetch(`${gw.url}/r/forge-result`);
    assert.equal(res.status, 502);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.errorType === 'Function.ResponseSizeTooLarge', 5000);
    assert.equal(log.kind, 'unhandled');
    const other = await fetch(`${gw.url}/h/other-id`);
    assert.equal(other.status, 200);
    assert.deepEqual(await other.json(), { status: 400 });
  });

  test('a client X-Request-Id is never the function request id, and the answer carries one x-request-id', async () => {
    const spoofed = 'spoofed-request-id-0001';
    const { status, raw, body } = await new Promise<{ status: number; raw: string[]; body: string }>((resolve, reject) => {
      const req = request(`${gw.url}/r/ids`, { headers: { 'x-request-id': spoofed } }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, raw: res.rawHeaders, body: b }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    const ids = (await JSON.parse(body)) as { awsRequestId: string; requestContextId: string };
    assert.notEqual(ids.awsRequestId, spoofed);
    assert.notEqual(ids.requestContextId, spoofed);
    assert.match(ids.requestContextId, /^[0-9a-f-]{36}$/);
    const xr = raw.filter((_, i) => i % 2 === 0 && raw[i]?.toLowerCase() === 'x-request-id');
    assert.equal(xr.length, 1, `x-request-id headers: ${raw.join(' | ')}`);
    const amzn = raw.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === 'x-amzn-requestid');
    assert.equal(raw[amzn + 1], ids.requestContextId, 'REST x-amzn-RequestId is the request id the function saw');
    const log = await gw.waitForLog((l) => l.msg === 'function request id' && l.correlationId === spoofed, 5000);
    assert.equal(log.requestId, ids.requestContextId);
  });

  test('function answer headers are bounded like upstream ones: 500 headers is a 502', async () => {
    const res = await fetch(`${gw.url}/r/headers`);
    assert.equal(res.status, 502);
  });
});

test('an ARN naming ../../x is a validate error with its key path, never a file outside functions/', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-traversal-'));
  const api = join(dir, 'api');
  mkdirSync(join(api, 'functions'), { recursive: true });
  // The file the traversal would reach: under the thread runtime it was found and loaded.
  writeFileSync(join(dir, 'x.mjs'), 'export const handler = async () => ({ statusCode: 200, body: "escaped" });\n');
  const uri = 'arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:../../x/invocations';
  writeFileSync(
    join(api, 'openapi.yaml'),
    `openapi: 3.0.1
info: { title: traversal, version: '1' }
paths:
  /x:
    get:
      x-amazon-apigateway-integration: { type: aws_proxy, httpMethod: POST, uri: "${uri}" }
`,
  );
  const r = spawnSync(process.execPath, [BIN, 'validate', join(api, 'openapi.yaml')], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0, `validate accepted it: ${r.stdout}${r.stderr}`);
  const out = `${r.stdout}${r.stderr}`;
  assert.match(out, /"\.\.\/\.\.\/x" is not a function name/);
  assert.match(out, /openapi\.yaml:\d+:\d+ apis\[0\]/, 'the error names its file position and key path');
});
