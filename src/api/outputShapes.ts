/**
 * Answers as AWS Batch shapes them: the members AWS always returns, empty when there is
 * nothing to say (`"tags": {}`, `"command": []`, `"attempts": []`, …), and the spelling it
 * answers in. Clients index these members directly — `job['container']['environment']`,
 * `jd['parameters']`, Terraform's and CloudFormation's drift checks — so a member left out
 * is a KeyError or a perpetual diff.
 *
 * Decided member by member from the model's output shapes, AWS's documented example
 * responses (DescribeJobs and DescribeJobDefinitions in the model's examples show
 * `parameters: {}`, `environment: []`, `mountPoints: []`, `ulimits: []`, `volumes: []`,
 * `dependsOn: []`), responses captured from AWS by users (DescribeJobs with `attempts: []`,
 * `tags: {}`, `platformCapabilities: []`, `eksAttempts: []`, `container.command: []`,
 * `networkInterfaces: []`, `secrets: []`, `resourceRequirements`, `linuxParameters.devices`
 * and `.tmpfs: []`, an array child's `statusSummary: {}`, `retryStrategy.evaluateOnExit: []`;
 * DescribeJobQueues with `tags: {}` and `jobStateTimeLimitActions: []`; a job definition's
 * `logConfiguration.options: {}` and `.secretOptions: []`), and the members Terraform's AWS
 * provider strips before comparing because AWS adds them (ECS task containers' `dependsOn`,
 * `secrets`, …; EKS containers' `args`, `env`, `volumeMounts`). Members with no such evidence
 * are left out when empty, as the model allows. docs/compatibility.md lists the result.
 *
 * A member is only filled inside a parent that exists: `container.linuxParameters.devices`
 * appears when the job has linuxParameters, never a whole `linuxParameters: {devices: []}`.
 *
 * Applied once, to every Batch answer, by the router (api/app.ts). Copy on write: objects
 * along a changed path are copied, so what a handler returns is never changed under it.
 */

/** What a rule does to its member: fill an absent list or map, or lowercase a string. */
type Leaf = '[]' | '{}' | 'lowercase';

// Member lists shared by several shapes. `x[]` steps into each element of list x.

/** ContainerProperties (job definitions, node ranges) and the settings part of ContainerDetail. */
const CONTAINER = [
  'command: []',
  'volumes: []',
  'environment: []',
  'mountPoints: []',
  'ulimits: []',
  'resourceRequirements: []',
  'secrets: []',
  'linuxParameters.devices: []',
  'linuxParameters.tmpfs: []',
  'logConfiguration.options: {}',
  'logConfiguration.secretOptions: []',
];

/** TaskContainerProperties / TaskContainerDetails of an ECS task (multi-container jobs). */
const TASK_CONTAINER = [
  'command: []',
  'dependsOn: []',
  'environment: []',
  'mountPoints: []',
  'secrets: []',
  'ulimits: []',
  'linuxParameters.devices: []',
  'linuxParameters.tmpfs: []',
  'logConfiguration.options: {}',
  'logConfiguration.secretOptions: []',
];

/** EksContainer / EksContainerDetail. */
const EKS_CONTAINER = ['args: []', 'env: []', 'volumeMounts: []'];

const RETRY = ['retryStrategy.evaluateOnExit: []', 'retryStrategy.evaluateOnExit[].action: lowercase'];

function under(prefix: string, members: readonly string[]): string[] {
  return members.map((m) => `${prefix}.${m}`);
}

/** The job's settings as a definition or a job carries them (JobDefinition and JobDetail share these). */
function jobSettings(prefix: string): string[] {
  return [
    ...under(prefix, ['parameters: {}', 'tags: {}', ...RETRY]),
    ...under(`${prefix}.nodeProperties.nodeRangeProperties[].container`, CONTAINER),
    ...under(`${prefix}.ecsProperties.taskProperties[]`, ['volumes: []']),
    ...under(`${prefix}.ecsProperties.taskProperties[].containers[]`, TASK_CONTAINER),
    ...under(`${prefix}.eksProperties.podProperties`, ['volumes: []']),
    ...under(`${prefix}.eksProperties.podProperties.containers[]`, EKS_CONTAINER),
    ...under(`${prefix}.eksProperties.podProperties.initContainers[]`, EKS_CONTAINER),
  ];
}

/** Per operation: the members of its answer that AWS always returns, and how. */
export const OUTPUT_RULES: Readonly<Record<string, readonly string[]>> = {
  DescribeJobs: [
    ...jobSettings('jobs[]'),
    ...under('jobs[]', ['attempts: []', 'dependsOn: []', 'platformCapabilities: []', 'eksAttempts: []', 'arrayProperties.statusSummary: {}']),
    ...under('jobs[].container', [...CONTAINER, 'networkInterfaces: []']),
    'jobs[].attempts[].container.networkInterfaces: []',
    'jobs[].attempts[].taskProperties[].containers[].networkInterfaces: []',
    'jobs[].ecsProperties.taskProperties[].containers[].networkInterfaces: []',
  ],
  DescribeJobDefinitions: [...jobSettings('jobDefinitions[]'), ...under('jobDefinitions[].containerProperties', CONTAINER)],
  DescribeJobQueues: ['jobQueues[].tags: {}', 'jobQueues[].jobStateTimeLimitActions: []'],
  DescribeComputeEnvironments: ['computeEnvironments[].tags: {}', 'computeEnvironments[].computeResources.launchTemplate.overrides: []'],
  DescribeSchedulingPolicies: ['schedulingPolicies[].tags: {}', 'schedulingPolicies[].fairsharePolicy.shareDistribution: []'],
  DescribeConsumableResource: ['tags: {}'],
  ListTagsForResource: ['tags: {}'],
};

/** A compiled rule tree: leaves to apply at this object, and subtrees by member. */
interface Node {
  leaves: Map<string, Leaf>;
  children: Map<string, { each: boolean; node: Node }>;
}

function newNode(): Node {
  return { leaves: new Map(), children: new Map() };
}

function compile(rules: readonly string[]): Node {
  const root = newNode();
  for (const rule of rules) {
    const [path, leaf] = rule.split(': ') as [string, Leaf];
    const steps = path.split('.');
    let node = root;
    for (const step of steps.slice(0, -1)) {
      const each = step.endsWith('[]');
      const key = each ? step.slice(0, -2) : step;
      let child = node.children.get(key);
      if (!child) node.children.set(key, (child = { each, node: newNode() }));
      node = child.node;
    }
    node.leaves.set(steps[steps.length - 1], leaf);
  }
  return root;
}

const compiled = new Map(Object.entries(OUTPUT_RULES).map(([op, rules]) => [op, compile(rules)]));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function applyLeaf(value: unknown, leaf: Leaf): unknown {
  switch (leaf) {
    case '[]':
      return value ?? [];
    case '{}':
      return value ?? {};
    case 'lowercase':
      return typeof value === 'string' ? value.toLowerCase() : value;
  }
}

function shape(value: unknown, node: Node): unknown {
  if (!isObject(value)) return value;
  let out = value;
  const set = (key: string, v: unknown) => {
    if (v === out[key]) return;
    if (out === value) out = { ...value };
    out[key] = v;
  };
  for (const [key, leaf] of node.leaves) {
    // A leaf that also has subtrees (`retryStrategy.evaluateOnExit` and its `[].action`) is filled first.
    set(key, applyLeaf(value[key], leaf));
  }
  for (const [key, { each, node: child }] of node.children) {
    const current = out[key];
    if (current === undefined || current === null) continue;
    if (each) {
      if (!Array.isArray(current)) continue;
      const mapped = current.map((item) => shape(item, child));
      if (mapped.some((item, i) => item !== current[i])) set(key, mapped);
    } else {
      set(key, shape(current, child));
    }
  }
  return out;
}

/**
 * The answer of `operation` as AWS shapes it. A leaf under an element of a list
 * (`evaluateOnExit[].action`) applies to every element.
 */
export function shapeOutput(operation: string, output: unknown): unknown {
  const node = compiled.get(operation);
  return node ? shape(output, node) : output;
}

/** One job as DescribeJobs shapes it (state-change events carry the job in this shape). */
export function shapeJobDetail<T>(job: T): T {
  return (shapeOutput('DescribeJobs', { jobs: [job] }) as { jobs: T[] }).jobs[0];
}
