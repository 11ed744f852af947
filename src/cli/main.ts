// Command line for automation and teaching. Prints only JSON on stdout on
// success (and the help, when asked for); messages go to stderr; a bad
// argument exits 2 with the command's usage, a refusal 1, and "not yet, try
// again in N s" 75 (EX_TEMPFAIL in sysexits.h). The commands and their
// options: src/cli/commands.ts; `npm run --silent cli -- --help` lists them.
import { loadDotEnv, loadConfig, type Config } from '../config/index.js';
import { compose, type Services } from '../compose.js';
import type { AuthMethod } from '../clients/clients.js';
import { closeDatabase } from '../db/client.js';
import { createLogger } from '../log.js';
import {
  activateSigningKeys,
  activationWait,
  publishDelay,
  rotateSigningKeys,
  stageSigningKeys,
} from '../oidc/keys.js';
import { keyRetention } from '../oidc/provider.js';
import { parse, UsageError, type Values } from './parse.js';
import { commandUsage } from './usage.js';
import type { CommandName } from './commands.js';

/**
 * Runs `command` with the services the server uses (src/compose.ts), then
 * closes the database. Silent logger: stdout carries only the command's JSON.
 */
async function withServices<T>(command: (services: Services, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const services = await compose(config, createLogger('silent'));
  try {
    return await command(services, config);
  } finally {
    await closeDatabase(services.database);
  }
}

/** The command may succeed later, unchanged. */
class TryLater extends Error {}

const secondsOf = (ms: number) => Math.ceil(ms / 100) / 10;

/** A value parseArgs accepted but the command cannot use: the message, then the command's usage. */
const badValue = (command: CommandName, message: string) =>
  new UsageError(`${command}: ${message}`, commandUsage(command));

/** A string the table marks required: parse() has checked it is there. */
const str = (values: Values, name: string): string => values[name] as string;

async function clientCreate(values: Values): Promise<unknown> {
  const name = str(values, 'name');
  const redirectUris = (values['redirect-uri'] as string[] | undefined) ?? [];
  const grantTypes = values['grant-type'] as string[] | undefined;
  const responseTypes = values['response-type'] as string[] | undefined;
  const authMethod = values['auth-method'] as AuthMethod | undefined;
  const resourceServer = values['resource-server'] === true;
  if (resourceServer && (grantTypes || responseTypes || redirectUris.length)) {
    throw badValue('client:create', '--resource-server takes no --grant-type, --response-type or --redirect-uri');
  }
  if (resourceServer && authMethod === 'none')
    throw badValue('client:create', '--resource-server needs a secret: its --auth-method cannot be none');
  const needsRedirect =
    !resourceServer && (!grantTypes || grantTypes.includes('authorization_code') || !!responseTypes);
  if (needsRedirect && !redirectUris.length) {
    throw badValue(
      'client:create',
      '--redirect-uri is required for the authorization_code grant and any --response-type',
    );
  }
  return withServices(({ clientService }) =>
    clientService.create({
      name,
      redirectUris,
      postLogoutRedirectUris: values['post-logout-redirect-uri'] as string[] | undefined,
      grantTypes,
      responseTypes,
      scope: values.scope as string | undefined,
      authMethod,
      resourceServer,
    }),
  );
}

async function userCreate(values: Values): Promise<unknown> {
  return withServices(async ({ accounts }) => {
    const account = await accounts.create({
      username: str(values, 'username'),
      password: str(values, 'password'),
      serverId: values['server-id'] as string | undefined,
      email: values.email as string | undefined,
      name: values.name as string | undefined,
    });
    return {
      id: account.id,
      username: account.username,
      server_id: account.serverId,
      email: account.email,
      name: account.name,
    };
  });
}

async function itemCreate(values: Values): Promise<unknown> {
  const itemId = str(values, 'item-id');
  const imgUrl = str(values, 'img-url');
  const amount = str(values, 'amount');
  if (itemId.length > 64 || !/^[\x21-\x7e]+$/.test(itemId))
    throw badValue('item:create', '--item-id: 1 to 64 printable characters, no spaces');
  if (!URL.canParse(imgUrl) || !/^https?:$/.test(new URL(imgUrl).protocol))
    throw badValue('item:create', '--img-url must be an http(s) URL');
  if (!/^\d{1,9}$/.test(amount)) throw badValue('item:create', '--amount must be a non-negative integer');
  return withServices(async ({ shop }) => {
    const item = await shop.putItem({ itemId, name: str(values, 'name'), imgUrl, amount: Number(amount) });
    return { item_id: item.itemId, item_name: item.name, item_img_url: item.imgUrl, amount: String(item.amount) };
  });
}

/**
 * It replaces the keys every node signs with, so a bare call (the natural way
 * to see what a command does) changes nothing: the operator picks the one-node
 * or the two-step rotation, and --help says what each does.
 */
async function keysRotate(values: Values): Promise<unknown> {
  const choices = (['now', 'stage', 'activate'] as const).filter((c) => values[c]);
  if (!choices.length)
    throw badValue(
      'keys:rotate',
      'choose --now (one node), or --stage then --activate (several nodes); nothing was changed',
    );
  if (choices.length > 1)
    throw badValue(
      'keys:rotate',
      `takes one of --now, --stage or --activate, not ${choices.map((c) => `--${c}`).join(' and ')}`,
    );
  if (values.wait && !values.activate) throw badValue('keys:rotate', '--wait goes with --activate');
  return withServices(async ({ db, box }, config) => {
    const interval = config.keyRefreshInterval;
    if (values.stage) {
      const staged = await stageSigningKeys(db, box);
      const wait = (await activationWait(db, interval)) ?? publishDelay(interval);
      return {
        staged,
        activate_after: new Date(Date.now() + wait).toISOString(),
        wait_seconds: secondsOf(wait),
        next: `every node publishes the staged keys within ${secondsOf(publishDelay(interval))} s (KEY_REFRESH_INTERVAL ${interval} s, and 1 s for the refresh itself); then run keys:rotate --activate`,
      };
    }
    if (values.activate) {
      let wait = await activationWait(db, interval);
      // Not a usage mistake but the state of the database: the message says all.
      if (wait === undefined) throw new UsageError('nothing is staged: run keys:rotate --stage first');
      if (wait > 0 && !values.wait) {
        throw new TryLater(
          `too early: some node may not publish the staged keys yet (they reach every node within KEY_REFRESH_INTERVAL ${interval} s + 1 s); ` +
            `run keys:rotate --activate again in ${secondsOf(wait)} s, or add --wait`,
        );
      }
      while (wait !== undefined && wait > 0) {
        process.stderr.write(`waiting ${secondsOf(wait)} s until every node publishes the staged keys\n`);
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = await activationWait(db, interval);
      }
      const activation = await activateSigningKeys(db, keyRetention(config));
      if (!activation.activated.length) throw new UsageError('nothing is staged: run keys:rotate --stage first');
      return {
        ...activation,
        next: `every node signs with the activated keys within ${interval} s (KEY_REFRESH_INTERVAL); no restart`,
      };
    }
    const rotation = await rotateSigningKeys(db, box, keyRetention(config));
    return {
      ...rotation,
      next: `the server signs with the new keys within ${interval} s (KEY_REFRESH_INTERVAL); no restart. With several nodes use --stage, then --activate`,
    };
  });
}

const RUN: Record<CommandName, (values: Values) => Promise<unknown>> = {
  'client:create': clientCreate,
  'user:create': userCreate,
  'keys:rotate': keysRotate,
  'item:create': itemCreate,
};

loadDotEnv();
(async () => {
  const parsed = parse(process.argv.slice(2));
  if ('help' in parsed) return parsed.help;
  return `${JSON.stringify(await RUN[parsed.command](parsed.values), null, 2)}\n`;
})().then(
  (out) => {
    process.stdout.write(out);
  },
  (err: unknown) => {
    const usage = err instanceof UsageError && err.usage ? `\n${err.usage}` : '';
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n${usage}`);
    process.exitCode = err instanceof UsageError ? 2 : err instanceof TryLater ? 75 : 1;
  },
);
