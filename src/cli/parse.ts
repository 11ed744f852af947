// From argv to a command and its values, with node:util's parseArgs driven by
// the table in src/cli/commands.ts. Every refusal here is a UsageError that
// carries the help to show with it.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isCommand, optionsOf, type CommandName } from './commands.js';
import { commandList, commandUsage } from './usage.js';

export class UsageError extends Error {
  /** `usage` goes to stderr after the message; undefined when the message says all. */
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}

export type Values = Record<string, string | string[] | boolean | undefined>;

export type Parsed = { help: string } | { command: CommandName; values: Values };

function parseArgsOptions(command: CommandName): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(optionsOf(command)).map(([name, o]) => [
      name,
      { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) },
    ]),
  );
}

/**
 * parseArgs' messages, on one line, without its advice to put a dash-led
 * positional after `--`: these commands take no positionals at all.
 */
function parseArgsMessage(err: unknown): string {
  const { code, message } = err as { code?: string; message: string };
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown option '${unknown[1]}'`;
  const positional = /^Unexpected argument '([^']+)'/.exec(message);
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' && positional) {
    return `unexpected argument '${positional[1]}': every value follows its --option`;
  }
  return message.replace(/\s*\n\s*/g, ' ');
}

/** `[]`, `--help`, `help` and `help <command>` ask for help; `<command> ...` runs one. */
export function parse(argv: string[]): Parsed {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('which command?', commandList());
  if (first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && rest.length) {
      const [command = '', ...extra] = rest;
      if (!isCommand(command)) throw new UsageError(`unknown command '${command}'`, commandList());
      if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}' after help ${command}`, commandList());
      return { help: commandUsage(command) };
    }
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}' after ${first}`, commandList());
    return { help: commandList() };
  }
  if (!isCommand(first)) throw new UsageError(`unknown command '${first}'`, commandList());
  const command = first;
  const usage = commandUsage(command);
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: parseArgsOptions(command), strict: true, allowPositionals: false })
      .values as Values;
  } catch (err) {
    // --help wins over any other mistake on the line: it is how one finds the fix.
    if (rest.some((a) => a === '--help' || a === '-h')) return { help: usage };
    throw new UsageError(`${command}: ${parseArgsMessage(err)}`, usage);
  }
  if (values.help) return { help: usage };
  for (const [name, o] of Object.entries(optionsOf(command))) {
    const value = values[name];
    if (o.required && (typeof value !== 'string' || !value))
      throw new UsageError(`${command}: --${name} is required`, usage);
    const given = value === undefined ? [] : Array.isArray(value) ? value : [value];
    for (const v of given) {
      if (o.choices && !o.choices.includes(v as string)) {
        throw new UsageError(`${command}: --${name} must be one of ${o.choices.join(', ')}; not '${String(v)}'`, usage);
      }
    }
  }
  return { command, values };
}
