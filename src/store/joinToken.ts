/**
 * The join token's hash (table join_token, one row named 'agents'): every server of the
 * database checks agents' registrations against it, so that a rotation holds for all.
 */
import type { Db } from './db.js';

const NAME = 'agents';

/** The hash agents' join tokens are checked against, or undefined before the first server set one. */
export async function joinTokenHash(db: Db): Promise<string | undefined> {
  return (await db.selectFrom('join_token').select('token_hash').where('name', '=', NAME).executeTakeFirst())?.token_hash;
}

/** Records `hash` unless a hash is there already (the first server to start sets it); answers the hash in force. */
export async function initJoinTokenHash(db: Db, hash: string, now: number): Promise<string> {
  await db.insertInto('join_token').values({ name: NAME, token_hash: hash, rotated_at: now }).onConflict((oc) => oc.column('name').doNothing()).execute();
  return (await joinTokenHash(db)) ?? hash;
}

/** Replaces the hash: the previous token is refused from now on. */
export async function rotateJoinTokenHash(db: Db, hash: string, now: number): Promise<void> {
  await db.insertInto('join_token').values({ name: NAME, token_hash: hash, rotated_at: now }).onConflict((oc) => oc.column('name').doUpdateSet({ token_hash: hash, rotated_at: now })).execute();
}
