/**
 * Opaque pagination tokens. A token is base64url JSON of the position after the last item
 * returned, tagged with the operation so a token from one listing is refused by another.
 */
import { clientError } from '../model/errors.js';

export function encodeToken(op: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ op, p: position })).toString('base64url');
}

export function decodeToken<T>(op: string, token: string | undefined): T | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { op?: unknown; p?: unknown };
    if (parsed && parsed.op === op && parsed.p !== undefined) return parsed.p as T;
  } catch {
    // fall through to the error below
  }
  throw clientError(`nextToken is invalid for ${op}: pass the nextToken value from the previous ${op} response unchanged`);
}
