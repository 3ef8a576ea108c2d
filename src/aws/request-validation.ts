/**
 * AWS request validators (x-amazon-apigateway-request-validators / -request-validator) translated
 * into the native request-validation plugin's config: the route's required parameters in AWS's
 * report order and its body models, as draft-04 schemas that may reference the API's models.
 */
import type { AwsApiModel, AwsParameter, AwsRoute } from '../openapi/types.js';
import type { RequestValidationConfig } from '../plugins/request-validation/index.js';

const LOCATION_KEY: Record<AwsParameter['in'], string> = { header: 'header', path: 'path', query: 'querystring' };

/** AWS lists missing parameters ordered by `method.request.<location>.<name>`. */
function awsKey(p: AwsParameter): string {
  return `method.request.${LOCATION_KEY[p.in]}.${p.name}`;
}

/** The plugin config for one route, or undefined when its validator (if any) has nothing to check. */
export function requestValidationConfig(route: AwsRoute, model: AwsApiModel): RequestValidationConfig | undefined {
  const name = route.requestValidator;
  if (name === undefined || !Object.hasOwn(model.requestValidators, name)) return undefined;
  const v = model.requestValidators[name];
  if (!v) return undefined;
  const out: RequestValidationConfig = {};
  if (v.validateRequestParameters) {
    const required = route.parameters.filter((p) => p.required).sort((a, b) => (awsKey(a) < awsKey(b) ? -1 : awsKey(a) > awsKey(b) ? 1 : 0));
    if (required.length > 0) out.parameters = required.map((p) => ({ in: p.in, name: p.in === 'path' && p.name.endsWith('+') ? p.name.slice(0, -1) : p.name }));
  }
  if (v.validateRequestBody && route.requestBody && Object.keys(route.requestBody.models).length > 0) {
    // The models map is shared by reference: every route of the API compiles against one ajv instance.
    out.body = { schemas: route.requestBody.models, dialect: 'draft-04', models: model.models };
  }
  return out.parameters === undefined && out.body === undefined ? undefined : out;
}
