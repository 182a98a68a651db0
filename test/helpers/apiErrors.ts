/**
 * Asserting on AWS errors as a user's program sees them: through the real SDK (its exception
 * name, HTTP status and message) or, for requests the SDK would never send, through a raw
 * HTTP request (the `x-amzn-errortype` header and the JSON body's `message`).
 */
import assert from 'node:assert/strict';

interface SdkError {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Awaits `promise`, expects an SDK error `name` with `status`, and returns its message for further checks. */
export async function sdkError(promise: Promise<unknown>, name: string, status: number): Promise<string> {
  let caught: SdkError | undefined;
  try {
    await promise;
  } catch (e) {
    caught = e as SdkError;
  }
  assert.ok(caught, `expected ${name}, but the call succeeded`);
  assert.equal(caught.name, name, `expected ${name}, got ${caught.name}: ${caught.message}`);
  assert.equal(caught.$metadata?.httpStatusCode, status, `expected HTTP ${status} for ${name}: ${caught.message}`);
  return caught.message ?? '';
}

/** Expects a 400 ClientException whose message matches `message`. */
export async function rejectsClient(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const text = await sdkError(promise, 'ClientException', 400);
  assert.match(text, message);
}

export interface RawAnswer {
  status: number;
  errorType: string | null;
  body: { message?: string; [k: string]: unknown } | null;
  text: string;
}

/** Sends `body` as given (a string is sent verbatim) to `path`, unsigned. */
export async function raw(url: string, path: string, body?: string | object, init: { method?: string; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  const res = await fetch(url + path, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: RawAnswer['body'] = null;
  try {
    parsed = JSON.parse(text) as RawAnswer['body'];
  } catch {
    parsed = null;
  }
  return { status: res.status, errorType: res.headers.get('x-amzn-errortype'), body: parsed, text };
}

/** Expects a raw answer to be a 400 ClientException in header and body whose message matches. */
export function assertRawClientException(answer: RawAnswer, message: RegExp): void {
  assert.equal(answer.status, 400, answer.text);
  assert.equal(answer.errorType, 'ClientException', answer.text);
  assert.match(answer.body?.message ?? '', message);
}
