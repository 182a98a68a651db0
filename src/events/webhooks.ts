/**
 * Webhooks: every job state change, as the EventBridge-shaped "Batch Job State Change" event,
 * POSTed to the URLs of the `webhooks` setting.
 *
 * Delivery is a transactional outbox:
 *  1. The transaction that changes job states also renders their events and inserts one
 *     outbox row per (webhook, event) that passes the webhook's filters (`beforeCommit`).
 *     The events commit or roll back with the changes: a crash, even kill -9, at any moment
 *     loses none, and no webhook hears of a change that did not happen.
 *  2. A dispatcher per webhook reads its oldest rows and POSTs them, a few at once, but
 *     never two of the same job at once and never one of a job before the job's earlier
 *     events were accepted: each job's events arrive in order.
 *  3. A 2xx answer deletes the row (deletions are batched). Anything else — an error status,
 *     a refused connection, a timeout — schedules a retry with exponential backoff (1 s,
 *     2 s, 4 s … capped at 5 minutes), indefinitely: an event waits until its webhook takes it.
 *
 * Delivery is at least once: a crash between the receiver's answer and the deletion sends the
 * event again after the restart. Receivers deduplicate on the event's `id`, which is fixed
 * when the event is rendered.
 *
 * Nothing here runs on the scheduler's or the API's path except step 1, which costs one read
 * of the changed jobs and one insert per batch of changes, and only when webhooks exist.
 *
 * Each request carries `X-Openbatch-Signature-256: sha256=<hex HMAC-SHA256 of the body with
 * the webhook's secret>` (when it has one), `X-Openbatch-Event-Id` and
 * `X-Openbatch-Delivery-Attempt`.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobStateChange } from '../model/jobStateMachine.js';
import { JOB_STATUSES } from '../model/jobStateMachine.js';
import type { Clock, Timer, Timers } from '../model/ids.js';
import type { Db } from '../store/db.js';
import type { Tx } from '../store/unitOfWork.js';
import { deleteDelivered, dropOrphans, enqueueEvents, pendingEvents, recordFailure, type OutboxRow } from '../store/webhookOutbox.js';

export const EVENT_TYPE = 'Batch Job State Change';

/** One entry of the `webhooks` setting, checked. */
export interface Webhook {
  /** identifies the hook's outbox rows; defaults to the URL */
  name: string;
  url: string;
  /** HMAC-SHA256 key for the signature header; none: requests are unsigned */
  secret?: string;
  /** only these detail-types (today there is one: "Batch Job State Change") */
  eventTypes?: string[];
  /** only jobs of these job queues (names) */
  jobQueues?: string[];
  /** only changes to these statuses */
  statuses?: string[];
  /** per-request timeout */
  timeoutSeconds: number;
}

const KEYS = new Set(['name', 'url', 'secret', 'eventTypes', 'jobQueues', 'statuses', 'timeoutSeconds']);

function stringList(v: unknown, where: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) throw new Error(`${where} must be a list of non-empty strings`);
  return v as string[];
}

/** Checks the `webhooks` setting; errors name the entry and field. */
export function parseWebhooks(value: unknown): Webhook[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error('webhooks must be a JSON list of {url, secret?, name?, eventTypes?, jobQueues?, statuses?}');
  const names = new Set<string>();
  return value.map((raw, i) => {
    const where = `webhooks[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where} must be an object with a url`);
    const h = raw as Record<string, unknown>;
    for (const k of Object.keys(h)) if (!KEYS.has(k)) throw new Error(`${where}: unknown field '${k}' (known: ${[...KEYS].join(', ')})`);
    if (typeof h.url !== 'string') throw new Error(`${where}.url is required (an http:// or https:// URL)`);
    let url: URL;
    try {
      url = new URL(h.url);
    } catch {
      throw new Error(`${where}.url '${h.url}' is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${where}.url must be http:// or https:// (got ${url.protocol})`);
    if (h.secret !== undefined && (typeof h.secret !== 'string' || h.secret === '')) throw new Error(`${where}.secret must be a non-empty string`);
    if (h.name !== undefined && (typeof h.name !== 'string' || h.name === '')) throw new Error(`${where}.name must be a non-empty string`);
    const name = (h.name as string | undefined) ?? h.url;
    if (names.has(name)) throw new Error(`${where}: another webhook is already named '${name}' (give each a distinct name)`);
    names.add(name);
    const eventTypes = stringList(h.eventTypes, `${where}.eventTypes`);
    for (const t of eventTypes ?? []) if (t !== EVENT_TYPE) throw new Error(`${where}.eventTypes: unknown event type '${t}' (known: '${EVENT_TYPE}')`);
    const statuses = stringList(h.statuses, `${where}.statuses`);
    for (const s of statuses ?? []) if (!(JOB_STATUSES as readonly string[]).includes(s)) throw new Error(`${where}.statuses: unknown status '${s}' (known: ${JOB_STATUSES.join(', ')})`);
    const timeoutSeconds = h.timeoutSeconds === undefined ? 10 : Number(h.timeoutSeconds);
    if (!(timeoutSeconds > 0)) throw new Error(`${where}.timeoutSeconds must be a positive number`);
    return { name, url: h.url, secret: h.secret as string | undefined, eventTypes, jobQueues: stringList(h.jobQueues, `${where}.jobQueues`), statuses, timeoutSeconds };
  });
}

/** The HMAC-SHA256 signature header value of a body, as receivers should recompute it. */
export function signature(secret: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** Delay before delivery attempt `n + 1` after `n` failed ones. */
export function backoffMs(failures: number): number {
  return Math.min(1000 * 2 ** Math.max(failures - 1, 0), 300_000);
}

const IN_FLIGHT = 4;
const READ_AHEAD = 200;
const TICK_MS = 500;

/** A state change as a webhook receives it: the event to send, and what its filters look at. */
export interface RenderedEvent {
  change: JobStateChange;
  job: { id: string; queue: string };
  event: unknown;
}

export interface WebhookOptions {
  db: Db;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  hooks: Webhook[];
  /** the events of changes, in their order, as the transaction that made them reads them (the API's EventBridge shape) */
  render(db: Tx['db'], changes: JobStateChange[]): Promise<RenderedEvent[]>;
}

export class Webhooks {
  private readonly workers: HookWorker[];
  private timer: Timer | undefined;

  constructor(private readonly o: WebhookOptions) {
    this.workers = o.hooks.map((h) => new HookWorker(h, o));
  }

  get enabled(): boolean {
    return this.workers.length > 0;
  }

  /** The outbox writer, run inside each transaction that changes job states. */
  readonly enqueue = async (trx: Tx['db'], changes: JobStateChange[]): Promise<void> => {
    const rendered = await this.o.render(trx, changes);
    const rows = [];
    for (const r of rendered) {
      const body = JSON.stringify(r.event);
      for (const h of this.o.hooks) {
        if (h.jobQueues && !h.jobQueues.includes(r.job.queue)) continue;
        if (h.statuses && !h.statuses.includes(r.change.to)) continue;
        rows.push({ hook: h.name, jobId: r.job.id, body });
      }
    }
    if (rows.length) await enqueueEvents(trx, rows, this.o.clock.now());
  };

  async start(): Promise<void> {
    const dropped = await dropOrphans(this.o.db, this.o.hooks.map((h) => h.name));
    if (dropped) this.o.logger.warn({ dropped }, `dropped ${dropped} undelivered webhook event(s) of webhooks no longer configured`);
    if (!this.enabled) return;
    this.timer = this.o.timers.every(TICK_MS, () => this.kick());
    this.kick();
  }

  /** New rows were committed (or a retry may be due): look again. */
  kick(): void {
    for (const w of this.workers) w.pump();
  }

  async stop(): Promise<void> {
    this.timer?.clear();
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

class HookWorker {
  /** jobs with an event on the wire */
  private readonly busy = new Set<string>();
  /** delivered, deletion not yet written */
  private readonly delivered = new Set<number>();
  private pumping: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly sends = new Set<Promise<void>>();
  /** aborts requests on the wire when the server stops (they are retried after the restart) */
  private readonly stopping = new AbortController();

  constructor(
    private readonly hook: Webhook,
    private readonly o: WebhookOptions,
  ) {}

  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.run()
      .catch((err) => this.o.logger.warn({ err, webhook: this.hook.name }, 'webhook dispatch failed'))
      .finally(() => {
        this.pumping = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async run(): Promise<void> {
    if (this.delivered.size) {
      const ids = [...this.delivered];
      await deleteDelivered(this.o.db, ids);
      for (const id of ids) this.delivered.delete(id);
    }
    if (this.sends.size >= IN_FLIGHT) return;
    const rows = await pendingEvents(this.o.db, this.hook.name, READ_AHEAD);
    const now = this.o.clock.now();
    const headSeen = new Set<string>();
    for (const r of rows) {
      if (this.sends.size >= IN_FLIGHT) break;
      if (this.delivered.has(r.id)) continue;
      // Only a job's oldest undelivered event may go, and only when nothing of that job is on the wire.
      if (headSeen.has(r.job_id)) continue;
      headSeen.add(r.job_id);
      if (this.busy.has(r.job_id) || r.next_attempt_at > now) continue;
      this.send(r);
    }
  }

  private send(r: OutboxRow): void {
    this.busy.add(r.job_id);
    const p = this.post(r)
      .then(async (error) => {
        if (this.stopping.signal.aborted && error !== undefined) return; // not the receiver's failure: sent again after the restart
        if (error === undefined) {
          this.delivered.add(r.id);
          return;
        }
        const failures = r.attempts + 1;
        const delay = backoffMs(failures);
        this.o.logger.warn({ webhook: this.hook.name, jobId: r.job_id, failures, retryInMs: delay, error }, 'webhook delivery failed; will retry');
        await recordFailure(this.o.db, r.id, failures, this.o.clock.now() + delay, error);
      })
      .catch((err) => this.o.logger.warn({ err, webhook: this.hook.name }, 'webhook bookkeeping failed'))
      .finally(() => {
        this.busy.delete(r.job_id);
        this.sends.delete(p);
        this.pump();
      });
    this.sends.add(p);
  }

  /** POSTs one event; returns undefined when the receiver took it, else what went wrong. */
  private async post(r: OutboxRow): Promise<string | undefined> {
    const event = JSON.parse(r.body) as { id: string };
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'openbatch-webhook',
      'x-openbatch-event-id': event.id,
      'x-openbatch-delivery-attempt': String(r.attempts + 1),
    };
    if (this.hook.secret) headers['x-openbatch-signature-256'] = signature(this.hook.secret, r.body);
    try {
      const res = await fetch(this.hook.url, { method: 'POST', headers, body: r.body, signal: AbortSignal.any([AbortSignal.timeout(this.hook.timeoutSeconds * 1000), this.stopping.signal]) });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? undefined : `HTTP ${res.status}`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      return err.cause?.code ?? err.cause?.message ?? err.message;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.pumping;
    await Promise.allSettled([...this.sends]);
    if (this.delivered.size) {
      await deleteDelivered(this.o.db, [...this.delivered]).catch((err) =>
        this.o.logger.warn({ err, events: this.delivered.size }, 'could not mark delivered webhook events: the next server delivers them again'),
      );
    }
  }
}
