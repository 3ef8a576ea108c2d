/**
 * AWS OpenAPI importer/exporter (pure: no network, no serving). See docs/aws-compatibility.md.
 *
 *   const src = parseAwsSource(text, file);          // YAML or JSON, no ${...} interpolation
 *   const { model, diagnostics } = importAwsDocument(src);
 *   const doc = exportAwsDocument(model);             // OpenAPI 3.0.1 with AWS extensions
 */
export { isAwsServiceUri, parseLambdaUri } from './arn.js';
export { type ExportOptions, exportAwsDocument } from './export.js';
export { DEFAULT_TIMEOUT_MS, detectApiType, GATEWAY_RESPONSE_TYPES, type ImportOptions, type ImportResult, importAwsDocument } from './import.js';
export { parseAwsSource, sourceFromData } from './source.js';
export { defaultStage, defaultStageOf } from './stage.js';
export type * from './types.js';
