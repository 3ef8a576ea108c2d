import type { Integration } from '../../compile/types.js';
import type { RequestContext } from '../../pipeline/context.js';
import { HeaderList } from '../../util/header-list.js';
import type { IntegrationConfig } from '../types.js';
import type { MockIntegrationSchema } from './schema.js';

/** A fixed answer: status, headers and body are rendered once per config. */
export class MockIntegration implements Integration {
  readonly type = 'mock';
  readonly #status: number;
  readonly #headers: readonly string[];
  readonly #body: Buffer | undefined;
  readonly #config: IntegrationConfig<typeof MockIntegrationSchema>;

  constructor(config: IntegrationConfig<typeof MockIntegrationSchema>) {
    this.#config = config;
    this.#status = config.status;
    const headers: string[] = [];
    let hasType = false;
    for (const [k, v] of Object.entries(config.headers ?? {})) {
      const name = k.toLowerCase();
      if (name === 'content-length') continue;
      if (name === 'content-type') hasType = true;
      headers.push(name, v);
    }
    const body = config.body;
    // 1xx, 204 and 304 never carry content (RFC 9110 §6.4.1, §15.3.5, §15.4.5): a configured body
    // would otherwise go out as a content-length (and type) the client must not see on them.
    const bodiless = this.#status < 200 || this.#status === 204 || this.#status === 304;
    if (body === undefined || body === null || bodiless) this.#body = undefined;
    else if (typeof body === 'string') {
      this.#body = Buffer.from(body);
      if (!hasType) headers.push('content-type', 'text/plain; charset=utf-8');
    } else {
      this.#body = Buffer.from(JSON.stringify(body));
      if (!hasType) headers.push('content-type', 'application/json');
    }
    this.#headers = headers;
  }

  describe(): Record<string, unknown> {
    return { ...this.#config };
  }

  invoke(ctx: RequestContext): void | Promise<void> {
    return ctx.send(this.#status, new HeaderList(this.#headers.slice()), this.#body);
  }
}
