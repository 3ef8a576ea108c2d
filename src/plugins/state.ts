/**
 * Where plugins keep state that outlives one request, instead of module-level variables: a module-level
 * Map is shared by every gateway in the process (two embedded gateways, or the tests' many, would see
 * each other's JWKS caches, key indexes and counts) and is never released. Plugins reach state through
 * `deps.state.gateway` (as long as the gateway: a JWKS cache that survives reloads) and
 * `deps.state.config` (as long as one compiled config version: an index all its instances share).
 *
 * A plugin declares what it keeps with a `StateKey` — a frozen module-level constant holding the key's
 * name and how to build the value — so `get(KEY)` is typed without a cast, and two plugins can never
 * collide on a string.
 */
import type { StateKey, StateScope } from '../pipeline/types.js';

export type { PluginState, StateKey, StateScope } from '../pipeline/types.js';

export function stateKey<T>(name: string, create: () => T): StateKey<T> {
  return Object.freeze({ name, create });
}

/** One scope's values by key (the gateway's, or one config version's). */
export class StateMap implements StateScope {
  readonly #values = new Map<StateKey<unknown>, unknown>();

  get<T>(key: StateKey<T>): T {
    if (this.#values.has(key)) return this.#values.get(key) as T;
    const value = key.create();
    this.#values.set(key, value);
    return value;
  }
}
