/**
 * A worker that dies costs only the requests it was serving (issue 11, "Processes"), through the real
 * process with --workers 2: under light keep-alive load (8 clients, each with one request in flight at
 * a time), one worker is killed with SIGKILL five times in a row (each time after its replacement
 * listens). Each kill may fail at most the requests that were in flight, i.e. at most the 8 clients'
 * current requests (the clients' connections may all be on the killed worker: workers accept from the
 * shared socket), and no request may hang; everything after is answered by the survivor, then the
 * replacement.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let gw: RunningGateway;
let up: Upstream;

before(async () => {
  // 20 ms per answer: requests are in flight in the workers when one is killed.
  up = await startUpstream((_req, res) => {
    setTimeout(() => res.end('ok'), 20);
  });
  gw = await startGateway(
    `
server:
  accessLog: false
apis:
  - name: t
    routes:
      - { methods: [GET], path: "/work", integration: { type: http, url: "${up.url}" } }
`,
    { workers: 2 },
  );
  await gw.waitForLog((l) => l.msg === 'worker listening' && gw.logs.filter((x) => x.msg === 'worker listening').length >= 2, 45_000);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

function workerPids(): number[] {
  const live = new Map<number, number>();
  for (const l of gw.logs) {
    if (l.msg === 'worker listening') live.set(l.worker as number, l.workerPid as number);
    if (l.msg === 'worker exited; starting a replacement') live.delete(l.worker as number);
  }
  return [...live.values()];
}

test('killing one of two workers five times fails at most the requests in flight at each kill', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const client = async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        const req = http.get(`${gw.url}/work`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else failures.push(`status ${res.statusCode}`);
            resolve();
          });
          res.on('error', (e) => {
            failures.push(e.message);
            resolve();
          });
        });
        // A request that never gets an answer (a connection lost between primary and worker) is a failure too.
        req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
        req.on('error', (e) => {
          failures.push((e as NodeJS.ErrnoException).code ?? e.message);
          resolve();
        });
      });
    }
  };
  const clients = Array.from({ length: 8 }, () => client());
  const perKill: number[] = [];
  try {
    await sleep(500);
    for (let k = 0; k < 5; k++) {
      const before = failures.length;
      const pids = workerPids();
      assert.equal(pids.length, 2, `two workers listening before kill ${k + 1}`);
      const listening = gw.logs.filter((l) => l.msg === 'worker listening').length;
      process.kill(pids[0] as number, 'SIGKILL');
      await within(
        (async () => {
          while (gw.logs.filter((l) => l.msg === 'worker listening').length <= listening) await sleep(50);
        })(),
        45_000,
        'the replacement worker listening',
      );
      await sleep(500);
      perKill.push(failures.length - before);
    }
  } finally {
    running = false;
    await Promise.all(clients);
    agent.destroy();
  }
  assert.ok(ok > 100, `only ${ok} requests answered`);
  // Before SCHED_NONE a connection the primary handed to the dying worker was never answered nor closed.
  assert.deepEqual(failures.filter((f) => f.startsWith('no answer')), [], 'every request got an answer or a reset, none hung');
  for (const [i, n] of perKill.entries()) assert.ok(n <= 8, `kill ${i + 1} failed ${n} requests (at most 8 were in flight): ${failures.join(', ')}`);
});
