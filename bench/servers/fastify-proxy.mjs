// fastify 5 + @fastify/http-proxy 11 (reply-from over undici, its defaults), logger off.
// Usage: node bench/servers/fastify-proxy.mjs <port> <upstream-origin>
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const port = Number(process.argv[2] ?? 8080);
const upstream = new URL(process.argv[3] ?? 'http://127.0.0.1:3000').origin;

const app = Fastify({ logger: false });
await app.register(proxy, { upstream, prefix: '/' });
await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`fastify/http-proxy on 127.0.0.1:${port} -> ${upstream}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
