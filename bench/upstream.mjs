// Bench upstream: a tiny keep-alive HTTP/1.1 server that answers every request
// with 200 and a fixed ~100-byte JSON body. Started (and pinned) by bench/run.mjs.
// Usage: node bench/upstream.mjs <port>
import http from 'node:http';

const port = Number(process.argv[2] ?? process.env.PORT ?? 3000);
const body = Buffer.from(
  JSON.stringify({ ok: true, service: 'bench-upstream', message: 'hello from the bench upstream server', n: 1234567890 }),
);
const headers = { 'content-type': 'application/json', 'content-length': String(body.length) };

const server = http.createServer((req, res) => {
  // Drain any request body before answering so keep-alive connections stay usable.
  if (req.headers['content-length'] || req.headers['transfer-encoding']) req.resume();
  res.writeHead(200, headers);
  res.end(body);
});
server.keepAliveTimeout = 65_000; // longer than any proxy's idle timeout
server.headersTimeout = 66_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`upstream listening on 127.0.0.1:${port} (${body.length}-byte body)\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
