/**
 * The single-node Slurm cluster of bench/peers/slurm/cluster.sh, for the Slurm provider's
 * tests and benchmarks. CI starts it (scripts/ci/slurm.sh) and exports SLURM_CONF; on a
 * developer's machine `bench/peers/slurm/cluster.sh start` does the same.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand, type BatchClient, type EvaluateOnExit } from '@aws-sdk/client-batch';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempDir } from './server.js';

/** Why Slurm cannot be used here, or null when its cluster answers (SLURM_CONF is set for child processes). */
export function slurmUnavailable(): string | null {
  if (!process.env.SLURM_CONF) {
    // cluster.sh's state directory (one per machine, not under the run's TMPDIR).
    const conf = join(process.env.OPENBATCH_SLURM_DIR ?? '/tmp/openbatch-slurm', 'etc', 'slurm.conf');
    if (existsSync(conf)) process.env.SLURM_CONF = conf;
  }
  try {
    const out = execFileSync('sinfo', ['--noheader', '--format=%T'], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!out.trim()) return 'Slurm answers but has no nodes';
    return null;
  } catch (err) {
    return `no Slurm cluster here (start one with bench/peers/slurm/cluster.sh start): ${(err as Error).message.split('\n')[0]}`;
  }
}

/**
 * Slurm's own view, for failure messages: each node's state and reason, and every job it
 * lists with its state and why it waits.
 */
export function slurmView(): string {
  const run = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      return `${cmd} failed: ${(err as Error).message.split('\n')[0]}`;
    }
  };
  return [
    'Slurm nodes (name state reason):',
    run('sinfo', ['--noheader', '--Node', '--format=%N %T %E']),
    'Slurm jobs (id name state reason):',
    run('squeue', ['--noheader', '--all', '--format=%i %j %T %r']) || '(none)',
  ].join('\n');
}

/** What a Slurm test says when a job does not get where it should: Slurm's view and the server's warnings. */
export function slurmExplain(server: { warnings(): string[] }): () => string {
  return () => `${slurmView()}\nserver warnings:\n${server.warnings().join('\n') || '(none)'}`;
}

/** The cluster's one node name. */
export function slurmNode(): string {
  return execFileSync('sinfo', ['--noheader', '--Node', '--format=%N'], { encoding: 'utf8' }).trim().split('\n')[0];
}

/** scontrol update of the node's state (down, resume, drain). */
export function setNodeState(node: string, state: string, reason = 'openbatch test'): void {
  const args = ['update', `nodename=${node}`, `state=${state}`];
  if (state !== 'resume') args.push(`reason=${reason}`);
  try {
    execFileSync('scontrol', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // resume of a node that already came back is refused; that is the state wanted.
    if (state !== 'resume') throw err;
  }
}

/** An UNMANAGED compute environment whose capacity is the cluster's default partition. */
export async function slurmCe(client: BatchClient, name: string, tags: Record<string, string> = {}): Promise<void> {
  await client.send(
    new CreateComputeEnvironmentCommand({ computeEnvironmentName: name, type: 'UNMANAGED', unmanagedvCpus: 2, tags: { 'openbatch:provider': 'slurm', ...tags } }),
  );
}

/** A container job definition of 1 vCPU and 128 MiB running `command`. */
export async function definition(
  client: BatchClient,
  name: string,
  command: string[],
  extra: { retries?: number; evaluateOnExit?: EvaluateOnExit[]; timeout?: number; parameters?: Record<string, string> } = {},
): Promise<void> {
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      parameters: extra.parameters,
      retryStrategy: extra.retries ? { attempts: extra.retries, evaluateOnExit: extra.evaluateOnExit } : undefined,
      timeout: extra.timeout ? { attemptDurationSeconds: extra.timeout } : undefined,
      containerProperties: { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }] },
    }),
  );
}


/**
 * Waits (up to a minute) until the node can run jobs. Only a file holding the node exclusive
 * drains it or takes it down, and it resumes the node when it ends; a node found drained or
 * down by the next holder was left so by a file that died before its clean-up, and is resumed.
 * A node Slurm marks not responding (`*`) is waited for: ReturnToService brings it back.
 */
async function nodeUsable(): Promise<void> {
  const node = slurmNode();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = nodeState(node);
    if (/^(idle|mixed|allocated|completing)$/.test(state)) return;
    if (Date.now() > deadline) {
      console.log(`# the Slurm node is still ${state} after a minute; going on\n${slurmView()}`);
      return;
    }
    if (/drain|down|fail/.test(state) && !state.endsWith('*')) setNodeState(node, 'resume');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Holds the cluster's one node for a test file, until the returned function is called.
 * node --test runs files in parallel where there are cores to spare, and every Slurm test
 * file runs its jobs on the same node: a file that drains the node or takes it down holds it
 * 'exclusive', the others 'shared', so no file's jobs die of another file's node failure.
 * The lock is flock(1) on a file beside the cluster's slurm.conf.
 */
export async function holdSlurmNode(mode: 'shared' | 'exclusive'): Promise<() => Promise<void>> {
  const lock = join(dirname(process.env.SLURM_CONF!), 'openbatch-tests.lock');
  const child = spawn('flock', [`--${mode}`, lock, 'sh', '-c', 'echo held; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`flock ${lock} exited with ${code} before holding the lock`)));
  });
  await nodeUsable();
  return async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.stdin.end();
    await exited;
  };
}

/**
 * A directory to give the server as slurmBinDir: each Slurm command there appends its
 * arguments to `calls` and runs the real one, so a test sees exactly how openbatch talks to
 * Slurm. `sbatch` also records the job id Slurm answered. `sbatchHold`: sbatch, once the
 * real one has answered, writes its answer to `<dir>/submitted` and waits for `<dir>/release`
 * before passing it on (a control plane killed between Slurm's answer and its record).
 */
export function recordingSlurmBin(o: { sbatchHold?: boolean } = {}): { dir: string; calls: () => string[][] } {
  const dir = tempDir('openbatch-slurm-bin-');
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  for (const cmd of ['squeue', 'sacct', 'scancel', 'sinfo', 'sbatch']) {
    const real = execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    const body =
      cmd === 'sbatch'
        ? [
            `out=$(${real} "$@") || exit $?`,
            `echo "sbatch $* => $out" >> ${log}`,
            o.sbatchHold ? `echo "$out" > ${dir}/submitted; while [ ! -e ${dir}/release ]; do sleep 0.2; done` : '',
            'echo "$out"',
          ]
        : [`echo "${cmd} $*" >> ${log}`, `exec ${real} "$@"`];
    writeFileSync(join(dir, cmd), ['#!/bin/sh', ...body, ''].join('\n'));
    chmodSync(join(dir, cmd), 0o755);
  }
  return {
    dir,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ')),
  };
}

/** The node's state as sinfo reports it (idle, mixed, allocated, draining, drained, down, …). */
export function nodeState(node: string): string {
  return execFileSync('sinfo', ['--noheader', '--Node', `--nodes=${node}`, '--format=%T'], { encoding: 'utf8' }).trim().split('\n')[0];
}

/** The jobs Slurm lists under `name` (finished ones for MinJobAge): id and state. */
export function slurmJobsNamed(name: string): { id: string; state: string }[] {
  const out = execFileSync('squeue', ['--me', '--noheader', '--states=all', `--name=${name}`, '--format=%i|%T'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id, state] = l.trim().split('|');
      return { id, state };
    });
}
