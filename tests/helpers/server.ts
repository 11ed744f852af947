// Starts the real application in-process on a free loopback port, on its own
// SQLite file (or, with TEST_DATABASE=postgres, its own PostgreSQL database:
// tests/helpers/database.ts) unless the test gives a DATABASE_URL, exactly as src/main.ts wires it (minus the process signals),
// key refresh included.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';
import { compose, type Services } from '../../src/compose.js';
import { createApp } from '../../src/app.js';
import { closeDatabase } from '../../src/db/client.js';
import type { ClientMetadata } from 'oidc-provider';
import type { NewClient } from '../../src/clients/clients.js';
import { testDatabase } from './database.js';

export interface TestServer {
  issuer: string;
  config: Config;
  /** Every service, as src/compose.ts built them for this server. */
  prepared: Services;
  dir: string;
  /** The server's log lines (JSON), when started with LOG_LEVEL other than silent. */
  logs: string[];
  /** Registers a client through the same service the CLI uses. */
  client(input?: Partial<NewClient>): Promise<ClientMetadata & { client_id: string; client_secret?: string }>;
  /** Creates an account; returns its username and password. */
  user(input?: {
    username?: string;
    password?: string;
    email?: string;
    serverId?: string;
  }): Promise<{ id: string; username: string; password: string; serverId: string }>;
  /** Puts the API tests' catalog: ITEM_001 (amount 100) and ITEM_002 (amount 250). */
  stockItems(): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;

const TEST_ITEMS = [
  { itemId: 'ITEM_001', name: '品項1', imgUrl: 'https://img.example.com/img/item_001.png', amount: 100 },
  { itemId: 'ITEM_002', name: '品項2', imgUrl: 'https://img.example.com/img/item_002.png', amount: 250 },
];

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-test-'));
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  // A database of its own unless the test shares one (env.DATABASE_URL): that one is the test's to remove.
  const own = env.DATABASE_URL ? undefined : await testDatabase(dir, 'test.db');
  const config = loadConfig({
    NODE_ENV: 'test',
    ISSUER: issuer,
    ...(own && { DATABASE_URL: own.url }),
    DATA_DIR: dir,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'silent',
    ...env,
  });
  // Everything the server logs, kept for the tests that read it (at LOG_LEVEL, default silent).
  const logs: string[] = [];
  const sink = { write: (line: string) => void logs.push(line) };
  const log = createLogger(config.logLevel, sink);
  const prepared = await compose(config, log);
  const app = createApp(prepared);
  server.on('request', app.callback());
  prepared.keyRefresh.start(log);

  return {
    issuer,
    config,
    prepared,
    dir,
    logs,
    async client(input = {}) {
      const metadata = await prepared.clientService.create({
        name: input.name ?? `client ${++counter}`,
        redirectUris: input.redirectUris ?? ['http://127.0.0.1:9999/cb'],
        ...input,
      });
      return metadata as ClientMetadata & { client_id: string; client_secret?: string };
    },
    async stockItems() {
      for (const item of TEST_ITEMS) await prepared.shop.putItem(item);
    },
    async user(input = {}) {
      const username = input.username ?? `user${++counter}`;
      const password = input.password ?? `pw-${counter}-correct horse`;
      const account = await prepared.accounts.create({
        username,
        password,
        email: input.email,
        serverId: input.serverId,
      });
      return { id: account.id, username, password, serverId: account.serverId };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await prepared.keyRefresh.stop();
      await closeDatabase(prepared.database);
      await own?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
