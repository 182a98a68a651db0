/**
 * The Slurm provider: a compute environment whose capacity is a Slurm partition.
 *
 * A CE is Slurm's when it carries the tag `openbatch:provider=slurm` (MANAGED or UNMANAGED).
 * Its partition, account and QOS come from the tags `openbatch:slurm-partition`,
 * `openbatch:slurm-account`, `openbatch:slurm-qos`, else from server configuration.
 *
 * Capacity: each such CE has one instance standing for its partition: the partition's vCPUs,
 * memory and GPUs times slurmQueueDepth (a MANAGED CE's maxvCpus caps the vCPUs). The
 * scheduler places on it as on any instance, so openbatch keeps the queues, priorities, fair
 * share, dependencies and retries, and Slurm holds only what the partition can run plus, at
 * the default depth of 2, one more wave waiting (without it each job would wait a poll and a
 * scheduler pass after the previous one ends before Slurm even sees it). The largest job that
 * fits is the largest node (a job runs on one node).
 *
 * An attempt's life, driven by `tick()` (every slurmPollSeconds, and at once after placements
 * or a TerminateJob):
 *   1. Placed (STARTING) with no Slurm job: a slurm_jobs row is written, then the batch script
 *      and `sbatch`; its Slurm job id is recorded. The row is written first so that a crash
 *      between the two leaves a trace: at start the provider adopts the Slurm job of that
 *      name, if any, instead of submitting a second one.
 *   2. Followed with one `squeue` per tick for all of them (and one `sacct` for those squeue
 *      has forgotten, where the site keeps accounting). RUNNING in Slurm → RUNNING here.
 *   3. Output: the attempt's output file is read from `log_offset` on each tick and appended
 *      as log events of the attempt's stream, with the offset, in one transaction.
 *   4. TerminateJob and openbatch's attempt timeout → `scancel` (stop_reason recorded first,
 *      so the outcome is read right even across a restart). Slurm's own time limit is set a
 *      minute above the timeout, as a backstop if openbatch is down.
 *   5. A final Slurm state → the attempt's end (slurmStates.ts), fenced by the attempt's
 *      token, in the same transaction as the last output; the slurm_jobs row goes with it.
 * A control-plane restart changes nothing for Slurm jobs: they keep running, and the next
 * tick follows them from their rows.
 */
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readSync, fstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REASONS } from '../model/reasons.js';
import type { Resources } from '../model/resources.js';
import { allComputeEnvironments, type ComputeEnvironmentRow, computeResourcesOf, ceTagsOf } from '../store/computeEnvironments.js';
import { closeInstance, insertInstance, liveInstances, updateInstance, providerDataOf } from '../store/instances.js';
import { jobSpecOf } from '../store/jobs.js';
import { finishAttempt, markRunning } from '../store/attemptReports.js';
import { appendLogEvents, DEFAULT_LOG_GROUP, type NewLogEvent } from '../store/logEvents.js';
import { activeSlurmAttempts, deleteSlurmJob, insertSlurmJob, orphanedSlurmJobs, updateSlurmJob, type SlurmAttempt } from '../store/slurmJobs.js';
import { defaultBaseEnv } from '../executor/process.js';
import { timesCpuSeconds } from '../executor/usage.js';
import { recordUsage } from '../store/attemptUsage.js';
import type { Core } from '../core.js';
import type { Timer } from '../model/ids.js';
import { attemptEnvironment, derivedEnvironment, RerunIndex } from './assignment.js';
import { PROVIDER_TAG } from './providers.js';
import { hashToken } from './agentTokens.js';
import { SlurmCli, type PartitionSize, type SlurmJobState } from './slurmCli.js';
import { attemptEndOf, phaseOf } from './slurmStates.js';


/** Where a Slurm CE's jobs go. */
export interface SlurmTarget {
  partition: string;
  account: string;
  qos: string;
}

/** The Slurm target of a CE, or null when the CE is not Slurm's. */
export function slurmTargetOf(ce: Pick<ComputeEnvironmentRow, 'tags'>, defaults: SlurmTarget): SlurmTarget | null {
  const tags = ceTagsOf(ce);
  if (tags[PROVIDER_TAG] !== 'slurm') return null;
  return {
    partition: tags['openbatch:slurm-partition'] ?? defaults.partition,
    account: tags['openbatch:slurm-account'] ?? defaults.account,
    qos: tags['openbatch:slurm-qos'] ?? defaults.qos,
  };
}

/** Partition sizes are asked of Slurm at most this often. */
const SIZE_TTL_MS = 30_000;
/** sbatch calls in flight at once. */
const SUBMIT_CONCURRENCY = 8;
/** output read per attempt per tick */
const LOG_CHUNK = 1 << 20;
/** a submitted job squeue does not list is declared lost only after this long (and one sacct) */
const VANISH_GRACE_MS = 10_000;

export class SlurmProvider {
  readonly cli: SlurmCli;
  private readonly workRoot: string;
  private readonly sizes = new Map<string, { at: number; size: PartitionSize | null; error?: string }>();
  private timer?: Timer;
  private running = false;
  private again = false;
  private closing = false;
  private adopted = false;
  private idle: Promise<void> = Promise.resolve();
  /** Slurm jobs already told to stop, so scancel is sent once */
  private readonly cancelled = new Set<string>();

  private readonly reruns: RerunIndex;

  constructor(private readonly o: Core) {
    this.reruns = new RerunIndex(o.db);
    this.cli = new SlurmCli({ binDir: o.config.slurmBinDir });
    this.workRoot = o.config.slurmWorkDir || join(o.config.dataDir, 'slurm');
  }

  private defaults(): SlurmTarget {
    return { partition: this.o.config.slurmPartition, account: this.o.config.slurmAccount, qos: this.o.config.slurmQos };
  }

  /** Whether a CE's capacity is a Slurm partition. */
  manages(ce: ComputeEnvironmentRow): boolean {
    return slurmTargetOf(ce, this.defaults()) !== null;
  }

  /** The largest job the CE's partition can run: its largest node (unknown until Slurm answered). */
  largest(ce: ComputeEnvironmentRow): Resources | null {
    const t = slurmTargetOf(ce, this.defaults());
    const size = t ? this.sizes.get(t.partition)?.size : undefined;
    if (!size) return null;
    const cap = ce.type === 'MANAGED' ? (computeResourcesOf(ce)?.maxvCpus ?? Infinity) : Infinity;
    return { vcpus: Math.min(size.largest.vcpus, cap), memoryMiB: size.largest.memoryMiB, gpus: size.largest.gpus };
  }

  start(): void {
    this.timer = this.o.timers.every(Math.max(this.o.config.slurmPollSeconds, 0.05) * 1000, () => this.kick());
  }

  /** Follow Slurm now (coalesced): after placements, TerminateJob, or the timer. */
  kick(): void {
    if (this.closing) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = (async () => {
      try {
        do {
          this.again = false;
          await this.tick();
        } while (this.again && !this.closing);
      } catch (err) {
        this.o.logger.error({ err }, 'slurm provider tick failed');
      } finally {
        this.running = false;
      }
    })();
  }

  /**
   * After each scheduler pass: every ENABLED Slurm CE has its partition's instance, sized to
   * what Slurm says; the instance of a deleted CE is closed.
   */
  async reconcile(): Promise<void> {
    if (this.closing) return;
    const ces = (await allComputeEnvironments(this.o.db)).filter((c) => this.manages(c));
    const instances = (await liveInstances(this.o.db)).filter((i) => i.provider === 'slurm');
    const names = new Set(ces.map((c) => c.name));
    for (const inst of instances) {
      if (!names.has(inst.ce_name)) {
        await this.o.uow.write((tx) => closeInstance(tx, inst.id, 'compute environment deleted', REASONS.hostTerminated(inst.id), this.o.clock.now()));
      }
    }
    for (const ce of ces) {
      if (ce.state !== 'ENABLED' || ce.status !== 'VALID') continue;
      const t = slurmTargetOf(ce, this.defaults())!;
      const size = await this.partitionSize(t.partition);
      if (!size) continue;
      // slurmQueueDepth partitions' worth: the next jobs wait in Slurm, which starts each the moment a CPU frees.
      const depth = Math.max(1, this.o.config.slurmQueueDepth || 1);
      const cap = ce.type === 'MANAGED' ? (computeResourcesOf(ce)?.maxvCpus ?? Infinity) : Infinity;
      const vcpus = Math.min(Math.floor(size.vcpus * depth), cap);
      const memoryMiB = Math.floor(size.memoryMiB * depth);
      const gpus = Math.floor(size.gpus * depth);
      const inst = instances.find((i) => i.ce_name === ce.name);
      if (!inst) {
        const now = this.o.clock.now();
        const id = this.o.ids.instanceId();
        await insertInstance(this.o.db, {
          id,
          ce_name: ce.name,
          instance_type: `slurm:${size.name}`,
          vcpus,
          memory_mib: memoryMiB,
          gpus,
          state: 'ACTIVE',
          // Nothing authenticates as a Slurm instance: an unguessable hash of nothing anyone holds.
          token_hash: hashToken(this.o.ids.secret()),
          provider: 'slurm',
          provider_data: t,
          launched_at: now,
          last_heartbeat_at: now,
          terminated_at: null,
          termination_reason: null,
        });
        this.o.logger.info({ instance: id, ce: ce.name, partition: size.name, vcpus, memoryMiB }, 'slurm partition attached');
        this.o.kickScheduler();
      } else if (inst.vcpus !== vcpus || inst.memory_mib !== memoryMiB || inst.gpus !== gpus) {
        await updateInstance(this.o.db, inst.id, { vcpus, memory_mib: memoryMiB, gpus, instance_type: `slurm:${size.name}` });
        this.o.kickScheduler();
      }
    }
  }

  private async partitionSize(partition: string): Promise<PartitionSize | null> {
    const cached = this.sizes.get(partition);
    const now = this.o.clock.now();
    if (cached && now - cached.at < SIZE_TTL_MS) return cached.size;
    try {
      const size = await this.cli.partitionSize(partition);
      this.sizes.set(partition, { at: now, size });
      return size;
    } catch (err) {
      // Keep the last size known: a slurmctld restart does not take the capacity away.
      this.sizes.set(partition, { at: now, size: cached?.size ?? null, error: (err as Error).message });
      if (!cached?.error) this.o.logger.warn({ err, partition }, 'cannot read the Slurm partition');
      return cached?.size ?? null;
    }
  }

  /** One round: submit what was placed, follow what runs, stop what must stop, finish what ended. */
  async tick(): Promise<void> {
    const instances = (await liveInstances(this.o.db)).filter((i) => i.provider === 'slurm');
    const attempts = await activeSlurmAttempts(this.o.db, instances.map((i) => i.id));
    const orphans = await orphanedSlurmJobs(this.o.db);
    if (attempts.length === 0 && orphans.length === 0) return;
    const targets = new Map(instances.map((i) => [i.id, ({ ...this.defaults(), ...providerDataOf<SlurmTarget>(i) })]));

    let queue: Map<string, SlurmJobState>;
    try {
      queue = await this.cli.squeue();
    } catch (err) {
      this.o.logger.warn({ err }, 'squeue failed; Slurm jobs are followed again at the next tick');
      return;
    }
    if (!this.adopted) await this.adopt(attempts, queue);

    // Attempts whose job ended by other means: their Slurm jobs are stopped, their rows dropped.
    const stale = orphans.map((o) => o.slurm_job_id).filter((id): id is string => id !== null);
    if (stale.length) await this.cli.scancel(stale).catch((err) => this.o.logger.warn({ err }, 'scancel failed'));
    for (const o of orphans) await deleteSlurmJob(this.o.db, o.job_id, o.attempt);

    await this.submit(attempts.filter((a) => a.slurm_job_id === null && !a.terminate_reason), targets);
    await this.stopWhereAsked(attempts);

    const now = this.o.clock.now();
    const missing = attempts.filter((a) => a.slurm_job_id && !queue.has(a.slurm_job_id) && now - (a.submitted_at ?? now) > VANISH_GRACE_MS);
    const fromAccounting = await this.cli.sacct(missing.map((a) => a.slurm_job_id!));
    let ended = false;
    await this.o.uow.write(async (tx) => {
      const logs: NewLogEvent[] = [];
      for (const a of attempts) {
        if (!a.slurm_job_id || !a.work_dir) {
          // Placed but cancelled before it was submitted: the attempt ends here.
          if (a.terminate_reason && !a.slurm_job_id) {
            ended ||= await finishAttempt(tx, a.job_id, a.attempt, a.token, { exitCode: null, reason: null, stoppedAt: now, neverStarted: true }, now);
            await deleteSlurmJob(tx.db, a.job_id, a.attempt);
          }
          continue;
        }
        const sj = queue.get(a.slurm_job_id) ?? fromAccounting.get(a.slurm_job_id);
        const exitFile = readExitFile(a.work_dir);
        let state = sj;
        if (!state && missing.includes(a)) {
          // Forgotten by squeue, unknown to accounting: the exit file is the last word.
          state = { slurmJobId: a.slurm_job_id, name: '', state: exitFile === null ? 'VANISHED' : exitFile === 0 ? 'COMPLETED' : 'FAILED', reason: '', exitStatus: null, nodes: '' };
        }
        if (!state) continue;
        const phase = phaseOf(state.state);
        const final = phase === 'final' || state.state === 'VANISHED';
        const offset = this.readOutput(a, final, logs, now);
        if (offset !== a.log_offset) await updateSlurmJob(tx.db, a.job_id, a.attempt, { log_offset: offset });
        if (phase === 'running' && a.status === 'STARTING') await markRunning(tx, a.job_id, a.attempt, a.token, now, now);
        if (final) {
          const end = state.state === 'VANISHED' ? { exitCode: null, reason: null, statusReason: `Slurm job ${a.slurm_job_id} is no longer known to Slurm and left no exit code`, stoppedAt: now } : attemptEndOf(state, a.stop_reason, exitFile, a.instance_id, now);
          // Not applied (fenced off): the row stays, and goes once the attempt is seen ended (orphanedSlurmJobs).
          if (await finishAttempt(tx, a.job_id, a.attempt, a.token, end, now)) {
            ended = true;
            const cpuSeconds = readUsageFile(a.work_dir);
            if (cpuSeconds !== undefined) {
              await recordUsage(tx, a.instance_id, [{ jobId: a.job_id, attempt: a.attempt, token: a.token, at: now, figures: { source: 'slurm', cpuSeconds }, final: true }]);
            }
            await deleteSlurmJob(tx.db, a.job_id, a.attempt);
          } else this.o.logger.warn({ job: a.job_id, attempt: a.attempt, slurmJob: a.slurm_job_id, state: state.state }, 'slurm job ended but its attempt end was not applied');
          this.cancelled.delete(a.slurm_job_id);
        }
      }
      if (logs.length) await appendLogEvents(tx.db, logs, now);
    });
    if (ended) this.o.kickScheduler();
  }

  /** At the first tick after start: rows without a Slurm job id whose sbatch may have gone through. */
  private async adopt(attempts: SlurmAttempt[], queue: Map<string, SlurmJobState>): Promise<void> {
    this.adopted = true;
    const byName = new Map([...queue.values()].map((j) => [j.name, j.slurmJobId]));
    for (const a of attempts) {
      if (a.work_dir === null || a.slurm_job_id !== null) continue;
      const id = byName.get(slurmJobName(a.job_id, a.attempt));
      if (id) {
        await updateSlurmJob(this.o.db, a.job_id, a.attempt, { slurm_job_id: id });
        a.slurm_job_id = id;
        this.o.logger.info({ job: a.job_id, attempt: a.attempt, slurmJob: id }, 'adopted a Slurm job submitted before the restart');
      }
    }
  }

  private async submit(placed: SlurmAttempt[], targets: Map<string, SlurmTarget>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < placed.length && !this.closing) {
        const a = placed[next++];
        try {
          await this.submitOne(a, targets.get(a.instance_id) ?? this.defaults());
        } catch (err) {
          // The attempt fails like a container that could not start; retry strategies apply.
          this.o.logger.warn({ err, job: a.job_id, attempt: a.attempt }, 'sbatch failed');
          const now = this.o.clock.now();
          const reason = `CannotStartContainerError: ${(err as Error).message}`.slice(0, 1024);
          await this.o.uow.write(async (tx) => {
            await finishAttempt(tx, a.job_id, a.attempt, a.token, { exitCode: null, reason, statusReason: reason, stoppedAt: now }, now);
            await deleteSlurmJob(tx.db, a.job_id, a.attempt);
          });
          this.o.kickScheduler();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(SUBMIT_CONCURRENCY, placed.length) }, worker));
  }

  private async submitOne(a: SlurmAttempt, t: SlurmTarget): Promise<void> {
    const dir = a.work_dir ?? join(this.workRoot, a.job_id.replace(/[^A-Za-z0-9._-]/g, '_'), String(a.attempt));
    const now = this.o.clock.now();
    if (a.work_dir === null) {
      await insertSlurmJob(this.o.db, { job_id: a.job_id, attempt: a.attempt, instance_id: a.instance_id, slurm_job_id: null, work_dir: dir, log_offset: 0, stop_reason: null, submitted_at: now });
      a.work_dir = dir;
      a.log_offset = 0;
      a.submitted_at = now;
    }
    mkdirSync(dir, { recursive: true });
    const spec = jobSpecOf(a);
    if (spec.task) throw new Error(`a job of several containers (${spec.task.orchestration === 'ECS' ? 'ecsProperties' : 'eksProperties'}) does not run on a Slurm compute environment: run it on a local or joined one`);
    const command = spec.command ?? [];
    if (command.length === 0 || command[0] === '') throw new Error('the job has no command to run (command is empty)');
    const script = join(dir, 'script.sh');
    writeFileSync(script, batchScript(command, dir, a), { mode: 0o700 });
    const args = [
      `--job-name=${slurmJobName(a.job_id, a.attempt)}`,
      `--output=${join(dir, 'output.log')}`,
      `--chdir=${dir}`,
      '--nodes=1',
      '--ntasks=1',
      `--cpus-per-task=${Math.max(1, Math.ceil(a.vcpus))}`,
      `--mem=${Math.max(1, Math.ceil(a.memory_mib))}M`,
      // Node failures come back here as host-terminated attempts: the job's retry strategy decides, not Slurm.
      '--no-requeue',
      '--export=ALL',
    ];
    if (a.gpus > 0) args.push(`--gres=gpu:${a.gpus}`);
    if (t.partition) args.push(`--partition=${t.partition}`);
    if (t.account) args.push(`--account=${t.account}`);
    if (t.qos) args.push(`--qos=${t.qos}`);
    if (a.timeout_seconds !== null) {
      // Slurm counts whole minutes and checks them every ~30 s: openbatch enforces the timeout itself; this is the backstop.
      args.push(`--time=${Math.ceil(a.timeout_seconds / this.o.config.timeDilation / 60) + 1}`);
    }
    // --export=ALL hands sbatch's environment to the job: the same small base a local job gets, the job's own variables, and SLURM_CONF.
    const own = attemptEnvironment(a);
    const env: NodeJS.ProcessEnv = { ...defaultBaseEnv(), ...own, ...(await derivedEnvironment(this.o.db, a, this.reruns, own)) };
    for (const k of ['SLURM_CONF', 'MUNGE_SOCKET']) if (process.env[k]) env[k] = process.env[k];
    const id = await this.cli.sbatch(args, script, env);
    await updateSlurmJob(this.o.db, a.job_id, a.attempt, { slurm_job_id: id });
    a.slurm_job_id = id;
    this.o.logger.debug({ job: a.job_id, attempt: a.attempt, slurmJob: id }, 'submitted to Slurm');
  }

  /** TerminateJob and attempt timeouts: record why, then one scancel for all. */
  private async stopWhereAsked(attempts: SlurmAttempt[]): Promise<void> {
    const now = this.o.clock.now();
    const ids: string[] = [];
    for (const a of attempts) {
      if (!a.slurm_job_id || this.cancelled.has(a.slurm_job_id)) continue;
      let why: string | null = null;
      if (a.terminate_reason) why = 'terminate';
      else if (a.timeout_seconds !== null && a.started_at !== null && now - a.started_at >= (a.timeout_seconds * 1000) / this.o.config.timeDilation) why = 'timeout';
      if (!why) continue;
      if (a.stop_reason !== why && a.stop_reason === null) await updateSlurmJob(this.o.db, a.job_id, a.attempt, { stop_reason: why });
      a.stop_reason ??= why;
      this.cancelled.add(a.slurm_job_id);
      ids.push(a.slurm_job_id);
    }
    if (ids.length) await this.cli.scancel(ids).catch((err) => this.o.logger.warn({ err }, 'scancel failed'));
  }

  /** Appends the output written since `log_offset` (whole lines; everything once final); returns the new offset. */
  private readOutput(a: SlurmAttempt, final: boolean, logs: NewLogEvent[], now: number): number {
    const offset = a.log_offset ?? 0;
    const file = join(a.work_dir!, 'output.log');
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return offset;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= offset) return offset;
      const buf = Buffer.alloc(Math.min(size - offset, LOG_CHUNK));
      const n = readSync(fd, buf, 0, buf.length, offset);
      let chunk = buf.subarray(0, n);
      const whole = final && offset + n >= size;
      if (!whole) {
        const nl = chunk.lastIndexOf(0x0a);
        if (nl < 0) return offset;
        chunk = chunk.subarray(0, nl + 1);
      }
      const text = chunk.toString('utf8');
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const m of lines) logs.push({ logGroup: DEFAULT_LOG_GROUP, logStream: a.log_stream_name, timestamp: now, message: m });
      return offset + chunk.length;
    } finally {
      closeSync(fd);
    }
  }

  /** Server shutdown: Slurm jobs keep running; the next server process follows them on. */
  async close(): Promise<void> {
    this.closing = true;
    this.timer?.clear();
    await this.idle;
  }
}

/** The Slurm job name of an attempt: how a restarted control plane finds a submission it did not record. */
export function slurmJobName(jobId: string, attempt: number): string {
  return `ob.${jobId}.${attempt}`;
}

function readExitFile(dir: string): number | null {
  const file = join(dir, 'exit');
  if (!existsSync(file)) return null;
  const n = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(n) ? n : null;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * What the batch script's `times` said the command used (docs/usage.md): its CPU time, or
 * undefined (no file: a script from before it wrote one, or it never got there).
 */
function readUsageFile(dir: string): number | undefined {
  try {
    return timesCpuSeconds(readFileSync(join(dir, 'usage'), 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The batch script: runs the command as given (no shell parsing of its words), then keeps
 * its exit code and the CPU time of what it waited for (`times`). The exit code first: a
 * scancel's SIGTERM may reach the shell right after the command, and the exit code is what
 * must not be lost; both are read once Slurm says the job ended.
 */
function batchScript(command: string[], dir: string, a: SlurmAttempt): string {
  return [
    '#!/bin/sh',
    `# openbatch job ${a.job_id} attempt ${a.attempt}`,
    command.map(shellQuote).join(' '),
    'rc=$?',
    `echo "$rc" > ${shellQuote(join(dir, 'exit'))}`,
    `times > ${shellQuote(join(dir, 'usage'))} 2>/dev/null`,
    'exit "$rc"',
    '',
  ].join('\n');
}
