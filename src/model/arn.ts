/**
 * ARNs as AWS Batch forms them: arn:aws:batch:<region>:<account>:<kind>/<name>[:<revision>].
 * The region is the one of the request that created the resource (its SigV4 scope), so an
 * ARN is computed once, at creation, and stored.
 */
export type ArnKind =
  | 'compute-environment'
  | 'job-queue'
  | 'job-definition'
  | 'job'
  | 'scheduling-policy'
  | 'consumable-resource';

export interface ArnScope {
  region: string;
  account: string;
}

export function makeArn(scope: ArnScope, kind: ArnKind, resource: string): string {
  return `arn:aws:batch:${scope.region}:${scope.account}:${kind}/${resource}`;
}

export interface ParsedArn {
  region: string;
  account: string;
  kind: string;
  /** everything after "<kind>/" */
  resource: string;
}

export function parseArn(arn: string): ParsedArn | null {
  const m = /^arn:aws[a-z-]*:batch:([a-z0-9-]*):(\d*):([a-z-]+)\/(.+)$/.exec(arn);
  if (!m) return null;
  return { region: m[1], account: m[2], kind: m[3], resource: m[4] };
}

/**
 * The name a "name or ARN" member refers to, given the kind expected. Returns null when it is
 * an ARN of another kind (the caller reports it as not found with the value as given).
 */
export function nameFromNameOrArn(value: string, kind: ArnKind): string | null {
  if (!value.startsWith('arn:')) return value;
  const parsed = parseArn(value);
  if (!parsed || parsed.kind !== kind) return null;
  return parsed.resource;
}

/** A job id as DescribeJobs, CancelJob and dependsOn accept it: the id itself or the job's ARN. */
export function jobIdOf(ref: string): string {
  if (!ref.startsWith('arn:')) return ref;
  const parsed = parseArn(ref);
  return parsed?.kind === 'job' ? parsed.resource : ref;
}

/**
 * The ECS resources AWS Batch runs jobs on, as DescribeJobs, DescribeComputeEnvironments and
 * the task metadata endpoint name them: a compute environment's cluster, an instance, and an
 * attempt's task (its id is the last part of the attempt's log stream name, as on AWS).
 */
export const ecsArns = {
  cluster: (scope: ArnScope, ceName: string, ceUuid: string) => `arn:aws:ecs:${scope.region}:${scope.account}:cluster/${ceName}_Batch_${ceUuid}`,
  containerInstance: (scope: ArnScope, instanceId: string) => `arn:aws:ecs:${scope.region}:${scope.account}:container-instance/${instanceId}`,
  task: (scope: ArnScope, logStreamName: string) => `arn:aws:ecs:${scope.region}:${scope.account}:task/${logStreamName.split('/').pop()}`,
};

/** The region and account of an ARN of this account's resources (any service). */
export function scopeOfArn(arn: string): ArnScope {
  const [, , , region, account] = arn.split(':');
  return { region, account };
}
