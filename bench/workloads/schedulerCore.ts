/**
 * Workload 8 of issue 12 — the scheduler core alone: jobs through every state, each change
 * committed durably, with an executor that completes a job without spawning anything.
 *
 * The seam is the executor: the real Agent (src/agent/agent.ts) runs in the bench process,
 * joined to an UNMANAGED compute environment of `slots` vCPUs through the real agent protocol
 * (register, long-poll, report batches over HTTP), and its only executor reports each attempt
 * started and exited (code 0) at once. Everything else is the real server in its own process
 * on a fresh data directory: admission, scheduler passes, placement, assignment, the
 * `started` and `exited` reports and their transactions (WAL, synchronous = FULL), array
 * roll-up. What is left out is exactly the process: its fork, its pipes, its exit.
 *
 *   singles  N jobs submitted (SDK, 16 in flight) while the compute environment has no
 *            agent, so they wait RUNNABLE; then the agent joins. Timed from its registration
 *            until the last job whose exit the agent saw is SUCCEEDED in the server; reports
 *            travel in order, one request at a time, so every earlier exit is committed by then.
 *   array    one SubmitJob of an array of N children to the same agent; timed from SubmitJob
 *            until the parent is SUCCEEDED (children are created, admitted, placed, started
 *            and ended in the server's own batches).
 * Every job is checked SUCCEEDED afterwards, untimed.
 *
 * The figure to hold against: in-process job queues such as graphile-worker (~15,600
 * jobs/s unbatched on a much larger CPU); the target is ≥ 10,000 jobs/s on 2 cores.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { CreateComputeEnvironmentCommand, CreateJobQueueCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { Agent } from '../../src/agent/agent.js';
import type { Executor, RunningAttempt } from '../../src/executor/types.js';
import { benchServer, processCpuMs, runAll, sleep, tempDir, type ServerStart } from '../lib.js';

export interface SchedulerCoreOptions {
  /** jobs submitted one by one (queued before the agent joins) */
  singles: number;
  /** children of the one array */
  arraySize: number;
  /** vCPUs the agent registers: jobs (1 vCPU each) in flight at most */
  slots: number;
  server?: ServerStart;
}

export interface CoreFigure {
  jobs: number;
  elapsedMs: number;
  jobsPerSecond: number;
  /**
   * The server process's CPU time per job over the timed span, ms (NaN without /proc): what
   * the target is about, and a figure that other load on the cores moves little (the bench's
   * own status polls are in it).
   */
  serverCpuMsPerJob: number;
}

export interface SchedulerCoreResult {
  slots: number;
  singles: CoreFigure;
  array: CoreFigure;
  /** SubmitJob/s while queueing the singles (not part of the figure) */
  submitPerSecond: number;
  /** the target of issue 12 */
  target: number;
  serverPid?: number;
}

const STALL_MS = 60_000;

/** An executor whose attempts start and exit (code 0) at once; it counts them and remembers the last. */
export class InstantExecutor implements Executor {
  readonly name = 'process' as const;
  readonly capabilities = { processGroups: false, cgroups: false, sandbox: false, containers: false };
  readonly unavailable: string[] = [];
  started = 0;
  lastAttemptId = '';
  lastAt = 0;

  start(spec: { attemptId: string }): RunningAttempt {
    this.started++;
    this.lastAttemptId = spec.attemptId;
    this.lastAt = performance.now();
    return { pid: undefined, exited: Promise.resolve({ exitCode: 0 }), terminate: () => undefined };
  }
}

async function status(client: BatchClient, jobId: string) {
  const j = (await client.send(new DescribeJobsCommand({ jobs: [jobId] }))).jobs?.[0];
  if (!j) throw new Error(`job ${jobId} not found`);
  if (j.status === 'FAILED') throw new Error(`job ${jobId} FAILED: ${j.statusReason}`);
  return j;
}

/** Every job SUCCEEDED, asked 100 at a time. */
async function checkAll(client: BatchClient, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 100) {
    const batch = ids.slice(i, i + 100);
    for (;;) {
      const jobs = (await client.send(new DescribeJobsCommand({ jobs: batch }))).jobs ?? [];
      const bad = jobs.find((j) => j.status === 'FAILED');
      if (bad) throw new Error(`job ${bad.jobId} FAILED: ${bad.statusReason}`);
      if (jobs.length === batch.length && jobs.every((j) => j.status === 'SUCCEEDED')) break;
      await sleep(20);
    }
  }
}

export async function schedulerCore(o: SchedulerCoreOptions): Promise<SchedulerCoreResult> {
  const s = await benchServer(o.server);
  const workRoot = tempDir('openbatch-bench-core-');
  let agent: Agent | undefined;
  let agentRun: Promise<unknown> | undefined;
  try {
    const { client } = s;
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'core', type: 'UNMANAGED', unmanagedvCpus: o.slots }));
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'core' }] }));
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'nothing',
        type: 'container',
        containerProperties: { image: 'none', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const submit = async (extra: object = {}) => (await client.send(new SubmitJobCommand({ jobName: 'core', jobQueue: 'q', jobDefinition: 'nothing', ...extra }))).jobId!;

    // Singles, queued with no capacity to run them.
    const ids: string[] = new Array(o.singles);
    const q0 = performance.now();
    await runAll(o.singles, 16, async (i) => {
      ids[i] = await submit();
    });
    const submitPerSecond = (o.singles * 1000) / (performance.now() - q0);

    const executor = new InstantExecutor();
    const joinToken = readFileSync(join(s.dataDir, 'agent-join-token'), 'utf8').trim();
    const serverCpu = () => processCpuMs(s.child.pid);
    const t0 = performance.now();
    const c0 = serverCpu();
    const reg = await fetch(`${s.url}/agent/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${joinToken}` },
      body: JSON.stringify({ computeEnvironment: 'core', vcpus: o.slots, memoryMiB: o.slots * 64, gpus: 0, hostname: 'bench' }),
    });
    if (!reg.ok) throw new Error(`register: ${reg.status} ${await reg.text()}`);
    const { instanceId, token } = (await reg.json()) as { instanceId: string; token: string };
    agent = new Agent({ server: s.url, instanceId, token, executors: { process: executor }, workRoot, logger: pino({ level: 'silent' }) });
    agentRun = agent.run();

    // Wait until the agent has seen every job, then until the last one it saw is SUCCEEDED.
    let seen = 0;
    let progressAt = performance.now();
    while (executor.started < o.singles) {
      if (executor.started > seen) {
        seen = executor.started;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > STALL_MS) {
        throw new Error(`no job started for ${STALL_MS} ms; ${executor.started} of ${o.singles}`);
      }
      await sleep(5);
    }
    const last = executor.lastAttemptId.slice(0, executor.lastAttemptId.lastIndexOf('#'));
    while ((await status(client, last)).status !== 'SUCCEEDED') await sleep(2);
    const singlesMs = performance.now() - t0;
    const singlesCpuMs = serverCpu() - c0;
    await checkAll(client, ids);

    // One array of N children, to the same agent.
    const a0 = performance.now();
    const ac0 = serverCpu();
    const parent = await submit({ arrayProperties: { size: o.arraySize } });
    let done = -1;
    progressAt = performance.now();
    for (;;) {
      const j = await status(client, parent);
      if (j.status === 'SUCCEEDED') break;
      if (executor.started !== done) {
        done = executor.started;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > STALL_MS) {
        throw new Error(`no child started for ${STALL_MS} ms; ${j.arrayProperties?.statusSummary?.SUCCEEDED ?? 0} of ${o.arraySize} done`);
      }
      await sleep(10);
    }
    const arrayMs = performance.now() - a0;
    const arrayCpuMs = serverCpu() - ac0;
    const summary = (await status(client, parent)).arrayProperties?.statusSummary;
    if (summary?.SUCCEEDED !== o.arraySize) throw new Error(`array ended with ${JSON.stringify(summary)}`);

    const fig = (jobs: number, elapsedMs: number, cpuMs: number): CoreFigure => ({ jobs, elapsedMs, jobsPerSecond: (jobs * 1000) / elapsedMs, serverCpuMsPerJob: cpuMs / jobs });
    return { slots: o.slots, singles: fig(o.singles, singlesMs, singlesCpuMs), array: fig(o.arraySize, arrayMs, arrayCpuMs), submitPerSecond, target: 10_000, serverPid: s.child.pid };
  } finally {
    await agent?.stop(0);
    await s.close();
    await agentRun?.catch(() => undefined);
    rmSync(workRoot, { recursive: true, force: true });
  }
}
