/**
 * One load-balancing algorithm over an Upstream's targets. `pick` must not allocate on the hot path.
 * `onStart`/`onEnd` are called by the proxy around each upstream exchange, only when the balancer
 * defines them (least-connections, p2c), so round-robin pays nothing for them.
 */
export interface BalancerTarget {
  readonly weight: number;
}

/** What a balancer may read from the request (RequestContext satisfies it structurally). */
export interface PickContext {
  readonly path: string;
  readonly clientIp: string;
  /** The request headers as forwarded upstream (hop-by-hop removed), before the route's header ops. */
  readonly upstreamHeaders: { get(name: string): string | undefined };
}

/**
 * Health by target position (1 = may take traffic, 0 = ejected), shared with the Upstream's health
 * checker. Undefined when no health checks are configured: the balancers then take the fast path.
 */
export type UpMask = Uint8Array | undefined;

export interface Balancer<T extends BalancerTarget = BalancerTarget> {
  pick(ctx: PickContext | undefined): T | undefined;
  onStart?(t: T): void;
  onEnd?(t: T): void;
}
