import type { Balancer, BalancerTarget, UpMask } from './types.js';

/**
 * nginx's smooth weighted round-robin: every pick adds each target's weight to its current value,
 * takes the largest, and subtracts the total from it. Weights 5,1,1 give a,a,b,a,c,a,a (interleaved,
 * not bursts). Weight 0 targets never receive traffic.
 */
export class WeightedRoundRobinBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[];
  readonly #weights: Int32Array;
  readonly #current: Float64Array;
  readonly #up: UpMask;

  constructor(targets: readonly T[], up?: UpMask) {
    this.#up = up;
    this.#targets = targets;
    this.#weights = Int32Array.from(targets, (t) => t.weight);
    this.#current = new Float64Array(targets.length);
  }

  pick(): T | undefined {
    const w = this.#weights;
    const cur = this.#current;
    const up = this.#up;
    let best = -1;
    let total = 0;
    for (let i = 0; i < w.length; i++) {
      if ((w[i] as number) <= 0 || (up !== undefined && up[i] === 0)) continue;
      total += w[i] as number;
      cur[i] = (cur[i] as number) + (w[i] as number);
      if (best < 0 || (cur[i] as number) > (cur[best] as number)) best = i;
    }
    if (best < 0) return undefined;
    cur[best] = (cur[best] as number) - total;
    return this.#targets[best];
  }
}
