/**
 * `openbatch init`, `queues` and `ces`: the resources jobs run on.
 *
 * `init` creates what the quick start needs and nothing else: a MANAGED EC2 compute
 * environment `default` as large as this host, a job queue `default` on it and a job
 * definition `default` that echoes a greeting. Whatever already exists is left as it is,
 * so running it again changes nothing and says so.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  RegisterJobDefinitionCommand,
  type BatchClient,
  type ComputeEnvironmentDetail,
  type JobQueueDetail,
} from '@aws-sdk/client-batch';
import { withClient, type ConnectionFlags } from './client.js';
import { json, nameOfArn, table, wantsJson } from './output.js';
import { REASONS } from '../model/reasons.js';

export const DEFAULT_NAME = 'default';
export const DEFAULT_COMMAND = ['echo', 'hello', 'from', 'openbatch'];

async function allQueues(batch: BatchClient, names?: string[]): Promise<JobQueueDetail[]> {
  const out: JobQueueDetail[] = [];
  let nextToken: string | undefined;
  do {
    const res = await batch.send(new DescribeJobQueuesCommand({ jobQueues: names, nextToken }));
    out.push(...(res.jobQueues ?? []));
    nextToken = res.nextToken;
  } while (nextToken);
  return out;
}

async function allComputeEnvironments(batch: BatchClient, names?: string[]): Promise<ComputeEnvironmentDetail[]> {
  const out: ComputeEnvironmentDetail[] = [];
  let nextToken: string | undefined;
  do {
    const res = await batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: names, nextToken }));
    out.push(...(res.computeEnvironments ?? []));
    nextToken = res.nextToken;
  } while (nextToken);
  return out;
}

export async function queueNames(batch: BatchClient): Promise<string[]> {
  return (await allQueues(batch)).map((q) => q.jobQueueName!);
}

async function init(flags: ConnectionFlags & { vcpus?: string }): Promise<void> {
  await withClient(flags, async ({ batch, endpoint }) => {
    const lines: string[] = [];
    let created = 0;
    const maxvCpus = flags.vcpus ? Number(flags.vcpus) : availableParallelism();
    const [ce] = await allComputeEnvironments(batch, [DEFAULT_NAME]);
    if (ce) lines.push(`compute environment ${DEFAULT_NAME} exists (${ce.type} ${ce.computeResources?.type ?? ''}, maxvCpus ${ce.computeResources?.maxvCpus ?? '-'}, ${ce.state})`.replace(' ,', ','));
    else {
      await batch.send(
        new CreateComputeEnvironmentCommand({
          computeEnvironmentName: DEFAULT_NAME,
          type: 'MANAGED',
          computeResources: {
            type: 'EC2',
            minvCpus: 0,
            maxvCpus,
            instanceTypes: ['optimal'],
            // Required by the AWS API for EC2; openbatch records them and runs jobs here.
            subnets: ['subnet-openbatch-local'],
            instanceRole: 'ecsInstanceRole',
          },
        }),
      );
      created++;
      lines.push(`created compute environment ${DEFAULT_NAME} (MANAGED EC2, maxvCpus ${maxvCpus})`);
    }
    const [queue] = await allQueues(batch, [DEFAULT_NAME]);
    if (queue) lines.push(`job queue ${DEFAULT_NAME} exists (priority ${queue.priority}, ${queue.state})`);
    else {
      await batch.send(
        new CreateJobQueueCommand({ jobQueueName: DEFAULT_NAME, priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: DEFAULT_NAME }] }),
      );
      created++;
      lines.push(`created job queue ${DEFAULT_NAME} (priority 1, on compute environment ${DEFAULT_NAME})`);
    }
    const defs = await batch.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: DEFAULT_NAME, status: 'ACTIVE' }));
    const def = (defs.jobDefinitions ?? []).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
    if (def) lines.push(`job definition ${DEFAULT_NAME}:${def.revision} exists`);
    else {
      const res = await batch.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: DEFAULT_NAME,
          type: 'container',
          containerProperties: {
            image: 'busybox',
            command: DEFAULT_COMMAND,
            resourceRequirements: [
              { type: 'VCPU', value: '1' },
              { type: 'MEMORY', value: '512' },
            ],
          },
        }),
      );
      created++;
      lines.push(`registered job definition ${DEFAULT_NAME}:${res.revision} (${DEFAULT_COMMAND.join(' ')})`);
    }
    lines.push(
      created
        ? `ready at ${endpoint}: try  openbatch submit --wait`
        : `nothing to change: openbatch at ${endpoint} already has the defaults`,
    );
    process.stdout.write(lines.join('\n') + '\n');
  });
}

async function queues(flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(flags, async ({ batch }) => {
    const list = (await allQueues(batch)).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || a.jobQueueName!.localeCompare(b.jobQueueName!));
    if (wantsJson(flags)) return void process.stdout.write(json({ jobQueues: list }));
    if (!list.length) return void process.stderr.write('no job queues (openbatch init creates one)\n');
    process.stdout.write(
      table(list, [
        { header: 'NAME', value: (q) => q.jobQueueName! },
        { header: 'STATE', value: (q) => q.state ?? '-', colour: (q) => (q.state === 'ENABLED' ? undefined : 'yellow') },
        { header: 'STATUS', value: (q) => q.status ?? '-', colour: (q) => (q.status === 'VALID' ? undefined : 'red') },
        { header: 'PRIORITY', value: (q) => String(q.priority ?? '-'), right: true },
        {
          header: 'COMPUTE ENVIRONMENTS',
          value: (q) =>
            [...(q.computeEnvironmentOrder ?? [])]
              .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
              .map((o) => nameOfArn(o.computeEnvironment))
              .join(', ') || '-',
        },
      ]),
    );
  });
}

function ceType(ce: ComputeEnvironmentDetail): string {
  return ce.type === 'MANAGED' ? `MANAGED ${ce.computeResources?.type ?? ''}`.trim() : (ce.type ?? '-');
}

async function ces(flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(flags, async ({ batch }) => {
    const list = (await allComputeEnvironments(batch)).sort((a, b) => a.computeEnvironmentName!.localeCompare(b.computeEnvironmentName!));
    if (wantsJson(flags)) return void process.stdout.write(json({ computeEnvironments: list }));
    if (!list.length) return void process.stderr.write('no compute environments (openbatch init creates one)\n');
    const n = (v: number | undefined) => (v === undefined ? '-' : String(v));
    process.stdout.write(
      table(list, [
        { header: 'NAME', value: (c) => c.computeEnvironmentName! },
        { header: 'TYPE', value: ceType },
        { header: 'STATE', value: (c) => c.state ?? '-', colour: (c) => (c.state === 'ENABLED' ? undefined : 'yellow') },
        { header: 'STATUS', value: (c) => c.status ?? '-', colour: (c) => (c.status === 'VALID' ? undefined : 'red') },
        { header: 'MIN', value: (c) => n(c.computeResources?.minvCpus), right: true },
        { header: 'DESIRED', value: (c) => n(c.computeResources?.desiredvCpus), right: true },
        { header: 'MAX', value: (c) => n(c.computeResources?.maxvCpus ?? c.unmanagedvCpus), right: true },
        // What is capped or not kept, and why: nothing to say when healthy.
        { header: 'STATUS REASON', value: (c) => (c.statusReason && c.statusReason !== REASONS.healthy ? c.statusReason : '-'), colour: (c) => (c.statusReason && c.statusReason !== REASONS.healthy ? 'yellow' : undefined) },
      ]),
    );
  });
}

export function registerResourceCommands(program: Command): void {
  program
    .command('init')
    .description('create a default compute environment, job queue and job definition (each named default), if missing')
    .option('--vcpus <n>', 'maxvCpus of the compute environment (default: this host’s cores)', (v) => {
      if (!/^[1-9]\d*$/.test(v)) throw new Error(`--vcpus must be a positive whole number (got '${v}')`);
      return v;
    })
    .addHelpText('after', '\nExample:\n  openbatch init && openbatch submit --wait\n\nRunning it again changes nothing and says so.')
    .action(init);

  program.command('queues').description('list job queues: name, state, status, priority and compute environments in order')
    .option('--json', 'print DescribeJobQueues output as JSON')
    .addHelpText('after', '\nExample:\n  openbatch queues\n  openbatch queues --json | jq -r ".jobQueues[].jobQueueName"')
    .action(queues);

  program.command('ces').description('list compute environments: name, type, state, status, min/desired/max vCPUs, and what is capped or not kept (statusReason)')
    .option('--json', 'print DescribeComputeEnvironments output as JSON')
    .addHelpText('after', '\nExample:\n  openbatch ces')
    .action(ces);
}
