#!/usr/bin/env node
// Runs tests one at a time (`jest <file> -t <name>`) and fails if any of them
// fails, or passes nothing, on its own: a test that only passes after the
// ones before it in its file (a server, a session or a counter they left
// behind) hides what it really needs.
//
//   node scripts/check-tests-alone.mjs                      8 random tests of the whole suite
//   node scripts/check-tests-alone.mjs --sample 20 --seed 7 20 of them, the same 20 each time
//   node scripts/check-tests-alone.mjs tests/cli.test.ts    every test of that file
//
// Names are read from the files (test('…') / it('…') with a literal title);
// a title built with ${…} is left out.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  if (i === -1) return fallback;
  const [value] = args.splice(i, 2).slice(1);
  return value;
};
const sample = Number(option('--sample', '8'));
const seed = Number(option('--seed', String(Date.now() % 100000)));
const files = args.length
  ? args
  : readdirSync('tests')
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `tests/${f}`);

const TITLE = /\b(?:test|it)(?:\.(?:concurrent|failing))?\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g;
const titlesOf = (file) =>
  [...readFileSync(file, 'utf8').matchAll(TITLE)]
    .filter(([, quote, title]) => !(quote === '`' && title.includes('${')))
    .map(([, , title]) => title.replace(/\\(['"`\\])/g, '$1'));

let all = files.flatMap((file) => titlesOf(file).map((title) => ({ file, title })));
if (!args.length) {
  // A small deterministic shuffle (mulberry32), so a failing sample can be rerun with its seed.
  let s = seed >>> 0;
  const random = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  all = all.slice(0, sample);
  console.log(`${all.length} random tests (seed ${seed}; rerun with --seed ${seed})`);
}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const dir = mkdtempSync(join(tmpdir(), 'tests-alone-'));
const failures = [];
for (const [i, { file, title }] of all.entries()) {
  const out = join(dir, `${i}.json`);
  const started = Date.now();
  const run = spawnSync(
    process.execPath,
    [
      'node_modules/jest/bin/jest.js',
      '--runInBand',
      '--json',
      `--outputFile=${out}`,
      file,
      '-t',
      `(^| )${escapeRegExp(title)}$`,
    ],
    {
      env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() },
      encoding: 'utf8',
    },
  );
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    report = undefined;
  }
  const passed = report?.numPassedTests ?? 0;
  const ok = run.status === 0 && report?.numFailedTests === 0 && passed >= 1;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${seconds.padStart(5)} s  ${file}  ${title}`);
  if (!ok) {
    failures.push({ file, title });
    const why =
      passed === 0 && report?.numFailedTests === 0
        ? 'no test ran under this name'
        : `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-40).join('\n');
    console.log(why.replace(/^/gm, '      '));
  }
}
rmSync(dir, { recursive: true, force: true });

if (failures.length) {
  console.log(`\n${failures.length} of ${all.length} failed alone:`);
  for (const { file, title } of failures) console.log(`  npx jest ${file} -t '${title.replace(/'/g, "'\\''")}'`);
  process.exit(1);
}
console.log(`\nall ${all.length} passed alone`);
