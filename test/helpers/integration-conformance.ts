/**
 * The integration seam's contract (src/integrations/types.ts) as one suite, run against every entry
 * of the registry (src/integrations/registry.ts; test/conformance/integration-registry.test.ts
 * checks that each entry has its file): a route whose integration is the type's minimal config
 * compiles, answers through inject(), and describes itself; close() may run any number of times; a
 * config the type refuses is reported at its key path; a config of another shape than the schema
 * never gets as far as create().
 *
 *   integrationConformance(httpIntegration, async () => { const up = await startUpstream(); return { minimal: { type: 'http', url: up.url }, ... } });
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import type { IntegrationDefinition } from '../../src/integrations/types.js';

export interface IntegrationFixture {
  /** Top-level config the integration needs beside the route (e.g. `functions:`), as YAML. */
  preamble?: string;
  /** The smallest integration config the schema accepts (with its `type`). */
  minimal: Record<string, unknown>;
  /** What a GET through that route answers. */
  expect: { status: number; body?: (text: string) => void };
  /** Configs the type refuses, each with the key path (under the route's `integration`) the error names. */
  bad: { config: Record<string, unknown>; keyPath: string }[];
  close?: () => Promise<void>;
}

const routeConfig = (preamble: string | undefined, integration: Record<string, unknown>) =>
  `${preamble ?? ''}
apis:
  - name: conformance
    routes:
      - path: /probe
        integration: ${JSON.stringify(integration)}
`;

export function integrationConformance(definition: IntegrationDefinition<never>, setup: () => Promise<IntegrationFixture>): void {
  describe(`Integration conformance: ${definition.type}`, () => {
    let fx: IntegrationFixture;
    const open: EmbeddedGateway[] = [];
    before(async () => {
      fx = await setup();
    });
    after(async () => {
      await Promise.all(open.map((g) => g.close()));
      await fx?.close?.();
    });

    test('the definition names its type, says what it does, and its schema pins `type`', () => {
      assert.match(definition.type, /^[a-z][a-z0-9_-]*$/);
      assert.ok(definition.description.length > 10);
      const typeSchema = (definition.configSchema.properties as Record<string, { const?: unknown }>).type;
      assert.equal(typeSchema?.const, definition.type, 'configSchema.properties.type is Type.Literal(type)');
      assert.equal(fx.minimal.type, definition.type);
    });

    test('created from its minimal config: a request through inject() gets its answer; the route describes it', async () => {
      const gw = await createGateway({ source: { text: routeConfig(fx.preamble, fx.minimal), file: `${definition.type}.yaml` } });
      open.push(gw);
      const res = await gw.inject({ url: '/probe' });
      assert.equal(res.status, fx.expect.status, res.text());
      fx.expect.body?.(res.text());
      assert.ok(res.headers['x-request-id'], 'the pipeline ran around the integration (request id on the answer)');
      const route = gw.table.routes.find((r) => r.path === '/probe');
      assert.equal(route?.integration.type, definition.type);
      assert.equal(typeof route?.integration.describe().type, 'string');
    });

    test('close() is idempotent: the integration closed twice, then its gateway closed (which closes it again)', async () => {
      const gw = await createGateway({ source: { text: routeConfig(fx.preamble, fx.minimal) } });
      assert.equal((await gw.inject({ url: '/probe' })).status, fx.expect.status);
      const integration = gw.table.routes.find((r) => r.path === '/probe')?.integration;
      assert.ok(integration !== undefined);
      integration.close?.();
      integration.close?.();
      await gw.close();
    });

    test('a config the type refuses is rejected at its key path, naming the file and line', async () => {
      assert.ok(fx.bad.length > 0, 'the fixture lists at least one bad config');
      for (const { config, keyPath } of fx.bad) {
        const escaped = keyPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        await assert.rejects(
          createGateway({ source: { text: routeConfig(fx.preamble, config), file: 'bad.yaml' } }),
          new RegExp(`bad\\.yaml:\\d+.*apis\\[0\\]\\.routes\\[0\\]\\.integration${escaped}`, 's'),
          JSON.stringify(config),
        );
      }
    });

    test('a property the schema does not know is refused, not ignored', async () => {
      await assert.rejects(
        createGateway({ source: { text: routeConfig(fx.preamble, { ...fx.minimal, notAnOption: 1 }), file: 'bad.yaml' } }),
        /bad\.yaml:\d+.*apis\[0\]\.routes\[0\]\.integration/s,
      );
    });
  });
}
