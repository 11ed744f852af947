// Keeps a running node's signing keys in step with the SigningKey table: every
// KEY_REFRESH_INTERVAL seconds one query reads the keys; when a key was
// staged, activated, retired or deleted since the last read, a new provider
// is built with them and swapped in (src/oidc/provider-holder.ts). So a
// rotation reaches every node within the interval, without restarts.
//
// A failed read (the database briefly away) or a failed build keeps the keys
// the node has: they are still valid, only not the newest; the next tick
// tries again. The timer never keeps the process alive, and stop() waits for
// a refresh in progress so that the database can be closed after it.
import type { Logger } from '../log.js';
import { keySetId, keyStates, type StoredKey } from './keys.js';

export interface KeyRefreshDeps {
  /** One query: the keys to publish, in signing order. */
  read(): Promise<StoredKey[]>;
  /** Builds and swaps in a provider with these keys. */
  apply(keys: StoredKey[]): void;
  intervalMs: number;
}

export type RefreshResult = 'unchanged' | 'replaced' | 'failed';

export class KeyRefresh {
  #keySet: string;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<RefreshResult> | undefined;
  #stopped = false;
  #failing = false;
  #log: Logger | undefined;

  /** `keys`: what the current provider was built with. */
  constructor(
    private readonly deps: KeyRefreshDeps,
    keys: StoredKey[],
  ) {
    this.#keySet = keySetId(keys);
  }

  /** Reads the keys once; rebuilds the provider when they changed. Never throws. */
  refresh(): Promise<RefreshResult> {
    this.#inFlight ??= this.#refresh().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  async #refresh(): Promise<RefreshResult> {
    let keys: StoredKey[];
    try {
      keys = await this.deps.read();
    } catch (err) {
      // One warning per outage, not one per tick.
      if (!this.#failing) this.#log?.warn({ err }, 'signing keys: cannot read the database; keeping the current keys');
      this.#failing = true;
      return 'failed';
    }
    if (this.#failing) this.#log?.info('signing keys: database readable again');
    this.#failing = false;
    const keySet = keySetId(keys);
    if (keySet === this.#keySet) return 'unchanged';
    try {
      this.deps.apply(keys);
    } catch (err) {
      // e.g. a key sealed with another SECRET_KEY: keep signing with what works.
      this.#log?.error({ err }, 'signing keys: cannot use the new keys; keeping the current ones');
      return 'failed';
    }
    this.#keySet = keySet;
    this.#log?.info({ keys: keyStates(keys) }, 'signing keys: now using the keys from the database');
    return 'replaced';
  }

  /** Refreshes every interval until stop(). */
  start(log: Logger): void {
    this.#log = log;
    this.#stopped = false;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    // The next tick is counted from the end of this one: refreshes never overlap.
    this.#timer = setTimeout(() => void this.refresh().then(() => this.#schedule()), this.deps.intervalMs);
    this.#timer.unref();
  }

  /** No more refreshes; resolves once a refresh in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#inFlight;
  }
}
