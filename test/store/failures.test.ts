/**
 * Which store errors mean "the store cannot serve now" (and are answered as such, not as an
 * internal error), as a table of the errors SQLite, PostgreSQL, pg and Node raise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { storeUnavailable } from '../../src/store/failures.js';

test('store failures that are not bugs are named; anything else is not', () => {
  const cases: { error: unknown; says: RegExp | undefined }[] = [
    { error: Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), says: /^no space left on device/ },
    { error: Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_WRITE' }), says: /I\/O error/ },
    { error: Object.assign(new Error('could not extend file'), { code: '53100' }), says: /^no space left on device/ },
    { error: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), says: /shutting down/ },
    { error: Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }), says: /lock_timeout/ },
    { error: Object.assign(new Error('terminating connection due to idle-in-transaction timeout'), { code: '25P03' }), says: /idle_in_transaction/ },
    { error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), says: /refused the connection/ },
    { error: Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' }), says: /^no space left on device/ },
    { error: new Error('Connection terminated unexpectedly'), says: /connection to the database failed/ },
    { error: new Error('timeout exceeded when trying to connect'), says: /connection to the database failed/ },
    { error: Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }), says: undefined },
    { error: new TypeError("Cannot read properties of undefined (reading 'id')"), says: undefined },
    { error: 'not even an error', says: undefined },
  ];
  for (const c of cases) {
    const said = storeUnavailable(c.error);
    if (c.says) assert.match(said ?? '', c.says, String((c.error as Error).message ?? c.error));
    else assert.equal(said, undefined, String((c.error as Error).message ?? c.error));
  }
});
