// EXPERIMENT, not a fix: a preload for the server child that counts every SQL
// statement the Prisma SQLite adapter prepares (it prepares one per query),
// and writes the counts when the process exits.
//
//   npx tsx scripts/bench/run.mjs --only token --node-flags=--import=./scripts/bench/experiments/trace-sql.mjs
//   → /tmp/bench-sql-<pid>.txt (or $BENCH_SQL_TRACE)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const counts = new Map();
const prepare = Database.prototype.prepare;
Database.prototype.prepare = function tracedPrepare(sql) {
  // One line per statement shape: table and verb are enough to read it.
  const key = sql
    .replace(/`main`\./g, '')
    .replace(/\s+/g, ' ')
    .slice(0, 160);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  return prepare.call(this, sql);
};
process.on('exit', () => {
  const file = process.env.BENCH_SQL_TRACE ?? `/tmp/bench-sql-${process.pid}.txt`;
  const lines = [...counts].sort((a, b) => b[1] - a[1]).map(([sql, n]) => `${String(n).padStart(8)}  ${sql}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
});
