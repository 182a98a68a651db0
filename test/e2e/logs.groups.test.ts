/**
 * A job definition's logConfiguration awslogs-group is where its attempts' streams go, and an
 * attempt's stream exists from the moment it starts, before its first line, as on AWS.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CloudWatchLogsClient, DescribeLogGroupsCommand, DescribeLogStreamsCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { sharedDir, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { runCli, showRun } from '../helpers/cli.js';

let t: TestServer;
let logs: CloudWatchLogsClient;
const gates = sharedDir('openbatch-gates-');
before(async () => {
  t = await startTestServer();
  logs = new CloudWatchLogsClient({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await createCe(t.client, 'ce');
  await createQueue(t.client, 'q', ['ce']);
});
after(async () => {
  logs.destroy();
  await t.close();
  rmSync(gates, { recursive: true, force: true });
});

test("an attempt's stream is in its definition's awslogs-group, listed and readable from the start, before its first line", async () => {
  const gate = join(gates, 'open');
  await registerDefinition(t.client, 'frames', {
    command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo frame done`],
    logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': '/render/frames', 'awslogs-stream-prefix': 'ignored' } },
  });
  const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'frames' });
  const running = await waitForStatus(t.client, id, ['RUNNING']);
  const stream = running.container!.logStreamName!;
  assert.equal(running.container?.logConfiguration?.options?.['awslogs-group'], '/render/frames');

  // Running, no line yet: the stream is listed (without event times) and reads empty.
  const listed = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/render/frames' }));
  const s = listed.logStreams?.find((x) => x.logStreamName === stream);
  assert.ok(s, `stream ${stream} listed: ${JSON.stringify(listed.logStreams)}`);
  assert.equal(typeof s.creationTime, 'number');
  assert.equal(s.firstEventTimestamp, undefined);
  assert.equal(s.lastEventTimestamp, undefined);
  const empty = await logs.send(new GetLogEventsCommand({ logGroupName: '/render/frames', logStreamName: stream, startFromHead: true }));
  assert.deepEqual(empty.events, []);
  const groups = await logs.send(new DescribeLogGroupsCommand({}));
  assert.deepEqual(groups.logGroups?.map((g) => g.logGroupName).sort(), ['/aws/batch/job', '/render/frames']);

  writeFileSync(gate, '');
  await waitForStatus(t.client, id, ['SUCCEEDED']);
  const read = await logs.send(new GetLogEventsCommand({ logGroupName: '/render/frames', logStreamName: stream, startFromHead: true }));
  assert.deepEqual(read.events?.map((e) => e.message), ['frame done']);
  const after = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/render/frames' }));
  assert.equal(after.logStreams?.find((x) => x.logStreamName === stream)?.firstEventTimestamp, read.events![0].timestamp);
  // Not in the default group.
  await assert.rejects(
    logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream })),
    (e: Error) => e.name === 'ResourceNotFoundException',
  );
  // The CLI finds the job's group by itself.
  const r = await runCli(t.url, ['logs', id]);
  assert.equal(r.code, 0, showRun(r));
  assert.equal(r.stdout, 'frame done\n');
  assert.ok(existsSync(gate));
});

test('a definition without logConfiguration logs to /aws/batch/job, its stream listed while running', async () => {
  const gate = join(gates, 'default-open');
  await registerDefinition(t.client, 'plain', { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done; echo plain`] });
  const id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'plain' });
  const stream = (await waitForStatus(t.client, id, ['RUNNING'])).container!.logStreamName!;
  const listed = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/batch/job', logStreamNamePrefix: 'plain/' }));
  assert.deepEqual(listed.logStreams?.map((x) => x.logStreamName), [stream]);
  writeFileSync(gate, '');
  await waitForStatus(t.client, id, ['SUCCEEDED']);
  const read = await logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true }));
  assert.deepEqual(read.events?.map((e) => e.message), ['plain']);
});
