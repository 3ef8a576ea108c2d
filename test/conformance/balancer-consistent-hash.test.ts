// The Balancer conformance suite against ConsistentHashBalancer (src/upstream/balancers/consistent-hash.ts),
// once per key source: each pick of the suite carries a new path, client ip, header and cookie.
import { ConsistentHashBalancer, parseHashOn } from '../../src/upstream/balancers/index.js';
import { balancerConformance } from '../helpers/balancer-conformance.js';

for (const hashOn of ['ip', 'path', 'header:x-user', 'cookie:session']) {
  const on = parseHashOn(hashOn);
  if (on === undefined) throw new Error(`bad hashOn ${hashOn}`);
  balancerConformance('consistent-hash', (targets, up) => new ConsistentHashBalancer(targets, on, up), { hashOn });
}
