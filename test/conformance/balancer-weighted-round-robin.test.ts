// The Balancer conformance suite against WeightedRoundRobinBalancer (src/upstream/balancers/weighted-round-robin.ts).
import { WeightedRoundRobinBalancer } from '../../src/upstream/balancers/index.js';
import { balancerConformance } from '../helpers/balancer-conformance.js';

balancerConformance('weighted-round-robin', (targets, up) => new WeightedRoundRobinBalancer(targets, up));
