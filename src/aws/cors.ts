import type { AwsCors } from '../openapi/types.js';
import type { CorsConfig } from '../plugins/cors/index.js';

/** The AWS document's x-amazon-apigateway-cors (or an HTTP API's corsConfiguration) as this plugin's config. */
export function fromAwsCors(cors: AwsCors): CorsConfig {
  const out: CorsConfig = {
    allowOrigins: [...cors.allowOrigins],
    allowMethods: [...cors.allowMethods],
    allowHeaders: [...cors.allowHeaders],
    exposeHeaders: [...cors.exposeHeaders],
    allowCredentials: cors.allowCredentials === true,
  };
  if (cors.maxAge !== undefined) out.maxAge = cors.maxAge;
  return out;
}
