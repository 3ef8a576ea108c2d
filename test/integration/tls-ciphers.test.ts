/**
 * What the HTTPS listener negotiates, through the real gateway process (issue 19): by default a
 * TLS 1.2 hello offering only static-RSA key exchange is refused in the handshake, and so is one
 * offering only CBC-mode ECDHE suites, while curl, Node's defaults and a browser-like offer connect
 * with ECDHE + AEAD (or TLS 1.3); with the legacy list from docs/tls.md the same hellos are accepted,
 * the server's order still keeps modern clients on ECDHE, and a reload switches the policy back.
 * An invalid list is a config error at its key (validate, start, reload).
 *
 * One gateway per configuration, reused by every assertion: `strict` (defaults) and `legacy`. Both
 * serve an RSA certificate (rsa.test, also the default) — only an RSA key can do static RSA at all, so
 * a refusal by `strict` is the policy's doing, as `legacy` accepting the same hello shows — and an
 * ECDSA one (ec.test).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { type CertFiles, type TestPki, createPki } from '../helpers/certs.js';
import { ROOT, type RunningGateway, runCli, startGateway, tempConfig } from '../helpers/gateway.js';
import { within } from '../helpers/proxy.js';

const OPENSSL = '/usr/bin/openssl';
const CURL = '/usr/bin/curl';
const pki: TestPki | undefined = createPki();
const skip = pki === undefined && 'openssl CLI not available';

/** The legacy example of docs/tls.md ("Allowing legacy suites"), so the documented list is the tested one. */
function documentedLegacyCiphers(): string {
  const doc = readFileSync(`${ROOT}/docs/tls.md`, 'utf8');
  const section = doc.slice(doc.indexOf('### Allowing legacy suites'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const ciphers = (parse(block ?? '') as { server?: { tls?: { ciphers?: string } } } | null)?.server?.tls?.ciphers;
  assert.ok(ciphers, 'docs/tls.md has a yaml example with server.tls.ciphers under "Allowing legacy suites"');
  return ciphers;
}

/** Chromium's offer (TLS 1.3 suites, ECDHE AES-GCM and ChaCha20, ECDHE CBC, then static RSA last). */
const BROWSER_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA',
  'AES256-SHA',
].join(':');
const STATIC_RSA = ['AES128-GCM-SHA256', 'AES128-SHA256', 'AES256-SHA'];
const ECDHE_CBC = 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384';

let rsa: CertFiles;
let ec: CertFiles;
let strict: RunningGateway | undefined;
let legacy: RunningGateway | undefined;
let strictPort = 0;
let legacyPort = 0;
let legacyCiphers = '';

const config = (extra = '') => `
server:
  accessLog: false
  logLevel: debug
  tls:
    certificates:
      - { hosts: [rsa.test], cert: "${rsa.cert}", key: "${rsa.key}" }
      - { hosts: [ec.test], cert: "${ec.cert}", key: "${ec.key}" }
${extra}
apis:
  - name: t
    routes:
      - { methods: [GET], path: /hello, integration: { type: mock, status: 200, body: { ok: true } } }
`;

before(async () => {
  if (pki === undefined) return;
  rsa = pki.server('rsa', ['rsa.test'], 'rsa');
  ec = pki.server('ec', ['ec.test']);
  legacyCiphers = documentedLegacyCiphers();
  const started = await Promise.all([
    startGateway(config(), { args: ['--https-port', '0'] }),
    startGateway(config(`    ciphers: "${legacyCiphers}"`), { args: ['--https-port', '0'] }),
  ]);
  [strict, legacy] = started;
  strictPort = (await started[0].waitForLog((l) => l.msg === 'listening')).httpsPort as number;
  legacyPort = (await started[1].waitForLog((l) => l.msg === 'listening')).httpsPort as number;
});
after(async () => {
  await Promise.all([strict?.stop(), legacy?.stop()]);
});

interface Hello {
  ok: boolean;
  version?: string | null;
  cipher?: string;
  alpn?: string | false | null;
  group?: string | undefined;
  error?: string;
}

/** One handshake with node:tls (servername rsa.test unless given); the connection is closed right after. */
function hello(port: number, opts: tls.ConnectionOptions = {}): Promise<Hello> {
  return within(
    new Promise<Hello>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'rsa.test', ca: pki?.ca.certPem, ...opts }, () => {
        resolve({ ok: true, version: s.getProtocol(), cipher: s.getCipher().name, alpn: s.alpnProtocol, group: (s.getEphemeralKeyInfo() as tls.EphemeralKeyInfo | null)?.name });
        s.destroy();
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
    }),
    5_000,
    `handshake ${String(opts.ciphers ?? 'default')}`,
  );
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return within(
    new Promise((resolve) => {
      const child = execFile(file, args, { timeout: 10_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: unknown }).code as number) || 1 : 0, stdout, stderr });
      });
      child.stdin?.end();
    }),
    12_000,
    `${file} ${args.join(' ')}`,
  );
}

/** openssl s_client offering only `cipher` over TLS 1.2; stdin closed, so it quits after the handshake. */
function sClient(port: number, cipher: string) {
  return run(OPENSSL, ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'rsa.test', '-tls1_2', '-cipher', cipher, '-CAfile', pki?.ca.cert ?? '']);
}

/** curl GET /hello over HTTPS (verbose: the negotiated version and suite are on stderr). */
async function curl(port: number, host: string, extra: string[] = []) {
  const r = await run(CURL, ['-sS', '-v', '--cacert', pki?.ca.cert ?? '', '--resolve', `${host}:${port}:127.0.0.1`, ...extra, `https://${host}:${port}/hello`]);
  const using = /SSL connection using (\S+) \/ (\S+)/.exec(r.stderr);
  return { ...r, version: using?.[1], cipher: using?.[2], h2: /ALPN: server accepted h2/.test(r.stderr) };
}

test('a TLS 1.2 hello offering only static-RSA key exchange is refused by default, accepted by the documented legacy list', { skip }, async () => {
  for (const cipher of STATIC_RSA) {
    for (const servername of ['rsa.test', undefined]) {
      const refused = await hello(strictPort, { ciphers: cipher, maxVersion: 'TLSv1.2', ...(servername === undefined ? { servername: '' } : {}) });
      assert.equal(refused.ok, false, `${cipher} (SNI ${servername}) was accepted: ${JSON.stringify(refused)}`);
      assert.equal(refused.error, 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', cipher);
    }
    // The same certificate serves the same hello once the list allows it: the refusal above is the policy's.
    const accepted = await hello(legacyPort, { ciphers: cipher, maxVersion: 'TLSv1.2' });
    assert.equal(accepted.ok, true, `${cipher}: ${accepted.error}`);
    assert.equal(accepted.cipher, cipher);
    assert.equal(accepted.version, 'TLSv1.2');
  }
});

test('openssl s_client -tls1_2 with a static-RSA suite: handshake failure by default, served by the legacy list', { skip: skip || (!existsSync(OPENSSL) && `${OPENSSL} not installed`) }, async () => {
  for (const cipher of ['AES128-SHA256', 'AES128-GCM-SHA256', 'AES256-SHA']) {
    const refused = await sClient(strictPort, cipher);
    assert.notEqual(refused.code, 0, `${cipher} accepted:\n${refused.stdout}`);
    assert.match(refused.stderr, /handshake failure/, cipher);
    assert.match(refused.stdout, /Cipher is \(NONE\)/);
    const accepted = await sClient(legacyPort, cipher);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stdout, new RegExp(`Cipher is ${cipher}\\b`));
  }
});

test('CBC-mode ECDHE suites alone are refused by default (AEAD only); the legacy list serves them', { skip }, async () => {
  const refused = await hello(strictPort, { ciphers: ECDHE_CBC, maxVersion: 'TLSv1.2' });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  const accepted = await hello(legacyPort, { ciphers: ECDHE_CBC, maxVersion: 'TLSv1.2' });
  assert.equal(accepted.ok, true, accepted.error);
  assert.match(accepted.cipher ?? '', /^ECDHE-RSA-AES(128|256)-SHA/);
});

test('curl connects with its defaults (TLS 1.3, h2) and with --tlsv1.2 --tls-max 1.2 (ECDHE + AES-GCM)', { skip: skip || (!existsSync(CURL) && `${CURL} not installed`) }, async () => {
  for (const port of [strictPort, legacyPort]) {
    const plain = await curl(port, 'rsa.test');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout, '{"ok":true}');
    assert.equal(plain.version, 'TLSv1.3');
    assert.equal(plain.cipher, 'TLS_AES_128_GCM_SHA256');
    assert.ok(plain.h2, 'h2 negotiated');
    for (const [host, cipher] of [
      ['rsa.test', 'ECDHE-RSA-AES128-GCM-SHA256'],
      ['ec.test', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
    ] as const) {
      const v12 = await curl(port, host, ['--tlsv1.2', '--tls-max', '1.2']);
      assert.equal(v12.code, 0, v12.stderr);
      assert.equal(v12.stdout, '{"ok":true}');
      assert.equal(v12.version, 'TLSv1.2');
      // the legacy list lets curl's static-RSA and CBC offers in, but the server's order keeps it on ECDHE + GCM
      assert.equal(v12.cipher, cipher, `port ${port === strictPort ? 'strict' : 'legacy'}`);
    }
  }
});

test("Node's https and tls defaults connect; a browser-like offer gets TLS 1.3, or ECDHE + AES-GCM and h2 when capped at TLS 1.2", { skip }, async () => {
  const res = await within(
    new Promise<{ status: number; body: string; version: string | null; cipher: string }>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port: strictPort, path: '/hello', servername: 'rsa.test', headers: { host: 'rsa.test' }, ca: pki?.ca.certPem, agent: false }, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (c: string) => (body += c));
        const sock = r.socket as tls.TLSSocket;
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body, version: sock.getProtocol(), cipher: sock.getCipher().name }));
      });
      req.on('error', reject);
    }),
    5_000,
    'https.get',
  );
  assert.equal(res.status, 200);
  assert.equal(res.body, '{"ok":true}');
  assert.equal(res.version, 'TLSv1.3');
  assert.equal(res.cipher, 'TLS_AES_128_GCM_SHA256');

  const node12 = await hello(strictPort, { maxVersion: 'TLSv1.2' });
  assert.equal(node12.ok, true, node12.error);
  assert.equal(node12.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.equal(node12.group, 'X25519');

  const browser = await hello(strictPort, { ciphers: BROWSER_CIPHERS, ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(browser.ok, true, browser.error);
  assert.equal(browser.version, 'TLSv1.3');
  assert.equal(browser.alpn, 'h2');
  for (const [servername, cipher] of [
    ['rsa.test', 'ECDHE-RSA-AES128-GCM-SHA256'],
    ['ec.test', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ] as const) {
    for (const port of [strictPort, legacyPort]) {
      const b12 = await hello(port, { servername, ciphers: BROWSER_CIPHERS, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'] });
      assert.equal(b12.ok, true, b12.error);
      assert.equal(b12.cipher, cipher);
      assert.equal(b12.alpn, 'h2');
    }
  }
});

test("the server's order wins (legacy suites only for clients with nothing better); a client listing ChaCha20 first gets it", { skip }, async () => {
  // A client that prefers static RSA and AES-256 still gets ECDHE with AES-128-GCM.
  const prefersRsa = await hello(legacyPort, { ciphers: 'AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' });
  assert.equal(prefersRsa.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  const prefersCbc = await hello(legacyPort, { ciphers: 'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' });
  assert.equal(prefersCbc.cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
  // SSL_OP_PRIORITIZE_CHACHA: ChaCha20 first in the client's list (no AES hardware) wins, in TLS 1.2 and 1.3.
  const chacha12 = await hello(strictPort, { ciphers: 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' });
  assert.equal(chacha12.cipher, 'ECDHE-RSA-CHACHA20-POLY1305');
  const chacha13 = await hello(strictPort, { ciphers: 'TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256' });
  assert.equal(chacha13.cipher, 'TLS_CHACHA20_POLY1305_SHA256');
  const aes256 = await hello(strictPort, { ciphers: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256' });
  assert.equal(aes256.cipher, 'TLS_AES_128_GCM_SHA256');
});

test('groups: X25519 by default; P-256 and P-384 served; a client offering only P-521 is refused', { skip }, async () => {
  assert.equal((await hello(strictPort, {})).group, 'X25519');
  assert.equal((await hello(strictPort, { ecdhCurve: 'P-384' })).group, 'secp384r1');
  assert.equal((await hello(strictPort, { ecdhCurve: 'P-256', maxVersion: 'TLSv1.2' })).group, 'prime256v1');
  const p521 = await hello(strictPort, { ecdhCurve: 'P-521' });
  assert.equal(p521.ok, false, JSON.stringify(p521));
});

test('the listening line states the policy; a refused hello is logged at debug, not as an error', { skip }, async () => {
  assert.ok(strict && legacy);
  const line = await strict.waitForLog((l) => l.msg === 'listening');
  assert.deepEqual(line.tls, {
    minVersion: 'TLSv1.2',
    ciphers:
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
    groups: 'X25519:P-256:P-384',
  });
  assert.equal(((await legacy.waitForLog((l) => l.msg === 'listening')).tls as { ciphers: string }).ciphers.endsWith(`:${legacyCiphers}`), true);
  const failed = await strict.waitForLog((l) => l.msg === 'TLS handshake failed');
  assert.equal(failed.level, 'debug');
  // the legacy gateway's deliberate lack of forward secrecy is a config warning at start
  const warning = await legacy.waitForLog((l) => l.msg === 'config warning');
  assert.match(String(warning.warning), /server\.tls\.ciphers: warning: allows key exchange without forward secrecy/);
});

test('an invalid cipher list is a config error at its key: turnpike validate, and a reload (which keeps the old policy)', { skip }, async () => {
  assert.ok(legacy);
  const bad = config('    ciphers: "ECDHE-RSA-AES128-GCM-SHA256:AES128-GCM-SHA265"\n    groups: X25519:P-257');
  // `serve` runs the same load step before listening (and exits 1 with these lines); validate is the cheaper process.
  const validating = runCli(['validate', tempConfig(bad)]);
  legacy.writeConfig(bad);
  const [validated, rejected] = await Promise.all([validating, legacy.waitForLog((l) => l.msg === 'reload: config rejected; still serving the previous config', 30_000)]);
  assert.equal(validated.code, 1);
  assert.match(validated.stderr, /gateway\.yaml:9:14 server\.tls\.ciphers: "AES128-GCM-SHA265" matches no cipher suite .*; did you mean "AES128-GCM-SHA256"\?/);
  assert.match(validated.stderr, /gateway\.yaml:10:13 server\.tls\.groups: "P-257" is not a key-exchange group/);
  assert.ok((rejected.diagnostics as string[]).some((d) => /server\.tls\.ciphers: "AES128-GCM-SHA265"/.test(d)), JSON.stringify(rejected.diagnostics));
  assert.equal((await hello(legacyPort, { ciphers: 'AES128-GCM-SHA256', maxVersion: 'TLSv1.2' })).ok, true, 'the legacy policy still serves');
});

test('a reload to the default policy refuses static RSA on new connections, without a restart', { skip }, async () => {
  assert.ok(legacy);
  legacy.writeConfig(config());
  await legacy.waitForLog((l) => l.msg === 'tls certificates reloaded', 10_000);
  const refused = await hello(legacyPort, { ciphers: 'AES128-GCM-SHA256', maxVersion: 'TLSv1.2' });
  assert.equal(refused.ok, false, JSON.stringify(refused));
  assert.equal((await hello(legacyPort, { maxVersion: 'TLSv1.2' })).cipher, 'ECDHE-RSA-AES128-GCM-SHA256');
});
