/**
 * The stage an AWS document is served under when nothing names one (no `stages` in its config entry,
 * no --stage): a REST document's basePath when it is a stage name, as AWS exports a stage (`basePath:
 * /prod` in Swagger 2, `servers[0].variables.basePath.default: prod` in OpenAPI 3:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-export-api.html), else dev;
 * an HTTP API's $default.
 */
import { importAwsDocument } from './import.js';
import { sourceFromData } from './source.js';
import type { AwsApiModel } from './types.js';

/** AWS stage names: letters, digits, hyphens and underscores, at most 128. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

export function defaultStage(model: Pick<AwsApiModel, 'apiType' | 'basePath'>): string {
  if (model.apiType === 'http') return '$default';
  const base = model.basePath?.replace(/^\/+/, '');
  return base !== undefined && STAGE_NAME.test(base) ? base : 'dev';
}

/** defaultStage of a parsed document (for callers that have not imported it: a bare document given --stage-variable). */
export function defaultStageOf(data: unknown): string {
  return defaultStage(importAwsDocument(sourceFromData(data)).model);
}
