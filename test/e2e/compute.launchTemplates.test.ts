/**
 * Launch templates: a CE's launchTemplate selects a server-configured template; its bootstrap
 * runs before the instance takes work, its environment and mounts reach every job, instances
 * show it; a failing bootstrap fails the instance visibly; unknown templates are refused.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand, UpdateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { connect } from '../../src/cli/client.js';
import { sharedDir, startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, logLines, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
const shared = sharedDir('openbatch-lt-');
before(async () => {
  mkdirSync(join(shared, 'ref'));
  writeFileSync(join(shared, 'ref', 'genome.txt'), 'ACGT\n');
  t = await startTestServer({
    launchTemplates: [
      {
        launchTemplateName: 'with-reference',
        bootstrap: 'echo "bootstrapped $OPENBATCH_INSTANCE_ID" > ready.txt',
        environment: { GREETING: 'hello from the template' },
        mounts: [{ sourcePath: join(shared, 'ref'), containerPath: 'reference' }],
      },
      { launchTemplateName: 'broken', launchTemplateId: 'lt-0badbadbadbadbad0', bootstrap: 'echo disk not found >&2; exit 3' },
    ],
  });
});
after(async () => t.close());

const ce = (name: string, launchTemplate: { launchTemplateName?: string; launchTemplateId?: string; version?: string }) =>
  t.client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, instanceTypes: ['optimal'], subnets: [], instanceRole: 'ecsInstanceRole', launchTemplate },
    }),
  );

async function instances(ceName: string): Promise<InstanceView[]> {
  const c = connect({ endpoint: t.url });
  try {
    return (await c.openbatchHttp<{ instances: InstanceView[] }>('GET', '/openbatch/v1/instances', { computeEnvironment: ceName, state: ['PENDING', 'LAUNCHING', 'ACTIVE', 'TERMINATING', 'TERMINATED'] })).instances;
  } finally {
    c.close();
  }
}

test("a template's bootstrap, environment and mounts reach the instance and its jobs", async () => {
  await ce('templated', { launchTemplateName: 'with-reference', version: '$Latest' });
  await createQueue(t.client, 'templated-q', ['templated']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'reads-reference',
      type: 'container',
      containerProperties: {
        image: 'busybox',
        command: ['sh', '-c', 'echo "$GREETING"; cat reference/genome.txt'],
        resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
      },
    }),
  );
  const job = await waitForStatus(t.client, await submit(t.client, { jobQueue: 'templated-q', jobDefinition: 'reads-reference' }), ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(job.status, 'SUCCEEDED', job.statusReason);
  assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['hello from the template', 'ACGT']);
  const [inst] = await instances('templated');
  assert.equal(inst.launchTemplate?.launchTemplateName, 'with-reference');
  assert.match(inst.launchTemplate?.launchTemplateId ?? '', /^lt-[0-9a-f]{17}$/);
  assert.equal(inst.launchTemplate?.version, '1');
  // The bootstrap ran in the instance's directory, with the instance's identity.
  assert.equal(readFileSync(join(t.dataDir, 'work', inst.instanceId, 'ready.txt'), 'utf8'), `bootstrapped ${inst.instanceId}\n`);
});

test('a failing bootstrap fails the instance visibly and the job waits', async () => {
  await ce('broken-ce', { launchTemplateId: 'lt-0badbadbadbadbad0' });
  await createQueue(t.client, 'broken-q', ['broken-ce']);
  await t.client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: 'never-runs',
      type: 'container',
      containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
    }),
  );
  const id = await submit(t.client, { jobQueue: 'broken-q', jobDefinition: 'never-runs' });
  let failed: InstanceView | undefined;
  for (let i = 0; i < 300 && !failed; i++) {
    failed = (await instances('broken-ce')).find((x) => x.state === 'TERMINATED');
    if (!failed) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(failed, 'the instance was terminated');
  assert.equal(failed.terminationReason, 'bootstrap failed: exit code 3: disk not found');
  assert.equal(failed.launchTemplate?.launchTemplateName, 'broken');
  assert.equal((await waitForStatus(t.client, id, ['RUNNABLE'])).status, 'RUNNABLE', 'the job never ran on the failed instance');
});

test('a launch template the server does not have is refused, at create and at update', async () => {
  await assert.rejects(ce('nope', { launchTemplateName: 'missing' }), /computeResources.launchTemplate.launchTemplateName names no launch template 'missing': the server has with-reference/);
  await assert.rejects(ce('nope', { launchTemplateName: 'broken', version: '7' }), /version '7' does not exist for launch template broken/);
  await assert.rejects(
    t.client.send(new UpdateComputeEnvironmentCommand({ computeEnvironment: 'templated', computeResources: { launchTemplate: { launchTemplateId: 'lt-0123' } } })),
    /names no launch template 'lt-0123'/,
  );
});
