// The commands and their options: the one table that both node:util's
// parseArgs (src/cli/parse.ts) and the help (src/cli/usage.ts) read, so an
// option cannot be accepted without being explained, nor explained without
// being accepted. tests/cli.test.ts checks every option's help against it and
// runs every example as written.
import { AUTH_METHODS, DEFAULT_AUTH_METHOD, DEFAULT_GRANT_TYPES } from '../clients/clients.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's placeholder in the help (string options). */
  value?: string;
  /** May be given several times; the values are kept in order. */
  multiple?: boolean;
  short?: string;
  required?: boolean;
  /** The only values accepted; anything else is a usage error. */
  choices?: readonly string[];
  /** What applies when the option is absent, in words. */
  default?: string;
  description: string;
}

export interface CommandSpec {
  /** One line, for the list of commands. */
  summary: string;
  /** What the command does and prints, for its --help. */
  description: string;
  options: Record<string, OptionSpec>;
  /** Arguments after `npm run --silent <command> --`, as typed in a shell; each works when pasted. */
  examples: { args: string; note?: string }[];
}

/** Every command takes it; it is parsed like any other option. */
export const HELP_OPTION: OptionSpec = {
  type: 'boolean',
  short: 'h',
  description: 'Print this help on stdout and exit 0.',
};

export const COMMANDS = {
  'client:create': {
    summary: 'register a client (an app, or an API that introspects tokens); prints its secret',
    description:
      'Registers a client and prints its metadata as one JSON document, with the client_secret: the only time ' +
      'the secret is shown (it is stored encrypted with SECRET_KEY). The server validates the metadata as it ' +
      'would for dynamic registration.',
    options: {
      name: {
        type: 'string',
        value: 'NAME',
        required: true,
        description: "The client's name (client_name), shown on the consent page.",
      },
      'redirect-uri': {
        type: 'string',
        value: 'URI',
        multiple: true,
        description:
          'Where the authorization endpoint may send the user back, matched exactly (RFC 9700 §2.1). ' +
          'Required unless --resource-server, or --grant-type without authorization_code.',
      },
      'post-logout-redirect-uri': {
        type: 'string',
        value: 'URI',
        multiple: true,
        default: 'none',
        description: 'Where RP-initiated logout may send the user afterwards.',
      },
      scope: {
        type: 'string',
        value: '"S1 S2"',
        default: 'every scope the server offers',
        description: 'The scopes this client may ask for, separated by spaces (one argument: quote it).',
      },
      'grant-type': {
        type: 'string',
        value: 'GRANT',
        multiple: true,
        default: `${DEFAULT_GRANT_TYPES.join(' and ')} (or what --response-type needs)`,
        description: 'A grant the client may use: authorization_code, refresh_token, client_credentials, ...',
      },
      'response-type': {
        type: 'string',
        value: '"TYPE"',
        multiple: true,
        default: 'code',
        description:
          'A response type such as "code id_token"; other than code only when the server sets IMPLICIT_AND_HYBRID=true.',
      },
      'auth-method': {
        type: 'string',
        value: 'METHOD',
        choices: AUTH_METHODS,
        default: DEFAULT_AUTH_METHOD,
        description:
          'How the client authenticates at the token endpoint; none makes a public client with no secret (it must use PKCE).',
      },
      'resource-server': {
        type: 'boolean',
        default: 'off',
        description:
          'Credentials for an API that introspects tokens (INTROSPECTION_CLIENT_ID/_SECRET): no grants, no redirect URIs; ' +
          "it may introspect any client's tokens.",
      },
    },
    examples: [
      { args: '--name "My app" --redirect-uri http://127.0.0.1:8080/cb' },
      {
        args: '--name "SPA" --redirect-uri http://127.0.0.1:8080/cb --auth-method none --scope "openid profile"',
        note: 'a public client: no secret, PKCE',
      },
      { args: '--name "nightly job" --grant-type client_credentials --scope buy', note: 'no user, no redirect' },
      { args: '--name "resource api" --resource-server', note: 'the API running as its own process' },
    ],
  },
  'user:create': {
    summary: 'create an account that can log in; prints it, never the password',
    description:
      'Creates an account and prints it as one JSON document (id, username, server_id, email, name). ' +
      'The password is hashed with scrypt and never printed.',
    options: {
      username: {
        type: 'string',
        value: 'NAME',
        required: true,
        description: 'The login name: 1 to 64 letters, digits or . _ @ + -; unique.',
      },
      password: {
        type: 'string',
        value: 'PASSWORD',
        required: true,
        description: '8 to 1024 characters (quote it if it has spaces).',
      },
      'server-id': {
        type: 'string',
        value: 'ID',
        default: 'a random 16-hex-digit id',
        description: "The account's server_id claim and API field: 1 to 128 characters, no spaces.",
      },
      email: { type: 'string', value: 'EMAIL', default: 'none', description: 'The email claim.' },
      name: { type: 'string', value: 'NAME', default: 'none', description: 'The name claim.' },
    },
    examples: [
      {
        args: "--username alice --password 'a long passphrase' --server-id srv-1 --email alice@example.com --name Alice",
      },
      { args: "--username bob --password 'another long passphrase'" },
    ],
  },
  'keys:rotate': {
    summary: 'replace the signing keys: --now (one node), or --stage then --activate (several nodes)',
    description:
      'Creates new signing keys and retires the current ones; retired keys stay published for ID_TOKEN_TTL plus ' +
      'a day, so the tokens they signed still verify. Running nodes follow within KEY_REFRESH_INTERVAL, with no ' +
      'restart. It changes nothing without a choice: give exactly one of --now, --stage or --activate.',
    options: {
      now: {
        type: 'boolean',
        description:
          'One node: create the new keys and sign with them at once; the server publishes and uses them within ' +
          'KEY_REFRESH_INTERVAL. With several nodes, one could sign with a key another does not publish yet: use --stage.',
      },
      stage: {
        type: 'boolean',
        description:
          'Several nodes, step 1: create the new keys, published but not signing. Every node publishes them ' +
          'within KEY_REFRESH_INTERVAL + 1 s; prints when --activate may run (activate_after, wait_seconds).',
      },
      activate: {
        type: 'boolean',
        description:
          'Several nodes, step 2: the staged keys sign and the current ones retire, on every node within ' +
          'KEY_REFRESH_INTERVAL. Run too early it changes nothing and exits 75, saying how many seconds are left.',
      },
      wait: {
        type: 'boolean',
        default: 'off (too early: exit 75)',
        description: 'With --activate: wait until every node publishes the staged keys, then activate.',
      },
    },
    examples: [
      { args: '--now', note: 'one node' },
      { args: '--stage', note: 'several nodes: step 1' },
      { args: '--activate --wait', note: 'step 2, once the staged keys are published' },
    ],
  },
  'item:create': {
    summary: 'add or update an item of the shop catalog the API sells',
    description: 'Adds an item to the catalog, or updates the item with that id; prints it as one JSON document.',
    options: {
      'item-id': {
        type: 'string',
        value: 'ID',
        required: true,
        description: "The item's id: 1 to 64 printable characters, no spaces.",
      },
      name: { type: 'string', value: 'NAME', required: true, description: "The item's name, as the API shows it." },
      'img-url': { type: 'string', value: 'URL', required: true, description: 'An http(s) URL of its picture.' },
      amount: { type: 'string', value: 'AMOUNT', required: true, description: 'Its price: a non-negative integer.' },
    },
    examples: [
      { args: '--item-id ITEM_004 --name 品項4 --img-url https://img.example.com/img/item_004.png --amount 120' },
    ],
  },
} satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMANDS, name);

/** A command's options as parsed and as documented: its own and --help. */
export function optionsOf(command: CommandName): Record<string, OptionSpec> {
  return { ...COMMANDS[command].options, help: HELP_OPTION };
}
