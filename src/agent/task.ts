/**
 * A task of several containers as the agent hands it to its executor (executor/pod.ts): each
 * container with its own task metadata endpoint; an EKS container's `$(VAR)` references
 * expanded from its environment, as Kubernetes does; EKS secret volumes written into the
 * attempt's scratch volume of that name (executor/sandbox.ts scratchVolume), its files
 * read-only, in the attempt's working directory under the agent's work root.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandKubernetes } from '../model/taskSpec.js';
import type { AttemptSpec, MetadataEndpoint } from '../executor/types.js';
import type { Assignment } from './protocol.js';

/** A name that stays one path component. */
const COMPONENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

export function taskOf(
  a: Assignment,
  workDir: string,
  endpoint: (container: string) => MetadataEndpoint | undefined,
): Pick<AttemptSpec, 'containers' | 'orchestration' | 'ownPaths' | 'graceMs'> {
  for (const v of a.secretVolumes ?? []) {
    if (!COMPONENT.test(v.name)) throw new Error(`the secret volume's name ${JSON.stringify(v.name)} cannot be a directory's`);
    // The volume has no host path: it is the attempt's scratch volume of its name, filled here.
    const dir = join(workDir, '.volumes', v.name);
    mkdirSync(dir, { recursive: true });
    for (const [file, value] of Object.entries(v.files)) {
      if (!COMPONENT.test(file)) throw new Error(`secret volume ${v.name}: the key ${JSON.stringify(file)} cannot be a file's name`);
      writeFileSync(join(dir, file), value, { mode: 0o444 });
    }
  }
  const eks = a.orchestration === 'EKS';
  const containers = a.containers!.map((c) => ({
    name: c.name,
    essential: c.essential,
    ...(c.init ? { init: true } : {}),
    dependsOn: c.dependsOn,
    ...(c.stopTimeoutMs !== undefined ? { stopTimeoutMs: c.stopTimeoutMs } : {}),
    command: eks ? c.command.map((x) => expandKubernetes(x, c.env)) : c.command,
    env: c.env,
    vcpus: c.vcpus,
    memoryMiB: c.memoryMiB,
    settings: c.settings,
    metadata: endpoint(c.name),
  }));
  return { containers, orchestration: a.orchestration ?? 'ECS', ...(a.terminateGraceMs !== undefined ? { graceMs: a.terminateGraceMs } : {}) };
}
