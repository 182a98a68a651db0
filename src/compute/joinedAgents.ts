/**
 * Joined agents: capacity that machines bring to an UNMANAGED compute environment by running
 * `openbatch agent --server URL --token JOIN_TOKEN --ce NAME` — the way AWS Batch's
 * unmanaged environments take the user's own instances.
 *
 *   register   the agent presents the server's join token and its capacity; it gets an
 *              instance of its own (id and instance token) and then speaks the normal agent
 *              protocol with it.
 *   lost       an agent not heard from for its lease and margin (agentLease.ts) is declared
 *              lost: its instance is TERMINATED and its attempts fail with the host-terminated
 *              reason (retry strategies apply). It stopped them itself when its lease ran out;
 *              if it comes back, its token is refused: a lost agent never overwrites newer state.
 *   leave      an agent stopping on SIGTERM ends its jobs, reports them, and says goodbye.
 *   drain      in a drain (`openbatch drain`) an idle agent (every one with --stop-jobs) is told
 *              to shut down: it stops its jobs, leaves and exits, until its owner starts it again.
 *
 * Unlike local instances, joined instances survive a control-plane restart: their agents
 * keep running their jobs and reconnect, and the reports they kept are applied then.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { BatchError, clientError } from '../model/errors.js';
import { REASONS } from '../model/reasons.js';
import { getComputeEnvironment } from '../store/computeEnvironments.js';
import { closeInstance, getInstance, insertInstance, liveInstances, stopReasonOf, updateInstance, type InstanceRow } from '../store/instances.js';
import { fromJson } from '../store/json.js';
import type { FarmState } from '../store/drain.js';
import { hashToken } from './agentTokens.js';
import type { Core } from '../core.js';
import type { AgentSilence } from './agentLease.js';

export interface RegisterRequest {
  computeEnvironment: string;
  vcpus: number;
  memoryMiB: number;
  gpus?: number;
  hostname?: string;
}

export interface RegisterResponse {
  instanceId: string;
  token: string;
}

export interface JoinedAgentsOptions extends Core {
  /** wake the agent of an instance, on whichever server holds its poll */
  notifyInstance?(instanceId: string): void;
}

/** The join token: from configuration, else made once and kept in the data directory (mode 0600). */
export function joinToken(config: ServerConfig): { token: string; file?: string } {
  if (config.agentJoinToken) return { token: config.agentJoinToken };
  const file = join(config.dataDir, 'agent-join-token');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { token: readFileSync(file, 'utf8').trim(), file };
}

export class JoinedAgents {
  private readonly token: string;

  constructor(private readonly o: JoinedAgentsOptions) {
    this.token = joinToken(o.config).token;
  }

  private checkJoinToken(header: string | undefined): void {
    const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
    const expected = Buffer.from(this.token);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new BatchError('AccessDeniedException', 403, 'the join token is not valid for this server');
    }
  }

  /** `address`: where the registration came from, the machine's address as this server sees it (jobs' main-node address, `openbatch instances`). */
  async register(authorization: string | undefined, body: RegisterRequest, address?: string): Promise<RegisterResponse> {
    this.checkJoinToken(authorization);
    const name = body?.computeEnvironment;
    if (typeof name !== 'string' || !name) throw clientError('computeEnvironment is required: the UNMANAGED compute environment to join');
    const ce = await getComputeEnvironment(this.o.db, name.startsWith('arn:') ? name.slice(name.lastIndexOf('/') + 1) : name);
    if (!ce) throw clientError(`computeEnvironment '${name}' does not exist`);
    if (ce.type !== 'UNMANAGED') throw clientError(`computeEnvironment '${ce.name}' is MANAGED: agents can join only UNMANAGED compute environments`);
    for (const [k, min] of [['vcpus', 1], ['memoryMiB', 1], ['gpus', 0]] as const) {
      const v = body[k] ?? (k === 'gpus' ? 0 : undefined);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw clientError(`${k} must be an integer of at least ${min}`);
    }
    const id = this.o.ids.instanceId();
    const token = this.o.ids.secret();
    const now = this.o.clock.now();
    await insertInstance(this.o.db, {
      id,
      ce_name: ce.name,
      instance_type: 'unmanaged',
      vcpus: body.vcpus,
      memory_mib: body.memoryMiB,
      gpus: body.gpus ?? 0,
      state: 'ACTIVE',
      token_hash: hashToken(token),
      provider: 'joined',
      provider_data: JSON.stringify({ hostname: typeof body.hostname === 'string' ? body.hostname.slice(0, 255) : undefined, address: address?.replace(/^::ffff:/, '') }),
      launched_at: now,
      last_heartbeat_at: now,
      terminated_at: null,
      termination_reason: null,
    });
    this.o.logger.info({ instance: id, ce: ce.name, vcpus: body.vcpus, memoryMiB: body.memoryMiB, hostname: body.hostname, address }, 'agent joined');
    this.o.kickScheduler();
    return { instanceId: id, token };
  }

  /** The agent of `instance` (already authenticated by the hub) leaves: told to (a drain), or stopped by its owner. */
  async leave(instance: InstanceRow): Promise<void> {
    await this.close(instance.id, instance.state === 'TERMINATING' ? stopReasonOf(instance) : 'agent left');
  }

  /**
   * After each scheduler pass: declares lost every joined agent that `silence` finds silent too
   * long (heartbeats missed while this control plane was not leading or could not look do not
   * count); in a drain, tells the idle ones (every one with stopJobs) to shut down.
   */
  async afterPass(silence: AgentSilence, usage: Map<string, { jobs: number }>, farm: FarmState): Promise<void> {
    const now = this.o.clock.now();
    silence.look(now);
    for (const inst of await liveInstances(this.o.db)) {
      if (inst.provider !== 'joined') continue;
      if (silence.lost(inst.last_heartbeat_at, now)) {
        await this.close(inst.id, `agent lost: no heartbeat for ${Math.round((now - inst.last_heartbeat_at) / 1000)} s (agentTimeoutSeconds ${this.o.config.agentTimeoutSeconds})`);
      } else if (farm.draining && inst.state === 'ACTIVE' && (farm.stopJobs || !((usage.get(inst.id)?.jobs ?? 0) > 0))) {
        const stopReason = farm.stopJobs ? 'drained, its jobs stopped (openbatch drain --stop-jobs)' : 'drained (openbatch drain)';
        const data = fromJson<Record<string, unknown>>(inst.provider_data, {});
        await updateInstance(this.o.db, inst.id, { state: 'TERMINATING', provider_data: JSON.stringify({ ...data, stopReason }) });
        this.o.notifyInstance?.(inst.id);
        this.o.logger.info({ instance: inst.id, reason: stopReason }, 'joined agent told to shut down');
      }
    }
  }

  private async close(instanceId: string, reason: string): Promise<void> {
    const inst = await getInstance(this.o.db, instanceId);
    if (!inst || inst.state === 'TERMINATED') return;
    await this.o.uow.write((tx) => closeInstance(tx, instanceId, reason, REASONS.hostTerminated(instanceId), this.o.clock.now()));
    this.o.logger.warn({ instance: instanceId, reason }, 'joined instance closed');
    this.o.kickScheduler();
  }
}
