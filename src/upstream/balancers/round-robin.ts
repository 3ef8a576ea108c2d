import type { Balancer, BalancerTarget } from './types.js';

/** Round-robin over a ring expanded by weight: picking is one array index (weights are small integers). */
export class RoundRobinBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #ring: readonly T[];
  #next = 0;

  constructor(targets: readonly T[]) {
    const ring: T[] = [];
    for (const t of targets) for (let i = 0; i < t.weight; i++) ring.push(t);
    this.#ring = ring.length > 0 ? ring : targets;
  }

  pick(): T | undefined {
    const ring = this.#ring;
    if (ring.length === 0) return undefined;
    const t = ring[this.#next] as T;
    this.#next = this.#next + 1 === ring.length ? 0 : this.#next + 1;
    return t;
  }
}
