// Every setting the service reads, validated once at start. Nothing else in
// src/ reads process.env. Each setting is documented in .env.example.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ROUTES } from '../routes.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const seconds = z.coerce.number().int().positive();

const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);

/** More processes than this would only compete for the one database (and SQLite's one writer). */
const MAX_WORKERS = 64;

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce.number().int().min(0).max(65535).default(5000),
    HOST: z.string().min(1).default('127.0.0.1'),
    // `auto`: one per CPU this process may use (capped like a number).
    WORKERS: z
      .union([z.literal('auto'), z.coerce.number().int().min(1).max(MAX_WORKERS)], {
        error: `an integer from 1 to ${MAX_WORKERS}, or auto`,
      })
      .default(1)
      .transform((v) => (v === 'auto' ? Math.min(availableParallelism(), MAX_WORKERS) : v)),
    // Unset: http://127.0.0.1:$PORT, so that PORT alone moves the whole server
    // (discovery, redirects, the demo client) and not only the socket.
    ISSUER: z.url({ protocol: /^https?$/ }).optional(),
    DATABASE_URL: z.string().min(1).default('file:./data/oidc.db'),
    DATA_DIR: z.string().min(1).default('./data'),
    COOKIE_KEYS: list.optional(),
    SECRET_KEY: z.string().optional(),
    TRUST_PROXY: bool.default(false),
    ACCESS_TOKEN_TTL: seconds.default(864000),
    AUTHORIZATION_CODE_TTL: seconds.default(60),
    ID_TOKEN_TTL: seconds.default(3600),
    REFRESH_TOKEN_TTL: seconds.default(14 * 24 * 3600),
    CLIENT_CREDENTIALS_TTL: seconds.default(600),
    SESSION_TTL: seconds.default(14 * 24 * 3600),
    INTERACTION_TTL: seconds.default(3600),
    GRANT_TTL: seconds.default(14 * 24 * 3600),
    API_RESOURCE: z.url().optional(),
    REGISTRATION_ENABLED: bool.default(false),
    REGISTRATION_INITIAL_ACCESS_TOKEN: z.string().min(16).optional(),
    IMPLICIT_AND_HYBRID: bool.default(false),
    API_MODE: z.enum(['in-process', 'introspection']).default('in-process'),
    API_PORT: z.coerce.number().int().min(0).max(65535).default(5001),
    INTROSPECTION_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    INTROSPECTION_CLIENT_ID: z.string().min(1).optional(),
    INTROSPECTION_CLIENT_SECRET: z.string().min(1).optional(),
    INTROSPECTION_CACHE_TTL: z.coerce.number().int().min(0).max(300).default(10),
    API_CORS_ORIGINS: list.default([]),
    BUY_AT_TIME_ZONE: z.string().refine(isTimeZone, 'not an IANA time zone').default('UTC'),
    THROTTLE_WINDOW: seconds.default(900),
    LOGIN_MAX_FAILURES_PER_USER: z.coerce.number().int().positive().default(10),
    LOGIN_MAX_FAILURES_PER_IP: z.coerce.number().int().positive().default(100),
    CLIENT_AUTH_MAX_FAILURES: z.coerce.number().int().positive().default(20),
    CLIENT_AUTH_MAX_FAILURES_PER_IP: z.coerce.number().int().positive().default(100),
    METRICS_TOKEN: z.string().min(16).optional(),
    PURGE_INTERVAL: z.coerce.number().int().min(0).default(600),
    KEY_REFRESH_INTERVAL: seconds.max(3600).default(30),
    SEED_DEMO: bool.optional(),
    CONSOLE_SIGN_UP: bool.optional(),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  })
  .refine((c) => !c.REGISTRATION_ENABLED || c.REGISTRATION_INITIAL_ACCESS_TOKEN, {
    message: 'REGISTRATION_ENABLED=true needs REGISTRATION_INITIAL_ACCESS_TOKEN (at least 16 characters)',
    path: ['REGISTRATION_INITIAL_ACCESS_TOKEN'],
  })
  .refine((c) => c.NODE_ENV !== 'production' || (c.COOKIE_KEYS?.length && c.SECRET_KEY), {
    message: 'in production COOKIE_KEYS and SECRET_KEY must be set (they are only generated for development)',
    path: ['SECRET_KEY'],
  })
  .refine(
    (c) =>
      (c.SECRET_KEY === undefined || c.SECRET_KEY.length >= 32) && (c.COOKIE_KEYS ?? []).every((k) => k.length >= 32),
    {
      message: 'SECRET_KEY and each of COOKIE_KEYS must be at least 32 characters (e.g. openssl rand -base64 32)',
      path: ['SECRET_KEY'],
    },
  )
  .refine((c) => c.API_MODE !== 'introspection' || (c.INTROSPECTION_CLIENT_ID && c.INTROSPECTION_CLIENT_SECRET), {
    message:
      'API_MODE=introspection needs INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET (client:create --resource-server)',
    path: ['INTROSPECTION_CLIENT_ID'],
  });

export type Env = z.output<typeof schema>;

/** Brute-force limits (src/security/throttle.ts): failures per key within the window. */
export interface ThrottleLimits {
  /** Seconds a counter lives after its first failure. */
  window: number;
  loginPerUser: number;
  loginPerIp: number;
  clientAuthPerClient: number;
  clientAuthPerIp: number;
}

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  /** Processes serving PORT (node:cluster, src/workers.ts); 1: this process alone, no primary. */
  workers: number;
  issuer: string;
  databaseUrl: string;
  dataDir: string;
  /** Absent in development: src/config/secrets.ts generates and keeps them. */
  cookieKeys?: string[];
  secretKey?: string;
  trustProxy: boolean;
  ttl: {
    accessToken: number;
    authorizationCode: number;
    idToken: number;
    refreshToken: number;
    clientCredentials: number;
    session: number;
    interaction: number;
    grant: number;
  };
  /** RFC 8707 resource indicator of our API, the audience of its tokens. */
  apiResource: string;
  registration: { enabled: boolean; initialAccessToken?: string };
  /**
   * Offer OpenID Connect's implicit and hybrid response types (tokens from the
   * authorization endpoint) besides `code`; off by default (RFC 9700 §2.1.2).
   */
  implicitAndHybrid: boolean;
  api: {
    /** How /api checks tokens: AccessToken.find beside the provider, or RFC 7662 introspection. */
    mode: 'in-process' | 'introspection';
    /** Port of `npm run start:api`, the API as a process of its own. */
    port: number;
    introspection: { endpoint: string; clientId?: string; clientSecret?: string; cacheTtl: number };
    corsOrigins: string[];
    buyAtTimeZone: string;
  };
  throttle: ThrottleLimits;
  /** Bearer token /metrics requires; open when unset. */
  metricsToken?: string;
  /** Seconds between purges of expired codes, tokens, sessions...; 0 turns them off. */
  purgeInterval: number;
  /**
   * Seconds between a node's reads of the signing keys: the longest a staged,
   * activated or retired key takes to reach a running node.
   */
  keyRefreshInterval: number;
  seedDemo: boolean;
  /** Whether anyone may create an account on the console's home page (src/console/). */
  consoleSignUp: boolean;
  logLevel: Env['LOG_LEVEL'];
}

export class ConfigError extends Error {}

/** Reads ./.env into the environment when it exists; variables already set win. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as in most .env conventions.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'config'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const issuer = (e.ISSUER ?? `http://127.0.0.1:${e.PORT}`).replace(/\/$/, '');
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    workers: e.WORKERS,
    issuer,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    cookieKeys: e.COOKIE_KEYS,
    secretKey: e.SECRET_KEY,
    trustProxy: e.TRUST_PROXY,
    ttl: {
      accessToken: e.ACCESS_TOKEN_TTL,
      authorizationCode: e.AUTHORIZATION_CODE_TTL,
      idToken: e.ID_TOKEN_TTL,
      refreshToken: e.REFRESH_TOKEN_TTL,
      clientCredentials: e.CLIENT_CREDENTIALS_TTL,
      session: e.SESSION_TTL,
      interaction: e.INTERACTION_TTL,
      grant: e.GRANT_TTL,
    },
    apiResource: e.API_RESOURCE ?? `${issuer}${ROUTES.api}`,
    registration: { enabled: e.REGISTRATION_ENABLED, initialAccessToken: e.REGISTRATION_INITIAL_ACCESS_TOKEN },
    implicitAndHybrid: e.IMPLICIT_AND_HYBRID,
    api: {
      mode: e.API_MODE,
      port: e.API_PORT,
      introspection: {
        endpoint: e.INTROSPECTION_ENDPOINT ?? `${issuer}${ROUTES.oauth.introspection}`,
        clientId: e.INTROSPECTION_CLIENT_ID,
        clientSecret: e.INTROSPECTION_CLIENT_SECRET,
        cacheTtl: e.INTROSPECTION_CACHE_TTL,
      },
      corsOrigins: e.API_CORS_ORIGINS,
      buyAtTimeZone: e.BUY_AT_TIME_ZONE,
    },
    throttle: {
      window: e.THROTTLE_WINDOW,
      loginPerUser: e.LOGIN_MAX_FAILURES_PER_USER,
      loginPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
      clientAuthPerClient: e.CLIENT_AUTH_MAX_FAILURES,
      clientAuthPerIp: e.CLIENT_AUTH_MAX_FAILURES_PER_IP,
    },
    metricsToken: e.METRICS_TOKEN,
    purgeInterval: e.PURGE_INTERVAL,
    keyRefreshInterval: e.KEY_REFRESH_INTERVAL,
    // A demo account in production would be a known account: never by default there.
    seedDemo: e.SEED_DEMO ?? e.NODE_ENV !== 'production',
    // Open for people learning on their own machine; a production server
    // decides who gets an account unless its operator opens sign-up.
    consoleSignUp: e.CONSOLE_SIGN_UP ?? e.NODE_ENV !== 'production',
    logLevel: e.LOG_LEVEL,
  };
}
