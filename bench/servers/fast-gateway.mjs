// fast-gateway (3.4.7 on Node 20; 5.0.1 needs restana 6 = node>=24, see docs/benchmark.md), on restana 5.2.0 +
// 0http 4.3.0 + fast-proxy-lite 1.1.2: one catch-all route, defaults otherwise (keep-alive http.Agent).
// Usage: node bench/servers/fast-gateway.mjs <port> <upstream-origin>
import gateway from 'fast-gateway';

const port = Number(process.argv[2] ?? 8080);
const target = new URL(process.argv[3] ?? 'http://127.0.0.1:3000').origin;

// prefix '' + default pathRegex '/*' => route '/*'; the empty prefix leaves req.url untouched.
const server = gateway({ routes: [{ prefix: '', target }] });
await server.start(port, '127.0.0.1');
process.stdout.write(`fast-gateway on 127.0.0.1:${port} -> ${target}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
