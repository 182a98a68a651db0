/**
 * The single-node Slurm cluster of bench/peers/slurm/cluster.sh, for the Slurm provider's
 * tests and benchmarks. CI starts it (scripts/ci/slurm.sh) and exports SLURM_CONF; on a
 * developer's machine `bench/peers/slurm/cluster.sh start` does the same.
 */
import { execFileSync } from 'node:child_process';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand, type BatchClient } from '@aws-sdk/client-batch';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
export async function definition(client: BatchClient, name: string, command: string[], extra: { retries?: number; timeout?: number; parameters?: Record<string, string> } = {}): Promise<void> {
  await client.send(
    new RegisterJobDefinitionCommand({
      jobDefinitionName: name,
      type: 'container',
      parameters: extra.parameters,
      retryStrategy: extra.retries ? { attempts: extra.retries } : undefined,
      timeout: extra.timeout ? { attemptDurationSeconds: extra.timeout } : undefined,
      containerProperties: { image: 'busybox', command, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }] },
    }),
  );
}

