/** `openbatch rerun-failed <arrayJobId>`: a new array over exactly the failed children (api/rerunFailed.ts). */
import type { Command } from 'commander';
import { withClient, type ConnectionFlags } from './client.js';
import { json, keyValues, wantsJson } from './output.js';
import { waitOutcomeLine } from './jobs.js';
import { waitForJob } from './wait.js';
import { indexRanges } from '../model/rerun.js';

interface RerunAnswer {
  jobId: string;
  jobName: string;
  arraySize: number | null;
  originalIndices: number[];
  dependents: { originalJobId: string; jobId: string; jobName: string }[];
}

export function registerRerunCommand(program: Command): void {
  program.command('rerun-failed').description('submit a new array job over exactly the failed children of an ended array job')
    .argument('<arrayJobId>', 'the array job whose failed children to rerun')
    .option('--again', 'rerun even though the array was rerun before (refused otherwise)')
    .option('--with-dependents', 'also submit again the jobs that depended on the array (and on them), after the rerun')
    .option('--wait', 'wait until the rerun ends')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      '\nEach new child i reruns the original\'s i-th failed index and sees that index as AWS_BATCH_JOB_ARRAY_INDEX\n(its own index in the rerun is OPENBATCH_RERUN_ARRAY_INDEX); a single failed child is rerun as one job\nthat still sees its index. The two jobs are linked by the tags openbatch:rerun-of and openbatch:rerun-by.\n\nExamples:\n  openbatch rerun-failed 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d --wait\n  openbatch rerun-failed 5b1d5b8e-0b7a-4c39-9d0e-3b0a1c2f4e6d --with-dependents    # and the steps after it',
    )
    .action((arrayJobId: string, flags: ConnectionFlags & { again?: boolean; withDependents?: boolean; wait?: boolean; json?: boolean }) =>
      withClient(flags, async (c) => {
        const a = await c.openbatch<RerunAnswer>('rerunFailed', { arrayJobId, again: !!flags.again, withDependents: !!flags.withDependents });
        if (wantsJson(flags)) process.stdout.write(json(a));
        else {
          process.stdout.write(
            keyValues([
              ['job', `${a.jobId} (${a.jobName})`],
              ['reruns', `${a.originalIndices.length} failed ${a.originalIndices.length === 1 ? 'child' : 'children'} of ${arrayJobId}: ${indexRanges(a.originalIndices)}`],
              ['as', a.arraySize === null ? `a single job (AWS_BATCH_JOB_ARRAY_INDEX=${a.originalIndices[0]})` : `an array of ${a.arraySize} (child i reruns the i-th failed index, as its AWS_BATCH_JOB_ARRAY_INDEX)`],
              ['dependents', flags.withDependents && !a.dependents.length ? 'none had failed with it' : a.dependents.map((d) => `${d.jobId} (${d.jobName}) again, for ${d.originalJobId}`)],
            ]),
          );
        }
        if (flags.wait) {
          const outcome = await waitForJob(c, a.jobId);
          process.stderr.write(waitOutcomeLine(outcome) + '\n');
          if (outcome.job.status !== 'SUCCEEDED' || outcome.cannotRun) process.exitCode = 1;
        }
      }),
    );
}
