/**
 * Issue 11, Upstreams: a proxied WebSocket tunnel has an idle timeout, a client that leaves closes
 * the upstream side and vice versa, a half-open peer (FIN sent, never closed) is cut after a short
 * grace — no gateway socket is left in CLOSE-WAIT and the in-flight count returns to 0. Through the
 * real process: tunnels are raw sockets of the listener.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { sleep, within } from '../helpers/proxy.js';

let gw: RunningGateway;
let upstream: net.Server;
/** Upstream sockets of established tunnels, in order. */
const upSockets: net.Socket[] = [];
const IDLE_MS = 1_500;

before(async () => {
  // A WebSocket upstream at the TCP level: answers 101 to any upgrade, then echoes; allowHalfOpen, and
  // it never ends its side on its own (the half-open upstream of the issue).
  upstream = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      s.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
      upSockets.push(s);
      s.on('data', (x: Buffer) => {
        if (!s.writableEnded) s.write(x);
      });
    };
    s.on('data', onData);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as net.AddressInfo).port;
  gw = await startGateway(`
server:
  limits: { websocketIdleTimeoutMs: ${IDLE_MS} }
apis:
  - name: ws
    routes:
      - { path: /ws, websocket: true, integration: { type: http, url: "http://127.0.0.1:${port}" } }
`);
});

after(async () => {
  await gw?.stop();
  for (const s of upSockets) s.destroy();
  await new Promise<void>((r) => upstream.close(() => r()));
});

/** Opens a tunnel: resolves once the 101 arrived, with the client socket and its upstream socket. */
async function open(): Promise<{ c: net.Socket; up: net.Socket }> {
  const before = upSockets.length;
  const c = net.connect({ port: gw.port, host: '127.0.0.1', allowHalfOpen: true });
  c.on('error', () => undefined);
  c.write('GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const head = await within(
    new Promise<string>((resolve) => {
      let text = '';
      const on = (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) {
          c.off('data', on);
          resolve(text);
        }
      };
      c.on('data', on);
    }),
    5_000,
    '101',
  );
  assert.match(head, /^HTTP\/1\.1 101 /);
  await waitFor(() => upSockets.length > before, 2_000, 'upstream socket');
  return { c, up: upSockets[upSockets.length - 1] as net.Socket };
}

async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

const closed = (s: net.Socket) => new Promise<number>((r) => {
  const t0 = performance.now();
  if (s.destroyed) return r(0);
  s.once('close', () => r(performance.now() - t0));
});

/** Resolves when the peer's FIN (or a reset) reached `s`: the gateway closed its side. */
const ended = (s: net.Socket) => new Promise<void>((r) => {
  if (s.readableEnded || s.destroyed) return r();
  s.once('end', () => r());
  s.once('close', () => r());
});

async function inflight(): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  return Number(/^turnpike_requests_in_flight (\d+)/m.exec(text)?.[1] ?? -1);
}

async function inflightZero(): Promise<void> {
  const end = Date.now() + 5_000;
  let n = -1;
  while (Date.now() < end) {
    n = await inflight();
    if (n === 0) return;
    await sleep(50);
  }
  assert.equal(n, 0, 'requests in flight');
}

test('traffic keeps a tunnel open; an idle tunnel is closed on both sides after websocketIdleTimeoutMs', async () => {
  const { c, up } = await open();
  // Echo traffic every 500 ms for 3 s (twice the idle limit): never cut while it flows.
  for (let i = 0; i < 6; i++) {
    c.write(`ping${i}`);
    await sleep(500);
  }
  assert.equal(c.destroyed, false, 'a busy tunnel stays open');
  const t0 = performance.now();
  // Both test sockets are half-open capable: what they see is the gateway's FIN on each side.
  await within(Promise.all([ended(c), ended(up)]), IDLE_MS + 5_000, 'idle tunnel closed');
  const took = performance.now() - t0;
  assert.ok(took >= IDLE_MS - 600, `closed after ${took.toFixed(0)} ms of silence, not before the limit`);
  await inflightZero();
});

test('a client that leaves closes the upstream side', async () => {
  const { c, up } = await open();
  c.destroy();
  await within(ended(up), 3_000, 'upstream side closed after the client left');
  await inflightZero();
});

test('a client FIN to a half-open upstream: the gateway closes both sides (no CLOSE-WAIT), in-flight returns to 0', async () => {
  const { c, up } = await open();
  const clientSawEnd = new Promise<void>((r) => c.once('end', () => r()));
  c.end(); // half-close; the upstream gets a FIN and never closes its side
  await within(new Promise<void>((r) => up.once('end', () => r())), 3_000, 'upstream got the FIN');
  await within(clientSawEnd, 3_000, 'the gateway ended the client side too');
  await within(closed(c), 3_000, 'client connection fully closed');
  await inflightZero();
});

test('an upstream FIN closes the client side even if the client never closes', async () => {
  const { c, up } = await open();
  up.end(); // upstream half-closes and then ignores the connection
  await within(new Promise<void>((r) => c.once('end', () => r())), 3_000, 'client got the FIN');
  // The gateway closes its upstream socket (no CLOSE-WAIT there): the upstream's connection ends fully.
  await within(closed(up), 3_000, 'upstream connection fully closed');
  // The client (allowHalfOpen, never ends its side) is cut within the close grace (5 s): the request ends.
  const end = Date.now() + 8_000;
  while ((await inflight()) !== 0 && Date.now() < end) await sleep(100);
  assert.equal(await inflight(), 0, 'requests in flight after the grace');
});
