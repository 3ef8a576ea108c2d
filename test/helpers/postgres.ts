/**
 * PostgreSQL for tests: the machine's server at 127.0.0.1:5432 (trust auth, user postgres). Each test
 * file works in a database of its own, created here and dropped at the end, so files running in
 * parallel (and other engineers' tests) never see each other's rows. TcpRelay puts a real TCP hop
 * between a gateway and the server that a test can cut and restore, on the same port.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import postgres from 'postgres';

export const PG_HOST = process.env.TURNPIKE_TEST_PG_HOST ?? '127.0.0.1';
export const PG_PORT = Number(process.env.TURNPIKE_TEST_PG_PORT ?? 5432);

export interface TestDatabase {
  name: string;
  /** Direct URL to the test database. */
  url: string;
  /** The same database through another host:port (a relay). */
  urlVia(port: number): string;
  /** A direct connection for assertions and hand edits. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `turnpike_t_${randomBytes(6).toString('hex')}`;
  const admin = postgres({ host: PG_HOST, port: PG_PORT, user: 'postgres', database: 'postgres', max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  const urlVia = (port: number) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const url = `postgres://postgres@${PG_HOST}:${PG_PORT}/${name}`;
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  return {
    name,
    url,
    urlVia,
    sql,
    async drop() {
      await sql.end({ timeout: 1 });
      // WITH (FORCE) (PostgreSQL 13+): a gateway that is still connected must not keep the database alive.
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 1 });
    },
  };
}

/** A TCP relay to PostgreSQL that the test stops (listener closed, every socket destroyed) and restarts on the same port. */
export class TcpRelay {
  port = 0;
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  async start(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(PG_PORT, PG_HOST);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.once('close', () => this.#sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  /** A port nothing listens on yet, reserved for a relay started later. */
  async reservePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    this.port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return this.port;
  }
}
