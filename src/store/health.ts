/** What /readyz asks of the store: does the database answer (who leads: leaderLease.ts). */
import { sql } from 'kysely';
import type { Db } from './db.js';

/** Whether the database answers a trivial query within `timeoutMs`: undefined if it does, else why not. */
export async function databaseTrouble(db: Db, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`SELECT 1`.execute(db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}
