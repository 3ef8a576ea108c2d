/**
 * The identifiers a deployed stack would have, made up locally and deterministically: the same
 * template always gets the same API ids (so `{api-id}.execute-api.localhost` URLs, bookmarks and
 * tests stay valid across restarts), and function ARNs that the OpenAPI importer maps back to the
 * `functions` entry they came from (src/openapi/arn.ts reads the name after `:function:`).
 */
import { createHash } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** 10 lowercase letters and digits, as API Gateway's REST and HTTP API ids are. */
export function localId(kind: string, logicalId: string): string {
  const bytes = createHash('sha256').update(`turnpike:${kind}:${logicalId}`).digest();
  let out = '';
  // The first character a letter: an id is then never mistaken for a number in a YAML or a URL.
  out += ALPHABET[(bytes[0] as number) % 26];
  for (let i = 1; i < 10; i++) out += ALPHABET[(bytes[i] as number) % ALPHABET.length];
  return out;
}

/** What `Ref` of an API (REST or HTTP) answers: its id. */
export const apiId = (logicalId: string): string => localId('api', logicalId);
/** `Fn::GetAtt Api.RootResourceId`: the id of the `/` resource. */
export const rootResourceId = (logicalId: string): string => localId('root', logicalId);
/** Ids of other API Gateway things (usage plans, keys, deployments, authorizers) a template may Ref. */
export const resourceId = (type: string, logicalId: string): string => localId(type, logicalId);

/** The host an API's stages answer on, as execute-api.{region}.amazonaws.com does on AWS. */
export const apiHost = (id: string): string => `${id}.execute-api.localhost`;

export function functionArn(region: string, accountId: string, name: string, partition = 'aws'): string {
  return `arn:${partition}:lambda:${region}:${accountId}:function:${name}`;
}
