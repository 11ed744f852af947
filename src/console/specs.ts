// Where each field the teaching pages explain is defined: the discovery
// document's metadata (OpenID Connect Discovery 1.0 §3, RFC 8414 §2 and the
// RFCs that add to its registry) and a JSON Web Key's members (RFC 7517,
// RFC 7518). The words about each field are in src/web/i18n-learn.ts, in every
// language; the links are the same in all of them, so they live here once.

export interface SpecLink {
  /** How the link reads, e.g. "RFC 8414 §2" (a spec's name is not translated). */
  label: string;
  href: string;
}

const OIDC_DISCOVERY: SpecLink = {
  label: 'OpenID Connect Discovery 1.0 §3',
  href: 'https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata',
};
const RFC8414: SpecLink = { label: 'RFC 8414 §2', href: 'https://www.rfc-editor.org/rfc/rfc8414#section-2' };
const rfc = (n: number, section: string, anchor = `section-${section}`): SpecLink => ({
  label: `RFC ${n} §${section}`,
  href: `https://www.rfc-editor.org/rfc/rfc${n}#${anchor}`,
});

/** The fields of the discovery document we can explain, and where each is defined. */
export const DISCOVERY_FIELDS = {
  issuer: OIDC_DISCOVERY,
  authorization_endpoint: OIDC_DISCOVERY,
  token_endpoint: OIDC_DISCOVERY,
  userinfo_endpoint: OIDC_DISCOVERY,
  jwks_uri: OIDC_DISCOVERY,
  registration_endpoint: RFC8414,
  scopes_supported: OIDC_DISCOVERY,
  response_types_supported: OIDC_DISCOVERY,
  response_modes_supported: OIDC_DISCOVERY,
  grant_types_supported: OIDC_DISCOVERY,
  acr_values_supported: OIDC_DISCOVERY,
  subject_types_supported: OIDC_DISCOVERY,
  id_token_signing_alg_values_supported: OIDC_DISCOVERY,
  id_token_encryption_alg_values_supported: OIDC_DISCOVERY,
  id_token_encryption_enc_values_supported: OIDC_DISCOVERY,
  userinfo_signing_alg_values_supported: OIDC_DISCOVERY,
  request_object_signing_alg_values_supported: OIDC_DISCOVERY,
  token_endpoint_auth_methods_supported: OIDC_DISCOVERY,
  token_endpoint_auth_signing_alg_values_supported: OIDC_DISCOVERY,
  display_values_supported: OIDC_DISCOVERY,
  claim_types_supported: OIDC_DISCOVERY,
  claims_supported: OIDC_DISCOVERY,
  claims_locales_supported: OIDC_DISCOVERY,
  ui_locales_supported: OIDC_DISCOVERY,
  claims_parameter_supported: OIDC_DISCOVERY,
  request_parameter_supported: OIDC_DISCOVERY,
  request_uri_parameter_supported: OIDC_DISCOVERY,
  require_request_uri_registration: OIDC_DISCOVERY,
  service_documentation: OIDC_DISCOVERY,
  op_policy_uri: OIDC_DISCOVERY,
  op_tos_uri: OIDC_DISCOVERY,
  code_challenge_methods_supported: RFC8414,
  introspection_endpoint: RFC8414,
  introspection_endpoint_auth_methods_supported: RFC8414,
  introspection_endpoint_auth_signing_alg_values_supported: RFC8414,
  revocation_endpoint: RFC8414,
  revocation_endpoint_auth_methods_supported: RFC8414,
  revocation_endpoint_auth_signing_alg_values_supported: RFC8414,
  authorization_response_iss_parameter_supported: rfc(9207, '3'),
  pushed_authorization_request_endpoint: rfc(9126, '5'),
  require_pushed_authorization_requests: rfc(9126, '5'),
  dpop_signing_alg_values_supported: rfc(9449, '5.1'),
  device_authorization_endpoint: rfc(8628, '4'),
  end_session_endpoint: {
    label: 'OpenID Connect RP-Initiated Logout 1.0 §2.1',
    href: 'https://openid.net/specs/openid-connect-rpinitiated-1_0.html#OPMetadata',
  },
  backchannel_logout_supported: {
    label: 'OpenID Connect Back-Channel Logout 1.0 §2.1',
    href: 'https://openid.net/specs/openid-connect-backchannel-1_0.html#BCSupport',
  },
  backchannel_logout_session_supported: {
    label: 'OpenID Connect Back-Channel Logout 1.0 §2.1',
    href: 'https://openid.net/specs/openid-connect-backchannel-1_0.html#BCSupport',
  },
  tls_client_certificate_bound_access_tokens: rfc(8705, '3.3'),
  mtls_endpoint_aliases: rfc(8705, '5'),
} as const satisfies Record<string, SpecLink>;

export type DiscoveryField = keyof typeof DISCOVERY_FIELDS;

export const isDiscoveryField = (name: string): name is DiscoveryField => Object.hasOwn(DISCOVERY_FIELDS, name);

/** The members of a public JSON Web Key that /oauth/jwks can hold. */
export const JWK_MEMBERS = {
  kty: rfc(7517, '4.1'),
  use: rfc(7517, '4.2'),
  key_ops: rfc(7517, '4.3'),
  alg: rfc(7517, '4.4'),
  kid: rfc(7517, '4.5'),
  crv: rfc(7518, '6.2.1.1', 'section-6.2.1.1'),
  x: rfc(7518, '6.2.1.2', 'section-6.2.1.2'),
  y: rfc(7518, '6.2.1.3', 'section-6.2.1.3'),
  n: rfc(7518, '6.3.1.1', 'section-6.3.1.1'),
  e: rfc(7518, '6.3.1.2', 'section-6.3.1.2'),
} as const satisfies Record<string, SpecLink>;

export type JwkMember = keyof typeof JWK_MEMBERS;

export const isJwkMember = (name: string): name is JwkMember => Object.hasOwn(JWK_MEMBERS, name);
