/**
 * What a TLS handshake on the HTTPS listener may negotiate: cipher suites for TLS 1.2 and TLS 1.3,
 * key-exchange groups, whose preference wins; the defaults; and the checks that turn a bad
 * `server.tls.ciphers`, `cipherSuites` or `groups` into a config error when the config is loaded
 * (`turnpike validate`, start, reload), not at the first handshake.
 *
 * Why the checks go name by name: OpenSSL accepts a cipher list as long as ONE entry matches
 * something, silently dropping every name it does not know ("ECDHE-RSA-AES128-GCM-SHA256:TYPO" is
 * accepted, and so is a TLS 1.3 list with a misspelt suite). A typo would then narrow or widen what
 * is served without a word; here each entry is tried on its own against the OpenSSL this Node
 * carries, so the message names the entry.
 *
 * Defaults (docs/tls.md, "Protocol versions and cipher suites"):
 * - TLS 1.2: ECDHE key exchange only, AEAD ciphers only (AES-GCM, ChaCha20-Poly1305). RFC 9325 §4.1:
 *   implementations SHOULD NOT negotiate static-RSA key transport and MUST prefer forward secrecy;
 *   §4.2 recommends only ECDHE suites with AES-GCM. This is Mozilla's "intermediate" profile
 *   (server-side TLS guidelines 6.0), which also drops the CBC-mode ECDHE suites and finite-field DHE.
 * - TLS 1.3: its three general-purpose suites (all AEAD, all with (EC)DHE key exchange).
 * - Groups X25519, P-256, P-384 (the same profile, less X25519MLKEM768, which Node 20's OpenSSL 3.0
 *   does not have).
 * - The server's order wins (RFC 9325 §4.2.1: a server MUST prefer the recommended ECDHE AES-128-GCM
 *   suite over weaker suites whenever the client proposes it, even if not first), so a legacy suite
 *   allowed by a custom list is only chosen for a client that offers nothing better; with
 *   SSL_OP_PRIORITIZE_CHACHA a client that puts ChaCha20 first (no AES hardware) still gets it.
 */
import { constants } from 'node:crypto';
import tls from 'node:tls';
import { didYouMean } from './suggest.js';

/** TLS 1.2 suites served by default, in preference order (OpenSSL names). */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** TLS 1.3 suites served by default, in preference order. */
export const DEFAULT_TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'].join(':');

/** Key-exchange groups (ECDHE in TLS 1.2, key shares in TLS 1.3), in preference order. */
export const DEFAULT_GROUPS = 'X25519:P-256:P-384';

/** What the HTTPS listener's contexts are built with (spread into tls.createSecureContext options). */
export interface TlsPolicy {
  /** Node's form: the TLS 1.3 suites (TLS_*) and the TLS 1.2 list in one colon-separated string. */
  readonly ciphers: string;
  readonly ecdhCurve: string;
  readonly honorCipherOrder: true;
  readonly secureOptions: number;
}

export interface TlsPolicyInput {
  ciphers?: string | undefined;
  cipherSuites?: string | undefined;
  groups?: string | undefined;
  minVersion?: string | undefined;
}

export interface TlsPolicyProblem {
  key: 'ciphers' | 'cipherSuites' | 'groups';
  message: string;
  severity: 'error' | 'warning';
}

const OPENSSL = `this Node's OpenSSL ${process.versions.openssl}`;

function accepts(options: tls.SecureContextOptions): boolean {
  try {
    tls.createSecureContext(options);
    return true;
  } catch {
    return false;
  }
}

// A probe builds an OpenSSL context (under a millisecond); a reload re-checks the same few strings, so the
// answers are kept (bounded: config strings come from operators, but also through the Admin API).
const matchCache = new Map<string, boolean>();
/** Whether an OpenSSL cipher-list expression selects at least one TLS 1.2 suite of this build. */
function selectsAny(expr: string): boolean {
  let hit = matchCache.get(expr);
  if (hit === undefined) {
    hit = accepts({ ciphers: expr });
    if (matchCache.size >= 4_096) matchCache.clear();
    matchCache.set(expr, hit);
  }
  return hit;
}

let names12: string[] | undefined;
let names13: string[] | undefined;
/** Suite names this build knows (tls.getCiphers() lower-cases them; OpenSSL matches them case-sensitively). */
function knownNames(): { tls12: string[]; tls13: string[] } {
  if (names12 === undefined || names13 === undefined) {
    const all = tls.getCiphers().map((c) => c.toUpperCase());
    names12 = all.filter((c) => !c.startsWith('TLS_'));
    names13 = all.filter((c) => c.startsWith('TLS_'));
  }
  return { tls12: names12, tls13: names13 };
}

// Common cipher-list keywords, only for "did you mean" (whether a word is valid is asked of OpenSSL itself).
const KEYWORDS = 'ALL DEFAULT HIGH MEDIUM kRSA aRSA RSA kECDHE kEECDH ECDHE EECDH kDHE kEDH DHE EDH aECDSA ECDSA aDSS DSS aNULL eNULL NULL PSK SRP AES AES128 AES256 AESGCM AESCCM CHACHA20 CAMELLIA ARIA SHA1 SHA256 SHA384'.split(' ');

const suggestion = (word: string, candidates: readonly string[]): string => {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : `; did you mean "${s}"?`;
};
/** A suggestion for a misspelt TLS 1.2 cipher-list word (none for `A+B` combinations). */
const suggest12 = (body: string): string => (body.includes('+') ? '' : suggestion(body, [...KEYWORDS, ...knownNames().tls12]));

// Everything a TLS 1.2 suite can authenticate with except "nothing" (aNULL), and every bulk cipher
// except "none" (eNULL): what is left after killing these is the anonymous / unencrypted part.
const KILL_AUTHENTICATED = '!aRSA:!aECDSA:!aDSS:!aPSK:!aSRP:!aGOST01:!aGOST12';
const KILL_ENCRYPTED = '!AES:!CHACHA20:!CAMELLIA:!ARIA:!3DES:!DES:!RC4:!RC2:!IDEA:!SEED:!GOST89:!SM4';
// The forward-secret key exchanges: what is left after killing them is static RSA (or PSK/SRP).
const KILL_FORWARD_SECRET = '!kECDHE:!kDHE:!kECDHEPSK:!kDHEPSK';

function checkTls12(list: string, minVersion: string | undefined, report: (message: string, severity: 'error' | 'warning') => void): void {
  let errors = 0;
  const error = (m: string) => {
    errors++;
    report(m, 'error');
  };
  // OpenSSL's separators: colon (usual), comma or space.
  for (const entry of list.split(/[:, ]+/).filter((e) => e !== '')) {
    const op = entry[0] === '!' || entry[0] === '-' || entry[0] === '+' ? entry[0] : '';
    const body = entry.slice(op.length);
    if (body === '') {
      error(`"${entry}": "${op}" needs a cipher name or keyword after it`);
      continue;
    }
    if (body.startsWith('TLS_')) {
      error(`"${body}" is a TLS 1.3 suite: list it in server.tls.cipherSuites (ciphers is the TLS 1.2 list)`);
      continue;
    }
    if (body.startsWith('@')) {
      if (!/^@(?:STRENGTH|SECLEVEL=[0-5])$/.test(body)) error(`"${body}": the only @ commands are @STRENGTH and @SECLEVEL=0..5`);
      continue;
    }
    if (selectsAny(body)) continue;
    if (op === '!' || op === '-') {
      // Harmless (it cannot add a suite) and common in copied lists ("!RC4", "!EXPORT"): a warning, in case it is a typo.
      report(`"${entry}": "${body}" matches no cipher suite ${OPENSSL} supports, so excluding it has no effect${suggest12(body)}`, 'warning');
    } else {
      error(`"${body}" matches no cipher suite ${OPENSSL} supports (names and keywords are case-sensitive, as \`openssl ciphers -v\` prints them)${suggest12(body)}`);
    }
  }
  if (errors > 0) return;
  if (!selectsAny(list)) {
    error('selects no cipher suite (every entry is excluded again)');
    return;
  }
  // Suites no client may get from a server with certificates, whatever the operator wrote:
  // NULL encryption (RFC 9325 §4.1: MUST NOT) and anonymous key exchange (no authentication).
  if (selectsAny(`${list}:${KILL_AUTHENTICATED}`)) error('allows anonymous suites (no server authentication): add "!aNULL"');
  if (selectsAny(`${list}:${KILL_ENCRYPTED}`)) error('allows suites without encryption (RFC 9325 §4.1: MUST NOT): add "!eNULL"');
  if (errors > 0) return;
  if (minVersion === 'TLSv1.3') {
    report('has no effect with minVersion TLSv1.3 (TLS 1.3 suites are set by server.tls.cipherSuites)', 'warning');
    return;
  }
  if (selectsAny(`${list}:${KILL_FORWARD_SECRET}`)) {
    report(
      'allows key exchange without forward secrecy (such as static RSA): whoever obtains the certificate key later can decrypt recorded sessions (RFC 9325 §4.1); keep it only while clients that cannot do ECDHE need it',
      'warning',
    );
  }
}

function checkTls13(list: string, report: (message: string, severity: 'error' | 'warning') => void): void {
  const known = knownNames().tls13;
  let errors = 0;
  for (const entry of list.split(':')) {
    if (entry === '') {
      errors++;
      report('has an empty entry (suites are separated by single colons)', 'error');
    } else if (!entry.startsWith('TLS_') && selectsAny(entry)) {
      errors++;
      report(`"${entry}" is a TLS 1.2 cipher: list it in server.tls.ciphers (cipherSuites is the TLS 1.3 list)`, 'error');
    } else if (!known.includes(entry)) {
      errors++;
      report(`"${entry}" is not a TLS 1.3 suite ${OPENSSL} supports (${known.join(', ')})${suggestion(entry, known)}`, 'error');
    }
  }
  if (errors === 0 && !accepts({ ciphers: `${list}:${DEFAULT_TLS12_CIPHERS}` })) report('is not a valid TLS 1.3 suite list', 'error');
}

const groupCache = new Map<string, boolean>();
function checkGroups(list: string, report: (message: string, severity: 'error' | 'warning') => void): void {
  if (list === 'auto') return;
  for (const entry of list.split(':')) {
    let ok = groupCache.get(entry);
    if (ok === undefined) {
      ok = entry !== '' && entry !== 'auto' && accepts({ ecdhCurve: entry });
      if (groupCache.size >= 1_024) groupCache.clear();
      groupCache.set(entry, ok);
    }
    if (!ok) {
      report(
        entry === ''
          ? 'has an empty entry (groups are separated by single colons)'
          : `"${entry}" is not a key-exchange group ${OPENSSL} supports (for example X25519, P-256, P-384, P-521, X448, ffdhe2048); "auto" alone means OpenSSL's default list`,
        'error',
      );
    }
  }
}

/**
 * The policy for a `server.tls` block (undefined values take the defaults) and every problem with it.
 * Pure apart from the memoized probes of the OpenSSL build; cheap for the defaults, which are not probed.
 */
export function resolveTlsPolicy(input: TlsPolicyInput): { policy: TlsPolicy; problems: TlsPolicyProblem[] } {
  const tls12 = input.ciphers ?? DEFAULT_TLS12_CIPHERS;
  const tls13 = input.cipherSuites ?? DEFAULT_TLS13_SUITES;
  const groups = input.groups ?? DEFAULT_GROUPS;
  const problems: TlsPolicyProblem[] = [];
  const reporter = (key: TlsPolicyProblem['key']) => (message: string, severity: 'error' | 'warning') => problems.push({ key, message, severity });
  if (tls12 !== DEFAULT_TLS12_CIPHERS) checkTls12(tls12, input.minVersion, reporter('ciphers'));
  if (tls13 !== DEFAULT_TLS13_SUITES) checkTls13(tls13, reporter('cipherSuites'));
  if (groups !== DEFAULT_GROUPS) checkGroups(groups, reporter('groups'));
  return {
    policy: {
      // Node hands names starting with TLS_ to SSL_CTX_set_ciphersuites and the rest to SSL_CTX_set_cipher_list.
      ciphers: `${tls13}:${tls12}`,
      ecdhCurve: groups,
      honorCipherOrder: true,
      secureOptions: constants.SSL_OP_PRIORITIZE_CHACHA,
    },
    problems,
  };
}
