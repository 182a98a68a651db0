/**
 * The instances read API and Spot interruption on command — openbatch's own endpoints (AWS
 * Batch shows no instances), authenticated like any API call:
 *
 *   GET  /openbatch/v1/instances[?computeEnvironment=NAME&state=ACTIVE&state=TERMINATED&limit=N]
 *        → { instances: InstanceView[] }, newest first; without `state`, every instance not
 *          yet TERMINATED.
 *   POST /openbatch/v1/instances/{instanceId}/interrupt
 *        → { instance: InstanceView }: a SPOT / FARGATE_SPOT instance gets its interruption
 *          notice (see LocalProvider.interrupt); any other instance is a ClientException.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientError } from '../model/errors.js';
import { listInstances, type InstanceRow, launchTemplateOf, providerDataOf } from '../store/instances.js';
import { usageByInstance } from '../store/jobs.js';
import type { RequestContext, Services } from './context.js';

export const INSTANCE_STATES = ['PENDING', 'LAUNCHING', 'ACTIVE', 'IMPAIRED', 'TERMINATING', 'TERMINATED'] as const;

/** One instance as the API shows it. */
export interface InstanceView {
  instanceId: string;
  instanceType: string;
  computeEnvironment: string;
  state: string;
  /** local (launched by this server) or joined (an agent that registered itself) */
  provider: string;
  capacity: { vcpus: number; memoryMiB: number; gpus: number };
  /** what running attempts hold now */
  used: { vcpus: number; memoryMiB: number; gpus: number; jobs: number };
  /** the type was larger than the room the host or maxvCpus left: capacity is less than the type's */
  capped: boolean;
  launchTemplate: { launchTemplateName?: string; launchTemplateId?: string; version?: string } | null;
  hostname?: string;
  /** a joined agent's address as the server saw it when it registered */
  address?: string;
  launchedAt: number;
  /** when it became ready to take work (its agent's first poll); null while it boots */
  readyAt: number | null;
  /** when its agent was last heard (written at most every few seconds) */
  lastHeartbeatAt: number;
  /** slow-start chaos made it boot this many wall-clock ms late (absent: it booted on time) */
  slowStartMs?: number;
  /**
   * PENDING: why it stays so instead of starting (its jobs need the sandbox, which its host
   * cannot give); IMPAIRED: why its agent cannot run jobs now (its container engine does not
   * answer, its disk is full). Absent otherwise.
   */
  stateReason?: string;
  terminatedAt: number | null;
  terminationReason: string | null;
  /** under Spot interruption notice: when the instance will be terminated */
  interruptionAt: number | null;
}

export function instanceView(row: InstanceRow, used?: { vcpus: number; memoryMiB: number; gpus: number; jobs: number }): InstanceView {
  const data = providerDataOf<{ capped: boolean; hostname: string; address: string; slowStartMs: number; heldFor: string }>(row);
  return {
    instanceId: row.id,
    instanceType: row.instance_type,
    computeEnvironment: row.ce_name,
    state: row.state,
    provider: row.provider,
    capacity: { vcpus: row.vcpus, memoryMiB: row.memory_mib, gpus: row.gpus },
    used: row.state === 'TERMINATED' ? { vcpus: 0, memoryMiB: 0, gpus: 0, jobs: 0 } : (used ?? { vcpus: 0, memoryMiB: 0, gpus: 0, jobs: 0 }),
    capped: data.capped === true,
    launchTemplate: launchTemplateOf(row),
    hostname: data.hostname,
    address: data.address,
    launchedAt: row.launched_at,
    readyAt: row.ready_at === null ? null : Number(row.ready_at),
    lastHeartbeatAt: row.last_heartbeat_at,
    slowStartMs: data.slowStartMs,
    stateReason: row.state === 'PENDING' ? data.heldFor : row.state === 'IMPAIRED' ? (row.status_reason ?? undefined) : undefined,
    terminatedAt: row.terminated_at,
    terminationReason: row.termination_reason,
    interruptionAt: row.interrupt_at,
  };
}

export interface InstancesApiOptions {
  services: Services;
  authenticate(req: FastifyRequest, service: string): RequestContext;
  interrupt(instanceId: string): Promise<InstanceRow>;
}

export function registerInstancesApi(app: FastifyInstance, o: InstancesApiOptions): void {
  app.get('/openbatch/v1/instances', async (req, reply) => {
    o.authenticate(req, 'batch');
    const q = req.query as { computeEnvironment?: string; state?: string | string[]; limit?: string };
    const states = q.state === undefined ? undefined : ([] as string[]).concat(q.state).flatMap((s) => s.split(','));
    for (const s of states ?? []) {
      if (!(INSTANCE_STATES as readonly string[]).includes(s)) throw clientError(`state '${s}' is not an instance state: use ${INSTANCE_STATES.join(', ')}`);
    }
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw clientError(`limit must be a whole number from 1 to 10000 (got '${q.limit}')`);
    const ce = q.computeEnvironment?.startsWith('arn:') ? q.computeEnvironment.slice(q.computeEnvironment.lastIndexOf('/') + 1) : q.computeEnvironment;
    const rows = await listInstances(o.services.db, { ceName: ce || undefined, states, limit });
    const usage = await usageByInstance(o.services.db);
    return reply.header('content-type', 'application/json').send({ instances: rows.map((r) => instanceView(r, usage.get(r.id))) });
  });
  app.post('/openbatch/v1/instances/:instanceId/interrupt', async (req, reply) => {
    o.authenticate(req, 'batch');
    const { instanceId } = req.params as { instanceId: string };
    const row = await o.interrupt(instanceId);
    return reply.header('content-type', 'application/json').send({ instance: instanceView(row) });
  });
}
