/**
 * `openbatch drain`: stopping the farm on purpose (docs/operations.md). A server that stops
 * stops none of its agents; this is how an operator empties the farm before an upgrade of the
 * agents' machines or a long maintenance: no job starts, running jobs finish (or are stopped:
 * --stop-jobs), then every local and joined agent is stopped. `--resume` undoes it.
 */
import type { Command } from 'commander';
import type { DrainStatus } from '../store/drain.js';
import { withClient, type ConnectionFlags } from './client.js';
import { fullTime, json, keyValues, wantsJson } from './output.js';

interface DrainFlags extends ConnectionFlags {
  stopJobs?: boolean;
  wait?: boolean;
  timeout?: string;
  resume?: boolean;
  status?: boolean;
  json?: boolean;
}

function describe(s: DrainStatus): string {
  if (!s.draining) return keyValues([['farm', 'not draining: jobs start as usual'], ['running', `${s.runningJobs} jobs, ${s.instances} instances of local and joined agents`]]);
  return keyValues([
    ['farm', s.drained ? 'drained: nothing runs; stop or upgrade the servers, then `openbatch drain --resume`' : `draining since ${fullTime(s.since)}: no job starts${s.stopJobs ? '; running jobs are stopped' : '; running jobs finish'}`],
    ['running', `${s.runningJobs} jobs, ${s.instances} instances of local and joined agents (each stops once idle)`],
  ]);
}

export function registerDrainCommand(program: Command): void {
  program
    .command('drain')
    .description('stop the farm on purpose: no job starts, running jobs finish (or stop), then every agent stops')
    .option('--stop-jobs', 'stop running jobs too (they fail as on a lost host, and run again after --resume if their retry strategy allows)')
    .option('--wait', 'wait until nothing runs and every agent has stopped')
    .option('--timeout <seconds>', 'with --wait: give up after this long (exit 1)')
    .option('--resume', 'end the drain: jobs start again, instances launch as needed')
    .option('--status', 'say how the drain stands, change nothing')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      '\nA restarted or upgraded server stops nothing: agents keep their jobs and are adopted. Drain when the\nagents themselves must go (their machines, or openbatch on them, upgraded).\n\nExamples:\n  openbatch drain --wait             # let running jobs finish, then stop every agent\n  openbatch drain --stop-jobs --wait # stop now\n  openbatch drain --resume',
    )
    .action((flags: DrainFlags) =>
      withClient(flags, async (c) => {
        const show = (s: DrainStatus): void => void process.stdout.write(wantsJson(flags) ? json(s) : describe(s));
        if (flags.resume) return show(await c.openbatch<DrainStatus>('resume', {}));
        if (flags.status) return show(await c.openbatch<DrainStatus>('drainStatus', {}));
        let s = await c.openbatch<DrainStatus>('drain', { stopJobs: !!flags.stopJobs });
        if (!flags.wait || s.drained) return show(s);
        if (!wantsJson(flags)) process.stderr.write(describe(s));
        const deadline = flags.timeout === undefined ? Infinity : Date.now() + Number(flags.timeout) * 1000;
        let last = `${s.runningJobs}/${s.instances}`;
        while (!s.drained) {
          if (Date.now() > deadline) {
            process.exitCode = 1;
            process.stderr.write(`openbatch: not drained after ${flags.timeout} s: ${s.runningJobs} jobs, ${s.instances} instances still running\n`);
            return show(s);
          }
          await new Promise((r) => setTimeout(r, 1_000));
          s = await c.openbatch<DrainStatus>('drainStatus', {});
          const now = `${s.runningJobs}/${s.instances}`;
          if (now !== last && !wantsJson(flags)) process.stderr.write(`waiting: ${s.runningJobs} jobs, ${s.instances} instances\n`);
          last = now;
        }
        show(s);
      }),
    );
}
