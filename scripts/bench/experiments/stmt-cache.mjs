// EXPERIMENT, not a fix: a preload for the server child that makes
// better-sqlite3 reuse prepared statements, to measure what a statement cache
// in the SQLite driver adapter would give (CPU per query, and RSS: every
// statement prepared and dropped holds native memory until V8 happens to
// collect its small JS wrapper).
//
// @prisma/adapter-better-sqlite3 7.10 does, per query,
//   client.prepare(sql).bind(args) → .reader / .columns() / .raw().all() / .run()
// and prepare(sql).run() for BEGIN/COMMIT. bind() is once-only on a real
// statement, so the cached statement is wrapped in a small view that passes
// the arguments to all()/run() instead.
//
//   npx tsx scripts/bench/run.mjs --node-flags=--import=./scripts/bench/experiments/stmt-cache.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const MAX = 500;
const caches = new WeakMap();
const prepare = Database.prototype.prepare;

// `bound` is undefined until bind(); unbound calls pass their own arguments.
function view(stmt, bound) {
  const args = (given) => (bound === undefined ? given : [bound]);
  return {
    get reader() {
      return stmt.reader;
    },
    columns: () => stmt.columns(),
    raw: (on = true) => ({ all: (...given) => stmt.raw(on).all(...args(given)) }),
    run: (...given) => stmt.run(...args(given)),
    get: (...given) => stmt.raw(false).get(...args(given)),
    all: (...given) => stmt.raw(false).all(...args(given)),
    bind: (...given) => view(stmt, given.length === 1 ? given[0] : given),
  };
}

Database.prototype.prepare = function cachedPrepare(sql) {
  let cache = caches.get(this);
  if (!cache) {
    cache = new Map();
    caches.set(this, cache);
  }
  let stmt = cache.get(sql);
  if (stmt) {
    cache.delete(sql);
  } else {
    stmt = prepare.call(this, sql);
    if (cache.size >= MAX) cache.delete(cache.keys().next().value);
  }
  cache.set(sql, stmt);
  return view(stmt, undefined);
};
