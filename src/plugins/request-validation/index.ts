/**
 * request-validation: required parameters and the JSON body checked against a schema, in
 * transformRequest — after authentication, authorization and rate limiting, as AWS API Gateway
 * orders them (docs/architecture.md, "Check order"): a caller that fails authentication learns
 * nothing about the schema. A failure is a denial (BAD_REQUEST_PARAMETERS / BAD_REQUEST_BODY) that
 * the route's dialect renders; AWS routes fill $context.error.validationErrorString from it.
 *
 * Everything is compiled in create() (validator.ts); a request pays for the parameter lookups and,
 * when a schema applies, one JSON.parse and one compiled validation.
 */
import { denial } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { PluginDefinition } from '../../pipeline/types.js';
import { stateKey } from '../state.js';
import { compileRequestValidator, RequestValidatorCompileError, ValidatorStates } from './validator.js';
import { schema } from './schema.js';

export type { RequestValidationConfig } from './schema.js';

/** Compiled models shared by the instances of one config version (routes of one API share its models). */
const VALIDATOR_STATES = stateKey('request-validation:states', () => new ValidatorStates());

export const requestValidation: PluginDefinition<typeof schema> = {
  name: 'request-validation',
  priority: 1000,
  phases: ['transformRequest'],
  description: 'Validates required parameters and the JSON body against a JSON Schema (draft-07, or draft-04 as AWS models), after every auth and limit check.',
  configSchema: schema,
  create(config, deps) {
    let validator: ReturnType<typeof compileRequestValidator>;
    try {
      validator = compileRequestValidator(config, deps.state.config.get(VALIDATOR_STATES));
    } catch (e) {
      if (e instanceof RequestValidatorCompileError) throw Object.assign(new Error(e.message), { problems: [{ path: ['body', 'schemas', e.contentType], message: e.message }] });
      throw e;
    }
    if (validator === undefined) return {};
    const v = validator;
    const check = (ctx: RequestContext, body: Buffer | undefined) => {
        const r = v.validate({
          body: body !== undefined && body.length > 0 ? body : undefined,
          contentType: ctx.req.headers['content-type'],
          headers: ctx.req.headers,
          query: new URLSearchParams(ctx.rawQuery),
          pathParams: ctx.params ?? {},
        });
        if (r.ok) return undefined;
        ctx.errorDetail = r.details;
        return denial(r.kind, { message: r.message, validationError: r.details });
    };
    return {
      // The body is read here, after authentication, not before the pipeline (needsRequestBody):
      // an unauthenticated caller's body is never buffered for validation.
      transformRequest(ctx) {
        if (!v.readsBody || ctx.body !== undefined || ctx.contentLength === 0 || ctx.contentLength === -1) return check(ctx, ctx.body);
        return ctx.readBody().then((b) => check(ctx, b));
      },
    };
  },
};
