/**
 * A tiny shell for the harness's agents: a job definition's command says what the fake
 * attempt does, as a real command would, so that one agent serves every job of a test.
 * Steps are separated by ';' and run in order:
 *
 *   sleep <seconds>             runs that long (of the harness's time)
 *   echo <words…>               prints a line; $NAME and ${NAME} take the job's environment
 *   exit <code>                 ends with that code (and the rest is not run)
 *   exit-at-index <i> <code>    ends with <code> when the job is array child <i>
 *   exit-attempt                ends with the attempt's number (1, 2, …)
 *   exit-before-attempt <n>     ends with 1 while the attempt's number is below <n>
 *   never-starts                the process cannot start (AWS's "Task failed to start")
 *
 * Without an exit, the attempt ends with 0. Every attempt runs at least `minMs` (1 s), so
 * that start and stop times order jobs as they would with real processes.
 */
import type { Assignment } from '../../src/agent/protocol.js';
import type { Behaviour } from './fakeAgent.js';

export function shell(a: Assignment, minMs = 1_000): Behaviour {
  const steps: string[][] = [[]];
  for (const word of a.command) {
    if (word === ';') steps.push([]);
    else steps[steps.length - 1].push(word);
  }
  const env = (s: string) => s.replace(/\$\{?([A-Z_][A-Z0-9_]*)\}?/g, (_, name: string) => a.env[name] ?? '');
  const out: Behaviour = { lines: [], runMs: 0 };
  for (const [cmd, ...args] of steps) {
    if (cmd === 'sleep') out.runMs! += Number(args[0]) * 1000;
    else if (cmd === 'echo') out.lines!.push(env(args.join(' ')));
    else if (cmd === 'exit') {
      out.exitCode = Number(args[0] ?? 0);
      break;
    } else if (cmd === 'exit-at-index') {
      if (a.env.AWS_BATCH_JOB_ARRAY_INDEX === args[0]) {
        out.exitCode = Number(args[1]);
        break;
      }
    } else if (cmd === 'exit-before-attempt') {
      if (Number(a.env.AWS_BATCH_JOB_ATTEMPT) < Number(args[0])) {
        out.exitCode = 1;
        break;
      }
    } else if (cmd === 'exit-attempt') {
      out.exitCode = Number(a.env.AWS_BATCH_JOB_ATTEMPT);
      break;
    } else if (cmd === 'never-starts') return { neverStarted: true };
    else if (cmd !== undefined && cmd !== 'true') throw new Error(`harness shell: unknown step '${cmd}' in ${JSON.stringify(a.command)}`);
  }
  out.runMs = Math.max(out.runMs!, minMs);
  return out;
}
