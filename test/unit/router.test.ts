import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Match, type RouteDefinition, Router, RouterBuildError } from '../../src/routing/router.js';

type Hdrs = Readonly<Record<string, string | string[] | undefined>>;
const NO_HEADERS: Hdrs = {};

function r(methods: string[], path: string, value: string, extra: Partial<RouteDefinition<string>> = {}): RouteDefinition<string> {
  return { methods, path, value, ...extra };
}

function get(
  router: Router<string>,
  method: string,
  path: string,
  opts: { host?: string; headers?: Hdrs; query?: string } = {},
): Match<string> {
  return router.lookup(method, opts.host, path, opts.headers ?? NO_HEADERS, opts.query ?? '');
}

function found(m: Match<string>): { value: string; params: Record<string, string> } {
  assert.equal(m.kind, 'found', `expected found, got ${JSON.stringify(m)}`);
  if (m.kind !== 'found') throw new Error('unreachable');
  return { value: m.value, params: { ...m.params } };
}

function assertFound(m: Match<string>, value: string, params: Record<string, string> = {}): void {
  const f = found(m);
  assert.equal(f.value, value);
  assert.deepEqual(f.params, params);
}

function assertBuildError(routes: RouteDefinition<string>[], pattern: RegExp): void {
  assert.throws(
    () => new Router(routes),
    (err: unknown) => {
      assert.ok(err instanceof RouterBuildError, `expected RouterBuildError, got ${String(err)}`);
      assert.equal(err.code, 'ROUTER_BUILD_FAILED');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('path precedence', () => {
  const router = new Router([
    r(['GET'], '/users', 'list'),
    r(['GET'], '/users/me', 'me'),
    r(['GET'], '/users/{id}', 'user'),
    r(['GET'], '/users/{id}/posts/{postId}', 'post'),
    r(['GET'], '/users/{proxy+}', 'users-proxy'),
    r(['GET'], '/{proxy+}', 'root-proxy'),
    r(['GET'], '/', 'root'),
  ]);

  test('literal beats param beats proxy', () => {
    assertFound(get(router, 'GET', '/users/me'), 'me');
    assertFound(get(router, 'GET', '/users/42'), 'user', { id: '42' });
    assertFound(get(router, 'GET', '/users/42/friends'), 'users-proxy', { proxy: '42/friends' });
    assertFound(get(router, 'GET', '/other/x'), 'root-proxy', { proxy: 'other/x' });
  });

  test('multiple params', () => {
    assertFound(get(router, 'GET', '/users/7/posts/99'), 'post', { id: '7', postId: '99' });
  });

  test('root is its own route; proxy+ needs at least one segment', () => {
    assertFound(get(router, 'GET', '/'), 'root');
    const onlyProxy = new Router([r(['GET'], '/{proxy+}', 'p'), r(['GET'], '/files/{proxy+}', 'f')]);
    assert.equal(get(onlyProxy, 'GET', '/').kind, 'not-found');
    assert.equal(found(get(onlyProxy, 'GET', '/files/')).value, 'p'); // '/files/' has an empty rest
    assertFound(get(onlyProxy, 'GET', '/files/a'), 'f', { proxy: 'a' });
    assertFound(get(onlyProxy, 'GET', '/files/a/b/'), 'f', { proxy: 'a/b/' });
  });

  test('trailing slash is significant', () => {
    assertFound(get(router, 'GET', '/users'), 'list');
    // '/users/' is ['users', ''], '{id}' never matches an empty segment, so the proxy does
    assertFound(get(router, 'GET', '/users/'), 'root-proxy', { proxy: 'users/' });
    const strict = new Router([r(['GET'], '/users', 'a'), r(['GET'], '/users/', 'b')]);
    assertFound(get(strict, 'GET', '/users'), 'a');
    assertFound(get(strict, 'GET', '/users/'), 'b');
    assert.equal(get(new Router([r(['GET'], '/users', 'a')]), 'GET', '/users/').kind, 'not-found');
  });

  test('matching is case-sensitive and params stay raw', () => {
    assert.equal(get(new Router([r(['GET'], '/Users', 'a')]), 'GET', '/users').kind, 'not-found');
    assertFound(get(router, 'GET', '/users/caf%C3%A9'), 'user', { id: 'caf%C3%A9' });
  });

  test('path params with ; and other raw chars are one segment', () => {
    assertFound(get(router, 'GET', '/users/me;x=1'), 'user', { id: 'me;x=1' });
  });

  test('route literals are canonicalized like request paths', () => {
    const rt = new Router([r(['GET'], '/caf%c3%a9/%7Euser', 'a'), r(['GET'], '/café', 'b')]);
    assertFound(get(rt, 'GET', '/caf%C3%A9/~user'), 'a');
    assertFound(get(rt, 'GET', '/caf%C3%A9'), 'b');
  });
});

describe('backtracking', () => {
  test('a more specific branch that fails deeper gives way', () => {
    const router = new Router([r(['GET'], '/a/b/c', 'abc'), r(['GET'], '/a/{x}/d', 'axd')]);
    assertFound(get(router, 'GET', '/a/b/c'), 'abc');
    assertFound(get(router, 'GET', '/a/b/d'), 'axd', { x: 'b' });
  });

  test('falls back to proxy after param branch fails', () => {
    const router = new Router([
      r(['GET'], '/a/{x}/y/{z}', 'params'),
      r(['GET'], '/a/{proxy+}', 'proxy'),
    ]);
    assertFound(get(router, 'GET', '/a/1/y/2'), 'params', { x: '1', z: '2' });
    assertFound(get(router, 'GET', '/a/1/y'), 'proxy', { proxy: '1/y' });
    assertFound(get(router, 'GET', '/a/1/n/2'), 'proxy', { proxy: '1/n/2' });
  });

  test('params captured on a failed branch do not leak into the winner', () => {
    const router = new Router([
      r(['GET'], '/{a}/{b}/{c}/x', 'deep'),
      r(['GET'], '/{k}/lit/{m}', 'short'),
    ]);
    assertFound(get(router, 'GET', '/1/lit/3'), 'short', { k: '1', m: '3' });
    assertFound(get(router, 'GET', '/1/2/3/x'), 'deep', { a: '1', b: '2', c: '3' });
  });

  test('leftmost literal wins over a later literal', () => {
    const router = new Router([r(['GET'], '/a/{x}/c', 'late'), r(['GET'], '/a/b/{y}', 'early')]);
    assertFound(get(router, 'GET', '/a/b/c'), 'early', { y: 'c' });
  });

  test('a method miss backtracks (route key is METHOD + path)', () => {
    const router = new Router([r(['GET'], '/a/b', 'get-ab'), r(['POST'], '/a/{x}', 'post-ax')]);
    assertFound(get(router, 'POST', '/a/b'), 'post-ax', { x: 'b' });
    assertFound(get(router, 'GET', '/a/b'), 'get-ab');
  });
});

describe('methods', () => {
  const router = new Router([
    r(['GET', 'POST'], '/items', 'items-rw'),
    r(['ANY'], '/items', 'items-any'),
    r(['GET'], '/things', 'things-get'),
    r(['DELETE', 'PUT'], '/things', 'things-w'),
    r(['PATCH'], '/things/{id}', 'thing-patch'),
  ]);

  test('exact method beats ANY on the same node', () => {
    assertFound(get(router, 'GET', '/items'), 'items-rw');
    assertFound(get(router, 'DELETE', '/items'), 'items-any');
  });

  test('405 with the sorted declared methods', () => {
    const m = get(router, 'POST', '/things');
    assert.deepEqual(m, { kind: 'method-not-allowed', allow: ['DELETE', 'GET', 'PUT'] });
  });

  test('HEAD does not fall back to GET', () => {
    assert.deepEqual(get(router, 'HEAD', '/things'), { kind: 'method-not-allowed', allow: ['DELETE', 'GET', 'PUT'] });
  });

  test('ANY never yields 405', () => {
    assertFound(get(router, 'OPTIONS', '/items'), 'items-any');
  });

  test('Allow is the union over every node that matched the path', () => {
    const rt = new Router([r(['GET'], '/a/b', 'x'), r(['POST'], '/a/{id}', 'y'), r(['PUT'], '/a/{proxy+}', 'z')]);
    assert.deepEqual(get(rt, 'DELETE', '/a/b'), { kind: 'method-not-allowed', allow: ['GET', 'POST', 'PUT'] });
    assert.deepEqual(get(rt, 'DELETE', '/a/c'), { kind: 'method-not-allowed', allow: ['POST', 'PUT'] });
  });

  test('unknown path is 404', () => {
    assert.equal(get(router, 'GET', '/nope').kind, 'not-found');
    assert.equal(get(router, 'GET', '/things/1/2').kind, 'not-found');
  });
});

describe('$default', () => {
  const router = new Router([r(['GET'], '/a', 'a'), r(['ANY'], '$default', 'default')]);

  test('used when no path matches', () => {
    assertFound(get(router, 'GET', '/zzz'), 'default');
    assertFound(get(router, 'DELETE', '/'), 'default');
  });

  test('wins over 405', () => {
    assertFound(get(router, 'POST', '/a'), 'default');
  });

  test('does not shadow a real match', () => {
    assertFound(get(router, 'GET', '/a'), 'a');
  });

  test('applies to every host and yields to host routes', () => {
    const rt = new Router([
      r(['GET'], '/x', 'host-x', { hosts: ['api.example.com'] }),
      r(['ANY'], '$default', 'default'),
    ]);
    assertFound(get(rt, 'GET', '/x', { host: 'api.example.com' }), 'host-x');
    assertFound(get(rt, 'GET', '/y', { host: 'api.example.com' }), 'default');
    assertFound(get(rt, 'GET', '/x', { host: 'other.example.com' }), 'default');
  });

  test('a host $default beats the host-less one for its host', () => {
    const rt = new Router([
      r(['ANY'], '$default', 'api-default', { hosts: ['api.example.com'] }),
      r(['ANY'], '$default', 'default'),
    ]);
    assertFound(get(rt, 'GET', '/y', { host: 'api.example.com' }), 'api-default');
    assertFound(get(rt, 'GET', '/y', { host: 'www.example.com' }), 'default');
  });
});

describe('hosts', () => {
  const router = new Router([
    r(['GET'], '/p', 'exact', { hosts: ['api.example.com'] }),
    r(['GET'], '/p', 'wild-long', { hosts: ['*.eu.example.com'] }),
    r(['GET'], '/p', 'wild', { hosts: ['*.example.com'] }),
    r(['GET'], '/p', 'any'),
    r(['GET'], '/only-any', 'only-any'),
    r(['GET'], '/m', 'exact-m', { hosts: ['API.Example.com', 'other.test'] }),
  ]);

  test('exact beats wildcard beats host-less', () => {
    assertFound(get(router, 'GET', '/p', { host: 'api.example.com' }), 'exact');
    assertFound(get(router, 'GET', '/p', { host: 'www.example.com' }), 'wild');
    assertFound(get(router, 'GET', '/p', { host: 'elsewhere.org' }), 'any');
    assertFound(get(router, 'GET', '/p'), 'any');
  });

  test('longer wildcard suffix wins; wildcard needs at least one label', () => {
    assertFound(get(router, 'GET', '/p', { host: 'a.eu.example.com' }), 'wild-long');
    assertFound(get(router, 'GET', '/p', { host: 'a.b.eu.example.com' }), 'wild-long');
    assertFound(get(router, 'GET', '/p', { host: 'eu.example.com' }), 'wild');
    assertFound(get(router, 'GET', '/p', { host: 'a.b.example.com' }), 'wild');
    assertFound(get(router, 'GET', '/p', { host: 'example.com' }), 'any');
    assertFound(get(router, 'GET', '/p', { host: '.example.com' }), 'any');
  });

  test('case-insensitive, port and trailing dot ignored', () => {
    assertFound(get(router, 'GET', '/p', { host: 'API.EXAMPLE.COM:8443' }), 'exact');
    assertFound(get(router, 'GET', '/p', { host: 'api.example.com.' }), 'exact');
    assertFound(get(router, 'GET', '/p', { host: 'WWW.Example.Com:80' }), 'wild');
    assertFound(get(router, 'GET', '/m', { host: 'api.example.com' }), 'exact-m');
    assertFound(get(router, 'GET', '/m', { host: 'other.test:1' }), 'exact-m');
  });

  test('IPv6 literal host with port', () => {
    const rt = new Router([r(['GET'], '/', 'v6', { hosts: ['[::1]'] }), r(['GET'], '/', 'any')]);
    assertFound(get(rt, 'GET', '/', { host: '[::1]:8080' }), 'v6');
    assertFound(get(rt, 'GET', '/', { host: '127.0.0.1:8080' }), 'any');
  });

  test('a host bucket falls back to host-less routes for unmatched paths', () => {
    assertFound(get(router, 'GET', '/only-any', { host: 'api.example.com' }), 'only-any');
    assert.equal(get(router, 'GET', '/m', { host: 'nope.org' }).kind, 'not-found');
  });

  test('host-less fallback also covers a method miss in the bucket', () => {
    const rt = new Router([r(['GET'], '/x', 'h', { hosts: ['a.test'] }), r(['POST'], '/x', 'any')]);
    assertFound(get(rt, 'POST', '/x', { host: 'a.test' }), 'any');
    assert.deepEqual(get(rt, 'PUT', '/x', { host: 'a.test' }), { kind: 'method-not-allowed', allow: ['GET', 'POST'] });
    assert.deepEqual(get(rt, 'PUT', '/x', { host: 'b.test' }), { kind: 'method-not-allowed', allow: ['POST'] });
  });

  test('many distinct hosts do not break the host cache', () => {
    for (let i = 0; i < 3000; i++) {
      assertFound(get(router, 'GET', '/p', { host: `h${i}.example.com` }), 'wild');
    }
    assertFound(get(router, 'GET', '/p', { host: 'api.example.com' }), 'exact');
  });
});

describe('conditions', () => {
  const router = new Router([
    r(['GET'], '/c', 'plain'),
    r(['GET'], '/c', 'v1', { headers: { 'x-version': '1' } }),
    r(['GET'], '/c', 'v1-beta', { headers: { 'x-version': '1' }, query: { beta: 'true' } }),
    r(['GET'], '/c', 'mobile', { headers: { 'user-agent': '~^Mobile/[0-9]+' } }),
    r(['GET'], '/c', 'q-regex', { query: { id: '~^[0-9]+$' } }),
  ]);

  test('more conditions first, then declaration order, plain route last', () => {
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': '1' }, query: 'beta=true' }), 'v1-beta');
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': '1' }, query: 'beta=false' }), 'v1');
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': '1', 'user-agent': 'Mobile/5' } }), 'v1');
    assertFound(get(router, 'GET', '/c', { headers: { 'user-agent': 'Mobile/5' } }), 'mobile');
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': '2' } }), 'plain');
    assertFound(get(router, 'GET', '/c'), 'plain');
  });

  test('query parsing: first value, decoding, flags without value', () => {
    assertFound(get(router, 'GET', '/c', { query: 'x=1&id=42' }), 'q-regex');
    assertFound(get(router, 'GET', '/c', { query: 'id=abc&id=42' }), 'plain'); // first value only
    assertFound(get(router, 'GET', '/c', { query: '%69d=%34%32' }), 'q-regex'); // encoded name and value
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': '1' }, query: 'beta=tr%75e' }), 'v1-beta');
    const rt = new Router([r(['GET'], '/s', 'space', { query: { q: 'a b' } }), r(['GET'], '/s', 'flag', { query: { f: '' } })]);
    assertFound(get(rt, 'GET', '/s', { query: 'q=a+b' }), 'space');
    assertFound(get(rt, 'GET', '/s', { query: 'f' }), 'flag');
    assert.equal(get(rt, 'GET', '/s', { query: 'ff=1' }).kind, 'not-found');
  });

  test('header arrays use the first value', () => {
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': ['1', '2'] } }), 'v1');
    assertFound(get(router, 'GET', '/c', { headers: { 'x-version': ['2', '1'] } }), 'plain');
  });

  test('header names are matched lower-case', () => {
    const rt = new Router([r(['GET'], '/h', 'h', { headers: { 'X-Tenant': 'a' } })]);
    assertFound(get(rt, 'GET', '/h', { headers: { 'x-tenant': 'a' } }), 'h');
  });

  test('method declared but conditions fail: 404, not 405; next node still tried', () => {
    const rt = new Router([
      r(['GET'], '/only', 'cond', { headers: { 'x-a': '1' } }),
      r(['GET'], '/d/b', 'cond-b', { headers: { 'x-a': '1' } }),
      r(['GET'], '/d/{x}', 'param'),
    ]);
    assert.equal(get(rt, 'GET', '/only').kind, 'not-found');
    assert.deepEqual(get(rt, 'POST', '/only'), { kind: 'method-not-allowed', allow: ['GET'] });
    assertFound(get(rt, 'GET', '/d/b'), 'param', { x: 'b' });
    assertFound(get(rt, 'GET', '/d/b', { headers: { 'x-a': '1' } }), 'cond-b');
  });

  test('a condition miss on the exact method still tries ANY', () => {
    const rt = new Router([r(['GET'], '/z', 'get', { headers: { 'x-a': '1' } }), r(['ANY'], '/z', 'any')]);
    assertFound(get(rt, 'GET', '/z'), 'any');
    assertFound(get(rt, 'GET', '/z', { headers: { 'x-a': '1' } }), 'get');
  });
});

describe('build errors', () => {
  test('invalid templates', () => {
    assertBuildError([r(['GET'], '/{proxy+}/x', 'a')], /must be the last segment/);
    assertBuildError([r(['GET'], '/a/{}', 'a')], /empty parameter name/);
    assertBuildError([r(['GET'], '/a/{+}', 'a')], /empty parameter name/);
    assertBuildError([r(['GET'], '/{id}/{id}', 'a')], /duplicate parameter name 'id'/);
    assertBuildError([r(['GET'], '/{id}/{id+}', 'a')], /duplicate parameter name 'id'/);
    assertBuildError([r(['GET'], '/a/{id', 'a')], /unbalanced braces/);
    assertBuildError([r(['GET'], '/a/id}', 'a')], /unbalanced braces/);
    assertBuildError([r(['GET'], '/a/x{id}', 'a')], /unbalanced braces or mixes text/);
    assertBuildError([r(['GET'], '/a/{{id}}', 'a')], /unbalanced braces/);
    assertBuildError([r(['GET'], 'a/b', 'a')], /must start with '\/'/);
    assertBuildError([r(['GET'], '/a//b', 'a')], /empty segment/);
    assertBuildError([r(['GET'], '/a/../b', 'a')], /dot segment/);
    assertBuildError([r(['GET'], '/a%zz', 'a')], /malformed percent escape/);
    assertBuildError([r(['GET'], '/{__proto__}', 'a')], /parameter name/);
  });

  test('invalid methods and hosts', () => {
    assertBuildError([r([], '/a', 'a')], /non-empty array/);
    assertBuildError([r(['get'], '/a', 'a')], /upper-case/);
    assertBuildError([r(['ANY', 'GET'], '/a', 'a')], /'ANY' must be the only entry/);
    assertBuildError([r(['GET'], '/a', 'a', { hosts: ['a.*.com'] })], /not a valid wildcard/);
    assertBuildError([r(['GET'], '/a', 'a', { hosts: ['*'] })], /not a valid wildcard/);
    assertBuildError([r(['GET'], '/a', 'a', { hosts: ['api.test:80'] })], /has a port/);
  });

  test('duplicates', () => {
    assertBuildError([r(['GET'], '/a', 'a'), r(['GET'], '/a', 'b')], /route #1 .*duplicate of route #0/);
    assertBuildError([r(['GET'], '/u/{id}', 'a'), r(['POST', 'GET'], '/u/{name}', 'b')], /duplicate of route #0.*GET/);
    assertBuildError([r(['ANY'], '$default', 'a'), r(['ANY'], '$default', 'b')], /duplicate/);
    assertBuildError(
      [r(['GET'], '/a', 'a', { headers: { 'x-a': '1' } }), r(['GET'], '/a', 'b', { headers: { 'X-A': '1' } })],
      /duplicate/,
    );
    assertBuildError(
      [r(['GET'], '/a', 'a', { hosts: ['x.test', 'y.test'] }), r(['GET'], '/a', 'b', { hosts: ['Y.test'] })],
      /duplicate.*y\.test/,
    );
    // not duplicates: different method, shape, conditions or host
    const ok = new Router([
      r(['GET'], '/a', 'a'),
      r(['ANY'], '/a', 'b'),
      r(['POST'], '/a', 'c'),
      r(['GET'], '/a/', 'd'),
      r(['GET'], '/{x}', 'e'),
      r(['GET'], '/a', 'f', { headers: { 'x-a': '1' } }),
      r(['GET'], '/a', 'g', { query: { 'x-a': '1' } }),
      r(['GET'], '/a', 'h', { hosts: ['x.test'] }),
    ]);
    assert.equal(ok.size, 8);
  });

  test('invalid and catastrophic regexes are rejected', () => {
    assertBuildError([r(['GET'], '/a', 'a', { headers: { 'x-a': '~(' } })], /invalid regex/);
    assertBuildError([r(['GET'], '/a', 'a', { headers: { 'x-a': '~(a+)+$' } })], /backtrack catastrophically/);
    assertBuildError([r(['GET'], '/a', 'a', { query: { q: '~^(x+x+)+y$' } })], /backtrack catastrophically/);
    assertBuildError([r(['GET'], '/a', 'a', { query: { q: '~(.*)*' } })], /backtrack catastrophically/);
    assert.doesNotThrow(() => new Router([r(['GET'], '/a', 'a', { headers: { 'x-a': '~^[a-z0-9-]+$' } })]));
  });

  test('the error names the culprit route index', () => {
    try {
      new Router([r(['GET'], '/ok', 'a'), r(['GET'], '/{p+}/x', 'b')]);
      assert.fail('expected throw');
    } catch (err) {
      assert.ok(err instanceof RouterBuildError);
      assert.equal(err.routeIndex, 1);
      assert.match(err.message, /^route #1 \(GET \/\{p\+\}\/x\)/);
    }
  });
});

describe('scale', () => {
  test('10,000 routes build and every lookup is correct', () => {
    const routes: RouteDefinition<string>[] = [];
    for (let i = 0; i < 2500; i++) {
      routes.push(r(['GET'], `/svc${i}/items`, `items-${i}`));
      routes.push(r(['GET', 'PUT'], `/svc${i}/items/{id}`, `item-${i}`));
      routes.push(r(['POST'], `/svc${i}/items/{id}/tags/{tag}`, `tag-${i}`));
      routes.push(r(['ANY'], `/svc${i}/raw/{proxy+}`, `raw-${i}`, { hosts: [`h${i % 10}.example.com`] }));
    }
    const router = new Router(routes);
    assert.equal(router.size, 10_000);
    for (let i = 0; i < 2500; i++) {
      assertFound(get(router, 'GET', `/svc${i}/items`), `items-${i}`);
      assertFound(get(router, 'PUT', `/svc${i}/items/${i}`), `item-${i}`, { id: String(i) });
      assertFound(get(router, 'POST', `/svc${i}/items/x/tags/t${i}`), `tag-${i}`, { id: 'x', tag: `t${i}` });
      assertFound(get(router, 'DELETE', `/svc${i}/raw/a/b`, { host: `h${i % 10}.example.com` }), `raw-${i}`, {
        proxy: 'a/b',
      });
      assert.equal(get(router, 'DELETE', `/svc${i}/raw/a/b`, { host: `h${(i + 1) % 10}.example.com` }).kind, 'not-found');
      assert.deepEqual(get(router, 'DELETE', `/svc${i}/items/1`), { kind: 'method-not-allowed', allow: ['GET', 'PUT'] });
    }
    assert.equal(get(router, 'GET', '/svc2500/items').kind, 'not-found');
  });
});

describe('result objects', () => {
  test('param-less matches are shared and frozen; param matches are fresh', () => {
    const router = new Router([r(['GET'], '/a', 'a'), r(['GET'], '/b/{id}', 'b')]);
    const m1 = get(router, 'GET', '/a');
    assert.equal(m1, get(router, 'GET', '/a'));
    assert.ok(Object.isFrozen(m1));
    if (m1.kind === 'found') assert.ok(Object.isFrozen(m1.params));
    const p1 = get(router, 'GET', '/b/1');
    const p2 = get(router, 'GET', '/b/2');
    assert.notEqual(p1, p2);
    assertFound(p1, 'b', { id: '1' });
  });

  test('a path not starting with / is not found', () => {
    const router = new Router([r(['ANY'], '$default', 'd')]);
    assert.equal(get(router, 'GET', '').kind, 'not-found');
  });
});
