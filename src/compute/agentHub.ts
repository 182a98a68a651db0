/**
 * The control plane's side of the agent protocol (see agent/protocol.ts).
 *
 * Delivery is reconciled, and fenced both ways: on every poll the hub compares the attempts
 * the agent says it runs with the attempts the database assigns to its instance.
 *   - An attempt assigned and never handed out is sent, and marked delivered in the same
 *     step (store/delivery.ts): its assignment, with its resolved secrets, is handed out once.
 *     A poll never gets an attempt that was delivered or has started, whatever it lists.
 *   - An attempt delivered that a poll arriving DELIVERY_GRACE_MS later does not list (an
 *     agent lists every attempt it holds until its exit is acknowledged) was lost on its way,
 *     or its agent lost it: it ends, failed to start (or lost, once RUNNING), so that its
 *     retry strategy applies. Nothing runs it twice.
 *   - Attempts running but no longer assigned, or marked for termination, are stopped.
 *   - A report is applied only from the instance the attempt was placed on, with the
 *     attempt's token (AttemptReports' fencing); any other is refused as stale.
 * Nothing but the database holds the truth.
 *
 * Every answer states the agent lease (agentLease.ts); an instance TERMINATING (scaled down,
 * its Fargate task done, drained) is told to shut down, by whichever server its agent polls.
 * A server that stops tells its agents nothing: they poll another server, or this one once it
 * is back, and keep their jobs running meanwhile.
 */
import { timingSafeEqual } from 'node:crypto';
import { hashToken } from './agentTokens.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { BatchError, clientError } from '../model/errors.js';
import { parseBoundedJson } from '../jsonDepth.js';
import { REASONS } from '../model/reasons.js';
import type { Clock, Timers } from '../model/ids.js';
import type { AgentFeature, Assignment, AttemptRef, PollRequest, PollResponse, Report, ReportRequest, ReportResponse } from '../agent/protocol.js';
import type { Db } from '../store/db.js';
import { closeInstance, getInstance, markTerminating, setImpairment, stopReasonOf, updateInstance, type InstanceRow } from '../store/instances.js';
import { activeAttemptsOf, attemptLogTarget } from '../store/assignments.js';
import { AttemptReports } from '../store/attemptReports.js';
import { CONTAINER_NAME, containerLogStream } from '../model/taskSpec.js';
import { buildAssignment, derivedEnvironment, RerunIndex, taskFacts, type AssignmentContext } from './assignment.js';
import { appendLogEvents, type NewLogEvent } from '../store/logEvents.js';
import type { Tx, UnitOfWork } from '../store/unitOfWork.js';
import type { JoinedAgents, RegisterRequest } from './joinedAgents.js';
import type { Mount } from './launchTemplates.js';
import type { LeaseTimes } from './agentLease.js';
import { markDelivered } from '../store/delivery.js';
import { recordUsage, type UsageReport } from '../store/attemptUsage.js';
import type { UsageFigures } from '../model/usage.js';

export interface AgentHubOptions {
  db: Db;
  uow: UnitOfWork;
  clock: Clock;
  /** the long polls' waits */
  timers: Timers;
  logger: Logger;
  terminateGraceMs: number;
  /** the agent lease (agentLease.ts) */
  lease: LeaseTimes;
  /** each attempt's log output is capped at this many bytes by its agent (0 or absent: no cap) */
  logLimitBytes?: number;
  /** agents sample what running attempts use this often (0 or absent: only at their end) */
  usageSampleMs?: number;
  /** timeouts are sent to agents divided by this (see ServerConfig.timeDilation) */
  timeDilation: number;
  kickScheduler(): void;
  /** runs a write in the next scheduler pass's transaction (SchedulerLoop.withNextPass) */
  withNextPass?<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** an instance polled for the first time (LAUNCHING → ACTIVE) */
  onInstanceActive?(instanceId: string): void;
  /** registration and departure of agents that join UNMANAGED compute environments */
  joined?: JoinedAgents;
  /** how the attempts of a compute environment run: its executor, the secret store (default: process executor, no secrets) */
  assignmentContext?(ceName: string): Promise<AssignmentContext>;
  /** what an instance's launch template gives each of its jobs (environment under the job's own, mounts) */
  instanceSetup?(inst: InstanceRow): { environment: Record<string, string>; mounts: Mount[] } | undefined;
  /** an instance that takes one job in its life (a Fargate task) saw that job end */
  onOneJobDone?(instanceId: string): void;
  /** whether an instance takes one job in its life */
  takesOneJob?(inst: InstanceRow): boolean;
}

const MAX_WAIT_MS = 20_000;
/**
 * A delivered attempt that a poll arriving this long after the delivery does not list is lost.
 * More than the clock difference of two servers sharing a database, less than a poll's wait:
 * an agent lists what it was handed in the poll right after the answer that carried it.
 */
export const DELIVERY_GRACE_MS = 5_000;
/** Why an attempt that ran ends when its agent no longer lists it. */
const RUN_LOST = 'the agent no longer runs the attempt (it lost track of it)';
/**
 * Agents send report batches of about 512 KiB; one log line (256 KiB) of control characters
 * is six times that as JSON. Larger than the API's limit, and not configurable with it.
 */
const AGENT_BODY_LIMIT = 4 * 1024 * 1024;

function checkAttemptRef(r: unknown, where: string): asserts r is AttemptRef {
  const x = r as Partial<AttemptRef> | null;
  if (typeof x !== 'object' || x === null) throw clientError(`${where} must be an object {jobId, attempt}`);
  if (typeof x.jobId !== 'string' || x.jobId === '') throw clientError(`${where}.jobId must be a non-empty string`);
  if (!Number.isInteger(x.attempt)) throw clientError(`${where}.attempt must be a whole number`);
}

const USAGE_NUMBERS = ['cpuSeconds', 'memoryBytes', 'peakMemoryBytes', 'readBytes', 'writeBytes'] as const;
const USAGE_SOURCES = ['cgroup', 'proc', 'engine'];

/** The figures of a `usage` report or an exit's. */
function checkUsage(u: unknown, where: string): asserts u is UsageFigures {
  const x = u as Record<string, unknown> | null;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw clientError(`${where} must be an object of figures`);
  if (!USAGE_SOURCES.includes(x.source as string)) throw clientError(`${where}.source must be one of ${USAGE_SOURCES.join(', ')}`);
  for (const k of USAGE_NUMBERS) {
    const v = x[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw clientError(`${where}.${k} must be a number, 0 or more`);
  }
}

/** The structure of one report; what it says is checked against the database. */
function checkReport(r: unknown, i: number): asserts r is Report {
  const where = `reports[${i}]`;
  checkAttemptRef(r, where);
  const x = r as Partial<Report> & Record<string, unknown>;
  if (typeof x.token !== 'string') throw clientError(`${where}.token must be a string`);
  if (x.kind === 'started' || x.kind === 'exited' || x.kind === 'usage') {
    if (typeof x.at !== 'number' || !Number.isFinite(x.at)) throw clientError(`${where}.at must be a time in epoch milliseconds`);
  }
  if (x.kind === 'usage' || (x.kind === 'exited' && x.usage !== undefined)) checkUsage(x.usage, `${where}.usage`);
  if (x.kind === 'exited') {
    if (x.exitCode !== null && !Number.isInteger(x.exitCode)) throw clientError(`${where}.exitCode must be a whole number or null`);
    if (x.reason !== null && typeof x.reason !== 'string') throw clientError(`${where}.reason must be a string or null`);
    if (typeof x.timedOut !== 'boolean') throw clientError(`${where}.timedOut must be true or false`);
    if (x.neverStarted !== undefined && typeof x.neverStarted !== 'boolean') throw clientError(`${where}.neverStarted must be true or false`);
    if (x.containers !== undefined) {
      if (!Array.isArray(x.containers) || x.containers.length > 20) throw clientError(`${where}.containers must be a list of at most 20 {name, exitCode, reason}`);
      x.containers.forEach((c: unknown, j: number) => {
        const e = c as { name?: unknown; exitCode?: unknown; reason?: unknown } | null;
        if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !CONTAINER_NAME.test(e.name) || (e.exitCode !== null && !Number.isInteger(e.exitCode)) || (e.reason !== undefined && typeof e.reason !== 'string')) {
          throw clientError(`${where}.containers[${j}] must be {name: a container's name, exitCode: a whole number or null, reason?: string}`);
        }
      });
    }
  } else if (x.kind === 'logs') {
    if (!Array.isArray(x.lines)) throw clientError(`${where}.lines must be a list of {t, m}`);
    if (x.container !== undefined && (typeof x.container !== 'string' || !CONTAINER_NAME.test(x.container))) throw clientError(`${where}.container must be a container's name`);
    x.lines.forEach((l: unknown, j: number) => {
      const line = l as { t?: unknown; m?: unknown } | null;
      if (typeof line !== 'object' || line === null || typeof line.t !== 'number' || !Number.isFinite(line.t) || typeof line.m !== 'string') {
        throw clientError(`${where}.lines[${j}] must be {t: epoch milliseconds, m: string}`);
      }
    });
  } else if (x.kind !== 'started' && x.kind !== 'withdrawn' && x.kind !== 'usage') {
    throw clientError(`${where}.kind must be started, logs, usage, exited or withdrawn (got ${JSON.stringify(x.kind)?.slice(0, 40)})`);
  }
}

/** Whether the instance's agent is to stop everything and leave: TERMINATING, and not under a Spot notice (its jobs run on through that). */
function toShutDown(inst: InstanceRow): boolean {
  return inst.state === 'TERMINATING' && inst.interrupt_at === null;
}

export class AgentHub {
  private readonly waiters = new Map<string, () => void>();
  /** heartbeats are written at most every lease.heartbeatWriteMs per instance; polls in between only touch memory */
  private readonly lastBeatWritten = new Map<string, number>();
  private readonly rerunIndex: RerunIndex;

  constructor(private readonly o: AgentHubOptions) {
    this.rerunIndex = new RerunIndex(o.db);
  }

  /** Wake the agent of an instance so it polls its assignments now. */
  notify(instanceId: string): void {
    const wake = this.waiters.get(instanceId);
    if (wake) {
      this.waiters.delete(instanceId);
      wake();
    }
  }

  private closing = false;

  /**
   * Server shutdown: the polls held here are answered now (nothing held, so that the server
   * can close), later ones at once. Agents are not told to stop: they keep their jobs and
   * poll again, here once the server is back or at another server.
   */
  close(): void {
    this.closing = true;
    for (const id of [...this.waiters.keys()]) this.notify(id);
  }

  private async authenticate(req: FastifyRequest, instanceId: unknown): Promise<InstanceRow> {
    if (typeof instanceId !== 'string' || instanceId === '') throw clientError('instanceId is required');
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const inst = await getInstance(this.o.db, instanceId);
    const given = Buffer.from(hashToken(token));
    if (!inst || !token || given.length !== inst.token_hash.length || !timingSafeEqual(given, Buffer.from(inst.token_hash))) {
      throw new BatchError('AccessDeniedException', 403, 'agent token is not valid for this instance');
    }
    if (inst.state === 'TERMINATED') throw new BatchError('AccessDeniedException', 403, `instance ${instanceId} has been terminated`);
    return inst;
  }

  private async heartbeat(inst: InstanceRow): Promise<void> {
    const now = this.o.clock.now();
    if (inst.state === 'LAUNCHING') {
      await updateInstance(this.o.db, inst.id, { state: 'ACTIVE', last_heartbeat_at: now, ready_at: now });
      this.lastBeatWritten.set(inst.id, now);
      this.o.onInstanceActive?.(inst.id);
      return;
    }
    if (now - (this.lastBeatWritten.get(inst.id) ?? 0) >= this.o.lease.heartbeatWriteMs) {
      this.lastBeatWritten.set(inst.id, now);
      await updateInstance(this.o.db, inst.id, { last_heartbeat_at: now });
    }
  }

  /**
   * What the agent says of its instance: one that cannot run jobs (its container engine does
   * not answer, its disk is full) is IMPAIRED and takes no work until it can again, and its
   * compute environment's statusReason says why; each change is logged. Answers the row as it
   * is now.
   */
  private async impairment(inst: InstanceRow, reason: string | null): Promise<InstanceRow> {
    if (inst.state === 'LAUNCHING') inst = { ...inst, state: 'ACTIVE' }; // heartbeat() made it so
    const change = await setImpairment(this.o.db, inst, reason);
    if (change === 'impaired') this.o.logger.warn({ instance: inst.id, ce: inst.ce_name, reason }, 'instance impaired: it takes no work until its agent can run jobs again');
    if (change === 'recovered') this.o.logger.warn({ instance: inst.id, ce: inst.ce_name }, 'instance recovered: it takes work again');
    // A pass places on it again (recovered), and says it in its CE's statusReason either way.
    if (change) this.o.kickScheduler();
    return change ? { ...inst, state: reason ? 'IMPAIRED' : 'ACTIVE', status_reason: reason } : inst;
  }

  /** Attempts to start and to stop for this instance, given what its agent runs. */
  private async reconcile(inst: InstanceRow, running: AttemptRef[], arrivedAt: number, features: readonly AgentFeature[]): Promise<PollResponse> {
    const instanceId = inst.id;
    const active = await activeAttemptsOf(this.o.db, instanceId);
    const key = (r: AttemptRef) => `${r.jobId}#${r.attempt}`;
    const runningKeys = new Set(running.map(key));
    // Terminated while STARTING, before this agent had it (it would list it: waiting, being
    // prepared and running attempts all are): nothing runs, so it ends here, with the caller's
    // reason, and its room is free for the next pass.
    const unreceived = active.filter((a) => a.terminate_reason && a.a_status === 'STARTING' && !runningKeys.has(`${a.job_id}#${a.attempt}`));
    if (unreceived.length) await this.endUnreceived(inst, unreceived);
    const activeByKey = new Map(active.map((a) => [`${a.job_id}#${a.attempt}`, a]));
    const unlisted = active.filter((a) => !runningKeys.has(`${a.job_id}#${a.attempt}`) && !a.terminate_reason);
    const lost = unlisted.filter((a) => a.delivered_at !== null && arrivedAt - Number(a.delivered_at) > DELIVERY_GRACE_MS);
    if (lost.length) await this.endLost(inst, lost);
    // Asked for back (store/withdrawals.ts) and still held: asked again, until the agent gives
    // it back or reports it started.
    const withdraw = active.filter((a) => a.withdraw_at !== null && a.a_status === 'STARTING' && runningKeys.has(`${a.job_id}#${a.attempt}`)).map((a) => ({ jobId: a.job_id, attempt: a.attempt }));
    // Marked first, so that only the assignments this answer carries are built (their secrets resolved).
    const delivered = await markDelivered(this.o.db, instanceId, unlisted.filter((a) => a.delivered_at === null).map((a) => a.job_id), this.o.clock.now());
    const start: Assignment[] = [];
    const setup = delivered.size ? this.o.instanceSetup?.(inst) : undefined;
    const contexts = new Map<string, Promise<AssignmentContext>>();
    for (const a of unlisted) {
      if (!delivered.has(a.job_id)) continue;
      let ctx = contexts.get(a.ce_name);
      if (!ctx) contexts.set(a.ce_name, (ctx = this.o.assignmentContext?.(a.ce_name) ?? Promise.resolve({ executor: 'process' as const })));
      let assignment = buildAssignment(a, this.o.timeDilation, await ctx, inst.provider === 'local');
      if (assignment.containers && !features.includes('tasks')) {
        // An older agent would run the first container alone and call it the task: it gets none of it, secrets included.
        const { containers: _c, orchestration: _o, secretVolumes: _s, ...one } = assignment;
        assignment = { ...one, env: {}, cannotStart: `CannotStartContainerError: the agent of instance ${instanceId} is of an older openbatch that cannot run jobs of several containers (ecsProperties, eksProperties): upgrade it` };
      }
      assignment.terminateGraceMs = this.o.terminateGraceMs;
      if (this.o.logLimitBytes) assignment.logLimitBytes = this.o.logLimitBytes;
      assignment.task = taskFacts(a, instanceId, await ctx);
      if (setup) {
        // The launch template's environment lies under the job's own; its mounts come with it.
        assignment.env = { ...setup.environment, ...assignment.env };
        if (setup.mounts.length) assignment.mounts = setup.mounts;
      }
      const derived = await derivedEnvironment(this.o.db, a, this.rerunIndex, assignment.env);
      Object.assign(assignment.env, derived);
      // A task's containers each get the same: the launch template's under their own, the derived over.
      for (const c of assignment.containers ?? []) c.env = { ...(setup?.environment ?? {}), ...c.env, ...derived };
      start.push(assignment);
    }
    // With work, the agent is told its instance's size: it starts what fits and holds the rest.
    // Only a CE that queues work on its agents (openbatch:prefetch) is placed beyond the room,
    // but the agent guards the size whatever the tag, so that no moment where the scheduler
    // and this server read the tag differently (PostgreSQL's lookup cache) can overcommit it.
    const capacity: PollResponse['capacity'] = start.length ? { vcpus: inst.vcpus, memoryMiB: inst.memory_mib, gpus: inst.gpus } : undefined;
    const stop: PollResponse['stop'] = [];
    for (const r of running) {
      const a = activeByKey.get(key(r));
      if (!a) stop.push({ ...r, graceMs: 0 });
      else if (a.terminate_reason) stop.push({ ...r, graceMs: this.o.terminateGraceMs });
    }
    const lease = { ms: this.o.lease.leaseMs, pollWaitMs: this.o.lease.pollWaitMs };
    const executor = (await this.o.assignmentContext?.(inst.ce_name))?.executor;
    const usage = this.o.usageSampleMs ? { usage: { sampleMs: this.o.usageSampleMs } } : {};
    return { start, stop, shutdown: toShutDown(inst), lease, ...(executor ? { executor } : {}), ...(capacity ? { capacity } : {}), ...(withdraw.length ? { withdraw } : {}), ...usage };
  }

  /** Settles attempts their agent was handed and does not hold (DELIVERY_GRACE_MS): never received ones wait again, RUNNING ones are lost. */
  private async endLost(inst: InstanceRow, attempts: { job_id: string; attempt: number; token: string; a_status: string; withdraw_at: number | null }[]): Promise<void> {
    const ended = await this.o.uow.write(async (tx) => {
      let any = false;
      const now = this.o.clock.now();
      const batch = await AttemptReports.load(tx, attempts.map((a) => a.job_id), now, inst.id);
      for (const a of attempts) {
        // Asked for back, and the agent does not hold it: it never started there, so it waits again.
        if (a.withdraw_at !== null && a.a_status === 'STARTING' && batch.withdrawn(a.job_id, a.attempt, a.token)) {
          any = true;
          continue;
        }
        // Never received: the answer that carried it was lost (a network cut, an agent that
        // restarted between sending its poll and reading the answer). Nothing ran, so nothing
        // failed: the attempt is undone and the job waits again, to be handed out afresh
        // under a new token (this one is dead). An agent lists what it holds, from queued to
        // exited, so an attempt it does not list has not started there.
        if (a.a_status === 'STARTING') {
          any = batch.neverReceived(a.job_id, a.attempt, a.token) || any;
          continue;
        }
        any = (await batch.exited(a.job_id, a.attempt, a.token, { exitCode: null, reason: RUN_LOST, stoppedAt: now })) || any;
      }
      await batch.flush();
      return any;
    });
    if (ended) {
      this.o.logger.warn(
        { instance: inst.id, attempts: attempts.map((a) => `${a.job_id}#${a.attempt}`) },
        'attempts handed to an agent that does not hold them: those it never received wait again, those it ran are lost',
      );
      this.o.kickScheduler();
    }
  }

  /** Ends attempts terminated before their agent received them: FAILED from STARTING, never run. */
  private async endUnreceived(inst: InstanceRow, attempts: { job_id: string; attempt: number; token: string }[]): Promise<void> {
    const ended = await this.o.uow.write(async (tx) => {
      let any = false;
      const now = this.o.clock.now();
      const batch = await AttemptReports.load(tx, attempts.map((a) => a.job_id), now, inst.id);
      for (const a of attempts) any = (await batch.exited(a.job_id, a.attempt, a.token, { exitCode: null, reason: null, stoppedAt: now, neverStarted: true })) || any;
      await batch.flush();
      return any;
    });
    if (ended) this.o.kickScheduler();
  }

  /** Whether the instance's CE may queue work on its agent (openbatch:prefetch not 0). */
  private async queuesWork(inst: InstanceRow): Promise<boolean> {
    const p = (await this.o.assignmentContext?.(inst.ce_name))?.prefetch ?? 0;
    return p === 'auto' || p > 0;
  }

  async poll(req: FastifyRequest): Promise<PollResponse> {
    const body = req.body as PollRequest;
    let inst = await this.authenticate(req, body?.instanceId);
    if (!Array.isArray(body.running)) throw clientError('running must be a list of {jobId, attempt}');
    body.running.forEach((r, i) => checkAttemptRef(r, `running[${i}]`));
    if (body.impaired !== undefined && typeof body.impaired !== 'string') throw clientError('impaired must be a string, or absent');
    if (body.features !== undefined && (!Array.isArray(body.features) || body.features.some((f) => typeof f !== 'string'))) throw clientError('features must be a list of strings, or absent');
    const features = body.features ?? [];
    const arrivedAt = this.o.clock.now();
    await this.heartbeat(inst);
    inst = await this.impairment(inst, body.impaired ? body.impaired.slice(0, 500) : null);
    let res = await this.reconcile(inst, body.running, arrivedAt, features);
    // Held no longer than the lease allows: the heartbeat is written when a poll arrives, and an
    // agent that asks for more (its first poll, before it knows the lease; an older agent) would
    // otherwise go unheard long enough to be declared lost.
    const waitMs = Math.min(Math.max(Number(body.waitMs) || 0, 0), MAX_WAIT_MS, this.o.lease.pollWaitMs);
    if (res.start.length === 0 && res.stop.length === 0 && !res.withdraw && !res.shutdown && waitMs > 0 && !this.closing) {
      await new Promise<void>((resolve) => {
        const timer = this.o.timers.after(waitMs, () => {
          if (this.waiters.get(inst.id) === done) this.waiters.delete(inst.id);
          resolve();
        });
        const done = () => {
          timer.clear();
          resolve();
        };
        // A newer poll from the same agent replaces an older one: wake the old one first.
        this.waiters.get(inst.id)?.();
        this.waiters.set(inst.id, done);
        req.raw.once('close', () => {
          if (this.waiters.get(inst.id) === done) this.waiters.delete(inst.id);
        });
      });
      // What woke the poll may be the instance's own termination: read it again.
      inst = (await getInstance(this.o.db, inst.id)) ?? inst;
      res = await this.reconcile(inst, body.running, arrivedAt, features);
    }
    return res;
  }

  async report(req: FastifyRequest): Promise<ReportResponse> {
    const body = req.body as ReportRequest;
    const inst = await this.authenticate(req, body?.instanceId);
    if (!Array.isArray(body.reports)) throw clientError('reports must be a list');
    body.reports.forEach(checkReport);
    await this.heartbeat(inst);
    const stale: AttemptRef[] = [];
    const staleKeys = new Set<string>();
    let changed = false;
    let oneJobDone = false;
    const apply = async (tx: Tx) => {
      const now = this.o.clock.now();
      const logs: NewLogEvent[] = [];
      const usage: UsageReport[] = [];
      const streams = new Map<string, { group: string; stream: string } | null>();
      const batch = await AttemptReports.load(
        tx,
        body.reports.filter((r) => r.kind !== 'logs' && r.kind !== 'usage').map((r) => r.jobId),
        now,
        inst.id,
      );
      for (const r of body.reports) {
        const key = `${r.jobId}#${r.attempt}`;
        if (staleKeys.has(key)) continue;
        let ok: boolean;
        if (r.kind === 'started') {
          // RUNNING frees no capacity and releases no one: no scheduler pass for it.
          ok = await batch.started(r.jobId, r.attempt, r.token, r.at);
        } else if (r.kind === 'exited') {
          // Stopped by its agent for the host's sake (its lease ran out, it was stopped): lost as
          // on a lost host, with no exit code and that reason (retry rules for lost hosts match
          // it). One whose process never started ends with AWS's "Task failed to start".
          const lost = r.hostLost === true;
          const statusReason = lost ? REASONS.hostTerminated(inst.id) : r.neverStarted ? REASONS.taskFailedToStart : undefined;
          const end = {
            exitCode: lost ? null : r.exitCode,
            reason: r.reason,
            timedOut: r.timedOut,
            stoppedAt: r.at,
            statusReason,
            ...(r.neverStarted && !lost ? { neverStarted: true } : {}),
            ...(r.containers ? { containers: r.containers } : {}),
          };
          ok = await batch.exited(r.jobId, r.attempt, r.token, end);
          changed ||= ok;
          if (ok && r.usage) usage.push({ jobId: r.jobId, attempt: r.attempt, token: r.token, at: r.at, figures: r.usage, final: true });
          // A one-job instance (Fargate task) takes no more work once its job has ended.
          if (ok && this.o.takesOneJob?.(inst)) {
            await markTerminating(tx.db, inst.id);
            oneJobDone = true;
          }
        } else if (r.kind === 'withdrawn') {
          ok = batch.withdrawn(r.jobId, r.attempt, r.token);
          changed ||= ok;
        } else if (r.kind === 'usage') {
          // Fenced where it is recorded (store/attemptUsage.ts); a stale one decides nothing and is dropped.
          usage.push({ jobId: r.jobId, attempt: r.attempt, token: r.token, at: r.at, figures: r.usage, final: false });
          continue;
        } else if (r.kind === 'logs') {
          // Log lines may arrive after the exit report of the same batch: check the token, not the status.
          if (!streams.has(key)) {
            const a = await attemptLogTarget(tx.db, r.jobId, r.attempt);
            streams.set(key, a && a.token === r.token && a.instanceId === inst.id ? { group: a.group, stream: a.stream } : null);
          }
          const stream = streams.get(key);
          ok = stream !== null && stream !== undefined;
          // A task's container writes to its own stream (model/taskSpec.ts).
          const logStream = ok && r.container ? containerLogStream(stream!.stream, r.container) : stream?.stream;
          if (ok) for (const l of r.lines) logs.push({ logGroup: stream!.group, logStream: logStream!, timestamp: l.t, message: l.m });
        } else {
          continue;
        }
        if (!ok) {
          staleKeys.add(key);
          stale.push({ jobId: r.jobId, attempt: r.attempt });
        }
      }
      await batch.flush();
      if (logs.length) await appendLogEvents(tx.db, logs, now);
      if (usage.length) await recordUsage(tx, inst.id, usage);
    };
    // On an instance that queues work on its agent (openbatch:prefetch), a start frees room
    // in that queue as an exit frees capacity: the pass that applies it refills the queue.
    const freesRoom = body.reports.some((r) => r.kind === 'exited' || r.kind === 'withdrawn') || (body.reports.some((r) => r.kind === 'started') && (await this.queuesWork(inst)));
    if (this.o.withNextPass && freesRoom) {
      // Exits free capacity: apply them in the pass that places it again (one commit for both).
      await this.o.withNextPass(apply);
    } else {
      // RUNNING frees nothing (without a queue on the agent) and log lines release no one: no pass for them.
      await this.o.uow.write(apply);
      if (changed) this.o.kickScheduler();
    }
    if (oneJobDone) this.o.onOneJobDone?.(inst.id);
    return { stale };
  }

  routes(app: FastifyInstance): void {
    const json = (req: FastifyRequest) => {
      const raw = req.body as Buffer | undefined;
      const text = raw && raw.length ? raw.toString('utf8') : '';
      // Nothing of the protocol nests deep; a body that does would run validation out of stack.
      req.body = text ? parseBoundedJson(text, clientError, 'agent request body is not valid JSON') : {};
    };
    const limits = { bodyLimit: AGENT_BODY_LIMIT };
    app.post('/agent/v1/poll', limits, async (req) => {
      json(req);
      return this.poll(req);
    });
    app.post('/agent/v1/report', limits, async (req) => {
      json(req);
      return this.report(req);
    });
    app.post('/agent/v1/register', limits, async (req) => {
      json(req);
      if (!this.o.joined) throw clientError('this server does not take joining agents');
      return this.o.joined.register(req.headers.authorization, req.body as RegisterRequest, req.socket.remoteAddress);
    });
    app.post('/agent/v1/leave', limits, async (req) => {
      json(req);
      const inst = await this.authenticate(req, (req.body as { instanceId?: unknown })?.instanceId);
      if (inst.provider === 'joined' && this.o.joined) {
        await this.o.joined.leave(inst);
        return {};
      }
      // A launched instance leaves when its provider terminated it (toShutDown), with the reason recorded then.
      if (!toShutDown(inst)) throw clientError(`instance ${inst.id} is ${inst.state}: a launched instance leaves only when it is terminated`);
      await this.o.uow.write((tx) => closeInstance(tx, inst.id, stopReasonOf(inst), REASONS.hostTerminated(inst.id), this.o.clock.now()));
      this.o.kickScheduler();
      return {};
    });
  }
}
