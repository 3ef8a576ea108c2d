/**
 * HTTPS listener lifecycle through the real gateway process: mutual TLS required, certificate files
 * re-read on reload (replace the files, touch the config), TLS settings changed by a reload, bad
 * certificate paths reported as config errors at file:line:col (at start, and on reload while the
 * old certificates keep serving), and HTTPS in cluster mode.
 */
import assert from 'node:assert/strict';
import { copyFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { type CertFiles, type TestPki, createPki } from '../helpers/certs.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { within } from '../helpers/proxy.js';

const pki: TestPki | undefined = createPki();
const skip = pki === undefined && 'openssl CLI not available';

let gw: RunningGateway | undefined;
let cluster: RunningGateway | undefined;
let one: CertFiles;
let two: CertFiles;
let alice: CertFiles;
let mallory: CertFiles;

before(() => {
  if (pki === undefined) return;
  one = pki.server('one', ['svc.test']);
  two = pki.server('two', ['svc.test', 'renewed.test']);
  alice = pki.client('alice', '/CN=alice');
  mallory = pki.client('mallory', '/CN=mallory', pki.otherCa('evil'));
});
after(async () => {
  await gw?.stop();
  await cluster?.stop();
});

async function httpsPortOf(g: RunningGateway): Promise<number> {
  return (await g.waitForLog((l) => l.msg === 'listening')).httpsPort as number;
}

interface Probe {
  ok: boolean;
  /** Serial number of the certificate served. */
  serial?: string;
  status?: number;
  body?: string;
  alpn?: string | false | null;
  error?: string;
}

/** Connects with SNI svc.test, optionally with a client certificate, sends one HTTP/1.1 request. */
function probe(port: number, opts: tls.ConnectionOptions = {}): Promise<Probe> {
  return within(
    new Promise<Probe>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'svc.test', ca: pki?.ca.certPem, ALPNProtocols: ['http/1.1'], ...opts });
      let buf = '';
      let serial: string | undefined;
      let alpn: string | false | null = null;
      s.on('secureConnect', () => {
        serial = s.getPeerX509Certificate()?.serialNumber;
        alpn = s.alpnProtocol;
        s.write('GET /who HTTP/1.1\r\nhost: svc.test\r\nconnection: close\r\n\r\n');
      });
      s.setEncoding('utf8').on('data', (c: string) => (buf += c));
      s.on('end', () => {
        const status = Number(buf.split(' ')[1]);
        resolve(Number.isFinite(status) && status > 0 ? { ok: true, serial, status, body: buf.slice(buf.indexOf('\r\n\r\n') + 4), alpn } : { ok: false, serial, error: 'closed without an answer' });
      });
      s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, serial, error: err.code ?? err.message }));
    }),
    5_000,
    'tls probe',
  );
}

const config = (cert: string, key: string, extra = '') => `
server:
  accessLog: false
  tls:
    certificates:
      - { hosts: [svc.test], cert: ${cert}, key: ${key} }
    clientCa: ca.crt
    requestClientCert: required
${extra}
apis:
  - name: t
    routes:
      - { methods: [GET], path: /who, integration: { type: mock, body: { ok: true } } }
`;

test('mutual TLS required: no certificate or an untrusted one is refused in the handshake; a trusted one is served', { skip }, async () => {
  assert.ok(pki);
  // live.crt/live.key are what the config names (paths relative to the config file); renewal replaces them
  copyFileSync(one.cert, join(pki.dir, 'live.crt'));
  copyFileSync(one.key, join(pki.dir, 'live.key'));
  gw = await startGateway(config('live.crt', 'live.key'), { dir: pki.dir, fileName: 'gw.yaml', args: ['--https-port', '0'] });
  const port = await httpsPortOf(gw);

  const anon = await probe(port);
  assert.equal(anon.ok, false, 'served without a client certificate');
  const untrusted = await probe(port, { cert: mallory.certPem, key: mallory.keyPem });
  assert.equal(untrusted.ok, false, 'served with a certificate from an unknown CA');
  const trusted = await probe(port, { cert: alice.certPem, key: alice.keyPem });
  assert.equal(trusted.ok, true, trusted.error);
  assert.equal(trusted.status, 200);
  assert.equal(trusted.serial, new (await import('node:crypto')).X509Certificate(one.certPem).serialNumber);
});

test('certificate renewal: replaced files + touched config -> the new certificate is served, without a restart', { skip }, async () => {
  assert.ok(pki && gw);
  const port = await httpsPortOf(gw);
  const { X509Certificate } = await import('node:crypto');
  const serialOne = new X509Certificate(one.certPem).serialNumber;
  const serialTwo = new X509Certificate(two.certPem).serialNumber;
  assert.notEqual(serialOne, serialTwo);
  // each probe is a new handshake: the old certificate first
  assert.equal((await probe(port, { cert: alice.certPem, key: alice.keyPem })).serial, serialOne);

  copyFileSync(two.cert, join(pki.dir, 'live.crt'));
  copyFileSync(two.key, join(pki.dir, 'live.key'));
  const now = new Date();
  utimesSync(gw.file, now, new Date(now.getTime() + 2_000)); // touch: same text, new mtime
  await gw.waitForLog((l) => l.msg === 'tls certificates reloaded', 10_000);
  const after = await probe(port, { cert: alice.certPem, key: alice.keyPem });
  assert.equal(after.ok, true, after.error);
  assert.equal(after.serial, serialTwo);
});

test('a reload with a missing certificate file is rejected with file:line:col; the old certificate keeps serving', { skip }, async () => {
  assert.ok(pki && gw);
  const port = await httpsPortOf(gw);
  const before = (await probe(port, { cert: alice.certPem, key: alice.keyPem })).serial;
  gw.writeConfig(config('missing.crt', 'live.key'));
  const line = await gw.waitForLog((l) => l.msg === 'reload: config rejected; still serving the previous config', 10_000);
  const diags = line.diagnostics as string[];
  // the certificates entry is on line 6 of the config text, `cert:` at column 38
  assert.ok(
    diags.some((d) => /gw\.yaml:6:\d+ server\.tls\.certificates\[0\]\.cert: cannot read .*missing\.crt: ENOENT/.test(d)),
    diags.join('\n'),
  );
  const still = await probe(port, { cert: alice.certPem, key: alice.keyPem });
  assert.equal(still.ok, true);
  assert.equal(still.serial, before);
});

test('TLS settings follow a reload: client certificates become optional, HTTP/2 is switched off', { skip }, async () => {
  assert.ok(pki && gw);
  const port = await httpsPortOf(gw);
  const logs = gw.logs;
  const since = logs.length;
  gw.writeConfig(config('live.crt', 'live.key').replace('requestClientCert: required', 'requestClientCert: optional\n    http2: false'));
  // not the first 'config reloaded' of this gateway: the renewed certificate was a new config version too
  await gw.waitForLog((l) => l.msg === 'config reloaded' && logs.indexOf(l) >= since, 10_000);
  const anon = await probe(port);
  assert.equal(anon.ok, true, anon.error);
  assert.equal(anon.status, 200);
  const h2 = await probe(port, { ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(h2.alpn, 'http/1.1');
});

test('a missing certificate at start: exit 1 with file:line:col for every bad path', { skip }, async () => {
  assert.ok(pki);
  const bad = await startGateway(
    `
server:
  tls:
    certificates:
      - { hosts: [a.test], cert: /nonexistent/a.crt, key: /nonexistent/a.key }
    clientCa: ${one.cert}
    requestClientCert: required
apis:
  - name: t
    routes:
      - { path: /x, integration: { type: mock } }
`,
    { expectExit: true, args: ['--https-port', '0'] },
  );
  assert.equal(bad.proc.exitCode, 1);
  const err = bad.stderr();
  assert.match(err, /gateway\.yaml:5:\d+ server\.tls\.certificates\[0\]\.cert: cannot read \/nonexistent\/a\.crt: ENOENT/);
  assert.match(err, /gateway\.yaml:5:\d+ server\.tls\.certificates\[0\]\.key: cannot read \/nonexistent\/a\.key: ENOENT/);

  // a key that does not belong to the certificate, and requestClientCert without clientCa
  const mismatch = await startGateway(
    `
server:
  tls:
    certificates:
      - { hosts: [a.test], cert: ${one.cert}, key: ${alice.key} }
    requestClientCert: optional
apis: []
`,
    { expectExit: true, args: ['--https-port', '0'] },
  );
  assert.equal(mismatch.proc.exitCode, 1);
  assert.match(mismatch.stderr(), /server\.tls\.certificates\[0\]\.key: cannot be used with/);
  assert.match(mismatch.stderr(), /server\.tls\.requestClientCert: "optional" needs server\.tls\.clientCa/);
});

test('cluster mode: every worker serves HTTPS on the shared port', { skip }, async () => {
  assert.ok(pki);
  cluster = await startGateway(
    `
server:
  accessLog: false
  tls:
    certificates:
      - { hosts: [svc.test], cert: ${one.cert}, key: ${one.key} }
apis:
  - name: t
    routes:
      - { methods: [GET], path: /who, integration: { type: mock, body: { ok: true } } }
`,
    { workers: 2, args: ['--https-port', '0'] },
  );
  const port = await httpsPortOf(cluster);
  assert.ok(port > 0);
  for (let i = 0; i < 6; i++) {
    const r = await probe(port);
    assert.equal(r.ok, true, r.error);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body ?? ''), { ok: true });
  }
});
