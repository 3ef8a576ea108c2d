/**
 * Test PKI made at test time with the openssl CLI in a temp dir: one CA, server certificates for
 * given host names (CN + subjectAltName), client certificates signed by the same or another CA.
 * Returns undefined when the openssl CLI is not available (tests skip).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
  /** PEM text of the certificate. */
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  dir: string;
  ca: CertFiles;
  /**
   * A server certificate for these host names (the first is the CN); `name` is the file stem. The key
   * is EC P-256 unless `key` is 'rsa' (2048 bits): only an RSA key can serve static-RSA suites.
   */
  server(name: string, hosts: string[], key?: KeyType): CertFiles;
  /** A client certificate with this subject (e.g. '/CN=alice/O=Acme'), signed by this CA or by `other`. */
  client(name: string, subject: string, signer?: CertFiles): CertFiles;
  /** Another, unrelated CA (for certificates the gateway must not trust). */
  otherCa(name: string): CertFiles;
}

export type KeyType = 'ec' | 'rsa';

let available: boolean | undefined;
export function opensslAvailable(): boolean {
  if (available === undefined) {
    try {
      execFileSync('openssl', ['version'], { stdio: 'pipe' });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function files(dir: string, name: string): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  return { cert, key, certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

function makeCa(dir: string, name: string, cn: string): CertFiles {
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return files(dir, name);
}

function sign(dir: string, name: string, subject: string, ext: string, ca: CertFiles, key: KeyType = 'ec'): CertFiles {
  const newkey = key === 'rsa' ? ['rsa:2048'] : ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['req', '-newkey', ...newkey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  return files(dir, name);
}

export function createPki(): TestPki | undefined {
  if (!opensslAvailable()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-pki-'));
  const ca = makeCa(dir, 'ca', 'Turnpike Test CA');
  return {
    dir,
    ca,
    server: (name, hosts, key) =>
      sign(
        dir,
        name,
        `/CN=${hosts[0]}`,
        // keyEncipherment: an RSA key that transports the premaster secret (static-RSA suites) needs it.
        `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature${key === 'rsa' ? ',keyEncipherment' : ''}\nextendedKeyUsage=serverAuth\nsubjectAltName=${hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',')}\n`,
        ca,
        key,
      ),
    client: (name, subject, signer) => sign(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n', signer ?? ca),
    otherCa: (name) => makeCa(dir, name, `Other CA ${name}`),
  };
}
