// Clients: one service for the command line and the console, holding every
// rule, so neither copies one. The library validates the metadata itself
// (Client.validate), so what we store is exactly what it would accept from
// dynamic registration; the few checks made here first exist to name the
// field and the reason in words a person can act on (and translate).
import { randomBytes } from 'node:crypto';
import type { ClientMetadata, ResponseType } from 'oidc-provider';
import type { ClientStore } from './store.js';
import { WITH_IMPLICIT_AND_HYBRID, sameResponseType } from '../config/response-types.js';

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
/** What a client gets when it names none (the CLI's help shows these too). */
export const DEFAULT_AUTH_METHOD: AuthMethod = 'client_secret_basic';
export const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;

export interface NewClient {
  name: string;
  /** A web page about the client (client_uri, OpenID Connect Dynamic Client Registration §2). */
  clientUri?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  grantTypes?: string[];
  /** Default `code`; others only when the provider offers them (IMPLICIT_AND_HYBRID). */
  responseTypes?: string[];
  scope?: string;
  authMethod?: AuthMethod;
  /**
   * A resource server's own credentials: no grants, no redirects, may only
   * call introspection, for any client's tokens (the library's FAQ, "Resource
   * Server only clients"; src/oidc/configuration.ts, introspection).
   */
  resourceServer?: boolean;
  /** The console account making it; none from the command line. */
  ownerId?: string;
}

/** What an owner may change after creation; the rest (grants, response types, auth method) is fixed. */
export interface ClientChanges {
  name: string;
  clientUri?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  scope?: string;
}

/** The fields a problem can be shown next to. */
export type ClientField =
  | 'name'
  | 'clientUri'
  | 'redirectUris'
  | 'postLogoutRedirectUris'
  | 'scope'
  | 'grantTypes'
  | 'responseTypes'
  | 'authMethod';

/**
 * Why a value was refused. The specific reasons have a translated text on
 * the console's pages; `rejected` carries the library's own English words.
 */
export type ClientProblem =
  | 'required'
  | 'uriInvalid'
  | 'uriFragment'
  | 'uriScheme'
  | 'uriInsecure'
  | 'responseTypeNotOffered'
  | 'rejected';

export class ClientError extends Error {
  constructor(
    message: string,
    readonly field?: ClientField,
    readonly problem: ClientProblem = 'rejected',
    /** The value refused, when one is: the console quotes it beside its own words. */
    readonly value?: string,
  ) {
    super(message);
  }
}

/** A client that does not exist, or belongs to another account: the same answer for both. */
export class ClientNotFound extends Error {}

// Metadata names in the library's messages, to the form field they come from.
const FIELD_OF_METADATA: [string, ClientField][] = [
  ['post_logout_redirect_uris', 'postLogoutRedirectUris'],
  ['redirect_uris', 'redirectUris'],
  ['client_uri', 'clientUri'],
  ['client_name', 'name'],
  ['grant_types', 'grantTypes'],
  ['response_types', 'responseTypes'],
  ['token_endpoint_auth_method', 'authMethod'],
  ['scope', 'scope'],
];

/**
 * A redirect URI as RFC 6749 §3.1.2 and RFC 9700 §2.1 allow it: an absolute
 * URI without a fragment, never a script or data scheme (a browser would run
 * it in the provider's hands).
 */
function checkUris(uris: string[], field: ClientField, redirects?: { issuerOrigin: string }): void {
  const name = FIELD_OF_METADATA.find(([, f]) => f === field)?.[0] ?? field;
  for (const uri of uris) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new ClientError(`${name}: "${uri}" is not an absolute URI`, field, 'uriInvalid', uri);
    }
    if (['javascript:', 'data:', 'vbscript:', 'file:', 'blob:'].includes(url.protocol)) {
      throw new ClientError(
        `${name}: "${uri}": the ${url.protocol} scheme cannot receive a redirect`,
        field,
        'uriScheme',
        uri,
      );
    }
    if (uri.includes('#'))
      throw new ClientError(`${name}: "${uri}": a redirect URI may not have a fragment`, field, 'uriFragment', uri);
    // A code or a logout state sent in clear over the network is anyone's
    // (RFC 6749 §3.1.2.1, RFC 9700 §2.1): plain http only to this machine
    // (a native or development app, RFC 8252 §7.3) or to this server's own
    // origin (its demo and console pages, when it runs on http itself).
    if (redirects && url.protocol === 'http:' && !LOOPBACK.has(url.hostname) && url.origin !== redirects.issuerOrigin)
      throw new ClientError(
        `${name}: "${uri}": plain http is allowed only to this machine (127.0.0.1, [::1], localhost) or to this server; use https`,
        field,
        'uriInsecure',
        uri,
      );
  }
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * The library's own check of client metadata (`provider.Client.validate`),
 * as the current provider makes it; rejects with the library's OAuth error.
 */
export type ValidateMetadata = (metadata: ClientMetadata) => Promise<void>;

export class Clients {
  constructor(
    private readonly validate: ValidateMetadata,
    private readonly store: ClientStore,
    /** What the provider offers (src/config/response-types.ts); the console lists them. */
    readonly responseTypesOffered: readonly string[],
    /** This server's issuer: redirects to its own origin may be plain http when it is. */
    issuer: string,
  ) {
    this.#redirects = { issuerOrigin: new URL(issuer).origin };
  }

  readonly #redirects: { issuerOrigin: string };

  /** Returns the stored metadata including the secret: the only time it is shown. */
  async create(input: NewClient): Promise<ClientMetadata> {
    if (!input.name.trim()) throw new ClientError('name: required', 'name', 'required');
    if (!input.resourceServer) checkUris(input.redirectUris, 'redirectUris', this.#redirects);
    checkUris(input.postLogoutRedirectUris ?? [], 'postLogoutRedirectUris', this.#redirects);
    if (input.clientUri) checkUris([input.clientUri], 'clientUri');
    const responseTypes = (input.resourceServer ? [] : [...new Set(input.responseTypes ?? [])]) as ResponseType[];
    // Client.validate would refuse these too, but it checks grant_types
    // first and would complain about the implicit grant they imply rather
    // than about what was asked for.
    const unoffered = responseTypes.filter(
      (rt) => !this.responseTypesOffered.some((offered) => sameResponseType(rt, offered)),
    );
    if (unoffered.length) {
      throw new ClientError(
        `response type ${unoffered.map((rt) => `'${rt}'`).join(', ')} is not offered by this server; it offers ${this.responseTypesOffered.map((rt) => `'${rt}'`).join(', ')}` +
          (unoffered.every((rt) => WITH_IMPLICIT_AND_HYBRID.some((t) => sameResponseType(rt, t)))
            ? ' (IMPLICIT_AND_HYBRID=true adds it)'
            : ''),
        'responseTypes',
        'responseTypeNotOffered',
        unoffered.join(', '),
      );
    }
    const grantTypes = input.resourceServer
      ? []
      : input.grantTypes?.length
        ? [...new Set(input.grantTypes)]
        : responseTypes.length
          ? grantTypesFor(responseTypes)
          : [...DEFAULT_GRANT_TYPES];
    const authMethod = input.authMethod ?? DEFAULT_AUTH_METHOD;
    const finalResponseTypes = responseTypes.length
      ? responseTypes
      : grantTypes.includes('authorization_code')
        ? (['code'] as ResponseType[])
        : [];
    const metadata: ClientMetadata = {
      client_id: randomBytes(18).toString('base64url'),
      client_name: input.name,
      redirect_uris: input.resourceServer ? [] : input.redirectUris,
      grant_types: inForce(grantTypes, finalResponseTypes),
      response_types: finalResponseTypes,
      token_endpoint_auth_method: authMethod,
      ...(authMethod === 'none' ? {} : { client_secret: randomBytes(32).toString('base64url') }),
      ...(input.clientUri ? { client_uri: input.clientUri } : {}),
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: input.postLogoutRedirectUris } : {}),
    };
    await this.#validate(metadata);
    await this.store.save(metadata, { resourceServer: input.resourceServer, ownerId: input.ownerId });
    return metadata;
  }

  /** The clients an account made in the console, newest first, without secrets. */
  ownedBy(ownerId: string): Promise<ClientMetadata[]> {
    return this.store.ownedBy(ownerId);
  }

  /** One of the account's clients, with its secret. */
  async owned(ownerId: string, clientId: string): Promise<ClientMetadata> {
    const metadata = await this.store.findOwned(ownerId, clientId);
    if (!metadata) throw new ClientNotFound();
    return metadata;
  }

  /** Changes what an owner may change, under the same rules as creation; the secret stays. */
  async update(ownerId: string, clientId: string, changes: ClientChanges): Promise<ClientMetadata> {
    const current = await this.owned(ownerId, clientId);
    if (!changes.name.trim()) throw new ClientError('name: required', 'name', 'required');
    checkUris(changes.redirectUris, 'redirectUris', this.#redirects);
    checkUris(changes.postLogoutRedirectUris ?? [], 'postLogoutRedirectUris', this.#redirects);
    if (changes.clientUri) checkUris([changes.clientUri], 'clientUri');
    const { client_uri: _uri, scope: _scope, post_logout_redirect_uris: _logout, ...kept } = current;
    const metadata: ClientMetadata = {
      ...kept,
      client_name: changes.name,
      redirect_uris: changes.redirectUris,
      ...(changes.clientUri ? { client_uri: changes.clientUri } : {}),
      ...(changes.scope ? { scope: changes.scope } : {}),
      ...(changes.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: changes.postLogoutRedirectUris } : {}),
    };
    await this.#validate(metadata);
    await this.store.save(metadata);
    return metadata;
  }

  /**
   * A new secret replaces the old one at once: the old one no longer
   * authenticates. Returns the metadata with the new secret, shown once.
   */
  async rotateSecret(ownerId: string, clientId: string): Promise<ClientMetadata> {
    const current = await this.owned(ownerId, clientId);
    if (current.token_endpoint_auth_method === 'none') {
      throw new ClientError('a public client (token_endpoint_auth_method none) has no secret', 'authMethod');
    }
    const metadata = { ...current, client_secret: randomBytes(32).toString('base64url') };
    await this.store.save(metadata);
    return metadata;
  }

  async delete(ownerId: string, clientId: string): Promise<void> {
    await this.owned(ownerId, clientId);
    await this.store.delete(clientId);
  }

  async #validate(metadata: ClientMetadata): Promise<void> {
    try {
      await this.validate(metadata);
    } catch (err) {
      const e = err as { error?: string; error_description?: string; message?: string };
      const message = e.error_description ?? e.message ?? 'invalid client metadata';
      const field = FIELD_OF_METADATA.find(([name]) => message.startsWith(name))?.[1];
      throw new ClientError(message, field);
    }
  }
}

/**
 * The grants a set of response types implies, as the library pairs them
 * (OpenID Connect Dynamic Client Registration §2): `code` needs
 * authorization_code (and gets refresh_token, as every code client here),
 * an `id_token` or `token` from the authorization endpoint needs implicit.
 */
/**
 * The grants the library will give a client with these response types: it
 * adds authorization_code for `code` and implicit for `id_token`/`token`,
 * and drops each without them (lib/helpers/client_schema.js). Stored the
 * same way, what the console and the command line show is what is in force.
 */
function inForce(grantTypes: string[], responseTypes: string[]): string[] {
  const parts = new Set(responseTypes.flatMap((rt) => rt.split(' ')));
  const grants = new Set(grantTypes);
  if (parts.has('code')) grants.add('authorization_code');
  else grants.delete('authorization_code');
  if (parts.has('id_token') || parts.has('token')) grants.add('implicit');
  else grants.delete('implicit');
  return [...grants];
}

function grantTypesFor(responseTypes: string[]): string[] {
  const parts = new Set(responseTypes.flatMap((rt) => rt.split(' ')));
  return [
    ...(parts.has('code') ? ['authorization_code', 'refresh_token'] : []),
    ...(parts.has('id_token') || parts.has('token') ? ['implicit'] : []),
  ];
}
