/**
 * SigV4 for the sign-in request only: proves the browser holds the secret without sending
 * it. Loaded on demand (its own chunk), so the dashboard itself carries no signer.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export async function signedSessionRequest(
  accessKeyId: string,
  secretAccessKey: string,
  region: string,
  writes: boolean,
): Promise<{ headers: Record<string, string>; body: string }> {
  // the grant asked for is signed with the rest: nobody but the key's holder can ask for writes
  const body = JSON.stringify({ writes });
  const signer = new SignatureV4({ service: 'batch', region, credentials: { accessKeyId, secretAccessKey }, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: location.protocol,
    hostname: location.hostname,
    port: location.port ? Number(location.port) : undefined,
    path: '/openbatch/v1/dashboard/session',
    headers: { host: location.host, 'content-type': 'application/json' },
    body,
  });
  // the browser sets Host itself (and refuses to be told)
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') headers[k] = String(v);
  return { headers, body };
}
