import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConsistentHashBalancer,
  LeastConnectionsBalancer,
  P2CBalancer,
  RoundRobinBalancer,
  WeightedRoundRobinBalancer,
  createBalancer,
  parseHashOn,
  type Balancer,
  type PickContext,
} from '../../src/upstream/balancers/index.js';

interface T {
  readonly key: string;
  readonly weight: number;
}
const mk = (n: number, weight = 1): T[] => Array.from({ length: n }, (_, i) => ({ key: `http://10.0.0.${i + 1}:80`, weight }));

function shares(b: Balancer<T>, targets: T[], n: number, ctx?: (i: number) => PickContext): number[] {
  const counts = new Map<T, number>();
  for (let i = 0; i < n; i++) {
    const t = b.pick(ctx?.(i));
    assert.ok(t !== undefined);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  return targets.map((t) => (counts.get(t) ?? 0) / n);
}

function near(actual: number, expected: number, tol = 0.03): void {
  assert.ok(Math.abs(actual - expected) <= tol, `share ${actual.toFixed(4)} not within ${tol} of ${expected}`);
}

const ctxOf = (o: { path?: string; ip?: string; headers?: Record<string, string> }): PickContext => ({
  path: o.path ?? '/',
  clientIp: o.ip ?? '127.0.0.1',
  upstreamHeaders: { get: (n: string) => o.headers?.[n] },
});

test('round-robin: 1:3 weights -> 25/75, and equal weights cycle in order', () => {
  const ts = [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }];
  const [a, b] = shares(new RoundRobinBalancer(ts), ts, 10_000);
  near(a as number, 0.25);
  near(b as number, 0.75);
  const eq = mk(3);
  const rr = new RoundRobinBalancer(eq);
  assert.deepEqual([rr.pick(), rr.pick(), rr.pick(), rr.pick()], [eq[0], eq[1], eq[2], eq[0]]);
});

test('weighted-round-robin (smooth): 1:3 -> 25/75, nginx order for 5:1:1, weight 0 never picked', () => {
  const ts = [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }];
  const [a, b] = shares(new WeightedRoundRobinBalancer(ts), ts, 10_000);
  near(a as number, 0.25);
  near(b as number, 0.75);
  const abc = [{ key: 'a', weight: 5 }, { key: 'b', weight: 1 }, { key: 'c', weight: 1 }];
  const w = new WeightedRoundRobinBalancer(abc);
  assert.equal(Array.from({ length: 7 }, () => w.pick()?.key).join(''), 'aabacaa');
  const z = [{ key: 'a', weight: 0 }, { key: 'b', weight: 2 }];
  const wz = new WeightedRoundRobinBalancer(z);
  for (let i = 0; i < 10; i++) assert.equal(wz.pick()?.key, 'b');
  assert.equal(new WeightedRoundRobinBalancer([{ key: 'a', weight: 0 }]).pick(), undefined);
});

test('least-connections: prefers the idle target; equal load spreads evenly; 1:3 weights with completed requests', () => {
  const ts = mk(3);
  const lc = new LeastConnectionsBalancer(ts);
  lc.onStart(ts[0] as T);
  lc.onStart(ts[0] as T);
  lc.onStart(ts[2] as T);
  for (let i = 0; i < 5; i++) assert.equal(lc.pick(), ts[1], 'the only idle target wins');
  lc.onEnd(ts[0] as T);
  lc.onEnd(ts[0] as T);
  lc.onStart(ts[1] as T);
  // now 0 is idle, 1 and 2 each have one
  assert.equal(lc.pick(), ts[0]);
  // requests that complete immediately: all idle -> even spread
  const even = shares(new LeastConnectionsBalancer(ts), ts, 9_000);
  for (const s of even) near(s, 1 / 3);
  // held requests: the share follows weight (load = inflight / weight)
  const w = [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }];
  const lw = new LeastConnectionsBalancer(w);
  const counts = [0, 0];
  for (let i = 0; i < 400; i++) {
    const t = lw.pick() as T;
    lw.onStart(t);
    counts[w.indexOf(t)] = (counts[w.indexOf(t)] ?? 0) + 1;
  }
  near((counts[0] as number) / 400, 0.25);
  // onEnd never goes below zero
  const lz = new LeastConnectionsBalancer(mk(2));
  lz.onEnd(mk(2)[0] as T);
  assert.equal(lz.inflight[0], 0);
});

test('p2c: even spread when idle, 1:3 weights -> 25/75, never picks the loaded one of two', () => {
  const ts = mk(4);
  const even = shares(new P2CBalancer(ts), ts, 20_000);
  for (const s of even) near(s, 0.25);
  const w = [{ key: 'a', weight: 1 }, { key: 'b', weight: 3 }];
  const [a, b] = shares(new P2CBalancer(w), w, 20_000);
  // idle: the first draw wins ties, so the share follows the weighted draw
  near(a as number, 0.25);
  near(b as number, 0.75);
  const two = mk(2);
  const p = new P2CBalancer(two);
  p.onStart(two[0] as T);
  for (let i = 0; i < 200; i++) assert.equal(p.pick(), two[1]);
  // with one target loaded out of 4, it is chosen only when both draws land on it (rare)
  const four = mk(4);
  const p4 = new P2CBalancer(four);
  p4.onStart(four[0] as T);
  const s = shares(p4, four, 20_000);
  assert.ok((s[0] as number) < 0.02, `loaded target got ${s[0]}`);
});

test('consistent-hash: same key -> same target; removing 1 of 10 remaps 5-15% of 10,000 keys; adding it back restores them', () => {
  const ts = mk(10);
  const on = parseHashOn('header:x-user');
  assert.ok(on !== undefined);
  const full = new ConsistentHashBalancer(ts, on);
  const keys = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
  const before = keys.map((k) => full.pickKey(k));
  // the key really comes from the header
  assert.equal(full.pick(ctxOf({ headers: { 'x-user': 'user-42' } })), before[42]);
  // spread: every target gets a fair share (no target above 2x or below 0.5x of 10%)
  for (const t of ts) {
    const share = before.filter((x) => x === t).length / keys.length;
    assert.ok(share > 0.05 && share < 0.2, `share ${share}`);
  }
  const removed = ts[3] as T;
  const less = new ConsistentHashBalancer(ts.filter((t) => t !== removed), on);
  const after = keys.map((k) => less.pickKey(k));
  let moved = 0;
  for (let i = 0; i < keys.length; i++) {
    if (after[i] !== before[i]) {
      moved++;
      assert.equal(before[i], removed, 'only keys of the removed target move');
    }
    assert.notEqual(after[i], removed);
  }
  const ratio = moved / keys.length;
  assert.ok(ratio >= 0.05 && ratio <= 0.15, `remapped ${ratio}`);
  const back = new ConsistentHashBalancer([...ts], on);
  assert.deepEqual(keys.map((k) => back.pickKey(k)), before);
});

test('consistent-hash keys: cookie, ip, path; parseHashOn rejects junk', () => {
  const ts = mk(10);
  const byCookie = new ConsistentHashBalancer(ts, parseHashOn('cookie:sid')!);
  const a = byCookie.pick(ctxOf({ headers: { cookie: 'theme=dark; sid=abc123; x=1' } }));
  assert.equal(a, byCookie.pickKey('abc123'));
  assert.equal(byCookie.key(ctxOf({ headers: { cookie: 'xsid=no; sid=yes' } })), 'yes');
  assert.equal(byCookie.key(ctxOf({ headers: {} })), '');
  const byIp = new ConsistentHashBalancer(ts, parseHashOn('ip')!);
  assert.equal(byIp.pick(ctxOf({ ip: '192.0.2.7' })), byIp.pickKey('192.0.2.7'));
  const byPath = new ConsistentHashBalancer(ts, parseHashOn('path')!);
  assert.equal(byPath.key(ctxOf({ path: '/users/9' })), '/users/9');
  // distinct keys spread over several targets
  const hit = new Set(Array.from({ length: 200 }, (_, i) => byPath.pickKey(`/p/${i}`)));
  assert.ok(hit.size >= 8);
  assert.equal(parseHashOn('header:'), undefined);
  assert.equal(parseHashOn('query:x'), undefined);
  assert.throws(() => createBalancer('consistent-hash', ts, 'bogus'));
});

test('createBalancer: names map to algorithms; only least-connections and p2c count in-flight', () => {
  const ts = mk(2);
  assert.ok(createBalancer(undefined, ts) instanceof RoundRobinBalancer);
  assert.ok(createBalancer('weighted-round-robin', ts) instanceof WeightedRoundRobinBalancer);
  assert.ok(createBalancer('least-connections', ts) instanceof LeastConnectionsBalancer);
  assert.ok(createBalancer('p2c', ts) instanceof P2CBalancer);
  assert.ok(createBalancer('consistent-hash', ts, 'path') instanceof ConsistentHashBalancer);
  assert.equal(createBalancer('round-robin', ts).onEnd, undefined);
  assert.equal(createBalancer('consistent-hash', ts, 'ip').onEnd, undefined);
  assert.equal(typeof createBalancer('p2c', ts).onEnd, 'function');
});

test('health mask: every algorithm skips ejected targets and returns undefined when all are down', () => {
  const ts = mk(4);
  const up = new Uint8Array(4).fill(1);
  up[1] = 0;
  for (const name of ['round-robin', 'weighted-round-robin', 'least-connections', 'p2c', 'consistent-hash'] as const) {
    const b = createBalancer(name, ts, 'path', up);
    for (let i = 0; i < 500; i++) assert.notEqual(b.pick(ctxOf({ path: `/k/${i}` })), ts[1], name);
  }
  // consistent-hash: only the ejected target's keys move, and they come back when it recovers
  const ch = new ConsistentHashBalancer(ts, parseHashOn('path')!, up);
  up[1] = 1;
  const before = Array.from({ length: 1000 }, (_, i) => ch.pickKey(`/k/${i}`));
  up[1] = 0;
  const during = Array.from({ length: 1000 }, (_, i) => ch.pickKey(`/k/${i}`));
  for (let i = 0; i < 1000; i++) if (before[i] !== ts[1]) assert.equal(during[i], before[i]);
  up[1] = 1;
  assert.deepEqual(Array.from({ length: 1000 }, (_, i) => ch.pickKey(`/k/${i}`)), before);
  up.fill(0);
  for (const name of ['round-robin', 'weighted-round-robin', 'least-connections', 'p2c', 'consistent-hash'] as const) {
    assert.equal(createBalancer(name, ts, 'ip', up).pick(ctxOf({})), undefined, name);
  }
});

test('passive health: consecutive failures eject, a success resets the run, recovery after recoverAfterMs', async () => {
  const { HealthChecker } = await import('../../src/upstream/health.js');
  const hc = new HealthChecker([{ origin: 'x', basePath: '', pool: undefined as never }, { origin: 'y', basePath: '', pool: undefined as never }], {
    passive: { unhealthyThreshold: 3, recoverAfterMs: 150 },
  });
  try {
    hc.report(0, true);
    hc.report(0, true);
    hc.report(0, false); // success resets
    hc.report(0, true);
    hc.report(0, true);
    assert.equal(hc.up[0], 1);
    hc.report(0, true);
    assert.equal(hc.up[0], 0);
    assert.equal(hc.up[1], 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hc.up[0], 1);
  } finally {
    hc.stop();
  }
});
