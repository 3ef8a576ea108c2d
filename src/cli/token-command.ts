/**
 * `turnpike token`: mints a token the local issuer accepts (docs/local-cognito.md), and the
 * `serve --local-issuer / --issuer-overrides` switch. The work is in src/security/local-issuer*.ts,
 * imported when a command runs (this module loads only commander types, like the other declarations).
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';

// No default list: commander would print "(default: [])" in the help.
const collect = (v: string, acc: string[] = []) => [...acc, v];

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds, or a number with a unit (90s, 15m, 2h, 1d); negative makes an already expired token. */
export function parseExpiresIn(v: string): number {
  const m = /^(-?\d+)([smhd]?)$/.exec(v.trim());
  if (m === null) throw new InvalidArgumentError('must be seconds or a number with a unit: 3600, 15m, 2h, 1d (negative: already expired, e.g. --expires-in=-60)');
  return Number(m[1]) * (UNIT_SECONDS[m[2] || 's'] as number);
}

export interface LocalIssuerCliOptions {
  localIssuer?: string | true;
  issuerOverrides?: string;
}

/** serve's options for local issuer mode (the caller adds them to its command). */
export const LOCAL_ISSUER_OPTIONS = [
  new Option(
    '--local-issuer [pools]',
    'development: verify Cognito user pool tokens against the local key `turnpike token` signs with; all pools, or a comma-separated list of pool ids, ARNs or issuer URLs (docs/local-cognito.md)',
  ),
  new Option('--issuer-overrides <json>', 'development: point issuers at other keys, {"<issuer, pool ARN or id>": {"jwksUri": "...", "issuer"?: "..."}} as JSON, or @FILE'),
] as const;

/**
 * Sets this process's local issuer mode from serve's options (a no-op without them): the environment
 * the jwt plugin reads (src/security/local-issuer.ts), inherited by workers. Checked here, so a bad
 * value stops the start with its message. Returns the config file: `serve --local-issuer api.yaml`
 * gives commander the file as the flag's optional value, and an existing file is never a pool id,
 * pool ARN or issuer URL, so it is taken back as the file.
 */
export async function applyLocalIssuerOptions(o: LocalIssuerCliOptions, file: string | undefined): Promise<string | undefined> {
  if (o.localIssuer === undefined && o.issuerOverrides === undefined) return file;
  if (file === undefined && typeof o.localIssuer === 'string' && existsSync(o.localIssuer)) {
    file = o.localIssuer;
    o.localIssuer = true;
  }
  const { ISSUER_OVERRIDES_ENV, LOCAL_ISSUER_ENV, localIssuerSettings } = await import('../security/local-issuer.js');
  if (o.localIssuer !== undefined) process.env[LOCAL_ISSUER_ENV] = o.localIssuer === true || o.localIssuer.trim() === '' ? 'all' : o.localIssuer;
  if (o.issuerOverrides !== undefined) process.env[ISSUER_OVERRIDES_ENV] = o.issuerOverrides.startsWith('@') ? readFileSync(o.issuerOverrides.slice(1), 'utf8') : o.issuerOverrides;
  localIssuerSettings(process.env);
  return file;
}

interface TokenOptions {
  userPool?: string;
  issuer?: string;
  region?: string;
  sub?: string;
  username?: string;
  clientId?: string;
  aud?: string;
  group?: string[];
  scope?: string[];
  claim?: string[];
  tokenUse?: 'id' | 'access';
  expiresIn?: number;
  json?: boolean;
}

async function mint(o: TokenOptions): Promise<void> {
  const [{ issuerOfSelector, LocalIssuerError }, { buildClaims, parseClaimArg }, { loadOrCreateSigningKey, signToken }] = await Promise.all([
    import('../security/local-issuer.js'),
    import('../security/local-issuer-claims.js'),
    import('../security/local-issuer-key.js'),
  ]);
  if ((o.userPool === undefined) === (o.issuer === undefined)) throw new LocalIssuerError('give the user pool (--user-pool ID or ARN), or --issuer URL for another locally served issuer');
  if (o.clientId !== undefined && o.aud !== undefined && o.clientId !== o.aud) throw new LocalIssuerError('--client-id and --aud name the same thing: give one');
  const issuer = o.userPool !== undefined ? issuerOfSelector(o.userPool, o.region) : issuerOfSelector(o.issuer as string);
  const claims = buildClaims(
    {
      issuer,
      ...(o.tokenUse !== undefined ? { tokenUse: o.tokenUse } : {}),
      ...(o.sub !== undefined ? { sub: o.sub } : {}),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...((o.clientId ?? o.aud) !== undefined ? { clientId: (o.clientId ?? o.aud) as string } : {}),
      groups: o.group ?? [],
      scopes: o.scope ?? [],
      claims: Object.fromEntries((o.claim ?? []).map(parseClaimArg)),
      ...(o.expiresIn !== undefined ? { expiresIn: o.expiresIn } : {}),
    },
    Date.now(),
  );
  const key = loadOrCreateSigningKey();
  const token = signToken(key, claims);
  if (o.json) process.stdout.write(`${JSON.stringify({ token, issuer, kid: key.kid, keyFile: key.file, claims }, null, 2)}\n`);
  else process.stdout.write(`${token}\n`);
}

/** Adds `turnpike token` to the program. */
export function registerTokenCommand(program: Command): void {
  program
    .command('token')
    .description('development: mint a Cognito-shaped token signed by the local issuer key, accepted by `turnpike serve --local-issuer` (docs/local-cognito.md)')
    .option('--user-pool <pool>', 'user pool id (eu-west-1_AbC123) or ARN; the token\'s iss is the pool\'s real Cognito issuer')
    .option('--issuer <url>', 'instead of --user-pool: another issuer served with --local-issuer URL')
    .option('--region <region>', 'the pool\'s region when it differs from the pool id\'s prefix')
    .option('--sub <id>', 'sub claim (default: a UUID derived from the username, stable across tokens)')
    .option('--username <name>', 'cognito:username (ID token) or username (access token); default test-user')
    .option('--client-id <id>', 'app client id: aud of ID tokens, client_id of access tokens (default local-client)')
    .option('--aud <id>', 'same as --client-id')
    .option('--group <name>', 'a cognito:groups entry (repeatable)', collect)
    .option('--scope <scope>', 'an access token scope (repeatable; implies --token-use access)', collect)
    .option('--claim <name=value>', 'another claim, or one replacing a default; VALUE is JSON when it parses (repeatable)', collect)
    .addOption(new Option('--token-use <use>', 'id or access (default: access with --scope, else id)').choices(['id', 'access']))
    .option('--expires-in <time>', 'lifetime: seconds or 15m, 2h, 1d (default 1h); negative for an expired token (--expires-in=-60)', parseExpiresIn)
    .option('--json', 'print {"token", "issuer", "kid", "keyFile", "claims"}')
    .addHelpText(
      'after',
      `
Environment:
  TURNPIKE_STATE_DIR  where the local issuer key is kept (local-issuer/signing-key.json, mode 0600); the gateway reads the same one`,
    )
    .action(async (o: TokenOptions) => {
      try {
        await mint(o);
      } catch (e) {
        process.stderr.write(`turnpike token: ${(e as Error).message}\n`);
        process.exit(1);
      }
    });
}
