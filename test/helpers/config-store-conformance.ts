/**
 * The ConfigStore contract (src/cluster/entities.ts) as one suite, to run against every writable
 * implementation: the in-memory test double here, PostgresConfigStore in cluster mode. The Admin API
 * relies on exactly these behaviours, so a store that passes serves the API as the double does.
 *
 *   configStoreConformance('postgres', async (initial) => { const s = ...; await s.replaceAll(initial); return { store: s, close } });
 *
 * `make` must return a store holding `initial` (a raw config document) and validating writes with the
 * real check (parse, schema, compile), so invalid writes fail with ConfigError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assembleConfig, type ConfigStore, currentETag, EntityConflictError, entityETag, PreconditionFailedError, splitConfig } from '../../src/cluster/entities.js';
import { ConfigError } from '../../src/config/diagnostics.js';

export type StoreFactory = (initial: Record<string, unknown>) => Promise<{ store: ConfigStore; close?: () => Promise<void> }>;

export function conformanceConfig(): Record<string, unknown> {
  return {
    server: { logLevel: 'warn' },
    upstreams: { users: { targets: [{ url: 'http://127.0.0.1:9' }] }, orders: { targets: [{ url: 'http://127.0.0.1:10' }] } },
    apis: [
      {
        name: 'shop',
        routes: [
          { name: 'users', path: '/users/{id}', integration: { type: 'http', upstream: 'users' } },
          { methods: ['GET', 'POST'], path: '/orders', integration: { type: 'http', upstream: 'orders' } },
          { name: 'ping', path: '/ping', integration: { type: 'mock' } },
        ],
      },
      { name: 'blog', routes: [{ name: 'posts', path: '/posts', integration: { type: 'mock' } }] },
    ],
  };
}

export function configStoreConformance(label: string, make: StoreFactory): void {
  const withStore = (name: string, fn: (store: ConfigStore) => Promise<void>) =>
    test(name, async () => {
      const { store, close } = await make(conformanceConfig());
      try {
        await fn(store);
      } finally {
        await close?.();
      }
    });

  describe(`ConfigStore conformance: ${label}`, () => {
    withStore('the snapshot is the document it holds; lists are in document order; routes belong to their API', async (store) => {
      const snap = await store.snapshot();
      assert.deepEqual(snap.document, assembleConfig(splitConfig(conformanceConfig())));
      assert.equal(snap.version, await store.version());
      assert.deepEqual(
        (await store.list('apis')).map((r) => r.key),
        ['shop', 'blog'],
      );
      assert.deepEqual(
        (await store.list('routes', 'shop')).map((r) => r.key),
        ['users', 'GET,POST /orders', 'ping'],
      );
      assert.equal((await store.get('routes', 'GET,POST /orders', 'shop'))?.body.path, '/orders');
      assert.equal(await store.get('routes', 'posts', 'shop'), undefined);
      assert.equal((await store.get('routes', 'posts', 'blog'))?.key, 'posts');
      assert.deepEqual((await store.get('settings', 'server'))?.body, { logLevel: 'warn' });
    });

    withStore('put creates (created, new version) and replaces in place (position kept)', async (store) => {
      const v0 = await store.version();
      const created = await store.put('routes', 'health', { name: 'health', path: '/health', integration: { type: 'mock' } }, { parent: 'shop' });
      assert.equal(created.created, true);
      assert.notEqual(created.version, v0);
      assert.equal(created.version, await store.version());
      const replaced = await store.put('routes', 'users', { name: 'users', path: '/people/{id}', integration: { type: 'http', upstream: 'users' } }, { parent: 'shop' });
      assert.equal(replaced.created, false);
      assert.notEqual(replaced.version, created.version);
      assert.deepEqual(
        (await store.list('routes', 'shop')).map((r) => r.key),
        ['users', 'GET,POST /orders', 'ping', 'health'],
      );
      const api = ((await store.snapshot()).document.apis as { name: string; routes: { path: string }[] }[])[0];
      assert.equal(api?.routes[0]?.path, '/people/{id}');
    });

    withStore('createOnly on an existing entity: EntityConflictError, nothing changed', async (store) => {
      const v0 = await store.version();
      await assert.rejects(store.put('upstreams', 'users', { targets: [{ url: 'http://127.0.0.1:11' }] }, { createOnly: true }), EntityConflictError);
      assert.equal(await store.version(), v0);
      assert.deepEqual((await store.get('upstreams', 'users'))?.body, { targets: [{ url: 'http://127.0.0.1:9' }] });
    });

    withStore('an invalid change throws ConfigError with the key path in the whole document; nothing is committed', async (store) => {
      const v0 = await store.version();
      await assert.rejects(store.put('upstreams', 'bad', { targets: [{ url: 'ftp://x' }] }), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.ok(e.diagnostics.some((d) => d.path === 'upstreams.bad.targets[0].url'), e.message);
        return true;
      });
      await assert.rejects(store.put('routes', 'ghost', { name: 'ghost', path: '/ghost', integration: { type: 'http', upstream: 'nowhere' } }, { parent: 'shop' }), ConfigError);
      assert.equal(await store.version(), v0);
      assert.equal(await store.get('upstreams', 'bad'), undefined);
      assert.equal(await store.get('routes', 'ghost', 'shop'), undefined);
    });

    withStore('delete: an API with its routes; a referenced upstream is refused; an absent entity is undefined', async (store) => {
      const v0 = await store.version();
      await assert.rejects(store.delete('upstreams', 'users'), ConfigError);
      assert.equal(await store.version(), v0);
      assert.equal(await store.delete('upstreams', 'nope'), undefined);
      const d = await store.delete('apis', 'blog');
      assert.ok(d);
      assert.notEqual(d.version, v0);
      assert.equal(await store.get('apis', 'blog'), undefined);
      assert.deepEqual(await store.list('routes', 'blog'), []);
    });

    withStore('an API with no routes yet is valid, and so is deleting the last route', async (store) => {
      await store.put('apis', 'empty', { name: 'empty', basePath: '/e' });
      await store.put('routes', 'one', { name: 'one', path: '/one', integration: { type: 'mock' } }, { parent: 'empty' });
      assert.ok(await store.delete('routes', 'one', 'empty'));
      assert.deepEqual(await store.list('routes', 'empty'), []);
    });

    withStore('preconditions (If-Match / If-None-Match) are checked with the write: a failed one changes nothing', async (store) => {
      const before = await store.get('upstreams', 'users');
      assert.ok(before);
      const tag = entityETag(before);
      const v0 = await store.version();
      const stale = '"stale-tag-000000000000"';
      const failed = (reason: string, current: string | undefined) => (e: unknown) =>
        e instanceof PreconditionFailedError && e.reason === reason && e.currentETag === current;
      await assert.rejects(store.put('upstreams', 'users', { targets: [{ url: 'http://127.0.0.1:11' }] }, { ifMatch: [stale] }), failed('changed', tag));
      const ordersTag = currentETag('upstreams', await store.get('upstreams', 'orders'));
      await assert.rejects(store.delete('upstreams', 'orders', undefined, { ifMatch: [tag] }), failed('changed', ordersTag));
      await assert.rejects(store.put('upstreams', 'users', { targets: [{ url: 'http://127.0.0.1:11' }] }, { ifNoneMatch: '*' }), failed('exists', tag));
      await assert.rejects(store.put('upstreams', 'ghost', { targets: [{ url: 'http://127.0.0.1:11' }] }, { ifMatch: '*' }), failed('missing', undefined));
      await assert.rejects(store.delete('upstreams', 'ghost', undefined, { ifMatch: '*' }), failed('missing', undefined));
      await assert.rejects(store.delete('routes', 'ping', 'shop', { ifMatch: [stale] }), PreconditionFailedError);
      assert.deepEqual(await store.get('upstreams', 'users'), before);
      assert.equal(await store.get('upstreams', 'ghost'), undefined);
      assert.equal(await store.version(), v0);

      const ok = await store.put('upstreams', 'users', { targets: [{ url: 'http://127.0.0.1:11' }] }, { ifMatch: ['"x"', tag] });
      assert.notEqual(entityETag(ok.record), tag);
      assert.equal(currentETag('upstreams', await store.get('upstreams', 'users')), entityETag(ok.record), 'the tag of the written record is the tag a read gives');
      const created = await store.put('upstreams', 'fresh', { targets: [{ url: 'http://127.0.0.1:12' }] }, { ifNoneMatch: '*' });
      assert.equal(created.created, true);
      assert.ok(await store.delete('upstreams', 'fresh', undefined, { ifMatch: [entityETag(created.record)] }));
      // Settings always exist: unset ones have the tag of {}.
      assert.equal(currentETag('settings', undefined), entityETag({ kind: 'settings', parent: '', key: 'server', body: {} }));
    });

    withStore('concurrent conditional writes with the same If-Match: exactly one lands', async (store) => {
      const tag = currentETag('upstreams', await store.get('upstreams', 'users')) as string;
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => store.put('upstreams', 'users', { targets: [{ url: `http://127.0.0.1:${30 + i}` }] }, { ifMatch: [tag] })),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));
      const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<ConfigStore['put']>>>).value;
      assert.deepEqual((await store.get('upstreams', 'users'))?.body, winner.record.body);
    });

    withStore('concurrent writes of distinct entities all land, each with its own version', async (store) => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.put('upstreams', `u${i}`, { targets: [{ url: `http://127.0.0.1:${20 + i}` }] })),
      );
      assert.equal(new Set(results.map((r) => r.version)).size, 8);
      assert.equal((await store.list('upstreams')).length, 10);
    });
  });
}
