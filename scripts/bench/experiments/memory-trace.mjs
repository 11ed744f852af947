// EXPERIMENT, not a fix: a preload for the server child that samples its
// memory every 250 ms (RSS, the V8 heap by space, external and array
// buffers) and writes one JSON line per sample, so that a bench run shows
// which scenario grows what. Send SIGUSR2 for a heap snapshot of the moment.
//
//   npx tsx scripts/bench/run.mjs --node-flags=--import=./scripts/bench/experiments/memory-trace.mjs
//   → /tmp/bench-mem-<pid>.jsonl (or $BENCH_MEM_TRACE); snapshots in the working directory
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const file = process.env.BENCH_MEM_TRACE ?? `/tmp/bench-mem-${process.pid}.jsonl`;
writeFileSync(file, '');
const mb = (n) => Math.round(n / 1048576);
const started = Date.now();
/** Resident kB by kind of mapping: the node binary's pages, malloc's brk heap, other anonymous memory (V8, wasm, mmap'd malloc), the rest. */
function resident() {
  const kb = { binary: 0, brk: 0, anon: 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? '';
      kind = name === process.execPath ? 'binary' : name === '[heap]' ? 'brk' : name === '' ? 'anon' : 'other';
    } else if (line.startsWith('Rss:')) kb[kind] += Number(line.split(/\s+/)[1]);
  }
  return Object.fromEntries(Object.entries(kb).map(([k, v]) => [k, Math.round(v / 1024)]));
}

setInterval(() => {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name.replace(/_space$/, ''), mb(s.space_size)]),
  );
  const line = { t: Date.now() - started, rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed) };
  Object.assign(line, { external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), ...resident(), spaces });
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}, 250).unref();
process.on('SIGUSR2', () => v8.writeHeapSnapshot());
