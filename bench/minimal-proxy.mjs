// Minimal reverse proxy: node:http in front, an undici keep-alive Pool behind.
// The "what does plain Node cost" baseline of the benchmark. Bodies stream both ways.
// Usage: node bench/minimal-proxy.mjs <port> <upstream-origin>
import http from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? 8080);
const origin = new URL(process.argv[3] ?? 'http://127.0.0.1:3000').origin;
const pool = new Pool(origin, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 });

// Hop-by-hop headers (RFC 9110 §7.6.1) are never forwarded; host is set by undici from the origin.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);
const strip = (h) => {
  const out = {};
  for (const k in h) if (!HOP.has(k)) out[k] = h[k];
  return out;
};

const server = http.createServer((req, res) => {
  const headers = strip(req.headers);
  headers['x-forwarded-for'] = req.socket.remoteAddress;
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool
    .stream(
      { path: req.url, method: req.method, headers, body: hasBody ? req : null, opaque: res },
      ({ statusCode, headers: upstreamHeaders, opaque }) => {
        opaque.writeHead(statusCode, strip(upstreamHeaders));
        return opaque; // undici pipes the upstream body into the client response
      },
    )
    .catch((err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway\n');
      else res.destroy(err);
    });
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`minimal proxy on 127.0.0.1:${port} -> ${origin}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
