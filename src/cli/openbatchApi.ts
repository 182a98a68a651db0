/**
 * Calls openbatch's own operations (api/openbatchOperations.ts) the way the SDK calls AWS
 * ones: a JSON POST signed with SigV4 for service `batch`, so the same credentials work and
 * a server with authentication on accepts it. An error answer becomes an Error whose name
 * and message are the server's (ClientException …), as the SDK's are.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SigningConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export async function callOpenbatch<T>(config: SigningConfig, name: string, input: Record<string, unknown>): Promise<T> {
  return requestOpenbatch<T>(config, 'POST', `/openbatch/v1/${name}`, {}, input);
}

/**
 * Any signed request to an openbatch endpoint: `GET /openbatch/v1/instances?state=…` as well
 * as the POST operations. Query values may repeat (a list).
 */
export async function requestOpenbatch<T>(
  config: SigningConfig,
  method: 'GET' | 'POST',
  path: string,
  query: Record<string, string | string[]> = {},
  input?: Record<string, unknown>,
): Promise<T> {
  const url = new URL(`${config.endpoint}${path}`);
  for (const [k, v] of Object.entries(query)) for (const one of ([] as string[]).concat(v)) url.searchParams.append(k, one);
  const body = method === 'POST' ? JSON.stringify(input ?? {}) : undefined;
  const signer = new SignatureV4({ service: 'batch', region: config.region, credentials: config.credentials, sha256: Sha256 });
  const signedQuery: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(query)) signedQuery[k] = v;
  const signed = await signer.sign({
    method,
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    query: signedQuery,
    headers: body === undefined ? { host: url.host } : { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const res = await fetch(url, { method, headers: signed.headers as Record<string, string>, body });
  const text = await res.text();
  // What the server said it sent, for an answer that turns out not to be openbatch's.
  const said = `HTTP ${res.status}${res.headers.get('content-type') ? `, ${res.headers.get('content-type')!.split(';')[0]}` : ''}`;
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw Object.assign(new Error(`the answer is not JSON (${said})`), { notAnEndpoint: said });
  }
  if (!res.ok) {
    const e = parsed as { message?: string; __type?: string };
    const type = res.headers.get('x-amzn-errortype') ?? e.__type;
    if (!type) throw Object.assign(new Error(e.message ?? said), { notAnEndpoint: said });
    const err = new Error(e.message ?? `HTTP ${res.status}`);
    err.name = type.split(':')[0];
    throw err;
  }
  return parsed as T;
}
