// `npm start`: the demo upstream and the gateway on examples/gateway.yaml, in the foreground.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDemoUpstream } from './demo-upstream.mjs';

const upstreamPort = Number(process.env.DEMO_UPSTREAM_PORT ?? 3000);
const port = process.env.PORT ?? '8080';
const adminPort = process.env.ADMIN_PORT ?? '9080';
const root = fileURLToPath(new URL('..', import.meta.url));

const upstream = createDemoUpstream();
upstream.on('error', (err) => {
  console.error(`demo upstream: ${err.message} (set DEMO_UPSTREAM_PORT to use another port)`);
  process.exit(1);
});
upstream.listen(upstreamPort, '127.0.0.1', () => {
  console.error(`demo upstream listening on http://127.0.0.1:${upstreamPort}`);
  const gw = spawn(process.execPath, [`${root}bin/turnpike`, 'serve', `${root}examples/gateway.yaml`, '--port', port, '--admin-port', adminPort, '--workers', process.env.WORKERS ?? '1'], {
    stdio: 'inherit',
    env: { ...process.env, DEMO_UPSTREAM_PORT: String(upstreamPort) },
  });
  console.error(`
Turnpike is starting on http://localhost:${port} (admin on http://127.0.0.1:${adminPort}). Try:
  curl -i localhost:${port}/api/users/1
  curl -i -X POST localhost:${port}/api/users -H 'content-type: application/json' -d '{"name":"Grace Hopper"}'
  curl -i 'localhost:${port}/api/anything/else?x=1'
  curl -i localhost:${port}/status
  curl -s 127.0.0.1:${adminPort}/routes
  curl -s 127.0.0.1:${adminPort}/metrics | grep turnpike_requests_total
Edit examples/gateway.yaml while it runs: the change is validated and applied at once.
`);
  const stop = (sig) => gw.kill(sig);
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  gw.on('exit', (code) => {
    upstream.close();
    process.exit(code ?? 0);
  });
});
