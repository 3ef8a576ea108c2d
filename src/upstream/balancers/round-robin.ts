import type { Balancer, BalancerTarget, UpMask } from './types.js';

/** Round-robin over a ring expanded by weight: picking is one array index (weights are small integers). */
export class RoundRobinBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #ring: readonly T[];
  readonly #ringIndex: Int32Array;
  readonly #up: UpMask;
  #next = 0;

  constructor(targets: readonly T[], up?: UpMask) {
    const ring: T[] = [];
    const idx: number[] = [];
    targets.forEach((t, ti) => {
      for (let i = 0; i < t.weight; i++) {
        ring.push(t);
        idx.push(ti);
      }
    });
    // Every weight 0 (all targets drained): an empty ring, so pick() gives none, as the other balancers.
    this.#ring = ring;
    this.#ringIndex = Int32Array.from(idx);
    this.#up = up;
  }

  pick(): T | undefined {
    const ring = this.#ring;
    if (ring.length === 0) return undefined;
    const up = this.#up;
    if (up === undefined) {
      const t = ring[this.#next] as T;
      this.#next = this.#next + 1 === ring.length ? 0 : this.#next + 1;
      return t;
    }
    for (let k = 0; k < ring.length; k++) {
      const i = this.#next;
      this.#next = i + 1 === ring.length ? 0 : i + 1;
      if (up[this.#ringIndex[i] as number] === 1) return ring[i];
    }
    return undefined;
  }
}
