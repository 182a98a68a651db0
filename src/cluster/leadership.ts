/**
 * Leadership among control planes sharing one PostgreSQL database: every server serves the
 * API and the agent protocol; exactly one — the holder of the leader lease — runs the
 * scheduler, the compute providers and the background deliveries (docs/design/leader.md).
 *
 * The lease is a row (`leader_lease`) with an expiry on the database's clock, so servers'
 * clocks do not matter. The leader renews it every leaseMs/5; any other server takes it once
 * it has expired, adding 1 to its epoch. A leader that cannot renew for leaseMs (database
 * unreachable, process stalled) steps down on its own.
 *
 * Fencing: every write transaction of the leader checks, after the global write lock (see
 * unitOfWork.ts), that the lease still names it with its epoch and has not expired. Write
 * transactions run one at a time, so a deposed leader's transaction either committed before
 * the new leader's first one (which then sees it) or is refused.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Timer, Timers } from '../model/ids.js';
import type { Db } from '../store/db.js';
import { acquireLease, holdsLease, leaseHolder, releaseLease, renewLease, SCHEDULER_LEASE as LEASE, takeLease } from '../store/leaderLease.js';
import type { Tx } from '../store/unitOfWork.js';
import { processExists } from '../processes.js';


export class NotLeaderError extends Error {
  constructor(detail: string) {
    super(`this server no longer holds the leader lease (${detail}); its write was refused`);
  }
}

export interface LeadershipOptions {
  db: Db;
  logger: Logger;
  timers: Timers;
  /** how long a lease lasts without renewal: the longest a dead leader goes unreplaced */
  leaseMs: number;
  /** start leading: recover, start the scheduler and the providers */
  elected(epoch: number): Promise<void>;
  /** stop leading: stop everything elected() started */
  deposed(): Promise<void>;
}

export class Leadership {
  /** who this server is in the lease row */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  /** the epoch of the lease this server holds, null while it does not lead */
  private epoch: number | null = null;
  private renewedAt = 0;
  private timer: Timer | undefined;
  private stopped = false;
  private ticking: Promise<void> = Promise.resolve();
  /** elected()/deposed() run one after another, never overlapping */
  private transitions: Promise<void> = Promise.resolve();

  constructor(private readonly o: LeadershipOptions) {}

  get leading(): boolean {
    return this.epoch !== null;
  }

  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick().finally(() => {
        if (!this.stopped) this.timer = this.o.timers.after(Math.max(this.o.leaseMs / 5, 50), loop);
      });
    };
    loop();
  }

  private async tick(): Promise<void> {
    let timer: Timer | undefined;
    try {
      // A database that does not answer (cut off, paused) must not hold the tick: a leader
      // that cannot renew steps down within its lease however the database fails.
      const timeout = new Promise<never>((_, reject) => {
        timer = this.o.timers.after(Math.max(this.o.leaseMs / 2, 50), () => reject(new Error('the database did not answer within half a lease')));
      });
      await Promise.race([this.epoch === null ? this.tryAcquire() : this.renew(), timeout]);
    } catch (err) {
      // The database is unreachable: a leader that has not renewed for a whole lease steps down.
      if (this.epoch !== null && performance.now() - this.renewedAt >= this.o.leaseMs) this.stepDown('could not renew the lease: ' + (err as Error).message);
      else if (this.epoch === null) this.o.logger.debug({ err }, 'leader lease: could not try to acquire');
    } finally {
      timer?.clear();
    }
  }

  private async tryAcquire(): Promise<void> {
    const t0 = performance.now();
    let epoch = await acquireLease(this.o.db, LEASE, this.holder, this.o.leaseMs);
    if (epoch === undefined) epoch = await this.takeFromDeadNeighbour();
    if (epoch === undefined || this.stopped) return;
    this.epoch = Number(epoch);
    this.renewedAt = t0;
    this.o.logger.info({ epoch: this.epoch, holder: this.holder }, 'leader lease acquired: this server runs the scheduler and compute providers');
    const e = this.epoch;
    this.transitions = this.transitions.then(() =>
      this.o.elected(e).catch((err) => {
        this.o.logger.error({ err }, 'could not start leading; stepping down');
        this.stepDown('start failed');
      }),
    );
  }

  /**
   * A lease held by a process of this host that no longer exists (a server killed and
   * restarted) is taken at once instead of after its expiry. A holder on another host, or a
   * pid that is alive (perhaps reused), is waited out.
   */
  private async takeFromDeadNeighbour(): Promise<number | undefined> {
    const current = await leaseHolder(this.o.db, LEASE);
    if (!current) return undefined;
    const [host, pid] = current.holder.split(':');
    if (host !== hostname() || !/^\d+$/.test(pid ?? '') || Number(pid) === process.pid || processExists(Number(pid))) return undefined;
    const epoch = await takeLease(this.o.db, LEASE, this.holder, current, this.o.leaseMs);
    if (epoch !== undefined) this.o.logger.info({ previous: current.holder }, 'the previous leader was a process of this host that has exited: taking its lease now');
    return epoch;
  }

  private async renew(): Promise<void> {
    const t0 = performance.now();
    if (await renewLease(this.o.db, LEASE, this.holder, this.epoch!, this.o.leaseMs)) this.renewedAt = t0;
    else this.stepDown('the lease expired or was taken over');
  }

  private stepDown(why: string): void {
    if (this.epoch === null) return;
    this.o.logger.warn({ epoch: this.epoch, why }, 'leader lease lost: stopping the scheduler and compute providers');
    this.epoch = null;
    this.transitions = this.transitions.then(() => this.o.deposed().catch((err) => this.o.logger.error({ err }, 'error while stepping down')));
  }

  /** The leader's fence (UnitOfWork.fenced): refuses the transaction unless the lease is still this server's. */
  readonly fence = async (trx: Tx['db']): Promise<void> => {
    const epoch = this.epoch;
    if (epoch === null) throw new NotLeaderError('stepped down');
    if (!(await holdsLease(trx, LEASE, this.holder, epoch))) {
      this.stepDown('fenced off');
      throw new NotLeaderError(`epoch ${epoch} is over`);
    }
  };

  /** Server shutdown: stop leading, then give the lease up so another server takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.clear();
    await this.ticking;
    const epoch = this.epoch;
    this.stepDown('server shutting down');
    await this.transitions;
    if (epoch !== null) {
      // Best effort: a lease not given up expires after leaseMs all the same.
      await releaseLease(this.o.db, LEASE, this.holder, epoch).catch((err) => this.o.logger.debug({ err }, 'could not give the leader lease up; it expires on its own'));
    }
  }
}

