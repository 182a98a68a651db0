/**
 * What jobs really used, on the wire:
 *
 *   DescribeJobs    the answer's `openbatch:usage` member, beside AWS's `jobs` (never inside
 *                   them): per job id with figures, what each of its attempts used. The AWS
 *                   SDKs, boto3 and the aws CLI read only the members of their model and drop
 *                   it; openbatch's CLI and dashboard read it (docs/compatibility.md).
 *   POST /openbatch/v1/usage   {jobDefinition}: right-sizing advice for a job definition over
 *                   its recent runs (model/usage.ts has the rule).
 */
import { clientError } from '../model/errors.js';
import { resolveJobSpec } from '../model/jobSpec.js';
import { resolveEcsTask, resolveEksPod } from '../model/taskSpec.js';
import {
  ADVICE_RULE,
  adviseRightSizing,
  percentile,
  USAGE_MEMBER,
  type AttemptUsage,
  type AttemptUsageDetail,
  type JobUsageDetail,
  type RunUsage,
  type Spread,
  type UsageAnswer,
} from '../model/usage.js';
import { attemptUsageOf, recentRuns } from '../store/attemptUsage.js';
import type { Db } from '../store/db.js';
import { definitionSpecOf, listJobDefinitions } from '../store/jobDefinitions.js';
import type { AttemptRow, JobRow } from '../store/jobs.js';
import { findJobDefinition } from '../domain/resolve.js';

export { USAGE_MEMBER };
export type { AttemptUsageDetail, JobUsageDetail, UsageAnswer };

const MiB = 1024 * 1024;

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** An attempt's figures as the wire shows them; undefined when nothing was measured. */
export function attemptUsageDetail(a: AttemptRow, u: AttemptUsage | undefined = attemptUsageOf(a)): AttemptUsageDetail | undefined {
  if (!u) return undefined;
  const d: AttemptUsageDetail = {
    attempt: Number(a.attempt),
    status: a.status,
    reserved: { vcpus: a.vcpus === null ? null : Number(a.vcpus), memoryMiB: a.memory_mib === null ? null : Number(a.memory_mib) },
    source: u.source,
    measuredAt: u.at,
  };
  if (u.cpuSeconds !== undefined) {
    d.cpuSeconds = round(u.cpuSeconds, 3);
    const end = a.stopped_at ?? u.at;
    const ranMs = a.started_at === null ? 0 : Number(end) - Number(a.started_at);
    if (ranMs > 0) d.averageVcpus = round(u.cpuSeconds / (ranMs / 1000), 3);
  }
  if (u.peakMemoryBytes !== undefined) d.peakMemoryMiB = round(u.peakMemoryBytes / MiB, 1);
  if (u.memoryBytes !== undefined && a.stopped_at === null) d.currentMemoryMiB = round(u.memoryBytes / MiB, 1);
  if (u.readBytes !== undefined) d.readBytes = u.readBytes;
  if (u.writeBytes !== undefined) d.writeBytes = u.writeBytes;
  return d;
}

/** An attempt's figures with its memory over time ([epoch ms, MiB]), for the dashboard's chart. */
export type AttemptUsageWithSeries = AttemptUsageDetail & { memory: [number, number][] };

/** What each measured attempt of a job used, with its memory over time (GET /openbatch/v1/dashboard/jobs/<id>/usage). */
export function attemptsWithSeries(attempts: readonly AttemptRow[]): AttemptUsageWithSeries[] {
  return attempts.flatMap((a) => {
    const u = attemptUsageOf(a, true);
    const d = attemptUsageDetail(a, u);
    return d ? [{ ...d, memory: (u?.memorySeries ?? []).map(([t, bytes]): [number, number] => [t, round(bytes / MiB, 1)]) }] : [];
  });
}

/** DescribeJobs' `openbatch:usage`: per job id, what its measured attempts used (jobs with none are left out). */
export function usageMember(jobs: readonly JobRow[], attemptsByJob: ReadonlyMap<string, AttemptRow[]>): Record<string, JobUsageDetail> {
  const out: Record<string, JobUsageDetail> = {};
  for (const j of jobs) {
    const attempts = (attemptsByJob.get(j.id) ?? []).flatMap((a) => attemptUsageDetail(a) ?? []);
    if (attempts.length) out[j.id] = { attempts };
  }
  return out;
}

function spread(values: number[]): Spread | undefined {
  if (!values.length) return undefined;
  return { p50: percentile(values, 50)!, p95: percentile(values, 95)!, max: Math.max(...values) };
}

/** POST /openbatch/v1/usage {jobDefinition}: right-sizing advice for a job definition. */
export async function usageOperation(db: Db, input: Record<string, unknown>): Promise<UsageAnswer> {
  const ref = input.jobDefinition;
  if (typeof ref !== 'string' || ref === '') throw clientError('jobDefinition is required: a name, name:revision or ARN');
  const def = await findJobDefinition(db, ref, 'jobDefinition', false);
  if (def.type !== 'container') throw clientError(`jobDefinition '${ref}' is of type ${def.type}: advice is given for container job definitions`);
  const named = ref.includes(':') || ref.startsWith('arn:');
  // A bare name: the latest revision's asks, the runs of every revision (newest first).
  const revisions = named ? [def.arn] : (await listJobDefinitions(db, { name: def.name, limit: 10_000 })).map((d) => d.arn).reverse();
  const spec = definitionSpecOf(def);
  // What each run asks, as SubmitJob resolves it without overrides: a task of several containers asks their total.
  const asked = spec.ecsProperties
    ? resolveEcsTask(spec.ecsProperties, undefined, spec.parameters ?? {})
    : spec.eksProperties
      ? resolveEksPod(spec.eksProperties, undefined)
      : resolveJobSpec({ definitionName: def.name, definitionType: def.type, containerProperties: spec.containerProperties });
  const runs: RunUsage[] = await recentRuns(db, revisions, ADVICE_RULE.window);
  const advice = adviseRightSizing({ vcpus: asked.vcpus, memoryMiB: asked.memoryMiB, fargate: spec.platformCapabilities?.includes('FARGATE') ?? false }, runs);
  const measured = runs.filter((r) => !r.outOfMemory);
  return {
    jobDefinition: def.arn,
    name: def.name,
    revision: def.revision,
    advice,
    rule: ADVICE_RULE,
    spread: {
      vcpus: spread(measured.flatMap((r) => (r.cpuSeconds !== undefined && r.runSeconds > 0 ? [r.cpuSeconds / r.runSeconds] : []))),
      memoryMiB: spread(measured.flatMap((r) => (r.peakMemoryMiB !== undefined ? [r.peakMemoryMiB] : []))),
      runSeconds: spread(measured.map((r) => r.runSeconds)),
    },
  };
}
