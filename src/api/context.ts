/** What an operation handler receives: the request's identity and the services it may use. */
import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { ArnScope } from '../model/arn.js';
import type { Clock, IdSource } from '../model/ids.js';
import type { Db } from '../store/db.js';
import type { UnitOfWork } from '../store/unitOfWork.js';

export interface Services {
  config: ServerConfig;
  db: Db;
  uow: UnitOfWork;
  clock: Clock;
  ids: IdSource;
  logger: Logger;
  /** ask the scheduler for a pass soon (coalesced) */
  kickScheduler(): void;
  /** tell an instance's agent to look at its assignments now (termination requests) */
  notifyInstance(instanceId: string): void;
  /** the last scheduler pass's waiting jobs of a queue, in dispatch order, with why each waits */
  waitingIn(queue: string): { jobId: string; code: string }[] | undefined;
}

export interface RequestContext {
  scope: ArnScope;
  accessKeyId: string | null;
  requestId: string;
}

export type Handler = (input: Record<string, unknown>, ctx: RequestContext, services: Services) => Promise<unknown>;
