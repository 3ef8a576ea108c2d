import type { Balancer, BalancerTarget, UpMask } from './types.js';

/**
 * Power of two random choices: two distinct targets drawn at random (weight-proportionally), the one
 * with fewer requests in flight (per unit of weight) wins. Counts come from onStart/onEnd.
 */
export class P2CBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[];
  readonly #index = new Map<T, number>();
  readonly #cumulative: Float64Array;
  readonly #total: number;
  readonly inflight: Int32Array;
  readonly #random: () => number;
  readonly #up: UpMask;

  constructor(targets: readonly T[], up?: UpMask, random: () => number = Math.random) {
    this.#up = up;
    this.#targets = targets;
    for (const [i, t] of targets.entries()) this.#index.set(t, i);
    this.inflight = new Int32Array(targets.length);
    this.#cumulative = new Float64Array(targets.length);
    let total = 0;
    targets.forEach((t, i) => {
      total += Math.max(0, t.weight);
      this.#cumulative[i] = total;
    });
    this.#total = total;
    this.#random = random;
  }

  #draw(): number {
    const r = this.#random() * this.#total;
    const c = this.#cumulative;
    for (let i = 0; i < c.length; i++) if (r < (c[i] as number)) return i;
    return c.length - 1;
  }

  pick(): T | undefined {
    if (this.#total <= 0) return undefined;
    const a = this.#draw();
    let b = this.#draw();
    // A second distinct choice when there is one (bounded retries keep pick O(1) in practice).
    for (let k = 0; k < 4 && b === a; k++) b = this.#draw();
    if (b === a && this.#targets.length > 1) b = a + 1 === this.#targets.length ? 0 : a + 1;
    const up = this.#up;
    if (up !== undefined && (up[a] === 0 || up[b] === 0)) return this.#leastAmongUp(up);
    const ta = this.#targets[a] as T;
    const tb = this.#targets[b] as T;
    const la = (this.inflight[a] as number) / ta.weight;
    const lb = (this.inflight[b] as number) / tb.weight;
    return lb < la ? tb : ta;
  }

  /** Some drawn target is ejected: the least-loaded healthy one (rare path). */
  #leastAmongUp(up: Uint8Array): T | undefined {
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < this.#targets.length; i++) {
      const w = (this.#targets[i] as T).weight;
      if (up[i] === 0 || w <= 0) continue;
      const load = (this.inflight[i] as number) / w;
      if (load < bestLoad) {
        bestLoad = load;
        best = i;
      }
    }
    return best < 0 ? undefined : this.#targets[best];
  }

  onStart(t: T): void {
    const i = this.#index.get(t);
    if (i !== undefined) this.inflight[i] = (this.inflight[i] as number) + 1;
  }

  onEnd(t: T): void {
    const i = this.#index.get(t);
    if (i !== undefined && (this.inflight[i] as number) > 0) this.inflight[i] = (this.inflight[i] as number) - 1;
  }
}
