/**
 * `turnpike serve` stays in the foreground: the pid we spawn is the one holding the listening
 * socket (single process) or the cluster primary (which holds it in round-robin mode). Two
 * instances run side by side; a taken port fails the start with exit 1; admin binds 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { childPids, listeningSockets, pidsHoldingSocket, request } from '../helpers/lifecycle.js';

const running: RunningGateway[] = [];
after(async () => {
  await Promise.all(running.map((g) => g.stop()));
});

function config(name: string): string {
  return `
apis:
  - name: ${name}
    routes:
      - name: who
        methods: [GET]
        path: /who
        integration: { type: mock, body: { instance: "${name}" } }
`;
}

async function start(name: string, opts: Parameters<typeof startGateway>[1] = {}): Promise<RunningGateway> {
  const gw = await startGateway(config(name), opts);
  running.push(gw);
  return gw;
}

test('single process: the spawned pid itself holds the listening sockets; admin binds 127.0.0.1 by default', async () => {
  const gw = await start('single');
  const pid = gw.proc.pid as number;
  const [data] = listeningSockets(gw.port);
  assert.ok(data, 'data port is listening');
  assert.deepEqual(pidsHoldingSocket(data.inode, [pid]), [pid]);
  assert.deepEqual(childPids(pid), [], 'no child processes with --workers 1');
  const admin = listeningSockets(gw.adminPort);
  assert.deepEqual(
    admin.map((s) => s.address),
    ['127.0.0.1'],
    'the admin listener binds loopback unless --admin-host says otherwise',
  );
  assert.deepEqual(pidsHoldingSocket((admin[0] as { inode: string }).inode, [pid]), [pid]);
  const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as { pid: number };
  assert.equal(health.pid, pid);
});

test('--workers 2: the spawned pid is the primary (it holds the listening socket); the workers are its children', async () => {
  const gw = await start('cluster', { workers: 2 });
  const pid = gw.proc.pid as number;
  const workers = childPids(pid);
  assert.equal(workers.length, 2);
  const [data] = listeningSockets(gw.port);
  assert.ok(data);
  assert.ok(pidsHoldingSocket(data.inode, [pid]).includes(pid), 'the primary holds the listening socket');
  const res = await request(`${gw.url}/who`);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { instance: 'cluster' });
});

test('two instances run side by side on different ports, each with its own admin port', async () => {
  const a = await start('first');
  const b = await start('second');
  assert.notEqual(a.port, b.port);
  assert.notEqual(a.adminPort, b.adminPort);
  assert.deepEqual(JSON.parse((await request(`${a.url}/who`)).body), { instance: 'first' });
  assert.deepEqual(JSON.parse((await request(`${b.url}/who`)).body), { instance: 'second' });
  const ha = (await (await fetch(`${a.adminUrl}/health`)).json()) as { pid: number };
  const hb = (await (await fetch(`${b.adminUrl}/health`)).json()) as { pid: number };
  assert.equal(ha.pid, a.proc.pid);
  assert.equal(hb.pid, b.proc.pid);
});

test('a port already in use fails the start with exit 1 and the reason on stderr (single and cluster mode)', async () => {
  const first = running[0] as RunningGateway;
  const single = await startGateway(config('clash'), { args: ['--port', String(first.port)], expectExit: true });
  assert.equal(single.proc.exitCode, 1);
  assert.match(single.stderr(), /EADDRINUSE/);
  const cluster = await startGateway(config('clash'), { workers: 2, args: ['--port', String(first.port)], expectExit: true });
  assert.equal(cluster.proc.exitCode, 1);
  assert.match(cluster.stderr(), /EADDRINUSE/);
  assert.equal(
    cluster
      .stderr()
      .split('\n')
      .filter((l) => l.includes('EADDRINUSE')).length,
    1,
    'reported once',
  );
  const adminClash = await startGateway(config('clash'), { args: ['--admin-port', String(first.adminPort)], expectExit: true });
  assert.equal(adminClash.proc.exitCode, 1);
  assert.match(adminClash.stderr(), /EADDRINUSE/);
});
