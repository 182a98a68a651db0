/**
 * Wake-ups between control planes sharing a PostgreSQL database, over LISTEN/NOTIFY:
 *   kick         something changed that the scheduler should look at (a SubmitJob or an
 *                agent's exit report served by a follower); the leader runs a pass.
 *   instance     an instance has new work or a termination (placements by the leader, a
 *                TerminateJob on a follower); whichever server holds the instance agent's
 *                long-poll answers it now.
 * Signals only make things faster: the leader's scheduler also runs every second and agents
 * poll at least every 15 s, so a lost notification delays, never loses, work.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Timers } from '../model/ids.js';
import { DatabaseChannel, type ChannelOptions } from '../store/notifications.js';

const CHANNEL = 'openbatch';

export interface SignalsOptions {
  databaseUrl: string;
  /** for sending: any pool of the same database */
  pool: ChannelOptions['pool'];
  logger: Logger;
  timers: Timers;
  onKick(): void;
  onInstance(instanceId: string): void;
}

export class ClusterSignals {
  private readonly me = randomBytes(4).toString('hex');
  private readonly channel: DatabaseChannel;
  private stopped = false;
  private kickPending = false;

  constructor(private readonly o: SignalsOptions) {
    this.channel = new DatabaseChannel({ databaseUrl: o.databaseUrl, pool: o.pool, channel: CHANNEL, logger: o.logger, onMessage: (p) => this.receive(p) });
  }

  async start(): Promise<void> {
    await this.channel.start();
  }

  private receive(payload: string): void {
    const [from, kind, arg] = payload.split('|');
    if (from === this.me) return;
    if (kind === 'k') this.o.onKick();
    else if (kind === 'i' && arg) this.o.onInstance(arg);
  }

  private send(kind: string, arg = ''): void {
    if (this.stopped) return;
    this.channel.send(`${this.me}|${kind}|${arg}`);
  }

  /** Ask the leader for a scheduler pass (coalesced: at most one signal per 20 ms). */
  kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    this.o.timers.after(20, () => {
      this.kickPending = false;
      this.send('k');
    });
  }

  /** Wake the agent of an instance, wherever it polls. */
  instance(instanceId: string): void {
    this.send('i', instanceId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.channel.stop();
  }
}
