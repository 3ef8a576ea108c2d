// Micro-benchmark: render of a typical API Gateway request mapping template.
// Run after a build:  npx tsc -p tsconfig.json && node bench/templates-micro.mjs
// Prints microseconds per render (compile happens once, outside the timed loop).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileTemplate } from '../dist/src/templates/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cases = {
  'request-template.vm (all params + $input.json)': readFileSync(`${root}test/fixtures/templates/request-template.vm`, 'utf8'),
  'small ($input.path + $context)': '{"id": "$input.params(\'id\')", "name": "$util.escapeJavaScript($input.path(\'$.name\'))", "stage": "$context.stage"}',
  'passthrough-ish ($input.json(\'$\'))': "$input.json('$')",
};
const req = {
  body: JSON.stringify({ name: "O'Brien", items: [{ id: 1, price: 9.5 }, { id: 2, price: 20 }], flag: true }),
  path: { id: '42' },
  querystring: { q: 'search', page: '2' },
  header: { 'Content-Type': 'application/json', 'User-Agent': 'bench', Accept: '*/*', 'X-Request-Id': 'abc' },
};
const vars = {
  context: {
    apiId: 'api1', stage: 'prod', requestId: 'r-1', httpMethod: 'POST', path: '/prod/items/42', protocol: 'HTTP/1.1', resourcePath: '/items/{id}',
    identity: { sourceIp: '192.0.2.1', userAgent: 'bench', accountId: null, apiKey: null, caller: null, user: null, userArn: null },
    authorizer: { principalId: 'u1', claims: { sub: 's1' } },
  },
  stageVariables: { backend: 'b.example' },
};

for (const [name, src] of Object.entries(cases)) {
  const t = compileTemplate(src, name);
  for (let i = 0; i < 5_000; i++) t.render(req, vars); // warm up
  const n = 50_000;
  const start = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < n; i++) bytes += t.render(req, vars).output.length;
  const us = Number(process.hrtime.bigint() - start) / 1e3 / n;
  console.log(`${name}: ${us.toFixed(2)} µs/render (${(bytes / n).toFixed(0)} bytes out)`);
}
