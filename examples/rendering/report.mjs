#!/usr/bin/env node
// The run report of one render: frames, retries, Spot interruptions, the makespan, and the
// ideal makespan beside it.
//
//   node examples/rendering/report.mjs <render array job id> [--endpoint URL] [--json]
//
// Everything comes from the AWS Batch API (DescribeJobs, ListJobs, DescribeJobQueues,
// DescribeComputeEnvironments) and the jobs' logs (CloudWatch Logs GetLogEvents), so it reads
// any openbatch server — or AWS Batch.
//
//   makespan  from the render array's submission to the stitch job's end
//   work      the vCPU-seconds of the attempts that succeeded (wall time × vCPUs), frames and
//             stitch; what interrupted attempts ran is counted apart, as lost work
//   ideal     work / the vCPUs of the queue's compute environments: the makespan if the
//             cores were never idle and nothing were lost (a lower bound: the stitch cannot
//             start before the last frame, so the real bound is a little higher)
//   CPU       the CPU-seconds the succeeded attempts' programs used, as each job measured and
//             logged them ("cpu 0.52 s", pipeline.yaml), and the ideal makespan from them:
//             CPU-seconds / vCPUs. On a host that runs nothing else it is close to the ideal
//             above; on a shared one the jobs wait for the CPU, their wall time grows and the
//             work with it, but their CPU-seconds do not
// The SDK warns on every run that its 2027 releases will want Node 22; this example runs on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
import { pathToFileURL } from 'node:url';
import { BatchClient, DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand, DescribeJobsCommand, ListJobsCommand } from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';

/** vCPUs a job asked for (resourceRequirements, else the legacy vcpus field). */
function vcpusOf(job) {
  const r = job.container?.resourceRequirements?.find((x) => x.type === 'VCPU');
  return Number(r?.value ?? job.container?.vcpus ?? 1);
}

async function describe(client, ids) {
  const out = [];
  for (let i = 0; i < ids.length; i += 100) {
    const res = await client.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }));
    out.push(...(res.jobs ?? []));
  }
  return out;
}

/** The job that depends on the array job (the stitch), found among its queue's jobs by name prefix. */
async function stitchOf(client, array) {
  const ids = [];
  let nextToken;
  do {
    const res = await client.send(new ListJobsCommand({ jobQueue: array.jobQueue.split('/').pop(), filters: [{ name: 'JOB_NAME', values: [`${array.jobName}*`] }], nextToken }));
    ids.push(...(res.jobSummaryList ?? []).map((j) => j.jobId).filter((id) => id !== array.jobId));
    nextToken = res.nextToken;
  } while (nextToken);
  return (await describe(client, ids)).find((j) => (j.dependsOn ?? []).some((d) => d.jobId === array.jobId));
}

async function coresOf(client, queueArn) {
  const q = (await client.send(new DescribeJobQueuesCommand({ jobQueues: [queueArn] }))).jobQueues?.[0];
  const ces = (q?.computeEnvironmentOrder ?? []).map((o) => o.computeEnvironment);
  if (!ces.length) return 0;
  const res = await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ces }));
  return (res.computeEnvironments ?? []).reduce((n, ce) => n + (ce.computeResources?.maxvCpus ?? 0), 0);
}

const INTERRUPTED = /^Host EC2 .* terminated/;
const CPU = /\(.*\bcpu (\d+(?:\.\d+)?) s\)\s*$/;

/** The CPU-seconds a succeeded job logged ("… cpu 0.52 s)"), or undefined when it logged none. */
async function cpuOf(logs, job) {
  if (job?.status !== 'SUCCEEDED') return undefined;
  const stream = job.container?.logStreamName ?? job.attempts?.at(-1)?.container?.logStreamName;
  if (!stream) return undefined;
  const group = job.container?.logConfiguration?.options?.['awslogs-group'] ?? '/aws/batch/job';
  let nextToken;
  let cpu;
  for (let page = 0; page < 20; page++) {
    let res;
    try {
      res = await logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, startFromHead: true, nextToken }));
    } catch {
      return undefined;
    }
    for (const e of res.events ?? []) {
      const m = CPU.exec(e.message ?? '');
      if (m) cpu = Number(m[1]);
    }
    if (!res.events?.length || res.nextForwardToken === nextToken) break;
    nextToken = res.nextForwardToken;
  }
  return cpu;
}

/** The sum of the jobs' logged CPU-seconds, read a few streams at a time; undefined if one is missing. */
async function cpuSecondsOf(logs, jobs) {
  const found = [];
  for (let i = 0; i < jobs.length; i += 8) found.push(...(await Promise.all(jobs.slice(i, i + 8).map((j) => cpuOf(logs, j)))));
  return found.length && found.every((x) => x !== undefined) ? found.reduce((a, b) => a + b, 0) : undefined;
}

/** Adds a job's attempts to the tally: retries, interruptions, work done and lost. */
function tally(t, job) {
  const attempts = job.attempts ?? [];
  const v = vcpusOf(job);
  t.retries += Math.max(0, attempts.length - 1);
  attempts.forEach((a, k) => {
    const seconds = a.startedAt && a.stoppedAt ? ((a.stoppedAt - a.startedAt) / 1000) * v : 0;
    const last = k === attempts.length - 1 && job.status === 'SUCCEEDED';
    if (INTERRUPTED.test(a.statusReason ?? '')) t.interruptions++;
    if (last) t.workSeconds += seconds;
    else t.lostSeconds += seconds;
  });
}

/**
 * @param client a BatchClient
 * @param logs a CloudWatchLogsClient of the same endpoint, for the jobs' CPU-seconds (optional)
 */
export async function renderReport(client, arrayJobId, logs) {
  const [array] = await describe(client, [arrayJobId]);
  if (!array) throw new Error(`no job ${arrayJobId}`);
  const size = array.arrayProperties?.size ?? 0;
  const children = await describe(client, Array.from({ length: size }, (_, i) => `${arrayJobId}:${i}`));
  const stitch = await stitchOf(client, array);
  const t = { retries: 0, interruptions: 0, workSeconds: 0, lostSeconds: 0 };
  for (const c of children) tally(t, c);
  if (stitch) tally(t, stitch);
  const cores = await coresOf(client, array.jobQueue);
  const end = stitch?.stoppedAt ?? array.stoppedAt;
  const makespanSeconds = end ? (end - array.createdAt) / 1000 : undefined;
  const idealSeconds = cores ? t.workSeconds / cores : undefined;
  const cpuSeconds = logs ? await cpuSecondsOf(logs, [...children, ...(stitch ? [stitch] : [])]) : undefined;
  const idealCpuSeconds = cores && cpuSeconds !== undefined ? cpuSeconds / cores : undefined;
  return {
    arrayJobId,
    jobName: array.jobName,
    status: array.status,
    stitchJobId: stitch?.jobId,
    stitchStatus: stitch?.status,
    frames: size,
    framesSucceeded: children.filter((c) => c.status === 'SUCCEEDED').length,
    retries: t.retries,
    interruptions: t.interruptions,
    cores,
    workSeconds: round(t.workSeconds),
    lostSeconds: round(t.lostSeconds),
    makespanSeconds: makespanSeconds === undefined ? undefined : round(makespanSeconds),
    idealSeconds: idealSeconds === undefined ? undefined : round(idealSeconds),
    efficiency: makespanSeconds && idealSeconds ? round(idealSeconds / makespanSeconds) : undefined,
    cpuSeconds: cpuSeconds === undefined ? undefined : round(cpuSeconds),
    idealCpuSeconds: idealCpuSeconds === undefined ? undefined : round(idealCpuSeconds),
  };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

export function formatReport(r) {
  const s = (x) => (x === undefined ? '-' : `${x.toFixed(1)} s`);
  return [
    `render      ${r.jobName} (${r.arrayJobId}) ${r.status}`,
    `stitch      ${r.stitchJobId ?? '-'} ${r.stitchStatus ?? ''}`.trimEnd(),
    `frames      ${r.framesSucceeded}/${r.frames} succeeded`,
    `retries     ${r.retries}  (attempts ended by a Spot interruption: ${r.interruptions})`,
    `work        ${r.workSeconds.toFixed(1)} vCPU-s in attempts that succeeded, ${r.lostSeconds.toFixed(1)} vCPU-s lost to failed attempts`,
    `makespan    ${s(r.makespanSeconds)}  (submission to the end of the stitch)`,
    `ideal       ${s(r.idealSeconds)}  (work / ${r.cores} vCPUs)${r.efficiency ? `: the run took ${(1 / r.efficiency).toFixed(2)}× the ideal` : ''}`,
    r.cpuSeconds === undefined
      ? `CPU         -  (the jobs' logs give no CPU-seconds)`
      : `CPU         ${r.cpuSeconds.toFixed(1)} CPU-s used by the succeeded attempts' programs; ideal from them ${s(r.idealCpuSeconds)} (CPU-s / ${r.cores} vCPUs)${r.makespanSeconds && r.idealCpuSeconds ? `: the run took ${(r.makespanSeconds / r.idealCpuSeconds).toFixed(2)}× it` : ''}`,
  ].join('\n');
}

async function main() {
  const args = process.argv.slice(2);
  const flag = (name) => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const endpoint = flag('--endpoint') ?? process.env.OPENBATCH_ENDPOINT ?? 'http://127.0.0.1:8770';
  const asJson = args.includes('--json');
  const [id] = args.filter((a) => !a.startsWith('--'));
  if (!id) {
    console.error('usage: report.mjs <render array job id> [--endpoint URL] [--json]');
    process.exit(2);
  }
  const config = {
    endpoint,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test' },
  };
  const client = new BatchClient(config);
  const logs = new CloudWatchLogsClient(config);
  try {
    const r = await renderReport(client, id, logs);
    console.log(asJson ? JSON.stringify(r, null, 2) : formatReport(r));
  } finally {
    client.destroy();
    logs.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`report: ${e.message}`);
    process.exit(1);
  });
}
