// The resource API described in OpenAPI 3.1 (https://spec.openapis.org/oas/v3.1.0), served at
// GET /api/openapi.json. Built from the tables the routes themselves use (ROUTES, API_ERRORS,
// API_SCOPES, the request schemas, the success messages) and from the configuration, so its
// URLs are this server's; tests/openapi.test.ts checks real answers against it.
import { z } from 'zod';
import { ROUTES } from '../routes.js';
import { API_SCOPES, type ApiScope } from '../oidc/scopes.js';
import { API_ERRORS } from './errors.js';
import { OK_MSG } from './envelope.js';
import { BUY_AT_WINDOW, ISO_BUY_AT, PLAIN_BUY_AT } from './buy-at.js';
import { ORDERS_LIMIT, buySchema } from './requests.js';

/** A JSON Schema in the document's dialect, plain draft 2020-12 (no OpenAPI keywords). */
export type JsonSchema = { [keyword: string]: unknown };
export interface OpenApiReference {
  $ref: string;
}
export interface OpenApiHeader {
  description: string;
  required?: boolean;
  schema: JsonSchema;
}
export interface OpenApiMediaType {
  schema: JsonSchema;
}
export interface OpenApiResponse {
  description: string;
  headers?: Record<string, OpenApiHeader>;
  content?: Record<string, OpenApiMediaType>;
}
export interface OpenApiParameter {
  name: string;
  in: 'query';
  description: string;
  required: boolean;
  schema: JsonSchema;
}
export interface OpenApiOperation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** `[]`: no token needed. */
  security: Record<string, string[]>[];
  parameters?: OpenApiParameter[];
  requestBody?: { required: boolean; description: string; content: Record<string, OpenApiMediaType> };
  /** By HTTP status. */
  responses: Record<string, OpenApiResponse | OpenApiReference>;
}
export type OpenApiMethod = 'get' | 'post';
export type OpenApiPathItem = Partial<Record<OpenApiMethod, OpenApiOperation>>;
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  servers?: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, OpenApiPathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, OpenApiResponse>;
    securitySchemes: Record<string, JsonSchema>;
  };
}

export interface OpenApiSettings {
  /** The authorization server (ISSUER): its endpoints are the OAuth flow's URLs. */
  issuer: string;
  /** API_RESOURCE, the audience the API's tokens carry. */
  apiResource: string;
  /** BUY_AT_TIME_ZONE, the zone of a buy_at without an offset. */
  buyAtTimeZone: string;
  /**
   * Where the API is reached, when this process knows it (the provider's process: the issuer).
   * Without it the document names no server, which OpenAPI reads as the document's own origin:
   * right for `npm run start:api`, whose public address no setting records.
   */
  origin?: string;
}

const JSON_TYPE = 'application/json';
const SCHEME = 'oauth2';
const ref = (kind: 'schemas' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });

const TS: JsonSchema = { type: 'integer', description: 'When the answer was made, in Unix seconds.' };
const DIGITS: JsonSchema = { type: 'string', pattern: '^\\d+$' };

/** The seed's success envelope around `fields`. */
function success(msg: string, fields: Record<string, JsonSchema> = {}): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['code', 'success', ...Object.keys(fields), 'msg', 'ts'],
    properties: { code: { const: 0 }, success: { const: true }, ...fields, msg: { const: msg }, ts: TS },
  };
}

const ok = (description: string, schema: JsonSchema): OpenApiResponse => ({
  description,
  content: { [JSON_TYPE]: { schema } },
});

/** The error envelope with the `code`s API_ERRORS gives `status`. */
function failure(status: number): JsonSchema {
  const codes: number[] = Object.values(API_ERRORS)
    .filter((e) => e.status === status)
    .map((e) => e.code);
  return {
    type: 'object',
    allOf: [ref('schemas', 'Error')],
    properties: { code: codes.length === 1 ? { const: codes[0] } : { enum: codes } },
  };
}

function errorResponse(status: number, description: string, headers?: Record<string, OpenApiHeader>): OpenApiResponse {
  return { description, ...(headers ? { headers } : {}), content: { [JSON_TYPE]: { schema: failure(status) } } };
}

/** RFC 6750 §3.1: 403 names the scope the operation needs. */
const insufficientScope = (scope: ApiScope) =>
  errorResponse(403, `The token lacks the ${scope} scope (code 40301).`, {
    'WWW-Authenticate': {
      description: 'RFC 6750 §3.1 insufficient_scope challenge naming the scope needed.',
      required: true,
      schema: { type: 'string', const: `Bearer error="insufficient_scope", scope="${scope}"` },
    },
  });

/** An operation that needs a user's token with `scope`, and the answers every such operation can give. */
function guarded(
  scope: ApiScope,
  operation: Omit<OpenApiOperation, 'security'>,
  badRequest = 'BadRequest',
): OpenApiOperation {
  return {
    ...operation,
    security: [{ [SCHEME]: [scope] }],
    responses: {
      ...operation.responses,
      400: ref('responses', badRequest),
      401: ref('responses', 'Unauthorized'),
      403: insufficientScope(scope),
      500: ref('responses', 'ServerError'),
      503: ref('responses', 'ServiceUnavailable'),
    },
  };
}

function buyBody(timeZone: string): JsonSchema {
  const { $schema: _dialect, ...body } = z.toJSONSchema(buySchema, { target: 'draft-2020-12', io: 'input' }) as {
    $schema?: string;
    properties: Record<string, JsonSchema>;
  } & JsonSchema;
  const p = body.properties;
  return {
    ...body,
    description: 'Fields not listed are ignored.',
    properties: {
      item_id: { ...p.item_id, description: 'An item of GET /api/items.', examples: ['ITEM_001'] },
      tx_id: {
        ...p.tx_id,
        description:
          "The client's idempotency key, unique per user: the same tx_id with the same item_id again answers 200 and records nothing new; with another item_id, 409.",
        examples: ['20230901120000123456'],
      },
      buy_at: {
        ...p.buy_at,
        pattern: `${PLAIN_BUY_AT.source}|${ISO_BUY_AT.source}`,
        description: `When the purchase happened: "YYYY-MM-DD HH:MM:SS" read in ${timeZone}, or ISO 8601 with an offset; a real time ${BUY_AT_WINDOW}.`,
        examples: ['2023-09-01 13:22:22', '2023-09-01T21:22:22+08:00'],
      },
    },
  };
}

const SCOPE_USES: Record<ApiScope, string> = {
  profile: 'Read your username and server id (GET /api/me).',
  buy: 'Buy items (POST /api/items/buy).',
  buy_history: 'Read your orders (GET /api/orders).',
};

/** The document for this server's configuration; exported for pages that show it. */
export function openApiDocument(settings: OpenApiSettings): OpenApiDocument {
  const { issuer, apiResource } = settings;
  const scopes = Object.fromEntries(API_SCOPES.map((s) => [s, SCOPE_USES[s]]));
  const unknownTokenHeader: OpenApiHeader = {
    description:
      'RFC 6750 §3: a bare `Bearer` challenge when no token was sent, `Bearer error="invalid_token", error_description="…"` when the token was refused.',
    required: true,
    schema: { type: 'string', pattern: '^Bearer(?: error="invalid_token", error_description="[^"\\\\]*")?$' },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Resource API',
      version: '1.0.0',
      description: [
        'The shop of the seed: its catalog, and for a signed-in user their profile, purchases and orders.',
        'Every answer is JSON in one envelope: `{code: 0, success: true, …, msg, ts}` on success, `{code, success: false, msg, ts}` on failure, where `code` tells the error and `msg` names the offending field.',
        'Token errors follow RFC 6750 (status and `WWW-Authenticate` challenge).',
        `Any other path under ${ROUTES.api} answers 404 (code 40401); a method a path does not offer answers 405 (code 40501) with \`Allow\`. HEAD is answered wherever GET is, OPTIONS on every path.`,
        'Answers carry `Cache-Control: no-store`, this document excepted.',
        'Browsers may call the API from the origins listed in API_CORS_ORIGINS; `WWW-Authenticate` is exposed to them.',
      ].join('\n\n'),
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    ...(settings.origin ? { servers: [{ url: settings.origin, description: 'This server.' }] } : {}),
    tags: [
      { name: 'catalog', description: 'The items for sale; public.' },
      { name: 'account', description: "The signed-in user's profile." },
      { name: 'orders', description: "The signed-in user's purchases." },
      { name: 'meta', description: 'This description.' },
    ],
    paths: {
      [ROUTES.apiItems]: {
        get: {
          operationId: 'listItems',
          summary: 'The catalog',
          tags: ['catalog'],
          security: [],
          responses: {
            200: ok(
              'Every item, by item_id.',
              success(OK_MSG.query, { items: { type: 'array', items: ref('schemas', 'Item') } }),
            ),
            500: ref('responses', 'ServerError'),
            503: ref('responses', 'ServiceUnavailable'),
          },
        },
      },
      [ROUTES.apiMe]: {
        get: guarded('profile', {
          operationId: 'getMe',
          summary: "The token's user",
          tags: ['account'],
          responses: {
            200: ok(
              'The profile.',
              success(OK_MSG.query, { username: { type: 'string' }, server_id: { type: 'string' } }),
            ),
          },
        }),
      },
      [ROUTES.apiBuy]: {
        post: guarded(
          'buy',
          {
            operationId: 'buyItem',
            summary: 'Buy an item, exactly once per tx_id',
            description:
              "Records an order at the item's current name, image and amount. Exactly once per (user, tx_id): a client may retry after a timeout with the same body. Two users may use the same tx_id.",
            tags: ['orders'],
            requestBody: {
              required: true,
              description: 'A JSON object (UTF-8, at most 16 KB); other content types answer 400.',
              content: { [JSON_TYPE]: { schema: buyBody(settings.buyAtTimeZone) } },
            },
            responses: {
              200: ok('Bought, or the same purchase sent again (nothing new recorded).', success(OK_MSG.bought)),
              404: errorResponse(404, 'No item has this item_id (code 40401).'),
              409: errorResponse(409, 'This tx_id was already used by this user for another item (code 40901).'),
              413: errorResponse(413, 'The body is larger than 16 KB (code 41301).'),
            },
          },
          'BadBody',
        ),
      },
      [ROUTES.apiOrders]: {
        get: guarded(
          'buy_history',
          {
            operationId: 'listOrders',
            summary: "The user's orders, newest first, a page at a time",
            description:
              'Newest buy_at first; equal times, the most recently recorded first. While next_cursor is not null, pass it as cursor for the next page.',
            tags: ['orders'],
            parameters: [
              {
                name: 'limit',
                in: 'query',
                required: false,
                description: 'Orders per page.',
                schema: {
                  type: 'integer',
                  minimum: ORDERS_LIMIT.min,
                  maximum: ORDERS_LIMIT.max,
                  default: ORDERS_LIMIT.default,
                },
              },
              {
                name: 'cursor',
                in: 'query',
                required: false,
                description: 'The next_cursor of the previous page (opaque); empty or absent: the first page.',
                schema: { type: 'string' },
              },
            ],
            responses: {
              200: ok(
                'A page of orders.',
                success(OK_MSG.query, {
                  orders: { type: 'array', maxItems: ORDERS_LIMIT.max, items: ref('schemas', 'Order') },
                  next_cursor: {
                    type: ['string', 'null'],
                    pattern: '^[A-Za-z0-9_-]+$',
                    description: 'The cursor of the next page; null on the last page.',
                  },
                }),
              ),
            },
          },
          'BadQuery',
        ),
      },
      [ROUTES.apiOpenApi]: {
        get: {
          operationId: 'getOpenApi',
          summary: 'This document',
          tags: ['meta'],
          security: [],
          responses: {
            200: ok('The OpenAPI 3.1 description of this API.', {
              type: 'object',
              required: ['openapi', 'info', 'paths'],
              properties: {
                openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
                info: { type: 'object' },
                paths: { type: 'object' },
              },
            }),
            500: ref('responses', 'ServerError'),
          },
        },
      },
    },
    components: {
      schemas: {
        Error: {
          type: 'object',
          description: 'The error envelope.',
          additionalProperties: false,
          required: ['code', 'success', 'msg', 'ts'],
          properties: {
            code: { enum: Object.values(API_ERRORS).map((e) => e.code), description: 'The kind of error.' },
            success: { const: false },
            msg: { type: 'string', description: 'What went wrong, naming the offending field.' },
            ts: TS,
          },
        },
        Item: {
          type: 'object',
          additionalProperties: false,
          required: ['item_id', 'item_name', 'item_img_url', 'amount'],
          properties: {
            item_id: { type: 'string' },
            item_name: { type: 'string' },
            item_img_url: { type: 'string', description: 'An http(s) URL of its picture.' },
            amount: { ...DIGITS, description: 'Its price, a non-negative integer as a string.' },
          },
        },
        Order: {
          type: 'object',
          additionalProperties: false,
          required: ['tx_id', 'item_id', 'item_name', 'item_img_url', 'amount', 'buy_at'],
          description: 'A purchase, with the name, image and amount the item had when bought.',
          properties: {
            tx_id: { type: 'string' },
            item_id: { type: 'string' },
            item_name: { type: 'string' },
            item_img_url: { type: 'string' },
            amount: { ...DIGITS, description: 'A non-negative integer as a string.' },
            buy_at: { ...DIGITS, description: 'When it was bought, in Unix seconds, as a string.' },
          },
        },
      },
      responses: {
        BadRequest: errorResponse(400, 'A malformed Authorization header (code 40001).'),
        BadBody: errorResponse(
          400,
          'A malformed Authorization header, a body that is not a JSON object, or a field that breaks the rules of the request body (code 40001).',
        ),
        BadQuery: errorResponse(
          400,
          'A malformed Authorization header, a bad limit or cursor, or a parameter given twice (code 40001).',
        ),
        Unauthorized: errorResponse(
          401,
          "No bearer token (code 40101); or a token that is unknown, expired, revoked, not for this API, or a client's own (client credentials) (code 40102).",
          { 'WWW-Authenticate': unknownTokenHeader },
        ),
        ServerError: errorResponse(500, 'A bug: logged, no detail sent (code 50001).'),
        ServiceUnavailable: errorResponse(
          503,
          'The database or the introspection endpoint is out of reach (code 50301).',
          {
            'Retry-After': {
              description: 'Seconds to wait before trying again.',
              required: true,
              schema: DIGITS,
            },
          },
        ),
      },
      securitySchemes: {
        [SCHEME]: {
          type: 'oauth2',
          description: [
            `Access tokens from ${issuer} (discovery: ${issuer}${ROUTES.openidConfiguration}), sent as \`Authorization: Bearer …\` (RFC 6750 §2.1).`,
            `A token is accepted while active, when a user authorized it, when it carries the operation's scope, and when its audience is ${apiResource} (what a client naming no resource gets) or it is the UserInfo token of an OpenID Connect client (scope openid).`,
            'Client credentials tokens are refused (401 invalid_token): every protected operation acts for a user.',
            'Public clients must use PKCE (S256).',
          ].join(' '),
          flows: {
            authorizationCode: {
              authorizationUrl: `${issuer}${ROUTES.oauth.authorization}`,
              tokenUrl: `${issuer}${ROUTES.oauth.token}`,
              refreshUrl: `${issuer}${ROUTES.oauth.token}`,
              scopes,
            },
          },
        },
      },
    },
  };
}
