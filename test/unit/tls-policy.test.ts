/**
 * The HTTPS listener's TLS policy (src/config/tls-policy.ts): the defaults (forward secrecy and AEAD
 * only), that the docs and the schema state exactly them, and the load-time checks of
 * server.tls.ciphers / cipherSuites / groups, through buildTable as `turnpike validate` runs it.
 * The handshakes themselves are tested through the real process (test/integration/tls-ciphers.test.ts).
 */
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { test } from 'node:test';
import pino from 'pino';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import { ServerTls } from '../../src/config/schema.js';
import { DEFAULT_GROUPS, DEFAULT_TLS12_CIPHERS, DEFAULT_TLS13_SUITES, resolveTlsPolicy } from '../../src/config/tls-policy.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { ROOT } from '../helpers/gateway.js';

const deps = () => ({ logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });

/** A config whose server.tls block gets these extra lines (the certificate files are not read by buildTable). */
const config = (lines: string) => `server:
  tls:
    certificates:
      - { hosts: [a.test], cert: a.crt, key: a.key }
${lines}
apis: []
`;

/** Errors (formatted) of building the config, or [] when it builds; warnings are returned beside them. */
function check(lines: string): { errors: string[]; warnings: string[] } {
  try {
    const table = buildTable(parseConfigText(config(lines), 'gw.yaml'), deps());
    const warnings = table.warnings.map(formatDiagnostic);
    void table.close();
    return { errors: [], warnings };
  } catch (e) {
    if (e instanceof ConfigError) return { errors: e.diagnostics.map(formatDiagnostic), warnings: [] };
    throw e;
  }
}

test('defaults: ECDHE + AEAD for TLS 1.2, the three general TLS 1.3 suites, X25519/P-256/P-384, server order with ChaCha20 priority', () => {
  const { policy, problems } = resolveTlsPolicy({});
  assert.deepEqual(problems, []);
  assert.equal(policy.ciphers, `${DEFAULT_TLS13_SUITES}:${DEFAULT_TLS12_CIPHERS}`);
  assert.equal(policy.ecdhCurve, DEFAULT_GROUPS);
  assert.equal(policy.honorCipherOrder, true);
  assert.equal(policy.secureOptions & constants.SSL_OP_PRIORITIZE_CHACHA, constants.SSL_OP_PRIORITIZE_CHACHA);
  // Every default TLS 1.2 suite is forward secret (ECDHE) and AEAD (GCM or ChaCha20-Poly1305).
  for (const name of DEFAULT_TLS12_CIPHERS.split(':')) assert.match(name, /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
  assert.deepEqual(DEFAULT_TLS13_SUITES.split(':'), ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);
  // The defaults are not probed at load (they are constants): make sure this OpenSSL has every one of them.
  const known = new Set(tls.getCiphers().map((c) => c.toUpperCase()));
  for (const name of [...DEFAULT_TLS12_CIPHERS.split(':'), ...DEFAULT_TLS13_SUITES.split(':')]) assert.ok(known.has(name), name);
  assert.doesNotThrow(() => tls.createSecureContext(policy));
  // An explicit value equal to the default is the default.
  assert.deepEqual(resolveTlsPolicy({ ciphers: DEFAULT_TLS12_CIPHERS, cipherSuites: DEFAULT_TLS13_SUITES, groups: DEFAULT_GROUPS }).policy, policy);
});

test('the schema and docs/tls.md state exactly the default versions, suites and groups', () => {
  assert.equal(ServerTls.properties.ciphers.default, DEFAULT_TLS12_CIPHERS);
  assert.equal(ServerTls.properties.cipherSuites.default, DEFAULT_TLS13_SUITES);
  assert.equal(ServerTls.properties.groups.default, DEFAULT_GROUPS);
  assert.equal(ServerTls.properties.minVersion.default, 'TLSv1.2');
  const doc = readFileSync(`${ROOT}/docs/tls.md`, 'utf8');
  assert.ok(doc.includes(`| TLS 1.3 suites | \`${DEFAULT_TLS13_SUITES}\` |`), 'docs/tls.md: TLS 1.3 default row');
  assert.ok(doc.includes(`| TLS 1.2 suites | \`${DEFAULT_TLS12_CIPHERS}\` |`), 'docs/tls.md: TLS 1.2 default row');
  assert.ok(doc.includes(`| key-exchange groups | \`${DEFAULT_GROUPS}\` |`), 'docs/tls.md: groups default row');
  assert.match(doc, /\| protocol versions \| TLS 1\.2 and TLS 1\.3 /);
});

test('a misspelt or unsupported cipher is a config error at file:line:col server.tls.ciphers, with a suggestion', () => {
  // OpenSSL alone would accept this list (one entry matches) and silently drop the typo.
  const { errors } = check('    ciphers: ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA265');
  assert.deepEqual(errors, [
    `gw.yaml:5:14 server.tls.ciphers: "AES128-GCM-SHA265" matches no cipher suite this Node's OpenSSL ${process.versions.openssl} supports (names and keywords are case-sensitive, as \`openssl ciphers -v\` prints them); did you mean "AES128-GCM-SHA256"?`,
  ]);
  assert.match(check('    ciphers: ecdhe-rsa-aes128-gcm-sha256').errors.join('\n'), /did you mean "ECDHE-RSA-AES128-GCM-SHA256"/);
  assert.match(check('    ciphers: BOGUS').errors.join('\n'), /server\.tls\.ciphers: "BOGUS" matches no cipher suite/);
  assert.match(check('    ciphers: "ECDHE+AESGCM:RC4-SHA"').errors.join('\n'), /"RC4-SHA" matches no cipher suite/);
  assert.match(check('    ciphers: "ECDHE+AESGCM:@SECLEVEL=9"').errors.join('\n'), /"@SECLEVEL=9": the only @ commands are @STRENGTH and @SECLEVEL=0\.\.5/);
  assert.match(check('    ciphers: "ECDHE+AESGCM:!"').errors.join('\n'), /"!": "!" needs a cipher name or keyword after it/);
  assert.match(check('    ciphers: "ALL:!ALL"').errors.join('\n'), /server\.tls\.ciphers: selects no cipher suite/);
  assert.match(check('    ciphers: TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256').errors.join('\n'), /"TLS_AES_128_GCM_SHA256" is a TLS 1\.3 suite: list it in server\.tls\.cipherSuites/);
  // the schema still checks the type first
  assert.match(check('    ciphers: ""').errors.join('\n'), /server\.tls\.ciphers: /);
});

test('anonymous and NULL-encryption suites are refused whatever the list says', () => {
  assert.match(check('    ciphers: ALL').errors.join('\n'), /server\.tls\.ciphers: allows anonymous suites \(no server authentication\): add "!aNULL"/);
  assert.match(check('    ciphers: "ALL:eNULL:!aNULL"').errors.join('\n'), /server\.tls\.ciphers: allows suites without encryption \(RFC 9325 §4\.1: MUST NOT\): add "!eNULL"/);
});

test('a list without forward secrecy builds with a warning; exclusions that exclude nothing are warnings', () => {
  const legacy = check('    ciphers: ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA256');
  assert.deepEqual(legacy.errors, []);
  assert.equal(legacy.warnings.length, 1, legacy.warnings.join('\n'));
  assert.match(legacy.warnings[0] ?? '', /^gw\.yaml:5:14 server\.tls\.ciphers: warning: allows key exchange without forward secrecy \(such as static RSA\)/);
  // nginx's old default: HIGH includes static RSA
  assert.match(check('    ciphers: "HIGH:!aNULL:!MD5"').warnings.join('\n'), /without forward secrecy/);
  // forward secret only: no warning
  assert.deepEqual(check('    ciphers: ECDHE+AESGCM:ECDHE+CHACHA20').warnings, []);
  const excl = check('    ciphers: "ECDHE+AESGCM:!EXPORT:!kRAS"');
  assert.deepEqual(excl.errors, []);
  assert.match(excl.warnings.join('\n'), /"!EXPORT": "EXPORT" matches no cipher suite .* so excluding it has no effect/);
  assert.match(excl.warnings.join('\n'), /"!kRAS": "kRAS" matches no cipher suite .*; did you mean "kRSA"\?/);
  // nothing to apply to
  assert.match(check('    minVersion: TLSv1.3\n    ciphers: ECDHE+AESGCM').warnings.join('\n'), /server\.tls\.ciphers: warning: has no effect with minVersion TLSv1\.3/);
});

test('cipherSuites (TLS 1.3) and groups are checked entry by entry', () => {
  const { errors } = check('    cipherSuites: TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA265:ECDHE-RSA-AES128-GCM-SHA256\n    groups: X25519:P-256:X25519MLKEM768');
  assert.equal(errors.length, 3, errors.join('\n'));
  assert.match(errors[0] ?? '', /^gw\.yaml:5:19 server\.tls\.cipherSuites: "ECDHE-RSA-AES128-GCM-SHA256" is a TLS 1\.2 cipher: list it in server\.tls\.ciphers/);
  assert.match(errors[1] ?? '', /^gw\.yaml:5:19 server\.tls\.cipherSuites: "TLS_AES_128_GCM_SHA265" is not a TLS 1\.3 suite .*; did you mean "TLS_AES_128_GCM_SHA256"\?$/);
  assert.match(errors[2] ?? '', /^gw\.yaml:6:13 server\.tls\.groups: "X25519MLKEM768" is not a key-exchange group this Node's OpenSSL/);
  assert.deepEqual(check('    cipherSuites: TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256\n    groups: P-384:prime256v1').errors, []);
  assert.deepEqual(check('    groups: auto').errors, []);
  assert.match(check('    groups: "X25519::P-256"').errors.join('\n'), /server\.tls\.groups: has an empty entry/);
});
