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

function isScalar(p: unknown): p is string | number {
  return typeof p === 'string' || (typeof p === 'number' && Number.isFinite(p));
}

/** Any position a listing here issues: a string, a number, or a list of them. */
function isAnyPosition(p: unknown): boolean {
  return isScalar(p) || (Array.isArray(p) && p.length > 0 && p.every(isScalar));
}

/** A position that is a name (the listings ordered by name). */
export function isNamePosition(p: unknown): p is string {
  return typeof p === 'string';
}

/**
 * The position a token carries, or undefined without a token. `isPosition` says which
 * positions `op` issues; by default any string, number or list of them.
 */
export function decodeToken<T>(op: string, token: string | undefined, isPosition: (p: unknown) => boolean = isAnyPosition): T | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { op?: unknown; p?: unknown };
    if (parsed && parsed.op === op && parsed.p !== undefined && isPosition(parsed.p)) return parsed.p as T;
  } catch {
    // fall through to the error below
  }
  throw clientError(`nextToken is invalid for ${op}: pass the nextToken value from the previous ${op} response unchanged`);
}
