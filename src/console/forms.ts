// The console's client form: what a browser posts, read into the client
// service's input, and a client's metadata back into the form's values. The
// rules themselves are the service's (src/clients/clients.ts); this module
// only reads fields.
import type { ClientMetadata } from 'oidc-provider';
import { AUTH_METHODS, type AuthMethod, type ClientChanges, type NewClient } from '../clients/clients.js';

type Body = Record<string, unknown> | undefined;

/** One text field; anything else (absent, repeated) reads as empty. */
export function text(body: Body, name: string, max = 2000): string {
  const value = body?.[name];
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

/** A repeated field (checkboxes): every string value, deduplicated. */
export function values(body: Body, name: string): string[] {
  const value = body?.[name];
  const all = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return [...new Set(all.filter((v): v is string => typeof v === 'string').map((v) => v.slice(0, 200)))];
}

/** A textarea of one URI per line. */
export function lines(body: Body, name: string): string[] {
  return text(body, name, 20_000)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(0, 20);
}

/** What the form shows: the posted values after an error, a client's values when editing. */
export interface ClientFormValues {
  name: string;
  clientUri: string;
  redirectUris: string;
  postLogoutRedirectUris: string;
  scopes: string[];
  grantTypes: string[];
  responseTypes: string[];
  authMethod: string;
}

export function readClientForm(body: Body): ClientFormValues {
  return {
    name: text(body, 'name', 200),
    clientUri: text(body, 'client_uri'),
    redirectUris: lines(body, 'redirect_uris').join('\n'),
    postLogoutRedirectUris: lines(body, 'post_logout_redirect_uris').join('\n'),
    scopes: values(body, 'scope'),
    grantTypes: values(body, 'grant_types'),
    responseTypes: values(body, 'response_types'),
    authMethod: text(body, 'token_endpoint_auth_method', 100),
  };
}

const split = (value: string) => value.split('\n').filter(Boolean);

/** What an owner may change after creation: the fields both forms have. */
export function toChanges(form: ClientFormValues): ClientChanges {
  return {
    name: form.name,
    clientUri: form.clientUri || undefined,
    redirectUris: split(form.redirectUris),
    postLogoutRedirectUris: split(form.postLogoutRedirectUris),
    scope: form.scopes.join(' ') || undefined,
  };
}

export function toNewClient(form: ClientFormValues, ownerId: string): NewClient {
  return {
    ...toChanges(form),
    grantTypes: form.grantTypes,
    responseTypes: form.responseTypes,
    // An unknown method is passed on for the library to refuse by name.
    authMethod: (form.authMethod || undefined) as AuthMethod | undefined,
    ownerId,
  };
}

export function formOf(client: ClientMetadata, allScopes: readonly string[]): ClientFormValues {
  return {
    name: client.client_name ?? '',
    clientUri: client.client_uri ?? '',
    redirectUris: (client.redirect_uris ?? []).join('\n'),
    postLogoutRedirectUris: (client.post_logout_redirect_uris ?? []).join('\n'),
    // No `scope` registered means every scope may be asked for.
    scopes: client.scope ? client.scope.split(' ') : [...allScopes],
    grantTypes: [...(client.grant_types ?? [])],
    responseTypes: [...(client.response_types ?? [])],
    authMethod: client.token_endpoint_auth_method ?? '',
  };
}

export { AUTH_METHODS };
