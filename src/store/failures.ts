/**
 * Failures of the store that are not bugs: the database cannot serve now — unreachable,
 * restarting, its disk full, a lock or a statement that waited too long. Callers say so
 * (the API answers a ServerException naming it, not "internal error"; loops log a warning
 * and try again) and carry on: each of them passes when the store is back, without a
 * restart. The codes are SQLite's, PostgreSQL's (SQLSTATE) and Node's (errno).
 */

/** PostgreSQL SQLSTATEs that mean the database cannot serve now (classes 08, 53, 57 and a few more). */
const PG_UNAVAILABLE: Record<string, string> = {
  '53100': 'no space left on device: the database server could not write (its disk is full)',
  '53200': 'the database server is out of memory',
  '53300': 'the database server has too many connections',
  '55P03': 'a lock was not granted in time (lock_timeout): another server holds it',
  '57014': 'a statement ran too long and was cancelled (statement_timeout)',
  '25P03': 'a transaction was left idle too long and its session ended (idle_in_transaction_session_timeout)',
  '57P01': 'the database server is shutting down',
  '57P02': 'the database server crashed',
  '57P03': 'the database server is starting up',
  '58030': 'the database server had an I/O error',
};

const NODE_UNAVAILABLE: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ECONNREFUSED: 'the database refused the connection',
  ECONNRESET: 'the connection to the database was reset',
  ETIMEDOUT: 'the database did not answer in time',
  EPIPE: 'the connection to the database was closed',
  EHOSTUNREACH: 'the database host is unreachable',
  ENETUNREACH: 'the database network is unreachable',
  ENOTFOUND: 'the database host name does not resolve',
  EAI_AGAIN: 'the database host name does not resolve now',
};

/** What pg's own errors say when a connection breaks or does not come (they carry no code). */
const PG_CLIENT_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /query read timeout/i, /not queryable/i, /terminating connection/i];

/**
 * Why the store cannot serve now, in words for an operator ("no space left on device: …"),
 * or undefined when `e` is some other error (a bug, bad input).
 */
export function storeUnavailable(e: unknown): string | undefined {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  if (code === 'SQLITE_FULL') return 'no space left on device: the database in the data directory could not be written (its disk is full)';
  if (code.startsWith('SQLITE_IOERR')) return `the database in the data directory had an I/O error (${code}: ${message})`;
  if (code === 'SQLITE_BUSY') return 'the database in the data directory is locked by another process';
  if (code === 'SQLITE_READONLY') return 'the database in the data directory is read-only';
  if (PG_UNAVAILABLE[code]) return PG_UNAVAILABLE[code];
  if (code.startsWith('08')) return `the connection to the database failed (${message || code})`;
  if (NODE_UNAVAILABLE[code]) return `${NODE_UNAVAILABLE[code]}${message ? ` (${message})` : ''}`;
  if (PG_CLIENT_MESSAGES.some((m) => m.test(message))) return `the connection to the database failed (${message})`;
  return undefined;
}
