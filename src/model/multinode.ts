/**
 * Multi-node parallel jobs (type `multinode`): one job, a gang of `numNodes` nodes.
 *
 * The parent job is what the user submits and what the scheduler places: all of its nodes in
 * one pass or none (see scheduler/schedule.ts). Each node is a job of its own,
 * `<parentId>#<index>`, created when the gang is first placed, with its own attempts, logs
 * and exit code. The main node decides: when it ends, the other nodes are stopped and the
 * parent ends as the main node did — or, when the parent's retry strategy says so, the
 * whole gang goes back to RUNNABLE and is placed again as one. A node other than the main
 * one ending changes nothing else (AWS does the same; the application decides).
 *
 * Node specs: for each node, the first range of the definition's nodeRangeProperties whose
 * targetNodes covers it gives its container; then every nodePropertyOverride of SubmitJob
 * covering it applies, in order. Consecutive nodes with the same effective spec are kept as
 * one group, so a 1,000-node gang of one image stores one spec.
 */
import type { ContainerOverrides, ContainerProperties, NodeOverrides, NodeProperties, NodeRangeProperty } from '@aws-sdk/client-batch';
import { clientError } from './errors.js';
import { resolveJobSpec, type GangSpec, type JobSpec, type SpecInput } from './jobSpec.js';

/** `a:b`, `a:`, `:b`, `:` or `n`, as indexes; `to` undefined for an open end. */
export function parseTargetNodes(value: string): { from: number; to: number | undefined } {
  const m = /^([0-9]*):([0-9]*)$|^([0-9]+)$/.exec(value);
  if (!m) throw clientError(`targetNodes '${value}' is invalid: use start:end, start:, :end or : with node indexes (e.g. 0:3)`);
  if (m[3] !== undefined) return { from: Number(m[3]), to: Number(m[3]) };
  return { from: m[1] === '' ? 0 : Number(m[1]), to: m[2] === '' ? undefined : Number(m[2]) };
}

function covers(targetNodes: string, node: number): boolean {
  const r = parseTargetNodes(targetNodes);
  return node >= r.from && (r.to === undefined || node <= r.to);
}

/**
 * The gang of a multinode definition with SubmitJob's nodeOverrides applied. `common` holds
 * what every node shares (parameters, retry strategy, timeout, …). Throws ClientExceptions
 * naming the member, as AWS does, when the override cannot apply.
 */
export function resolveGang(
  np: NodeProperties,
  overrides: NodeOverrides | undefined,
  common: Omit<SpecInput, 'containerProperties' | 'containerOverrides' | 'definitionType'>,
): GangSpec {
  const ranges = np.nodeRangeProperties ?? [];
  let numNodes = np.numNodes ?? 1;
  const mainNode = np.mainNode ?? 0;
  if (overrides?.numNodes !== undefined && overrides.numNodes !== numNodes) {
    numNodes = overrides.numNodes;
    const open = ranges.filter((r) => parseTargetNodes(r.targetNodes ?? '').to === undefined);
    if (open.length === 0) {
      throw clientError(
        `nodeOverrides.numNodes ${numNodes} needs a node range with an open upper end (such as '0:' or ':') in the job definition's nodeProperties.nodeRangeProperties`,
      );
    }
    for (const r of open) {
      if (parseTargetNodes(r.targetNodes!).from >= numNodes) {
        throw clientError(`nodeOverrides.numNodes ${numNodes} must be greater than the start of the job definition's node range '${r.targetNodes}'`);
      }
    }
    if (mainNode >= numNodes) throw clientError(`nodeOverrides.numNodes ${numNodes} must be greater than the job definition's mainNode ${mainNode}`);
    for (const r of ranges) {
      const t = parseTargetNodes(r.targetNodes ?? '');
      if (t.to !== undefined && t.to >= numNodes) {
        throw clientError(`nodeOverrides.numNodes ${numNodes} leaves the job definition's node range '${r.targetNodes}' past the last node (indexes 0-${numNodes - 1})`);
      }
    }
  }
  for (const [i, o] of (overrides?.nodePropertyOverrides ?? []).entries()) {
    const t = parseTargetNodes(o.targetNodes ?? '');
    if (Math.max(t.from, t.to ?? 0) >= numNodes) {
      throw clientError(`nodeOverrides.nodePropertyOverrides[${i}].targetNodes '${o.targetNodes}' reaches past the last node: the job has ${numNodes} nodes (indexes 0-${numNodes - 1})`);
    }
  }
  const groups: GangSpec['groups'] = [];
  let lastKey = '';
  for (let node = 0; node < numNodes; node++) {
    const range: NodeRangeProperty | undefined = ranges.find((r) => covers(r.targetNodes ?? '', node));
    if (!range?.container) {
      throw clientError(`nodeProperties.nodeRangeProperties: node ${node} has no container (give it a targetNodes range with container properties)`);
    }
    const over = (overrides?.nodePropertyOverrides ?? []).filter((o) => covers(o.targetNodes ?? '', node));
    const merged: ContainerOverrides | undefined = over.length ? Object.assign({}, ...over.map((o) => o.containerOverrides ?? {})) : undefined;
    const key = JSON.stringify([range.targetNodes, ranges.indexOf(range), over.map((o) => (overrides!.nodePropertyOverrides ?? []).indexOf(o))]);
    if (key === lastKey) {
      groups[groups.length - 1].to = node;
      continue;
    }
    lastKey = key;
    const spec = resolveJobSpec({ ...common, definitionType: 'multinode', containerProperties: range.container as ContainerProperties, containerOverrides: merged });
    groups.push({ from: node, to: node, spec });
  }
  return {
    numNodes,
    mainNode,
    nodeProperties: { numNodes, mainNode, nodeRangeProperties: ranges },
    groups,
  };
}

/** The effective spec of one node. */
export function nodeSpec(gang: GangSpec, node: number): JobSpec {
  const g = gang.groups.find((x) => node >= x.from && node <= x.to);
  if (!g) throw new Error(`internal: node ${node} outside the gang of ${gang.numNodes}`);
  return g.spec;
}

/** Node job ids are `<parentId>#<index>`; nothing else has a `#` in its id. */
export function nodeJobId(parentId: string, node: number): string {
  return `${parentId}#${node}`;
}

/** Whether a job id is a node's (`nodeJobId`): for what knows a job only by its id, as a state-change event does. */
export function isNodeJobId(jobId: string): boolean {
  return jobId.includes('#');
}
