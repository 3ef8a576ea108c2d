// The Turnpike configs the benchmarks run, shared by bench/run.mjs (wrk) and bench/instructions.mjs
// (callgrind) so both measure exactly the same gateway.
import { createHash } from 'node:crypto';

/** The key the load generators send in x-api-key (every row sends it, so requests are the same size). */
export const BENCH_KEY = 'benchKey0123456789abcdefghijklmnopqrstuv';

/** Pass-through: one catch-all route to the upstream, plus `extraRoutes` param routes (the 10k rows). */
export function turnpikeConfig(upstreamPort, extraRoutes = 0) {
  const integration = '{ type: http, upstream: backend }';
  const lines = [
    'upstreams:',
    '  backend:',
    '    targets:',
    `      - url: http://127.0.0.1:${upstreamPort}`,
    'apis:',
    '  - name: bench',
    '    routes:',
    '      - name: pass',
    '        methods: [ANY]',
    '        path: /{proxy+}',
    `        integration: ${integration}`,
  ];
  for (let i = 1; i <= extraRoutes; i++) {
    lines.push(`      - name: r${i}`, '        methods: [GET]', `        path: /r${i}/items/{id}`, `        integration: ${integration}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Key auth + rate limit: the api-key plugin (its usage plan without throttle or quota) plus a rate
 * limit far above what the rig can send, counted locally or in Redis (`redis: { url, timeoutMs }`).
 */
export function turnpikeKeyedConfig(upstreamPort, policy, redis = {}) {
  const redisPart = policy === 'redis' ? `, policy: redis, redis: { url: '${redis.url}', timeoutMs: ${redis.timeoutMs ?? 1000} }, fallback: reject` : '';
  return `upstreams:
  backend:
    targets:
      - url: http://127.0.0.1:${upstreamPort}
apis:
  - name: bench
    plugins:
      api-key: {}
      rate-limit: { limits: [{ window: minute, limit: 1000000000 }], key: [apiKey]${redisPart} }
    routes:
      - name: pass
        methods: [ANY]
        path: /{proxy+}
        integration: { type: http, upstream: backend }
usagePlans:
  bench:
    apiStages: [{ api: bench }]
apiKeys:
  - { id: bench, name: bench, hash: "sha256:${createHash('sha256').update(BENCH_KEY).digest('hex')}", usagePlans: [bench] }
`;
}
