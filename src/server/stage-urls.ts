/**
 * Which stages a route table serves, and at which URL, for the start-up `listening` line: a user who
 * serves an AWS document learns from it that `basePath: /prod` put the API under /prod/, or that an
 * HTTP API's $default answers at /. Native routes (no stage) are left out.
 *
 * A stage's URL follows from how src/aws/translate.ts lays stages out: under `/{stage}/` unless the
 * stage owns host names (then at their root) or is an HTTP API's `$default` (at /).
 */
import type { RouteTable } from '../compile/types.js';

export interface StageUrl {
  api: string;
  stage: string;
  url: string;
}

export function stageUrls(table: Pick<RouteTable, 'routes'>, host: string, port: number): StageUrl[] {
  const shown = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const seen = new Map<string, StageUrl>();
  for (const r of table.routes) {
    if (r.stage === undefined || r.path === '$default') continue;
    const key = `${r.api}\0${r.stage}`;
    if (seen.has(key)) continue;
    const prefix = `/${r.stage}`;
    const underPrefix = r.path === prefix || r.path.startsWith(`${prefix}/`);
    const origin = `http://${r.hosts[0] ?? shown}:${port}`;
    seen.set(key, { api: r.api, stage: r.stage, url: `${origin}${underPrefix && r.hosts.length === 0 ? `${prefix}/` : '/'}` });
  }
  return [...seen.values()];
}
