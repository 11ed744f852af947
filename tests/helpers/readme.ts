// Reads the README's shell examples and runs them as a reader would: see
// tests/readme.test.ts for the rules. Every failure names the README line.
import { execFile } from 'node:child_process';
import { authorize, isPage, type UserAgent } from './user-agent.js';

/** The host and port the README's examples use; the only thing replaced before running them. */
export const README_HOST = 'http://127.0.0.1:5000';

export interface Demo {
  username: string;
  password: string;
  client_id: string;
  client_secret: string;
  redirect_uri: string;
  post_logout_redirect_uri: string;
}

/** What the server prints on its first start (src/main.ts). */
export function demoFromStdout(out: string): Demo {
  const field = (label: string) => {
    const value = new RegExp(`^  ${label}: +(.+)$`, 'm').exec(out)?.[1];
    if (!value) throw new Error(`no "${label}:" in the first-start output:\n${out}`);
    return value.trim();
  };
  const [username = '', password = ''] = field('user').split(' / ');
  return {
    username,
    password,
    client_id: field('client_id'),
    client_secret: field('client_secret'),
    redirect_uri: field('redirect_uri'),
    post_logout_redirect_uri: field('post_logout_redirect_uri'),
  };
}

/** One person following the README: their browser, their shell variables, what they saw. */
export interface Session {
  base: string;
  demo: Demo;
  ua: UserAgent;
  vars: Record<string, string>;
  /** stdout of every command run so far. */
  outputs: string[];
  /** Where the browser was last sent back to. */
  callback?: URL;
}

interface Shown {
  line: number;
  text: string;
}

export interface Block {
  /** README line of the block's first content line (1-based). */
  line: number;
  lang: string;
  lines: string[];
  skip?: string;
  /** A ```json block right after a ```sh block: what its last command prints. */
  shown?: Shown;
}

export interface Section {
  title: string;
  blocks: Block[];
}

export type Step =
  /** `name=…`; `field` when its comment starts with a field in backticks (`` oidc_code=…  # `code` from … ``). */
  | { kind: 'assign'; line: number; name: string; field?: string }
  | { kind: 'browser'; line: number; command: string }
  | { kind: 'run'; line: number; command: string; shown?: Shown };

const SKIP = /^<!-- readme-test: skip \((.+)\) -->$/;

export function readmeSections(readme: string): Map<string, Section> {
  const lines = readme.split('\n');
  const sections = new Map<string, Section>();
  let section: Section | undefined;
  let skip: string | undefined;
  let previous: { block: Block; end: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('## ')) {
      section = { title: line.slice(3).trim(), blocks: [] };
      sections.set(section.title, section);
      previous = undefined;
      continue;
    }
    const marker = SKIP.exec(line);
    if (marker) {
      skip = marker[1];
      continue;
    }
    if (!line.startsWith('```')) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const block: Block = { line: start + 2, lang: line.slice(3).trim(), lines: body, skip };
    skip = undefined;
    if (!section) continue;
    const adjacent = previous && lines.slice(previous.end + 1, start).every((l) => !l.trim());
    if (block.lang === 'json' && adjacent && previous!.block.lang === 'sh') {
      previous!.block.shown = { line: block.line, text: body.join('\n') };
    }
    section.blocks.push(block);
    previous = { block, end: i };
  }
  return sections;
}

/** The steps of a section's ```sh blocks, in order; blocks marked skip left out. */
export function steps(readme: string, title: string): Step[] {
  const section = readmeSections(readme).get(title);
  if (!section) throw new Error(`README.md has no section "## ${title}" (renamed? update tests/readme.test.ts)`);
  const out: Step[] = [];
  for (const block of section.blocks) {
    if (block.lang !== 'sh' || block.skip) continue;
    let lastRun: Extract<Step, { kind: 'run' }> | undefined;
    let afterCommand = false;
    for (let j = 0; j < block.lines.length; j++) {
      const line = block.line + j;
      const text = block.lines[j]!;
      if (!text.trim()) {
        afterCommand = false;
        continue;
      }
      if (text.startsWith('#')) {
        const comment = text.replace(/^#\s*/, '');
        if (comment.startsWith('{')) {
          if (!afterCommand || !lastRun)
            throw new Error(`README.md:${line}: an expected output that follows no command`);
          // A long output continues on the following comment lines.
          let json = comment;
          while (!parses(json) && block.lines[j + 1]?.startsWith('#')) json += block.lines[++j]!.replace(/^#\s*/, '');
          lastRun.shown = { line, text: json };
        }
        afterCommand = false;
        continue;
      }
      const assign = /^(\w+)=…(?:\s+#\s*(?:`(\w+)`)?.*)?$/.exec(text);
      if (assign) {
        out.push({ kind: 'assign', line, name: assign[1]!, field: assign[2] });
        afterCommand = false;
        continue;
      }
      let command = text;
      while (command.endsWith('\\') && j + 1 < block.lines.length) command += `\n${block.lines[++j]!}`;
      if (/^(open|xdg-open) /.test(command)) {
        out.push({ kind: 'browser', line, command });
        afterCommand = false;
      } else {
        lastRun = { kind: 'run', line, command };
        out.push(lastRun);
        afterCommand = true;
      }
    }
    if (block.shown) {
      if (!lastRun) throw new Error(`README.md:${block.shown.line}: an expected output after a block with no command`);
      lastRun.shown = block.shown;
    }
  }
  return out;
}

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The command in bash, with the session's shell variables and nothing else of ours; the README's host replaced. */
export function shell(command: string, session: Session): Promise<ShellResult> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...session.vars };
  return new Promise((resolve) => {
    // -u: a variable the README never told the reader to set is an error, not an empty string.
    execFile(
      'bash',
      ['--norc', '--noprofile', '-u', '-c', command.replaceAll(README_HOST, session.base)],
      { env, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export async function runStep(step: Step, session: Session): Promise<string | undefined> {
  const at = `README.md:${step.line}:`;
  if (step.kind === 'assign') {
    session.vars[step.name] = provide(step.field ?? step.name, session, at);
    return undefined;
  }
  if (step.kind === 'browser') {
    await browse(step.command, session, at);
    return undefined;
  }
  const result = await shell(step.command, session);
  const shown = `\`${step.command.split('\n')[0]}\``;
  if (result.code !== 0) throw new Error(`${at} ${shown} exited ${result.code}: ${result.stderr.trim()}`);
  session.outputs.push(result.stdout);
  if (step.shown) {
    const expected = parseShown(step.shown.text.replaceAll(README_HOST, session.base), step.shown.line);
    let actual: unknown;
    try {
      actual = JSON.parse(result.stdout);
    } catch {
      throw new Error(
        `README.md:${step.shown.line}: ${shown} printed ${JSON.stringify(result.stdout)}, not JSON; the README shows ${step.shown.text}`,
      );
    }
    const why = mismatch(expected, actual, '');
    if (why)
      throw new Error(
        `README.md:${step.shown.line}: ${shown} printed ${result.stdout.trim()}; the README shows ${step.shown.text}: ${why}`,
      );
  } else if (oauthError(result.stdout)) {
    // No README example without a shown output is meant to fail (RFC 6749 §5.2's shape).
    throw new Error(`${at} ${shown} answered an error: ${result.stdout.trim()}`);
  }
  return result.stdout;
}

/** Runs a section top to bottom; returns what each command printed. */
export async function runSection(readme: string, title: string, session: Session): Promise<string[]> {
  const printed: string[] = [];
  for (const step of steps(readme, title)) {
    const out = await runStep(step, session);
    if (out !== undefined) printed.push(out);
  }
  return printed;
}

/** `name=…`: the first-start output, the page the browser was sent back to, or the last output that carried the field. */
function provide(name: string, session: Session, at: string): string {
  if (name === 'client_id' || name === 'client_secret') return session.demo[name];
  const fromCallback = session.callback?.searchParams.get(name);
  if (fromCallback) return fromCallback;
  for (const out of [...session.outputs].reverse()) {
    try {
      const value = (JSON.parse(out) as Record<string, unknown>)[name];
      if (typeof value === 'string') return value;
    } catch {
      // not JSON
    }
  }
  throw new Error(`${at} the README asks for ${name}, which nothing before it printed`);
}

/** `open "<url>"`: what a person does in the browser at that URL. */
async function browse(command: string, session: Session, at: string): Promise<void> {
  const expanded = await shell(command.replace(/^(open|xdg-open) /, "printf '%s' "), session);
  if (expanded.code !== 0) throw new Error(`${at} could not expand the URL: ${expanded.stderr.trim()}`);
  const url = expanded.stdout;
  // The README says "or paste the URL": it must be one curl takes as it is.
  const curl = await shell('curl -sS -o /dev/null -- "$README_URL"', {
    ...session,
    vars: { ...session.vars, README_URL: url },
  });
  if (curl.code !== 0) throw new Error(`${at} curl refuses the URL ${url}: ${curl.stderr.trim()}`);

  const requested = new URL(url);
  const state = requested.searchParams.get('state');
  if (requested.pathname === '/oauth/authorize') {
    const { callback } = await authorize(session.ua, url, {
      username: session.demo.username,
      password: session.demo.password,
      consent: 'allow',
    });
    if (!callback.href.startsWith(`${session.demo.redirect_uri}?`))
      throw new Error(`${at} the browser was sent to ${callback.href}, not the demo client's redirect URI`);
    if (callback.searchParams.get('state') !== state) throw new Error(`${at} state not echoed: ${callback.href}`);
    session.callback = callback;
  } else if (requested.pathname === '/oauth/logout') {
    const page = await session.ua.navigate(url);
    if (!isPage(page) || page.status !== 200)
      throw new Error(`${at} no sign-out page: ${JSON.stringify(page).slice(0, 500)}`);
    const done = await session.ua.submit(page, '/logout/confirm', { logout: 'yes' });
    if (isPage(done))
      throw new Error(`${at} sign-out did not return to the client (${done.status}): ${done.html.slice(0, 500)}`);
    const back = new URL(done.redirect);
    const target = requested.searchParams.get('post_logout_redirect_uri');
    if (`${back.origin}${back.pathname}` !== target || back.searchParams.get('state') !== state) {
      throw new Error(`${at} the browser was sent to ${back.href}, not ${target} with state=${state}`);
    }
    const landing = await fetch(back);
    const html = await landing.text();
    if (landing.status !== 200 || !html.includes(`<code>${state}</code>`))
      throw new Error(`${at} ${back.href} does not show the state (${landing.status})`);
    session.callback = back;
  } else {
    throw new Error(`${at} a browser step at ${requested.pathname}, which this test cannot play`);
  }
}

function oauthError(stdout: string): boolean {
  try {
    const body: unknown = JSON.parse(stdout);
    return typeof body === 'object' && body !== null && 'error' in body;
  } catch {
    return false;
  }
}

function parses(text: string): boolean {
  try {
    parseShown(text, 0);
    return true;
  } catch {
    return false;
  }
}

/** A bare `…` in the README's JSON: any value at all. */
const ANY = '\u0000any value';

/** The README's JSON, where a bare `…` (a value that varies) becomes ANY. */
function parseShown(text: string, line: number): unknown {
  let json = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && c === '\\') {
      json += c + (text[++i] ?? '');
      continue;
    }
    if (c === '"') inString = !inString;
    json += !inString && c === '…' ? JSON.stringify(ANY) : c;
  }
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new Error(`README.md:${line}: the shown output is not JSON: ${(err as Error).message}`);
  }
}

/** Where `actual` differs from the README's `expected`: same keys, same values, `…` matching anything. */
export function mismatch(expected: unknown, actual: unknown, path: string): string | undefined {
  const where = path || 'the output';
  if (expected === ANY) return undefined;
  if (typeof expected === 'string') {
    if (typeof actual !== 'string') return `${where} is ${JSON.stringify(actual)}, not a string`;
    const pattern = new RegExp(
      `^${expected
        .split('…')
        .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[\\s\\S]*')}$`,
    );
    return pattern.test(actual) ? undefined : `${where} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return `${where} is ${JSON.stringify(actual)}, not ${expected.length} items`;
    for (let i = 0; i < expected.length; i++) {
      const why = mismatch(expected[i], actual[i], `${path}[${i}]`);
      if (why) return why;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual))
      return `${where} is ${JSON.stringify(actual)}, not an object`;
    const want = Object.keys(expected);
    const got = Object.keys(actual);
    const missing = want.filter((k) => !got.includes(k));
    const extra = got.filter((k) => !want.includes(k));
    if (missing.length || extra.length) {
      return `${where}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `not in the README: ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`;
    }
    for (const key of want) {
      const why = mismatch(
        (expected as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (why) return why;
    }
    return undefined;
  }
  return Object.is(expected, actual)
    ? undefined
    : `${where} is ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`;
}
