/**
 * SubmitJob keeps the job queues and job definitions it looks up in memory
 * (store/lookupCache.ts): every change made through the API must reach the next SubmitJob.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeregisterJobDefinitionCommand,
  DeleteJobQueueCommand,
  RegisterJobDefinitionCommand,
  TagResourceCommand,
  UpdateJobQueueCommand,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

describe('SubmitJob follows changes to its queue and job definition at once', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    // Jobs stay queued: the only compute environment is DISABLED.
    await createCe(t.client, 'off', { state: 'DISABLED' });
  });
  after(async () => t.close());

  test('a queue disabled, enabled again and deleted is refused, accepted and unknown on the very next SubmitJob', async () => {
    await createQueue(t.client, 'flip-q', ['off']);
    await registerDefinition(t.client, 'flip-def');
    await submit(t.client, { jobQueue: 'flip-q', jobDefinition: 'flip-def' });
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'flip-q', state: 'DISABLED' }));
    await rejectsClient(submit(t.client, { jobQueue: 'flip-q', jobDefinition: 'flip-def' }), /jobQueue 'flip-q' is DISABLED/);
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'flip-q', state: 'ENABLED' }));
    await submit(t.client, { jobQueue: 'flip-q', jobDefinition: 'flip-def' });
    await t.client.send(new UpdateJobQueueCommand({ jobQueue: 'flip-q', state: 'DISABLED' }));
    await t.client.send(new DeleteJobQueueCommand({ jobQueue: 'flip-q' }));
    await rejectsClient(submit(t.client, { jobQueue: 'flip-q', jobDefinition: 'flip-def' }), /jobQueue 'flip-q' does not exist/);
  });

  test('a definition named without revision means its latest ACTIVE revision as of this SubmitJob', async () => {
    await createQueue(t.client, 'rev-q', ['off']);
    const first = await registerDefinition(t.client, 'rev-def');
    const byName = async () => (await describeJob(t.client, await submit(t.client, { jobQueue: 'rev-q', jobDefinition: 'rev-def' }))).jobDefinition;
    assert.equal(await byName(), first);
    const second = await registerDefinition(t.client, 'rev-def');
    assert.equal(await byName(), second);
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: second }));
    assert.equal(await byName(), first);
    await rejectsClient(submit(t.client, { jobQueue: 'rev-q', jobDefinition: 'rev-def:2' }), /jobDefinition 'rev-def:2' is INACTIVE/);
    await t.client.send(new DeregisterJobDefinitionCommand({ jobDefinition: first }));
    await rejectsClient(submit(t.client, { jobQueue: 'rev-q', jobDefinition: 'rev-def' }), /jobDefinition 'rev-def' does not exist or has no ACTIVE revision/);
  });

  test('tags added to a definition that propagates its tags are on the very next job', async () => {
    await createQueue(t.client, 'tag-q', ['off']);
    const res = await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'tag-def',
        type: 'container',
        propagateTags: true,
        tags: { team: 'a' },
        containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const tagsOfNext = async () => (await describeJob(t.client, await submit(t.client, { jobQueue: 'tag-q', jobDefinition: 'tag-def' }))).tags;
    assert.deepEqual(await tagsOfNext(), { team: 'a' });
    await t.client.send(new TagResourceCommand({ resourceArn: res.jobDefinitionArn!, tags: { team: 'b', cost: 'x' } }));
    assert.deepEqual(await tagsOfNext(), { team: 'b', cost: 'x' });
  });
});
