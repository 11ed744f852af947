// Command line for automation and teaching. Prints only JSON on stdout;
// messages go to stderr; a bad argument exits 2, a failure 1, and "not yet,
// try again in N s" 75 (EX_TEMPFAIL in sysexits.h).
//
//   client:create --name N --redirect-uri U [--redirect-uri U2] [--post-logout-redirect-uri U]
//                 [--scope "..."] [--grant-type G]... [--response-type "code id_token"]...
//                 [--auth-method client_secret_basic|client_secret_post|none]
//   client:create --name N --resource-server      (credentials for an API that introspects tokens)
//   user:create   --username U --password P [--server-id S] [--email E] [--name N]
//   keys:rotate   [--stage | --activate [--wait]]   (one node: no option; several nodes: --stage, then --activate
//                 once every node publishes the staged keys: KEY_REFRESH_INTERVAL + 1 s later)
//   item:create   --item-id ID --name N --img-url URL --amount A   (adds or updates a catalog item)
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadDotEnv, loadConfig } from '../config/index.js';
import { prepare, type Prepared } from '../setup.js';
import { AUTH_METHODS, type AuthMethod } from '../clients/clients.js';
import { SecretBox } from '../db/secret-box.js';
import { activateSigningKeys, activationWait, publishDelay, rotateSigningKeys, stageSigningKeys } from '../oidc/keys.js';
import { keyRetention } from '../oidc/provider.js';

class UsageError extends Error {}
/** The command may succeed later, unchanged. */
class TryLater extends Error {}

const secondsOf = (ms: number) => Math.ceil(ms / 100) / 10;

const COMMANDS: Record<string, ParseArgsConfig['options']> = {
  'client:create': {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    'post-logout-redirect-uri': { type: 'string', multiple: true },
    scope: { type: 'string' },
    'grant-type': { type: 'string', multiple: true },
    'response-type': { type: 'string', multiple: true },
    'auth-method': { type: 'string' },
    'resource-server': { type: 'boolean' },
  },
  'user:create': {
    username: { type: 'string' },
    password: { type: 'string' },
    'server-id': { type: 'string' },
    email: { type: 'string' },
    name: { type: 'string' },
  },
  'keys:rotate': { stage: { type: 'boolean' }, activate: { type: 'boolean' }, wait: { type: 'boolean' } },
  'item:create': {
    'item-id': { type: 'string' },
    name: { type: 'string' },
    'img-url': { type: 'string' },
    amount: { type: 'string' },
  },
};

function parse(argv: string[]) {
  const [command, ...rest] = argv;
  const options = command ? COMMANDS[command] : undefined;
  if (!command || !options) throw new UsageError(`usage: <command> [options]; commands: ${Object.keys(COMMANDS).join(', ')}`);
  try {
    const { values } = parseArgs({ args: rest, options, strict: true, allowPositionals: false });
    return { command, values: values as Record<string, string | string[] | boolean | undefined> };
  } catch (err) {
    throw new UsageError(`${command}: ${(err as Error).message}`);
  }
}

/**
 * The Prisma client, and on PostgreSQL our own pool, which the adapter leaves
 * open: its idle connections would keep the command alive for pg's 10 s idle timeout.
 */
async function close(prepared: Prepared): Promise<void> {
  await prepared.database.db.$disconnect();
  await prepared.database.pool?.end();
}

const required = (values: Record<string, unknown>, name: string): string => {
  const v = values[name];
  if (typeof v !== 'string' || !v) throw new UsageError(`--${name} is required`);
  return v;
};

async function run(argv: string[]): Promise<unknown> {
  const { command, values } = parse(argv);
  if (command === 'client:create') {
    const name = required(values, 'name');
    const redirectUris = (values['redirect-uri'] as string[] | undefined) ?? [];
    const grantTypes = values['grant-type'] as string[] | undefined;
    const responseTypes = values['response-type'] as string[] | undefined;
    const authMethod = values['auth-method'] as string | undefined;
    if (authMethod !== undefined && !AUTH_METHODS.includes(authMethod as AuthMethod)) {
      throw new UsageError(`--auth-method must be one of ${AUTH_METHODS.join(', ')}`);
    }
    const resourceServer = values['resource-server'] === true;
    if (resourceServer && (grantTypes || responseTypes || redirectUris.length)) {
      throw new UsageError('--resource-server takes no --grant-type, --response-type or --redirect-uri');
    }
    if (resourceServer && authMethod === 'none') throw new UsageError('--resource-server needs a secret: its --auth-method cannot be none');
    const needsRedirect = !resourceServer && (!grantTypes || grantTypes.includes('authorization_code') || !!responseTypes);
    if (needsRedirect && !redirectUris.length) throw new UsageError('--redirect-uri is required for the authorization_code grant and any --response-type');
    const prepared = await prepare(loadConfig());
    try {
      return await prepared.clientService.create({
        name,
        redirectUris,
        postLogoutRedirectUris: values['post-logout-redirect-uri'] as string[] | undefined,
        grantTypes,
        responseTypes,
        scope: values.scope as string | undefined,
        authMethod: authMethod as AuthMethod | undefined,
        resourceServer,
      });
    } finally {
      await close(prepared);
    }
  }
  if (command === 'user:create') {
    const username = required(values, 'username');
    const password = required(values, 'password');
    const prepared = await prepare(loadConfig());
    try {
      const account = await prepared.accounts.create({
        username,
        password,
        serverId: values['server-id'] as string | undefined,
        email: values.email as string | undefined,
        name: values.name as string | undefined,
      });
      return { id: account.id, username: account.username, server_id: account.serverId, email: account.email, name: account.name };
    } finally {
      await close(prepared);
    }
  }
  if (command === 'item:create') {
    const itemId = required(values, 'item-id');
    const name = required(values, 'name');
    const imgUrl = required(values, 'img-url');
    const amount = required(values, 'amount');
    if (itemId.length > 64 || !/^[\x21-\x7e]+$/.test(itemId)) throw new UsageError('--item-id: 1 to 64 printable characters, no spaces');
    if (!URL.canParse(imgUrl) || !/^https?:$/.test(new URL(imgUrl).protocol)) throw new UsageError('--img-url must be an http(s) URL');
    if (!/^\d{1,9}$/.test(amount)) throw new UsageError('--amount must be a non-negative integer');
    const prepared = await prepare(loadConfig());
    try {
      const item = await prepared.shop.putItem({ itemId, name, imgUrl, amount: Number(amount) });
      return { item_id: item.itemId, item_name: item.name, item_img_url: item.imgUrl, amount: String(item.amount) };
    } finally {
      await close(prepared);
    }
  }
  // keys:rotate
  if (values.stage && values.activate) throw new UsageError('keys:rotate takes --stage or --activate, not both');
  if (values.wait && !values.activate) throw new UsageError('--wait goes with --activate');
  const config = loadConfig();
  const prepared = await prepare(config);
  const db = prepared.database.db;
  const box = new SecretBox(prepared.secrets.secretKey);
  const interval = config.keyRefreshInterval;
  try {
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
      return { ...activation, next: `every node signs with the activated keys within ${interval} s (KEY_REFRESH_INTERVAL); no restart` };
    }
    const rotation = await rotateSigningKeys(db, box, keyRetention(config));
    return {
      ...rotation,
      next: `the server signs with the new keys within ${interval} s (KEY_REFRESH_INTERVAL); no restart. With several nodes use --stage, then --activate`,
    };
  } finally {
    await close(prepared);
  }
}

loadDotEnv();
run(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof UsageError ? 2 : err instanceof TryLater ? 75 : 1;
  },
);
