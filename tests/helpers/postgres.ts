// A PostgreSQL server for tests: a throwaway cluster of our own (initdb into
// a temporary directory, pg_ctl on a free loopback port, fsync off), or the
// server at TEST_PG_URL when that is set. Never a silent skip: without
// binaries and without TEST_PG_URL, start() throws a message saying what to
// install.
//
// Outages: on our own cluster, `pg_ctl stop -m fast` and `pg_ctl start` (the
// real thing). A server we do not own cannot be stopped, so with TEST_PG_URL
// the application reaches it through a TCP relay in this process, and an
// outage cuts the relay (closes every connection, refuses new ones).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './processes.js';

const run = promisify(execFile);

export interface PgServer {
  /** How the test itself connects, as a superuser (own cluster) or as TEST_PG_URL's user. */
  adminUrl: string;
  /** Creates an empty database the application may use; returns its URL (through the relay with TEST_PG_URL). */
  createDatabase(name: string): Promise<string>;
  /** The database is gone for the application: connections closed, new ones refused. */
  outage(): Promise<void>;
  /** And back. */
  recover(): Promise<void>;
  stop(): Promise<void>;
  describe: string;
  /**
   * What another process needs to make databases on this server
   * (tests/helpers/database.ts, for the whole suite on PostgreSQL).
   */
  shared: SharedPg;
}

/** A PostgreSQL server's admin URL, and the URL (any database name) the application connects with. */
export interface SharedPg {
  adminUrl: string;
  /** The application's URL; its path is replaced with the database's name. */
  appUrl: string;
  /** The role that owns each new database, when the admin is not the application. */
  owner?: string;
}

/** The directory holding initdb, pg_ctl and postgres: PG_BIN, pg_config --bindir, or the newest /usr/lib/postgresql/<n>/bin. */
async function findBinaries(): Promise<{ bin?: string; looked: string[] }> {
  const looked: string[] = [];
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    const { stdout } = await run('pg_config', ['--bindir']);
    candidates.push(stdout.trim());
  } catch {
    looked.push('pg_config on PATH');
  }
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } else {
    looked.push('/usr/lib/postgresql/<version>/bin');
  }
  for (const dir of candidates) {
    looked.push(dir);
    if (['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(dir, b)))) return { bin: dir, looked };
  }
  return { looked };
}

export async function startPostgres(opts: { maxConnections?: number } = {}): Promise<PgServer> {
  const external = process.env.TEST_PG_URL;
  return external ? useExternal(external) : ownCluster(opts.maxConnections ?? 100);
}

async function ownCluster(maxConnections: number): Promise<PgServer> {
  const { bin, looked } = await findBinaries();
  if (!bin) {
    throw new Error(
      `PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; looked in: ${looked.join(', ')}. ` +
        'Install them (Debian/Ubuntu: apt-get install -y postgresql), or set PG_BIN to their directory, ' +
        'or set TEST_PG_URL=postgresql://user:password@host:port/db for a server where that user may CREATE DATABASE.',
    );
  }
  // initdb refuses to run as root: as root, the cluster belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  let owner: { uid: number; gid: number } | undefined;
  if (asRoot) {
    try {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      owner = { uid, gid };
    } catch {
      throw new Error(
        'running as root, PostgreSQL needs the "postgres" system user to own its cluster, and there is none (it comes with the postgresql package)',
      );
    }
  }
  const pgRun = (file: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(bin, file), ...args], { timeout: 60_000 })
      : run(join(bin, file), args, { timeout: 60_000 });

  const dir = mkdtempSync(join(tmpdir(), 'oidc-pg-'));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const data = join(dir, 'data');
  const port = await freePort();
  try {
    await pgRun('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${(err as Error).message}`);
  }
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=${maxConnections}`;
  const start = async () => {
    await pgRun('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', options, 'start']);
  };
  const stopFast = async () => {
    await pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
  };
  try {
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pg_ctl start failed: ${(err as Error).message}`);
  }
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  await sql(adminUrl, `CREATE ROLE app LOGIN PASSWORD 'app'`);
  let running = true;
  return {
    adminUrl,
    describe: `own cluster (${bin}) on 127.0.0.1:${port}`,
    shared: { adminUrl, appUrl: `postgresql://app:app@127.0.0.1:${port}/postgres`, owner: 'app' },
    async createDatabase(name) {
      await sql(adminUrl, `CREATE DATABASE ${name} OWNER app`);
      return `postgresql://app:app@127.0.0.1:${port}/${name}`;
    },
    async outage() {
      await stopFast();
      running = false;
    },
    async recover() {
      await start();
      running = true;
    },
    async stop() {
      if (running)
        await stopFast().catch(() => pgRun('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']).catch(() => {}));
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function useExternal(url: string): Promise<PgServer> {
  const target = new URL(url);
  const relay = new Relay(target.hostname, Number(target.port || 5432));
  await relay.listen(await freePort());
  const created: string[] = [];
  const relayed = new URL(url);
  relayed.hostname = '127.0.0.1';
  relayed.port = String(relay.port);
  return {
    adminUrl: url,
    shared: { adminUrl: url, appUrl: relayed.href },
    describe: `TEST_PG_URL (${target.hostname}:${target.port || 5432}) through a relay on 127.0.0.1:${relay.port}`,
    async createDatabase(name) {
      // A shared server may still hold a database from an earlier run that could not clean up.
      const unique = `${name}_${randomBytes(4).toString('hex')}`;
      await sql(url, `CREATE DATABASE ${unique}`);
      created.push(unique);
      const app = new URL(url);
      app.hostname = '127.0.0.1';
      app.port = String(relay.port);
      app.pathname = `/${unique}`;
      return app.href;
    },
    outage: () => relay.cut(),
    recover: () => relay.listen(relay.port),
    async stop() {
      await relay.cut();
      for (const name of created) await sql(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    },
  };
}

/** A TCP relay that can be cut and restored on the same port. */
class Relay {
  #server?: Server;
  #sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async listen(port: number): Promise<void> {
    this.port = port;
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    this.#server = server;
  }

  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const s of this.#sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** One statement (or several, simple protocol) on a short-lived connection. */
export async function sql<T = Record<string, unknown>>(url: string, text: string, values?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}
