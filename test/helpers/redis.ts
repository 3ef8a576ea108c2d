/** Test helper: a private redis-server on a free port (no persistence), for tests that kill it. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

export interface PrivateRedis {
  port: number;
  url: string;
  /** SIGKILL the server and wait for it to exit. */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export interface RedisServerOptions {
  /** Require this password (AUTH / the URL's password). */
  password?: string;
  /** Serve TLS only (no plain port) with this certificate. */
  tls?: { cert: string; key: string; ca: string };
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const listen = opts.tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)];
  const auth = opts.password !== undefined ? ['--requirepass', opts.password] : [];
  const child: ChildProcess = spawn('redis-server', [...listen, ...auth, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) break;
    if (child.exitCode !== null) throw new Error('redis-server exited at start');
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await canConnect(port))) {
    child.kill('SIGKILL');
    throw new Error('redis-server did not start');
  }
  let killed = false;
  return {
    port,
    url: `${opts.tls ? 'rediss' : 'redis'}://${opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : ''}${opts.tls ? 'localhost' : '127.0.0.1'}:${port}`,
    async kill() {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
      await exited;
    },
  };
}
