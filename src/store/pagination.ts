/**
 * Opaque pagination tokens. A token is base64url JSON of the position after the last item
 * returned, tagged with the operation so a token from one listing is refused by another.
 *
 * A token comes back from the client, so it may have been made up: its position is checked
 * to be of the shape the operation issues before any query sees it (a made-up object or
 * boolean bound into SQL would fail as a server error instead of a ClientException).
 */
import { clientError } from '../model/errors.js';

export function encodeToken(op: string, position: unknown): string {
  return Buffer.from(JSON.stringify({ op, p: position })).toString('base64url');
}

/** A position that is a name (the listings ordered by name). */
export function isNamePosition(p: unknown): p is string {
  return typeof p === 'string';
}

/** A position that is a row's sequence number: a whole number a bigint column holds (1e300 is a number, not one of those). */
export function isSeqPosition(p: unknown): p is number {
  return Number.isSafeInteger(p);
}

/**
 * The position a token carries, or undefined without a token. `isPosition` says which
 * positions `op` issues, exactly: a position of the right operation with a member of another
 * type would otherwise reach SQL and fail there, a 500 instead of a ClientException.
 */
export function decodeToken<T>(op: string, token: string | undefined, isPosition: (p: unknown) => boolean): T | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { op?: unknown; p?: unknown };
    if (parsed && parsed.op === op && parsed.p !== undefined && isPosition(parsed.p)) return parsed.p as T;
  } catch {
    // fall through to the error below
  }
  throw clientError(`nextToken is invalid for ${op}: pass the nextToken value from the previous ${op} response unchanged`);
}
