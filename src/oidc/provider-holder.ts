// The provider that answers now. oidc-provider reads its `jwks` option once,
// in `new Provider()` (lib/helpers/initialize_keystore.js), and has no public
// way to change keys afterwards; its docs rotate keys by reloading processes.
// We reload the provider instead of the process: a new Provider, built from
// the same configuration with the new keys, takes over new requests while
// requests in flight finish on the old one. Nothing a request needs lives in
// a Provider instance (sessions, interactions, codes, tokens and clients are
// in the database through the adapter; cookies are signed with COOKIE_KEYS),
// so the two agree on everything but the keys.
//
// Whatever uses the provider reads `current` at the time of each request,
// never keeps the instance: the app's mount, the interaction routes, the
// in-process token verifier, the client service. Event listeners are set
// with wire(), which repeats them on every later provider.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';

type Listener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class ProviderHolder {
  #current: Provider;
  #callback: Listener | undefined;
  readonly #wiring: ((provider: Provider) => void)[] = [];

  constructor(initial: Provider) {
    this.#current = initial;
  }

  get current(): Provider {
    return this.#current;
  }

  /** Runs `wire` on the current provider and on each one that replaces it (event listeners). */
  wire(wire: (provider: Provider) => void): void {
    this.#wiring.push(wire);
    wire(this.#current);
  }

  /** From the next request on, `next` answers. */
  replace(next: Provider): void {
    for (const wire of this.#wiring) wire(next);
    this.#current = next;
    this.#callback = undefined;
  }

  /** A request listener that hands each request to the provider current when it arrives. */
  callback(): Listener {
    return (req, res) => {
      // Koa's callback() composes the middleware: once per provider, not per request.
      this.#callback ??= this.#current.callback() as Listener;
      return this.#callback(req, res);
    };
  }
}
