/**
 * Jobs of several containers: an ECS task (a definition's `ecsProperties.taskProperties[0]`)
 * or an EKS pod (`eksProperties.podProperties`), with SubmitJob's overrides applied, resolved
 * once at submission into one form both run from (model/jobSpec.ts's `task`).
 *
 * What runs, and how the attempt ends, is executor/pod.ts's: containers start once what
 * they depend on allows; on ECS the exit of an essential container stops the others; on EKS
 * the init containers run first, in order, each to success, and the pod runs until every
 * container has ended. The attempt holds the sum of its containers' resources.
 *
 * Each container is described in containerProperties' terms (image, command, environment,
 * user, privileged, mountPoints over the task's volumes, linuxParameters, ulimits, secrets),
 * so that assignments and executors read a task's container as they read a job's.
 */
import type {
  ContainerProperties,
  EcsProperties,
  EcsPropertiesOverride,
  EksContainer,
  EksContainerOverride,
  EksProperties,
  EksPropertiesOverride,
  ResourceRequirement,
  TaskContainerOverrides,
  TaskContainerProperties,
  Volume,
} from '@aws-sdk/client-batch';
import { Invalid } from './errors.js';
import { DEFAULT_MEMORY_MIB, DEFAULT_VCPUS, mergeByKey, requirement, substituteParameters } from './jobSpec.js';
import type { DependencyCondition, SecretVolumeSpec, TaskContainerSpec, TaskSpec } from './task.js';

/** The override of each container: by name, else (one without a name) the container at its index. */
function overridesByContainer<O extends { name?: string }>(names: string[], overrides: readonly O[] | undefined, member: string): Map<string, O> {
  const out = new Map<string, O>();
  (overrides ?? []).forEach((o, i) => {
    const name = o.name ?? names[i];
    if (name === undefined || !names.includes(name)) {
      throw new Invalid(`${member}[${i}].name ${o.name === undefined ? '(none)' : `'${o.name}'`} is not a container of the job definition (${names.map((n) => `'${n}'`).join(', ')})`);
    }
    if (out.has(name)) throw new Invalid(`${member}[${i}] overrides container '${name}' a second time`);
    out.set(name, o);
  });
  return out;
}

/** The task's totals, or the defaults a job gets when it names none (docs/compatibility.md). */
function totals(containers: TaskContainerSpec[]): Pick<TaskSpec, 'vcpus' | 'memoryMiB' | 'gpus' | 'defaultedResources'> {
  let vcpus = containers.reduce((n, c) => n + c.vcpus, 0);
  let memoryMiB = containers.reduce((n, c) => n + c.memoryMiB, 0);
  const defaulted: string[] = [];
  if (vcpus === 0) {
    vcpus = DEFAULT_VCPUS;
    defaulted.push('VCPU');
  }
  if (memoryMiB === 0) {
    memoryMiB = DEFAULT_MEMORY_MIB;
    defaulted.push('MEMORY');
  }
  return { vcpus, memoryMiB, gpus: containers.reduce((n, c) => n + c.gpus, 0), ...(defaulted.length ? { defaultedResources: defaulted } : {}) };
}

/** A container's name as AWS would show it: its own, else `default` for the first and `container-<i>` after. */
function nameOf(name: string | undefined, i: number): string {
  return name ?? (i === 0 ? 'default' : `container-${i}`);
}

/** An ECS task definition (ecsProperties) with SubmitJob's ecsPropertiesOverride. */
export function resolveEcsTask(ecs: EcsProperties, override: EcsPropertiesOverride | undefined, parameters: Record<string, string>): TaskSpec {
  const task = ecs.taskProperties?.[0];
  if (!task?.containers?.length) throw new Invalid('ecsProperties.taskProperties[0].containers must hold a container');
  const names = task.containers.map((c, i) => nameOf(c.name, i));
  const over = overridesByContainer(names, override?.taskProperties?.[0]?.containers, 'ecsPropertiesOverride.taskProperties[0].containers');
  const shown: TaskContainerProperties[] = [];
  const containers = task.containers.map((c, i): TaskContainerSpec => {
    const name = names[i];
    const o: TaskContainerOverrides | undefined = over.get(name);
    const resourceRequirements = mergeByKey(c.resourceRequirements, o?.resourceRequirements, (r) => r.type);
    const command = substituteParameters(o?.command ?? c.command ?? [], parameters);
    const environment = mergeByKey(c.environment, o?.environment, (e) => e.name);
    shown.push({ ...c, name, command, environment, resourceRequirements, essential: c.essential ?? true });
    const { name: _n, essential, dependsOn, startTimeout: _s, stopTimeout, resourceRequirements: _r, command: _c, environment: _e, ...rest } = c;
    return {
      name,
      essential: essential ?? true,
      dependsOn: (dependsOn ?? []).map((d) => ({ containerName: d.containerName ?? '', condition: (d.condition ?? 'START') as DependencyCondition })),
      properties: { ...rest, volumes: task.volumes } as ContainerProperties,
      command,
      environment,
      resourceRequirements,
      vcpus: requirement(resourceRequirements, 'VCPU') ?? 0,
      memoryMiB: requirement(resourceRequirements, 'MEMORY') ?? 0,
      gpus: requirement(resourceRequirements, 'GPU') ?? 0,
      ...(stopTimeout !== undefined ? { stopTimeoutSeconds: stopTimeout } : {}),
    };
  });
  checkDependencies(containers, 'ecsProperties.taskProperties[0].containers');
  return { orchestration: 'ECS', containers, ecsProperties: { taskProperties: [{ ...task, containers: shown }] }, ...totals(containers) };
}

/** `$(VAR)` in an EKS command or argument, from the container's environment; `$$` is a `$`. */
export function expandKubernetes(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (token, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : token;
  });
}

/** A Kubernetes quantity of CPUs ("1", "0.5", "500m") as vCPUs. */
function cpus(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)(m?)$/.exec(q.trim());
  if (!m) throw new Invalid(`cpu '${q}' is not a quantity of CPUs (such as 1, 0.5 or 500m)`);
  return Number(m[1]) / (m[2] ? 1000 : 1);
}

/** A Kubernetes quantity of memory ("1024Mi", "2Gi", bytes) as MiB. */
function mebibytes(q: string | undefined): number | undefined {
  if (q === undefined) return undefined;
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q.trim());
  if (!m) throw new Invalid(`memory '${q}' is not a quantity of memory (such as 1024Mi or 2Gi)`);
  const factor: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, Ti: 1024 * 1024, k: 1000 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576, T: 1e12 / 1048576 };
  return Math.ceil(Number(m[1]) * (m[2] ? factor[m[2]] : 1 / 1048576));
}

/** An EKS pod (eksProperties.podProperties) with SubmitJob's eksPropertiesOverride. */
export function resolveEksPod(eks: EksProperties, override: EksPropertiesOverride | undefined): TaskSpec {
  const pod = eks.podProperties ?? {};
  if (!pod.containers?.length) throw new Invalid('eksProperties.podProperties.containers must hold a container');
  const volumes: Volume[] = [];
  const tmpfs: { name: string; sizeMiB: number }[] = [];
  const secretVolumes: SecretVolumeSpec[] = [];
  for (const volume of pod.volumes ?? []) {
    const v = { ...volume, name: volume.name ?? '' };
    if (v.hostPath) volumes.push({ name: v.name, host: { sourcePath: v.hostPath.path } });
    else if (v.secret) {
      volumes.push({ name: v.name });
      secretVolumes.push({ name: v.name, secretName: v.secret.secretName ?? '', optional: Boolean(v.secret.optional) });
    } else if (v.emptyDir?.medium === 'Memory') tmpfs.push({ name: v.name, sizeMiB: mebibytes(v.emptyDir.sizeLimit) ?? 0 });
    else if (v.persistentVolumeClaim) {
      throw new Invalid(`eksProperties.podProperties.volumes: '${v.name}' is a persistentVolumeClaim, which needs a Kubernetes cluster: openbatch gives pods hostPath, emptyDir and secret volumes`);
    } else volumes.push({ name: v.name });
  }
  const build = (list: EksContainer[], overrides: EksContainerOverride[] | undefined, init: boolean, member: string): { spec: TaskContainerSpec; shown: EksContainer }[] => {
    const names = list.map((c, i) => c.name ?? (i === 0 && !init ? 'Default' : `${init ? 'init' : 'container'}-${i}`));
    const over = overridesByContainer(names, overrides, member);
    return list.map((c, i) => {
      const name = names[i];
      const o = over.get(name);
      const env = mergeByKey(c.env, o?.env, (e) => e.name);
      const resources = o?.resources ?? c.resources ?? {};
      const limits = resources.limits ?? {};
      const requests = resources.requests ?? {};
      const vcpus = cpus(requests.cpu ?? limits.cpu) ?? 0;
      const memoryMiB = mebibytes(limits.memory ?? requests.memory) ?? 0;
      const gpus = Number(limits['nvidia.com/gpu'] ?? requests['nvidia.com/gpu'] ?? 0) || 0;
      const command = o?.command ?? c.command ?? [];
      const args = o?.args ?? c.args ?? [];
      const image = o?.image ?? c.image;
      const sc = c.securityContext ?? {};
      const mounts = c.volumeMounts ?? [];
      const resourceRequirements: ResourceRequirement[] = [];
      if (vcpus) resourceRequirements.push({ type: 'VCPU', value: String(vcpus) });
      if (memoryMiB) resourceRequirements.push({ type: 'MEMORY', value: String(memoryMiB) });
      if (gpus) resourceRequirements.push({ type: 'GPU', value: String(gpus) });
      const user = sc.runAsUser !== undefined ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` : undefined;
      const spec: TaskContainerSpec = {
        name,
        essential: true,
        ...(init ? { init: true } : {}),
        dependsOn: [],
        properties: {
          image,
          ...(user ? { user } : {}),
          ...(sc.privileged ? { privileged: true } : {}),
          ...(sc.readOnlyRootFilesystem ? { readonlyRootFilesystem: true } : {}),
          volumes: volumes.filter((v) => mounts.some((m) => m.name === v.name)),
          mountPoints: mounts.filter((m) => !tmpfs.some((t) => t.name === m.name)).map((m) => ({ sourceVolume: m.name, containerPath: m.mountPath, readOnly: Boolean(m.readOnly) })),
          linuxParameters: {
            tmpfs: mounts.flatMap((m) => tmpfs.filter((t) => t.name === m.name).map((t) => ({ containerPath: m.mountPath ?? '', size: t.sizeMiB, mountOptions: m.readOnly ? ['ro'] : [] }))),
          },
        },
        // $(VAR) references are expanded where the environment is whole (executor/pod.ts).
        command: [...command, ...args],
        environment: env.map((e) => ({ name: e.name, value: e.value })),
        resourceRequirements,
        vcpus,
        memoryMiB,
        gpus,
      };
      return { spec, shown: { ...c, name, image, command, args, env, resources } };
    });
  };
  const inits = build(pod.initContainers ?? [], override?.podProperties?.initContainers, true, 'eksPropertiesOverride.podProperties.initContainers');
  const mains = build(pod.containers, override?.podProperties?.containers, false, 'eksPropertiesOverride.podProperties.containers');
  // Init containers run one after the other, each to success; then the containers, together.
  inits.forEach((c, i) => {
    if (i > 0) c.spec.dependsOn.push({ containerName: inits[i - 1].spec.name, condition: 'SUCCESS' });
  });
  const lastInit = inits[inits.length - 1];
  if (lastInit) for (const c of mains) c.spec.dependsOn.push({ containerName: lastInit.spec.name, condition: 'SUCCESS' });
  const containers = [...inits, ...mains].map((c) => c.spec);
  const all = new Set<string>();
  for (const c of containers) {
    if (all.has(c.name)) throw new Invalid(`eksProperties.podProperties: two containers are named '${c.name}': each container of a pod needs a name of its own`);
    all.add(c.name);
  }
  const metadata = override?.podProperties?.metadata ? { ...pod.metadata, ...override.podProperties.metadata } : pod.metadata;
  return {
    orchestration: 'EKS',
    containers,
    eksProperties: {
      podProperties: {
        ...pod,
        containers: mains.map((c) => c.shown),
        ...(inits.length ? { initContainers: inits.map((c) => c.shown) } : {}),
        ...(metadata ? { metadata } : {}),
      },
    },
    ...(secretVolumes.length ? { secretVolumes } : {}),
    ...totals(containers),
  };
}

/**
 * dependsOn between a task's containers: to containers of the task, never itself, without a
 * cycle; COMPLETE and SUCCESS only on a container that is not essential (AWS's rule).
 */
export function checkDependencies(containers: readonly Pick<TaskContainerSpec, 'name' | 'essential' | 'dependsOn'>[], member: string): void {
  const byName = new Map(containers.map((c) => [c.name, c]));
  containers.forEach((c, i) => {
    c.dependsOn.forEach((d, j) => {
      const at = `${member}[${i}].dependsOn[${j}]`;
      const target = byName.get(d.containerName);
      if (!target) throw new Invalid(`${at}.containerName '${d.containerName}' is not a container of the task`);
      if (target === c) throw new Invalid(`${at}.containerName '${d.containerName}' is the container itself`);
      if (!['START', 'COMPLETE', 'SUCCESS'].includes(d.condition)) throw new Invalid(`${at}.condition '${d.condition}' must be START, COMPLETE or SUCCESS`);
      if (d.condition !== 'START' && target.essential) {
        throw new Invalid(`${at}: the ${d.condition} condition cannot be set on an essential container ('${d.containerName}'): set its essential to false, or use START`);
      }
    });
  });
  // A cycle would keep its containers from ever starting.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Invalid(`${member}: the containers' dependsOn make a cycle (${[...path, name].join(' → ')})`);
    state.set(name, 'visiting');
    for (const d of byName.get(name)?.dependsOn ?? []) visit(d.containerName, [...path, name]);
    state.set(name, 'done');
  };
  for (const c of containers) visit(c.name, []);
}

/**
 * The log stream of one container of an attempt: the attempt's stream (`<definition>/default/<task id>`)
 * with the container's name in the middle, as ECS's awslogs driver names a task's containers' streams.
 */
export function containerLogStream(attemptStream: string, containerName: string): string {
  const parts = attemptStream.split('/');
  if (parts.length < 3) return `${attemptStream}/${containerName}`;
  parts[parts.length - 2] = containerName;
  return parts.join('/');
}

/** What a container's name may be (ECS: letters, digits, hyphens and underscores; Kubernetes adds dots): safe in a log stream's name. */
export const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
