// EXPERIMENT, not a fix: a preload for the server child that puts a 10-second
// in-process cache in front of ClientStore.find (a SELECT, an AES-GCM open
// and a JSON.parse per token or introspection request) and Accounts.findById
// (one SELECT per /api/me and two per code flow), by patching the compiled
// classes in dist/. Measures what such caches would buy; a real one must be
// invalidated on save/delete (and, with several nodes, kept short).
//
//   npx tsx scripts/bench/run.mjs --node-flags=--import=./scripts/bench/experiments/lookup-cache.mjs
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TTL = 10_000;

function cached(proto, method) {
  const original = proto[method];
  const cache = new Map();
  proto[method] = async function cachedLookup(id) {
    const hit = cache.get(id);
    if (hit && hit.until > Date.now()) return hit.value && { ...hit.value };
    const value = await original.call(this, id);
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { value, until: Date.now() + TTL });
    return value && { ...value };
  };
}

const { ClientStore } = await import(join(ROOT, 'dist/src/clients/store.js'));
const { Accounts } = await import(join(ROOT, 'dist/src/accounts/accounts.js'));
cached(ClientStore.prototype, 'find');
cached(Accounts.prototype, 'findById');
