/**
 * Pid files of running attempts, so that a job never outlives its agent unobserved.
 *
 * An agent killed with SIGKILL cannot stop its jobs, and they run in process groups of their
 * own. Its attempts are then failed and retried elsewhere — so a survivor would be the same
 * attempt running twice. The agent keeps `<workRoot>/.pids/<job>#<attempt>` holding each
 * job's pid (its process group id); whoever sees the agent die (the local provider) kills
 * those process groups.
 *
 * A container job has no pid on this host the agent could keep: its file holds the
 * container's name and the Docker API socket, and whoever stops the orphans asks the daemon to
 * remove it (force: a running container is killed first).
 *
 * Against recycled pids: while the leader lives, it must still carry the job's
 * AWS_BATCH_JOB_ID in its environment. Once the leader is gone, Linux does not hand its pid
 * to a new process while the group it led still has members, so a surviving group with that
 * id is the job's.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeContainer } from '../executor/container.js';

/** What one attempt file holds: the job's process group leader, or its container. */
interface AttemptEntry {
  jobId: string;
  pid?: number;
  container?: string;
  socket?: string;
}

function dir(workRoot: string, sub = PIDS): string {
  return join(workRoot, sub);
}

const PIDS = '.pids';

/**
 * Sets aside the entries a previous agent on this work directory left (before this one writes
 * its own there): killOrphans(workRoot, ORPHANS) stops them, now or, for containers whose
 * engine does not answer yet, later.
 */
export function setAsideOrphans(workRoot: string): void {
  try {
    renameSync(dir(workRoot), dir(workRoot, ORPHANS));
  } catch {
    // none
  }
}

export const ORPHANS = '.pids-orphaned';

function writeEntry(workRoot: string, attempt: number, entry: AttemptEntry): string {
  const file = join(dir(workRoot), `${entry.jobId}#${attempt}`.replace(/[^A-Za-z0-9_.#:-]/g, '_'));
  try {
    writeFileSync(file, JSON.stringify(entry));
  } catch (e) {
    // The directory is made when first needed, not before every job: one file operation
    // fewer per job, on the path between a slot freeing and its next job starting.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir(workRoot), { recursive: true });
    writeFileSync(file, JSON.stringify(entry));
  }
  return file;
}

export function writePidFile(workRoot: string, jobId: string, attempt: number, pid: number): string {
  return writeEntry(workRoot, attempt, { jobId, pid });
}

export function writeContainerFile(workRoot: string, jobId: string, attempt: number, container: string, socket: string): string {
  return writeEntry(workRoot, attempt, { jobId, container, socket });
}

function isJobLeader(pid: number, jobId: string): boolean | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined; // the leader is gone
  }
  return environ.split('\0').includes(`AWS_BATCH_JOB_ID=${jobId}`);
}

export function removePidFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Kills the process group of every job the dead agent left running, and removes its
 * containers (waiting for the engine: the caller may retry their attempts next). Answers how
 * many it stopped, and the containers it could not remove because their engine does not
 * answer: those may still run, so their attempts must not run again yet. Their entries are
 * kept, and a later call tries them again.
 */
export async function killOrphans(workRoot: string, sub = PIDS): Promise<{ stopped: number; pending: string[] }> {
  let stopped = 0;
  const pending: string[] = [];
  let files: string[];
  try {
    files = readdirSync(dir(workRoot, sub));
  } catch {
    return { stopped, pending };
  }
  for (const name of files) {
    const file = join(dir(workRoot, sub), name);
    const { jobId, pid, container, socket } = readSafe(file) ?? { jobId: '' };
    if (container && socket) {
      const outcome = await removeContainer(socket, container);
      if (outcome === 'unreachable') {
        pending.push(container);
        continue; // kept: tried again next time
      }
      if (outcome === 'removed') stopped++;
    } else if (pid !== undefined && Number.isInteger(pid) && pid > 1 && isJobLeader(pid, jobId) !== false) {
      try {
        process.kill(-pid, 'SIGKILL');
        stopped++;
      } catch {
        // exited meanwhile
      }
    }
    removePidFile(file);
  }
  if (pending.length === 0) rmSync(dir(workRoot, sub), { recursive: true, force: true });
  return { stopped, pending };
}

function readSafe(file: string): AttemptEntry | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AttemptEntry;
  } catch {
    return undefined;
  }
}
