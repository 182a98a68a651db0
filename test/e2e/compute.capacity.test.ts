/**
 * One host, several compute environments, through the real SDK and real agents: the stalls a
 * new user met on a 2-core machine end with every runnable job running (or failing the way
 * AWS says it cannot run), with no more than one launch per instance the work needed.
 *   1. a CE with minvCpus 64 held both cores with an idle instance, and every other queue
 *      waited for ever; milder: a priority-1 array held the host while a priority-10 job of
 *      another CE waited;
 *   2. a CE whose chosen type could not hold a 2-node gang launched and gave it up in a loop
 *      beside another CE's job, and alone never ran the gang;
 *   3. an attempt terminated while STARTING held its instance's capacity.
 * Launches are counted from the instances API (every instance a CE ever had). `why` is asked
 * while each job waits, and must name what holds its capacity (never "0 of 0 vCPUs"): the
 * instances that boot for the waiting work are held in their bootstrap by a gate the test
 * opens, so that what it asks is asked while the situation lasts.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, SubmitJobCommand, TerminateJobCommand, type ComputeEnvironmentDetail } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { agentsUnder, sharedDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, eventually, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import type { WhyReport } from '../../src/scheduler/why.js';
import { onPostgres } from '../helpers/postgres.js';

const EVERY_STATE = ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'];

/** Every instance a CE ever had, newest first. */
async function instancesOf(t: TestServer, ce: string, states = EVERY_STATE): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', { computeEnvironment: ce, state: states })).instances;
  } finally {
    c.close();
  }
}

async function describeCe(t: TestServer, name: string): Promise<ComputeEnvironmentDetail> {
  return (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [name] }))).computeEnvironments![0];
}

/**
 * A server on a 2-core host. A dilated minute of scale-down delay is a second: the tests wait
 * on decisions, not on the clock.
 */
function twoCoreHost(hostMemoryMiB: number, bootGate?: string): Promise<TestServer> {
  return startTestServer({
    hostVcpus: 2,
    hostMemoryMiB,
    timeDilation: 60,
    scaleDownDelaySeconds: 60,
    // An instance of a CE with this template boots only once the test opens the gate (a dilated hour at most).
    launchTemplates: bootGate ? [{ launchTemplateName: 'gated', bootstrap: `while [ ! -e ${bootGate} ]; do sleep 0.05; done`, bootstrapTimeoutSeconds: 3600 }] : [],
  });
}

/** `openbatch why` for a job, as the CLI and dashboard get it. */
async function why(t: TestServer, jobId: string): Promise<WhyReport> {
  const c = connect({ endpoint: t.url });
  try {
    return await c.openbatch<WhyReport>('why', { jobId });
  } finally {
    c.close();
  }
}

/** Asks `why` until the job's capacity account is `waitFor`; every answer on the way must name what it waits for. */
async function whyUntil(t: TestServer, jobId: string, waitFor: string): Promise<WhyReport> {
  return eventually(`why ${jobId} saying ${waitFor}`, async () => {
    const r = await why(t, jobId);
    assert.doesNotMatch(r.summary, /0 of 0 vCPUs/);
    return r.capacity?.waitFor === waitFor ? r : undefined;
  });
}

/** The end of a describe: no pass failed meanwhile, and the server and its agents are gone. */
async function closeHost(t: TestServer): Promise<void> {
  try {
    noFailedPass(t);
  } finally {
    await t.close();
  }
}

/** No scheduler pass failed (a pass that throws rolls its placements back: the test could still pass, slowly). */
function noFailedPass(t: TestServer): void {
  assert.deepEqual(t.warnings().filter((w) => /scheduler pass failed/.test(w)), []);
}

/** A job definition whose jobs wait for `gate` to exist. */
async function gatedDefinition(t: TestServer, name: string, gate: string, vcpus = 1): Promise<void> {
  await registerDefinition(t.client, name, {
    command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done`],
    resourceRequirements: [
      { type: 'VCPU', value: String(vcpus) },
      { type: 'MEMORY', value: '64' },
    ],
  });
}

describe('stall 1: a minvCpus beyond the host', () => {
  let t: TestServer;
  const bootGate = join(tempDir('openbatch-capacity-boot-'), 'open');
  before(async () => {
    t = await twoCoreHost(16_384, bootGate);
  });
  after(async () => closeHost(t));

  test('the floor is capped to the host and says so; its idle instance gives way to another queue, whose job runs on one launch', async () => {
    await createCe(t.client, 'big', { minvCpus: 64, maxvCpus: 64 });
    await createCe(t.client, 'default', { maxvCpus: 2, launchTemplate: 'gated' });
    await createQueue(t.client, 'big-q', ['big'], 1);
    await createQueue(t.client, 'default-q', ['default'], 1);
    const [floor] = await eventually('big\'s floor instance', async () => {
      const live = await instancesOf(t, 'big', ['ACTIVE']);
      return live.length ? live : undefined;
    });
    assert.equal(floor.capacity.vcpus, 2, 'capped to the host');
    const big = await describeCe(t, 'big');
    assert.equal(big.status, 'VALID');
    assert.equal(big.computeResources?.desiredvCpus, 2);
    assert.equal(big.statusReason, "desiredvCpus capped at 2 by this host's capacity (minvCpus 64, the host has 2 vCPUs)");
    assert.equal(t.warnings().filter((w) => w.includes('compute environment capped by this host')).length, 1, 'warned once, not per pass');

    await registerDefinition(t.client, 'quick', { command: ['true'] });
    const id = await submit(t.client, { jobQueue: 'default-q', jobDefinition: 'quick' });
    // big's idle instance gives way; default's instance boots (held at its bootstrap's gate).
    const launching = await whyUntil(t, id, 'LAUNCHING');
    assert.match(launching.summary, new RegExp(`^capacity is launching for it: CE default's instance i-[0-9a-f]+ \\(c5\\.large, 2 vCPUs\\) for job ${id} of queue default-q \\(priority 1\\), launched [0-9.]+ s ago, booting$`));
    assert.ok(launching.eta || launching.noEta, 'an estimate, or why there is none');
    writeFileSync(bootGate, '');
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal((await instancesOf(t, 'default')).length, 1, 'one launch for the one instance the job needed');
    const gone = (await instancesOf(t, 'big', ['TERMINATING', 'TERMINATED'])).find((i) => i.instanceId === floor.instanceId);
    assert.match(gone?.terminationReason ?? '', /^scaled down: idle, kept only for minvCpus; its host capacity given to waiting work of queue default-q \(priority 1\) in compute environment default$/);
    // The launch and termination rates count it: one launch for the job, big's floor and its yield.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /^openbatch_instance_launches_total\{compute_environment="default",reason="demand"\} 1$/m);
    assert.match(metrics, /^openbatch_instance_launches_total\{compute_environment="big",reason="minvCpus"\} [1-9]/m);
    assert.match(metrics, /^openbatch_instance_terminations_total\{compute_environment="big",reason="yield"\} [1-9]/m);
  });
});

describe('priorities across compute environments', () => {
  let t: TestServer;
  before(async () => {
    t = await twoCoreHost(16_384);
  });
  after(async () => closeHost(t));

  test('a priority-10 job of one CE gets the host before the rest of a priority-1 array of another; nothing running is stopped', async () => {
    await createCe(t.client, 'low', { maxvCpus: 2 });
    await createCe(t.client, 'high', { maxvCpus: 2 });
    await createQueue(t.client, 'low-q', ['low'], 1);
    await createQueue(t.client, 'high-q', ['high'], 10);
    // Jobs read the gate from a directory of the host they may see (not the data directory).
    const gate = join(sharedDir('openbatch-capacity-'), 'open');
    await gatedDefinition(t, 'held', gate);
    await registerDefinition(t.client, 'quick', { command: ['true'] });
    const array = (await t.client.send(new SubmitJobCommand({ jobName: 'frames', jobQueue: 'low-q', jobDefinition: 'held', arrayProperties: { size: 4 } }))).jobId!;
    const children = [0, 1, 2, 3].map((i) => `${array}:${i}`);
    // The low CE's c5.large takes two children; the other two wait for it.
    // Children exist as rows only once they matter (lazy arrays): DescribeJobs lists those that do.
    const running = await eventually('two children running', async () => {
      const states = (await t.client.send(new DescribeJobsCommand({ jobs: children }))).jobs ?? [];
      const r = states.filter((s) => s.status === 'RUNNING');
      return r.length === 2 ? r.map((s) => s.jobId!) : undefined;
    });
    const high = await submit(t.client, { jobQueue: 'high-q', jobDefinition: 'quick' });
    // RUNNABLE: a pass saw it, and decided on its capacity in the same pass.
    await waitForStatus(t.client, high, ['RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
    const drained = await whyUntil(t, high, 'DRAINING');
    assert.match(
      drained.summary,
      /^the host's 2 vCPUs are held by lower-priority work: CE low's busy instance i-[0-9a-f]+ \(c5\.large, 2 vCPUs, running 2 jobs of queue low-q \(priority 1\)\), which takes no new work; it finishes its jobs and gives way to this one$/,
    );
    assert.match(drained.noEta ?? '', /^cannot be estimated: job .+ \(queue low-q\) has run .+ with no attempt timeout, and no job of its definition finished lately to go by$/);
    const behind = children.find((c) => !running.includes(c))!;
    const atMax = await whyUntil(t, behind, 'CE_MAX');
    assert.match(atMax.summary, /^CE low is at its maxvCpus 2: CE low's busy instance i-[0-9a-f]+ \(c5\.large, 2 vCPUs, running 2 jobs of queue low-q \(priority 1\)\), which takes no new work/);
    writeFileSync(gate, '');
    const h = await waitForStatus(t.client, high, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(h.status, 'SUCCEEDED', h.statusReason);
    for (const c of children) {
      const child = await waitForStatus(t.client, c, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(child.status, 'SUCCEEDED', `${c}: ${child.statusReason}`);
      assert.equal(child.attempts?.length, 1, `${c} ran once: nothing was stopped`);
      if (!running.includes(c)) assert.ok(child.startedAt! >= h.startedAt!, `${c} started before the higher-priority job`);
    }
    assert.equal((await instancesOf(t, 'high')).length, 1, 'one launch for the high job');
    assert.ok((await instancesOf(t, 'low')).length <= 2, 'the low CE launched again only once, after the high job');
  });
});

describe('stall 2: a gang beside another CE\'s job', () => {
  let t: TestServer;
  const bootGate = join(tempDir('openbatch-capacity-boot-'), 'open');
  before(async () => {
    t = await twoCoreHost(24_105, bootGate);
    await registerDefinition(t.client, 'quick', { command: ['true'] });
    // Two nodes of 1 vCPU and 4,096 MiB: a c5.large (2 vCPUs, 4,096 MiB) holds one of them.
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'pair',
        type: 'multinode',
        nodeProperties: {
          numNodes: 2,
          mainNode: 0,
          nodeRangeProperties: [
            {
              targetNodes: '0:',
              container: {
                image: 'busybox',
                command: ['true'],
                resourceRequirements: [
                  { type: 'VCPU', value: '1' },
                  { type: 'MEMORY', value: '4096' },
                ],
              },
            },
          ],
        },
      }),
    );
  });
  after(async () => closeHost(t));

  test('the gang gets one instance that holds it (m5.large), the other CE\'s job runs after it, one launch each', async () => {
    await createCe(t.client, 'A', { maxvCpus: 2, launchTemplate: 'gated' });
    await createCe(t.client, 'B', { maxvCpus: 2 });
    await createQueue(t.client, 'qa', ['A'], 1);
    await createQueue(t.client, 'qb', ['B'], 1);
    const gang = await submit(t.client, { jobQueue: 'qa', jobDefinition: 'pair' });
    const plain = await submit(t.client, { jobQueue: 'qb', jobDefinition: 'quick' });
    // While A's instance boots for the gang (held at its bootstrap's gate), B's job waits for it and says so.
    const launching = await whyUntil(t, gang, 'LAUNCHING');
    assert.match(launching.summary, new RegExp(`^capacity is launching for it: CE A's instance i-[0-9a-f]+ \\(m5\\.large, 2 vCPUs\\) for job ${gang} of queue qa \\(priority 1\\), launched [0-9.]+ s ago, booting$`));
    const busy = await whyUntil(t, plain, 'BUSY');
    assert.match(busy.summary, new RegExp(`^the host's 2 vCPUs are held by work ahead of it: CE A's instance i-[0-9a-f]+ \\(m5\\.large, 2 vCPUs\\) for job ${gang} of queue qa \\(priority 1\\), launched [0-9.]+ s ago, booting$`));
    writeFileSync(bootGate, '');
    for (const id of [gang, plain]) {
      const j = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(j.status, 'SUCCEEDED', `${id}: ${j.statusReason}`);
    }
    const a = await instancesOf(t, 'A');
    assert.deepEqual(a.map((i) => i.instanceType), ['m5.large'], 'one launch, of a type that holds both nodes');
    assert.equal((await instancesOf(t, 'B')).length, 1, 'one launch for the plain job');
  });

  // c5.large only: each holds one node, and two need 4 vCPUs. (Larger c5 types would be launched capped to 2 vCPUs and hold both.)
  test('a gang no instance type of its CE can hold within maxvCpus fails the way AWS says at once, and launches nothing', async () => {
    await createCe(t.client, 'C', { maxvCpus: 2, instanceTypes: ['c5.large'] });
    await createQueue(t.client, 'qc', ['C'], 1);
    const gang = await submit(t.client, { jobQueue: 'qc', jobDefinition: 'pair' });
    const j = await eventually('the never-fits reason', async () => {
      const d = await describeJob(t.client, gang);
      return d.statusReason ? d : undefined;
    });
    assert.equal(j.status, 'RUNNABLE');
    assert.match(j.statusReason!, /^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - /);
    assert.deepEqual(await instancesOf(t, 'C'), []);
    const never = await why(t, gang);
    assert.equal(never.code, 'NEVER_FITS');
    assert.equal(never.summary, "never fits: asks 1 vCPU, 4096 MiB per node × 2 nodes, more than its queue's compute environments can ever have (CE C: largest instance 2 vCPU, 4096 MiB, 0 GPU, maxvCpus 2)");
    assert.match(never.hint ?? '', /instances of one type that hold all its nodes/);
  });
});

describe('stall 3: an attempt terminated while STARTING', () => {
  let t: TestServer;
  before(async () => {
    t = await twoCoreHost(16_384);
  });
  after(async () => closeHost(t));

  test('its capacity comes back: the next job runs on the same instance, which was launched once', async () => {
    // prefetch 1: a job waits STARTING on the instance, held by its agent, while another runs.
    await createCe(t.client, 'P', { maxvCpus: 2, instanceTypes: ['c5.large'], tags: { 'openbatch:prefetch': '1' } });
    await createQueue(t.client, 'qp', ['P'], 1);
    const gate = join(sharedDir('openbatch-capacity-'), 'open');
    await gatedDefinition(t, 'held2', gate, 2);
    await registerDefinition(t.client, 'whole', { command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '2' }, { type: 'MEMORY', value: '64' }] });
    const first = await submit(t.client, { jobQueue: 'qp', jobDefinition: 'held2' });
    await waitForStatus(t.client, first, ['RUNNING'], 60_000);
    const queued = await submit(t.client, { jobQueue: 'qp', jobDefinition: 'whole' });
    await waitForStatus(t.client, queued, ['STARTING'], 60_000);
    // The agent, stopped for a moment, cannot take the terminated attempt: why says what follows.
    const agents = agentsUnder(t.dataDir);
    for (const pid of agents) process.kill(pid, 'SIGSTOP');
    try {
      await t.client.send(new TerminateJobCommand({ jobId: queued, reason: 'not needed after all' }));
      const w = await why(t, queued);
      assert.match(w.summary, /^terminated while STARTING on instance i-[0-9a-f]+: it ends FAILED \('not needed after all'\) when the instance's agent next polls, and its capacity comes back then$/);
    } finally {
      for (const pid of agents) process.kill(pid, 'SIGCONT');
    }
    const ended = await waitForStatus(t.client, queued, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(ended.status, 'FAILED');
    assert.equal(ended.statusReason, 'not needed after all');
    writeFileSync(gate, '');
    assert.equal((await waitForStatus(t.client, first, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    const next = await submit(t.client, { jobQueue: 'qp', jobDefinition: 'whole' });
    const n = await waitForStatus(t.client, next, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(n.status, 'SUCCEEDED', n.statusReason);
    const launched = await instancesOf(t, 'P');
    assert.equal(launched.length, 1, 'the instance was launched once');
    assert.equal(n.container?.containerInstanceArn?.split('/').pop(), launched[0].instanceId);
  });
});

describe('why on a server that does not run the scheduler', { skip: onPostgres() ? false : 'several control planes need PostgreSQL (OPENBATCH_TEST_DATABASE_URL)' }, () => {
  let leader: TestServer;
  let follower: TestServer;
  const bootGate = join(tempDir('openbatch-capacity-boot-'), 'open');
  before(async () => {
    leader = await twoCoreHost(16_384, bootGate);
    // The same database: this one serves the API, the first one leads.
    follower = await startTestServer({ databaseUrl: leader.server.services.config.databaseUrl, hostVcpus: 2, timeDilation: 60 });
  });
  after(async () => {
    await follower.close();
    await closeHost(leader);
  });

  test("tells what the leader's pass decided, and says it is the leader's account", async () => {
    assert.ok(leader.server.leading() && !follower.server.leading());
    await createCe(leader.client, 'default', { maxvCpus: 2, launchTemplate: 'gated' });
    await createQueue(leader.client, 'default-q', ['default'], 1);
    await registerDefinition(leader.client, 'quick', { command: ['true'] });
    const id = await submit(follower.client, { jobQueue: 'default-q', jobDefinition: 'quick' });
    // Once the instance boots (its account then says so until the gate opens), both servers tell the same account.
    const [here, there] = await eventually('the same account on both servers', async () => {
      const pair = [await whyUntil(leader, id, 'LAUNCHING'), await whyUntil(follower, id, 'LAUNCHING')];
      return JSON.stringify(pair[0].capacity) === JSON.stringify(pair[1].capacity) ? pair : undefined;
    });
    assert.match(here.summary, /^capacity is launching for it: CE default's instance/);
    assert.match(there.summary, /^capacity is launching for it \(as the leader recorded it: this server does not run the scheduler\): CE default's instance i-[0-9a-f]+ \(c5\.large, 2 vCPUs\)/);
    writeFileSync(bootGate, '');
    assert.equal((await waitForStatus(follower.client, id, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
  });
});
