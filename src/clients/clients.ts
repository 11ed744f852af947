// Creating clients: one service for the CLI and (later) the console. The
// library validates the metadata itself, so what we store is exactly what it
// would accept from dynamic registration.
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
}

export class ClientError extends Error {}

/**
 * The library's own check of client metadata (`provider.Client.validate`),
 * as the current provider makes it; rejects with the library's OAuth error.
 */
export type ValidateMetadata = (metadata: ClientMetadata) => Promise<void>;

export class Clients {
  constructor(
    private readonly validate: ValidateMetadata,
    private readonly store: ClientStore,
    /** What the provider offers (src/config/response-types.ts). */
    private readonly responseTypesOffered: readonly string[],
  ) {}

  /** Returns the stored metadata including the secret: the only time it is shown. */
  async create(input: NewClient): Promise<ClientMetadata> {
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
    const metadata: ClientMetadata = {
      client_id: randomBytes(18).toString('base64url'),
      client_name: input.name,
      redirect_uris: input.resourceServer ? [] : input.redirectUris,
      grant_types: grantTypes,
      response_types: responseTypes.length ? responseTypes : grantTypes.includes('authorization_code') ? ['code'] : [],
      token_endpoint_auth_method: authMethod,
      ...(authMethod === 'none' ? {} : { client_secret: randomBytes(32).toString('base64url') }),
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: input.postLogoutRedirectUris } : {}),
    };
    try {
      await this.validate(metadata);
    } catch (err) {
      const e = err as { error?: string; error_description?: string; message?: string };
      throw new ClientError(e.error_description ?? e.message ?? 'invalid client metadata');
    }
    await this.store.save(metadata, { resourceServer: input.resourceServer });
    return metadata;
  }
}

/**
 * The grants a set of response types implies, as the library pairs them
 * (OpenID Connect Dynamic Client Registration §2): `code` needs
 * authorization_code (and gets refresh_token, as every code client here),
 * an `id_token` or `token` from the authorization endpoint needs implicit.
 */
function grantTypesFor(responseTypes: string[]): string[] {
  const parts = new Set(responseTypes.flatMap((rt) => rt.split(' ')));
  return [
    ...(parts.has('code') ? ['authorization_code', 'refresh_token'] : []),
    ...(parts.has('id_token') || parts.has('token') ? ['implicit'] : []),
  ];
}
