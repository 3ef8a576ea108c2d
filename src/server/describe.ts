import type { RouteTable } from '../compile/types.js';

/** The live route table as plain data: admin /routes and `turnpike routes`. */
export function describeTable(table: RouteTable) {
  return {
    version: table.version,
    source: table.source,
    routes: table.routes.map((r) => ({
      id: r.id,
      api: r.api,
      name: r.name,
      methods: r.methods,
      path: r.path,
      hosts: r.hosts,
      websocket: r.websocket,
      plugins: r.pluginOrder,
      integration: r.integration.describe(),
    })),
  };
}
