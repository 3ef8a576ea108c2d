/**
 * The local issuer's signing key (docs/local-cognito.md): one RS256 key pair, made on first use and
 * kept as a private JWK in `<state dir>/local-issuer/signing-key.json` (mode 0600), so a serving
 * gateway and `turnpike token` agree without talking to each other. Whichever process needs the key
 * first creates it; two racing creators end with one key (the file is linked into place exclusively,
 * and the loser reads the winner's). The private part never leaves this module except as a signing
 * KeyObject, and is never logged.
 *
 * State dir: $TURNPIKE_STATE_DIR, else `turnpike-<uid>` in the OS temp dir (mode 0700), the same
 * default as the config cache. A key file another user could have written is refused, not used: it
 * would let them mint tokens this gateway accepts.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalIssuerError } from './local-issuer.js';

export const KEY_FILE = join('local-issuer', 'signing-key.json');

export interface PublicJwk {
  readonly kty: 'RSA';
  readonly n: string;
  readonly e: string;
  readonly kid: string;
  readonly alg: 'RS256';
  readonly use: 'sig';
}

export interface LocalSigningKey {
  /** Where the key is kept. */
  readonly file: string;
  readonly kid: string;
  readonly publicJwk: PublicJwk;
  readonly privateKey: KeyObject;
}

/** $TURNPIKE_STATE_DIR, else a per-user 0700 directory in the OS temp dir. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TURNPIKE_STATE_DIR) return env.TURNPIKE_STATE_DIR;
  return join(tmpdir(), `turnpike-${process.getuid?.() ?? 'user'}`);
}

/** RFC 7638 thumbprint of an RSA public key: a kid that names the key itself. */
function thumbprint(n: string, e: string): string {
  return createHash('sha256').update(JSON.stringify({ e, kty: 'RSA', n })).digest('base64url');
}

/** Why a file must not be trusted as our signing key, or undefined. */
function untrusted(file: string): string | undefined {
  const st = lstatSync(file);
  const uid = process.getuid?.();
  if (!st.isFile()) return 'it is not a regular file';
  if (uid !== undefined && st.uid !== uid) return 'it belongs to another user';
  if ((st.mode & 0o077) !== 0) return `its mode is ${(st.mode & 0o777).toString(8)}, readable or writable by others (chmod 600 it, or delete it to make a new key)`;
  const dir = lstatSync(join(file, '..'));
  if (uid !== undefined && dir.uid !== uid) return 'its directory belongs to another user';
  if ((dir.mode & 0o022) !== 0) return 'its directory is writable by others';
  // The state dir too: whoever owns it can swap the key's directory for their own.
  const state = lstatSync(join(file, '..', '..'));
  if (uid !== undefined && state.uid !== uid && state.uid !== 0) return 'the state directory belongs to another user';
  if ((state.mode & 0o022) !== 0 && (state.mode & 0o1000) === 0) return 'the state directory is writable by others';
  return undefined;
}

function fromJwk(file: string, text: string): LocalSigningKey {
  let jwk: Record<string, unknown>;
  try {
    jwk = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new LocalIssuerError(`${file}: not a JSON private key; delete it to make a new one`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch (e) {
    throw new LocalIssuerError(`${file}: not a usable private key (${(e as Error).message}); delete it to make a new one`);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new LocalIssuerError(`${file}: not an RSA key; delete it to make a new one`);
  const pub = createPublicKey(privateKey).export({ format: 'jwk' }) as { n: string; e: string };
  const kid = thumbprint(pub.n, pub.e);
  return { file, kid, privateKey, publicJwk: Object.freeze({ kty: 'RSA', n: pub.n, e: pub.e, kid, alg: 'RS256', use: 'sig' }) };
}

/** Reads the key, or undefined when there is none yet. Throws LocalIssuerError for an unusable or untrusted file. */
export function readSigningKey(dir: string = stateDir()): LocalSigningKey | undefined {
  const file = join(dir, KEY_FILE);
  let why: string | undefined;
  try {
    why = untrusted(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (why !== undefined) throw new LocalIssuerError(`refusing the local issuer key ${file}: ${why}`);
  return fromJwk(file, readFileSync(file, 'utf8'));
}

/** The key, made (RSA 2048, as Cognito's) and stored on first use. */
export function loadOrCreateSigningKey(dir: string = stateDir()): LocalSigningKey {
  const existing = readSigningKey(dir);
  if (existing !== undefined) return existing;
  const keyDir = join(dir, 'local-issuer');
  mkdirSync(keyDir, { recursive: true, mode: 0o700 });
  const file = join(dir, KEY_FILE);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const tmp = join(keyDir, `.signing-key.${process.pid}.${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, `${JSON.stringify(privateKey.export({ format: 'jwk' }))}\n`, { mode: 0o600, flag: 'wx' });
  try {
    // link() fails when the name exists: of two processes creating a key at once, one wins and both use its key.
    linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  const key = readSigningKey(dir);
  if (key === undefined) throw new LocalIssuerError(`${file}: the key vanished while it was being created`);
  return key;
}

/** The public key set the local issuer publishes (and the jwt plugin verifies with). */
export function publicJwks(key: LocalSigningKey): { keys: PublicJwk[] } {
  return { keys: [key.publicJwk] };
}

/** A compact JWS (RS256) over `claims`, with the header Cognito's tokens carry: kid and alg. */
export function signToken(key: LocalSigningKey, claims: Readonly<Record<string, unknown>>): string {
  const header = Buffer.from(JSON.stringify({ kid: key.kid, alg: 'RS256' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = `${header}.${payload}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}
