/**
 * Waiting for a job, as `submit --wait`, `rerun-failed --wait` and `logs -f` do: polls
 * DescribeJobs (quickly at first, then once a second) and says on stderr what happens —
 * each change of state as a line of its own, and while the job waits, why (the server's
 * `why` summary; on a terminal one line redrawn as it changes, into a file or pipe a line
 * each time the reason's code changes). An array job's children are drawn as a progress bar.
 *
 * A job that cannot run ends the wait at once: AWS Batch leaves such a job RUNNABLE with a
 * `MISCONFIGURATION:` statusReason (bigger than any compute environment of its queue can
 * give, or no enabled compute environment) until someone cancels it, so waiting for it to
 * end would wait forever. For an array job the same is read from its first child.
 */
import { DescribeJobsCommand, type BatchClient, type JobDetail } from '@aws-sdk/client-batch';
import type { WhyReport } from '../scheduler/why.js';
import { CliError, type Connection } from './client.js';
import { colourOn, paint, ProgressBar, shortTime, statusColour, type StatusSummary } from './output.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** DescribeJobs of one job; a job that does not exist is the CLI's one-line error. */
export async function describeJob(batch: BatchClient, jobId: string): Promise<JobDetail> {
  const res = await batch.send(new DescribeJobsCommand({ jobs: [jobId] }));
  const job = res.jobs?.[0];
  if (!job) throw new CliError(`job '${jobId}' does not exist`);
  return job;
}

const FINAL = new Set(['SUCCEEDED', 'FAILED']);
const WAITING = new Set(['SUBMITTED', 'PENDING', 'RUNNABLE']);

/** The statusReason AWS Batch gives a job that cannot run as things are configured. */
export function cannotRunReason(job: JobDetail): string | undefined {
  return job.status === 'RUNNABLE' && job.statusReason?.startsWith('MISCONFIGURATION:') ? job.statusReason : undefined;
}

export interface WaitOutcome {
  job: JobDetail;
  /** set when the wait ended because the job cannot run: the reason it waits with */
  cannotRun?: string;
  /** then also `why`'s explanation, with the numbers (when the server has `why`) */
  why?: string;
}

export interface WaitOptions {
  /** stop at this point instead of the job's end (logs -f: once an attempt has started) */
  until?: (job: JobDetail) => boolean;
  /** where the states go (default stderr) */
  stream?: NodeJS.WriteStream;
}

/**
 * Tells a person what a waited-for job does: state changes as lines, the reason it waits as
 * a line redrawn on a terminal. Separate from the polling so that one poll feeds it.
 */
export class WaitReporter {
  private lastStatus = '';
  private lastWhy = '';
  private lastCode = '';
  /** a redrawn line is on the screen (terminal only) */
  private open = false;
  private readonly tty: boolean;
  private readonly bar: ProgressBar;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.tty = !!stream.isTTY;
    this.bar = new ProgressBar(stream);
  }

  /** A state line when the state changed; an array job's progress bar below it. */
  status(job: JobDetail, now = Date.now()): void {
    const array = job.arrayProperties?.size !== undefined ? job.arrayProperties : undefined;
    const summary = (array?.statusSummary ?? {}) as StatusSummary;
    // The children's counts up to now, before a new state line (the last counts of an ended array).
    if (array && this.lastStatus) this.bar.update(array.size!, summary);
    if (job.status !== this.lastStatus) {
      this.stateLine(job.status!, now, job.status === 'RUNNING' && !array ? `  (openbatch logs -f ${job.jobId})` : '');
      if (array && !FINAL.has(job.status!)) this.bar.update(array.size!, summary, true);
    }
  }

  private stateLine(status: string, now: number, hint = ''): void {
    this.closeLine();
    this.lastStatus = status;
    this.lastWhy = '';
    this.lastCode = '';
    const on = colourOn(this.stream);
    this.stream.write(`${shortTime(now, now)}  ${paint(status, statusColour(status), on)}${hint}\n`);
  }

  /** The reason a waiting job waits, from `why` (whose status may be newer than the last poll's). */
  why(report: Pick<WhyReport, 'code' | 'summary'> & { status?: string }, now = Date.now()): void {
    if (report.status && report.status !== this.lastStatus && WAITING.has(report.status)) this.stateLine(report.status, now);
    if (!WAITING.has(this.lastStatus)) return;
    const text = `  waiting: ${report.summary} [${report.code}]`;
    if (this.tty) {
      if (text === this.lastWhy) return;
      const width = this.stream.columns || 100;
      this.stream.write(`\r\x1b[K${text.length > width - 1 ? text.slice(0, width - 2) + '…' : text}`);
      this.open = true;
    } else {
      if (report.code === this.lastCode) return;
      this.stream.write(`${text}\n`);
    }
    this.lastWhy = text;
    this.lastCode = report.code;
  }

  /** Ends a redrawn line so what follows starts on its own. */
  closeLine(): void {
    this.bar.finish();
    if (this.open) this.stream.write('\n');
    this.open = false;
  }
}

/**
 * Polls the job until it ends, `until` holds, or it cannot run, telling `reporter` what it
 * sees. `why` is asked at most once a second while the job waits; a server without it
 * (AWS itself) is simply not asked again.
 */
export async function waitForJob(c: Connection, jobId: string, opts: WaitOptions = {}): Promise<WaitOutcome> {
  const reporter = new WaitReporter(opts.stream ?? process.stderr);
  let interval = 100;
  let whyAt = 0;
  let whyWorks = true;
  try {
    for (;;) {
      const job = await describeJob(c.batch, jobId);
      reporter.status(job);
      if (FINAL.has(job.status!) || opts.until?.(job)) return { job };
      let cannotRun = cannotRunReason(job);
      const array = job.arrayProperties;
      if (!cannotRun && array?.size !== undefined && job.status === 'PENDING') {
        const s = (array.statusSummary ?? {}) as StatusSummary;
        // Children are alike: if none has started and the first cannot run, none can.
        if (!s.STARTING && !s.RUNNING && !s.SUCCEEDED && !s.FAILED && (s.RUNNABLE ?? 0) > 0) cannotRun = cannotRunReason(await describeJob(c.batch, `${jobId}:0`).catch(() => job));
      }
      if (cannotRun) {
        const why = whyWorks && !array ? await c.openbatch<WhyReport>('why', { jobId }).catch(() => undefined) : undefined;
        return { job, cannotRun, why: why?.summary };
      }
      if (whyWorks && !array && WAITING.has(job.status!) && Date.now() - whyAt >= 1000) {
        whyAt = Date.now();
        try {
          reporter.why(await c.openbatch<WhyReport>('why', { jobId }));
        } catch {
          whyWorks = false;
        }
      }
      await sleep(interval);
      interval = Math.min(interval * 1.5, 1000);
    }
  } finally {
    reporter.closeLine();
  }
}
