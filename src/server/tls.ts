/**
 * TLS for the client-facing HTTPS listener: certificates per host name (SNI) read from the files the
 * config names, an optional client CA (mutual TLS), and the client certificate turned into the shape
 * AWS passes on (`requestContext.identity.clientCert`).
 *
 * Everything is built from the config at load and on every reload into one immutable `TlsState`; the
 * listener's SNI callback reads the current state, so a reload swaps all contexts at once and a
 * handshake never sees half of an old and half of a new set. A problem with a file (missing, not PEM,
 * key not matching the certificate) is a config error at `file:line:col` of the key that names it.
 * What handshakes may negotiate (versions, cipher suites, groups, server preference) comes from
 * src/config/tls-policy.ts and goes into every context.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import { ConfigError, type Diagnostic, formatPath } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import { ConfigReads } from '../config/reads.js';
import { type TlsPolicy, resolveTlsPolicy } from '../config/tls-policy.js';

export type ClientCertMode = 'none' | 'optional' | 'required';

export interface TlsSettings {
  /** Listen port from the config (the --https-port flag overrides it); undefined: 8443. */
  port: number | undefined;
  http2: boolean;
  requestClientCert: ClientCertMode;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  redirectHttp: boolean;
  /** Cipher suites, groups, server preference (src/config/tls-policy.ts). */
  policy: TlsPolicy;
}

export interface CertInfo {
  hosts: readonly string[];
  subject: string;
  altNames: string;
  notAfter: string;
}

export interface TlsState {
  readonly settings: TlsSettings;
  /** Exact host names (lower case) -> context. */
  readonly exact: ReadonlyMap<string, SecureContext>;
  /** `*.example.com` entries as ['.example.com', context], longest suffix first. */
  readonly wildcards: readonly (readonly [string, SecureContext])[];
  /** Served when the client sends no SNI name or one no entry covers. */
  readonly fallback: SecureContext;
  /** Options the default (no SNI) context was built from: what the server's own shared context uses. */
  readonly defaultOptions: tls.SecureContextOptions;
  /** Hash of everything read (config keys and file contents): equal fingerprints need no swap. */
  readonly fingerprint: string;
  readonly certificates: readonly CertInfo[];
}

interface RawCert {
  hosts?: unknown;
  cert?: unknown;
  key?: unknown;
}
interface RawTls {
  port?: unknown;
  certificates?: RawCert[];
  default?: RawCert;
  http2?: unknown;
  clientCa?: unknown;
  requestClientCert?: unknown;
  minVersion?: unknown;
  redirectHttp?: unknown;
  ciphers?: unknown;
  cipherSuites?: unknown;
  groups?: unknown;
}

/** The validated config's `server.tls` (undefined when absent). Call after the schema validated the document. */
export function rawTlsConfig(doc: SourceDocument): RawTls | undefined {
  const server = (doc.data as { server?: { tls?: RawTls } } | null | undefined)?.server;
  return server?.tls ?? undefined;
}

function bool(v: unknown, def: boolean): boolean {
  if (v === undefined) return def;
  return v === true || v === 'true';
}

/**
 * Reads every certificate, key and CA the config's `server.tls` names (relative paths are relative to
 * the config file) and builds the contexts. Throws ConfigError with every problem found.
 * Returns undefined when the config has no `server.tls`. The files are read through `reads`, the
 * config version's recorder (src/config/reads.ts): a renewed certificate is a new config version.
 */
export function loadTls(doc: SourceDocument, reads: ConfigReads = new ConfigReads()): TlsState | undefined {
  const raw = rawTlsConfig(doc);
  if (raw === undefined) return undefined;
  const base = dirname(resolve(doc.file));
  const diagnostics: Diagnostic[] = [];
  const problem = (path: (string | number)[], message: string) => {
    const full = ['server', 'tls', ...path];
    const pos = doc.locate(full);
    diagnostics.push({ file: doc.file, line: pos.line, column: pos.column, path: formatPath(full), message, severity: 'error' });
  };
  const hash = createHash('sha256');
  const read = (path: (string | number)[], value: unknown): Buffer | undefined => {
    if (typeof value !== 'string' || value === '') {
      problem(path, 'must be a file path');
      return undefined;
    }
    const abs = resolve(base, value);
    try {
      const buf = reads.readFile(abs);
      hash.update(abs).update('\0').update(buf).update('\0');
      return buf;
    } catch (err) {
      problem(path, `cannot read ${abs}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      return undefined;
    }
  };

  const minVersion = (raw.minVersion as 'TLSv1.2' | 'TLSv1.3' | undefined) ?? 'TLSv1.2';
  const str = (v: unknown) => (v === undefined ? undefined : String(v));
  // Normally compile() has already reported these (with the warnings); kept so loadTls stands alone.
  const { policy, problems } = resolveTlsPolicy({ ciphers: str(raw.ciphers), cipherSuites: str(raw.cipherSuites), groups: str(raw.groups), minVersion });
  for (const p of problems) if (p.severity === 'error') problem([p.key], p.message);
  // Contexts built from a bad list would fail and blame the certificates: stop here.
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  const settings: TlsSettings = {
    port: raw.port === undefined ? undefined : Number(raw.port),
    http2: bool(raw.http2, true),
    requestClientCert: (raw.requestClientCert as ClientCertMode | undefined) ?? 'none',
    minVersion,
    redirectHttp: bool(raw.redirectHttp, false),
    policy,
  };
  hash.update(JSON.stringify(settings));

  let ca: Buffer | undefined;
  if (raw.clientCa !== undefined) {
    ca = read(['clientCa'], raw.clientCa);
    if (ca !== undefined) {
      try {
        new X509Certificate(ca);
      } catch {
        problem(['clientCa'], 'is not a PEM certificate');
        ca = undefined;
      }
    }
  }
  if (settings.requestClientCert !== 'none' && raw.clientCa === undefined) {
    problem(['requestClientCert'], `"${settings.requestClientCert}" needs server.tls.clientCa (the CA that signs client certificates)`);
  }

  const build = (path: (string | number)[], entry: RawCert): { ctx: SecureContext; options: tls.SecureContextOptions; info: Omit<CertInfo, 'hosts'> } | undefined => {
    const cert = read([...path, 'cert'], entry.cert);
    const key = read([...path, 'key'], entry.key);
    if (cert === undefined || key === undefined) return undefined;
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      problem([...path, 'cert'], 'is not a PEM certificate');
      return undefined;
    }
    // The policy goes into every context, but what a handshake negotiates comes from the server's own
    // context (the default options): an SNI context only swaps in its certificate, key and CA list.
    const options: tls.SecureContextOptions = { cert, key, minVersion: settings.minVersion, ...settings.policy, ...(ca !== undefined ? { ca } : {}) };
    try {
      const ctx = tls.createSecureContext(options);
      return { ctx, options, info: { subject: x509.subject.replace(/\n/g, ', '), altNames: x509.subjectAltName ?? '', notAfter: x509.validTo } };
    } catch (err) {
      // key/certificate mismatch, an encrypted key, a key that is not PEM...
      problem([...path, 'key'], `cannot be used with ${String(entry.cert)}: ${(err as Error).message}`);
      return undefined;
    }
  };

  const exact = new Map<string, SecureContext>();
  const wildcards: [string, SecureContext][] = [];
  const certificates: CertInfo[] = [];
  let first: { ctx: SecureContext; options: tls.SecureContextOptions } | undefined;
  (raw.certificates ?? []).forEach((entry, i) => {
    const built = build(['certificates', i], entry);
    if (built === undefined) return;
    const hosts = Array.isArray(entry.hosts) ? (entry.hosts as unknown[]).map((h) => String(h).toLowerCase()) : [];
    hosts.forEach((h, j) => {
      if (h.startsWith('*.')) wildcards.push([h.slice(1), built.ctx]);
      else if (exact.has(h)) problem(['certificates', i, 'hosts', j], `host ${h} already has a certificate (an earlier entry)`);
      else exact.set(h, built.ctx);
    });
    first ??= built;
    certificates.push({ hosts, ...built.info });
  });
  let fallback = first;
  if (raw.default !== undefined) {
    const built = build(['default'], raw.default);
    if (built !== undefined) {
      fallback = built;
      certificates.push({ hosts: ['(default)'], ...built.info });
    }
  }
  if (fallback === undefined && diagnostics.length === 0) problem([], 'needs at least one certificate (certificates or default)');
  if (diagnostics.length > 0 || fallback === undefined) throw new ConfigError(diagnostics);
  wildcards.sort((a, b) => b[0].length - a[0].length);
  return {
    settings,
    exact,
    wildcards,
    fallback: fallback.ctx,
    defaultOptions: fallback.options,
    fingerprint: hash.digest('hex'),
    certificates,
  };
}

/** The context for an SNI name: exact match, then the longest wildcard (one label deep, as certificates match), then the default. */
export function contextFor(state: TlsState, servername: string): SecureContext {
  const name = servername.toLowerCase().replace(/\.$/, '');
  const hit = state.exact.get(name);
  if (hit !== undefined) return hit;
  for (const [suffix, ctx] of state.wildcards) {
    if (name.endsWith(suffix) && name.indexOf('.') === name.length - suffix.length) return ctx;
  }
  return state.fallback;
}

/** ALPN list for the settings: h2 first when HTTP/2 is on (clients pick by our order). */
export function alpnProtocols(settings: TlsSettings): string[] {
  return settings.http2 ? ['h2', 'http/1.1'] : ['http/1.1'];
}

/**
 * AWS's `clientCert` shape (REST API `requestContext.identity.clientCert`, HTTP API
 * `requestContext.authentication.clientCert`): PEM, subject and issuer DNs, serial number as
 * colon-separated hex, validity in OpenSSL's text form.
 */
export interface ClientCert {
  clientCertPem: string;
  subjectDN: string;
  issuerDN: string;
  serialNumber: string;
  validity: { notBefore: string; notAfter: string };
}

const certCache = new WeakMap<TLSSocket, ClientCert | null>();

/** The verified client certificate of a TLS socket (null when none was sent or it did not verify). Computed once per connection. */
export function clientCertOf(socket: TLSSocket): ClientCert | null {
  const cached = certCache.get(socket);
  if (cached !== undefined) return cached;
  let out: ClientCert | null = null;
  if (socket.authorized) {
    const x = socket.getPeerX509Certificate();
    if (x !== undefined) {
      out = {
        clientCertPem: x.toString(),
        subjectDN: distinguishedName(x.subject),
        issuerDN: distinguishedName(x.issuer),
        serialNumber: (x.serialNumber.length % 2 === 1 ? `0${x.serialNumber}` : x.serialNumber).toLowerCase().replace(/(..)(?!$)/g, '$1:'),
        validity: { notBefore: x.validFrom, notAfter: x.validTo },
      };
    }
  }
  certCache.set(socket, out);
  return out;
}

/** Node prints a DN one attribute per line, most significant first; RFC 4514 writes it reversed and comma-separated. */
function distinguishedName(nodeForm: string): string {
  return nodeForm
    .split('\n')
    .filter((l) => l !== '')
    .reverse()
    .map((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? l : `${l.slice(0, eq)}=${l.slice(eq + 1).replace(/([,+"\\<>;])/g, '\\$1')}`;
    })
    .join(',');
}
