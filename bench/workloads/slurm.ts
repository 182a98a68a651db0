/**
 * The Slurm peer: the same work through single-node Slurm (bench/peers/slurm/cluster.sh,
 * tuned per Slurm's high-throughput guide) and through openbatch, in one run.
 *
 *   one by one   N trivial jobs (`true`), each its own `sbatch`, 16 sbatch calls in flight
 *                (the same submission concurrency as openbatch's SDK calls)
 *   array        one `sbatch --array=0-(N-1)` of `true`
 *   cpu          M jobs of 100 ms of CPU each, one by one; makespan against the ideal
 *                (M × 0.1 s ÷ cores)
 * Each is timed from the first submission until Slurm lists none of the jobs as active (a
 * job seen ending in any state but COMPLETED fails the run). The openbatch side runs the same commands on a local CE of
 * all cores (openbatch ÷ Slurm), and on a CE whose capacity is the Slurm partition (the Slurm
 * provider's overhead: provider ÷ plain sbatch of the same work).
 *
 * Skipped, with the reason, when the cluster cannot start (no slurm-wlm/munge, not root).
 */
import { spawnSync } from 'node:child_process';
import { CreateComputeEnvironmentCommand, CreateJobQueueCommand, RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { createCe } from '../../test/helpers/fixtures.js';
import { benchServer, REPO_ROOT, runAll, sleep } from '../lib.js';
import { SlurmCli } from '../../src/compute/slurmCli.js';
import { allSucceeded, CPU_COMMAND } from './cpuJobs.js';

export interface SlurmOptions {
  /** trivial jobs, one by one and as one array */
  jobs: number;
  /** 100 ms CPU jobs */
  cpuJobs: number;
  /** dependency chain length and fan-out width (0: skipped) */
  chain?: number;
  fan?: number;
  cores: number;
  submitConcurrency: number;
}

export interface PeerFigure {
  jobsPerSecond: number;
  elapsedMs: number;
}

export interface SlurmResult {
  skipped?: string;
  version?: string;
  jobs: number;
  cpuJobs: number;
  chain?: number;
  fan?: number;
  slurm?: { oneByOne: PeerFigure; array: PeerFigure; cpu: PeerFigure & { ideal: number }; chain?: PeerFigure; fan?: PeerFigure };
  openbatch?: { oneByOne: PeerFigure; array: PeerFigure; cpu: PeerFigure };
  provider?: { oneByOne: PeerFigure; array: PeerFigure };
  /** openbatch (local) ÷ Slurm, jobs/s */
  ratios?: { oneByOne: number; array: number; cpu: number };
  /** Slurm provider ÷ plain sbatch, jobs/s (1 = no overhead) */
  providerRatios?: { oneByOne: number; array: number };
}

const CLUSTER = `${REPO_ROOT}bench/peers/slurm/cluster.sh`;

/** Starts the cluster (or finds it running); returns why it cannot, or null. */
export function startCluster(): { error: string | null; startedHere: boolean } {
  const status = spawnSync(CLUSTER, ['status'], { encoding: 'utf8' });
  if (status.status === 0) return { error: null, startedHere: false };
  const r = spawnSync(CLUSTER, ['start'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { error: `${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-3).join(' ')}`, startedHere: false };
  const env = spawnSync(CLUSTER, ['env'], { encoding: 'utf8' }).stdout.trim();
  const m = /SLURM_CONF=(\S+)/.exec(env);
  if (m) process.env.SLURM_CONF = m[1];
  return { error: null, startedHere: true };
}

function ensureSlurmConf(): void {
  if (process.env.SLURM_CONF) return;
  const m = /SLURM_CONF=(\S+)/.exec(spawnSync(CLUSTER, ['env'], { encoding: 'utf8' }).stdout);
  if (m) process.env.SLURM_CONF = m[1];
}

/**
 * Waits until Slurm lists no job named `name` as active. Finished jobs stay listed only for
 * MinJobAge (60 s), so a job no longer listed counts as finished; any listed as ended in
 * another state than COMPLETED fails the run.
 */
async function drain(cli: SlurmCli, name: string): Promise<void> {
  for (;;) {
    const all = [...(await cli.squeue()).values()].filter((j) => j.name === name);
    const bad = all.find((j) => ['FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'BOOT_FAIL'].includes(j.state));
    if (bad) throw new Error(`Slurm job ${bad.slurmJobId} ended ${bad.state}`);
    if (!all.some((j) => j.state !== 'COMPLETED')) return;
    await sleep(100);
  }
}

async function slurmOneByOne(cli: SlurmCli, n: number, command: string[], concurrency: number, tag: string): Promise<PeerFigure> {
  const name = `bench-${tag}-${process.pid}`;
  const wrap = command.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  await runAll(n, concurrency, () => cli.run('sbatch', ['--parsable', `--job-name=${name}`, '--output=/dev/null', '--cpus-per-task=1', '--mem=64M', `--wrap=${wrap}`]));
  await drain(cli, name);
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, jobsPerSecond: (n * 1000) / elapsedMs };
}

async function slurmArray(cli: SlurmCli, n: number): Promise<PeerFigure> {
  const name = `bench-array-${process.pid}`;
  const t0 = performance.now();
  await cli.run('sbatch', ['--parsable', `--job-name=${name}`, '--output=/dev/null', '--cpus-per-task=1', '--mem=64M', `--array=0-${n - 1}`, '--wrap=true']);
  await drain(cli, name);
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, jobsPerSecond: (n * 1000) / elapsedMs };
}

const SBATCH = ['--parsable', '--output=/dev/null', '--cpus-per-task=1', '--mem=64M'];
/** `sbatch --parsable` prints `<id>` or `<id>;<cluster>` */
const jobIdOf = (out: string) => out.trim().split(';')[0];

async function slurmChain(cli: SlurmCli, n: number): Promise<PeerFigure> {
  const name = `bench-chain-${process.pid}`;
  const t0 = performance.now();
  let prev = '';
  for (let i = 0; i < n; i++) {
    const dep = prev ? [`--dependency=afterok:${prev}`, '--kill-on-invalid-dep=yes'] : [];
    prev = jobIdOf(await cli.run('sbatch', [...SBATCH, `--job-name=${name}`, ...dep, '--wrap=true']));
  }
  await drain(cli, name);
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, jobsPerSecond: (n * 1000) / elapsedMs };
}

async function slurmFan(cli: SlurmCli, n: number): Promise<PeerFigure> {
  const name = `bench-fan-${process.pid}`;
  const t0 = performance.now();
  const root = jobIdOf(await cli.run('sbatch', [...SBATCH, `--job-name=${name}`, '--wrap=true']));
  const fan = jobIdOf(await cli.run('sbatch', [...SBATCH, `--job-name=${name}`, `--array=0-${n - 1}`, `--dependency=afterok:${root}`, '--kill-on-invalid-dep=yes', '--wrap=true']));
  await cli.run('sbatch', [...SBATCH, `--job-name=${name}`, `--dependency=afterok:${fan}`, '--kill-on-invalid-dep=yes', '--wrap=true']);
  await drain(cli, name);
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, jobsPerSecond: ((n + 2) * 1000) / elapsedMs };
}

async function openbatchRuns(o: SlurmOptions, ceKind: 'local' | 'slurm'): Promise<{ oneByOne: PeerFigure; array: PeerFigure; cpu?: PeerFigure }> {
  const s = await benchServer({ env: { SLURM_CONF: process.env.SLURM_CONF ?? '', OPENBATCH_SLURM_POLL_SECONDS: '0.2' } });
  try {
    const { client } = s;
    if (ceKind === 'local') await createCe(client, 'ce', { maxvCpus: o.cores });
    else await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'ce', type: 'UNMANAGED', unmanagedvCpus: o.cores, tags: { 'openbatch:provider': 'slurm' } }));
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }] }));
    for (const [name, command] of [['trivial', ['true']], ['cpu', CPU_COMMAND]] as const) {
      await client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: name,
          type: 'container',
          containerProperties: { image: 'none', command: [...command], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
        }),
      );
    }
    const submit = async (def: string, extra: object = {}) => (await client.send(new SubmitJobCommand({ jobName: def, jobQueue: 'q', jobDefinition: def, ...extra }))).jobId!;
    await allSucceeded(client, [await submit('trivial')]); // warm-up: the instance is up
    const oneByOne = async (def: string, n: number): Promise<PeerFigure> => {
      const ids: string[] = new Array(n);
      const t0 = performance.now();
      await runAll(n, o.submitConcurrency, async (i) => {
        ids[i] = await submit(def);
      });
      await allSucceeded(client, ids);
      const elapsedMs = performance.now() - t0;
      return { elapsedMs, jobsPerSecond: (n * 1000) / elapsedMs };
    };
    const trivial = await oneByOne('trivial', o.jobs);
    const t0 = performance.now();
    await allSucceeded(client, [await submit('trivial', { arrayProperties: { size: o.jobs } })]);
    const arrayMs = performance.now() - t0;
    const cpu = ceKind === 'local' ? await oneByOne('cpu', o.cpuJobs) : undefined;
    return { oneByOne: trivial, array: { elapsedMs: arrayMs, jobsPerSecond: (o.jobs * 1000) / arrayMs }, cpu };
  } finally {
    await s.close();
  }
}

export async function slurmPeer(o: SlurmOptions): Promise<SlurmResult> {
  const base: SlurmResult = { jobs: o.jobs, cpuJobs: o.cpuJobs, chain: o.chain, fan: o.fan };
  const started = startCluster();
  if (started.error) return { ...base, skipped: `Slurm cluster could not start: ${started.error}` };
  ensureSlurmConf();
  const cli = new SlurmCli({ binDir: '' });
  try {
    const version = (await cli.run('sinfo', ['--version'])).trim();
    const slurm = {
      oneByOne: await slurmOneByOne(cli, o.jobs, ['true'], o.submitConcurrency, 'trivial'),
      array: await slurmArray(cli, o.jobs),
      cpu: { ...(await slurmOneByOne(cli, o.cpuJobs, CPU_COMMAND, o.submitConcurrency, 'cpu')), ideal: (o.cpuJobs * 100) / o.cores / 1000 },
      chain: o.chain ? await slurmChain(cli, o.chain) : undefined,
      fan: o.fan ? await slurmFan(cli, o.fan) : undefined,
    };
    const ob = await openbatchRuns(o, 'local');
    const provider = await openbatchRuns(o, 'slurm');
    return {
      ...base,
      version,
      slurm,
      openbatch: { oneByOne: ob.oneByOne, array: ob.array, cpu: ob.cpu! },
      provider: { oneByOne: provider.oneByOne, array: provider.array },
      ratios: {
        oneByOne: ob.oneByOne.jobsPerSecond / slurm.oneByOne.jobsPerSecond,
        array: ob.array.jobsPerSecond / slurm.array.jobsPerSecond,
        cpu: ob.cpu!.jobsPerSecond / slurm.cpu.jobsPerSecond,
      },
      providerRatios: {
        oneByOne: provider.oneByOne.jobsPerSecond / slurm.oneByOne.jobsPerSecond,
        array: provider.array.jobsPerSecond / slurm.array.jobsPerSecond,
      },
    };
  } finally {
    if (started.startedHere) spawnSync(CLUSTER, ['stop']);
  }
}
