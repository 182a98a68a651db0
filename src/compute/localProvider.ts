/**
 * The local provider: a MANAGED compute environment's instances are agent child processes
 * on this host.
 *
 * What it does around a scheduler pass:
 *   1. Before the pass (beforePass): Spot notices whose warning is over end (their attempts
 *      fail with the host-terminated reason, the instance is TERMINATED "Spot interruption");
 *      chaos interrupts more and kills the agents it loses (chaos.ts); agents that stopped
 *      polling are killed (their exit handler closes the instance); held instances whose CE
 *      can run its jobs now boot.
 *   2. In the pass (scalingView): its CEs and instances, as planScaling (planScaling.ts) sees
 *      them: settings, the host budget (hostVcpus, hostMemoryMiB), each instance's use after
 *      the pass's placements, how long each has been idle, launches held back after a failed
 *      bootstrap, CEs whose instances are held. The pass decides, for every CE at once, what to
 *      launch, terminate and drain, and writes each CE's desiredvCpus and statusReason.
 *   3. After the pass's commit (reconcile): the plan's terminations, then its launches, with
 *      the ids the plan gave them.
 *
 * An instance that slow-start chaos delays is PENDING for the delay, then starts as any other.
 * An instance whose CE has a launch template with a bootstrap script (or mounts) is PENDING
 * while the script runs; a failing bootstrap TERMINATES it with `bootstrap failed: …` and
 * holds further launches of that CE back (doubling from 5 s to 5 min) so that a broken
 * template does not launch instances in a loop.
 *
 * Agents are not the server's children in anything but name: each runs in a session of its
 * own, its output going to `agent.log` in its instance directory, and outlives the server
 * (kill -9, SIGTERM, an upgrade, the leader stepping down). The server knows an agent by pid
 * and process start time (provider_data), so that a recycled pid is never mistaken for it.
 * A server that starts leading adopts the live agents of this host's instances (recover()):
 * they kept running their jobs and polling meanwhile, and carry on. Agents whose process is
 * gone are closed like any that dies under a running server.
 *
 * An agent process that exits unexpectedly (seen at once for the server's own children, at the
 * next pass for adopted ones), or stays silent for its lease and margin (agentLease.ts; then it
 * is killed), takes its instance with it: what it left running is stopped (containers
 * included), the instance is TERMINATED and its attempts fail with the host-terminated reason,
 * so retry strategies apply. Instances of another host (a leader that was elsewhere) are
 * judged by their heartbeat alone, and told to shut down through whichever server they poll.
 */
import { ceOrderOf } from '../store/jobQueues.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComputeResource } from '@aws-sdk/client-batch';
import type { ServerConfig } from '../config.js';
import { BatchError, clientError } from '../model/errors.js';
import { REASONS } from '../model/reasons.js';
import type { Resources } from '../model/resources.js';
import { allComputeEnvironments, getComputeEnvironment, type ComputeEnvironmentRow, computeResourcesOf, ceTagsOf } from '../store/computeEnvironments.js';
import { closeInstance, getInstance, insertInstance, liveInstances, patchProviderData, setImpairment, updateInstance, type InstanceRow, type NewInstance, providerDataOf, launchTemplateOf } from '../store/instances.js';
import { hashToken } from './agentTokens.js';
import { PROVIDER_TAG, type PassRows, type ScalingView } from './providers.js';
import type { InstanceState, Launch, LaunchWhy, ScalingPlan, TerminationWhy } from './planScaling.js';
import { ceSettings, SANDBOX_TAG } from './executorChoice.js';
import { SandboxCheck, sandboxRefusal } from '../executor/sandbox.js';
import { killOrphans } from '../agent/pidFiles.js';
import { serverUrlFile } from '../agent/serverAddress.js';
import { NotLeaderError } from '../cluster/leadership.js';
import { isSameProcess, processStartTime } from '../processes.js';
import { AgentSilence, leaseTimes, lostAgents } from './agentLease.js';
import type { Core } from '../core.js';
import { makeChaos, type Chaos } from './chaos.js';
import { expandInstanceTypes, largestCapacity, launchShapes, type AllocationStrategy } from './instanceTypes.js';
import { launchTemplatesOf, resolveLaunchTemplate, type AppliedTemplate, type LaunchTemplate, type Mount } from './launchTemplates.js';
import { isFargate } from '../model/fargateSizes.js';

/**
 * Why a local instance ended, as a metric label: a plan's decision (idle, yield, ce_disabled,
 * drain), or fargate_done, spot, agent_lost, agent_exited (nobody decided it),
 * bootstrap_failed, restart.
 */
export type TerminationCode = TerminationWhy | 'fargate_done' | 'spot' | 'agent_lost' | 'agent_exited' | 'bootstrap_failed' | 'restart';

/** Counts of launches and terminations (/metrics). */
export interface ScaleEvents {
  launched(ceName: string, why: LaunchWhy): void;
  terminated(ceName: string, why: TerminationCode): void;
}

export interface LocalProviderOptions extends Core {
  /** the URL agents use to reach this server */
  serverUrl(): string;
  /** wake the agent of an instance, on whichever server holds its poll */
  notifyInstance(instanceId: string): void;
  /** the judge of silent agents of this leadership (default: one from now) */
  silence?: AgentSilence;
  /** chaos decisions (Spot interruptions); default: from the configuration */
  chaos?: Chaos;
  /** whether this host can sandbox jobs (default: bubblewrap probed here) */
  sandbox?: SandboxCheck;
  /** told of every launch and termination (metrics) */
  scaled?: ScaleEvents;
}

/** The instance type Fargate tasks show: they are sized to their job, not from the catalog. */
export const FARGATE_INSTANCE_TYPE = 'fargate';
/** The largest Fargate task: 16 vCPU, 120 GiB. */
const FARGATE_MAX: Resources = { vcpus: 16, memoryMiB: 122_880, gpus: 0 };

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const BACKOFF_MIN_MS = 5_000;
const BACKOFF_MAX_MS = 300_000;

interface ProviderData {
  /** the agent's process: pid and start time (processStartTime) */
  pid?: number;
  pidStart?: number;
  /** the host the instance runs on (its agent and jobs) */
  hostname?: string;
  /** why it was terminated, for whoever closes it when its agent leaves (AgentHub's leave) */
  stopReason?: string;
  /** the bootstrap script's process while it runs */
  bootstrapPid?: number;
  bootstrapStart?: number;
  /** the type was larger than the room: capacity is less than the type's */
  capped?: boolean;
  /** slow-start chaos delayed its boot by this many ms */
  slowStartMs?: number;
  /** why it waits PENDING instead of starting its agent: its jobs need the sandbox, which this host cannot give */
  heldFor?: string;
}

function resourcesOf(ce: ComputeEnvironmentRow): ComputeResource {
  return computeResourcesOf(ce) ?? ({} as ComputeResource);
}


function isSpotCe(cr: ComputeResource): boolean {
  return cr.type === 'SPOT' || cr.type === 'FARGATE_SPOT';
}

/**
 * The variables of the host environment a local agent keeps. Nothing else of the server's
 * environment reaches it: not its credentials (OPENBATCH_CREDENTIALS), database URL, webhook
 * secrets or anything an operator exported for the server. What an agent holds, a job that
 * escaped its sandbox could read from /proc; and the agent needs none of it.
 */
const AGENT_ENV_KEYS = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'] as const;

/** A local agent's whole environment: the few host variables it needs and its own token. */
export function agentEnvironment(host: NodeJS.ProcessEnv, token: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of AGENT_ENV_KEYS) if (host[k] !== undefined) env[k] = host[k];
  env.OPENBATCH_AGENT_TOKEN = token;
  return env;
}

/** The server's paths that no job may see: its data directory and the files its secrets are read from. */
export function hiddenFromJobs(config: ServerConfig): string[] {
  return [config.dataDir, config.configFile, config.credentialsFile, config.secretsFile, config.slurmWorkDir].filter(Boolean).map((p) => resolve(p));
}

/** An agent process of this host: the server's own child, or one adopted from a previous server process. */
interface AgentProcess {
  pid: number;
  start: number | undefined;
  child?: ChildProcess;
}

export class LocalProvider {
  /** this host's agents by instance id */
  private readonly agents = new Map<string, AgentProcess>();
  /** instances whose agent is gone but whose containers could not be removed yet, with why they end */
  private readonly unremoved = new Map<string, { reason: string; unexpected: boolean }>();
  private readonly silence: AgentSilence;
  private readonly terminationReason = new Map<string, string>();
  private readonly idleSince = new Map<string, number>();
  private readonly backoff = new Map<string, { until: number; delayMs: number }>();
  private readonly chaos: Chaos;
  private lastChaosAt: number;
  private closing = false;
  private readonly sandbox: SandboxCheck;
  /** held instances' tokens (only hashes are stored), to start their agents once the sandbox works */
  private readonly heldTokens = new Map<string, string>();
  /** compute environments whose statusReason says why their instances are held, with that reason */
  private readonly heldCes = new Map<string, string>();
  /** compute environments already warned of running their jobs unsandboxed (opt-out), this process */
  private readonly unsandboxedWarned = new Set<string>();

  constructor(private readonly o: LocalProviderOptions) {
    this.chaos = o.chaos ?? makeChaos(o.config);
    this.lastChaosAt = o.clock.now();
    this.silence = o.silence ?? new AgentSilence(leaseTimes(o.config.agentTimeoutSeconds), o.clock.now());
    this.sandbox = o.sandbox ?? new SandboxCheck();
  }

  /**
   * Why a CE's new instance must wait instead of starting its agent: its jobs run in the
   * process executor's sandbox, which is required (`sandbox: on`, the default) and which this
   * host cannot give. No silent fallback: the instance stays PENDING saying why, and so does
   * the CE's statusReason, until the sandbox works or the operator opts out. A CE that opted
   * out is logged at warn level, once.
   */
  private sandboxHold(ce: ComputeEnvironmentRow): string | undefined {
    const { executor, sandbox } = ceSettings(ce, this.o.config);
    if (executor !== 'process') return undefined;
    if (sandbox === 'off') {
      if (!this.unsandboxedWarned.has(ce.name)) {
        this.unsandboxedWarned.add(ce.name);
        const by = ceTagsOf(ce)[SANDBOX_TAG] === 'off' ? 'its tag openbatch:sandbox=off' : 'the server setting sandbox=off';
        this.o.logger.warn({ ce: ce.name }, `compute environment ${ce.name} runs its jobs without the sandbox (${by}): they see this host as the job user does, the data directory included`);
      }
      return undefined;
    }
    const problem = this.sandbox.problem(this.o.clock.now());
    return problem === undefined ? undefined : sandboxRefusal(problem);
  }

  /**
   * Says in the log why a CE's instances are held (undefined: they are not, any more), once
   * per change. Its statusReason (`INSTANCES HELD: …`) is the pass's to write, with the rest
   * of what the CE says (planScaling).
   */
  private setHeldReason(ce: ComputeEnvironmentRow, reason: string | undefined): void {
    if (reason === this.heldCes.get(ce.name)) return;
    if (reason) {
      this.heldCes.set(ce.name, reason);
      this.o.logger.warn({ ce: ce.name }, `compute environment ${ce.name} starts no jobs: ${reason}`);
    } else {
      this.heldCes.delete(ce.name);
      this.o.logger.info({ ce: ce.name }, `compute environment ${ce.name}: the sandbox works now; its instances start`);
    }
  }

  /** Held instances whose CE no longer needs the hold (the sandbox works now, or the CE opted out) go on booting. */
  private async releaseHeld(instances: InstanceRow[], ces: Map<string, ComputeEnvironmentRow>): Promise<void> {
    for (const inst of instances) {
      const data = providerDataOf<ProviderData>(inst);
      if (inst.state !== 'PENDING' || !data.heldFor) continue;
      const ce = ces.get(inst.ce_name);
      const token = this.heldTokens.get(inst.id);
      if (!ce || !token) continue; // scaled down as any idle instance
      const still = this.sandboxHold(ce);
      if (still) continue;
      this.heldTokens.delete(inst.id);
      const released = await this.patchData(inst.id, { heldFor: undefined });
      this.setHeldReason(ce, undefined);
      if (released) await this.boot(released, token, resourcesOf(ce), 0);
    }
  }

  /** Whether an instance runs on this host (rows from before hosts were recorded: yes). */
  private onThisHost(inst: InstanceRow): boolean {
    const host = providerDataOf<ProviderData>(inst).hostname;
    return host === undefined || host === hostname();
  }

  /** Signals an agent of this host, if its process is still the one that was started. */
  private signalAgent(id: string, signal: NodeJS.Signals): void {
    const a = this.agents.get(id);
    if (!a || !isSameProcess(a.pid, a.start)) return;
    try {
      process.kill(a.pid, signal);
    } catch {
      // gone meanwhile
    }
  }

  /** Merges `patch` into an instance's provider data; answers the instance as it is now. */
  private async patchData(id: string, patch: Partial<ProviderData>): Promise<InstanceRow | undefined> {
    return patchProviderData<ProviderData>(this.o.db, id, patch);
  }

  /** Whether this provider runs a CE's instances: MANAGED ones that no other provider claims by tag. */
  manages(ce: ComputeEnvironmentRow): boolean {
    return ce.type === 'MANAGED' && ceTagsOf(ce)[PROVIDER_TAG] === undefined;
  }

  /** A Fargate task runs one job in its life. */
  takesOneJob(inst: InstanceRow): boolean {
    return inst.instance_type === FARGATE_INSTANCE_TYPE;
  }

  /** The largest instance a CE could have here: what the scheduler uses to tell "never fits". */
  largest(ce: ComputeEnvironmentRow): Resources {
    const cr = resourcesOf(ce);
    const bound: Resources = { vcpus: Math.min(cr.maxvCpus ?? 0, this.o.config.hostVcpus), memoryMiB: this.o.config.hostMemoryMiB, gpus: 0 };
    if (isFargate(cr.type)) return { vcpus: Math.min(bound.vcpus, FARGATE_MAX.vcpus), memoryMiB: Math.min(bound.memoryMiB, FARGATE_MAX.memoryMiB), gpus: 0 };
    return largestCapacity(expandInstanceTypes(cr.instanceTypes), bound);
  }

  /** The environment and mounts a launch template gives every job of an instance (agent assignments). */
  instanceSetup(inst: InstanceRow): { environment: Record<string, string>; mounts: Mount[] } | undefined {
    if (!inst.launch_template) return undefined;
    const applied = launchTemplateOf<AppliedTemplate>(inst);
    const t = launchTemplatesOf(this.o.config).find((x) => x.launchTemplateId === applied?.launchTemplateId);
    return t ? { environment: t.environment, mounts: t.mounts } : undefined;
  }

  /**
   * Takes over this host's instances from a previous leadership (a server restarted, or
   * another that led before): a live agent is adopted and carries on; one whose process is
   * gone is closed like any agent that dies (what it left running is stopped first). An
   * instance still booting had its bootstrap in the old server process: it is closed, its
   * script stopped. Instances of other hosts are left to their heartbeat.
   */
  async recover(): Promise<void> {
    const mine = (await liveInstances(this.o.db)).filter((i) => i.provider === 'local' && this.onThisHost(i));
    let adopted = 0;
    for (const inst of mine) {
      const data = providerDataOf<ProviderData>(inst);
      if (inst.state === 'PENDING') {
        if (data.bootstrapPid && data.bootstrapStart !== undefined && isSameProcess(data.bootstrapPid, data.bootstrapStart)) {
          try {
            process.kill(-data.bootstrapPid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        this.o.scaled?.terminated(inst.ce_name, 'restart');
        await this.o.uow.write((tx) => closeInstance(tx, inst.id, 'control plane restarted while the instance booted', REASONS.hostTerminated(inst.id), this.o.clock.now()));
        continue;
      }
      // An agent without a recorded start time predates adoption: it died with its server.
      if (data.pid && data.pidStart !== undefined && isSameProcess(data.pid, data.pidStart)) {
        this.agents.set(inst.id, { pid: data.pid, start: data.pidStart });
        if (data.stopReason) this.terminationReason.set(inst.id, data.stopReason);
        adopted++;
        continue;
      }
      await this.agentGone(inst.id, data.stopReason ?? 'agent process exited while no control plane watched it', !data.stopReason);
    }
    if (mine.length) this.o.logger.info({ adopted, closed: mine.length - adopted }, 'took over the local instances of the previous server process');
  }

  /** Before a pass (the file comment's step 1): Spot notices that ended, chaos, agents gone silent or gone, held instances that may boot now. */
  async beforePass(): Promise<void> {
    if (this.closing) return;
    const now = this.o.clock.now();
    const ces = (await allComputeEnvironments(this.o.db)).filter((c) => this.manages(c));
    const cesByName = new Map(ces.map((c) => [c.name, c]));
    const all = (await liveInstances(this.o.db)).filter((i) => i.provider === 'local');

    const elapsed = now - this.lastChaosAt;
    this.lastChaosAt = now;
    this.silence.look(now);
    await this.checkAdopted();
    for (const [id, { reason, unexpected }] of [...this.unremoved]) await this.agentGone(id, reason, unexpected);
    await this.spot(all, cesByName, now, elapsed);
    for (const id of this.chaos.agentLosses(all.filter((i) => (i.state === 'ACTIVE' || i.state === 'LAUNCHING') && this.agents.has(i.id)).map((i) => i.id), elapsed)) {
      this.o.logger.warn({ instance: id, by: 'chaos' }, 'agent lost');
      this.loseAgent(all.find((i) => i.id === id)!, 'agent lost: killed by chaos');
    }

    // An agent silent for its lease and margin is lost (it stopped its attempts when its lease
    // ran out): one of this host is killed, its exit handling fails its attempts; one of another
    // host is closed here.
    for (const { inst, reason } of lostAgents(all, this.silence, now, this.o.config.agentTimeoutSeconds)) {
      if (this.agents.has(inst.id)) this.loseAgent(inst, reason);
      else if (!this.onThisHost(inst)) await this.closeLost(inst, reason);
    }
    await this.releaseHeld(all.filter((i) => i.state !== 'TERMINATING'), cesByName);
  }

  /** What a CE could ever launch here: its types capped to its maxvCpus and the host's budget (Fargate: sized per job, none). */
  launchable(ce: ComputeEnvironmentRow): { shapes: Resources[]; room: Resources } | undefined {
    const cr = resourcesOf(ce);
    if (isFargate(cr.type)) return undefined;
    const room: Resources = { vcpus: Math.min(cr.maxvCpus ?? 0, this.o.config.hostVcpus), memoryMiB: this.o.config.hostMemoryMiB, gpus: 0 };
    return { shapes: launchShapes(expandInstanceTypes(cr.instanceTypes), room), room };
  }

  /**
   * Its part of planScaling's snapshot (the file comment's step 2): the CEs it runs with their
   * settings, launch hold-backs and sandbox holds, its instances with their use after the
   * pass, how long each has been idle, and the host's budget.
   */
  scalingView(rows: PassRows, now: number): ScalingView | undefined {
    if (this.closing) return undefined;
    const ces = rows.ces.filter((c) => this.manages(c));
    const instances = rows.instances.filter((i) => i.provider === 'local');
    // A CE's minvCpus stands as high as the queues it serves.
    const standing = new Map<string, number>();
    for (const q of rows.queues) {
      for (const o of ceOrderOf(q)) standing.set(o.computeEnvironment, Math.max(standing.get(o.computeEnvironment) ?? -Infinity, q.priority));
    }
    const live = new Set(instances.map((i) => i.id));
    for (const id of this.idleSince.keys()) if (!live.has(id)) this.idleSince.delete(id);
    // Idle since: no job after the pass. A held instance does nothing: it is idle too.
    for (const i of instances) {
      const busy = (rows.usage.get(i.id)?.jobs ?? 0) > 0;
      if (busy || (i.state === 'PENDING' && !this.heldTokens.has(i.id)) || i.state === 'TERMINATING') this.idleSince.delete(i.id);
      else if (!this.idleSince.has(i.id)) this.idleSince.set(i.id, now);
    }
    const draining = new Set(rows.last?.draining ?? []);
    return {
      host: { vcpus: this.o.config.hostVcpus, memoryMiB: this.o.config.hostMemoryMiB, gpus: 0 },
      scaleDownDelayMs: (this.o.config.scaleDownDelaySeconds * 1000) / this.o.config.timeDilation,
      drain: rows.farm.draining ? { stopJobs: rows.farm.stopJobs } : undefined,
      ces: ces.map((ce) => {
        const cr = resourcesOf(ce);
        return {
          name: ce.name,
          enabled: ce.state === 'ENABLED',
          valid: ce.status === 'VALID',
          fargate: isFargate(cr.type),
          minvCpus: cr.minvCpus ?? 0,
          maxvCpus: cr.maxvCpus ?? 0,
          types: expandInstanceTypes(cr.instanceTypes),
          strategy: (cr.allocationStrategy ?? 'BEST_FIT') as AllocationStrategy,
          priority: standing.get(ce.name) ?? 0,
          heldUntil: this.backoff.get(ce.name)?.until,
          held: this.sandboxHold(ce),
        };
      }),
      instances: instances.map((i) => {
        const u = rows.usage.get(i.id);
        // IMPAIRED (its agent cannot run jobs now): up and holding its share of the host, idle or
        // busy as any, but with no room the waiting work could count on.
        const impaired = i.state === 'IMPAIRED';
        return {
          id: i.id,
          ceName: i.ce_name,
          ...(impaired ? { impaired: i.status_reason ?? 'its agent cannot run jobs now' } : {}),
          state: (impaired ? 'ACTIVE' : i.state) as InstanceState,
          size: { vcpus: i.vcpus, memoryMiB: i.memory_mib, gpus: i.gpus },
          free: impaired ? { vcpus: 0, memoryMiB: 0, gpus: 0 } : { vcpus: i.vcpus - (u?.vcpus ?? 0), memoryMiB: i.memory_mib - (u?.memoryMiB ?? 0), gpus: i.gpus - (u?.gpus ?? 0) },
          jobs: u?.jobs ?? 0,
          idleSince: this.idleSince.get(i.id),
          here: this.onThisHost(i),
          oneJob: this.takesOneJob(i),
          launchedAt: i.launched_at,
          draining: draining.has(i.id),
          heldFor: rows.last?.claims.get(i.id),
          held: i.state === 'PENDING' && this.heldTokens.has(i.id),
        };
      }),
    };
  }

  /**
   * After the pass's commit, its scaling plan (the file comment's step 3): terminations first
   * (what they give back is what the plan counts on in later passes), then launches, with the
   * ids the plan gave them.
   */
  async reconcile(plan: ScalingPlan | undefined): Promise<void> {
    if (this.closing || !plan) return;
    for (const t of plan.terminations) {
      const inst = await getInstance(this.o.db, t.instanceId);
      // Gone meanwhile (its agent died before the plan's commit): nothing to terminate.
      if (!inst || inst.state === 'TERMINATED' || inst.state === 'TERMINATING') continue;
      await this.terminate(inst, t.reason, t.why);
    }
    for (const l of plan.launches) {
      const ce = await getComputeEnvironment(this.o.db, l.ceName);
      if (ce) await this.launch(ce, resourcesOf(ce), l);
    }
  }

  /**
   * Spot interruption on command (`openbatch instances interrupt`, the HTTP endpoint) or by
   * chaos: the instance takes no new work from now on, its jobs keep running through the
   * notice (spotNoticeSeconds, dilated), then it is terminated: its attempts fail with
   * `Host EC2 (instance i-…) terminated.` and its agent stops what still runs (SIGTERM, then
   * SIGKILL after the grace). A replacement is launched if work still waits.
   */
  async interrupt(instanceId: string, by: 'command' | 'chaos'): Promise<InstanceRow> {
    const inst = await getInstance(this.o.db, instanceId);
    if (!inst) throw new BatchError('ClientException', 404, `instance '${instanceId}' does not exist`);
    if (inst.state === 'TERMINATED') throw clientError(`instance ${instanceId} is already terminated (${inst.termination_reason ?? 'no reason recorded'})`);
    const ce = await getComputeEnvironment(this.o.db, inst.ce_name);
    const cr = ce ? resourcesOf(ce) : undefined;
    if (inst.provider !== 'local' || !cr || !isSpotCe(cr)) {
      const kind = inst.provider === 'joined' ? 'UNMANAGED' : (cr?.type ?? 'EC2');
      throw clientError(`instance ${instanceId} belongs to ${kind} compute environment '${inst.ce_name}': only SPOT and FARGATE_SPOT instances are interrupted`);
    }
    if (inst.interrupt_at !== null) return inst;
    if (inst.state === 'TERMINATING') throw clientError(`instance ${instanceId} is already terminating (${this.terminationReason.get(instanceId) ?? 'scaled down'})`);
    const at = this.o.clock.now() + this.chaos.spotNoticeMs();
    await updateInstance(this.o.db, instanceId, { state: 'TERMINATING', interrupt_at: at });
    this.idleSince.delete(instanceId);
    this.o.logger.warn({ instance: instanceId, ce: inst.ce_name, by, terminateAt: new Date(at).toISOString() }, 'Spot interruption notice');
    this.o.kickScheduler();
    return { ...inst, state: 'TERMINATING', interrupt_at: at };
  }

  /**
   * An agent is lost (it stopped polling, or chaos takes it): SIGKILL, as a host that dies
   * gives its agent no chance to stop anything. Its exit handling (agentGone) terminates the
   * instance with `reason`, fails its attempts with the host-terminated reason and stops the
   * job processes the agent left behind.
   */
  private loseAgent(inst: Pick<InstanceRow, 'id' | 'ce_name'>, reason: string): void {
    this.terminationReason.set(inst.id, reason);
    this.o.scaled?.terminated(inst.ce_name, 'agent_lost');
    this.signalAgent(inst.id, 'SIGKILL');
  }

  /** Adopted agents are not this process's children: their end is seen here, at each pass. */
  private async checkAdopted(): Promise<void> {
    for (const [id, a] of [...this.agents]) {
      if (a.child || isSameProcess(a.pid, a.start)) continue;
      this.agents.delete(id);
      const reason = this.terminationReason.get(id);
      this.terminationReason.delete(id);
      await this.agentGone(id, reason ?? 'agent process exited unexpectedly', reason === undefined);
    }
  }

  /** An instance of another host whose agent is lost: closed, its attempts failed. */
  private async closeLost(inst: InstanceRow, reason: string): Promise<void> {
    const id = inst.id;
    this.o.scaled?.terminated(inst.ce_name, 'agent_lost');
    await this.o.uow.write((tx) => closeInstance(tx, id, reason, REASONS.hostTerminated(id), this.o.clock.now()));
    this.o.logger.warn({ instance: id, reason }, 'local instance of another host lost');
    this.o.kickScheduler();
  }

  private async spot(all: InstanceRow[], ces: Map<string, ComputeEnvironmentRow>, now: number, elapsed: number): Promise<void> {
    for (const inst of all) {
      if (inst.interrupt_at !== null && inst.interrupt_at <= now) await this.endInterrupted(inst);
    }
    const candidates = all.filter((i) => (i.state === 'ACTIVE' || i.state === 'LAUNCHING') && i.interrupt_at === null && isSpotCe(resourcesOf(ces.get(i.ce_name) ?? ({} as ComputeEnvironmentRow))));
    for (const id of this.chaos.spotInterruptions(candidates.map((i) => i.id), elapsed)) await this.interrupt(id, 'chaos');
  }

  private async endInterrupted(inst: InstanceRow): Promise<void> {
    this.terminationReason.set(inst.id, 'Spot interruption');
    this.o.scaled?.terminated(inst.ce_name, 'spot');
    // Closed first, so the attempts fail as AWS reports it, not with the exit of a killed process.
    await this.o.uow.write((tx) => closeInstance(tx, inst.id, 'Spot interruption', REASONS.hostTerminated(inst.id), this.o.clock.now()));
    // Its agent is refused from now on and stops what still runs; SIGTERM tells it at once.
    this.o.notifyInstance(inst.id);
    this.signalAgent(inst.id, 'SIGTERM');
    this.o.logger.warn({ instance: inst.id, ce: inst.ce_name }, 'Spot instance terminated');
    this.o.kickScheduler();
  }

  /** A Fargate task's job ended: its instance ends with it. */
  async fargateTaskDone(instanceId: string): Promise<void> {
    const inst = await getInstance(this.o.db, instanceId);
    if (inst && inst.state !== 'TERMINATED' && inst.interrupt_at === null) await this.terminate(inst, 'Fargate task finished', 'fargate_done');
  }

  private async launch(ce: ComputeEnvironmentRow, cr: ComputeResource, l: Launch): Promise<InstanceRow> {
    const { instanceId: id, type, capacity, capped } = l;
    const token = this.o.ids.secret();
    const now = this.o.clock.now();
    const heldFor = this.sandboxHold(ce);
    const slowStartMs = heldFor ? 0 : this.chaos.slowStartMs();
    const { template } = this.templateOf(cr);
    const applied: AppliedTemplate | undefined = template
      ? { launchTemplateName: template.launchTemplateName, launchTemplateId: template.launchTemplateId, version: template.version }
      : undefined;
    const planned: NewInstance = {
      id,
      ce_name: ce.name,
      instance_type: type,
      vcpus: capacity.vcpus,
      memory_mib: capacity.memoryMiB,
      gpus: capacity.gpus,
      state: heldFor || this.needsBootstrap(cr, slowStartMs) ? 'PENDING' : 'LAUNCHING',
      token_hash: hashToken(token),
      provider: 'local',
      provider_data: { capped: capped || undefined, slowStartMs: slowStartMs || undefined, heldFor } satisfies ProviderData,
      launched_at: now,
      last_heartbeat_at: now,
      terminated_at: null,
      termination_reason: null,
      launch_template: applied ?? cr.launchTemplate ?? null,
      interrupt_at: null,
      ready_at: null,
      status_reason: null,
    };
    const row = await insertInstance(this.o.db, planned);
    this.o.scaled?.launched(ce.name, l.why);
    this.o.logger.info({ instance: id, ce: ce.name, type, vcpus: capacity.vcpus, memoryMiB: capacity.memoryMiB, capped, why: l.why, forJobs: l.forJobs.slice(0, 5), launchTemplate: applied?.launchTemplateName, slowStartMs: slowStartMs || undefined, held: heldFor ? true : undefined }, 'launched local instance');
    if (heldFor) {
      this.heldTokens.set(id, token);
      this.setHeldReason(ce, heldFor);
      return row;
    }
    this.setHeldReason(ce, undefined);
    await this.boot(row, token, cr, slowStartMs);
    return row;
  }

  /** The CE's launch template as the server has it now, or why it cannot be had (the server's templates changed since the CE was created). */
  private templateOf(cr: ComputeResource): { template?: LaunchTemplate; templateError?: string } {
    if (!cr.launchTemplate) return {};
    try {
      return { template: resolveLaunchTemplate(launchTemplatesOf(this.o.config), cr.launchTemplate) };
    } catch (e) {
      return { templateError: (e as Error).message };
    }
  }

  private needsBootstrap(cr: ComputeResource, slowStartMs: number): boolean {
    const { template, templateError } = this.templateOf(cr);
    return slowStartMs > 0 || !!templateError || !!template?.bootstrap || !!template?.mounts.length;
  }

  /** An instance's boot: its bootstrap (slow start, template) when it has one, else its agent at once. */
  private async boot(row: InstanceRow, token: string, cr: ComputeResource, slowStartMs: number): Promise<void> {
    const { template, templateError } = this.templateOf(cr);
    if (!this.needsBootstrap(cr, slowStartMs)) {
      if (row.state === 'PENDING') await updateInstance(this.o.db, row.id, { state: 'LAUNCHING', last_heartbeat_at: this.o.clock.now() });
      await this.startAgent(row, token);
      return;
    }
    void this.bootstrap(row, token, template, templateError, slowStartMs).catch((err) => this.o.logger.error({ err, instance: row.id }, 'bootstrap handling failed'));
  }

  private instanceDir(id: string): string {
    return join(this.o.config.dataDir, 'work', id);
  }

  /** Waits out a slow start, runs the template's bootstrap (and checks its mounts); the agent starts only if it succeeds. */
  private async bootstrap(inst: InstanceRow, token: string, template: LaunchTemplate | undefined, templateError: string | undefined, slowStartMs: number): Promise<void> {
    if (slowStartMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, slowStartMs).unref());
      // Terminated while it booted (its CE disabled, the server closing): nothing more to do.
      if (this.closing || (await getInstance(this.o.db, inst.id))?.state !== 'PENDING') return;
    }
    const dir = this.instanceDir(inst.id);
    mkdirSync(dir, { recursive: true });
    let failure = templateError;
    const missing = template?.mounts.find((m) => !existsSync(m.sourcePath));
    if (!failure && missing) failure = `mount source ${missing.sourcePath} does not exist`;
    if (!failure && template?.bootstrap) failure = await this.runBootstrap(inst, template, dir);
    if (this.closing) return;
    const current = await getInstance(this.o.db, inst.id);
    if (!current || current.state !== 'PENDING') return;
    if (failure) {
      const prev = this.backoff.get(inst.ce_name)?.delayMs ?? 0;
      const delayMs = Math.min(Math.max(prev * 2, BACKOFF_MIN_MS), BACKOFF_MAX_MS);
      this.backoff.set(inst.ce_name, { until: this.o.clock.now() + delayMs, delayMs });
      this.o.scaled?.terminated(inst.ce_name, 'bootstrap_failed');
      await this.o.uow.write((tx) => closeInstance(tx, inst.id, `bootstrap failed: ${failure}`, REASONS.hostTerminated(inst.id), this.o.clock.now()));
      this.o.logger.error({ instance: inst.id, ce: inst.ce_name, failure, retryInMs: delayMs }, 'instance bootstrap failed');
      this.o.kickScheduler();
      return;
    }
    this.backoff.delete(inst.ce_name);
    await updateInstance(this.o.db, inst.id, { state: 'LAUNCHING', last_heartbeat_at: this.o.clock.now() });
    await this.startAgent(inst, token);
    this.o.kickScheduler();
  }

  /** The bootstrap script's failure (exit, timeout), or undefined when it succeeded. Output goes to <instance dir>/bootstrap.log. */
  private runBootstrap(inst: InstanceRow, template: LaunchTemplate, dir: string): Promise<string | undefined> {
    const logFile = join(dir, 'bootstrap.log');
    const fd = openSync(logFile, 'w');
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? dir,
      ...template.environment,
      OPENBATCH_INSTANCE_ID: inst.id,
      OPENBATCH_INSTANCE_TYPE: inst.instance_type,
      OPENBATCH_COMPUTE_ENVIRONMENT: inst.ce_name,
      OPENBATCH_LAUNCH_TEMPLATE: template.launchTemplateName,
    };
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', template.bootstrap!], { cwd: dir, env, stdio: ['ignore', fd, fd], detached: true });
      closeSync(fd);
      // A server that dies meanwhile leaves the script running: its successor stops it (recover()).
      if (child.pid) {
        void this.patchData(inst.id, { bootstrapPid: child.pid, bootstrapStart: processStartTime(child.pid) }).catch((err) =>
          this.o.logger.warn({ err, instance: inst.id, pid: child.pid }, 'could not record the bootstrap script: a server that takes over from this one will not stop it'),
        );
      }
      const limitMs = (template.bootstrapTimeoutSeconds * 1000) / this.o.config.timeDilation;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone already
        }
      }, limitMs);
      timer.unref();
      child.once('error', (err) => {
        clearTimeout(timer);
        resolve(`could not run sh: ${err.message}`);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) return resolve(undefined);
        let last = '';
        try {
          last = readFileSync(logFile, 'utf8').trim().split('\n').pop()?.slice(0, 200) ?? '';
        } catch {
          // no output
        }
        const how = timedOut ? `timed out after ${template.bootstrapTimeoutSeconds} s` : signal ? `killed by ${signal}` : `exit code ${code}`;
        resolve(last ? `${how}: ${last}` : how);
      });
    });
  }

  private async startAgent(inst: InstanceRow, token: string): Promise<void> {
    const id = inst.id;
    const workDir = this.instanceDir(id);
    const ce = await getComputeEnvironment(this.o.db, inst.ce_name);
    const { sandbox, sandboxNetwork } = ceSettings(ce, this.o.config);
    const dockerHost = this.o.config.dockerHost || process.env.DOCKER_HOST;
    mkdirSync(workDir, { recursive: true });
    // Its own session, its output to a file: nothing ties the agent to this process, which
    // may die, stop or be upgraded while the agent's jobs run on.
    const log = openSync(join(workDir, 'agent.log'), 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          // The file too: a server restarted on another port is found there (agent/serverAddress.ts).
          CLI_ENTRY, 'agent', '--server', this.o.serverUrl(), '--server-file', serverUrlFile(this.o.config.dataDir), '--instance-id', id, '--work-dir', workDir, '--log-level', this.o.config.logLevel,
          // The server's executor settings hold for the agents it starts, unless the CE's tags
          // say otherwise for its sandbox (docs/executors.md).
          '--sandbox', sandbox, '--sandbox-network', sandboxNetwork, '--job-user', this.o.config.jobUser,
          // What no job may see beyond the agent's own work directory: the data directory (the
          // database, the join token, other instances' attempts) and the files holding secrets.
          ...hiddenFromJobs(this.o.config).flatMap((p) => ['--hide', p]),
          // Resolved here: the agent does not get the server's environment (agentEnvironment).
          ...(dockerHost ? ['--docker-host', dockerHost] : []),
        ],
        { stdio: ['ignore', log, log], detached: true, env: agentEnvironment(process.env, token) },
      );
    } finally {
      closeSync(log);
    }
    child.unref();
    const agent: AgentProcess = { pid: child.pid!, start: child.pid ? processStartTime(child.pid) : undefined, child };
    if (child.pid) this.agents.set(id, agent);
    child.on('error', (err) => this.o.logger.error({ err, instance: id }, 'agent process error'));
    child.on('exit', (code, signal) => this.childExited(id, agent, code, signal));
    await this.patchData(id, { pid: agent.pid, pidStart: agent.start, hostname: hostname() });
  }

  /** An agent this process started has exited. */
  private childExited(id: string, agent: AgentProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.agents.get(id) === agent) this.agents.delete(id);
    const decided = this.terminationReason.get(id);
    this.terminationReason.delete(id);
    // An error here must not become an unhandled rejection (which ends the server): a leader
    // that lost its lease has its write refused, and the new leader finds the instance gone.
    void this.agentGone(id, decided ?? `agent process exited unexpectedly (${signal ?? 'code ' + code})`, decided === undefined).catch((err) =>
      this.o.logger[err instanceof NotLeaderError ? 'info' : 'error']({ err, instance: id }, 'could not record the end of a local instance'),
    );
  }

  private async terminate(inst: InstanceRow, reason: string, code: TerminationCode): Promise<void> {
    this.terminationReason.set(inst.id, reason);
    this.o.scaled?.terminated(inst.ce_name, code);
    this.idleSince.delete(inst.id);
    this.heldTokens.delete(inst.id);
    const data = providerDataOf<ProviderData>(inst);
    // The agent is told at its next poll, on whichever server; it stops, leaves (its instance
    // is closed with this reason) and exits.
    await updateInstance(this.o.db, inst.id, { state: 'TERMINATING', provider_data: { ...data, stopReason: reason } satisfies ProviderData });
    this.o.notifyInstance(inst.id);
    if (!this.agents.has(inst.id)) {
      // Never started (bootstrap still running): nothing will exit to close it. (One of
      // another host has its agent there, which leaves.)
      if (this.onThisHost(inst)) await this.o.uow.write((tx) => closeInstance(tx, inst.id, reason, REASONS.hostTerminated(inst.id), this.o.clock.now()));
      return;
    }
    // An agent that does not leave (hung, or of an older version) is made to.
    setTimeout(() => this.signalAgent(inst.id, 'SIGTERM'), 10_000).unref();
  }

  /**
   * An agent of this host is gone: what it left running is stopped (its job processes died
   * with its fork server, but containers outlive it), then the instance is closed with
   * `reason` and its attempts fail with the host-terminated reason.
   */
  private async agentGone(id: string, reason: string, unexpected: boolean): Promise<void> {
    const { stopped, pending } = await killOrphans(this.instanceDir(id));
    if (stopped) this.o.logger.warn({ instance: id, orphans: stopped }, 'stopped jobs left running by a dead agent');
    if (this.closing) return;
    if (pending.length) {
      // Its containers may still run (their engine does not answer): its attempts must not run
      // again yet. The instance takes no work, says why, and is tried again at every pass.
      const impaired = `its agent is gone (${reason}) and its containers cannot be removed: their engine does not answer`;
      if (!this.unremoved.has(id)) this.o.logger.warn({ instance: id, containers: pending }, 'containers of a dead agent cannot be removed yet: its attempts wait until they are');
      this.unremoved.set(id, { reason, unexpected });
      const inst = await getInstance(this.o.db, id);
      if (inst) await setImpairment(this.o.db, inst, impaired);
      return;
    }
    this.unremoved.delete(id);
    if (unexpected) {
      const inst = await getInstance(this.o.db, id);
      if (inst && inst.state !== 'TERMINATED') this.o.scaled?.terminated(inst.ce_name, 'agent_exited');
    }
    await this.o.uow.write((tx) => closeInstance(tx, id, reason, REASONS.hostTerminated(id), this.o.clock.now()));
    this.o.logger.info({ instance: id, reason }, 'local instance terminated');
    this.o.kickScheduler();
  }

  /**
   * Stops every agent of this host and waits for them: each stops its jobs (SIGTERM, then
   * SIGKILL after a grace), reports them and exits. Called once the provider is closed (nothing
   * launches in their place); their instances are closed by whoever leads next, finding them
   * gone. Only for whoever wants no agent left behind (tests; `openbatch drain` tells agents).
   */
  async stopAgents(): Promise<void> {
    const agents = [...this.agents.entries()];
    for (const [id] of agents) {
      this.terminationReason.set(id, 'control plane stopped with its agents');
      this.signalAgent(id, 'SIGTERM');
    }
    const deadline = Date.now() + 20_000;
    for (const [id, a] of agents) {
      while (isSameProcess(a.pid, a.start)) {
        if (Date.now() > deadline) this.signalAgent(id, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await this.checkAdopted();
  }

  /**
   * Stops leading (server shutdown, or the lease lost): timers and handlers stop, agents are
   * left running. They keep their jobs and are adopted by whoever leads next (recover()).
   */
  async close(): Promise<void> {
    this.closing = true;
  }
}
