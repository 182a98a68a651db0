/**
 * What jobs really used, in the CLI: the `used` lines of `openbatch describe` (from
 * DescribeJobs' `openbatch:usage` member, which the SDK drops, so describe reads the answer
 * itself) and `openbatch usage <jobdef>`, right-sizing advice for a job definition over its
 * recent runs (POST /openbatch/v1/usage; the rule is model/usage.ts's, docs/usage.md).
 */
import type { JobDetail } from '@aws-sdk/client-batch';
import type { Command } from 'commander';
import { bytesText, mibText, USAGE_MEMBER, vcpuText, type AttemptUsageDetail, type JobUsageDetail, type UsageAnswer } from '../model/usage.js';
import { CliError, withClient, type Connection, type ConnectionFlags } from './client.js';
import { duration, json, keyValues, wantsJson } from './output.js';

export { USAGE_MEMBER };

/** A job and what its attempts used, from one DescribeJobs answer read as it came. */
export async function describeWithUsage(c: Connection, jobId: string): Promise<{ job: JobDetail; usage?: JobUsageDetail }> {
  const answer = await c.openbatchHttp<{ jobs?: JobDetail[]; [USAGE_MEMBER]?: Record<string, JobUsageDetail> }>('POST', '/v1/describejobs', {}, { jobs: [jobId] });
  const job = answer.jobs?.[0];
  if (!job) throw new CliError(`job '${jobId}' does not exist`);
  return { job, usage: answer[USAGE_MEMBER]?.[job.jobId!] };
}

const seconds = (s: number) => (s < 10 ? `${s.toFixed(2)} s` : duration(s * 1000));

/** One attempt's figures: `#1  CPU 1.52 s (0.8 of 2 vCPU on average), peak memory 204 MiB of 1,024 MiB, read 0 B, written 4.0 KiB  (cgroup)`. */
export function usageLine(a: AttemptUsageDetail): string {
  const running = a.status === 'RUNNING' || a.status === 'STARTING';
  const parts: string[] = [];
  if (a.cpuSeconds !== undefined) {
    const avg = a.averageVcpus !== undefined ? ` (${a.averageVcpus.toFixed(2)}${a.reserved.vcpus !== null ? ` of ${vcpuText(a.reserved.vcpus)}` : ' vCPU'} on average)` : '';
    parts.push(`CPU ${seconds(a.cpuSeconds)}${avg}`);
  }
  if (running && a.currentMemoryMiB !== undefined) parts.push(`memory ${mibText(a.currentMemoryMiB)} now`);
  if (a.peakMemoryMiB !== undefined) parts.push(`peak memory ${mibText(a.peakMemoryMiB)}${a.reserved.memoryMiB !== null ? ` of ${mibText(a.reserved.memoryMiB)}` : ''}`);
  if (a.readBytes !== undefined) parts.push(`read ${bytesText(a.readBytes)}`);
  if (a.writeBytes !== undefined) parts.push(`written ${bytesText(a.writeBytes)}`);
  return `#${a.attempt}  ${running ? 'so far: ' : ''}${parts.join(', ')}  (${a.source})`;
}

const spreadText = (s: { p50: number; p95: number; max: number } | undefined, show: (n: number) => string) =>
  s ? `${show(s.p50)} / ${show(s.p95)} / ${show(s.max)}` : undefined;

export function usageText(a: UsageAnswer): string {
  const r = a.rule;
  return keyValues([
    ['job definition', `${a.name}:${a.revision}  (${a.jobDefinition})`],
    ['advice', a.advice.code],
    ['why', a.advice.summary],
    ['runs', `${a.advice.runs} measured${a.advice.outOfMemoryRuns ? `, ${a.advice.outOfMemoryRuns} out of memory` : ''} (of the last ${r.window} that succeeded or ran out of memory)`],
    ['vCPUs kept busy', spreadText(a.spread.vcpus, (n) => n.toFixed(2)) && `${spreadText(a.spread.vcpus, (n) => n.toFixed(2))}  (p50 / p95 / max, per run on average)`],
    ['peak memory', spreadText(a.spread.memoryMiB, mibText) && `${spreadText(a.spread.memoryMiB, mibText)}  (p50 / p95 / max)`],
    ['run time', spreadText(a.spread.runSeconds, (n) => duration(n * 1000)) && `${spreadText(a.spread.runSeconds, (n) => duration(n * 1000))}  (p50 / p95 / max)`],
    [
      'rule',
      `p${r.percentile} of each figure over the runs, ×${r.headroom} headroom, memory rounded up to 512, 1,024, 2,048 … MiB, ` +
        `whole vCPUs (Fargate: its sizes); memory at ${Math.round(r.nearLimit * 100)}% of the limit or a run out of memory: no less; advice after ${r.minRuns} runs`,
    ],
  ]);
}

export function registerUsageCommand(program: Command): void {
  program
    .command('usage')
    .description("what a job definition's recent runs really used against what it asks, and what would do (right-sizing advice)")
    .argument('<jobDefinition>', 'name (every revision\'s runs, the latest revision\'s asks), name:revision or ARN')
    .option('--json', 'print the answer as JSON (the same as POST /openbatch/v1/usage)')
    .addHelpText(
      'after',
      '\nThe advice reads the last 200 runs that succeeded or ran out of memory; see docs/usage.md for the rule.\n\nExamples:\n  openbatch usage render\n  openbatch usage render:3 --json | jq .advice.suggest',
    )
    .action((jobDefinition: string, flags: ConnectionFlags & { json?: boolean }) =>
      withClient(flags, async (c) => {
        const a = await c.openbatch<UsageAnswer>('usage', { jobDefinition });
        process.stdout.write(wantsJson(flags) ? json(a) : usageText(a));
      }),
    );
}
