/**
 * What most parts of the control plane are built from: configuration, the store, time, ids
 * and a logger. The composition root (server.ts) makes one and hands it on.
 */
import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import type { Clock, IdSource, Timers } from './model/ids.js';
import type { Db } from './store/db.js';
import type { UnitOfWork } from './store/unitOfWork.js';

/**
 * Why a scheduler pass is asked for, when the only news is new submissions
 * (scheduler/loop.ts SchedulerLoop.kick): `submitted` new SUBMITTED jobs; `dependent` one job
 * whose dependencies are all unfinished.
 */
export type KickReason = 'submitted' | 'dependent';

export interface Core {
  config: ServerConfig;
  db: Db;
  uow: UnitOfWork;
  clock: Clock;
  /** every wait (model/ids.ts Timers) */
  timers: Timers;
  ids: IdSource;
  logger: Logger;
  /** ask the scheduler for a pass soon (coalesced); SubmitJob says why (KickReason) */
  kickScheduler(why?: KickReason): void;
}
