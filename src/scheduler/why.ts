/**
 * Why is my job not running? One answer per job, built from what the scheduler decided (the
 * wait code its last pass gave the job, the queue's dispatch order) and from the store (the
 * dependencies, the compute environments' capacity, the consumables).
 *
 * Codes (stable, machine-readable; `summary` says the same for a person):
 *   SUBMITTED        not yet looked at by the scheduler (admission is the next pass)
 *   DEPENDENCY       PENDING: waits for the listed dependencies to succeed
 *   ARRAY_CHILDREN   PENDING array parent: its children run; it ends when the last one does
 *   QUEUED           RUNNABLE, beyond the part of the queue a pass looks at: jobs ahead go first
 *   NO_CAPACITY      RUNNABLE: no room now in the queue's CEs; capacity may come (scale-up, jobs ending)
 *   NEVER_FITS       RUNNABLE: asks more than any instance its CEs can have (the numbers say which)
 *   NO_ENABLED_CE    RUNNABLE: every CE of the queue is disabled or invalid
 *   NO_CONSUMABLE    RUNNABLE: a consumable resource it needs has too few free units
 *   DRAINING         RUNNABLE: the farm is being drained (`openbatch drain`); nothing starts
 *   STARTING         placed; its instance is launching or its process is starting
 *   RUNNING, SUCCEEDED, FAILED   not waiting
 *
 * RUNNABLE jobs also get their position in the queue (1 = next; jobs that never fit are not
 * counted ahead, they hold nothing) and, where one applies, an
 * estimate of when they start: from the queue's recent start rate (jobs ahead ÷ starts per
 * second), or, when nothing started lately but instances are launching for the queue's CEs,
 * from how long recent instances took from launch to their first job. The estimate is
 * advice, never a promise, and never a reason to fail a job: waiting for capacity carries no
 * statusReason, so jobStateTimeLimitActions never cancel it.
 */
import type { ComputeResource } from '@aws-sdk/client-batch';
import type { Clock } from '../model/ids.js';
import { WAIT_REASONS } from '../model/reasons.js';
import { availableQuantities } from '../store/consumableResources.js';
import type { Db } from '../store/db.js';
import { getJob, getJobs, jobSpecOf, usageByInstance, type JobRow } from '../store/jobs.js';
import { fromJson } from '../store/json.js';
import { getInstance, liveInstances } from '../store/instances.js';
import { listComputeEnvironments } from '../store/computeEnvironments.js';
import { getJobQueue } from '../store/jobQueues.js';
import { dependencyEdges, launchToFirstJob, runnableAhead, startsSince } from '../store/whyReads.js';
import type { CeView } from './schedule.js';
import type { Resources } from '../model/resources.js';

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
}

export interface WhyReport {
  jobId: string;
  jobName: string;
  status: string;
  queue: string;
  code: WhyCode;
  /** one line for a person */
  summary: string;
  statusReason: string | null;
  /** since when the job waits for this reason (epoch ms) */
  since: number | null;
  /** RUNNABLE: 1 = the next job of its queue to be considered */
  position?: number;
  jobsAhead?: number;
  eta?: { at: number; basis: 'throughput' | 'scale-up'; detail: string };
  need?: Resources & { nodes?: number };
  dependencies?: { jobId: string; status: string | null; type: string | null }[];
  computeEnvironments?: CeCapacity[];
  consumables?: { name: string; needed: number; available: number }[];
  instance?: { id: string; state: string } | null;
}

export interface WhyOptions {
  db: Db;
  clock: Clock;
  /** the last pass's order of a queue's waiting jobs */
  waitingIn(queue: string): { jobId: string; code: string }[] | undefined;
  /** a CE as the last pass saw it */
  ceView(name: string): CeView | undefined;
}

/** Starts of the queue's jobs in this window, over the time they span, give its start rate. */
const THROUGHPUT_WINDOW_MS = 10 * 60_000;

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
      if (job.node_index !== null) {
        // A node waits with its gang: the parent is what the scheduler places.
        const gang = await explainJob(o, job.parent_id!);
        if (gang) return { ...gang, ...base, summary: `node ${job.node_index} of multi-node job ${job.parent_id}, which waits: ${gang.summary}` };
      }
      return runnable(o, job, base);
    case 'STARTING': {
      const row = job.instance_id ? await getInstance(o.db, job.instance_id) : undefined;
      const inst = row ? { id: row.id, state: row.state } : undefined;
      const launching = inst?.state === 'LAUNCHING';
      return {
        ...base,
        code: 'STARTING',
        instance: inst ?? null,
        summary: launching ? `placed on instance ${inst!.id}, which is still launching` : `placed on instance ${job.instance_id ?? '?'}; its process is starting`,
      };
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
    .filter((d) => d.status !== 'SUCCEEDED' && !(d.type === 'N_TO_N' && job.parent_id === null));
  if (waiting.length) {
    const shown = waiting.slice(0, 3).map((d) => `${d.jobId} (${d.status ?? 'not created yet'})`).join(', ');
    return { ...base, code: 'DEPENDENCY', dependencies: waiting, summary: `waiting on ${waiting.length === 1 ? 'dependency' : `${waiting.length} dependencies`}: ${shown}${waiting.length > 3 ? ', …' : ''}` };
  }
  if (job.array_size !== null && job.parent_id === null) {
    const done = (job.array_succeeded ?? 0) + (job.array_failed ?? 0);
    return { ...base, code: 'ARRAY_CHILDREN', summary: `array job: ${done} of ${job.array_size} children finished; it ends when the last one does` };
  }
  return { ...base, code: 'DEPENDENCY', dependencies: [], summary: 'waiting for its dependencies to be counted (next scheduler pass)' };
}

async function runnable(o: WhyOptions, job: JobRow, base: Omit<WhyReport, 'code' | 'summary'>): Promise<WhyReport> {
  const now = o.clock.now();
  const queue = await getJobQueue(o.db, job.queue);
  const ceNames = fromJson<{ computeEnvironment: string }[]>(queue?.ce_order, []).map((c) => c.computeEnvironment);
  const gang = jobSpecOf(job).gang;
  const need = { vcpus: job.vcpus, memoryMiB: job.memory_mib, gpus: job.gpus, nodes: gang?.numNodes };
  const perUnit = gang ? largestNode(gang.groups.map((g) => g.spec)) : need;

  // Position: the last pass's order where the job was in it; else its place by submission.
  // Jobs that can never fit are not ahead of anyone: they take no capacity.
  const order = o.waitingIn(job.queue)?.filter((w) => w.code !== 'NEVER_FITS' || w.jobId === job.id);
  let position = order ? order.findIndex((w) => w.jobId === job.id) + 1 : 0;
  if (position === 0) position = (await runnableAhead(o.db, job)) + 1;
  const code = (job.wait_code as WhyCode | null) ?? 'QUEUED';
  const ces = await capacity(o, ceNames);
  const report: WhyReport = { ...base, code, position, jobsAhead: position - 1, need, computeEnvironments: ces, summary: '' };
  const ahead = position - 1 === 1 ? '1 job ahead' : `${position - 1} jobs ahead`;
  const needText = `${fmt(perUnit.vcpus)} vCPU, ${perUnit.memoryMiB} MiB${perUnit.gpus ? `, ${perUnit.gpus} GPU` : ''}${gang ? ` per node × ${gang.numNodes} nodes` : ''}`;

  switch (code) {
    case 'NEVER_FITS': {
      const limits = ces
        .filter((c) => c.enabled)
        .map((c) => `CE ${c.name}: largest instance ${c.largest ? `${fmt(c.largest.vcpus)} vCPU, ${c.largest.memoryMiB} MiB, ${c.largest.gpus} GPU` : 'unknown'}${c.maxvCpus !== null ? `, maxvCpus ${c.maxvCpus}` : ''}`);
      report.summary = `never fits: asks ${needText}, more than its queue's compute environments can ever have (${limits.join('; ') || 'no enabled CE'})`;
      report.statusReason = job.status_reason ?? WAIT_REASONS.neverFits;
      // It holds no place in the queue (nothing it waits for will come), as `why --queue` shows.
      delete report.position;
      delete report.jobsAhead;
      return report;
    }
    case 'DRAINING':
      report.summary = `the farm is being drained (openbatch drain): no job starts until \`openbatch drain --resume\`; ${ahead}`;
      return report;
    case 'NO_ENABLED_CE':
      report.summary = `no enabled compute environment: ${ces.map((c) => `${c.name} is ${c.enabled ? 'enabled' : 'disabled or invalid'}`).join(', ') || 'the queue has none'}`;
      return report;
    case 'NO_CONSUMABLE': {
      const free = await availableQuantities(o.db);
      const needs = job.consumables ? fromJson<{ name: string; quantity: number }[]>(job.consumables, []) : [];
      report.consumables = needs.map((c) => ({ name: c.name, needed: c.quantity, available: free.get(c.name) ?? 0 }));
      const short = report.consumables.filter((c) => c.available < c.needed);
      report.summary = `blocked by consumable ${short.map((c) => `${c.name} (needs ${c.needed}, ${c.available} available)`).join(', ') || 'resources'}; ${ahead}`;
      return report;
    }
    default: {
      const shown = ces.filter((c) => c.enabled);
      const cap = shown.map((c) => `CE ${c.name} ${fmt(c.usedVcpus)} of ${fmt(c.launchedVcpus)} vCPUs in use${c.maxvCpus !== null ? ` (max ${c.maxvCpus})` : ''}${c.launchingVcpus ? `, ${fmt(c.launchingVcpus)} vCPUs launching` : ''}${c.held ? `, its instances held: ${c.held}` : ''}`);
      report.summary = `${code === 'QUEUED' ? 'queued' : 'waiting for capacity'}: ${cap.join('; ') || 'no capacity'}; ${ahead}; needs ${needText}`;
      report.eta = await estimate(o, job.queue, position, shown, now);
      return report;
    }
  }
}

function largestNode(specs: { vcpus: number; memoryMiB: number; gpus: number }[]): Resources {
  return specs.reduce((a, s) => ({ vcpus: Math.max(a.vcpus, s.vcpus), memoryMiB: Math.max(a.memoryMiB, s.memoryMiB), gpus: Math.max(a.gpus, s.gpus) }), { vcpus: 0, memoryMiB: 0, gpus: 0 });
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

async function capacity(o: WhyOptions, names: string[]): Promise<CeCapacity[]> {
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
      const held = pending.map((i) => fromJson<{ heldFor?: string }>(i.provider_data, {}).heldFor).find((h) => h !== undefined);
      const booting = pending.filter((i) => fromJson<{ heldFor?: string }>(i.provider_data, {}).heldFor === undefined);
      const used = mine.reduce((n, i) => n + (usage.get(i.id)?.vcpus ?? 0), 0);
      const cr = fromJson<ComputeResource | null>(ce.compute_resources, null);
      return {
        name: ce.name,
        enabled: ce.state === 'ENABLED' && ce.status === 'VALID',
        maxvCpus: cr?.maxvCpus ?? null,
        largest: o.ceView(ce.name)?.largest ?? null,
        launchedVcpus: [...mine, ...booting].reduce((n, i) => n + i.vcpus, 0),
        launchingVcpus: [...mine.filter((i) => i.state === 'LAUNCHING'), ...booting].reduce((n, i) => n + i.vcpus, 0),
        usedVcpus: used,
        freeVcpus: Math.max(0, ...mine.map((i) => i.vcpus - (usage.get(i.id)?.vcpus ?? 0))),
        ...(held ? { held } : {}),
      };
    });
}

/** See the file comment: throughput first, else the scale-up in progress. */
async function estimate(o: WhyOptions, queue: string, position: number, ces: CeCapacity[], now: number): Promise<WhyReport['eta']> {
  const { starts, oldest } = await startsSince(o.db, queue, now - THROUGHPUT_WINDOW_MS);
  if (starts > 0) {
    // Over the part of the window that saw starts (a queue busy for one minute has a minute's rate), at least 10 s.
    const spanMs = Math.max(now - (oldest ?? now), 10_000);
    const perSecond = starts / (spanMs / 1000);
    return {
      at: Math.round(now + (position / perSecond) * 1000),
      basis: 'throughput',
      detail: `${starts} jobs of this queue started in the last ${Math.round(spanMs / 1000)} s (${(perSecond * 60).toFixed(1)}/min)`,
    };
  }
  const launching = ces.reduce((n, c) => n + c.launchingVcpus, 0);
  if (launching > 0) {
    // How long recent instances took from launch to their first started job.
    const waits = (await launchToFirstJob(o.db, now - 3_600_000)).filter((w) => w >= 0);
    const typical = waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : 5_000;
    return {
      at: Math.round(now + typical),
      basis: 'scale-up',
      detail: `${fmt(launching)} vCPUs are launching; instances took ${(typical / 1000).toFixed(1)} s from launch to their first job${waits.length ? '' : ' (no recent launch seen: a guess)'}`,
    };
  }
  return undefined;
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
