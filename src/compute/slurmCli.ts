/**
 * Slurm's command-line tools, as the Slurm provider uses them: `sbatch` to submit, one
 * `squeue` per poll for every job this service user has, `sacct` for jobs squeue has
 * forgotten (when the site keeps accounting), `scancel` for several jobs at once, `sinfo`
 * for a partition's size. Each call is a child process with a time limit; a failure is an
 * error naming the command and what it printed.
 */
import { execFile } from 'node:child_process';

/** Where the tools are and how they are called. */
export interface SlurmCliOptions {
  /** directory of the Slurm commands; empty: found on PATH */
  binDir: string;
  /** environment of the commands (SLURM_CONF and friends pass through from the server's) */
  env?: NodeJS.ProcessEnv;
}

/** One job as squeue reports it. */
export interface SlurmJobState {
  slurmJobId: string;
  name: string;
  /** Slurm's state name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, … */
  state: string;
  reason: string;
  /** wait(2) status of the batch script as Slurm saw it, when known */
  exitStatus: number | null;
  nodes: string;
}

/** Size of a partition: all its nodes together, and the largest single node (a job runs on one). */
export interface PartitionSize {
  name: string;
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  largest: { vcpus: number; memoryMiB: number; gpus: number };
}

const TIMEOUT_MS = 60_000;

export class SlurmCli {
  constructor(private readonly o: SlurmCliOptions) {}

  /** Runs a Slurm command; resolves with its standard output. */
  run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
    const file = this.o.binDir ? `${this.o.binDir.replace(/\/$/, '')}/${cmd}` : cmd;
    return new Promise((resolve, reject) => {
      execFile(file, args, { env: env ?? this.o.env ?? process.env, timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} failed: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      });
    });
  }

  /** Submits a batch script; resolves with Slurm's job id. */
  async sbatch(args: string[], script: string, env: NodeJS.ProcessEnv): Promise<string> {
    const out = await this.run('sbatch', ['--parsable', ...args, script], env);
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch answered '${out.trim()}' instead of a job id`);
    return id;
  }

  /** Every job of this user that Slurm still remembers (finished ones for MinJobAge), in one call. */
  async squeue(): Promise<Map<string, SlurmJobState>> {
    const out = await this.run('squeue', ['--me', '--noheader', '--states=all', '--Format=JobID:|,Name:|,State:|,Reason:|,exit_code:|,NodeList:|']);
    const jobs = new Map<string, SlurmJobState>();
    for (const line of out.split('\n')) {
      const f = line.split('|');
      if (f.length < 6 || !f[0].trim()) continue;
      const status = Number(f[4].trim());
      jobs.set(f[0].trim(), { slurmJobId: f[0].trim(), name: f[1].trim(), state: f[2].trim(), reason: f[3].trim(), exitStatus: Number.isFinite(status) ? status : null, nodes: f[5].trim() });
    }
    return jobs;
  }

  /**
   * Final states from accounting for jobs squeue no longer lists, in one call; an empty map
   * when the site keeps no accounting (sacct then fails).
   */
  async sacct(ids: string[]): Promise<Map<string, SlurmJobState>> {
    const jobs = new Map<string, SlurmJobState>();
    if (ids.length === 0) return jobs;
    let out: string;
    try {
      out = await this.run('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${ids.join(',')}`, '--format=JobID,JobName,State,Reason,ExitCode,NodeList']);
    } catch {
      return jobs;
    }
    for (const line of out.split('\n')) {
      const f = line.split('|');
      if (f.length < 6 || !f[0]) continue;
      // ExitCode is "code:signal"; as a wait status that is code << 8 | signal.
      const [code, sig] = f[4].split(':').map(Number);
      // sacct prints "CANCELLED by 0": the state is the first word.
      jobs.set(f[0], { slurmJobId: f[0], name: f[1], state: f[2].split(' ')[0], reason: f[3], exitStatus: Number.isFinite(code) ? (code << 8) | (sig || 0) : null, nodes: f[5] });
    }
    return jobs;
  }

  /** Cancels jobs (one call); jobs already gone are not an error. */
  async scancel(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      await this.run('scancel', ids);
    } catch (err) {
      if (!/Invalid job id|already completed|not found/i.test((err as Error).message)) throw err;
    }
  }

  /** The partition's nodes summed, or the default partition's when `partition` is empty. */
  async partitionSize(partition: string): Promise<PartitionSize> {
    const out = await this.run('sinfo', ['--noheader', '--Node', '--format=%N|%P|%c|%m|%G']);
    const size: PartitionSize = { name: partition, vcpus: 0, memoryMiB: 0, gpus: 0, largest: { vcpus: 0, memoryMiB: 0, gpus: 0 } };
    for (const line of out.split('\n')) {
      const [node, part, cpus, mem, gres] = line.split('|');
      if (!node || part === undefined) continue;
      const isDefault = part.endsWith('*');
      const name = part.replace(/\*$/, '');
      if (partition ? name !== partition : !isDefault) continue;
      size.name = name;
      const n = { vcpus: Number(cpus) || 0, memoryMiB: Number(mem) || 0, gpus: gpusOf(gres ?? '') };
      size.vcpus += n.vcpus;
      size.memoryMiB += n.memoryMiB;
      size.gpus += n.gpus;
      size.largest = { vcpus: Math.max(size.largest.vcpus, n.vcpus), memoryMiB: Math.max(size.largest.memoryMiB, n.memoryMiB), gpus: Math.max(size.largest.gpus, n.gpus) };
    }
    if (size.vcpus === 0) throw new Error(partition ? `Slurm has no partition '${partition}' with nodes` : 'Slurm has no default partition with nodes');
    return size;
  }
}

/** GPUs in a node's generic resources, e.g. "gpu:2" or "gpu:a100:4(S:0-1)". */
function gpusOf(gres: string): number {
  let n = 0;
  for (const m of gres.matchAll(/gpu(?::[^:,(]+)?:(\d+)/g)) n += Number(m[1]);
  return n;
}
