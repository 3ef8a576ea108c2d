import type { Integration } from '../../compile/types.js';
import type { MockIntegrationConfig } from '../../config/schema.js';
import type { RequestContext } from '../../pipeline/context.js';
import { HeaderList } from '../../util/header-list.js';

/** A fixed answer: status, headers and body are rendered once per config. */
export class MockIntegration implements Integration {
  readonly type = 'mock';
  readonly #status: number;
  readonly #headers: readonly string[];
  readonly #body: Buffer | undefined;
  readonly #config: MockIntegrationConfig;

  constructor(config: MockIntegrationConfig) {
    this.#config = config;
    this.#status = config.status ?? 200;
    const headers: string[] = [];
    let hasType = false;
    for (const [k, v] of Object.entries(config.headers ?? {})) {
      const name = k.toLowerCase();
      if (name === 'content-length') continue;
      if (name === 'content-type') hasType = true;
      headers.push(name, v);
    }
    const body = config.body;
    if (body === undefined || body === null) this.#body = undefined;
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
