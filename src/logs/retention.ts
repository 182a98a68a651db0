/**
 * Log retention: with `logRetentionDays` > 0, events whose timestamp is older than that are
 * deleted by a sweep that runs soon after start and then every hour (CloudWatch, too,
 * deletes expired events some time after they expire, not at the instant). A sweep deletes
 * in bounded batches, so it never holds the database's writer for long.
 */
import type { Logger } from 'pino';
import type { Clock, Timer, Timers } from '../model/ids.js';
import type { Db } from '../store/db.js';
import { deleteLogEventsBefore } from '../store/logEvents.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface LogRetentionOptions {
  db: Db;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  /** 0 = keep forever: nothing is ever deleted */
  days: number;
  /** time between sweeps; default one hour */
  intervalMs?: number;
  /** delay before the first sweep; default 10 s, out of the way of start-up recovery */
  firstDelayMs?: number;
}

export class LogRetention {
  private timer: Timer | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly o: LogRetentionOptions) {}

  start(): void {
    if (this.o.days <= 0) return;
    this.schedule(this.o.firstDelayMs ?? 10_000);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.timers.after(ms, () => {
      void this.sweep()
        .catch((err) => this.o.logger.error({ err }, 'log retention sweep failed'))
        .finally(() => this.schedule(this.o.intervalMs ?? 60 * 60 * 1000));
    });
  }

  /** Deletes the events that have expired now; returns how many. One sweep at a time. */
  sweep(): Promise<number> {
    if (this.o.days <= 0) return Promise.resolve(0);
    this.running ??= (async () => {
      try {
        const cutoff = this.o.clock.now() - this.o.days * DAY_MS;
        const deleted = await deleteLogEventsBefore(this.o.db, cutoff);
        if (deleted) this.o.logger.info({ deleted, cutoff, days: this.o.days }, 'deleted expired log events');
        return deleted;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a sweep in progress, so the database can be closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.running?.catch(() => undefined);
  }
}
