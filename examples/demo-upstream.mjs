// A small upstream service for the quick start and the tests' examples: a JSON API with a few routes.
import http from 'node:http';

const users = new Map([
  ['1', { id: '1', name: 'Ada Lovelace' }],
  ['2', { id: '2', name: 'Alan Turing' }],
]);

export function createDemoUpstream() {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    const json = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/users\/([^/]+)$/.exec(url.pathname);
      if (url.pathname === '/users' && req.method === 'GET') return json(200, [...users.values()]);
      if (url.pathname === '/users' && req.method === 'POST') {
        let body;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
        } catch {
          return json(400, { message: 'body must be JSON' });
        }
        const id = String(users.size + 1);
        users.set(id, { id, name: String(body.name ?? 'anonymous') });
        return json(201, users.get(id));
      }
      if (m && req.method === 'GET') return users.has(m[1]) ? json(200, users.get(m[1])) : json(404, { message: 'no such user' });
      // Anything else: echo what the upstream received, so the gateway's rewriting is visible.
      return json(200, {
        echo: { method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: Buffer.concat(chunks).toString() },
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 3000);
  createDemoUpstream().listen(port, '127.0.0.1', () => console.log(`demo upstream on http://127.0.0.1:${port}`));
}
