/**
 * Notifications between processes sharing a PostgreSQL database (LISTEN/NOTIFY) on one
 * channel: a connection of its own that listens, reconnecting when it breaks, and sending
 * through any pool of the same database. What the payloads mean is the caller's
 * (cluster/signals.ts). A lost notification is lost: callers use them to be faster, never as
 * the only way something happens.
 */
import type pg from 'pg';
import type { Logger } from 'pino';

export interface ChannelOptions {
  databaseUrl: string;
  /** for sending: any pool of the same database */
  pool: pg.Pool;
  /** the channel's name (an SQL identifier) */
  channel: string;
  logger: Logger;
  onMessage(payload: string): void;
}

export class DatabaseChannel {
  private client: pg.Client | undefined;
  private stopped = false;

  constructor(private readonly o: ChannelOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(o.channel)) throw new Error(`internal: channel name '${o.channel}' is not a plain identifier`);
  }

  async start(): Promise<void> {
    // pg is loaded by what uses PostgreSQL, not by every server's start (store/db.ts).
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: this.o.databaseUrl });
    client.on('notification', (n) => this.o.onMessage(n.payload ?? ''));
    client.on('error', (err) => {
      this.o.logger.warn({ err }, 'database notifications: connection lost; reconnecting');
      this.reconnect(client);
    });
    client.on('end', () => this.reconnect(client));
    await client.connect();
    await client.query(`LISTEN ${this.o.channel}`);
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

  /** Sends a payload to every listener of the channel (this one's included). */
  send(payload: string): void {
    if (this.stopped) return;
    this.o.pool.query('SELECT pg_notify($1, $2)', [this.o.channel, payload]).catch((err) => this.o.logger.debug({ err }, 'database notification not sent'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
