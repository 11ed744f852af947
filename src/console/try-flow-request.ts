// One HTTP request of the "try the code flow" page, described once and then
// both sent (by the server, with the client's real secret) and shown (as a
// curl command a person can paste). Describing it once is what keeps the
// two from drifting apart: the page never shows a request it did not send.

/** The shell variable a pasted command reads the client's secret from; the page says how to set it. */
export const SECRET_VAR = 'client_secret';

export type ClientAuth =
  /** RFC 6749 §2.3.1: HTTP Basic with client_id and secret. */
  | { method: 'client_secret_basic'; clientId: string }
  /** RFC 6749 §2.3.1: both in the form body. */
  | { method: 'client_secret_post'; clientId: string }
  /** A public client: only its client_id in the body (RFC 6749 §2.1, PKCE protects the code). */
  | { method: 'none'; clientId: string };

export interface DescribedRequest {
  method: 'GET' | 'POST';
  url: string;
  /** Client authentication (token, introspection, revocation endpoints). */
  client?: ClientAuth;
  /** A bearer access token (RFC 6750 §2.1). */
  bearer?: string;
  /** application/x-www-form-urlencoded fields, in order. */
  form?: [string, string][];
  /** A JSON body. */
  json?: Record<string, unknown>;
}

export interface RawResponse {
  status: number;
  contentType: string;
  /** RFC 6750 §3: why a bearer token was refused. */
  wwwAuthenticate?: string;
  /** The body parsed, when it is JSON; otherwise its text. */
  json?: unknown;
  text: string;
}

/** The issuer's URL did not answer this server (refused, DNS, TLS): nothing was sent. */
export class IssuerUnreachable extends Error {
  constructor(url: string, cause: unknown) {
    super(`could not reach ${url}`, { cause });
  }
}

/** A string as one shell word: single-quoted, with any single quote closed, escaped and reopened. */
export function shellQuote(value: string): string {
  return /^[\w.:/@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const SAFE_ID = /^[\w.~-]+$/;

/** The request as a curl command that, pasted into a shell with `client_secret` set, sends the same. */
export function toCurl(req: DescribedRequest): string {
  const parts: string[] = [`curl -i${req.method === 'GET' ? '' : ` -X ${req.method}`} ${shellQuote(req.url)}`];
  const secret = `\${${SECRET_VAR}}`;
  if (req.client?.method === 'client_secret_basic') {
    // Inside double quotes so the shell expands the secret; an unusual client_id is quoted apart.
    const id = req.client.clientId;
    parts.push(SAFE_ID.test(id) ? `-u "${id}:${secret}"` : `-u ${shellQuote(`${id}:`)}"${secret}"`);
  }
  if (req.bearer) parts.push(`-H ${shellQuote(`Authorization: Bearer ${req.bearer}`)}`);
  if (req.json) {
    parts.push(`-H 'Content-Type: application/json'`, `-d ${shellQuote(JSON.stringify(req.json))}`);
  }
  for (const [name, value] of formFields(req)) {
    parts.push(
      value === undefined
        ? `--data-urlencode "${name}=${secret}"`
        : `--data-urlencode ${shellQuote(`${name}=${value}`)}`,
    );
  }
  return parts.join(' \\\n  ');
}

/** The form as sent; `undefined` stands for the secret, which the command reads from the shell. */
function formFields(req: DescribedRequest): [string, string | undefined][] {
  const fields: [string, string | undefined][] = [];
  if (req.client && req.client.method !== 'client_secret_basic') {
    fields.push(['client_id', req.client.clientId]);
    if (req.client.method === 'client_secret_post') fields.push(['client_secret', undefined]);
  }
  return [...fields, ...(req.form ?? [])];
}

/** Sends the request from the server, with the client's secret where the command has `${client_secret}`. */
export async function send(req: DescribedRequest, secret: string | undefined): Promise<RawResponse> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (req.client?.method === 'client_secret_basic') {
    // RFC 6749 §2.3.1: each part form-urlencoded, then Basic.
    const pair = `${encodeURIComponent(req.client.clientId)}:${encodeURIComponent(secret ?? '')}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  if (req.bearer) headers.authorization = `Bearer ${req.bearer}`;
  if (req.json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(req.json);
  }
  const fields = formFields(req);
  if (fields.length) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(fields.map(([k, v]): [string, string] => [k, v ?? secret ?? ''])).toString();
  }
  let res: Response;
  try {
    res = await fetch(req.url, { method: req.method, headers, body, redirect: 'manual' });
  } catch (err) {
    throw new IssuerUnreachable(req.url, err);
  }
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let json: unknown;
  if (/\bjson\b/.test(contentType)) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const wwwAuthenticate = res.headers.get('www-authenticate') ?? undefined;
  return { status: res.status, contentType, ...(wwwAuthenticate ? { wwwAuthenticate } : {}), json, text };
}
