/**
 * `turnpike export`: the live definition as an AWS-flavoured OpenAPI document.
 * - An API served from an AWS document is exported from its imported model (the importer and the
 *   exporter round-trip exactly, pinned by test/unit/openapi-import.test.ts).
 * - A native API is exported as an HTTP API document (served at / on $default when re-imported, like the
 *   native API): http routes become http_proxy integrations, function routes aws_proxy ones. What AWS
 *   cannot express (plugins, rewrites, header operations, mocks) is named in the returned warnings.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { joinPath } from '../compile/compile.js';
import type { ApiConfig, GatewayConfig } from '../config/schema.js';
import { type AwsApiModel, type AwsIntegration, type AwsRoute, exportAwsDocument, importAwsDocument, parseAwsSource } from '../openapi/index.js';
import { inlineView } from './compile-aws.js';

export interface ExportResult {
  document: Record<string, unknown>;
  warnings: string[];
}

export function exportApi(config: GatewayConfig, api: ApiConfig, configDir: string): ExportResult {
  if (api.openapi !== undefined) {
    const file = typeof api.openapi === 'string' ? resolve(configDir, api.openapi) : '';
    // An inline document (a template's generated one) is exported from the document itself.
    const source = typeof api.openapi === 'string' ? parseAwsSource(readFileSync(file, 'utf8'), file) : inlineView(api.openapi as Record<string, unknown>, resolve(configDir, 'inline')).doc;
    const { model } = importAwsDocument(source);
    return { document: exportAwsDocument(model), warnings: [] };
  }
  const warnings: string[] = [];
  const routes: AwsRoute[] = [];
  if (api.plugins && Object.keys(api.plugins).length > 0) warnings.push(`api ${api.name}: plugins are not exported`);
  if (config.plugins && Object.keys(config.plugins).length > 0) warnings.push('global plugins are not exported');
  for (const route of api.routes ?? []) {
    const path = route.path === '$default' ? '$default' : joinPath(api.basePath, route.path);
    const label = `${api.name}/${route.name ?? path}`;
    const ic = route.integration;
    let integration: AwsIntegration | undefined;
    const params = [...path.matchAll(/\{([^}+]+)(\+?)\}/g)].map((m) => m[1] as string);
    if (ic.type === 'http') {
      const origin = ic.url ?? config.upstreams?.[ic.upstream ?? '']?.targets[0]?.url;
      if (origin === undefined) {
        warnings.push(`${label}: no upstream URL; skipped`);
        continue;
      }
      if (ic.rewrite?.regex || ic.requestHeaders || ic.responseHeaders || ic.query) warnings.push(`${label}: regex rewrites and header/query operations are not exported`);
      const base = origin.replace(/\/+$/, '');
      let forward = (ic.path ?? (path === '$default' ? '/{proxy}' : path)).replace(/\{([^}+]+)\+\}/g, '{$1}');
      const strip = ic.rewrite?.stripPrefix?.replace(/\/+$/, '');
      if (strip && ic.path === undefined && (forward === strip || forward.startsWith(`${strip}/`))) forward = forward.slice(strip.length) || '/';
      integration = {
        type: 'http_proxy',
        uri: base + forward,
        httpMethod: 'ANY',
        requestParameters: {},
        requestTemplates: {},
        responses: [],
        timeoutInMillis: 30_000,
        payloadFormatVersion: '1.0',
      };
    } else if (ic.type === 'function') {
      integration = {
        type: 'aws_proxy',
        uri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${ic.function}/invocations`,
        lambdaFunction: { name: ic.function, region: 'us-east-1', accountId: '000000000000' },
        httpMethod: 'POST',
        requestParameters: {},
        requestTemplates: {},
        responses: [],
        timeoutInMillis: ic.timeoutMs ?? 30_000,
        payloadFormatVersion: ic.apiType === 'rest' ? '1.0' : (ic.payloadVersion ?? '2.0'),
      };
    } else {
      warnings.push(`${label}: mock integrations do not exist in AWS HTTP APIs; skipped`);
      continue;
    }
    if (route.plugins && Object.keys(route.plugins).length > 0) warnings.push(`${label}: plugins are not exported`);
    if (route.hosts || route.headers || route.query) warnings.push(`${label}: host and header/query conditions are not exported`);
    for (const method of route.methods ?? ['ANY']) {
      routes.push({
        method,
        path,
        parameters: params.map((name) => ({ name, in: 'path', required: true })),
        security: [],
        apiKeyRequired: false,
        integration,
        methodResponses: {},
        location: label,
      });
    }
  }
  const model: AwsApiModel = {
    apiType: 'http',
    title: api.name,
    version: '1.0',
    binaryMediaTypes: [],
    apiKeySource: 'HEADER',
    gatewayResponses: {},
    requestValidators: {},
    securitySchemes: {},
    models: {},
    routes,
  };
  return { document: exportAwsDocument(model), warnings };
}
