// Router micro-benchmark: ns per lookup with 100 and with 10,000 routes, and their ratio.
// The route table must not make lookups slower as it grows (Map probes per segment),
// so the ratio should stay close to 1 (cache effects make it drift a little above).
//
//   npm run build && node bench/router-micro.mjs [iterations]
import { Router } from '../dist/src/routing/router.js';

const ITER = Number(process.argv[2] ?? 2_000_000);
const NO_HEADERS = Object.freeze({});

/** n routes: a quarter each literal, one param, two params, proxy; every tenth service behind a host. */
function routes(n) {
  const out = [];
  const services = n / 4;
  for (let i = 0; i < services; i++) {
    const hosts = i % 10 === 0 ? { hosts: [`svc${i}.example.com`] } : {};
    out.push({ methods: ['GET'], path: `/v1/svc${i}/items`, value: i });
    out.push({ methods: ['GET', 'PUT'], path: `/v1/svc${i}/items/{id}`, value: i });
    out.push({ methods: ['POST'], path: `/v1/svc${i}/items/{id}/tags/{tag}`, value: i });
    out.push({ methods: ['ANY'], path: `/v1/svc${i}/files/{proxy+}`, value: i, ...hosts });
  }
  return out;
}

/** A fixed mix of requests touching services spread over the whole table. */
function requests(n) {
  const services = n / 4;
  const out = [];
  for (let k = 0; k < 64; k++) {
    const i = Math.floor((k * 7919) % services);
    out.push(['GET', undefined, `/v1/svc${i}/items`]);
    out.push(['PUT', undefined, `/v1/svc${i}/items/${k}`]);
    out.push(['POST', undefined, `/v1/svc${i}/items/${k}/tags/t${k}`]);
    out.push(['GET', `svc${i}.example.com`, `/v1/svc${i}/files/a/b/c.txt`]);
  }
  return out;
}

function run(n) {
  const t0 = process.hrtime.bigint();
  const router = new Router(routes(n));
  const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const reqs = requests(n);
  // Correctness guard: every request must be found, or the numbers mean nothing.
  for (const [m, h, p] of reqs) {
    const r = router.lookup(m, h, p, NO_HEADERS, '');
    if (r.kind !== 'found') throw new Error(`${m} ${p}: ${r.kind}`);
  }
  let sink = 0;
  const once = (iter) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iter; i++) {
      const q = reqs[i & 255];
      const r = router.lookup(q[0], q[1], q[2], NO_HEADERS, '');
      sink += r.kind.length;
    }
    return Number(process.hrtime.bigint() - start) / iter;
  };
  once(ITER / 4); // warm-up (JIT)
  const samples = [once(ITER), once(ITER), once(ITER)].sort((a, b) => a - b);
  if (sink === 0) console.log('');
  return { n, buildMs, ns: samples[1] };
}

const small = run(100);
const large = run(10_000);
for (const r of [small, large]) {
  console.log(`${String(r.n).padStart(6)} routes: ${r.ns.toFixed(1).padStart(7)} ns/lookup  (build ${r.buildMs.toFixed(1)} ms)`);
}
console.log(`ratio 10,000 / 100: ${(large.ns / small.ns).toFixed(2)}`);
