/**
 * Joined agents: capacity that machines bring to an UNMANAGED compute environment by running
 * `openbatch agent --server URL --token JOIN_TOKEN --ce NAME` — the way AWS Batch's
 * unmanaged environments take the user's own instances.
 *
 *   register   the agent presents the server's join token and its capacity; it gets an
 *              instance of its own (id and instance token) and then speaks the normal agent
 *              protocol with it. What it may claim is capped: by its CE's unmanagedvCpus
 *              (all the CE's joined agents together) when set, and by the server setting
 *              maxJoinVcpus for any one agent.
 *   token      the join token is the configuration's (agentJoinToken), else made once and
 *              kept in <dataDir>/agent-join-token (0600); either way only its hash is in the
 *              database, which every server checks against. `rotate` (openbatch join-token
 *              rotate) replaces it for every server at once: the old token is refused from then
 *              on; agents already joined keep their own instance tokens.
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
import { getComputeEnvironment, type ComputeEnvironmentRow, ceExtraOf } from '../store/computeEnvironments.js';
import { initJoinTokenHash, joinTokenHash, rotateJoinTokenHash } from '../store/joinToken.js';
import { closeInstance, getInstance, insertInstance, liveInstances, stopReasonOf, updateInstance, type InstanceRow, providerDataOf } from '../store/instances.js';
import type { Reader } from '../store/jobs.js';
import type { FarmState } from '../store/drain.js';
import { hashToken } from './agentTokens.js';
import type { Core } from '../core.js';
import { lostAgents, type AgentSilence } from './agentLease.js';

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

/** Where a server keeps the join token it made: in its data directory, which no job sees. */
export function joinTokenFile(config: ServerConfig): string {
  return join(config.dataDir, 'agent-join-token');
}

function writeTokenFile(file: string, token: string): void {
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The answer of a rotation: the new token, shown this once. */
export interface RotatedJoinToken {
  token: string;
  rotatedAt: number;
  /** where this server also wrote it */
  file: string;
}

export class JoinedAgents {
  constructor(private readonly o: JoinedAgentsOptions) {}

  /**
   * At server start: the token in force. The configured one needs nothing more; else this
   * server's file (made now if missing) is the token, unless the database holds another's
   * hash — a token rotated on another server, or the first server's — which it then says.
   */
  async init(): Promise<void> {
    if (this.o.config.agentJoinToken) return;
    const file = joinTokenFile(this.o.config);
    if (!existsSync(file)) writeTokenFile(file, randomBytes(24).toString('base64url'));
    const mine = hashToken(readFileSync(file, 'utf8').trim());
    const inForce = await initJoinTokenHash(this.o.db, mine, this.o.clock.now());
    if (inForce !== mine) this.o.logger.warn({ file }, 'the join token in this server\'s data directory is not the one in force (rotated, or made by another server of the database): use the token `openbatch join-token rotate` printed');
  }

  /** The hash registrations are checked against. */
  private async expectedHash(): Promise<string | undefined> {
    return this.o.config.agentJoinToken ? hashToken(this.o.config.agentJoinToken) : joinTokenHash(this.o.db);
  }

  private async checkJoinToken(header: string | undefined): Promise<void> {
    const given = Buffer.from(hashToken(header?.startsWith('Bearer ') ? header.slice(7) : ''));
    const expected = Buffer.from((await this.expectedHash()) ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new BatchError('AccessDeniedException', 403, 'the join token is not valid for this server');
    }
  }

  /** A new join token for every server of the database; the old one is refused from now on. Not where the configuration sets it. */
  async rotate(): Promise<RotatedJoinToken> {
    if (this.o.config.agentJoinToken) throw clientError('the join token is set by the server\'s configuration (agentJoinToken, OPENBATCH_AGENT_JOIN_TOKEN): change it there and restart the servers');
    const token = randomBytes(24).toString('base64url');
    const now = this.o.clock.now();
    await rotateJoinTokenHash(this.o.db, hashToken(token), now);
    const file = joinTokenFile(this.o.config);
    writeTokenFile(file, token);
    this.o.logger.warn({ file }, 'join token rotated: agents must join with the new one; those already joined carry on');
    return { token, rotatedAt: now, file };
  }

  /**
   * Refuses a claim beyond what the CE and the server let an agent bring. Read in the
   * transaction that records the instance: write transactions are serialized (on PostgreSQL
   * by their advisory lock), so two agents joining at once through two servers cannot both
   * fit under the cap each saw alone.
   */
  private async checkClaim(db: Reader, ce: ComputeEnvironmentRow, vcpus: number): Promise<void> {
    const max = this.o.config.maxJoinVcpus;
    if (max > 0 && vcpus > max) throw clientError(`vcpus ${vcpus} is more than one agent may bring to this server (setting maxJoinVcpus: ${max}): join with --vcpus ${max} or fewer`);
    const cap = ceExtraOf(ce).unmanagedvCpus;
    if (!cap) return;
    const joined = (await liveInstances(db)).filter((i) => i.ce_name === ce.name && i.provider === 'joined').reduce((n, i) => n + i.vcpus, 0);
    if (joined + vcpus > cap) {
      throw clientError(
        `vcpus ${vcpus} would bring compute environment '${ce.name}' to ${joined + vcpus} vCPUs, over its unmanagedvCpus ${cap}: join with --vcpus ${Math.max(cap - joined, 0)} or fewer, or raise unmanagedvCpus (UpdateComputeEnvironment)`,
      );
    }
  }

  /** `address`: where the registration came from, the machine's address as this server sees it (jobs' main-node address, `openbatch instances`). */
  async register(authorization: string | undefined, body: RegisterRequest, address?: string): Promise<RegisterResponse> {
    await this.checkJoinToken(authorization);
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
    await this.o.uow.write(async (tx) => {
      await this.checkClaim(tx.db, ce, body.vcpus);
      await insertInstance(tx.db, {
        id,
        ce_name: ce.name,
        instance_type: 'unmanaged',
        vcpus: body.vcpus,
        memory_mib: body.memoryMiB,
        gpus: body.gpus ?? 0,
        state: 'ACTIVE',
        token_hash: hashToken(token),
        provider: 'joined',
        provider_data: { hostname: typeof body.hostname === 'string' ? body.hostname.slice(0, 255) : undefined, address: address?.replace(/^::ffff:/, '') },
        launched_at: now,
        last_heartbeat_at: now,
        terminated_at: null,
        termination_reason: null,
      });
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
    const joined = (await liveInstances(this.o.db)).filter((i) => i.provider === 'joined');
    const lost = new Map(lostAgents(joined, silence, now, this.o.config.agentTimeoutSeconds).map((l) => [l.inst.id, l.reason]));
    for (const inst of joined) {
      const reason = lost.get(inst.id);
      if (reason) {
        await this.close(inst.id, reason);
      } else if (farm.draining && (inst.state === 'ACTIVE' || inst.state === 'IMPAIRED') && (farm.stopJobs || !((usage.get(inst.id)?.jobs ?? 0) > 0))) {
        const stopReason = farm.stopJobs ? 'drained, its jobs stopped (openbatch drain --stop-jobs)' : 'drained (openbatch drain)';
        const data = providerDataOf<Record<string, unknown>>(inst);
        await updateInstance(this.o.db, inst.id, { state: 'TERMINATING', provider_data: { ...data, stopReason } });
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
