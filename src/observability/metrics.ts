/**
 * Request metrics. The per-request counters are plain numbers on a per-route object, exported in
 * prom-client's metric shape at scrape time. Why not prom-client children: their inc()/observe()
 * hash and validate the label object on every call (lib/histogram.js observe -> hashObject), which is
 * several µs per request on the hot path; here a request costs a Map update and two array increments.
 * Route stats live in a registry keyed by route id so counters stay monotonic across reloads.
 */
import client from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'OTHER'] as const;
const METHOD_INDEX: Record<string, number> = { GET: 0, POST: 1, PUT: 2, DELETE: 3, PATCH: 4, HEAD: 5, OPTIONS: 6 };

class Histogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    (this.counts as Float64Array)[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

export class RouteStats {
  readonly api: string;
  readonly route: string;
  /** key = methodIndex * 1000 + status */
  readonly responses = new Map<number, number>();
  readonly latency = new Histogram();
  readonly upstreamLatency = new Histogram();
  bytesIn = 0;
  bytesOut = 0;

  constructor(api: string, route: string) {
    this.api = api;
    this.route = route;
  }

  record(method: string, status: number, seconds: number, upstreamSeconds: number, bytesIn: number, bytesOut: number): void {
    const key = (METHOD_INDEX[method] ?? 7) * 1000 + status;
    this.responses.set(key, (this.responses.get(key) ?? 0) + 1);
    this.latency.observe(seconds);
    if (upstreamSeconds >= 0) this.upstreamLatency.observe(upstreamSeconds);
    this.bytesIn += bytesIn;
    this.bytesOut += bytesOut;
  }
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/** A metric object in prom-client's registry shape, so AggregatorRegistry can sum it across workers. */
class SnapshotMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram' | 'gauge',
    private readonly read: () => MetricValue[],
  ) {}
  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: this.aggregator };
  }
  reset(): void {}
}

function histogramValues(name: string, all: Iterable<RouteStats>, pick: (s: RouteStats) => Histogram): MetricValue[] {
  const out: MetricValue[] = [];
  for (const s of all) {
    const h = pick(s);
    if (h.count === 0) continue;
    const labels = { api: s.api, route: s.route };
    let acc = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      acc += h.counts[i] as number;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: LATENCY_BUCKETS[i] as number }, value: acc });
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
    out.push({ metricName: `${name}_sum`, labels, value: h.sum });
    out.push({ metricName: `${name}_count`, labels, value: h.count });
  }
  return out;
}

export class GatewayMetrics {
  readonly registry: client.Registry;
  readonly #stats = new Map<string, RouteStats>();
  /** Requests accepted that never matched a route (404/400/431...), kept under a pseudo route. */
  readonly unrouted: RouteStats;
  inflight = 0;
  readonly reloads: client.Counter<'result'>;
  readonly configVersion: client.Gauge<'version'>;
  readonly logHookErrors: client.Counter<'plugin'>;
  /** Connections closed at accept by an overload bound: key `listener\0reason` (src/server/overload.ts). */
  readonly connectionsRefused = new Map<string, number>();
  /** Requests answered early by an overload bound, by reason (event_loop_lag, client_requests). */
  readonly requestsShed = new Map<string, number>();
  /** HTTP/2 connections ended by a stream bound, by reason (streams, resets, idle). */
  readonly http2Goaways = new Map<string, number>();
  /** The event-loop lag seen at the last sample (ms), for the gauge. */
  eventLoopLagMs = 0;

  constructor() {
    this.registry = new client.Registry();
    this.unrouted = this.statsFor('', '(unmatched)');
    const stats = this.#stats;
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_requests_total', 'Requests answered, by api, route, method and status.', 'counter', () => {
        const out: MetricValue[] = [];
        for (const s of stats.values()) {
          for (const [key, value] of s.responses) {
            out.push({ labels: { api: s.api, route: s.route, method: METHODS[Math.floor(key / 1000)] ?? 'OTHER', status: key % 1000 }, value });
          }
        }
        return out;
      }) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_request_duration_seconds', 'Time from accepting a request to the end of its response.', 'histogram', () =>
        histogramValues('turnpike_request_duration_seconds', stats.values(), (s) => s.latency),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_upstream_duration_seconds', 'Time from sending a request upstream to its response headers.', 'histogram', () =>
        histogramValues('turnpike_upstream_duration_seconds', stats.values(), (s) => s.upstreamLatency),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_request_bytes_total', 'Request body bytes received.', 'counter', () =>
        [...stats.values()].filter((s) => s.bytesIn > 0).map((s) => ({ labels: { api: s.api, route: s.route }, value: s.bytesIn })),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_response_bytes_total', 'Response body bytes sent.', 'counter', () =>
        [...stats.values()].filter((s) => s.bytesOut > 0).map((s) => ({ labels: { api: s.api, route: s.route }, value: s.bytesOut })),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric('turnpike_requests_in_flight', 'Requests being processed.', 'gauge', () => [
        { labels: {}, value: this.inflight },
      ]) as unknown as client.Metric,
    );
    const labelled = (m: Map<string, number>, names: readonly string[]) => () =>
      [...m].map(([key, value]) => ({ labels: Object.fromEntries(key.split('\u0000').map((v, i) => [names[i] as string, v])), value }));
    this.registry.registerMetric(
      new SnapshotMetric(
        'turnpike_connections_refused_total',
        'Client connections closed at accept by an overload bound, by listener (http, https) and reason (listener: maxConnections, client: maxConnectionsPerClient).',
        'counter',
        labelled(this.connectionsRefused, ['listener', 'reason']),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric(
        'turnpike_requests_shed_total',
        'Requests answered early by an overload bound, by reason (event_loop_lag: 503 OVERLOADED, client_requests: 429 CLIENT_REQUEST_LIMIT).',
        'counter',
        labelled(this.requestsShed, ['reason']),
      ) as unknown as client.Metric,
    );
    this.registry.registerMetric(
      new SnapshotMetric(
        'turnpike_http2_goaway_total',
        'HTTP/2 connections the gateway ended with GOAWAY, by reason (streams: http2MaxStreamsPerConnection, resets: http2MaxResetsPer10s, idle: keepAliveTimeoutMs).',
        'counter',
        labelled(this.http2Goaways, ['reason']),
      ) as unknown as client.Metric,
    );
    const self = this;
    new client.Gauge({
      name: 'turnpike_event_loop_lag_seconds',
      help: 'Event-loop lag at the last sample (every 100 ms): how late a timer ran; the overload shedder compares it to shedEventLoopLagMs.',
      registers: [this.registry],
      aggregator: 'max',
      collect() {
        this.set(self.eventLoopLagMs / 1000);
      },
    });
    this.reloads = new client.Counter({
      name: 'turnpike_config_reloads_total',
      help: 'Config loads by result: success, failure, or unchanged (a reload whose inputs were all as served: nothing compiled).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.configVersion = new client.Gauge({
      name: 'turnpike_config_info',
      help: 'The config version being served (value 1).',
      labelNames: ['version'],
      registers: [this.registry],
      aggregator: 'max',
    });
    this.logHookErrors = new client.Counter({
      name: 'turnpike_log_hook_errors_total',
      help: 'Errors thrown by log-phase plugin hooks.',
      labelNames: ['plugin'],
      registers: [this.registry],
    });
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
    this.reloads.inc({ result: 'unchanged' }, 0);
    // Node's defaults, named turnpike_process_* and turnpike_nodejs_* (the prefix is prepended to theirs).
    client.collectDefaultMetrics({ register: this.registry, prefix: 'turnpike_' });
  }

  statsFor(api: string, route: string): RouteStats {
    const key = `${api}\u0000${route}`;
    let s = this.#stats.get(key);
    if (s === undefined) {
      s = new RouteStats(api, route);
      this.#stats.set(key, s);
    }
    return s;
  }

  setConfigVersion(version: string): void {
    this.configVersion.reset();
    this.configVersion.set({ version }, 1);
  }
}
