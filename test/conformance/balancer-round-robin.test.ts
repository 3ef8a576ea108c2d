// The Balancer conformance suite against RoundRobinBalancer (src/upstream/balancers/round-robin.ts).
import { RoundRobinBalancer } from '../../src/upstream/balancers/index.js';
import { balancerConformance } from '../helpers/balancer-conformance.js';

balancerConformance('round-robin', (targets, up) => new RoundRobinBalancer(targets, up));
