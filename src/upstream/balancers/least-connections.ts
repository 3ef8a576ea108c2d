import type { Balancer, BalancerTarget, UpMask } from './types.js';

/**
 * Fewest requests in flight, scaled by weight (inflight / weight); ties go round-robin so idle
 * targets share the load. In-flight counts come from onStart/onEnd, called by the proxy.
 */
export class LeastConnectionsBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[];
  readonly #index = new Map<T, number>();
  readonly inflight: Int32Array;
  readonly #up: UpMask;
  #next = 0;

  constructor(targets: readonly T[], up?: UpMask) {
    this.#up = up;
    this.#targets = targets;
    for (const [i, t] of targets.entries()) this.#index.set(t, i);
    this.inflight = new Int32Array(targets.length);
  }

  pick(): T | undefined {
    const n = this.#targets.length;
    let best = -1;
    let bestLoad = Infinity;
    const start = this.#next;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const w = (this.#targets[i] as T).weight;
      if (w <= 0 || (this.#up !== undefined && this.#up[i] === 0)) continue;
      const load = (this.inflight[i] as number) / w;
      if (load < bestLoad) {
        bestLoad = load;
        best = i;
      }
    }
    if (best < 0) return undefined;
    this.#next = start + 1 === n ? 0 : start + 1;
    return this.#targets[best];
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
