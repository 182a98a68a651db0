/**
 * Agent tokens: each instance's agent holds a secret of its own; the instances table keeps
 * only its hash, so that a copy of the database lets no one speak for an agent.
 */
import { createHash } from 'node:crypto';

/** The hash the instances table keeps of an agent's token. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
