/**
 * The CloudWatch Logs read API on the openbatch endpoint, read with the SDK's
 * CloudWatchLogsClient (and Debian's `aws logs` when installed) against real jobs' output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  paginateFilterLogEvents,
  paginateGetLogEvents,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import pino from 'pino';
import { systemTimers } from '../../src/model/ids.js';
import { LogRetention } from '../../src/logs/retention.js';
import { appendLogEvents } from '../../src/store/logEvents.js';
import { basicFarm, submit, waitForStatus } from '../helpers/fixtures.js';
import { sharedDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const GROUP = '/aws/batch/job';
const AWS = '/usr/bin/aws';

function logsClient(url: string): CloudWatchLogsClient {
  return new CloudWatchLogsClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

/** Submits a job running `sh -c script` and waits for it to succeed; returns its log stream. */
async function runScript(t: TestServer, farm: { queueName: string; definitionName: string }, name: string, script: string): Promise<string> {
  const jobId = await submit(t.client, {
    jobName: name,
    jobQueue: farm.queueName,
    jobDefinition: farm.definitionName,
    containerOverrides: { command: ['sh', '-c', script] },
  });
  const job = await waitForStatus(t.client, jobId, ['SUCCEEDED', 'FAILED']);
  assert.equal(job.status, 'SUCCEEDED', `${name}: ${job.statusReason}`);
  return job.container!.logStreamName!;
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

describe('CloudWatch Logs API: reading a job’s output', () => {
  let t: TestServer;
  let logs: CloudWatchLogsClient;
  let big: string; // 250 lines: line 1 … line 250
  let mixed: string; // a few lines with terms to filter on

  before(async () => {
    t = await startTestServer();
    logs = logsClient(t.url);
    const farm = await basicFarm(t.client, 'logs');
    big = await runScript(t, farm, 'big', 'i=1; while [ $i -le 250 ]; do echo "line $i"; i=$((i+1)); done');
    mixed = await runScript(
      t,
      farm,
      'mixed',
      'echo "alpha ERROR one"; echo "beta WARN two"; echo "gamma ERROR disk full"; echo "delta error lower"; echo "epsilon [ERROR] bracketed"',
    );
  });
  after(async () => {
    logs.destroy();
    await t.close();
  });

  test('without startFromHead GetLogEvents answers the newest events', async () => {
    const res = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 10 }));
    assert.deepEqual(res.events!.map((e) => e.message), lines(241, 250));
    for (const e of res.events!) assert.ok(e.timestamp! > 0 && e.ingestionTime! >= e.timestamp! - 60_000);
    const all = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big }));
    assert.deepEqual(all.events!.map((e) => e.message), lines(1, 250));
  });

  test('pages forward through 250 lines with nextForwardToken until the same token comes back', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, startFromHead: true, limit: 100, nextToken: token }));
      sizes.push(res.events!.length);
      seen.push(...res.events!.map((e) => e.message!));
      if (res.nextForwardToken === token) break;
      token = res.nextForwardToken;
    }
    assert.deepEqual(sizes, [100, 100, 50, 0]);
    assert.deepEqual(seen, lines(1, 250));
  });

  test('pages backward through 250 lines with nextBackwardToken until the same token comes back', async () => {
    const pages: string[][] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 100, nextToken: token }));
      pages.push(res.events!.map((e) => e.message!));
      if (res.nextBackwardToken === token) break;
      token = res.nextBackwardToken;
    }
    assert.deepEqual(pages, [lines(151, 250), lines(51, 150), lines(1, 50), []]);
  });

  test('turning around: the forward token of a backward page continues after that page', async () => {
    const tail = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 100 }));
    const before = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 30, nextToken: tail.nextBackwardToken }));
    assert.deepEqual(before.events!.map((e) => e.message), lines(121, 150));
    const again = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 5, nextToken: before.nextForwardToken, startFromHead: true }));
    assert.deepEqual(again.events!.map((e) => e.message), lines(151, 155));
    const end = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, nextToken: tail.nextForwardToken, startFromHead: true }));
    assert.deepEqual(end.events, []);
    assert.equal(end.nextForwardToken, tail.nextForwardToken);
    // From an empty end, backward reads the last events again.
    const back = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 2, nextToken: end.nextBackwardToken }));
    assert.deepEqual(back.events!.map((e) => e.message), lines(249, 250));
  });

  test("the SDK's paginator (stopOnSameToken, as GetLogEvents needs) reads the whole stream and stops", async () => {
    const seen: string[] = [];
    for await (const page of paginateGetLogEvents({ client: logs, pageSize: 64, stopOnSameToken: true }, { logGroupName: GROUP, logStreamName: big, startFromHead: true })) {
      seen.push(...page.events!.map((e) => e.message!));
    }
    assert.deepEqual(seen, lines(1, 250));
  });

  async function filter(filterPattern: string | undefined, extra: Record<string, unknown> = {}): Promise<string[]> {
    const res = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [mixed], filterPattern, ...extra }));
    return res.events!.map((e) => e.message!);
  }

  test('FilterLogEvents matches terms case-sensitively, quoted phrases, ?either and -excluded terms', async () => {
    assert.deepEqual(await filter('ERROR'), ['alpha ERROR one', 'gamma ERROR disk full', 'epsilon [ERROR] bracketed']);
    assert.deepEqual(await filter('error'), ['delta error lower']);
    assert.deepEqual(await filter('ERROR full'), ['gamma ERROR disk full']);
    assert.deepEqual(await filter('"disk full"'), ['gamma ERROR disk full']);
    assert.deepEqual(await filter('"full disk"'), []);
    assert.deepEqual(await filter('"[ERROR]"'), ['epsilon [ERROR] bracketed']);
    assert.deepEqual(await filter('?WARN ?lower'), ['beta WARN two', 'delta error lower']);
    assert.deepEqual(await filter('ERROR -disk -"[ERROR]"'), ['alpha ERROR one']);
    assert.deepEqual(await filter(''), await filter(undefined));
    assert.equal((await filter(undefined)).length, 5);
  });

  test('FilterLogEvents events carry logStreamName and eventId; streams are chosen by name or prefix', async () => {
    const res = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '"line 25"' }));
    // line 25 and line 250 both contain "line 25"
    assert.deepEqual(res.events!.map((e) => e.message), ['line 25', 'line 250']);
    for (const e of res.events!) {
      assert.equal(e.logStreamName, big);
      assert.match(e.eventId!, /^\d+$/);
    }
    assert.notEqual(res.events![0].eventId, res.events![1].eventId);
    const byPrefix = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: mixed.slice(0, -4), filterPattern: 'line' }));
    assert.deepEqual(byPrefix.events, []);
    const byPrefix2 = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNamePrefix: mixed.slice(0, -4), filterPattern: 'WARN' }));
    assert.deepEqual(byPrefix2.events!.map((e) => e.logStreamName), [mixed]);
    const both = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [big, mixed], filterPattern: '?WARN ?"line 7"' }));
    assert.deepEqual(new Set(both.events!.map((e) => e.message)), new Set(['line 7', 'line 70', 'line 71', 'line 72', 'line 73', 'line 74', 'line 75', 'line 76', 'line 77', 'line 78', 'line 79', 'beta WARN two']));
  });

  test('FilterLogEvents pages with limit and nextToken', async () => {
    const seen: FilteredLogEvent[] = [];
    let pages = 0;
    for await (const page of paginateFilterLogEvents({ client: logs, pageSize: 40 }, { logGroupName: GROUP, logStreamNames: [big] })) {
      pages++;
      assert.ok(page.events!.length <= 40);
      seen.push(...page.events!);
    }
    assert.equal(pages, 7);
    assert.deepEqual(seen.map((e) => e.message), lines(1, 250));
    assert.equal(new Set(seen.map((e) => e.eventId)).size, 250);
    const first = await logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [big], limit: 250 }));
    assert.equal(first.nextToken, undefined, 'no nextToken when everything fit');
  });

  test('DescribeLogStreams lists the streams by name or last event time, paged', async () => {
    const res = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    const names = res.logStreams!.map((s) => s.logStreamName);
    assert.deepEqual(names, [big, mixed].sort());
    const s = res.logStreams!.find((x) => x.logStreamName === big)!;
    assert.ok(s.firstEventTimestamp! <= s.lastEventTimestamp!);
    assert.ok(s.lastIngestionTime! >= s.creationTime!);
    assert.equal(s.storedBytes, 0);
    assert.equal(s.arn, `arn:aws:logs:us-east-1:000000000000:log-group:${GROUP}:log-stream:${big}`);
    const newest = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', descending: true, limit: 1 }));
    assert.deepEqual(newest.logStreams!.map((x) => x.logStreamName), [mixed]);
    const next = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', descending: true, limit: 1, nextToken: newest.nextToken }));
    assert.deepEqual(next.logStreams!.map((x) => x.logStreamName), [big]);
    assert.equal(next.nextToken, undefined);
    const byPrefix = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: big.slice(0, 12) }));
    assert.ok(byPrefix.logStreams!.every((x) => x.logStreamName!.startsWith(big.slice(0, 12))));
    const none = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, logStreamNamePrefix: 'no-such-prefix/' }));
    assert.deepEqual(none.logStreams, []);
  });

  test('DescribeLogGroups always has /aws/batch/job', async () => {
    const res = await logs.send(new DescribeLogGroupsCommand({}));
    assert.deepEqual(res.logGroups!.map((g) => g.logGroupName), [GROUP]);
    assert.equal(res.logGroups![0].arn, `arn:aws:logs:us-east-1:000000000000:log-group:${GROUP}:*`);
    assert.equal(res.logGroups![0].retentionInDays, undefined, 'kept forever by default');
    const prefixed = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/batch' }));
    assert.equal(prefixed.logGroups!.length, 1);
    const other = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda' }));
    assert.deepEqual(other.logGroups, []);
  });

  test("errors are CloudWatch's: ResourceNotFoundException and InvalidParameterException, HTTP 400", async () => {
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => logs.send(new GetLogEventsCommand({ logGroupName: '/nope', logStreamName: big })), 'ResourceNotFoundException', /log group '\/nope' does not exist/],
      [() => logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'no/such/stream' })), 'ResourceNotFoundException', /log stream 'no\/such\/stream' does not exist/],
      [() => logs.send(new DescribeLogStreamsCommand({ logGroupName: '/nope' })), 'ResourceNotFoundException', /does not exist/],
      [() => logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, logStreamNames: [big], logStreamNamePrefix: 'x' })), 'InvalidParameterException', /not both/],
      [() => logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '{ $.level = "error" }' })), 'InvalidParameterException', /JSON patterns .* not supported/],
      [() => logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, filterPattern: '"unclosed' })), 'InvalidParameterException', /no closing quote/],
      [() => logs.send(new FilterLogEventsCommand({ logGroupName: GROUP, nextToken: 'garbage' })), 'InvalidParameterException', /nextToken is invalid/],
      [() => logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, nextToken: 'x/1' })), 'InvalidParameterException', /nextToken is invalid/],
      [() => logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: big, limit: 0 })), 'InvalidParameterException', /limit must be an integer from 1 to 10000/],
      [() => logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP, orderBy: 'LastEventTime', logStreamNamePrefix: 'a' })), 'InvalidParameterException', /cannot be used with orderBy LastEventTime/],
    ];
    for (const [call, name, message] of cases) {
      await assert.rejects(call, (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(e.name, name, e.message);
        assert.match(e.message, message);
        assert.equal(e.$metadata?.httpStatusCode, 400);
        return true;
      });
    }
    const raw = await fetch(t.url + '/', {
      method: 'POST',
      headers: { 'x-amz-target': 'Logs_20140328.GetLogEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ logGroupName: '/nope', logStreamName: 's' }),
    });
    assert.equal(raw.status, 400);
    const body = (await raw.json()) as { __type: string; message: string };
    assert.equal(body.__type, 'ResourceNotFoundException');
    assert.match(body.message, /does not exist/);
  });

  test('the stream of a running job that has printed nothing yet reads as empty, not missing', async () => {
    const dir = sharedDir('openbatch-logs-gate-');
    try {
      const farm = { queueName: 'logs-q', definitionName: 'logs-def' };
      const jobId = await submit(t.client, {
        jobName: 'quiet',
        jobQueue: farm.queueName,
        jobDefinition: farm.definitionName,
        containerOverrides: { command: ['sh', '-c', `while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo done`] },
      });
      const running = await waitForStatus(t.client, jobId, ['RUNNING']);
      const stream = running.container!.logStreamName!;
      const res = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, startFromHead: true }));
      assert.deepEqual(res.events, []);
      writeFileSync(join(dir, 'go'), '');
      await waitForStatus(t.client, jobId, ['SUCCEEDED']);
      const after = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: stream, nextToken: res.nextForwardToken, startFromHead: true }));
      assert.deepEqual(after.events!.map((e) => e.message), ['done']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("Debian's aws CLI", { skip: existsSync(AWS) ? false : `${AWS} is missing (apt-get install awscli)` }, () => {
    function aws(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
      const home = tempDir('openbatch-aws-home-');
      Object.assign(env, {
        PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}`,
        HOME: home,
        AWS_CONFIG_FILE: join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_PAGER: '',
      });
      return new Promise((resolve, reject) => {
        const child = spawn(AWS, [...args, '--endpoint-url', t.url, '--output', 'json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.once('error', reject);
        child.once('close', (code) => {
          rmSync(home, { recursive: true, force: true });
          resolve({ code, stdout, stderr });
        });
      });
    }

    test('aws logs get-log-events reads the job output from the head', async () => {
      const r = await aws(['logs', 'get-log-events', '--log-group-name', GROUP, '--log-stream-name', big, '--start-from-head', '--query', 'events[].message']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), lines(1, 250));
    });

    test('aws logs filter-log-events finds a quoted phrase and names the stream', async () => {
      const r = await aws(['logs', 'filter-log-events', '--log-group-name', GROUP, '--filter-pattern', '"disk full"', '--query', 'events[].[logStreamName,message]']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [[mixed, 'gamma ERROR disk full']]);
    });

    test('aws logs describe-log-streams and describe-log-groups', async () => {
      const streams = await aws(['logs', 'describe-log-streams', '--log-group-name', GROUP, '--query', 'logStreams[].logStreamName']);
      assert.equal(streams.code, 0, streams.stderr);
      assert.ok((JSON.parse(streams.stdout) as string[]).includes(big));
      const groups = await aws(['logs', 'describe-log-groups', '--query', 'logGroups[].logGroupName']);
      assert.equal(groups.code, 0, groups.stderr);
      assert.deepEqual(JSON.parse(groups.stdout), [GROUP]);
    });
  });
});

describe('time ranges and log retention (events with chosen timestamps)', () => {
  const DAY = 24 * 60 * 60 * 1000;
  let t: TestServer;
  let logs: CloudWatchLogsClient;
  before(async () => {
    t = await startTestServer({ logRetentionDays: 7 });
    logs = logsClient(t.url);
  });
  after(async () => {
    logs.destroy();
    await t.close();
  });

  test('startTime and endTime bound GetLogEvents (endTime excluded) and FilterLogEvents (endTime included)', async () => {
    const stream = 'timed/default/1';
    await appendLogEvents(
      t.server.services.db,
      [1000, 2000, 3000, 4000].map((timestamp) => ({ logGroup: '/openbatch/timed', logStream: stream, timestamp, message: `at ${timestamp}` })),
      Date.now(),
    );
    const get = await logs.send(new GetLogEventsCommand({ logGroupName: '/openbatch/timed', logStreamName: stream, startFromHead: true, startTime: 2000, endTime: 4000 }));
    assert.deepEqual(get.events!.map((e) => e.message), ['at 2000', 'at 3000']);
    const tail = await logs.send(new GetLogEventsCommand({ logGroupName: '/openbatch/timed', logStreamName: stream, limit: 1, endTime: 4000 }));
    assert.deepEqual(tail.events!.map((e) => e.message), ['at 3000']);
    const filtered = await logs.send(new FilterLogEventsCommand({ logGroupName: '/openbatch/timed', startTime: 2000, endTime: 4000 }));
    assert.deepEqual(filtered.events!.map((e) => e.message), ['at 2000', 'at 3000', 'at 4000']);
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/openbatch' }));
    assert.deepEqual(groups.logGroups!.map((g) => g.logGroupName), ['/openbatch/timed']);
  });

  test('a sweep deletes events older than logRetentionDays and streams left empty; DescribeLogGroups shows the retention', async () => {
    const now = Date.now();
    const db = t.server.services.db;
    await appendLogEvents(
      db,
      [
        { logGroup: GROUP, logStream: 'old/default/1', timestamp: now - 30 * DAY, message: 'very old' },
        { logGroup: GROUP, logStream: 'mixed/default/2', timestamp: now - 8 * DAY, message: 'expired' },
        { logGroup: GROUP, logStream: 'mixed/default/2', timestamp: now - 6 * DAY, message: 'kept' },
        { logGroup: GROUP, logStream: 'new/default/3', timestamp: now, message: 'fresh' },
      ],
      now,
    );
    const retention = new LogRetention({ db, clock: { now: () => now }, timers: systemTimers, logger: pino({ level: 'silent' }), days: 7 });
    // the two expired events here and the four 1970 events of the time-range test
    assert.equal(await retention.sweep(), 6);
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: GROUP }));
    assert.deepEqual(streams.logStreams!.map((s) => s.logStreamName), ['mixed/default/2', 'new/default/3']);
    assert.equal(streams.logStreams![0].firstEventTimestamp, now - 6 * DAY);
    const mixed = await logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'mixed/default/2', startFromHead: true }));
    assert.deepEqual(mixed.events!.map((e) => e.message), ['kept']);
    await assert.rejects(logs.send(new GetLogEventsCommand({ logGroupName: GROUP, logStreamName: 'old/default/1' })), { name: 'ResourceNotFoundException' });
    const groups = await logs.send(new DescribeLogGroupsCommand({}));
    assert.deepEqual(groups.logGroups!.map((g) => g.logGroupName), [GROUP], 'a group left without streams is gone; the default group stays');
    assert.equal(groups.logGroups![0].retentionInDays, 7);
    assert.equal(await retention.sweep(), 0, 'a second sweep finds nothing more');
    const forever = new LogRetention({ db, clock: { now: () => now + 1000 * DAY }, timers: systemTimers, logger: pino({ level: 'silent' }), days: 0 });
    assert.equal(await forever.sweep(), 0, 'logRetentionDays 0 keeps everything');
  });
});
