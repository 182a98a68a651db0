/**
 * Why is my job not running? One answer per job, made from what the scheduler decided — the
 * wait code its last pass gave the job, the queue's dispatch order, and for a job waiting for
 * capacity the account planScaling recorded with it in the same pass (what its capacity comes
 * from, or which instances hold it) — and from the store (dependencies, what runs on those
 * instances, consumables). Nothing here decides anything; the sentences are explain.ts's.
 *
 * Codes (stable, machine-readable; `summary` says the same for a person, `hint` what to do):
 *   SUBMITTED        not yet looked at by the scheduler (admission is the next pass)
 *   DEPENDENCY       PENDING: waits for the listed dependencies to succeed
 *   ARRAY_CHILDREN   PENDING array parent: its children run; it ends when the last one does
 *   QUEUED           RUNNABLE, beyond the part of the queue a pass looks at: jobs ahead go first
 *   NO_CAPACITY      RUNNABLE: no room now; `capacity` says what it waits for (launching, room
 *                    being made, lower-priority work draining, the host or its CE full of work
 *                    ahead of it, launches held back, its queue's computeReservation)
 *   NEVER_FITS       RUNNABLE: asks more than any instance its CEs can have (the numbers say which)
 *   NO_ENABLED_CE    RUNNABLE: every CE of the queue is disabled or invalid
 *   NO_CONSUMABLE    RUNNABLE: a consumable resource it needs has too few free units
 *   DRAINING         RUNNABLE: the farm is being drained (`openbatch drain`); nothing starts
 *   STARTING         placed; its instance is launching or its process is starting
 *   RUNNING, SUCCEEDED, FAILED   not waiting
 *
 * RUNNABLE jobs also get their position in the queue (1 = next; jobs that never fit are not
 * counted ahead, they hold nothing) and an estimate of when they start, made from what runs
 * and when it should end (explain.ts), or the reason there is none. The estimate is advice,
 * never a promise, and never a reason to fail a job: waiting for capacity carries no
 * statusReason, so jobStateTimeLimitActions never cancel it.
 *
 * A server that does not run the scheduler (a PostgreSQL follower) answers from what the
 * leader's pass recorded with the job, and says so; positions there are by submission.
 */
import { jobKind } from '../model/jobKind.js';
import type { Clock } from '../model/ids.js';
import { REASONS, WAIT_REASONS } from '../model/reasons.js';
import type { Resources } from '../model/resources.js';
import { availableQuantities, getConsumableResource } from '../store/consumableResources.js';
import type { Db } from '../store/db.js';
import { getJob, getJobs, jobSpecOf, usageByInstance, type JobRow, consumablesOf, waitDetailOf } from '../store/jobs.js';
import { liveInstances, providerDataOf } from '../store/instances.js';
import { listComputeEnvironments, computeResourcesOf, ceTagsOf } from '../store/computeEnvironments.js';
import { allJobQueues, ceOrderOf } from '../store/jobQueues.js';
import { getSchedulingPolicyByArn, fairsharePolicyOf } from '../store/schedulingPolicies.js';
import { bootTimes, dependencyEdges, instancesById, jobsOn, lastBootstrapFailure, runnableAhead, runTimes } from '../store/whyReads.js';
import type { CeView } from './schedule.js';
import { explainPending, explainStarting, explainWait, type CeFacts, type Estimate, type InstanceFacts, type WaitDetail } from './explain.js';

export type WhyCode =
  | 'SUBMITTED'
  | 'DEPENDENCY'
  | 'ARRAY_CHILDREN'
  | 'QUEUED'
  | 'NO_CAPACITY'
  | 'NEVER_FITS'
  | 'NO_ENABLED_CE'
  | 'NO_CONSUMABLE'
  | 'DRAINING'
  | 'STARTING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED';

export interface CeCapacity {
  name: string;
  enabled: boolean;
  maxvCpus: number | null;
  /** the largest instance the CE can have (null: unknown, capacity joins from outside) */
  largest: Resources | null;
  /** vCPUs of live instances, and of those still launching (PENDING ones booting included) */
  launchedVcpus: number;
  launchingVcpus: number;
  usedVcpus: number;
  /** the largest room for one job on any live instance */
  freeVcpus: number;
  /** why its instances are held instead of starting (the host cannot sandbox their jobs), if they are */
  held?: string;
  /** what the CE says of itself (a cap, a floor not kept, held instances); absent when healthy */
  statusReason?: string;
}

export interface WhyReport {
  jobId: string;
  jobName: string;
  status: string;
  queue: string;
  code: WhyCode;
  /** one line for a person */
  summary: string;
  /** what a person can do about it, where something can be done */
  hint?: string;
  statusReason: string | null;
  /** since when the job waits for this reason (epoch ms) */
  since: number | null;
  /** RUNNABLE: 1 = the next job of its queue to be considered */
  position?: number;
  jobsAhead?: number;
  /** when it should start, and what that comes from */
  eta?: Estimate;
  /** why there is no estimate */
  noEta?: string;
  /** NO_CAPACITY: what the last pass's scaling plan recorded (what its capacity comes from, or what holds it) */
  capacity?: WaitDetail;
  need?: Resources & { nodes?: number };
  dependencies?: { jobId: string; status: string | null; type: string | null }[];
  computeEnvironments?: CeCapacity[];
  /** each consumable the job needs: units needed, free now, and the resource's totalQuantity (absent: no such resource) */
  consumables?: { name: string; needed: number; available: number; total?: number }[];
  instance?: { id: string; state: string } | null;
}

export interface WhyOptions {
  db: Db;
  clock: Clock;
  /** the last pass's order of a queue's waiting jobs (undefined where this server runs no pass) */
  waitingIn(queue: string): { jobId: string; code: string }[] | undefined;
  /** a CE as the last pass saw it */
  ceView(name: string): CeView | undefined;
  /** this server runs the scheduler (false: a PostgreSQL follower, answering from what the leader recorded) */
  leading: boolean;
  /** the host's vCPUs, where this server leads the local instances */
  hostVcpus?: number;
  /** attempt timeouts run this many times faster (ServerConfig.timeDilation) */
  timeDilation: number;
}

/** How far back finished jobs and boots tell how long the next ones take. */
const HISTORY_MS = 24 * 3_600_000;

export async function explainJob(o: WhyOptions, jobId: string): Promise<WhyReport | undefined> {
  const job = await getJob(o.db, jobId);
  if (!job) return undefined;
  const base = {
    jobId: job.id,
    jobName: job.name,
    status: job.status,
    queue: job.queue,
    statusReason: job.status_reason,
    since: job.wait_since,
  };
  switch (job.status) {
    case 'SUBMITTED':
      return { ...base, code: 'SUBMITTED', summary: 'submitted; the scheduler admits it at its next pass' };
    case 'PENDING':
      return pending(o, job, base);
    case 'RUNNABLE':
      if (jobKind(job) === 'node') {
        // A node waits with its gang: the parent is what the scheduler places.
        const gang = await explainJob(o, job.parent_id!);
        if (gang) return { ...gang, ...base, summary: `node ${job.node_index} of multi-node job ${job.parent_id}, which waits: ${gang.summary}` };
      }
      return runnable(o, job, base);
    case 'STARTING': {
      const { instances, typical } = job.instance_id ? await instanceFacts(o, [job.instance_id], job.definition_arn, new Map((await allJobQueues(o.db)).map((q) => [q.name, q.priority])), o.clock.now()) : { instances: new Map<string, InstanceFacts>(), typical: new Map<string, number>() };
      const inst = job.instance_id ? instances.get(job.instance_id) : undefined;
      const e = explainStarting({
        now: o.clock.now(),
        jobId: job.id,
        vcpus: job.vcpus,
        placedAt: job.updated_at,
        instance: inst,
        terminateReason: job.terminate_reason,
        typicalRunMs: typical.get(job.definition_arn),
      });
      return { ...base, code: 'STARTING', instance: inst ? { id: inst.id, state: inst.state } : null, summary: e.summary, hint: e.hint, eta: e.eta, noEta: e.noEta };
    }
    default:
      return { ...base, code: job.status as WhyCode, summary: job.status === 'RUNNING' ? 'running' : `finished: ${job.status}${job.status_reason ? ` (${job.status_reason})` : ''}` };
  }
}

async function pending(o: WhyOptions, job: JobRow, base: Omit<WhyReport, 'code' | 'summary'>): Promise<WhyReport> {
  const edges = await dependencyEdges(o.db, job.id);
  const status = new Map((await getJobs(o.db, edges.map((e) => e.dependsOnId))).map((j) => [j.id, j.status]));
  const waiting = edges
    .map((e) => ({ jobId: e.dependsOnId, status: status.get(e.dependsOnId) ?? null, type: e.type }))
    .filter((d) => d.status !== 'SUCCEEDED' && !(d.type === 'N_TO_N' && jobKind(job) !== 'arrayChild'));
  const array = jobKind(job) === 'arrayParent' ? { size: job.array_size!, finished: (job.array_succeeded ?? 0) + (job.array_failed ?? 0) } : undefined;
  const e = explainPending({ queue: job.queue, dependencies: waiting, array: waiting.length ? undefined : array });
  return { ...base, code: waiting.length || !array ? 'DEPENDENCY' : 'ARRAY_CHILDREN', dependencies: waiting.length || !array ? waiting : undefined, summary: e.summary, hint: e.hint };
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function runnable(o: WhyOptions, job: JobRow, base: Omit<WhyReport, 'code' | 'summary'>): Promise<WhyReport> {
  const now = o.clock.now();
  const queues = await allJobQueues(o.db);
  const queue = queues.find((q) => q.name === job.queue);
  const priorities = new Map(queues.map((q) => [q.name, q.priority]));
  const ceNames = (queue ? ceOrderOf(queue) : []).map((c) => c.computeEnvironment);
  const gang = jobSpecOf(job).gang;
  const need = { vcpus: job.vcpus, memoryMiB: job.memory_mib, gpus: job.gpus, nodes: gang?.numNodes };
  const perUnit = gang ? largestNode(gang.groups.map((g) => g.spec)) : { vcpus: job.vcpus, memoryMiB: job.memory_mib, gpus: job.gpus };

  // Position: the last pass's order where the job was in it; else its place by submission.
  // Jobs that can never fit are not ahead of anyone: they take no capacity.
  const order = o.waitingIn(job.queue)?.filter((w) => w.code !== 'NEVER_FITS' || w.jobId === job.id);
  let position = order ? order.findIndex((w) => w.jobId === job.id) + 1 : 0;
  const positionBy = position ? ('pass' as const) : ('submission' as const);
  if (position === 0) position = (await runnableAhead(o.db, job)) + 1;
  const code = (job.wait_code as WhyCode | null) ?? 'QUEUED';
  const ces = await capacity(o, ceNames);
  const report: WhyReport = { ...base, code, position, jobsAhead: position - 1, need, computeEnvironments: ces, summary: '' };

  const detail = code === 'NO_CAPACITY' && job.wait_detail ? waitDetailOf<WaitDetail>(job) : undefined;
  if (detail) report.capacity = detail;
  // The instances the account names, what runs on them, and how long such work took lately.
  const holderIds = detail && detail.waitFor !== 'RESERVED' ? detail.holders.map((h) => h.instanceId) : [];
  const since = now - HISTORY_MS;
  const { instances, typical } = await instanceFacts(o, holderIds, job.definition_arn, priorities, now);
  const policy = queue?.scheduling_policy_arn ? fairsharePolicyOf(await getSchedulingPolicyByArn(o.db, queue.scheduling_policy_arn)) : undefined;
  if (code === 'NO_CONSUMABLE') {
    const free = await availableQuantities(o.db);
    const needs = consumablesOf(job);
    const totals = new Map(await Promise.all(needs.map(async (c) => [c.name, (await getConsumableResource(o.db, c.name))?.total_quantity] as const)));
    report.consumables = needs.map((c) => {
      const total = totals.get(c.name);
      return { name: c.name, needed: c.quantity, available: free.get(c.name) ?? 0, total: total === undefined || total === null ? undefined : Number(total) };
    });
  }
  const ceFacts: CeFacts[] = ces.map((c) => ({
    name: c.name,
    enabled: c.enabled,
    kind: c.kind,
    minvCpus: c.minvCpus,
    maxvCpus: c.maxvCpus ?? undefined,
    statusReason: c.statusReason,
    largest: c.largest,
    instances: c.instances,
    vcpus: c.launchedVcpus,
    usedVcpus: c.usedVcpus,
  }));
  const boots = await bootTimes(o.db, since);
  const explained = explainWait({
    now,
    code,
    need: perUnit,
    nodes: gang?.numNodes,
    typicalRunMs: typical.get(job.definition_arn),
    queue: { name: job.queue, priority: queue?.priority ?? 0, fairShare: policy ? { computeReservation: policy.computeReservation } : undefined },
    position,
    positionBy,
    ces: ceFacts,
    detail,
    instances,
    typicalBootMs: median(boots),
    hostVcpus: o.leading ? o.hostVcpus : undefined,
    bootstrapFailure: detail?.waitFor === 'HELD_BACK' && !detail.reason ? await lastBootstrapFailure(o.db, detail.ceName, since) : undefined,
    consumables: report.consumables,
    follower: !o.leading,
  });
  report.summary = explained.summary;
  if (explained.hint) report.hint = explained.hint;
  if (explained.eta) report.eta = explained.eta;
  if (explained.noEta) report.noEta = explained.noEta;
  if (code === 'NEVER_FITS') {
    report.statusReason = job.status_reason ?? WAIT_REASONS.neverFits;
    // It holds no place in the queue (nothing it waits for will come), as `why --queue` shows.
    delete report.position;
    delete report.jobsAhead;
  }
  return report;
}

function largestNode(specs: { vcpus: number; memoryMiB: number; gpus: number }[]): Resources {
  return specs.reduce((a, s) => ({ vcpus: Math.max(a.vcpus, s.vcpus), memoryMiB: Math.max(a.memoryMiB, s.memoryMiB), gpus: Math.max(a.gpus, s.gpus) }), { vcpus: 0, memoryMiB: 0, gpus: 0 });
}

/**
 * The instances named, as they are now, each with the jobs STARTING or RUNNING on it and when
 * each should end (its definition's usual run time lately, else its attempt timeout); and the
 * usual run times by definition (`own`'s among them).
 */
async function instanceFacts(o: WhyOptions, ids: string[], own: string, priorities: Map<string, number>, now: number): Promise<{ instances: Map<string, InstanceFacts>; typical: Map<string, number> }> {
  const [rows, running] = await Promise.all([instancesById(o.db, ids), jobsOn(o.db, ids)]);
  const runs = await runTimes(o.db, [...new Set([own, ...running.map((r) => r.definitionArn)])], now - HISTORY_MS);
  const typical = new Map([...runs].map(([arn, ms]) => [arn, median(ms)!]));
  const instances = new Map<string, InstanceFacts>(
    rows.map((i) => [
      i.id,
      {
        id: i.id,
        ceName: i.ce_name,
        type: i.instance_type,
        state: i.state,
        vcpus: Number(i.vcpus),
        launchedAt: Number(i.launched_at),
        running: running
          .filter((r) => r.instanceId === i.id)
          .map((r) => {
            const usual = typical.get(r.definitionArn);
            const timeout = r.timeoutSeconds !== null ? (r.timeoutSeconds * 1000) / o.timeDilation : undefined;
            const expected = usual ?? timeout;
            return {
              jobId: r.jobId,
              status: r.status,
              queue: r.queue,
              priority: priorities.get(r.queue) ?? 0,
              vcpus: r.vcpus,
              since: r.since,
              expectedEnd: expected === undefined ? undefined : r.since + expected,
              endBasis: usual !== undefined ? ('history' as const) : timeout !== undefined ? ('timeout' as const) : undefined,
            };
          }),
      },
    ]),
  );
  return { instances, typical };
}

/** The queue's compute environments as they are now: what each has, uses and says. */
async function capacity(o: WhyOptions, names: string[]): Promise<(CeCapacity & { kind: string; minvCpus?: number; instances: number })[]> {
  const ces = names.length ? await listComputeEnvironments(o.db, { names, limit: names.length }) : [];
  const instances = (await liveInstances(o.db)).filter((i) => names.includes(i.ce_name));
  const usage = await usageByInstance(o.db);
  return names
    .map((n) => ces.find((c) => c.name === n))
    .filter((c) => !!c)
    .map((ce) => {
      const mine = instances.filter((i) => i.ce_name === ce.name && (i.state === 'LAUNCHING' || i.state === 'ACTIVE'));
      // PENDING: still booting (a bootstrap script, a slow start), so launching too, but no room yet.
      const pending = instances.filter((i) => i.ce_name === ce.name && i.state === 'PENDING');
      // Held for the sandbox: not booting, and nothing comes of them until the host changes.
      const held = pending.map((i) => providerDataOf<{ heldFor: string }>(i).heldFor).find((h) => h !== undefined);
      const booting = pending.filter((i) => providerDataOf<{ heldFor: string }>(i).heldFor === undefined);
      const used = mine.reduce((n, i) => n + (usage.get(i.id)?.vcpus ?? 0), 0);
      const cr = computeResourcesOf(ce);
      const tags = ceTagsOf(ce);
      return {
        name: ce.name,
        enabled: ce.state === 'ENABLED' && ce.status === 'VALID',
        kind: ce.type === 'UNMANAGED' ? (tags['openbatch:provider'] ?? 'UNMANAGED') : (cr?.type ?? 'EC2'),
        minvCpus: cr?.minvCpus,
        maxvCpus: cr?.maxvCpus ?? null,
        largest: o.ceView(ce.name)?.largest ?? null,
        instances: mine.length + pending.length,
        launchedVcpus: [...mine, ...booting].reduce((n, i) => n + i.vcpus, 0),
        launchingVcpus: [...mine.filter((i) => i.state === 'LAUNCHING'), ...booting].reduce((n, i) => n + i.vcpus, 0),
        usedVcpus: used,
        freeVcpus: Math.max(0, ...mine.map((i) => i.vcpus - (usage.get(i.id)?.vcpus ?? 0))),
        ...(held ? { held } : {}),
        statusReason: ce.status_reason && ce.status_reason !== REASONS.healthy ? ce.status_reason : undefined,
      };
    });
}

/** The waiting jobs of a queue as the last pass saw them (first `limit`), each with its code and position. */
export async function explainQueue(o: WhyOptions, queue: string, limit = 100): Promise<{ jobId: string; jobName: string; code: string; position: number; statusReason: string | null }[]> {
  const order = (o.waitingIn(queue) ?? []).slice(0, limit);
  const rows = new Map((await getJobs(o.db, order.map((w) => w.jobId))).filter((j) => j.status === 'RUNNABLE').map((j) => [j.id, j]));
  let position = 0;
  const out = [];
  for (const w of order) {
    const j = rows.get(w.jobId);
    if (!j) continue;
    if (w.code !== 'NEVER_FITS') position++;
    out.push({ jobId: j.id, jobName: j.name, code: w.code, position: w.code === 'NEVER_FITS' ? 0 : position, statusReason: j.status_reason });
  }
  return out;
}
