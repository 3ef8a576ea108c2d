/**
 * Reading an AWS OpenAPI document into a `SourceDocument` (the shape `parseSource` in
 * config/load.ts returns: plain data plus key path -> line/column).
 *
 * It is `parseSource` without environment interpolation: AWS documents are full of
 * `${stageVariables.x}` (and exports such as `"uri": "${uri}"`), which belong to AWS and must be
 * served as written. Same YAML/JSON rules otherwise (strict JSON checker first, YAML 1.2 core
 * schema, unique keys, bounded alias expansion, unknown tags such as CloudFormation's !Ref refused).
 */
import { type Position, parseSource, type SourceDocument } from '../config/load.js';

/** Parses YAML or JSON text without environment interpolation. Throws ConfigError on syntax errors. */
export function parseAwsSource(text: string, file: string): SourceDocument {
  return parseSource(text, file, { interpolate: false });
}

/** A SourceDocument for a value that has no text (positions are line 0: "the whole file"). */
export function sourceFromData(data: unknown, file = '<data>'): SourceDocument {
  const nowhere = (): Position => ({ line: 0, column: 0 });
  return { file, text: '', format: 'json', data, locate: nowhere, locateKey: nowhere, warnings: [] };
}
