/**
 * The local provider: a MANAGED compute environment's instances are agent child processes
 * on this host.
 *
 * The scaling loop, run after every scheduler pass:
 *   1. Keep at least minvCpus launched for every ENABLED CE.
 *   2. For unmet demand, launch an instance sized to the CE's remaining maxvCpus and the
 *      host's remaining budget, if it can hold the largest waiting job. The host budget
 *      (hostVcpus, hostMemoryMiB) bounds all local instances together: capacity the host
 *      does not have is never promised.
 *   3. Terminate instances idle for scaleDownDelaySeconds, never going below minvCpus, and
 *      every idle instance of a DISABLED or deleted CE. When a CE has demand the host budget
 *      cannot meet, an idle instance of another CE (above its minvCpus) is terminated at
 *      once, so that capacity moves to where the work is.
 *   4. desiredvCpus of each CE is the vCPUs launched (at least minvCpus).
 *
 * An agent process that exits unexpectedly, or stops polling for agentTimeoutSeconds (then
 * it is killed), takes its instance with it: the instance is TERMINATED and its attempts
 * fail with the host-terminated reason, so retry strategies apply.
 * On start, instances left from a previous server process are closed the same way: their
 * agents died with that process (they exit when their standard input closes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ComputeResource } from '@aws-sdk/client-batch';
import { REASONS } from '../model/reasons.js';
import type { Demand, Resources } from '../scheduler/schedule.js';
import { allComputeEnvironments, updateComputeEnvironment, type ComputeEnvironmentRow } from '../store/computeEnvironments.js';
import { closeInstance, insertInstance, liveInstances, updateInstance, type InstanceRow } from '../store/instances.js';
import { fromJson } from '../store/json.js';
import { hashToken, type AgentHub } from './agentHub.js';
import { PROVIDER_TAG } from './providers.js';
import { killOrphans } from '../agent/pidFiles.js';
import type { Core } from '../core.js';

export interface LocalProviderOptions extends Core {
  hub: AgentHub;
  /** the URL agents use to reach this server */
  serverUrl(): string;
}

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export class LocalProvider {
  private readonly children = new Map<string, ChildProcess>();
  private readonly terminationReason = new Map<string, string>();
  private readonly idleSince = new Map<string, number>();
  private closing = false;

  constructor(private readonly o: LocalProviderOptions) {}

  /** Whether this provider runs a CE's instances: MANAGED ones that no other provider claims by tag. */
  manages(ce: ComputeEnvironmentRow): boolean {
    return ce.type === 'MANAGED' && fromJson<Record<string, string>>(ce.tags, {})[PROVIDER_TAG] === undefined;
  }

  /** The largest instance a CE could have here: what the scheduler uses to tell "never fits". */
  largest(ce: ComputeEnvironmentRow): Resources {
    const cr = fromJson<ComputeResource>(ce.compute_resources, {} as ComputeResource);
    return { vcpus: Math.min(cr.maxvCpus ?? 0, this.o.config.hostVcpus), memoryMiB: this.o.config.hostMemoryMiB, gpus: 0 };
  }

  /** Closes the instances a previous server process left behind. */
  async recover(): Promise<void> {
    const stale = (await liveInstances(this.o.db)).filter((i) => i.provider === 'local');
    if (stale.length === 0) return;
    await this.o.uow.write(async (tx) => {
      const now = this.o.clock.now();
      for (const inst of stale) await closeInstance(tx, inst.id, 'control plane restarted', REASONS.lostOnRestart, now);
    });
    this.o.logger.info({ instances: stale.length }, 'closed instances left by the previous server process');
  }

  /** One turn of the scaling loop (see the file comment). */
  async reconcile(demand: Demand[], usage: Map<string, { jobs: number }>): Promise<void> {
    if (this.closing) return;
    const now = this.o.clock.now();
    const ces = (await allComputeEnvironments(this.o.db)).filter((c) => this.manages(c));
    const instances = (await liveInstances(this.o.db)).filter((i) => i.state !== 'TERMINATING' && i.provider === 'local');
    const byCe = new Map<string, InstanceRow[]>();
    for (const i of instances) (byCe.get(i.ce_name) ?? byCe.set(i.ce_name, []).get(i.ce_name)!).push(i);
    let hostVcpus = instances.reduce((n, i) => n + i.vcpus, 0);
    let hostMem = instances.reduce((n, i) => n + i.memory_mib, 0);
    const cesByName = new Map(ces.map((c) => [c.name, c]));

    // An agent that stopped polling is hung: kill it; its exit handler fails its attempts.
    for (const inst of instances) {
      if (inst.state === 'ACTIVE' && now - inst.last_heartbeat_at > this.o.config.agentTimeoutSeconds * 1000) {
        this.terminationReason.set(inst.id, `agent lost: no heartbeat for ${this.o.config.agentTimeoutSeconds} s`);
        this.children.get(inst.id)?.kill('SIGKILL');
      }
    }

    // Idle tracking and scale-down.
    for (const inst of instances) {
      const busy = (usage.get(inst.id)?.jobs ?? 0) > 0;
      if (busy) this.idleSince.delete(inst.id);
      else if (!this.idleSince.has(inst.id)) this.idleSince.set(inst.id, now);
    }
    for (const inst of instances) {
      const ce = cesByName.get(inst.ce_name);
      const idleFor = this.idleSince.has(inst.id) ? now - this.idleSince.get(inst.id)! : -1;
      if (idleFor < 0) continue;
      const cr = ce ? fromJson<ComputeResource>(ce.compute_resources, {} as ComputeResource) : undefined;
      const launched = (byCe.get(inst.ce_name) ?? []).reduce((n, i) => n + i.vcpus, 0);
      const gone = !ce || ce.state !== 'ENABLED';
      const aboveMin = launched - inst.vcpus >= (cr?.minvCpus ?? 0);
      if (gone || (idleFor >= (this.o.config.scaleDownDelaySeconds * 1000) / this.o.config.timeDilation && aboveMin && !demand.some((d) => d.ceName === inst.ce_name))) {
        await this.terminate(inst, gone ? 'compute environment disabled or deleted' : 'scaled down: idle');
        byCe.set(inst.ce_name, (byCe.get(inst.ce_name) ?? []).filter((i) => i.id !== inst.id));
        hostVcpus -= inst.vcpus;
        hostMem -= inst.memory_mib;
      }
    }

    // Scale-up: minvCpus first, then demand.
    for (const ce of ces) {
      if (ce.state !== 'ENABLED' || ce.status !== 'VALID') continue;
      const cr = fromJson<ComputeResource>(ce.compute_resources, {} as ComputeResource);
      const launched = (byCe.get(ce.name) ?? []).reduce((n, i) => n + i.vcpus, 0);
      const d = demand.find((x) => x.ceName === ce.name);
      const wantMin = (cr.minvCpus ?? 0) > launched;
      if (!wantMin && !d) {
        await this.setDesired(ce, launched, cr);
        continue;
      }
      const vcpus = Math.min((cr.maxvCpus ?? 0) - launched, this.o.config.hostVcpus - hostVcpus);
      const memoryMiB = Math.min(
        Math.floor((this.o.config.hostMemoryMiB * Math.max(vcpus, 0)) / Math.max(this.o.config.hostVcpus, 1)),
        this.o.config.hostMemoryMiB - hostMem,
      );
      const need = d?.largestJob ?? { vcpus: 1, memoryMiB: 1, gpus: 0 };
      if (vcpus >= Math.max(need.vcpus, 1) && memoryMiB >= need.memoryMiB) {
        const inst = await this.launch(ce, Math.floor(vcpus), memoryMiB);
        (byCe.get(ce.name) ?? byCe.set(ce.name, []).get(ce.name)!).push(inst);
        hostVcpus += inst.vcpus;
        hostMem += inst.memory_mib;
        await this.setDesired(ce, launched + inst.vcpus, cr);
      } else {
        await this.setDesired(ce, launched, cr);
        if (d && (cr.maxvCpus ?? 0) - launched >= need.vcpus) await this.freeHostFor(ce.name, byCe, cesByName);
      }
    }
  }

  /** Terminates one idle instance of another CE (above its minvCpus), for a CE the host budget cannot serve. */
  private async freeHostFor(ceName: string, byCe: Map<string, InstanceRow[]>, ces: Map<string, ComputeEnvironmentRow>): Promise<void> {
    for (const [other, instances] of byCe) {
      if (other === ceName) continue;
      const cr = ces.get(other) ? fromJson<ComputeResource>(ces.get(other)!.compute_resources, {} as ComputeResource) : undefined;
      const launched = instances.reduce((n, i) => n + i.vcpus, 0);
      const idle = instances.find((i) => this.idleSince.has(i.id) && launched - i.vcpus >= (cr?.minvCpus ?? 0));
      if (idle) {
        await this.terminate(idle, `scaled down: host capacity needed by compute environment ${ceName}`);
        byCe.set(other, instances.filter((i) => i.id !== idle.id));
        return;
      }
    }
  }

  private async setDesired(ce: ComputeEnvironmentRow, launched: number, cr: ComputeResource): Promise<void> {
    const desired = Math.max(launched, cr.minvCpus ?? 0);
    if (desired !== ce.desired_vcpus) await updateComputeEnvironment(this.o.db, ce.name, { desired_vcpus: desired });
  }

  private async launch(ce: ComputeEnvironmentRow, vcpus: number, memoryMiB: number): Promise<InstanceRow> {
    const id = this.o.ids.instanceId();
    const token = this.o.ids.secret();
    const now = this.o.clock.now();
    const row: InstanceRow = {
      id,
      ce_name: ce.name,
      instance_type: `local.${vcpus}vcpu`,
      vcpus,
      memory_mib: memoryMiB,
      gpus: 0,
      state: 'LAUNCHING',
      token_hash: hashToken(token),
      provider: 'local',
      provider_data: '{}',
      launched_at: now,
      last_heartbeat_at: now,
      terminated_at: null,
      termination_reason: null,
    };
    await insertInstance(this.o.db, row);
    const workDir = join(this.o.config.dataDir, 'work', id);
    const child = spawn(
      process.execPath,
      [CLI_ENTRY, 'agent', '--server', this.o.serverUrl(), '--instance-id', id, '--work-dir', workDir, '--exit-with-parent', '--log-level', this.o.config.logLevel],
      { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, OPENBATCH_AGENT_TOKEN: token } },
    );
    this.children.set(id, child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) this.o.logger.debug({ instance: id, agent: line }, 'agent');
    });
    child.on('error', (err) => this.o.logger.error({ err, instance: id }, 'agent process error'));
    child.on('exit', (code, signal) => void this.onExit(id, code, signal));
    await updateInstance(this.o.db, id, { provider_data: JSON.stringify({ pid: child.pid }) });
    this.o.logger.info({ instance: id, ce: ce.name, vcpus, memoryMiB }, 'launched local instance');
    return row;
  }

  private async terminate(inst: InstanceRow, reason: string): Promise<void> {
    this.terminationReason.set(inst.id, reason);
    this.idleSince.delete(inst.id);
    await updateInstance(this.o.db, inst.id, { state: 'TERMINATING' });
    this.o.hub.shutdown(inst.id);
    const child = this.children.get(inst.id);
    // The agent exits on its own after the shutdown answer; SIGTERM makes sure of it.
    setTimeout(() => child?.kill('SIGTERM'), 2_000).unref();
  }

  private async onExit(id: string, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.children.delete(id);
    const orphans = killOrphans(join(this.o.config.dataDir, 'work', id));
    if (orphans) this.o.logger.warn({ instance: id, orphans }, 'stopped jobs left running by a dead agent');
    if (this.closing) return;
    const reason = this.terminationReason.get(id) ?? `agent process exited unexpectedly (${signal ?? 'code ' + code})`;
    this.terminationReason.delete(id);
    await this.o.uow.write((tx) => closeInstance(tx, id, reason, REASONS.hostTerminated(id), this.o.clock.now()));
    this.o.logger.info({ instance: id, reason }, 'local instance terminated');
    this.o.kickScheduler();
  }

  /**
   * Server shutdown: agents stop their jobs (they exit when their stdin closes). Attempts
   * still running are failed by recover() at the next start, with a reason that says so.
   */
  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.children.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.stdin?.end();
          setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
        }),
    );
    await Promise.all(exits);
  }
}
