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
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';

const CHANNEL = 'openbatch';

export interface SignalsOptions {
  databaseUrl: string;
  /** for sending: any pool of the same database */
  pool: pg.Pool;
  logger: Logger;
  onKick(): void;
  onInstance(instanceId: string): void;
}

export class ClusterSignals {
  private readonly me = randomBytes(4).toString('hex');
  private client: pg.Client | undefined;
  private stopped = false;
  private kickPending = false;

  constructor(private readonly o: SignalsOptions) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.databaseUrl });
    client.on('notification', (n) => this.receive(n.payload ?? ''));
    client.on('error', (err) => {
      this.o.logger.warn({ err }, 'cluster signals: connection lost; reconnecting');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private reconnect(old: pg.Client): void {
    if (this.stopped || this.client !== old) return;
    this.client = undefined;
    old.end().catch(() => undefined);
    const retry = () => {
      if (this.stopped) return;
      this.start().catch(() => setTimeout(retry, 1000).unref());
    };
    setTimeout(retry, 500).unref();
  }

  private receive(payload: string): void {
    const [from, kind, arg] = payload.split('|');
    if (from === this.me) return;
    if (kind === 'k') this.o.onKick();
    else if (kind === 'i' && arg) this.o.onInstance(arg);
  }

  private send(kind: string, arg = ''): void {
    if (this.stopped) return;
    this.o.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, `${this.me}|${kind}|${arg}`]).catch(() => undefined);
  }

  /** Ask the leader for a scheduler pass (coalesced: at most one signal per 20 ms). */
  kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    setTimeout(() => {
      this.kickPending = false;
      this.send('k');
    }, 20).unref();
  }

  /** Wake the agent of an instance, wherever it polls. */
  instance(instanceId: string): void {
    this.send('i', instanceId);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
