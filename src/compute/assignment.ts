/**
 * What an attempt runs, built from its job row: the command (Ref:: already substituted at
 * submission), the job's environment with AWS Batch's injected variables, its resources and
 * timeout. Agents receive it as an Assignment; the Slurm provider writes it into a batch
 * script. One place, so a job runs with the same environment wherever it lands.
 */
import type { ContainerProperties, KeyValuePair } from '@aws-sdk/client-batch';
import type { Assignment, AssignmentContainer } from '../agent/protocol.js';
import type { TaskFacts } from '../agent/taskMetadata.js';
import { ecsArns, parseArn, scopeOfArn } from '../model/arn.js';
import { DEFAULT_LOG_GROUP } from '../store/logEvents.js';
import type { ExecutorName, JobSettings } from '../executor/types.js';
import { ORIGINAL_INDEX_ENV, RERUN_INDEX_ENV, RERUN_OF_ENV, RERUN_SIZE_ENV } from '../model/rerun.js';
import type { SecretStore } from '../secrets/store.js';
import { hostAccessRefusal, type HostAccessSettings } from './hostAccess.js';
import type { Db } from '../store/db.js';
import { failedIndices, getJob, jobSpecOf, type JobRow } from '../store/jobs.js';
import { mainNodeAddress } from '../store/assignments.js';
import { nodeJobId } from '../model/multinode.js';
import { containerLogStream } from '../model/taskSpec.js';
import type { Prefetch } from './executorChoice.js';

/** The job and attempt columns an assignment is built from. */
export type AttemptSource = Pick<JobRow, 'arn' | 'spec' | 'queue' | 'array_index' | 'array_size' | 'timeout_seconds' | 'vcpus' | 'memory_mib' | 'gpus'> & {
  job_id: string;
  attempt: number;
  token: string;
  log_stream_name: string;
  ce_name: string;
};

/**
 * The job's environment plus AWS_BATCH_JOB_ID, _ATTEMPT, _JQ_NAME, _CE_NAME and the array
 * variables, and what ECS gives every container: AWS_REGION and AWS_DEFAULT_REGION (the
 * job's region, unless the job sets them).
 */
export function attemptEnvironment(a: AttemptSource, environment: KeyValuePair[] | undefined = jobSpecOf(a).environment): Record<string, string> {
  const env: Record<string, string> = {};
  const { region } = scopeOfArn(a.arn);
  env.AWS_REGION = region;
  env.AWS_DEFAULT_REGION = region;
  for (const e of environment ?? []) if (e.name) env[e.name] = e.value ?? '';
  env.AWS_BATCH_JOB_ID = a.job_id;
  env.AWS_BATCH_JOB_ATTEMPT = String(a.attempt);
  env.AWS_BATCH_JQ_NAME = a.queue;
  env.AWS_BATCH_CE_NAME = a.ce_name;
  if (a.array_index !== null) env.AWS_BATCH_JOB_ARRAY_INDEX = String(a.array_index);
  if (a.array_size !== null) env.AWS_BATCH_JOB_ARRAY_SIZE = String(a.array_size);
  return env;
}

/** The job definition's isolation settings (containerProperties) in executor terms. */
export function jobSettings(cp: ContainerProperties): JobSettings {
  const lp = cp.linuxParameters ?? {};
  const s: JobSettings = {};
  if (cp.image) s.image = cp.image;
  if (cp.user) s.user = cp.user;
  if (cp.privileged) s.privileged = true;
  if (cp.readonlyRootFilesystem) s.readonlyRootFilesystem = true;
  if (cp.volumes?.length) {
    s.volumes = cp.volumes.map((v) => ({
      name: v.name ?? '',
      sourcePath: v.host?.sourcePath,
      unsupported: v.efsVolumeConfiguration ? 'efsVolumeConfiguration' : undefined,
    }));
  }
  if (cp.mountPoints?.length) s.mountPoints = cp.mountPoints.map((m) => ({ sourceVolume: m.sourceVolume ?? '', containerPath: m.containerPath ?? '', readOnly: Boolean(m.readOnly) }));
  if (cp.ulimits?.length) s.ulimits = cp.ulimits.map((u) => ({ name: u.name ?? '', softLimit: u.softLimit ?? 0, hardLimit: u.hardLimit ?? 0 }));
  if (lp.devices?.length) s.devices = lp.devices.map((d) => ({ hostPath: d.hostPath ?? '', containerPath: d.containerPath, permissions: d.permissions }));
  if (lp.initProcessEnabled) s.initProcessEnabled = true;
  if (lp.sharedMemorySize) s.sharedMemorySizeMiB = lp.sharedMemorySize;
  if (lp.tmpfs?.length) s.tmpfs = lp.tmpfs.map((t) => ({ containerPath: t.containerPath ?? '', sizeMiB: t.size ?? 0, mountOptions: t.mountOptions }));
  if (lp.maxSwap) s.maxSwapMiB = lp.maxSwap;
  return s;
}

/** How an attempt runs, decided by the control plane: its CE's executor and the secret store. */
export interface AssignmentContext {
  executor: ExecutorName;
  secrets?: SecretStore;
  /** the CE's `openbatch:prefetch`: its instances may hold this many jobs queued on their agents (`auto`: as many as the jobs' run times make useful) */
  prefetch?: Prefetch;
  /** the CE's `openbatch:vcpu-limit`, else the server's vcpuLimit */
  vcpuLimit?: 'quota' | 'shares';
  /** the server's grants of host paths and privilege (compute/hostAccess.ts); absent: not checked here */
  hostAccess?: HostAccessSettings;
  /** the CE itself, for the ECS-style names of the attempt's task (its cluster; Fargate or EC2) */
  ce?: { name: string; uuid: string; arn: string; fargate: boolean };
}

/**
 * What the task metadata endpoint says of an attempt's task (agent/taskMetadata.ts): the
 * ECS-style ARNs DescribeJobs reports, its job definition as family and revision, its log
 * group and stream.
 */
export function taskFacts(a: AttemptSource & { definition_arn: string; log_group: string | null }, instanceId: string, ctx: AssignmentContext): TaskFacts {
  const scope = scopeOfArn(a.arn);
  const definition = parseArn(a.definition_arn)?.resource ?? '';
  const revisionAt = definition.lastIndexOf(':');
  return {
    taskArn: ecsArns.task(scope, a.log_stream_name),
    region: scope.region,
    clusterArn: ctx.ce ? ecsArns.cluster(scopeOfArn(ctx.ce.arn), ctx.ce.name, ctx.ce.uuid) : '',
    family: definition.slice(0, revisionAt),
    revision: definition.slice(revisionAt + 1),
    launchType: ctx.ce?.fargate ? 'FARGATE' : 'EC2',
    containerInstanceArn: ecsArns.containerInstance(scope, instanceId),
    logGroup: a.log_group ?? DEFAULT_LOG_GROUP,
    logStream: a.log_stream_name,
  };
}

/**
 * The attempt as an agent receives it; the timeout is scaled by the server's time dilation.
 * Secrets are resolved here, into the environment only; one that cannot be resolved makes
 * the attempt fail to start with AWS's ResourceInitializationError reason. An attempt whose
 * definition asks for host paths or privilege the server does not grant fails to start, and
 * gets no secrets. `onThisHost`: the instance is on the server's machine (its links resolve here).
 */
export function buildAssignment(a: AttemptSource, timeDilation: number, ctx: AssignmentContext = { executor: 'process' }, onThisHost = false): Assignment {
  const spec = jobSpecOf(a);
  const env = attemptEnvironment(a);
  let cannotStart: string | undefined;
  // Checked at registration and submission; again here, where the grants and the host's links
  // are as they are now (on this host: an instance of another machine has paths of its own).
  const [asked, prefix] = spec.task ? [spec.task.ecsProperties ?? spec.task.eksProperties, spec.task.ecsProperties ? 'ecsProperties.' : 'eksProperties.'] : [spec.containerProperties, 'containerProperties.'];
  const refusal = ctx.hostAccess && hostAccessRefusal(asked ?? {}, ctx.hostAccess, { prefix, resolveLinks: onThisHost });
  if (refusal) cannotStart = `CannotStartContainerError: ${refusal}`;
  const resolveSecrets = (into: Record<string, string>, secrets: ContainerProperties['secrets']) => {
    for (const secret of cannotStart ? [] : (secrets ?? [])) {
      if (!secret.name || !secret.valueFrom) continue;
      try {
        if (!ctx.secrets) throw new Error('this server has no secret store');
        into[secret.name] = ctx.secrets.resolve(secret.valueFrom);
      } catch (e) {
        cannotStart = `ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret ${secret.name} from ${secret.valueFrom}: ${(e as Error).message}`;
        break;
      }
    }
  };
  resolveSecrets(env, spec.containerProperties?.secrets);
  const vcpuLimit = ctx.vcpuLimit === 'shares' ? { vcpuLimit: 'shares' as const } : {};
  let task: Pick<Assignment, 'containers' | 'orchestration' | 'secretVolumes'> = {};
  if (spec.task) {
    const containers = spec.task.containers.map((c): AssignmentContainer => {
      const own = attemptEnvironment(a, c.environment);
      resolveSecrets(own, c.properties.secrets);
      return {
        name: c.name,
        essential: c.essential,
        ...(c.init ? { init: true } : {}),
        dependsOn: c.dependsOn,
        command: c.command,
        env: own,
        vcpus: c.vcpus,
        memoryMiB: c.memoryMiB,
        settings: { ...jobSettings(c.properties), ...vcpuLimit },
        logStreamName: containerLogStream(a.log_stream_name, c.name),
        ...(c.stopTimeoutSeconds !== undefined ? { stopTimeoutMs: c.stopTimeoutSeconds * 1000 } : {}),
      };
    });
    // An EKS secret volume holds the secret's value: a JSON object's keys as files, else one file named as the secret.
    const secretVolumes: NonNullable<Assignment['secretVolumes']> = [];
    for (const v of cannotStart ? [] : (spec.task.secretVolumes ?? [])) {
      let value: string | undefined;
      try {
        if (!ctx.secrets) throw new Error('this server has no secret store');
        value = ctx.secrets.resolve(v.secretName);
      } catch (e) {
        if (v.optional) {
          secretVolumes.push({ name: v.name, files: {} });
          continue;
        }
        cannotStart = `ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve secret ${v.secretName} for volume ${v.name}: ${(e as Error).message}`;
        break;
      }
      secretVolumes.push({ name: v.name, files: secretFiles(v.secretName, value) });
    }
    task = { containers, orchestration: spec.task.orchestration, ...(secretVolumes.length ? { secretVolumes } : {}) };
  }
  if (cannotStart && task.containers) {
    // Nothing of the secrets travels with an attempt that cannot start.
    task = { orchestration: task.orchestration, containers: task.containers.map((c) => ({ ...c, env: attemptEnvironment(a, spec.task!.containers.find((x) => x.name === c.name)?.environment) })) };
  }
  return {
    jobId: a.job_id,
    attempt: a.attempt,
    token: a.token,
    command: spec.command,
    env,
    executor: ctx.executor,
    settings: { ...jobSettings(spec.containerProperties ?? {}), ...vcpuLimit },
    ...(cannotStart ? { cannotStart } : {}),
    ...task,
    vcpus: a.vcpus,
    memoryMiB: a.memory_mib,
    gpus: a.gpus,
    timeoutSeconds: a.timeout_seconds === null ? null : a.timeout_seconds / timeDilation,
    logStreamName: a.log_stream_name,
  };
}

/** A secret's value as the files of a volume: a JSON object's members, each a file; else one file named as the secret. */
export function secretFiles(secretName: string, value: string): Record<string, string> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
    }
  } catch {
    // not JSON: the value is the file
  }
  return { [secretName.split(/[:/]/).pop() || 'secret']: value };
}

/**
 * The variables that depend on other rows than the attempt's own, added to
 * `attemptEnvironment`'s: a node of a multi-node job gets AWS's node variables, with the
 * address of the instance its main node's attempt runs on (127.0.0.1 for local instances,
 * the address or hostname a joined agent advertised); a child of a rerun array
 * (api/rerunFailed.ts) gets the index it reruns as AWS_BATCH_JOB_ARRAY_INDEX, and its own in
 * openbatch's variables.
 */
export async function derivedEnvironment(
  db: Db,
  a: AttemptSource & Pick<JobRow, 'node_index' | 'num_nodes' | 'parent_id'>,
  reruns: RerunIndex,
  env: Record<string, string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (a.node_index !== null) {
    const mainNode = jobSpecOf(a).mainNode ?? 0;
    const address = (await mainNodeAddress(db, nodeJobId(a.parent_id!, mainNode), a.attempt)) ?? '127.0.0.1';
    out.AWS_BATCH_JOB_NODE_INDEX = String(a.node_index);
    out.AWS_BATCH_JOB_NUM_NODES = String(a.num_nodes);
    out.AWS_BATCH_JOB_MAIN_NODE_INDEX = String(mainNode);
    out.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS = address;
  }
  // A rerun child answers to the index it reruns, as a script written for AWS expects; its
  // place in the rerun goes in openbatch's own variables (model/rerun.ts).
  const rerunOf = env[RERUN_OF_ENV];
  if (rerunOf && a.array_index !== null) {
    const original = await reruns.original(rerunOf);
    const index = original.indices[a.array_index];
    if (index !== undefined) {
      out[ORIGINAL_INDEX_ENV] = String(index);
      out.AWS_BATCH_JOB_ARRAY_INDEX = String(index);
      if (original.size !== null) out.AWS_BATCH_JOB_ARRAY_SIZE = String(original.size);
      out[RERUN_INDEX_ENV] = String(a.array_index);
      if (a.array_size !== null) out[RERUN_SIZE_ENV] = String(a.array_size);
    }
  } else if (env[ORIGINAL_INDEX_ENV] !== undefined && a.array_index === null && a.node_index === null) {
    out.AWS_BATCH_JOB_ARRAY_INDEX = env[ORIGINAL_INDEX_ENV];
  }
  return out;
}

/**
 * Child i of a rerun array reruns the i-th failed index of the array named by
 * OPENBATCH_RERUN_OF. An ended array's failed set and size never change, so each array's are
 * read once and kept (a bounded number of arrays).
 */
export class RerunIndex {
  private readonly arrays = new Map<string, Promise<{ indices: number[]; size: number | null }>>();
  private static readonly KEEP = 64;

  constructor(private readonly db: Db) {}

  /** The original array's failed indices (ascending) and size. */
  original(originalArrayId: string): Promise<{ indices: number[]; size: number | null }> {
    let found = this.arrays.get(originalArrayId);
    if (!found) {
      if (this.arrays.size >= RerunIndex.KEEP) this.arrays.delete(this.arrays.keys().next().value!);
      found = Promise.all([failedIndices(this.db, originalArrayId), getJob(this.db, originalArrayId)]).then(([indices, job]) => ({ indices, size: job?.array_size ?? null }));
      this.arrays.set(originalArrayId, found);
    }
    return found;
  }
}
