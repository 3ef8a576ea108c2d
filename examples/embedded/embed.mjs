// Turnpike as a library: build a gateway from a config, run requests through it without a socket
// (inject), then serve it over HTTP. Run from the repository root after `npm ci`:
//   node examples/embedded/embed.mjs
import { createGateway } from '../../dist/src/gateway.js';

const gateway = await createGateway({
  source: {
    file: 'inline.yaml',
    text: `
apis:
  - name: shop
    routes:
      - path: /orders
        methods: [POST]
        integration: { type: mock, status: 201, body: { created: true } }
        plugins:
          request-validation:
            body: { schemas: { application/json: { type: object, required: [item] } } }
`,
  },
});

const refused = await gateway.inject({ method: 'POST', url: '/orders', body: { quantity: 2 } });
console.log(refused.status, refused.json().code); // 400 BAD_REQUEST_BODY
const created = await gateway.inject({ method: 'POST', url: '/orders', body: { item: 'tea' } });
console.log(created.status, created.text()); // 201 {"created":true}

const { port } = await gateway.listen({ port: 0 });
const res = await fetch(`http://127.0.0.1:${port}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"item":"tea"}' });
console.log(res.status); // 201
await gateway.close();
