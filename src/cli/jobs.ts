/**
 * Job commands: `submit` (optionally waiting, with a progress bar for arrays), `jobs`,
 * `describe`, `cancel` and `terminate`.
 *
 * `jobs` without --status merges, newest first, one ListJobs stream per queue (with a
 * filter, ListJobs returns jobs of every status newest first, as on AWS), reading each only
 * as far as the page needs. With --status it reads ListJobs for each status of each queue,
 * merges them newest first and pages the merged list. Either way --next-token is the CLI's
 * own, as opaque as the server's.
 */
import type { Command } from 'commander';
import {
  CancelJobCommand,
  ListJobsCommand,
  SubmitJobCommand,
  TerminateJobCommand,
  type BatchClient,
  type JobDetail,
  type JobStatus,
  type JobSummary,
  type KeyValuesPair,
  type SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { duration, fullTime, json, keyValues, nameOfArn, paint, colourOn, shortTime, statusColour, summaryText, table, timeHeader, wantsJson, type StatusSummary } from './output.js';
import { DEFAULT_NAME, queueNames } from './resources.js';
import { quoteShellWords, splitShellWords } from './shellWords.js';
import { describeJob, waitForJob, type WaitOutcome } from './wait.js';
import { indexRanges } from '../model/rerun.js';
import type { JobUsageDetail } from '../model/usage.js';
import { describeWithUsage, USAGE_MEMBER, usageLine } from './usage.js';

export const STATUSES: JobStatus[] = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'];
const FINAL = new Set(['SUCCEEDED', 'FAILED']);

// ---- flag parsers (commander calls them per value; a thrown Error becomes the CLI's one line) ----

function intFlag(flag: string, min: number, max: number) {
  return (v: string) => {
    if (!/^-?\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new CliError(`${flag} must be a whole number from ${min} to ${max} (got '${v}')`);
    return Number(v);
  };
}

function pairFlag(flag: string) {
  return (v: string, prev: [string, string][] = []) => {
    const i = v.indexOf('=');
    if (i <= 0) throw new CliError(`${flag} takes KEY=VALUE (got '${v}')`);
    return [...prev, [v.slice(0, i), v.slice(i + 1)] as [string, string]];
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function isArrayParent(job: JobDetail): boolean {
  return job.arrayProperties?.size !== undefined;
}

/** `SUCCEEDED` / `FAILED: <reason> (exit 3)` */
function outcome(job: JobDetail): string {
  const exit = job.container?.exitCode;
  if (job.status === 'SUCCEEDED') return `SUCCEEDED${exit !== undefined ? ` (exit ${exit})` : ''}`;
  return `${job.status}${job.statusReason ? `: ${job.statusReason}` : ''}${exit !== undefined ? ` (exit ${exit})` : ''}`;
}

// ---- submit ----

interface SubmitFlags extends ConnectionFlags {
  queue: string;
  definition: string;
  name?: string;
  command?: string;
  arraySize?: number;
  dependsOn?: string[];
  param?: [string, string][];
  env?: [string, string][];
  vcpus?: string;
  memory?: number;
  retries?: number;
  timeout?: number;
  wait?: boolean;
}

/** A job name AWS accepts, from the definition name: letters, digits, - and _, up to 128. */
function defaultJobName(definition: string): string {
  const name = nameOfArn(definition).split(':')[0].replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (name || 'job').slice(0, 128);
}

export function submitInput(flags: SubmitFlags, args: string[]): SubmitJobCommandInput {
  if (flags.command !== undefined && args.length) throw new CliError('give the command with --command or after --, not both');
  let command: string[] | undefined;
  if (flags.command !== undefined) {
    try {
      command = splitShellWords(flags.command);
    } catch (e) {
      throw new CliError(`--command: ${(e as Error).message}`);
    }
    if (!command.length) throw new CliError('--command is empty');
  } else if (args.length) command = args;
  const resourceRequirements: { type: 'VCPU' | 'MEMORY'; value: string }[] = [];
  if (flags.vcpus !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(flags.vcpus) || Number(flags.vcpus) <= 0) throw new CliError(`--vcpus must be a positive number (got '${flags.vcpus}')`);
    resourceRequirements.push({ type: 'VCPU', value: flags.vcpus });
  }
  if (flags.memory !== undefined) resourceRequirements.push({ type: 'MEMORY', value: String(flags.memory) });
  const overrides = {
    command,
    environment: flags.env?.map(([name, value]) => ({ name, value })),
    resourceRequirements: resourceRequirements.length ? resourceRequirements : undefined,
  };
  const hasOverrides = Object.values(overrides).some((v) => v !== undefined);
  return {
    jobName: flags.name ?? defaultJobName(flags.definition),
    jobQueue: flags.queue,
    jobDefinition: flags.definition,
    arrayProperties: flags.arraySize !== undefined ? { size: flags.arraySize } : undefined,
    dependsOn: flags.dependsOn?.map((d) => {
      const m = /^(.*):(N_TO_N|SEQUENTIAL)$/.exec(d);
      return m ? { jobId: m[1], type: m[2] as 'N_TO_N' | 'SEQUENTIAL' } : { jobId: d };
    }),
    parameters: flags.param ? Object.fromEntries(flags.param) : undefined,
    containerOverrides: hasOverrides ? overrides : undefined,
    retryStrategy: flags.retries !== undefined ? { attempts: flags.retries + 1 } : undefined,
    timeout: flags.timeout !== undefined ? { attemptDurationSeconds: flags.timeout } : undefined,
  };
}

async function submit(args: string[], flags: SubmitFlags): Promise<void> {
  const input = submitInput(flags, args);
  await withClient(flags, async (c) => {
    const res = await c.batch.send(new SubmitJobCommand(input));
    process.stdout.write(wantsJson() ? json({ jobArn: res.jobArn, jobName: res.jobName, jobId: res.jobId }) : `${res.jobId}\n`);
    if (!flags.wait) return;
    const outcome = await waitForJob(c, res.jobId!);
    process.stderr.write(waitOutcomeLine(outcome) + '\n');
    process.exitCode = outcome.job.status === 'SUCCEEDED' && !outcome.cannotRun ? 0 : 1;
  });
}

/** The last line of a wait: how the job ended, or why it cannot run and stays waiting. */
export function waitOutcomeLine({ job, cannotRun, why }: WaitOutcome): string {
  const on = colourOn(process.stderr);
  const name = `${isArrayParent(job) ? 'array job' : 'job'} ${job.jobName} (${job.jobId})`;
  if (cannotRun) {
    return `${name} ${paint('cannot run', 'red', on)}: ${why ?? cannotRun}\n${why ? `${cannotRun}\n` : ''}it stays ${job.status} until it is cancelled (openbatch cancel ${job.jobId}) or its queue can give what it asks`;
  }
  if (isArrayParent(job)) return `${name} ${paint(job.status!, statusColour(job.status), on)}: ${summaryText(job.arrayProperties!.size!, (job.arrayProperties!.statusSummary ?? {}) as StatusSummary)}`;
  return `${name} ${paint(outcome(job), statusColour(job.status), on)}`;
}

// ---- jobs ----

interface JobsFlags extends ConnectionFlags {
  queue?: string;
  /** the children of this array job instead of a queue's jobs */
  arrayJobId?: string;
  status?: string;
  name?: string;
  limit: number;
  nextToken?: string;
  json?: boolean;
}

/** Where one queue's newest-first stream stands: its current server page, how far into it. */
interface QueueCursor {
  /** server token of the page being read (absent: the first page) */
  t?: string;
  /** items of that page already shown */
  k: number;
  /** the id of the last item shown, to find the place again if the first page has moved */
  l?: string;
}

interface JobsToken {
  /** the all-status listing: a cursor per queue not yet exhausted */
  m?: Record<string, QueueCursor>;
  /** the --status listing: offset in the merged list */
  o?: number;
}

function encodeJobsToken(t: JobsToken): string {
  return Buffer.from(JSON.stringify({ jobs: t })).toString('base64url');
}

function decodeJobsToken(token: string | undefined): JobsToken | undefined {
  if (token === undefined) return undefined;
  try {
    const t = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { jobs?: JobsToken }).jobs;
    if (t && ((typeof t.m === 'object' && t.m !== null) || Number.isInteger(t.o))) return t;
  } catch {
    // refused below
  }
  throw new CliError('--next-token is not one openbatch jobs printed: pass it unchanged, with the same filters');
}

function parseStatuses(text: string | undefined): JobStatus[] | undefined {
  if (text === undefined) return undefined;
  const out = text.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  for (const s of out) if (!STATUSES.includes(s as JobStatus)) throw new CliError(`--status '${s}' is not a job status: ${STATUSES.join(', ')}`);
  return out as JobStatus[];
}

const newestFirst = (a: JobSummary, b: JobSummary) => (b.createdAt ?? 0) - (a.createdAt ?? 0) || (a.jobId! < b.jobId! ? 1 : a.jobId! > b.jobId! ? -1 : 0);

/** Every job of one ListJobs query, across its pages. */
async function listAll(batch: BatchClient, input: { jobQueue?: string; arrayJobId?: string; jobStatus?: JobStatus; filters?: KeyValuesPair[] }): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const res = await batch.send(new ListJobsCommand({ ...input, nextToken }));
    out.push(...(res.jobSummaryList ?? []));
    nextToken = res.nextToken;
  } while (nextToken);
  return out;
}

/** Server page size of the merged listing: fixed, so a cursor's page means the same page again. */
const PAGE = 100;

/**
 * One page of the newest-first merge of each queue's newest-first stream (a ListJobs filter
 * gives all statuses, newest first). Each queue's stream is read a server page at a time,
 * only as far as the merge needs.
 */
async function mergedPage(batch: BatchClient, queues: string[], filters: KeyValuesPair[], limit: number, from: Record<string, QueueCursor> | undefined) {
  interface Stream {
    queue: string;
    cursor: QueueCursor;
    buffer: JobSummary[];
    next?: string;
    loaded: boolean;
    done: boolean;
  }
  const streams: Stream[] = queues
    .filter((q) => !from || q in from)
    .map((queue) => ({ queue, cursor: { ...(from?.[queue] ?? { k: 0 }) }, buffer: [], loaded: false, done: false }));
  const load = async (s: Stream) => {
    const res = await batch.send(new ListJobsCommand({ jobQueue: s.queue, filters, maxResults: PAGE, nextToken: s.cursor.t }));
    const list = res.jobSummaryList ?? [];
    const at = s.cursor.l !== undefined ? list.findIndex((j) => j.jobId === s.cursor.l) : -1;
    const skip = at >= 0 ? at + 1 : s.cursor.k;
    s.cursor.k = skip;
    s.buffer = list.slice(skip);
    s.next = res.nextToken;
    s.loaded = true;
  };
  /** Makes the stream's head available, moving to its next server page when needed. */
  const head = async (s: Stream): Promise<JobSummary | undefined> => {
    if (!s.loaded) await load(s);
    while (!s.buffer.length && !s.done) {
      if (!s.next) {
        s.done = true;
        break;
      }
      s.cursor = { t: s.next, k: 0 };
      await load(s);
    }
    return s.buffer[0];
  };
  await Promise.all(streams.map(head));
  const jobs: JobSummary[] = [];
  while (jobs.length < limit) {
    let best: Stream | undefined;
    for (const s of streams) if (s.buffer.length && (!best || newestFirst(s.buffer[0], best.buffer[0]) < 0)) best = s;
    if (!best) break;
    const job = best.buffer.shift()!;
    jobs.push(job);
    best.cursor.k++;
    best.cursor.l = job.jobId;
    await head(best);
  }
  const left = streams.filter((s) => !s.done);
  return { jobs, nextToken: left.length ? encodeJobsToken({ m: Object.fromEntries(left.map((s) => [s.queue, s.cursor])) }) : undefined };
}

/** The failed children's indices of an array job, ascending. */
export async function failedChildIndices(batch: BatchClient, arrayJobId: string): Promise<number[]> {
  const failed = await listAll(batch, { arrayJobId, jobStatus: 'FAILED' });
  return failed.map((j) => j.arrayProperties?.index ?? Number(j.jobId!.split(':').pop())).sort((a, b) => a - b);
}

/** One page of an array job's children (ListJobs arrayJobId), by index. */
async function childrenPage(batch: BatchClient, flags: JobsFlags, statuses: JobStatus[] | undefined, offset: number) {
  if (flags.queue !== undefined) throw new CliError('give --queue or --array-job-id, not both');
  const arrayJobId = flags.arrayJobId!;
  const filters: KeyValuesPair[] = [flags.name !== undefined ? { name: 'JOB_NAME', values: [flags.name] } : { name: 'AFTER_CREATED_AT', values: ['0'] }];
  let all: JobSummary[];
  if (statuses && flags.name === undefined) all = (await Promise.all(statuses.map((jobStatus) => listAll(batch, { arrayJobId, jobStatus })))).flat();
  else all = (await listAll(batch, { arrayJobId, filters })).filter((j) => !statuses || statuses.includes(j.status!));
  const index = (j: JobSummary) => j.arrayProperties?.index ?? 0;
  all.sort((a, b) => index(a) - index(b));
  const jobs = all.slice(offset, offset + flags.limit);
  return { jobs, nextToken: offset + flags.limit < all.length ? encodeJobsToken({ o: offset + flags.limit }) : undefined };
}

export async function listJobsPage(batch: BatchClient, flags: JobsFlags): Promise<{ jobs: JobSummary[]; nextToken?: string }> {
  const statuses = parseStatuses(flags.status);
  const token = decodeJobsToken(flags.nextToken);
  if (flags.arrayJobId !== undefined) {
    if (token && token.o === undefined) throw new CliError('--next-token came from a listing with other filters: repeat the same ones');
    return childrenPage(batch, flags, statuses, token?.o ?? 0);
  }
  if (token && (token.m !== undefined) !== !statuses) throw new CliError('--next-token came from a listing with other filters: repeat the same ones');
  const filters: KeyValuesPair[] = [flags.name !== undefined ? { name: 'JOB_NAME', values: [flags.name] } : { name: 'AFTER_CREATED_AT', values: ['0'] }];
  const queues = flags.queue !== undefined ? [flags.queue] : await queueNames(batch);
  if (!statuses) return mergedPage(batch, queues, filters, flags.limit, token?.m);
  let all: JobSummary[];
  if (flags.name !== undefined) {
    // JOB_NAME narrows to few jobs of every status; keep those asked for.
    all = (await Promise.all(queues.map((jobQueue) => listAll(batch, { jobQueue, filters })))).flat().filter((j) => statuses.includes(j.status!));
  } else {
    all = (await Promise.all(queues.flatMap((jobQueue) => statuses.map((jobStatus) => listAll(batch, { jobQueue, jobStatus }))))).flat();
  }
  all.sort(newestFirst);
  const offset = token?.o ?? 0;
  const jobs = all.slice(offset, offset + flags.limit);
  return { jobs, nextToken: offset + flags.limit < all.length ? encodeJobsToken({ o: offset + flags.limit }) : undefined };
}

function jobNameCell(j: JobSummary): string {
  return j.arrayProperties?.size !== undefined ? `${j.jobName} [${j.arrayProperties.size}]` : j.jobName!;
}

async function jobs(flags: JobsFlags): Promise<void> {
  await withClient(flags, async ({ batch }) => {
    const page = await listJobsPage(batch, flags);
    if (wantsJson(flags)) return void process.stdout.write(json({ jobSummaryList: page.jobs, nextToken: page.nextToken }));
    if (!page.jobs.length) process.stderr.write('no jobs\n');
    else {
      const now = Date.now();
      process.stdout.write(
        table(page.jobs, [
          { header: 'JOB ID', value: (j) => j.jobId! },
          { header: 'NAME', value: jobNameCell },
          { header: 'STATUS', value: (j) => j.status!, colour: (j) => statusColour(j.status) },
          { header: timeHeader('CREATED'), value: (j) => shortTime(j.createdAt, now) },
          { header: 'STARTED', value: (j) => shortTime(j.startedAt, now) },
          { header: 'STOPPED', value: (j) => shortTime(j.stoppedAt, now) },
          { header: 'EXIT', value: (j) => (j.container?.exitCode === undefined ? '-' : String(j.container.exitCode)), right: true },
        ]),
      );
    }
    if (page.nextToken) process.stderr.write(`more: repeat with --next-token ${page.nextToken}\n`);
  });
}

// ---- describe ----

function attemptLines(job: JobDetail): string[] {
  return (job.attempts ?? []).map((a, i) => {
    const exit = a.container?.exitCode;
    const took = a.startedAt && a.stoppedAt ? ` after ${duration(a.stoppedAt - a.startedAt)}` : '';
    const why = a.statusReason ?? a.container?.reason ?? '';
    return `#${i + 1}  ${exit === undefined ? 'no exit code' : `exit ${exit}`}${took}${why ? `  ${why}` : ''}`;
  });
}

/** A job of several containers (ecsProperties, eksProperties): each container with its exit code and reason, init containers first. */
function containerLines(job: JobDetail): string[] {
  const eks = job.eksProperties?.podProperties;
  const list = job.ecsProperties?.taskProperties?.[0]?.containers ?? (eks ? [...(eks.initContainers ?? []), ...(eks.containers ?? [])] : []);
  return list.map((c) => `${c.name}  ${c.exitCode === undefined ? 'no exit code' : `exit ${c.exitCode}`}${c.reason ? `  ${c.reason}` : ''}`);
}

/** What `describe` reads besides the JobDetail. */
export interface DescribeExtras {
  /** an array job's failed children */
  failedIndices?: number[];
  /** what its attempts used (DescribeJobs' openbatch:usage) */
  usage?: JobUsageDetail;
}

export function describeText(job: JobDetail, extras: DescribeExtras = {}): string {
  const on = colourOn(process.stdout);
  const status = paint(job.status!, statusColour(job.status), on) + (job.statusReason ? `  ${job.statusReason}` : '');
  const array = job.arrayProperties;
  const attempts = attemptLines(job);
  const running = !FINAL.has(job.status!) && job.startedAt !== undefined && !isArrayParent(job);
  if (running) attempts.push(`#${attempts.length + 1}  running since ${fullTime(job.startedAt)}`);
  const params = Object.entries(job.parameters ?? {}).map(([k, v]) => `${k}=${v}`);
  const env = (job.container?.environment ?? []).map((e) => `${e.name}=${e.value}`);
  const resources = (job.container?.resourceRequirements ?? []).map((r) => `${r.type} ${r.value}`).join(', ');
  const rerunOf = job.tags?.['openbatch:rerun-of'];
  const rerunIndices = job.tags?.['openbatch:rerun-indices'];
  return keyValues([
    ['job', `${job.jobName} (${job.jobId})`],
    ['status', status],
    ['queue', nameOfArn(job.jobQueue)],
    ['definition', nameOfArn(job.jobDefinition)],
    ['command', job.container?.command ? quoteShellWords(job.container.command) : undefined],
    ['resources', resources || undefined],
    ['parameters', params],
    ['environment', env],
    ['array', array?.size !== undefined ? `size ${array.size}: ${summaryText(array.size, (array.statusSummary ?? {}) as StatusSummary)}` : undefined],
    ['failed children', extras.failedIndices?.length ? `${indexRanges(extras.failedIndices)}  (openbatch jobs --array-job-id ${job.jobId} --status FAILED; openbatch rerun-failed ${job.jobId})` : undefined],
    ['array index', array?.index !== undefined ? String(array.index) : undefined],
    // rerun-failed links the two arrays both ways (api/rerunFailed.ts)
    ['rerun of', rerunOf && (rerunIndices ? `${rerunOf} (failed children ${rerunIndices})` : rerunOf)],
    ['rerun by', job.tags?.['openbatch:rerun-by']],
    ['depends on', (job.dependsOn ?? []).map((d) => `${d.jobId}${d.type ? ` (${d.type})` : ''}`)],
    ['retries', job.retryStrategy?.attempts ? `up to ${job.retryStrategy.attempts} attempts` : undefined],
    ['timeout', job.timeout?.attemptDurationSeconds ? `${job.timeout.attemptDurationSeconds}s per attempt` : undefined],
    ['created', fullTime(job.createdAt)],
    ['started', fullTime(job.startedAt)],
    ['stopped', fullTime(job.stoppedAt)],
    ['exit code', job.container?.exitCode !== undefined ? String(job.container.exitCode) : undefined],
    ['attempts', attempts],
    ['containers', containerLines(job)],
    ['used', (extras.usage?.attempts ?? []).map(usageLine)],
    ['log stream', job.container?.logStreamName ? `${job.container.logStreamName}  (openbatch logs ${job.jobId})` : undefined],
    ['log streams', containerLines(job).length ? `one per container  (openbatch logs --container <name> ${job.jobId})` : undefined],
  ]);
}

async function describe(jobId: string, flags: ConnectionFlags & { json?: boolean }): Promise<void> {
  await withClient(flags, async (c) => {
    const { job, usage } = await describeWithUsage(c, jobId);
    if (wantsJson(flags)) return void process.stdout.write(json(usage ? { ...job, [USAGE_MEMBER]: usage } : job));
    const failed = isArrayParent(job) && job.arrayProperties?.statusSummary?.FAILED ? await failedChildIndices(c.batch, job.jobId!) : undefined;
    process.stdout.write(describeText(job, { failedIndices: failed, usage }));
  });
}

// ---- cancel, terminate ----

async function stop(verb: 'cancel' | 'terminate', jobId: string, flags: ConnectionFlags & { reason: string }): Promise<void> {
  await withClient(flags, async ({ batch }) => {
    const job = await describeJob(batch, jobId);
    if (verb === 'cancel') await batch.send(new CancelJobCommand({ jobId, reason: flags.reason }));
    else await batch.send(new TerminateJobCommand({ jobId, reason: flags.reason }));
    const after = await describeJob(batch, jobId);
    let line: string;
    if (FINAL.has(job.status!)) line = `${jobId} had already ended ${job.status}: nothing to ${verb}`;
    else if (verb === 'cancel' && (job.status === 'STARTING' || job.status === 'RUNNING')) {
      line = `${jobId} is ${job.status}: cancel does not stop a started job (openbatch terminate ${jobId} does)`;
    } else if (FINAL.has(after.status!)) line = `${verb === 'cancel' ? 'cancelled' : 'terminated'} ${jobId}: ${after.status} (${after.statusReason ?? flags.reason})`;
    else line = `${verb === 'cancel' ? 'cancelling' : 'terminating'} ${jobId}: it ends FAILED with reason '${flags.reason}' once its process has stopped`;
    process.stdout.write(wantsJson() ? json({ jobId, before: job.status, status: after.status, statusReason: after.statusReason, message: line }) : line + '\n');
  });
}

export function registerJobCommands(program: Command): void {
  program
    .command('submit')
    .description('submit a job; prints its id (with --wait: waits for it, exit 0 if it SUCCEEDED, 1 otherwise)')
    .argument('[command...]', 'the command to run, after -- (instead of --command)')
    .option('-q, --queue <queue>', 'job queue', DEFAULT_NAME)
    .option('-d, --definition <definition>', 'job definition (name, name:revision or ARN)', DEFAULT_NAME)
    .option('-n, --name <name>', 'job name (default: the definition name)')
    .option('-c, --command <shell words>', "command, split like a shell does: 'sh -c \"echo hi\"'")
    .option('--array-size <n>', 'run an array job of n children (2-10000)', intFlag('--array-size', 2, 10_000))
    .option('--depends-on <jobId[:N_TO_N|:SEQUENTIAL]>', 'start after this job succeeds (repeatable)', collect)
    .option('-p, --param <key=value>', 'a Ref:: parameter (repeatable)', pairFlag('--param'))
    .option('-e, --env <KEY=value>', 'an environment variable (repeatable)', pairFlag('--env'))
    .option('--vcpus <n>', 'vCPUs for the job (overrides the definition)')
    .option('--memory <MiB>', 'memory in MiB (overrides the definition)', intFlag('--memory', 1, 1 << 30))
    .option('--retries <n>', 'retry a failed attempt up to n times (retryStrategy.attempts = n+1)', intFlag('--retries', 0, 9))
    .option('--timeout <seconds>', 'fail an attempt that runs longer than this', intFlag('--timeout', 1, 1 << 30))
    .option('-w, --wait', 'wait until the job ends; show the progress of an array job')
    .addHelpText(
      'after',
      `
Examples:
  openbatch submit --wait                                   # the default definition: echo hello from openbatch
  openbatch submit -n render --array-size 100 --wait -- sh -c 'echo frame $AWS_BATCH_JOB_ARRAY_INDEX'
  JOB=$(openbatch submit --command 'python3 train.py --epochs 3' --vcpus 2 --memory 4096 --retries 2)
  openbatch submit --depends-on $JOB --param input=s3://bucket/x --env DEBUG=1`,
    )
    .action(submit);

  program
    .command('jobs')
    .description('list jobs, newest first: id, name, status, created, started, stopped, exit code')
    .option('-q, --queue <queue>', 'only this job queue (default: all)')
    .option('-a, --array-job-id <jobId>', "instead of a queue's jobs: the children of this array job, by index")
    .option('-s, --status <statuses>', `only these statuses, comma-separated (default: all): ${STATUSES.join(',')}`)
    .option('-n, --name <name>', 'only jobs with this name (a trailing * matches a prefix)')
    .option('--limit <n>', 'at most this many jobs', intFlag('--limit', 1, 10_000), 50)
    .option('--next-token <token>', 'the next page, as printed by the previous page')
    .option('--json', 'print {jobSummaryList, nextToken} as JSON')
    .addHelpText('after', '\nExamples:\n  openbatch jobs\n  openbatch jobs --queue default --status RUNNING,RUNNABLE\n  openbatch jobs --array-job-id 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d --status FAILED\n  openbatch jobs --name "render*" --json | jq -r ".jobSummaryList[].jobId"')
    .action(jobs);

  program.command('describe').description('show a job: status and reason, queue, definition, command, attempts and exit codes, what each attempt used, log stream')
    .argument('<jobId>', 'the job id (array child: <id>:<index>)')
    .option('--json', "print the raw JobDetail as JSON (with what its attempts used as its 'openbatch:usage' member)")
    .addHelpText('after', '\nExample:\n  openbatch describe 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d')
    .action(describe);

  program.command('cancel').description('cancel a job that has not started yet (SUBMITTED, PENDING, RUNNABLE)')
    .argument('<jobId>', 'the job id')
    .option('-r, --reason <reason>', 'why (becomes the statusReason)', 'Cancelled with the openbatch CLI')
    .addHelpText('after', '\nExample:\n  openbatch cancel 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d --reason "wrong input"')
    .action((jobId: string, flags: ConnectionFlags & { reason: string }) => stop('cancel', jobId, flags));

  program.command('terminate').description('stop a job whatever its state: a running attempt gets SIGTERM, then SIGKILL')
    .argument('<jobId>', 'the job id')
    .option('-r, --reason <reason>', 'why (becomes the statusReason)', 'Terminated with the openbatch CLI')
    .addHelpText('after', '\nExample:\n  openbatch terminate 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d --reason "runaway"')
    .action((jobId: string, flags: ConnectionFlags & { reason: string }) => stop('terminate', jobId, flags));
}
