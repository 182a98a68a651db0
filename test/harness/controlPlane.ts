/**
 * The in-process harness: the real control plane (startServer: API, scheduler, agents' hub,
 * store) in the test's process, on a store of the harness (SQLite in memory, or PostgreSQL in
 * the suite's second pass), with fake time for its clock and every timer it waits on, the
 * real AWS SDK talking to it, and agents without processes (fakeAgent.ts) joined to UNMANAGED
 * compute environments. Rules that take minutes of the server's time — retries, timeouts,
 * time-limit actions, fair share — run in milliseconds, and nothing sleeps.
 *
 *   const h = await startHarness();
 *   await h.queue('q', { ce: 'ce', vcpus: 4 }, (a) => ({ runMs: 5_000 }));
 *   const id = await h.submit({ jobQueue: 'q', command: ['x'] });
 *   await h.until(async () => (await h.job(id)).status === 'SUCCEEDED');
 *
 * What only the whole system shows — real processes, executors, sandboxes, restarts of a
 * server process, Slurm, browsers — stays in test/e2e/.
 */
import { rmSync } from 'node:fs';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
  type JobDetail,
  type RegisterJobDefinitionCommandInput,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import pino from 'pino';
import { loadConfig, type ServerConfig } from '../../src/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { batchClient, tempDir } from '../helpers/server.js';
import { FakeAgent, type Script } from './fakeAgent.js';
import { FakeTime, turns } from './fakeTime.js';
import { openTestStore, type TestStore } from './store.js';

const JOIN_TOKEN = 'harness-join-token';
/** Agents poll at least this often of the harness's time (their lease is far longer). */
const SYNC_EVERY_MS = 5_000;

export interface Harness {
  server: RunningServer;
  client: BatchClient;
  time: FakeTime;
  store: TestStore;
  agents: FakeAgent[];
  /** Creates an UNMANAGED compute environment with one agent of `vcpus` joined to it, running `script`. */
  computeEnvironment(name: string, vcpus: number, script?: Script): Promise<FakeAgent>;
  /** Joins one more agent to a compute environment. */
  agent(ce: string, vcpus: number, script?: Script): Promise<FakeAgent>;
  /** A queue on a compute environment of its own (named `<queue>-ce`) with one agent, and a job definition `<queue>-def`. */
  queue(name: string, o?: { vcpus?: number; priority?: number; schedulingPolicyArn?: string; timeLimitActions?: unknown[] }, script?: Script): Promise<FakeAgent>;
  /** Registers a job definition (container, 1 vCPU, 64 MiB, `true` unless given). */
  definition(name: string, o?: Partial<RegisterJobDefinitionCommandInput>): Promise<string>;
  /** SubmitJob; the job definition defaults to `<jobQueue>-def`. Answers the job id. */
  submit(input: Partial<SubmitJobCommandInput> & { jobQueue: string }): Promise<string>;
  /** DescribeJobs of one job. */
  job(id: string): Promise<JobDetail>;
  /** Lets the server and the agents do all they can without time moving. */
  settle(): Promise<void>;
  /** Moves time forward by `ms`, event by event, settling after each. */
  run(ms: number): Promise<void>;
  /** Moves time forward event by event until `done` holds; fails after `withinMs` of the harness's time. */
  until(done: () => Promise<boolean>, withinMs?: number): Promise<void>;
  /** Until the job is in one of `statuses`; answers it. */
  status(id: string, statuses: string[], withinMs?: number): Promise<JobDetail>;
  close(): Promise<void>;
}

export async function startHarness(overrides: Partial<ServerConfig> = {}): Promise<Harness> {
  const time = new FakeTime();
  const store = await openTestStore();
  const dataDir = tempDir('openbatch-harness-');
  const config = loadConfig({ port: 0, dataDir, logLevel: 'silent' }, {});
  Object.assign(config, { agentJoinToken: JOIN_TOKEN, databaseUrl: store.url, ...overrides });
  const server = await startServer(config, { clock: time, timers: time, store: store.store, logger: pino({ level: process.env.OPENBATCH_TEST_LOG ?? 'silent' }) });
  const client = batchClient(server.url);
  const agents: FakeAgent[] = [];
  // On PostgreSQL the server leads once it holds the lease: its first try is at once.
  for (const deadline = Date.now() + 30_000; !server.leading(); await turns()) {
    if (Date.now() > deadline) throw new Error('the harness server did not take the leader lease within 30 s');
  }
  const settle = async () => {
    for (let round = 0; round < 100; round++) {
      await server.scheduler.settled();
      let busy = false;
      for (const a of agents) busy = (await a.sync()) || busy;
      await server.scheduler.settled();
      if (!busy) return;
    }
    throw new Error('the harness did not settle in 100 rounds: something keeps changing without time moving');
  };
  /** When the next agent's attempt ends, if any runs. */
  const agentDue = () => {
    const dues = agents.map((a) => a.nextDue()).filter((d): d is number => d !== undefined);
    return dues.length ? Math.min(...dues) : undefined;
  };
  /**
   * Moves time to `end`, timer by timer. After each timer the scheduler is let finish; the
   * agents poll and report when one of them has something due, and at least every
   * SYNC_EVERY_MS (a real agent long-polls: it hears of new work at once, and its lease
   * needs it heard from). `check` runs after each round of the agents.
   */
  const advance = async (end: number, check?: () => Promise<boolean>): Promise<boolean> => {
    let lastSync = time.now();
    for (;;) {
      const timer = time.nextDue();
      const agent = agentDue();
      const next = Math.min(timer ?? Infinity, agent ?? Infinity, lastSync + SYNC_EVERY_MS, end);
      await time.advanceTo(Math.max(next, time.now()));
      await server.scheduler.settled();
      if (next === agent || next === lastSync + SYNC_EVERY_MS || next === end) {
        await settle();
        lastSync = time.now();
        if (check && (await check())) return true;
      }
      if (time.now() >= end) return false;
    }
  };
  const h: Harness = {
    server,
    client,
    time,
    store,
    agents,
    async agent(ce, vcpus, script = () => ({})) {
      const a = await FakeAgent.join(server.url, time, JOIN_TOKEN, ce, { vcpus }, script);
      agents.push(a);
      return a;
    },
    async computeEnvironment(name, vcpus, script) {
      await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: name, type: 'UNMANAGED', unmanagedvCpus: Math.max(vcpus, 256) }));
      return h.agent(name, vcpus, script);
    },
    async queue(name, o = {}, script) {
      const agent = await h.computeEnvironment(`${name}-ce`, o.vcpus ?? 4, script);
      await client.send(
        new CreateJobQueueCommand({
          jobQueueName: name,
          priority: o.priority ?? 10,
          computeEnvironmentOrder: [{ order: 1, computeEnvironment: `${name}-ce` }],
          schedulingPolicyArn: o.schedulingPolicyArn,
          jobStateTimeLimitActions: o.timeLimitActions as never,
        }),
      );
      await h.definition(`${name}-def`);
      return agent;
    },
    async definition(name, o = {}) {
      const res = await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: name,
          type: 'container',
          ...o,
          containerProperties: {
            image: 'busybox',
            command: ['true'],
            resourceRequirements: [
              { type: 'VCPU', value: '1' },
              { type: 'MEMORY', value: '64' },
            ],
            ...o.containerProperties,
          },
        }),
      );
      return res.jobDefinitionArn!;
    },
    async submit(input) {
      const res = await client.send(new SubmitJobCommand({ jobName: 'job', jobDefinition: `${input.jobQueue}-def`, ...input }));
      return res.jobId!;
    },
    async job(id) {
      const res = await client.send(new DescribeJobsCommand({ jobs: [id] }));
      if (!res.jobs?.[0]) throw new Error(`job ${id} does not exist`);
      return res.jobs[0];
    },
    settle,
    async run(ms) {
      await settle();
      await advance(time.now() + ms);
    },
    async until(done, withinMs = 3_600_000) {
      await settle();
      if (await done()) return;
      if (!(await advance(time.now() + withinMs, done))) throw new Error(`not reached within ${withinMs} ms of the harness's time`);
    },
    async status(id, statuses, withinMs) {
      let last: JobDetail | undefined;
      try {
        await h.until(async () => statuses.includes((last = await h.job(id)).status ?? ''), withinMs);
      } catch (e) {
        throw new Error(`job ${id} did not reach ${statuses.join('|')}: it is ${last?.status} (${last?.statusReason ?? 'no reason'}); ${(e as Error).message}`);
      }
      return last!;
    },
    async close() {
      client.destroy();
      await server.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
