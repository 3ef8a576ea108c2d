// The Balancer conformance suite against P2CBalancer (src/upstream/balancers/p2c.ts).
import { P2CBalancer } from '../../src/upstream/balancers/index.js';
import { balancerConformance } from '../helpers/balancer-conformance.js';

balancerConformance('p2c', (targets, up) => new P2CBalancer(targets, up));
