/**
 * The Balancer contract (src/upstream/balancers/types.ts) as one suite, run against every balancer:
 * traffic in proportion to weight, weight-0 targets never picked, targets the health mask ejects
 * never picked (and picked again once back), undefined when nothing can take traffic, and, through
 * the Upstream that owns the balancer, a retry never sent to a target already tried while another
 * can take it (Upstream.pickExcluding relies on the balancer for that).
 *
 *   balancerConformance('p2c', (targets, up) => new P2CBalancer(targets, up));
 *
 * Weights are checked as the proxy drives a balancer: onStart/onEnd around each exchange, with a
 * steady number of exchanges in flight (least-connections and p2c weigh in-flight counts, so with
 * nothing in flight they would rightly spread evenly). Consistent hashing sees a new key per pick.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Balancer, BalancerName, PickContext } from '../../src/upstream/balancers/index.js';
import { PoolRegistry, Upstream } from '../../src/upstream/upstream.js';

export interface ConformanceTarget {
  readonly key: string;
  readonly weight: number;
}

export type BalancerFactory = (targets: readonly ConformanceTarget[], up?: Uint8Array) => Balancer<ConformanceTarget>;

const targetsOf = (...weights: number[]): ConformanceTarget[] => weights.map((weight, i) => ({ key: `http://10.0.0.${i + 1}:80`, weight }));

/** A request context whose every hashable part (path, client ip, headers) differs per `i`. */
const ctxOf = (i: number): PickContext => ({
  path: `/items/${i}`,
  clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  upstreamHeaders: { get: (n: string) => (n === 'cookie' ? `session=s${i}` : `h${i}`) },
});

/** Picks `n` times with `inFlight` exchanges open at once (oldest ends first); returns picks per target. */
function drive(b: Balancer<ConformanceTarget>, targets: readonly ConformanceTarget[], n: number, inFlight = 8): number[] {
  const counts = new Map<ConformanceTarget, number>();
  const open: ConformanceTarget[] = [];
  for (let i = 0; i < n; i++) {
    const t = b.pick(ctxOf(i));
    assert.ok(t !== undefined, `pick ${i} found no target`);
    counts.set(t, (counts.get(t) ?? 0) + 1);
    b.onStart?.(t);
    open.push(t);
    if (open.length >= inFlight) b.onEnd?.(open.shift() as ConformanceTarget);
  }
  for (const t of open) b.onEnd?.(t);
  return targets.map((t) => counts.get(t) ?? 0);
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: share ${actual.toFixed(3)} not within ${tol} of ${expected}`);
}

export interface BalancerConformanceOptions {
  hashOn?: string;
  /** Known defects, reported as TODO (run, shown, not failing the suite) until fixed: say what and where. */
  todo?: { allWeightsZero?: string };
}

export function balancerConformance(name: BalancerName, make: BalancerFactory, opts: BalancerConformanceOptions = {}): void {
  describe(`Balancer conformance: ${name}`, () => {
    test('no targets: pick gives undefined, never throws', () => {
      assert.equal(make([]).pick(undefined), undefined);
      assert.equal(make([]).pick(ctxOf(1)), undefined);
    });

    test('traffic follows the weights (1:3, and 2:1:1)', () => {
      const n = 8_000;
      const two = targetsOf(1, 3);
      const [a, b] = drive(make(two), two, n).map((c) => c / n);
      near(a as number, 0.25, 0.06, 'weight 1 of 4');
      near(b as number, 0.75, 0.06, 'weight 3 of 4');
      const three = targetsOf(2, 1, 1);
      const shares = drive(make(three), three, n).map((c) => c / n);
      near(shares[0] as number, 0.5, 0.06, 'weight 2 of 4');
      near(shares[1] as number, 0.25, 0.06, 'weight 1 of 4');
      near(shares[2] as number, 0.25, 0.06, 'weight 1 of 4');
    });

    test('a weight-0 target never receives traffic', () => {
      const ts = targetsOf(0, 1, 1);
      const counts = drive(make(ts), ts, 2_000);
      assert.equal(counts[0], 0);
      assert.equal((counts[1] as number) + (counts[2] as number), 2_000);
    });

    test('health mask: an ejected target gets nothing and comes back when restored; all ejected -> undefined', () => {
      const ts = targetsOf(1, 1, 1);
      const up = new Uint8Array([1, 0, 1]);
      const b = make(ts, up);
      const down = drive(b, ts, 3_000);
      assert.equal(down[1], 0, 'the ejected target was picked');
      assert.ok((down[0] as number) > 0 && (down[2] as number) > 0);
      up[1] = 1; // the mask is shared with the health checker, which flips it in place
      const back = drive(b, ts, 3_000);
      assert.ok((back[1] as number) > 0, 'the restored target never came back');
      up.fill(0);
      for (let i = 0; i < 50; i++) assert.equal(b.pick(ctxOf(i)), undefined);
    });

    test('onStart/onEnd, when defined, accept unknown targets and never drive counts below zero', () => {
      const ts = targetsOf(1, 1);
      const b = make(ts);
      const stranger = { key: 'http://192.0.2.1:80', weight: 1 };
      b.onStart?.(stranger);
      b.onEnd?.(stranger);
      for (let i = 0; i < 5; i++) b.onEnd?.(ts[0] as ConformanceTarget);
      // Counts at zero, not negative: both targets still share the traffic.
      const counts = drive(b, ts, 1_000);
      assert.ok((counts[0] as number) > 0 && (counts[1] as number) > 0);
    });

    test('through its Upstream: a retry goes to a target not yet tried while one is left; all tried -> still a target', () => {
      const pools = new PoolRegistry();
      const targets = [{ url: 'http://127.0.0.1:9001' }, { url: 'http://127.0.0.1:9002' }, { url: 'http://127.0.0.1:9003', weight: 0 }, { url: 'http://127.0.0.1:9004' }];
      const u = new Upstream('conformance', { targets, balancer: name, ...(opts.hashOn !== undefined ? { hashOn: opts.hashOn } : {}) }, pools, '/');
      for (let i = 0; i < 30; i++) {
        const ctx = ctxOf(i);
        const first = u.pickExcluding(ctx, []);
        assert.ok(first !== undefined);
        assert.notEqual(first.index, 2, 'weight 0 picked');
        const second = u.pickExcluding(ctx, [first.index]);
        assert.ok(second !== undefined && second.index !== first.index && second.index !== 2, `retry ${i} went back to target ${second?.index}`);
        const third = u.pickExcluding(ctx, [first.index, second.index]);
        assert.ok(third !== undefined && ![first.index, second.index, 2].includes(third.index), `second retry ${i} went to target ${third?.index}`);
        assert.ok(u.pickExcluding(ctx, [0, 1, 3]) !== undefined, 'every target tried: any target rather than none');
      }
    });

    // Upstream.pick's contract: undefined when no target can take traffic, every weight 0 included.
    test('every weight 0: the Upstream has no target to give', opts.todo?.allWeightsZero !== undefined ? { todo: opts.todo.allWeightsZero } : {}, () => {
      const zero = new Upstream('zero', { targets: [{ url: 'http://127.0.0.1:9001', weight: 0 }, { url: 'http://127.0.0.1:9002', weight: 0 }], balancer: name, ...(opts.hashOn !== undefined ? { hashOn: opts.hashOn } : {}) }, new PoolRegistry(), '/');
      assert.equal(zero.pick(ctxOf(1)), undefined);
      assert.equal(zero.pickExcluding(ctxOf(1), []), undefined);
    });
  });
}
