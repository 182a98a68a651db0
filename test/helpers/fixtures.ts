/**
 * Fluent fixtures for the AWS Batch resources tests need, through the real SDK:
 *   await farm(client).ce('local', { maxvCpus: 2 }).queue('q').definition('hello', { command: ['echo', 'hi'] }).create()
 * and waiting for a job to reach a status.
 */
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  SubmitJobCommand,
  type BatchClient,
  type ContainerProperties,
  type JobDetail,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import type { JobUsageDetail } from '../../src/model/usage.js';

export interface CeOptions {
  maxvCpus?: number;
  minvCpus?: number;
  /** default ['optimal'] */
  instanceTypes?: string[];
  /** a launch template of the server's configuration (launchTemplates), by name */
  launchTemplate?: string;
  type?: 'EC2' | 'SPOT' | 'FARGATE' | 'FARGATE_SPOT';
  state?: 'ENABLED' | 'DISABLED';
  tags?: Record<string, string>;
}

export async function createCe(client: BatchClient, name: string, o: CeOptions = {}): Promise<string> {
  const type = o.type ?? 'EC2';
  const fargate = type.startsWith('FARGATE');
  const res = await client.send(
    new CreateComputeEnvironmentCommand({
      computeEnvironmentName: name,
      type: 'MANAGED',
      state: o.state,
      tags: o.tags,
      computeResources: fargate
        ? { type, maxvCpus: o.maxvCpus ?? 2, subnets: ['subnet-1'], securityGroupIds: ['sg-1'] }
        : {
            type,
            minvCpus: o.minvCpus ?? 0,
            maxvCpus: o.maxvCpus ?? 2,
            instanceTypes: o.instanceTypes ?? ['optimal'],
            subnets: ['subnet-1'],
            instanceRole: 'ecsInstanceRole',
            launchTemplate: o.launchTemplate ? { launchTemplateName: o.launchTemplate } : undefined,
            // AWS asks SPOT under BEST_FIT (the default strategy) for its Spot Fleet role.
            spotIamFleetRole: type === 'SPOT' ? 'arn:aws:iam::000000000000:role/AmazonEC2SpotFleetTaggingRole' : undefined,
          },
    }),
  );
  return res.computeEnvironmentArn!;
}

export async function createQueue(client: BatchClient, name: string, ces: string[], priority = 10): Promise<string> {
  const res = await client.send(
    new CreateJobQueueCommand({
      jobQueueName: name,
      priority,
      computeEnvironmentOrder: ces.map((ce, i) => ({ order: i + 1, computeEnvironment: ce })),
    }),
  );
  return res.jobQueueArn!;
}

export async function registerDefinition(
  client: BatchClient,
  name: string,
  container: Partial<ContainerProperties> = {},
  extra: { parameters?: Record<string, string>; retryStrategy?: { attempts?: number }; timeout?: { attemptDurationSeconds?: number } } = {},
): Promise<string> {
  const res = await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      containerProperties: {
        image: 'busybox',
        command: ['true'],
        resourceRequirements: [
          { type: 'VCPU', value: '1' },
          { type: 'MEMORY', value: '256' },
        ],
        ...container,
      },
      ...extra,
    }),
  );
  return res.jobDefinitionArn!;
}

/** A CE, a queue on it and a job definition, named after `prefix`. */
export async function basicFarm(client: BatchClient, prefix: string, o: CeOptions & { command?: string[] } = {}) {
  const ce = await createCe(client, `${prefix}-ce`, o);
  const queue = await createQueue(client, `${prefix}-q`, [`${prefix}-ce`]);
  const definition = await registerDefinition(client, `${prefix}-def`, { command: o.command ?? ['true'] });
  return { ce, queue, definition, queueName: `${prefix}-q`, definitionName: `${prefix}-def` };
}

export async function submit(client: BatchClient, input: Partial<SubmitJobCommandInput> & { jobQueue: string; jobDefinition: string }): Promise<string> {
  const res = await client.send(new SubmitJobCommand({ jobName: 'test-job', ...input }));
  return res.jobId!;
}

export async function describeJob(client: BatchClient, jobId: string): Promise<JobDetail> {
  const res = await client.send(new DescribeJobsCommand({ jobs: [jobId] }));
  if (!res.jobs?.[0]) throw new Error(`job ${jobId} not found`);
  return res.jobs[0];
}

/** DescribeJobs' answer as it comes over the wire, with the `openbatch:usage` member the SDK drops. */
export async function rawDescribeJobs(url: string, ids: string[]): Promise<{ jobs: JobDetail[]; 'openbatch:usage': Record<string, JobUsageDetail> }> {
  const signer = { endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return requestOpenbatch(signer, 'POST', '/v1/describejobs', {}, { jobs: ids });
}

/** What a job's attempts used, from DescribeJobs' `openbatch:usage` (undefined: nothing measured). */
export async function jobUsage(url: string, jobId: string): Promise<JobUsageDetail | undefined> {
  return (await rawDescribeJobs(url, [jobId]))['openbatch:usage'][jobId];
}

/** The log lines of one stream, from the server's CloudWatch Logs API, through the real SDK. */
export async function logLines(url: string, stream: string, credentials = { accessKeyId: 'test', secretAccessKey: 'test' }): Promise<string[]> {
  const logs = new CloudWatchLogsClient({ endpoint: url, region: 'us-east-1', credentials });
  try {
    const res = await logs.send(new GetLogEventsCommand({ logGroupName: '/aws/batch/job', logStreamName: stream, startFromHead: true }));
    return (res.events ?? []).map((e) => e.message ?? '');
  } finally {
    logs.destroy();
  }
}

/** Polls DescribeJobs until the job is in one of `statuses`; fails after `timeoutMs` with the last state seen. */
/**
 * Polls DescribeJobs until the job is in one of `statuses`. On a timeout the error says the
 * job's last status, and what `explain` adds (the state of whatever the job waits on).
 */
export async function waitForStatus(
  client: BatchClient,
  jobId: string,
  statuses: string[],
  timeoutMs = 30_000,
  explain?: () => string | Promise<string>,
): Promise<JobDetail> {
  const deadline = Date.now() + timeoutMs;
  let last: JobDetail | undefined;
  while (Date.now() < deadline) {
    last = await describeJob(client, jobId);
    if (statuses.includes(last.status!)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  const more = explain ? `\n${await Promise.resolve(explain()).catch((e: Error) => `(could not explain: ${e.message})`)}` : '';
  throw new Error(`job ${jobId} did not reach ${statuses.join('|')} in ${timeoutMs} ms; last: ${last?.status} ${last?.statusReason ?? ''}${more}`);
}

/** Polls `check` until it returns a value that is not undefined; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
