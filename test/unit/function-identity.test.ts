// server.functionRunAs resolved against an injected system (identity.ts): names from passwd/group
// text, numbers as given, `auto` by what the gateway may do, errors that name the fix.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type IdentitySystem, resolveRunAs } from '../../src/integrations/function/runtime/identity.js';

const PASSWD = ['root:x:0:0:root:/root:/bin/bash', 'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin', 'app:x:1000:1000::/home/app:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'].join('\n');
const GROUP = ['root:x:0:', 'daemon:x:1:', 'app:x:1000:', 'fns:x:2000:', 'nogroup:x:65534:'].join('\n');

const system = (uid: number, canSwitch = uid === 0, passwd = PASSWD, group = GROUP): IdentitySystem => ({
  uid,
  passwd: () => passwd,
  group: () => group,
  canSwitchUser: () => canSwitch,
});

describe('server.functionRunAs', () => {
  it('auto: nobody with its primary group when root; the gateway user when it cannot switch', () => {
    assert.deepEqual(resolveRunAs(undefined, system(0)), { uid: 65534, gid: 65534, label: 'nobody:nogroup (65534:65534)' });
    assert.deepEqual(resolveRunAs('auto', system(0)), { uid: 65534, gid: 65534, label: 'nobody:nogroup (65534:65534)' });
    assert.equal(resolveRunAs('auto', system(1000)), undefined);
    // CAP_SETUID/CAP_SETGID without root is enough.
    assert.equal(resolveRunAs('auto', system(1000, true))?.uid, 65534);
    // No nobody in passwd: the overflow ids.
    assert.deepEqual(resolveRunAs('auto', system(0, true, 'root:x:0:0::/:/bin/sh', 'root:x:0:'))?.uid, 65534);
  });

  it('inherit, and the gateway user itself: no switch', () => {
    assert.equal(resolveRunAs('inherit', system(0)), undefined);
    assert.equal(resolveRunAs('app', system(1000)), undefined);
  });

  it('names and numbers', () => {
    assert.deepEqual(resolveRunAs('app', system(0)), { uid: 1000, gid: 1000, label: 'app (1000:1000)' });
    assert.deepEqual(resolveRunAs('app:fns', system(0)), { uid: 1000, gid: 2000, label: 'app:fns (1000:2000)' });
    assert.deepEqual(resolveRunAs('daemon:65534', system(0)), { uid: 1, gid: 65534, label: 'daemon:65534 (1:65534)' });
    assert.deepEqual(resolveRunAs('4242:4343', system(0)), { uid: 4242, gid: 4343, label: '4242:4343 (4242:4343)' });
    // A bare number: its passwd entry's group, else the same number.
    assert.equal(resolveRunAs('1000', system(0))?.gid, 1000);
    assert.equal(resolveRunAs('777', system(0))?.gid, 777);
  });

  it('unknown names and impossible switches fail naming the fix', () => {
    assert.throws(() => resolveRunAs('ghost', system(0)), /user "ghost" is not in \/etc\/passwd; name an existing user, or give numeric ids/);
    assert.throws(() => resolveRunAs('app:ghosts', system(0)), /group "ghosts" is not in \/etc\/group/);
    assert.throws(() => resolveRunAs('nobody', system(1000)), /needs the gateway to run as root \(or with CAP_SETUID and CAP_SETGID\); it runs as uid 1000/);
  });
});
