/**
 * `openbatch top`: a live view of the farm — every job queue with its jobs counted by state,
 * the capacity of each compute environment, and the jobs starting or running now — redrawn
 * every `--interval` seconds until q or Ctrl-C.
 *
 * Counts come from the server's /metrics (one grouped count per refresh, whatever the number
 * of jobs); the running jobs from ListJobs. On a terminal the view takes the alternate screen
 * and gives it back on exit; into a pipe or file (or with --once) it prints one frame and exits.
 */
import type { Command } from 'commander';
import { DescribeJobQueuesCommand, ListJobsCommand, type BatchClient, type JobQueueDetail, type JobSummary } from '@aws-sdk/client-batch';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { colourOn, duration, json, nameOfArn, paint, shortTime, statusColour, table, timeHeader, wantsJson } from './output.js';

const STATES = ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const;
const RUNNING_SHOWN = 200;

export interface Frame {
  at: number;
  queues: { name: string; priority: number; state: string; counts: Record<string, number> }[];
  computeEnvironments: { name: string; instances: number; vcpus: number }[];
  running: (JobSummary & { queue: string })[];
}

/** Prometheus text format: the samples of one metric, as label maps and values. */
export function samples(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

async function allQueues(batch: BatchClient): Promise<JobQueueDetail[]> {
  const out: JobQueueDetail[] = [];
  let nextToken: string | undefined;
  do {
    const res = await batch.send(new DescribeJobQueuesCommand({ nextToken }));
    out.push(...(res.jobQueues ?? []));
    nextToken = res.nextToken;
  } while (nextToken);
  return out;
}

async function list(batch: BatchClient, by: { jobQueue?: string; arrayJobId?: string }, jobStatus: 'RUNNING' | 'STARTING' | 'PENDING', limit: number): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const res = await batch.send(new ListJobsCommand({ ...by, jobStatus, nextToken, maxResults: 100 }));
    out.push(...(res.jobSummaryList ?? []));
    nextToken = res.nextToken;
  } while (nextToken && out.length < limit);
  return out.slice(0, limit);
}

/**
 * A queue's starting and running jobs. ListJobs by queue lists array jobs, not their
 * children (as on AWS): the children of the arrays in progress (parents PENDING) are asked
 * for by array.
 */
async function runningIn(batch: BatchClient, queue: string, limit: number): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  for (const s of ['RUNNING', 'STARTING'] as const) out.push(...(await list(batch, { jobQueue: queue }, s, limit - out.length)));
  const arrays = (await list(batch, { jobQueue: queue }, 'PENDING', 1000)).filter((j) => j.arrayProperties?.size !== undefined);
  for (const a of arrays) {
    for (const s of ['RUNNING', 'STARTING'] as const) {
      if (out.length >= limit) return out;
      out.push(...(await list(batch, { arrayJobId: a.jobId }, s, limit - out.length)));
    }
  }
  return out;
}

export async function readFrame(batch: BatchClient, endpoint: string, only?: string): Promise<Frame> {
  // The queues first: the SDK's errors (server down, bad credentials) say what is wrong best.
  let queues = (await allQueues(batch)).sort((a, b) => (b.priority ?? 0) - (a.priority ?? 0) || a.jobQueueName!.localeCompare(b.jobQueueName!));
  if (only) {
    queues = queues.filter((q) => q.jobQueueName === only);
    if (!queues.length) throw new CliError(`job queue '${only}' does not exist (openbatch queues lists them)`);
  }
  const res = await fetch(`${endpoint}/metrics`).catch((e: Error & { cause?: { code?: string; message?: string } }) => {
    throw Object.assign(new Error(`cannot read ${endpoint}/metrics: ${e.cause?.message ?? e.message}`), { code: e.cause?.code });
  });
  if (!res.ok) throw new CliError(`${endpoint}/metrics answered HTTP ${res.status}`);
  const text = await res.text();
  const counts = new Map<string, Record<string, number>>();
  for (const s of samples(text, 'openbatch_jobs')) {
    const c = counts.get(s.labels.queue) ?? counts.set(s.labels.queue, {}).get(s.labels.queue)!;
    c[s.labels.status] = s.value;
  }
  const ces = new Map<string, { name: string; instances: number; vcpus: number }>();
  const ce = (name: string) => ces.get(name) ?? ces.set(name, { name, instances: 0, vcpus: 0 }).get(name)!;
  for (const s of samples(text, 'openbatch_instances')) ce(s.labels.compute_environment).instances = s.value;
  for (const s of samples(text, 'openbatch_instance_vcpus')) ce(s.labels.compute_environment).vcpus = s.value;
  const running: Frame['running'] = [];
  for (const q of queues) {
    const c = counts.get(q.jobQueueName!) ?? {};
    if (!(c.RUNNING || c.STARTING)) continue;
    for (const j of await runningIn(batch, q.jobQueueName!, RUNNING_SHOWN - running.length)) running.push({ ...j, queue: q.jobQueueName! });
    if (running.length >= RUNNING_SHOWN) break;
  }
  running.sort((a, b) => (a.startedAt ?? a.createdAt ?? 0) - (b.startedAt ?? b.createdAt ?? 0));
  return {
    at: Date.now(),
    queues: queues.map((q) => ({ name: q.jobQueueName!, priority: q.priority ?? 0, state: q.state ?? '-', counts: counts.get(q.jobQueueName!) ?? {} })),
    computeEnvironments: [...ces.values()].sort((a, b) => a.name.localeCompare(b.name)),
    running,
  };
}

/** One frame as text, cut to `width` columns and `height` lines when given (a terminal). */
export function renderFrame(f: Frame, endpoint: string, opts: { stream: NodeJS.WriteStream; width?: number; height?: number; live: boolean; interval: number }): string {
  const on = colourOn(opts.stream);
  const lines: string[] = [];
  const instances = f.computeEnvironments.reduce((n, c) => n + c.instances, 0);
  const vcpus = f.computeEnvironments.reduce((n, c) => n + c.vcpus, 0);
  lines.push(
    paint(`openbatch top  ${endpoint}  ${shortTime(f.at, f.at)}`, 'bold', on) + (opts.live ? paint(`  (every ${opts.interval}s; q quits)`, 'dim', on) : ''),
  );
  lines.push(
    `instances ${instances}, vCPUs ${vcpus}` +
      (f.computeEnvironments.length ? `  (${f.computeEnvironments.map((c) => `${c.name}: ${c.instances} instance${c.instances === 1 ? '' : 's'}, ${c.vcpus} vCPUs`).join('; ')})` : ''),
  );
  lines.push('');
  if (!f.queues.length) lines.push('no job queues (openbatch init creates one)');
  else {
    lines.push(
      ...table(
        f.queues,
        [
          { header: 'QUEUE', value: (q) => q.name },
          { header: 'PRI', value: (q) => String(q.priority), right: true },
          { header: 'STATE', value: (q) => q.state, colour: (q) => (q.state === 'ENABLED' ? undefined : 'yellow') },
          ...STATES.map((s) => ({ header: s, value: (q: Frame['queues'][number]) => String(q.counts[s] ?? 0), right: true, colour: (q: Frame['queues'][number]) => (q.counts[s] ? statusColour(s) : 'dim' as const) })),
        ],
        opts.stream,
      )
        .trimEnd()
        .split('\n'),
    );
  }
  lines.push('');
  const total = f.queues.reduce((n, q) => n + (q.counts.RUNNING ?? 0) + (q.counts.STARTING ?? 0), 0);
  lines.push(paint(`STARTING and RUNNING: ${total}${total > f.running.length ? ` (first ${f.running.length} shown)` : ''}`, 'bold', on));
  if (f.running.length) {
    lines.push(
      ...table(
        f.running,
        [
          { header: 'JOB ID', value: (j) => j.jobId! },
          { header: 'NAME', value: (j) => j.jobName! + (j.arrayProperties?.index !== undefined ? ` [${j.arrayProperties.index}]` : '') },
          { header: 'QUEUE', value: (j) => j.queue },
          { header: 'STATUS', value: (j) => j.status!, colour: (j) => statusColour(j.status) },
          { header: timeHeader('STARTED'), value: (j) => shortTime(j.startedAt, f.at) },
          { header: 'ELAPSED', value: (j) => (j.startedAt ? duration(Math.max(f.at - j.startedAt, 0)) : '-'), right: true },
          { header: 'DEFINITION', value: (j) => nameOfArn(j.jobDefinition) },
        ],
        opts.stream,
      )
        .trimEnd()
        .split('\n'),
    );
  }
  let out = lines;
  if (opts.height && opts.height > 2 && out.length > opts.height) out = [...out.slice(0, opts.height - 1), paint(`… ${out.length - opts.height + 1} more lines`, 'dim', on)];
  if (opts.width) out = out.map((l) => cut(l, opts.width!));
  return out.join('\n') + '\n';
}

/** Cuts a line to `width` visible columns, keeping colour codes intact. */
function cut(line: string, width: number): string {
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}

interface TopFlags extends ConnectionFlags {
  interval: number;
  once?: boolean;
  queue?: string;
  json?: boolean;
}

async function top(flags: TopFlags): Promise<void> {
  await withClient(flags, async ({ batch, endpoint }) => {
    const stdout = process.stdout;
    const live = !flags.once && !wantsJson(flags) && !!stdout.isTTY && !!process.stdin.isTTY;
    if (!live) {
      const f = await readFrame(batch, endpoint, flags.queue);
      stdout.write(wantsJson(flags) ? json(f) : renderFrame(f, endpoint, { stream: stdout, live: false, interval: flags.interval }));
      return;
    }
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', (b: Buffer) => {
      const k = b.toString();
      if (k === 'q' || k === 'Q' || k === '\x03' || k === '\x1b') done();
    });
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
    stdout.write('\x1b[?1049h\x1b[?25l');
    let last: Frame | undefined;
    let error = '';
    const draw = () => {
      const body = last ? renderFrame(last, endpoint, { stream: stdout, width: stdout.columns, height: (stdout.rows || 24) - 1, live: true, interval: flags.interval }) : 'loading…\n';
      stdout.write('\x1b[H\x1b[2J' + body + (error ? paint(cut(error, stdout.columns ?? 80), 'red', colourOn(stdout)) : ''));
    };
    stdout.on('resize', draw);
    try {
      while (true) {
        try {
          last = await readFrame(batch, endpoint, flags.queue);
          error = '';
        } catch (e) {
          // A server restarting or a network blip: keep the last frame, say why it is stale.
          error = `cannot refresh: ${(e as Error).message}`;
        }
        draw();
        const stop = await Promise.race([finished.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), flags.interval * 1000))]);
        if (stop) break;
      }
    } finally {
      stdout.off('resize', draw);
      stdout.write('\x1b[?25h\x1b[?1049l');
      stdin.setRawMode(false);
      stdin.pause();
    }
  });
}

export function registerTopCommand(program: Command): void {
  program.command('top').description('live view of job queues (jobs by state), capacity and the jobs running now; q or Ctrl-C quits')
    .option('-n, --interval <seconds>', 'refresh every this many seconds', (v) => {
      const n = Number(v);
      if (!(n > 0)) throw new CliError(`--interval must be a positive number of seconds (got '${v}')`);
      return n;
    }, 2)
    .option('--once', 'print one frame and exit (the default when output is not a terminal)')
    .option('-q, --queue <name>', 'only this job queue')
    .option('--json', 'print one frame as JSON and exit')
    .addHelpText('after', '\nExamples:\n  openbatch top\n  openbatch top --queue render --interval 1\n  openbatch top --once > farm.txt')
    .action(top);
}
