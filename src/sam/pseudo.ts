/**
 * CloudFormation's pseudo parameters as a local run answers them
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html).
 * No AWS account is involved, so the account id is the documentation's example id and the stack id a
 * fixed ARN; the partition and URL suffix follow the region, as they do on AWS.
 */
import { basename, dirname } from 'node:path';

export interface Pseudo {
  region: string;
  accountId: string;
  stackName: string;
  partition: string;
  urlSuffix: string;
  stackId: string;
}

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '123456789012';
export const DEFAULT_STACK_NAME = 'turnpike-local';
/** A fixed stack UUID: every local run of a template gets the same AWS::StackId. */
const STACK_UUID = '00000000-0000-4000-8000-000000000000';

/** aws-cn for China regions, aws-us-gov for GovCloud, else aws (AWS's partitions). */
function partitionOf(region: string): { partition: string; urlSuffix: string } {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', urlSuffix: 'amazonaws.com.cn' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', urlSuffix: 'amazonaws.com' };
  return { partition: 'aws', urlSuffix: 'amazonaws.com' };
}

/** The pseudo parameters with every field not given filled in. */
export function completePseudo(given: Partial<Pseudo> = {}): Pseudo {
  const region = given.region ?? DEFAULT_REGION;
  const accountId = given.accountId ?? DEFAULT_ACCOUNT_ID;
  const stackName = given.stackName ?? DEFAULT_STACK_NAME;
  const p = partitionOf(region);
  const partition = given.partition ?? p.partition;
  return {
    region,
    accountId,
    stackName,
    partition,
    urlSuffix: given.urlSuffix ?? p.urlSuffix,
    stackId: given.stackId ?? `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/${STACK_UUID}`,
  };
}

/**
 * A stack name from a template's path: its folder's name, as `sam deploy` suggests one. A stack name
 * is letters, digits and hyphens, starts with a letter and has at most 128 characters; anything else
 * is replaced, and a name with nothing usable left falls back to DEFAULT_STACK_NAME.
 */
export function stackNameFromPath(templatePath: string): string {
  const folder = basename(dirname(templatePath));
  let name = folder
    .replace(/[^A-Za-z0-9-]+/g, '-')
    .replace(/^[^A-Za-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 128);
  name = name.replace(/-+$/, '');
  return name === '' ? DEFAULT_STACK_NAME : name;
}
