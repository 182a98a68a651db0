/**
 * `openbatch logs <job> [-f] [--attempt N]`: a job's output through the CloudWatch Logs API
 * of the same endpoint.
 *
 * Without -f it prints the current (or given) attempt's lines and exits. With -f it prints
 * every attempt from the first and follows: it polls the job and reads its stream forward (GetLogEvents with the forward token, which
 * comes back unchanged while there is nothing new). When a retry starts a new attempt, the
 * old stream is read to its end first, then the new one from its head — including attempts
 * that came and went between two polls. When the job ends, its stream is read to the end
 * and the command exits as `submit --wait` does: 0 if the job SUCCEEDED, 1 otherwise.
 */
import type { Command } from 'commander';
import type { JobDetail } from '@aws-sdk/client-batch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { waitOutcomeLine } from './jobs.js';
import { describeJob, sleep, waitForJob } from './wait.js';
import { fullTime } from './output.js';
import { NOTICE_PREFIX } from '../executor/types.js';

const DEFAULT_LOG_GROUP = '/aws/batch/job';

/**
 * The job's log group: its definition's awslogs-group option, as DescribeJobs shows it (a
 * task's: its first essential container's, which openbatch writes every container's stream to).
 */
export function logGroupOfJob(job: JobDetail): string {
  const task = job.ecsProperties?.taskProperties?.[0]?.containers?.find((c) => c.essential !== false);
  return (task ?? job.container)?.logConfiguration?.options?.['awslogs-group'] || DEFAULT_LOG_GROUP;
}
const FINAL = new Set(['SUCCEEDED', 'FAILED']);

interface LogsFlags extends ConnectionFlags {
  follow?: boolean;
  attempt?: number;
  timestamps?: boolean;
  container?: string;
}

/**
 * The container of a job of several containers (ecsProperties, eksProperties) whose output
 * is printed: the one named, else an ECS task's first essential container or an EKS pod's
 * first container. Undefined for a job of one container.
 */
export function taskContainer(job: JobDetail, named: string | undefined): string | undefined {
  const ecs = job.ecsProperties?.taskProperties?.[0]?.containers;
  const eks = job.eksProperties?.podProperties;
  const names = ecs ? ecs.map((c) => c.name ?? '') : eks ? [...(eks.containers ?? []), ...(eks.initContainers ?? [])].map((c) => c.name ?? '') : undefined;
  if (!names) {
    if (named !== undefined) throw new CliError(`job ${job.jobId} has one container: --container is for jobs of several (ecsProperties, eksProperties)`);
    return undefined;
  }
  if (named !== undefined && !names.includes(named)) throw new CliError(`job ${job.jobId} has no container '${named}' (it has ${names.map((n) => `'${n}'`).join(', ')})`);
  return named ?? (ecs ? (ecs.find((c) => c.essential !== false)?.name ?? names[0]) : names[0]);
}

/** The log stream of each attempt so far, attempt 1 first (the running one last); a task's: that container's. */
export function attemptStreams(job: JobDetail, container?: string): string[] {
  let streams: string[];
  let current: string | undefined;
  if (container === undefined) {
    streams = (job.attempts ?? []).map((a) => a.container?.logStreamName ?? '');
    current = job.container?.logStreamName;
  } else if (job.ecsProperties) {
    const of = (list: { name?: string; logStreamName?: string }[] | undefined) => list?.find((c) => c.name === container)?.logStreamName ?? '';
    streams = (job.attempts ?? []).map((a) => of(a.taskProperties?.[0]?.containers));
    current = of(job.ecsProperties.taskProperties?.[0]?.containers) || undefined;
  } else {
    // An EKS job's containers have no logStreamName in AWS's shapes: each writes the stream
    // <definition>/<container>/<pod id> (docs/compatibility.md), the pod being aws-batch.<pod id>.
    const definition = job.jobDefinition?.split('/').pop()?.split(':')[0] ?? '';
    const stream = (pod: string | undefined) => (pod?.startsWith('aws-batch.') ? `${definition}/${container}/${pod.slice('aws-batch.'.length)}` : '');
    streams = (job.eksAttempts ?? []).map((a) => stream(a.podName));
    current = stream(job.eksProperties?.podProperties?.podName) || undefined;
  }
  if (current && streams[streams.length - 1] !== current) streams.push(current);
  return streams;
}

/** Whether attempt `n` (1-based, ended) exited 0: its container's, or a task's printed container's. */
function attemptSucceeded(job: JobDetail, n: number, container: string | undefined): boolean {
  if (container === undefined) return job.attempts?.[n - 1]?.container?.exitCode === 0;
  const ecs = job.attempts?.[n - 1]?.taskProperties?.[0]?.containers;
  const eks = job.eksAttempts?.[n - 1];
  const all = ecs ?? [...(eks?.containers ?? []), ...(eks?.initContainers ?? [])];
  return all.find((c) => c.name === container)?.exitCode === 0;
}

/**
 * A stream read forward from a token: prints every event up to the end there is now. The
 * job's output goes to stdout; an attempt's first line saying what its host could not enforce
 * (NOTICE_PREFIX, docs/executors.md) stays in the stream but goes to stderr, so that
 * `openbatch logs job > out` holds what the job wrote and nothing else.
 */
class StreamReader {
  private token: string | undefined;
  private first = true;

  constructor(
    private readonly logs: CloudWatchLogsClient,
    readonly stream: string,
    private readonly timestamps: boolean,
    private readonly group: string,
  ) {}

  async drain(): Promise<void> {
    const { GetLogEventsCommand } = await import('@aws-sdk/client-cloudwatch-logs');
    for (;;) {
      let res;
      try {
        res = await this.logs.send(new GetLogEventsCommand({ logGroupName: this.group, logStreamName: this.stream, startFromHead: true, nextToken: this.token }));
      } catch (e) {
        // A stream whose events retention has removed reads as empty.
        if ((e as Error).name === 'ResourceNotFoundException') return;
        throw e;
      }
      const events = [...(res.events ?? [])];
      const read = events.length;
      const line = (e: (typeof events)[number]) => (this.timestamps ? `${fullTime(e.timestamp)}  ${e.message}` : e.message);
      if (this.first && events.length) {
        this.first = false;
        if (events[0].message?.startsWith(NOTICE_PREFIX)) process.stderr.write(line(events.shift()!) + '\n');
      }
      if (events.length) {
        const text = events.map(line).join('\n') + '\n';
        await new Promise<void>((resolve) => (process.stdout.write(text) ? resolve() : process.stdout.once('drain', resolve)));
      }
      const same = res.nextForwardToken === this.token;
      this.token = res.nextForwardToken;
      if (same || read === 0) return;
    }
  }
}

async function logs(jobId: string, flags: LogsFlags): Promise<void> {
  await withClient(flags, async (conn) => {
    const client = await conn.logs();
    let job = await describeJob(conn.batch, jobId);
    if (job.arrayProperties?.size !== undefined) {
      throw new CliError(`job ${jobId} is an array job: its children have the logs (openbatch logs ${jobId}:0)`);
    }
    const fixed = flags.attempt;
    const container = taskContainer(job, flags.container);
    let streams = attemptStreams(job, container);
    if (fixed !== undefined && fixed > streams.length && (!flags.follow || FINAL.has(job.status!))) {
      throw new CliError(`job ${jobId} has ${streams.length === 0 ? 'no attempts yet' : `${streams.length} attempt${streams.length > 1 ? 's' : ''}`}, not attempt ${fixed}`);
    }
    // The attempt being printed, 1-based; 0 = none has started yet. Following the job prints
    // every attempt from the first; a one-off read prints the latest.
    let n = fixed ?? (flags.follow ? Math.min(1, streams.length) : streams.length);
    if (!flags.follow) {
      if (n === 0) {
        process.stderr.write(`job ${jobId} is ${job.status} and has no output yet (openbatch logs -f ${jobId} waits for it)\n`);
        return;
      }
      await new StreamReader(client, streams[n - 1], !!flags.timestamps, logGroupOfJob(job)).drain();
      return;
    }
    if (streams.length === 0 && !FINAL.has(job.status!)) {
      // Nothing to print yet: say what the job does meanwhile, and stop if it cannot run.
      const waited = await waitForJob(conn, jobId, { until: (j) => attemptStreams(j, container).length > 0 });
      if (waited.cannotRun) {
        process.stderr.write(waitOutcomeLine(waited) + '\n');
        process.exitCode = 1;
        return;
      }
      job = waited.job;
      streams = attemptStreams(job, container);
      n = fixed ?? Math.min(1, streams.length);
    }
    let reader: StreamReader | undefined;
    let interval = 100;
    for (;;) {
      // Print what there is, attempt by attempt up to the latest (when following the job).
      for (;;) {
        if (!reader && n >= 1 && n <= streams.length) reader = new StreamReader(client, streams[n - 1], !!flags.timestamps, logGroupOfJob(job));
        if (reader) await reader.drain();
        if (fixed !== undefined || n >= streams.length) break;
        n++;
        reader = undefined;
        if (n > 1) process.stderr.write(`--- attempt ${n} (log stream ${streams[n - 1]}) ---\n`);
      }
      // `job` was read before the logs just drained: if it had ended, they are complete.
      if (fixed !== undefined && ((container !== undefined && !job.ecsProperties ? job.eksAttempts : job.attempts)?.length ?? 0) >= fixed) {
        process.exitCode = attemptSucceeded(job, fixed, container) ? 0 : 1;
        return;
      }
      if (FINAL.has(job.status!)) {
        if (n === 0 || (fixed !== undefined && fixed > streams.length)) {
          process.stderr.write(`job ${jobId} ended ${job.status} without running${fixed !== undefined ? ` attempt ${fixed}` : ''}: ${job.statusReason ?? ''}\n`);
        }
        process.exitCode = job.status === 'SUCCEEDED' ? 0 : 1;
        return;
      }
      await sleep(interval);
      interval = Math.min(interval * 1.5, 500);
      job = await describeJob(conn.batch, jobId);
      streams = attemptStreams(job, container);
    }
  });
}

export function registerLogsCommand(program: Command): void {
  program.command('logs').description("print a job's output; -f follows it to the end, across retries")
    .argument('<jobId>', 'the job id (array child: <id>:<index>)')
    .option('-f, --follow', 'keep printing new lines until the job ends; exit 0 if it SUCCEEDED, 1 otherwise')
    .option('-a, --attempt <n>', 'this attempt (1 = the first) instead of the latest', (v) => {
      if (!/^[1-9]\d*$/.test(v)) throw new CliError(`--attempt must be a whole number from 1 (got '${v}')`);
      return Number(v);
    })
    .option('-t, --timestamps', 'start each line with its time')
    .option('-c, --container <name>', "a job of several containers (ecsProperties, eksProperties): this container's output (default: the first essential one)")
    .addHelpText('after', '\nExamples:\n  openbatch logs 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d\n  openbatch logs -f $(openbatch submit -- sh -c "for i in 1 2 3; do echo $i; sleep 1; done")\n  openbatch logs --attempt 1 <jobId>     # the first attempt of a retried job\n  openbatch logs --container sidecar <jobId>   # one container of a multi-container job')
    .action(logs);
}
