// The help texts, written from the table in src/cli/commands.ts only.
import { COMMANDS, optionsOf, type CommandName, type CommandSpec, type OptionSpec } from './commands.js';

const WIDTH = 80;

function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n');
}

/** `--redirect-uri URI` and, for the short form, `-h, --help`. */
export function optionLabel(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
  return spec.short ? `-${spec.short}, ${long}` : long;
}

function optionHelp(name: string, spec: OptionSpec): string {
  const notes = [
    spec.required ? 'required' : undefined,
    spec.multiple ? 'repeatable: give it once per value' : undefined,
  ].filter(Boolean);
  const text = [
    spec.description,
    spec.choices ? `One of: ${spec.choices.join(', ')}.` : undefined,
    spec.default !== undefined ? `Default: ${spec.default}.` : undefined,
  ].filter(Boolean);
  return `  ${optionLabel(name, spec)}${notes.length ? `  (${notes.join('; ')})` : ''}\n${wrap(text.join(' '), 6)}`;
}

/** What `<command> --help` prints. */
export function commandUsage(command: CommandName): string {
  const spec: CommandSpec = COMMANDS[command];
  const options = optionsOf(command);
  const required = Object.entries(options)
    .filter(([, o]) => o.required)
    .map(([name, o]) => optionLabel(name, o));
  return [
    `Usage: npm run --silent ${command} -- ${[...required, '[options]'].join(' ')}`,
    `       npm run --silent cli -- ${command} ${[...required, '[options]'].join(' ')}`,
    '',
    wrap(spec.description, 0),
    '',
    'Options:',
    ...Object.entries(options).map(([name, o]) => optionHelp(name, o)),
    '',
    'Examples:',
    ...spec.examples.flatMap((e) => [
      ...(e.note ? [`  # ${e.note}`] : []),
      `  npm run --silent ${command} -- ${e.args}`,
    ]),
    '',
    'On success it prints one JSON document on stdout and exits 0. Bad arguments exit 2 with',
    'the error and this help on stderr; a refusal (the input is invalid, or taken) exits 1;',
    '"not yet, try again in N s" exits 75. It reads the same settings and .env as the server.',
    '',
  ].join('\n');
}

/** What `cli --help` and `cli help` print. */
export function commandList(): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const width = Math.max(...names.map((n) => n.length));
  return [
    'Usage: npm run --silent cli -- <command> [options]',
    '       npm run --silent <command> -- [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n].summary}`),
    '',
    'Each command explains itself: npm run --silent cli -- <command> --help (or help <command>).',
    `For example: npm run --silent ${names[0]} -- --help`,
    '',
  ].join('\n');
}
