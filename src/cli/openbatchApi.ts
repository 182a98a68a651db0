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
  const url = new URL(`${config.endpoint}/openbatch/v1/${name}`);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({ service: 'batch', region: config.region, credentials: config.credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: url.pathname,
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const res = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    throw new Error(`openbatch answered ${res.status} with a body that is not JSON`);
  }
  if (!res.ok) {
    const e = parsed as { message?: string; __type?: string };
    const err = new Error(e.message ?? `HTTP ${res.status}`);
    err.name = res.headers.get('x-amzn-errortype') ?? e.__type ?? 'ServerException';
    throw err;
  }
  return parsed as T;
}
