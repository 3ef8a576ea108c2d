/** Real upstream servers on 127.0.0.1 for integration tests. */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface Upstream {
  server: http.Server;
  port: number;
  url: string;
  /** Requests seen, in order. */
  seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** An upstream that buffers each request body, records it, then calls the handler (default: echo as JSON). */
export async function startUpstream(handler?: Handler, opts: { raw?: boolean } = {}): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    if (opts.raw && handler) return handler(req, res, Buffer.alloc(0));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString() });
      if (handler) return handler(req, res, body);
      const text = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: body.toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port with nothing listening on it (bound then closed). */
export async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Blackhole {
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * A port on 127.0.0.1 whose connection attempts are never answered: connect timeouts on loopback,
 * without iptables. A worker thread listens with a backlog of 1 and then blocks its event loop, so it
 * never accepts; two connections fill the accept queue, and Linux then drops every further SYN
 * (whatever net.ipv4.tcp_syncookies says: a full accept queue drops, it does not send cookies), so
 * the client keeps retransmitting its SYN until it gives up. Found by probing: with backlog 1 the
 * third connection attempt stays pending.
 */
export async function startBlackhole(): Promise<Blackhole> {
  const worker = new Worker(
    `
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer(() => {});
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  // Block this thread's loop (in slices, so terminate() can stop it): libuv never accepts again.
  const cell = new Int32Array(new SharedArrayBuffer(4));
  setImmediate(() => { for (;;) Atomics.wait(cell, 0, 0, 50); });
});`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue: connect until an attempt stays pending (the queue holds backlog + 1).
  const held: net.Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    held.push(s);
    const connected = await new Promise<boolean>((resolve) => {
      s.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 200);
    });
    if (!connected) break;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of held) s.destroy();
      await worker.terminate();
    },
  };
}
