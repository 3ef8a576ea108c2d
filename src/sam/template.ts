/**
 * CloudFormation / SAM template reader (pure, no I/O): text -> the same SourceDocument a Turnpike
 * config gives, with CloudFormation's YAML short tags turned into the long form the resolver reads.
 *
 * `!Sub x` becomes `{"Fn::Sub": x}`, `!Ref x` becomes `{"Ref": x}`, `!Condition x` becomes
 * `{"Condition": x}`, and `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}` (split at the first dot,
 * as CloudFormation does: attribute names such as `Endpoint.Address` keep their dot). Every tag takes a
 * scalar, a sequence or a mapping, as CloudFormation's YAML parser accepts them (`!Base64 !Sub ...`,
 * `!If [C, a, b]`, `!Sub [text, {Var: value}]`). See
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
 *
 * Parsing, duplicate keys, alias bounds and positions are parseSource's (src/config/load.ts): only the
 * tag set differs. `${...}` is left as written: in a template it belongs to Fn::Sub, not to the
 * environment.
 */
import { Pair, Scalar, YAMLMap, type CollectionTag, type ScalarTag, type YAMLSeq } from 'yaml';
import { parseSource, type SourceDocument } from '../config/load.js';

/** Short tag -> long-form key. */
const TAGS: Readonly<Record<string, string>> = {
  Ref: 'Ref',
  Condition: 'Condition',
  Sub: 'Fn::Sub',
  GetAtt: 'Fn::GetAtt',
  Join: 'Fn::Join',
  If: 'Fn::If',
  Select: 'Fn::Select',
  Split: 'Fn::Split',
  FindInMap: 'Fn::FindInMap',
  ImportValue: 'Fn::ImportValue',
  Base64: 'Fn::Base64',
  Cidr: 'Fn::Cidr',
  GetAZs: 'Fn::GetAZs',
  Equals: 'Fn::Equals',
  And: 'Fn::And',
  Or: 'Fn::Or',
  Not: 'Fn::Not',
  Transform: 'Fn::Transform',
  // AWS::LanguageExtensions transform functions.
  Length: 'Fn::Length',
  ToJsonString: 'Fn::ToJsonString',
};

/** The long-form names the short tags stand for (the resolver's vocabulary). */
export const INTRINSIC_KEYS: readonly string[] = Object.values(TAGS);

/**
 * A one-pair map `{key: value}` standing where the tagged node stood. Its key and the map take the
 * tagged node's source range, so a diagnostic about the intrinsic points at the tag.
 */
function wrap(key: string, value: unknown, range: [number, number, number] | null | undefined): YAMLMap {
  const map = new YAMLMap();
  const k = new Scalar(key);
  if (range) {
    k.range = range;
    map.range = range;
  }
  map.items.push(new Pair(k, value));
  return map;
}

function splitGetAtt(text: string): unknown {
  const dot = text.indexOf('.');
  // No dot: left as written, so the resolver reports the malformed GetAtt at this spot.
  return dot === -1 ? text : [text.slice(0, dot), text.slice(dot + 1)];
}

function templateTags(): (ScalarTag | CollectionTag)[] {
  const tags: (ScalarTag | CollectionTag)[] = [];
  for (const [short, key] of Object.entries(TAGS)) {
    const tag = `!${short}`;
    tags.push({
      tag,
      // The value is the raw text: a short-form argument is a name or a Sub string, never a YAML number.
      // A plain object, not a node: toJS keeps a scalar's value as it is (the position stays the scalar's).
      resolve: (text: string) => ({ [key]: key === 'Fn::GetAtt' ? splitGetAtt(text) : text }),
    });
    for (const collection of ['map', 'seq'] as const) {
      tags.push({
        tag,
        collection,
        resolve: (coll: YAMLMap.Parsed | YAMLSeq.Parsed) => wrap(key, coll, coll.range),
      });
    }
  }
  return tags;
}

const TEMPLATE_TAGS = templateTags();

/** YAML or JSON CloudFormation/SAM template; throws ConfigError with file:line:col on syntax errors. */
export function parseTemplate(text: string, file: string): SourceDocument {
  return parseSource(text, file, {
    interpolate: false,
    customTags: TEMPLATE_TAGS,
    unknownTagHint: `CloudFormation templates may use ${Object.keys(TAGS)
      .map((t) => `!${t}`)
      .join(', ')}`,
  });
}

const SAM_TRANSFORM = 'AWS::Serverless-2016-10-31';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * True for a CloudFormation/SAM template: AWSTemplateFormatVersion, or a Transform naming SAM's, or a
 * non-empty Resources map whose every entry has a `Type` of the `Vendor::Service::Resource` shape
 * with at least one `AWS::` type (a native config never has a top-level `Resources`).
 */
export function isCloudFormationTemplate(data: unknown): boolean {
  if (!isRecord(data)) return false;
  if (Object.hasOwn(data, 'AWSTemplateFormatVersion')) return true;
  const transform = data.Transform;
  if (transform === SAM_TRANSFORM || (Array.isArray(transform) && transform.includes(SAM_TRANSFORM))) return true;
  const resources = data.Resources;
  if (!isRecord(resources)) return false;
  const entries = Object.values(resources);
  if (entries.length === 0) return false;
  let aws = false;
  for (const r of entries) {
    if (!isRecord(r) || typeof r.Type !== 'string' || !/^[A-Za-z0-9]+::\S+/.test(r.Type)) return false;
    if (r.Type.startsWith('AWS::')) aws = true;
  }
  return aws;
}

/**
 * Cheap sniff before a full parse (as looksLikeOpenApi in src/config/index.ts): a top-level
 * AWSTemplateFormatVersion, SAM's Transform, or a top-level Resources key next to an `AWS::` type.
 */
export function looksLikeTemplate(text: string): boolean {
  if (/^\s*["']?AWSTemplateFormatVersion["']?\s*:/m.test(text)) return true;
  if (text.includes(SAM_TRANSFORM) && /^\s*["']?Transform["']?\s*:/m.test(text)) return true;
  return /^\s*["']?Resources["']?\s*:/m.test(text) && /["']?Type["']?\s*:\s*["']?AWS::/.test(text);
}
