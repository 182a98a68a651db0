/**
 * Agent processes found by their work directory: local agents outlive their servers, so a
 * test (and the test runner, scripts/run-tests.mjs) finds and stops the ones it started by
 * where they work. No dependencies beyond Node, so that the runner can load it.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Agents whose work directory is `dir` or under it (for a data directory: the local agents of its servers). */
export function agentsUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const at = argv.indexOf('--work-dir');
    const workDir = argv[at + 1] ?? '';
    if (argv.includes('agent') && at > 0 && (workDir === dir || workDir.startsWith(dir + '/'))) pids.push(Number(name));
  }
  return pids;
}

/**
 * Stops the agents under `dir` (SIGTERM: each stops its jobs and containers, then exits) and
 * waits for them, SIGKILL after 20 s; answers how many there were.
 */
export async function stopAgentsUnder(dir: string): Promise<number> {
  const pids = agentsUnder(dir);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // exited meanwhile
    }
  };
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 20_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) for (const pid of pids) signal(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids.length;
}
