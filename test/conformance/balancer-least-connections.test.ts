// The Balancer conformance suite against LeastConnectionsBalancer (src/upstream/balancers/least-connections.ts).
import { LeastConnectionsBalancer } from '../../src/upstream/balancers/index.js';
import { balancerConformance } from '../helpers/balancer-conformance.js';

balancerConformance('least-connections', (targets, up) => new LeastConnectionsBalancer(targets, up));
