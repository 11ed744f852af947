#!/usr/bin/env node
// Where the server's CPU time goes, from a V8 .cpuprofile (node --cpu-prof;
// `npx tsx scripts/bench/run.mjs --only token --cpu-prof /tmp/prof` writes one
// for the server child when it stops).
//
//   node scripts/bench/analyze-profile.mjs FILE.cpuprofile [--top 25] [--match dist/src/]
//
// Prints, as shares of busy (non-idle) time:
//  - self time per area (our code, oidc-provider, Prisma, SQLite, Koa, node internals, GC...);
//  - the functions with the most self time;
//  - inclusive time (self + callees) of functions whose file matches --match
//    (default: our compiled code), i.e. how much each of our functions costs
//    including the library and database calls under it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, match: { type: 'string', multiple: true } },
  allowPositionals: true,
});
if (!positionals.length) {
  process.stderr.write('usage: analyze-profile.mjs FILE.cpuprofile [--top N] [--match PATH-SUBSTRING]...\n');
  process.exit(2);
}
const top = Number(opt.top);
const match = opt.match ?? ['/dist/src/'];

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Self time per node: each sample's time is the delta to the next sample.
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i + 1] ?? 0) / 1000; // µs -> ms
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }

  const frame = (n) => n.callFrame;
  const isIdle = (n) => frame(n).functionName === '(idle)';
  const total = [...self].reduce((s, [, t]) => s + t, 0);
  const idle = [...self].filter(([id]) => isIdle(nodes.get(id))).reduce((s, [, t]) => s + t, 0);
  const busy = total - idle;

  const area = (n) => {
    const { url, functionName } = frame(n);
    if (!url) return functionName.startsWith('(') ? functionName : '(native/V8 builtins)';
    if (url.includes('/dist/src/db/generated/') || url.includes('/src/db/generated/')) return 'prisma generated client';
    if (url.includes('/dist/src/')) return `ours: ${url.slice(url.indexOf('/dist/src/') + 10).split('/')[0]}`;
    const nm = url.lastIndexOf('/node_modules/');
    if (nm >= 0) {
      const rest = url.slice(nm + 14).split('/');
      const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
      if (pkg === 'oidc-provider') return `oidc-provider: ${rest.slice(2, 3).join('/') || rest[1]}`;
      return pkg;
    }
    if (url.startsWith('node:')) return `node: ${url.slice(5).split('/')[0]}`;
    return url;
  };
  const key = (n) => {
    const { functionName, url, lineNumber } = frame(n);
    const short = url
      ? url
          .replace(/^file:\/\//, '')
          .replace(/^.*\/node_modules\//, '')
          .replace(/^.*\/dist\/src\//, 'dist/src/')
      : '';
    return `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
  };

  const add = (map, k, v) => map.set(k, (map.get(k) ?? 0) + v);
  const byArea = new Map();
  const byFunction = new Map();
  for (const [id, t] of self) {
    const n = nodes.get(id);
    if (isIdle(n)) continue;
    add(byArea, area(n), t);
    add(byFunction, key(n), t);
  }

  // Inclusive time per matching function, counted once per sample even under recursion.
  const inclusive = new Map();
  for (const [id, t] of self) {
    if (isIdle(nodes.get(id))) continue;
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const n = nodes.get(cur);
      if (!match.some((m) => frame(n).url.includes(m))) continue;
      const k = key(n);
      if (seen.has(k)) continue;
      seen.add(k);
      add(inclusive, k, t);
    }
  }

  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`;
  const ms = (t) => `${t.toFixed(0).padStart(7)} ms`;
  const list = (map, n) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `  ${pct(t)} ${ms(t)}  ${k}`)
      .join('\n');

  process.stdout.write(
    [
      `${file}`,
      `  sampled ${(total / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s (idle ${(idle / 1000).toFixed(1)} s); shares below are of busy time`,
      '',
      'self time by area:',
      list(byArea, top),
      '',
      'self time by function:',
      list(byFunction, top),
      '',
      `inclusive time (self + callees) of functions in ${match.join(', ')}:`,
      list(inclusive, top),
      '',
    ].join('\n'),
  );
}
