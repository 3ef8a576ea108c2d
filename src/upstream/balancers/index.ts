import { ConsistentHashBalancer, parseHashOn } from './consistent-hash.js';
import { LeastConnectionsBalancer } from './least-connections.js';
import { P2CBalancer } from './p2c.js';
import { RoundRobinBalancer } from './round-robin.js';
import type { Balancer, BalancerTarget, UpMask } from './types.js';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.js';

export type { Balancer, BalancerTarget, PickContext, UpMask } from './types.js';
export { ConsistentHashBalancer, parseHashOn, hash32 } from './consistent-hash.js';
export { LeastConnectionsBalancer } from './least-connections.js';
export { P2CBalancer } from './p2c.js';
export { RoundRobinBalancer } from './round-robin.js';
export { WeightedRoundRobinBalancer } from './weighted-round-robin.js';

export type BalancerName = 'round-robin' | 'weighted-round-robin' | 'least-connections' | 'p2c' | 'consistent-hash';

export function createBalancer<T extends BalancerTarget & { readonly key: string }>(name: BalancerName | undefined, targets: readonly T[], hashOn?: string, up?: UpMask): Balancer<T> {
  switch (name ?? 'round-robin') {
    case 'round-robin':
      return new RoundRobinBalancer(targets, up);
    case 'weighted-round-robin':
      return new WeightedRoundRobinBalancer(targets, up);
    case 'least-connections':
      return new LeastConnectionsBalancer(targets, up);
    case 'p2c':
      return new P2CBalancer(targets, up);
    case 'consistent-hash': {
      const on = parseHashOn(hashOn ?? 'ip');
      if (on === undefined) throw new Error(`hashOn must be header:NAME, cookie:NAME, ip or path (got ${JSON.stringify(hashOn)})`);
      return new ConsistentHashBalancer(targets, on, up);
    }
  }
}
