/**
 * The agent's HTTP client: JSON POSTs over kept-alive connections with node:http(s).
 *
 * Not `fetch`: undici's fetch builds web streams, transferables and a request object per call,
 * which profiled at 30–40% of an agent's CPU at a few hundred reports per second; a plain
 * http.request with a keep-alive agent costs a fraction of that.
 */
import http from 'node:http';
import https from 'node:https';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * POSTs `body` as JSON and answers the parsed JSON; a non-2xx answer throws HttpError with the
 * body's start. With `timeoutMs`, a request not answered by then is abandoned (a control plane
 * that is paused still accepts connections, and would hold the request for ever).
 */
export function postJson<T>(url: string, token: string, body: unknown, signal?: AbortSignal, timeoutMs?: number): Promise<T> {
  if (timeoutMs !== undefined) signal = signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
  const u = new URL(url);
  const payload = Buffer.from(JSON.stringify(body));
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = mod.request(
      u,
      {
        method: 'POST',
        agent: agents[u.protocol as 'http:' | 'https:'],
        signal,
        headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            reject(new HttpError(status, `${u.pathname}: HTTP ${status} ${text.slice(0, 300)}`));
            return;
          }
          try {
            resolve(JSON.parse(text) as T);
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
