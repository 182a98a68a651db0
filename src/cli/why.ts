/**
 * `openbatch why <job>`: why a job is not running, in full — the reason code, its position
 * in the queue and an estimate of its start, the dependencies it waits on, the capacity of
 * each compute environment, the consumables that block it, the numbers of a job that never
 * fits. The server builds the answer (scheduler/why.ts); this prints it.
 */
import type { Command } from 'commander';
import type { WhyReport } from '../scheduler/why.js';
import { CliError, withClient, type ConnectionFlags } from './client.js';
import { fullTime, json, keyValues, table, wantsJson } from './output.js';

interface QueueEntry {
  jobId: string;
  jobName: string;
  code: string;
  position: number;
  statusReason: string | null;
}

function queueTable(jobs: QueueEntry[]): string {
  return table(jobs, [
    { header: 'POS', value: (j) => (j.position ? String(j.position) : '-'), right: true },
    { header: 'JOB ID', value: (j) => j.jobId },
    { header: 'NAME', value: (j) => j.jobName },
    { header: 'REASON', value: (j) => j.code },
  ]);
}

export function whyText(r: WhyReport, now = Date.now()): string {
  const pairs: [string, string | string[] | undefined][] = [
    ['job', `${r.jobId} (${r.jobName})`],
    ['status', r.status],
    ['reason', r.code],
    ['why', r.summary],
    ['statusReason', r.statusReason ?? undefined],
    ['queue', r.queue],
    ['since', r.since ? fullTime(r.since) : undefined],
  ];
  if (r.position !== undefined) pairs.push(['position', `${r.position} (${r.jobsAhead} ahead)`]);
  if (r.eta) pairs.push(['estimated start', `${fullTime(r.eta.at)} (${r.eta.at > now ? `in about ${Math.round((r.eta.at - now) / 1000)} s` : 'any moment now'}; ${r.eta.detail})`]);
  else if (r.noEta) pairs.push(['estimated start', r.noEta]);
  if (r.hint) pairs.push(['what to do', r.hint]);
  if (r.need) pairs.push(['needs', `${r.need.vcpus} vCPU, ${r.need.memoryMiB} MiB, ${r.need.gpus} GPU${r.need.nodes ? ` in all, over ${r.need.nodes} nodes` : ''}`]);
  if (r.dependencies?.length) pairs.push(['waiting on', r.dependencies.map((d) => `${d.jobId}  ${d.status ?? 'not created yet'}${d.type ? `  ${d.type}` : ''}`)]);
  if (r.computeEnvironments?.length) {
    pairs.push([
      'compute',
      r.computeEnvironments.map(
        (c) =>
          `${c.name}: ${c.enabled ? 'enabled' : 'DISABLED'}, ${c.launchedVcpus ? `${c.usedVcpus}/${c.launchedVcpus} vCPUs in use` : 'no instance'}` +
          `${c.launchingVcpus ? `, ${c.launchingVcpus} launching` : ''}, max ${c.maxvCpus ?? '?'}` +
          `${c.largest ? `, largest instance ${c.largest.vcpus} vCPU / ${c.largest.memoryMiB} MiB / ${c.largest.gpus} GPU` : ''}` +
          `${c.held ? `, its instances held: ${c.held}` : c.statusReason ? ` — ${c.statusReason}` : ''}`,
      ),
    ]);
  }
  if (r.consumables?.length) pairs.push(['consumables', r.consumables.map((c) => `${c.name}: needs ${c.needed}, ${c.available} available`)]);
  if (r.instance) pairs.push(['instance', `${r.instance.id} (${r.instance.state})`]);
  return keyValues(pairs);
}

export function registerWhyCommand(program: Command): void {
  program.command('why').description('why a job is not running: reason code, position in its queue, estimated start, and what blocks it')
    .argument('[jobId]', 'the job id')
    .option('-q, --queue <name>', 'instead of one job: the waiting jobs of this queue, in the order the scheduler considers them')
    .option('--json', 'print the answer as JSON (the same as POST /openbatch/v1/why)')
    .addHelpText('after', '\nExamples:\n  openbatch why 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d\n  openbatch why --queue render')
    .action((jobId: string | undefined, flags: ConnectionFlags & { json?: boolean; queue?: string }) =>
      withClient(flags, async (c) => {
        if (!jobId === !flags.queue) throw new CliError('give a job id, or --queue NAME (not both)');
        if (flags.queue) {
          const r = await c.openbatch<{ jobs: QueueEntry[] }>('why', { jobQueue: flags.queue });
          process.stdout.write(wantsJson(flags) ? json(r) : r.jobs.length ? queueTable(r.jobs) : `no job of ${flags.queue} is waiting (as of the scheduler's last pass)\n`);
          return;
        }
        const r = await c.openbatch<WhyReport>('why', { jobId });
        process.stdout.write(wantsJson(flags) ? json(r) : whyText(r));
      }),
    );
}
